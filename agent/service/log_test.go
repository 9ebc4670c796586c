package service

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeSystemLog records what a handler hands to the system log.
type fakeSystemLog struct {
	mu    sync.Mutex
	lines []string // "<kind>: <text>"
	err   error
}

func (f *fakeSystemLog) add(kind string, v []any) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.lines = append(f.lines, kind+": "+fmt.Sprint(v...))
	return f.err
}
func (f *fakeSystemLog) Error(v ...any) error   { return f.add("E", v) }
func (f *fakeSystemLog) Warning(v ...any) error { return f.add("W", v) }
func (f *fakeSystemLog) Info(v ...any) error    { return f.add("I", v) }

var _ SystemLogger = (*fakeSystemLog)(nil)

func TestSystemLogHandler_Handle(t *testing.T) {
	f := &fakeSystemLog{}
	log := slog.New(NewSystemLogHandler(f, LogOptions{Level: slog.LevelInfo}))
	log.Debug("dropped")
	log.Info("poll done", "instance", "finance", "events", 3)
	log.With("instance", "hr").WithGroup("delivery").Warn("retrying", "status", 503)
	log.Error("corrupt", "file", `C:\ProgramData\x.db`)
	log.Log(nil, slog.LevelError+4, "worse")

	want := []string{
		`I: level=INFO msg="poll done" instance=finance events=3`,
		`W: level=WARN msg=retrying instance=hr delivery.status=503`,
		`E: level=ERROR msg=corrupt file=C:\ProgramData\x.db`,
		`E: level=ERROR+4 msg=worse`,
	}
	if strings.Join(f.lines, "\n") != strings.Join(want, "\n") {
		t.Errorf("system log got\n%s\nwant\n%s", strings.Join(f.lines, "\n"), strings.Join(want, "\n"))
	}
}

func TestSystemLogHandler_JSONAndErrors(t *testing.T) {
	f := &fakeSystemLog{err: errors.New("event log full")}
	h := NewSystemLogHandler(f, LogOptions{JSON: true, Level: slog.LevelDebug})
	log := slog.New(h)
	log.Debug("tick", "n", 1)
	if len(f.lines) != 1 || f.lines[0] != `I: {"level":"DEBUG","msg":"tick","n":1}` {
		t.Errorf("lines = %q", f.lines)
	}
	r := slog.Record{Level: slog.LevelWarn, Message: "x"}
	if err := h.Handle(t.Context(), r); err == nil || err.Error() != "event log full" {
		t.Errorf("Handle error = %v, want the system log's", err)
	}
}

func TestSystemLogHandler_Concurrent(t *testing.T) {
	f := &fakeSystemLog{}
	log := slog.New(NewSystemLogHandler(f, LogOptions{}))
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			l := log.With("worker", i)
			for j := range 50 {
				l.Info("m", "j", j)
			}
		}()
	}
	wg.Wait()
	if len(f.lines) != 400 {
		t.Fatalf("got %d lines, want 400", len(f.lines))
	}
	for _, l := range f.lines {
		if !strings.HasPrefix(l, "I: level=INFO msg=m worker=") || strings.Count(l, "msg=") != 1 {
			t.Fatalf("mangled line %q", l)
		}
	}
}

func TestNewSlogHandler_Console(t *testing.T) {
	if IsServiceManaged() {
		t.Skip("the test runs under a service manager")
	}
	var text, js bytes.Buffer
	slog.New(NewSlogHandler(DefaultName, &text, LogOptions{})).Info("hello", "k", "v")
	slog.New(NewSlogHandler(DefaultName, &js, LogOptions{JSON: true, Level: slog.LevelWarn})).Info("hidden")
	slog.New(NewSlogHandler(DefaultName, &js, LogOptions{JSON: true})).Warn("shown")
	if !strings.Contains(text.String(), "msg=hello k=v") {
		t.Errorf("text output %q", text.String())
	}
	if strings.Contains(js.String(), "hidden") || !strings.Contains(js.String(), `"msg":"shown"`) {
		t.Errorf("json output %q", js.String())
	}
}

// TestSlogHandler_Durations: durations are text with a unit in both
// formats, also when attached with With.
func TestSlogHandler_Durations(t *testing.T) {
	for _, jsonFormat := range []bool{true, false} {
		var b bytes.Buffer
		log := slog.New(NewSlogHandler("onedrive-agent", &b, LogOptions{JSON: jsonFormat}))
		log.With("retry_in", 2*time.Minute).Info("poll done", "took", 1500*time.Millisecond)
		out := b.String()
		want := []string{`took=1.5s`, `retry_in=2m0s`}
		if jsonFormat {
			want = []string{`"took":"1.5s"`, `"retry_in":"2m0s"`}
		}
		for _, w := range want {
			if !strings.Contains(out, w) {
				t.Errorf("json=%v: %q lacks %s", jsonFormat, out, w)
			}
		}
	}
}
