package agent

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/onedrive-agent/onedrive-agent/agent/config"
	"github.com/onedrive-agent/onedrive-agent/connector/graphtest"
	"github.com/onedrive-agent/onedrive-agent/store"
)

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestNeedsLoginLogsOnceThenReminds: an instance that is not signed in logs
// one ERROR, then a WARN reminder every loginReminderEvery, not an error
// per poll.
func TestNeedsLoginLogsOnceThenReminds(t *testing.T) {
	g := graphtest.NewServer(graphtest.Options{})
	t.Cleanup(g.Close)
	dir := t.TempDir()
	cfg, err := config.Parse(filepath.Join(dir, "agent.toml"), []byte(fmt.Sprintf(`data_dir = %q
[admin]
listen = ""
[[instance]]
name = "me"
[instance.auth]
client_id = "x"
login_url = %q
graph_url = %q
[instance.callback]
url = "http://127.0.0.1:1/"
`, dir, g.LoginURL(), g.GraphURL())), nil)
	if err != nil {
		t.Fatal(err)
	}
	db, err := store.Open(filepath.Join(dir, "agent.db"), store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var mu sync.Mutex
	now := time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	var logs lockedBuffer
	log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
	a, err := New(Options{Config: cfg, DB: db, Logger: log, Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	// Polls every 5 minutes for 65 minutes: one error, reminders at 30 and 60.
	for i := 0; i <= 13; i++ {
		if _, err := a.Poll(context.Background(), "me"); err == nil {
			t.Fatal("poll without a sign-in succeeded")
		}
		mu.Lock()
		now = now.Add(5 * time.Minute)
		mu.Unlock()
	}
	out := logs.String()
	if n := strings.Count(out, "level=ERROR"); n != 1 {
		t.Errorf("%d ERROR lines, want 1:\n%s", n, out)
	}
	if n := strings.Count(out, "still not signed in"); n != 2 {
		t.Errorf("%d reminders, want 2 (at 30 and 60 minutes):\n%s", n, out)
	}
}
