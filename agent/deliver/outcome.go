package deliver

import (
	"fmt"
	"strconv"
	"time"
)

// This file holds what the loop does after each attempt.

func (l *Loop) observe(m *Message, r Result, took time.Duration, attempts int, next time.Time) {
	if l.obs == nil {
		return
	}
	a := Attempt{Instance: l.cfg.Instance, Sink: l.cfg.Sink, Message: m.ID, Events: m.Events, Outcome: r.Outcome,
		Code: r.Code, Took: took, Attempts: attempts, Next: next, At: l.now(), Body: m.Body}
	if r.Err != nil {
		a.Err = r.Err.Error()
	}
	l.obs(a)
}

// status is the answer's code for logs: the HTTP status, or "ok".
func status(r Result) string {
	if r.Code != 0 {
		return strconv.Itoa(r.Code)
	}
	return "ok"
}

func (l *Loop) delivered(m *Message, r Result, took time.Duration) {
	now := l.now()
	if len(l.acks) == 0 {
		l.firstAck = now
	}
	l.acks = append(l.acks, m.Key)
	l.okSinceFailure = true
	var failSince time.Time
	l.setStatus(func(s *Status) {
		failSince = s.FailingSince
		*s = Status{State: StateDelivering, LastDelivered: now}
	})
	l.observe(m, r, took, m.Attempts+1, time.Time{})
	l.log.Log(nil, l.cfg.DeliveredLevel, "delivered", "message", m.ID, "events", m.Events, "status", status(r),
		"took", took.Round(time.Microsecond).String())
	if !failSince.IsZero() {
		l.log.Info("delivery recovered", "message", m.ID, "failing_for", now.Sub(failSince).Round(time.Second).String(), "attempts", m.Attempts+1)
	}
	l.setStateError("")
}

func (l *Loop) reject(m *Message, r Result, took time.Duration) error {
	reason := r.Err.Error()
	if err := l.q.Reject(m.Key, reason); err != nil {
		return fmt.Errorf("instance %s: move message %s to the dead letters: %w", l.cfg.Instance, m.ID, err)
	}
	l.observe(m, r, took, m.Attempts+1, time.Time{})
	l.log.Warn("receiver refused a message; it waits in the dead letters", "message", m.ID, "events", m.Events, "reason", reason)
	l.setStatus(func(s *Status) { s.LastError = reason })
	l.setStateError(reason)
	return nil
}

func (l *Loop) split(m *Message, r Result, took time.Duration) error {
	if len(r.Parts) < 2 {
		r = Result{Outcome: Reject, Code: r.Code, Err: fmt.Errorf("%w, and the message cannot be split", r.Err)}
		return l.reject(m, r, took)
	}
	if err := l.flushSync(); err != nil {
		return err
	}
	for i := range r.Parts {
		r.Parts[i].Created = m.Created
	}
	if err := l.q.Split(m.Key, r.Parts); err != nil {
		return fmt.Errorf("instance %s: split message %s: %w", l.cfg.Instance, m.ID, err)
	}
	l.observe(m, r, took, m.Attempts+1, time.Time{})
	l.log.Info("receiver found a message too large; message split", "message", m.ID, "events", m.Events, "parts", len(r.Parts))
	return nil
}

// retry persists a failed attempt and when to try again.
func (l *Loop) retry(m *Message, r Result, took time.Duration) error {
	now := l.now()
	l.okSinceFailure = false
	m.Attempts++
	delay := RetryDelay(m.Attempts, l.cfg.RetryInitial, l.cfg.RetryMax)
	if after := min(r.After, MaxAfter); after > delay {
		delay = after
	}
	m.NextAttempt = now.Add(delay)
	m.LastError = r.Err.Error()
	if err := l.q.Retry(m.Key, m.Attempts, m.NextAttempt, m.LastError); err != nil {
		return fmt.Errorf("instance %s: record failed delivery of %s: %w", l.cfg.Instance, m.ID, err)
	}
	first := false
	l.setStatus(func(s *Status) {
		if s.FailingSince.IsZero() {
			s.FailingSince, first = now, true
		}
		s.State, s.Attempts, s.NextAttempt, s.LastError = StateRetrying, m.Attempts, m.NextAttempt, m.LastError
	})
	l.observe(m, r, took, m.Attempts, m.NextAttempt)
	args := []any{"message", m.ID, "error", m.LastError, "attempt", m.Attempts, "next_attempt", m.NextAttempt.Format(time.RFC3339)}
	if first {
		l.log.Warn("delivery failing; retrying with backoff", args...)
	} else {
		l.log.Debug("delivery still failing", args...)
	}
	l.setStateError(m.LastError)
	return nil
}

// setStateError records the last delivery error in the instance state when
// it changed. A failure to record it is logged, not fatal: the queue itself
// holds the message's error.
func (l *Loop) setStateError(msg string) {
	if l.stateSet && l.stateErr == msg {
		return
	}
	if err := l.q.SetDeliveryError(msg); err != nil {
		l.log.Warn("cannot record the last delivery error in the state", "error", err)
		return
	}
	l.stateErr, l.stateSet = msg, true
}
