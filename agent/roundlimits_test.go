package agent

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/onedrive-agent/onedrive-agent/connector/graphtest"
)

// TestRound_MessagesCarryMaxEvents: a round's events go out in messages of
// max_events each, only the last one shorter, whatever max_events is.
func TestRound_MessagesCarryMaxEvents(t *testing.T) {
	const files = 1050
	for _, maxEvents := range []int{100, 7, 300} {
		t.Run(fmt.Sprint(maxEvents), func(t *testing.T) {
			g := graphtest.NewServer(graphtest.Options{})
			t.Cleanup(g.Close)
			g.AddClient(testClientID, testSecret, false)
			var mu sync.Mutex
			var sizes []int
			recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
				var b struct {
					Message struct {
						Events []json.RawMessage `json:"events"`
					} `json:"message"`
				}
				if err := json.NewDecoder(req.Body).Decode(&b); err != nil {
					t.Errorf("receiver: %v", err)
				}
				mu.Lock()
				sizes = append(sizes, len(b.Message.Events))
				mu.Unlock()
				w.WriteHeader(http.StatusNoContent)
			}))
			t.Cleanup(recv.Close)
			dir := t.TempDir()
			toml := fmt.Sprintf("data_dir = %q\n[admin]\nlisten = \"\"\n", dir) +
				graphInstanceTOML(g, "finance", "", recv.URL) + fmt.Sprintf("max_events = %d\n", maxEvents)
			cfg, db := parseAndOpen(t, dir, toml)
			tok, err := EnsureAdminToken(dir)
			if err != nil {
				t.Fatal(err)
			}
			ln := listenLocal(t)
			a, err := New(Options{Config: cfg, DB: db, Version: "1", AdminListener: ln})
			if err != nil {
				t.Fatal(err)
			}
			ctx, stop := runAgent(t, a)
			defer stop()
			waitFor(t, 5*time.Second, "the baseline poll", func() bool {
				st, err := db.State("finance")
				return err == nil && st.Baselined
			})
			root := g.Root()
			for i := range files {
				g.CreateFile(root, fmt.Sprintf("f%04d.txt", i), []byte("x"))
			}
			c := &AdminClient{BaseURL: "http://" + ln.Addr().String(), Token: tok}
			if res, err := c.Poll(ctx, "finance"); err != nil || res.Events != files {
				t.Fatalf("Poll = %+v, %v; want %d events", res, err, files)
			}
			total := func() (n int) {
				mu.Lock()
				defer mu.Unlock()
				for _, s := range sizes {
					n += s
				}
				return n
			}
			waitFor(t, 10*time.Second, "delivery", func() bool { return total() == files })
			mu.Lock()
			defer mu.Unlock()
			for i, s := range sizes {
				if i < len(sizes)-1 && s != maxEvents {
					t.Fatalf("message %d of %d carried %d events, want %d (all: %v)", i+1, len(sizes), s, maxEvents, sizes)
				}
			}
		})
	}
}
