package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/onedrive-agent/onedrive-agent/agent"
)

// TestAdminRotateToken: the command replaces admin.token with a new random
// token, says where it is, and prints neither token.
func TestAdminRotateToken(t *testing.T) {
	cfgPath, dataDir, _, db := lockedSetup(t, false)
	db.Close()
	old, err := agent.EnsureAdminToken(dataDir)
	if err != nil {
		t.Fatal(err)
	}
	code, out, errOut := runMain(t, "admin", "rotate-token", "-c", cfgPath)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	tok, err := agent.ReadAdminToken(dataDir)
	if err != nil || tok == old || len(tok) != 64 {
		t.Fatalf("admin.token after rotation = %q, %v (old %q)", tok, err, old)
	}
	if !strings.Contains(out, filepath.Join(dataDir, agent.AdminTokenFile)) || strings.Contains(out+errOut, tok) || strings.Contains(out+errOut, old) {
		t.Errorf("output:\n%s%s", out, errOut)
	}
	if fi, err := os.Stat(filepath.Join(dataDir, agent.AdminTokenFile)); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("admin.token mode %v, %v; want 0600", fi.Mode(), err)
	}
}
