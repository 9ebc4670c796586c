//go:build unix

package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
)

// event is what the receiver keeps of one delivered event.
type event struct {
	ID, Type, Path string
}

// testReceiver is the callback endpoint: it answers status and keeps the
// events of the messages it accepted, in arrival order.
type testReceiver struct {
	srv *httptest.Server

	mu       sync.Mutex
	status   int      // statusHang: hold the request until the test ends
	messages []string // message ids accepted
	events   []event
	refused  int
	hanging  int
	release  chan struct{}
}

// statusHang makes the receiver hold requests without answering.
const statusHang = 0

func newTestReceiver(t testing.TB) *testReceiver {
	r := &testReceiver{status: http.StatusNoContent, release: make(chan struct{})}
	r.srv = httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(r.srv.Close)
	t.Cleanup(func() { close(r.release) }) // runs first: lets held requests end
	return r
}

func (r *testReceiver) serve(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	r.mu.Lock()
	if r.status == statusHang {
		r.hanging++
		r.mu.Unlock()
		select {
		case <-r.release:
		case <-req.Context().Done():
		}
		return
	}
	r.mu.Unlock()
	var m struct {
		Message struct {
			EventID string `json:"eventId"`
			Events  []struct {
				EventID   string `json:"eventId"`
				EventType string `json:"eventType"`
				Path      string `json:"path"`
			} `json:"events"`
		} `json:"message"`
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.status/100 != 2 {
		r.refused++
		w.WriteHeader(r.status)
		return
	}
	if err := json.Unmarshal(body, &m); err != nil {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	r.messages = append(r.messages, m.Message.EventID)
	for _, e := range m.Message.Events {
		r.events = append(r.events, event{ID: e.EventID, Type: e.EventType, Path: e.Path})
	}
	w.WriteHeader(r.status)
}

func (r *testReceiver) setStatus(s int) {
	r.mu.Lock()
	r.status = s
	r.mu.Unlock()
}

func (r *testReceiver) got() []event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]event(nil), r.events...)
}

func (r *testReceiver) held() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.hanging
}

func (r *testReceiver) refusals() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.refused
}
