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
