package service

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"strings"
	"sync"
	"time"
)

// LogOptions select the format of log records.
type LogOptions struct {
	Level slog.Leveler // minimum level; nil = slog.LevelInfo
	JSON  bool         // JSON instead of logfmt-style text
}

// SystemLogger is the part of a system log (kardianos' service.Logger, e.g.
// the Windows Event Log) that NewSystemLogHandler writes to.
type SystemLogger interface {
	Error(v ...any) error
	Warning(v ...any) error
	Info(v ...any) error
}

// NewSlogHandler returns the handler the agent logs through. Under the
// Windows service manager it writes to the Windows Event Log (source name,
// registered by Install); if that log cannot be opened, and everywhere else
// (console, systemd, whose journal collects stderr, SysV, whose script appends
// stderr to /var/log/<name>.log) it writes to w. The handler formats the
// records it is given; it adds nothing, so what reaches the log is exactly
// what the callers logged.
func NewSlogHandler(name string, w io.Writer, opts LogOptions) slog.Handler {
	ho := &slog.HandlerOptions{Level: opts.Level, ReplaceAttr: durationText}
	stream := func() slog.Handler {
		if opts.JSON {
			return slog.NewJSONHandler(w, ho)
		}
		return slog.NewTextHandler(w, ho)
	}
	if !IsServiceManaged() {
		return stream()
	}
	sys, ok, err := systemLogger(name)
	if !ok {
		return stream()
	}
	if err != nil {
		h := stream()
		r := slog.NewRecord(time.Now(), slog.LevelWarn, "system log unavailable; logging to stderr", 0)
		r.AddAttrs(slog.String("err", err.Error()))
		_ = h.Handle(context.Background(), r)
		return h
	}
	return NewSystemLogHandler(sys, opts)
}

// NewSystemLogHandler returns a slog.Handler that formats each record as one
// line of text (or JSON) without the time, which the system log records
// itself, and hands it to l: records at slog.LevelError and above as errors,
// at slog.LevelWarn and above as warnings, the rest as information. Records
// below opts.Level are dropped. Errors from l are returned by Handle.
func NewSystemLogHandler(l SystemLogger, opts LogOptions) slog.Handler {
	s := &sysShared{sys: l}
	ho := &slog.HandlerOptions{
		Level: opts.Level,
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if len(groups) == 0 && a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return durationText(groups, a)
		},
	}
	var inner slog.Handler
	if opts.JSON {
		inner = slog.NewJSONHandler(&s.buf, ho)
	} else {
		inner = slog.NewTextHandler(&s.buf, ho)
	}
	return &sysHandler{shared: s, inner: inner}
}

// durationText writes durations as Go duration text ("1.5s", "250ms") in
// both formats: slog's JSON handler would write integer nanoseconds, with no
// unit in sight.
func durationText(_ []string, a slog.Attr) slog.Attr {
	if a.Value.Kind() == slog.KindDuration {
		a.Value = slog.StringValue(a.Value.Duration().String())
	}
	return a
}

// sysShared is the buffer every handler derived by WithAttrs/WithGroup
// formats into, and the lock that guards it.
type sysShared struct {
	mu  sync.Mutex
	buf bytes.Buffer
	sys SystemLogger
}

type sysHandler struct {
	shared *sysShared
	inner  slog.Handler
}

func (h *sysHandler) Enabled(ctx context.Context, level slog.Level) bool {
	return h.inner.Enabled(ctx, level)
}

func (h *sysHandler) Handle(ctx context.Context, r slog.Record) error {
	s := h.shared
	s.mu.Lock()
	s.buf.Reset()
	err := h.inner.Handle(ctx, r)
	line := strings.TrimSuffix(s.buf.String(), "\n")
	s.mu.Unlock()
	if err != nil {
		return err
	}
	switch {
	case r.Level >= slog.LevelError:
		return s.sys.Error(line)
	case r.Level >= slog.LevelWarn:
		return s.sys.Warning(line)
	default:
		return s.sys.Info(line)
	}
}

func (h *sysHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return &sysHandler{shared: h.shared, inner: h.inner.WithAttrs(as)}
}

func (h *sysHandler) WithGroup(name string) slog.Handler {
	return &sysHandler{shared: h.shared, inner: h.inner.WithGroup(name)}
}
