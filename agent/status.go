package agent

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
	"unicode/utf8"
)

// Instance states shown by status.
const (
	StateIdle       = "idle"
	StatePolling    = "polling"
	StateNeedsLogin = "needs_login"
	StateQueueFull  = "paused_queue_full"
	StateDiskFull   = "paused_disk_full"
	StateError      = "error"
	StateDisabled   = "disabled"
	StateStopped    = "not_running"
	// While nothing else is going on, an instance shows its delivery:
	StateDelivering = "delivering" // messages are being sent
	StateRetrying   = "retrying"   // the receiver failed; the next attempt waits for its backoff
)

// Status is what `onedrive-agent status --json` prints and GET /v1/status
// returns.
type Status struct {
	Version   string           `json:"version"`
	Running   bool             `json:"running"`
	PID       int              `json:"pid,omitempty"`
	Started   *time.Time       `json:"started,omitempty"`
	Database  string           `json:"database"`
	Instances []InstanceStatus `json:"instances"`
}

// InstanceStatus describes one instance.
type InstanceStatus struct {
	Name              string     `json:"name"`
	ID                uint32     `json:"id"`
	Enabled           bool       `json:"enabled"`
	State             string     `json:"state"`
	Hint              string     `json:"hint,omitempty"`
	DriveID           string     `json:"driveId,omitempty"`
	LastPoll          *time.Time `json:"lastPoll,omitempty"`
	LastSuccess       *time.Time `json:"lastSuccessfulPoll,omitempty"`
	NextPoll          *time.Time `json:"nextPoll,omitempty"`
	LastPollError     string     `json:"lastPollError,omitempty"`
	QueuedEvents      int64      `json:"queuedEvents"`
	QueuedMessages    int64      `json:"queuedMessages"`
	OldestQueued      *time.Time `json:"oldestQueued,omitempty"`
	DeadMessages      int64      `json:"deadMessages"`
	DeadEvents        int64      `json:"deadEvents"`
	LastDeliveryError string     `json:"lastDeliveryError,omitempty"`
	Sink              string     `json:"sink,omitempty"`
	Delivery          *Delivery  `json:"delivery,omitempty"`
	Resyncs           uint64     `json:"resyncs"`
	Round             *Round     `json:"round,omitempty"`
	// Push is the change-notification link: off, connecting, connected, unsupported or error.
	Push              string     `json:"push"`
	PushError         string     `json:"pushError,omitempty"` // why unsupported, or the last failure
	PushNotifications uint64     `json:"pushNotifications"`   // notifications received since start
	LastNotification  *time.Time `json:"lastNotification,omitempty"`
	// Drives and DrivesFailing are set for a tenant-wide instance: the drives being polled
	// and those whose last poll failed (throttling aside).
	Drives        *int `json:"drives,omitempty"`
	DrivesFailing *int `json:"drivesFailing,omitempty"`
}

// Delivery describes the delivery of an instance's queue.
type Delivery struct {
	State         string     `json:"state"`                   // idle, delivering or retrying
	Attempts      int        `json:"attempts,omitempty"`      // failed attempts of the message at the head
	NextAttempt   *time.Time `json:"nextAttempt,omitempty"`   // when it is tried again
	FailingSince  *time.Time `json:"failingSince,omitempty"`  // first failed attempt since the last delivery (running agent only)
	LastError     string     `json:"lastError,omitempty"`     // the last attempt's error, in full
	LastDelivered *time.Time `json:"lastDelivered,omitempty"` // last delivery since the agent started
}

// Round describes a delta round in progress (a long enumeration, or one
// interrupted by a stop or a full queue).
type Round struct {
	Mode    string     `json:"mode"`  // incremental, baseline, backfill or reconcile
	Phase   string     `json:"phase"` // fetch, sweep, before, index, events or emit
	Pages   int64      `json:"pages"`
	Items   int64      `json:"items"`
	Events  int64      `json:"events"`
	Started *time.Time `json:"started,omitempty"`
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	t = t.UTC()
	return &t
}

// WriteTable prints s as a human-readable table.
func (s Status) WriteTable(w io.Writer, now time.Time) error {
	run := "not running (read from the database)"
	if s.Running {
		run = fmt.Sprintf("running (pid %d)", s.PID)
	}
	fmt.Fprintf(w, "onedrive-agent %s, %s, database %s\n\n", s.Version, run, s.Database)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "INSTANCE\tSTATE\tLAST POLL\tNEXT POLL\tQUEUED\tOLDEST\tDEAD\tLAST ERROR")
	for _, in := range s.Instances {
		lastErr := in.LastPollError
		if in.LastDeliveryError != "" {
			if lastErr != "" {
				lastErr += "; "
			}
			lastErr += "delivery: " + in.LastDeliveryError
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\t%d\t%s\n", in.Name, in.State,
			ago(in.LastPoll, now), until(in.NextPoll, now), in.QueuedEvents, ago(in.OldestQueued, now),
			in.DeadMessages, oneLine(lastErr, 80))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, in := range s.Instances {
		if r := in.Round; r != nil {
			fmt.Fprintf(w, "\n%s: %s round in progress: %s phase, %d items in %d pages, %d events", in.Name, r.Mode, r.Phase, r.Items, r.Pages, r.Events)
		}
		if d := in.Delivery; d != nil && d.State == StateRetrying {
			fmt.Fprintf(w, "\n%s: delivery retrying", in.Name)
			if d.FailingSince != nil {
				fmt.Fprintf(w, ", failing since %s (%s)", d.FailingSince.Format(time.RFC3339), ago(d.FailingSince, now))
			}
			fmt.Fprintf(w, ", %d attempts", d.Attempts)
			if d.NextAttempt != nil {
				fmt.Fprintf(w, ", next %s", until(d.NextAttempt, now))
			}
			fmt.Fprintf(w, ": %s", d.LastError)
		}
		if in.Drives != nil {
			fmt.Fprintf(w, "\n%s: %d drives polled", in.Name, *in.Drives)
			if in.DrivesFailing != nil && *in.DrivesFailing > 0 {
				fmt.Fprintf(w, ", %d failing (GET /v1/instances/%s/drives lists them)", *in.DrivesFailing, in.Name)
			}
		}
		if in.Hint != "" {
			fmt.Fprintf(w, "\n%s: %s", in.Name, in.Hint)
		}
		switch {
		case in.Push == "connected":
			fmt.Fprintf(w, "\n%s: push connected, %d notifications, last %s", in.Name, in.PushNotifications, ago(in.LastNotification, now))
		case in.Push != "off" && in.Push != "":
			fmt.Fprintf(w, "\n%s: push %s: %s", in.Name, in.Push, oneLine(in.PushError, 160))
		}
	}
	_, err := fmt.Fprintln(w)
	return err
}

func ago(t *time.Time, now time.Time) string {
	if t == nil {
		return "-"
	}
	return now.Sub(*t).Round(time.Second).String() + " ago"
}

func until(t *time.Time, now time.Time) string {
	if t == nil {
		return "-"
	}
	d := t.Sub(now).Round(time.Second)
	if d <= 0 {
		return "due"
	}
	return "in " + d.String()
}

// oneLine returns s on one line, cut at a word boundary to at most max
// bytes ("…" marks a cut; the full text is shown below the table).
func oneLine(s string, max int) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > max {
		cut := strings.LastIndexByte(s[:max-1], ' ')
		if cut < max/2 {
			cut = max - 1
			for cut > 0 && !utf8.RuneStart(s[cut]) {
				cut--
			}
		}
		s = s[:cut] + "…"
	}
	if s == "" {
		return "-"
	}
	return s
}
