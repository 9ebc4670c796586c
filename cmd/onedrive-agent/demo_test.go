package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestDemo runs the README's first command in-process: the demo must show
// changes flowing, the outage and the drain, and end with nothing lost.
func TestDemo(t *testing.T) {
	if testing.Short() {
		t.Skip("the demo takes about 10 s")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var out bytes.Buffer
	err := Main(ctx, []string{"demo", "--for", "3s"}, strings.NewReader(""), &out, io.Discard)
	if err != nil {
		t.Fatalf("demo: %v\n%s", err, out.String())
	}
	for _, want := range []string{
		"receiver <- CREATED folder /Reports",
		"receiver <- UPDATED file   /Reports/q2-final.xlsx  (was /Reports/q2.xlsx)  [name]",
		"receiver <- DELETED folder /Inbox",
		"receiver down: 28 events in 3 messages queued",
		"push connected",
		"minutes.docx arrived",
		"through the scheduled poll",
		"the link is back: push connected",
		"6. Random changes for 3s.",
		"lost: 0",
		"matches the drive: true",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("demo output lacks %q:\n%s", want, out.String())
		}
	}
}

// TestDemoCallbackKeep: --callback sends the simulated drive's events to
// one's own receiver; --keep says where the configuration and the database
// are, and status reads them.
func TestDemoCallbackKeep(t *testing.T) {
	if testing.Short() {
		t.Skip("the demo takes about 10 s")
	}
	var mu sync.Mutex
	events := 0
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var m struct {
			Message struct {
				Events []json.RawMessage `json:"events"`
			} `json:"message"`
		}
		_ = json.NewDecoder(r.Body).Decode(&m)
		mu.Lock()
		events += len(m.Message.Events)
		mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	defer recv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var out bytes.Buffer
	if err := Main(ctx, []string{"demo", "--keep", "--callback", recv.URL + "/mine"}, strings.NewReader(""), &out, io.Discard); err != nil {
		t.Fatalf("demo: %v\n%s", err, out.String())
	}
	mu.Lock()
	got := events
	mu.Unlock()
	if got < 30 {
		t.Errorf("your receiver got %d events, want the demo's (30 or more)\n%s", got, out.String())
	}
	m := regexp.MustCompile(`(?m)^  configuration  (\S+)$`).FindStringSubmatch(out.String())
	if m == nil {
		t.Fatalf("the output does not say where the configuration was kept:\n%s", out.String())
	}
	t.Cleanup(func() { os.RemoveAll(filepath.Dir(m[1])) })
	for _, want := range []string{"database       " + filepath.Join(filepath.Dir(m[1]), "data", dbFile), "an event is what the receiver gets"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("demo output lacks %q:\n%s", want, out.String())
		}
	}
	code, stdout, stderr := runMain(t, "status", "-c", m[1])
	if code != 0 || !strings.Contains(stdout, "demo") {
		t.Errorf("status of the kept demo: exit %d\n%s%s", code, stdout, stderr)
	}
}
