package agent

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/onedrive-agent/onedrive-agent/agent/config"
	"github.com/onedrive-agent/onedrive-agent/connector/graphtest"
	"github.com/onedrive-agent/onedrive-agent/store"
)

// newScopeAgent builds an agent for one instance watching folder on drive,
// with the store at dir.
func newScopeAgent(t *testing.T, drive *graphtest.Server, db *store.DB, dir, folder, initial string) *Agent {
	t.Helper()
	toml := fmt.Sprintf(`data_dir = %q
[admin]
listen = ""
[[instance]]
name = "docs"
[instance.auth]
flow = "client_credentials"
tenant = "contoso.example"
client_id = "scope-test"
client_secret = "s3cret"
login_url = %q
graph_url = %q
[instance.drive]
drive = %q
folder = %q
[instance.poll]
initial = %q
[instance.callback]
url = "http://127.0.0.1:1/unused"
`, dir, drive.LoginURL(), drive.GraphURL(), drive.DriveID(), folder, initial)
	cfg, err := config.Parse("scope.toml", []byte(toml), func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	a, err := New(Options{Config: cfg, DB: db})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// queuedPaths returns "TYPE path" of every queued event.
func queuedPaths(t *testing.T, db *store.DB) []string {
	t.Helper()
	msgs, err := db.Peek("docs", 1000)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, m := range msgs {
		var body struct {
			Message struct {
				Events []struct{ EventType, Path string }
			}
		}
		if err := json.Unmarshal(m.Body, &body); err != nil {
			t.Fatal(err)
		}
		for _, e := range body.Message.Events {
			out = append(out, e.EventType+" "+e.Path)
		}
	}
	return out
}

func TestAgent_PollRebaselinesOnScopeChange(t *testing.T) {
	drive := graphtest.NewServer(graphtest.Options{})
	defer drive.Close()
	drive.AddClient("scope-test", "s3cret", false)
	a1 := drive.CreateFolder(drive.Root(), "A")
	b1 := drive.CreateFolder(drive.Root(), "B")
	drive.CreateFile(a1, "x.txt", []byte("x"))
	drive.CreateFile(b1, "y.txt", []byte("y"))

	dir := t.TempDir()
	db, err := store.Open(filepath.Join(dir, "agent.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()

	// Backfill on the first enumeration reports what is in scope.
	a := newScopeAgent(t, drive, db, dir, "/A", "backfill")
	if _, err := a.Poll(ctx, "docs"); err != nil {
		t.Fatal(err)
	}
	if got, want := fmt.Sprint(queuedPaths(t, db)), "[CREATED /A CREATED /A/x.txt]"; got != want {
		t.Fatalf("after backfill queued %s, want %s", got, want)
	}
	// Deliver (ack) what backfill queued.
	msgs, _ := db.Peek("docs", 100)
	for _, m := range msgs {
		if err := db.Ack("docs", m.Key); err != nil {
			t.Fatal(err)
		}
	}

	// The folder changes: the next poll re-indexes silently, even though
	// initial is still "backfill", and then reports changes in the new scope.
	a = newScopeAgent(t, drive, db, dir, "/B", "backfill")
	res, err := a.Poll(ctx, "docs")
	if err != nil {
		t.Fatal(err)
	}
	if res.Events != 0 || len(queuedPaths(t, db)) != 0 {
		t.Fatalf("re-baseline queued %d events (%v), want none", res.Events, queuedPaths(t, db))
	}
	drive.CreateFile(b1, "w.txt", []byte("w"))
	drive.CreateFile(a1, "z.txt", []byte("z"))
	if _, err := a.Poll(ctx, "docs"); err != nil {
		t.Fatal(err)
	}
	if got, want := fmt.Sprint(queuedPaths(t, db)), "[CREATED /B/w.txt]"; got != want {
		t.Fatalf("after re-baseline queued %s, want %s", got, want)
	}
	st, err := db.State("docs")
	if err != nil {
		t.Fatal(err)
	}
	if want := "drive=" + drive.DriveID() + ";folder=/B"; st.Scope != want || !st.Baselined {
		t.Fatalf("state scope %q baselined %v, want %q true", st.Scope, st.Baselined, want)
	}

	// An unchanged drive costs one Graph request per poll.
	drive.ResetRequests()
	if _, err := a.Poll(ctx, "docs"); err != nil {
		t.Fatal(err)
	}
	if n := drive.Count(graphtest.ClassGraph, 0); n != 1 {
		t.Fatalf("poll of an unchanged drive sent %d Graph requests, want 1", n)
	}
}
