package main

import (
	"os"
	"runtime"
	"strings"
	"testing"
)

// TestCommands_WarnAboutWritableConfig: every command, not only check and
// run, warns on stderr when its configuration file could have been written
// by another user (a planted ./agent.toml read by root).
func TestCommands_WarnAboutWritableConfig(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("file modes: Unix only")
	}
	cfgPath, _, _, db := lockedSetup(t, false)
	db.Close()
	if err := os.Chmod(cfgPath, 0o666); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"status"}, {"check"}, {"dead", "list"}} {
		code, _, errOut := runMain(t, append(args, "-c", cfgPath)...)
		if code != exitOK {
			t.Errorf("%v: exit %d: %s", args, code, errOut)
		}
		if !strings.Contains(errOut, "warning: "+cfgPath+": this configuration file is writable by group or others") {
			t.Errorf("%v: stderr does not warn about the writable config:\n%s", args, errOut)
		}
	}
}

// TestCommands_RefuseForeignDataDir: run by root against the service
// user's data_dir, commands stop (exit 1) and say to run as that user,
// instead of leaving root-owned files the service could not open.
func TestCommands_RefuseForeignDataDir(t *testing.T) {
	if runtime.GOOS == "windows" || os.Geteuid() != 0 {
		t.Skip("chown needs root on Unix")
	}
	cfgPath, dataDir, _, db := lockedSetup(t, false)
	db.Close()
	if err := os.Chown(dataDir, 12345, 12345); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"status"}, {"dead", "list"}, {"admin", "rotate-token"}} {
		code, _, errOut := runMain(t, append(args, "-c", cfgPath)...)
		if code != exitFailure || !strings.Contains(errOut, "data_dir "+dataDir+" is owned by uid 12345") || !strings.Contains(errOut, "sudo -u '#12345'") {
			t.Errorf("%v: exit %d, stderr:\n%s", args, code, errOut)
		}
	}
}
