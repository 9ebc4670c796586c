package callback

import (
	"fmt"
	"time"
)

// This file holds what the dispatcher does after each attempt.

func (d *Dispatcher) delivered(m *Message, a attempt) {
	if len(d.acks) == 0 {
		d.firstAck = d.now()
	}
	d.acks = append(d.acks, m.Key)
	d.okSinceFailure = true
	if d.obs.Delivered != nil {
		d.obs.Delivered(m.Events, a.took)
	}
	if d.obs.DeliveredBody != nil {
		d.obs.DeliveredBody(m.Body, d.now())
	}
	if d.failing {
		d.failing = false
		d.log.Info("callback delivery recovered", "message", m.ID, "failing_for", d.now().Sub(d.failSince).Round(time.Second), "attempts", m.Attempts+1)
	}
	d.setStateError("")
}

func (d *Dispatcher) reject(m *Message, reason string) error {
	if err := d.q.Reject(m.Key, reason); err != nil {
		return fmt.Errorf("instance %s: move message %s to the dead letters: %w", d.name, m.ID, err)
	}
	if d.obs.DeadLettered != nil {
		d.obs.DeadLettered(m.Events)
	}
	d.log.Warn("callback receiver refused a message; it waits in the dead letters", "message", m.ID, "events", m.Events, "reason", reason)
	d.setStateError(reason)
	return nil
}

func (d *Dispatcher) split(m *Message) error {
	parts, err := SplitMessage(*m)
	if err != nil {
		return d.reject(m, "HTTP 413 Payload Too Large and the message cannot be split: "+err.Error())
	}
	if err := d.flushSync(); err != nil {
		return err
	}
	if err := d.q.Split(m.Key, parts); err != nil {
		return fmt.Errorf("instance %s: split message %s: %w", d.name, m.ID, err)
	}
	if d.obs.Split != nil {
		d.obs.Split(m.Events)
	}
	d.log.Info("callback receiver answered 413; message split in two", "message", m.ID, "events", m.Events)
	return nil
}

// retry persists a failed attempt and when to try again.
func (d *Dispatcher) retry(m *Message, a attempt) error {
	now := d.now()
	d.okSinceFailure = false
	m.Attempts++
	delay := RetryDelay(m.Attempts, d.retryMin, d.retryMax)
	if a.hasRA && a.retryAfter > delay {
		delay = a.retryAfter
	}
	m.NextAttempt = now.Add(delay)
	m.LastError = a.err.Error()
	if err := d.q.Retry(m.Key, m.Attempts, m.NextAttempt, m.LastError); err != nil {
		return fmt.Errorf("instance %s: record failed delivery of %s: %w", d.name, m.ID, err)
	}
	if d.obs.Failed != nil {
		d.obs.Failed(a.status, a.err)
	}
	if d.obs.Retrying != nil {
		d.obs.Retrying(m.NextAttempt)
	}
	args := []any{"message", m.ID, "error", m.LastError, "attempt", m.Attempts, "next_attempt", m.NextAttempt.Format(time.RFC3339)}
	if !d.failing {
		d.failing, d.failSince = true, now
		d.log.Warn("callback delivery failing; retrying with backoff", args...)
	} else {
		d.log.Debug("callback delivery still failing", args...)
	}
	d.setStateError(m.LastError)
	return nil
}

// setStateError records the last delivery error in the instance state when
// it changed. A failure to record it is logged, not fatal: the queue itself
// holds the message's error.
func (d *Dispatcher) setStateError(msg string) {
	if d.stateSet && d.stateErr == msg {
		return
	}
	if err := d.q.SetDeliveryError(msg); err != nil {
		d.log.Warn("cannot record the last delivery error in the state", "error", err)
		return
	}
	d.stateErr, d.stateSet = msg, true
}
