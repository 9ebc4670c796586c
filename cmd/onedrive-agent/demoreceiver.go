package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"time"
)

// demoReceiver is the demo's callback receiver: it prints every event it
// gets and keeps them, and it can be taken down (connections refused) and
// brought back on the same address.
type demoReceiver struct {
	out  io.Writer
	addr string

	mu       sync.Mutex
	srv      *http.Server
	events   []demoEvent
	seen     map[string]bool // event ids, to count duplicates
	dups     int
	messages int
}

type demoEvent struct {
	EventID   string   `json:"eventId"`
	EventType string   `json:"eventType"`
	ItemType  string   `json:"itemType"`
	ObjectID  string   `json:"objectId"`
	Path      string   `json:"path"`
	OldPath   string   `json:"oldPath"`
	Changes   []string `json:"changes"`
}

func newDemoReceiver(out io.Writer) (*demoReceiver, error) {
	r := &demoReceiver{out: out, seen: map[string]bool{}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	r.addr = ln.Addr().String()
	r.serve(ln)
	return r, nil
}

func (r *demoReceiver) URL() string { return "http://" + r.addr + "/onedrive" }

func (r *demoReceiver) serve(ln net.Listener) {
	srv := &http.Server{Handler: http.HandlerFunc(r.handle), ReadHeaderTimeout: 5 * time.Second}
	r.mu.Lock()
	r.srv = srv
	r.mu.Unlock()
	go srv.Serve(ln)
}

// down closes the listener and every connection: the agent sees
// "connection refused" until up.
func (r *demoReceiver) down() {
	r.mu.Lock()
	srv := r.srv
	r.srv = nil
	r.mu.Unlock()
	if srv != nil {
		srv.Close()
	}
}

func (r *demoReceiver) up() error {
	var ln net.Listener
	var err error
	for i := 0; i < 50; i++ { // the port may linger for a moment
		if ln, err = net.Listen("tcp", r.addr); err == nil {
			r.serve(ln)
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return err
}

func (r *demoReceiver) handle(w http.ResponseWriter, req *http.Request) {
	var body struct {
		Message struct {
			EventID string      `json:"eventId"`
			Events  []demoEvent `json:"events"`
		} `json:"message"`
	}
	if err := json.NewDecoder(req.Body).Decode(&body); err != nil {
		http.Error(w, "bad JSON", http.StatusBadRequest)
		return
	}
	r.mu.Lock()
	r.messages++
	for _, e := range body.Message.Events {
		if r.seen[e.EventID] {
			r.dups++
			continue
		}
		r.seen[e.EventID] = true
		r.events = append(r.events, e)
		line := fmt.Sprintf("  receiver <- %-7s %-6s %s", e.EventType, e.ItemType, e.Path)
		if e.OldPath != "" {
			line += "  (was " + e.OldPath + ")"
		}
		if len(e.Changes) > 0 {
			line += fmt.Sprintf("  %v", e.Changes)
		}
		fmt.Fprintln(r.out, line)
	}
	r.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

// snapshot returns the distinct events received so far.
func (r *demoReceiver) snapshot() (events []demoEvent, messages, dups int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]demoEvent(nil), r.events...), r.messages, r.dups
}

// replay applies events to a map of item id → path, the way a receiver that
// mirrors the drive would.
func replay(paths map[string]string, events []demoEvent) {
	for _, e := range events {
		switch e.EventType {
		case "CREATED", "UPDATED":
			if e.OldPath != "" && e.ItemType == "folder" {
				// A folder move or rename: everything under it moves along.
				for id, p := range paths {
					if len(p) > len(e.OldPath) && p[:len(e.OldPath)+1] == e.OldPath+"/" {
						paths[id] = e.Path + p[len(e.OldPath):]
					}
				}
			}
			paths[e.ObjectID] = e.Path
		case "DELETED":
			delete(paths, e.ObjectID)
		}
	}
}
