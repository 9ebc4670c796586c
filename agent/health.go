package agent

import (
	"context"
	"fmt"
	"net/http"
	"time"
)

// serveHealth answers GET /healthz. Without parameters it says the agent
// runs (200 "ok"). With ?maxDeliveryFailing=<Go duration> it answers 503
// when an instance's deliveries have failed without a success for longer
// than that (the receiver or broker is down, the queue grows), naming the
// instances and their last errors, so a probe can tell "up but not
// delivering for N minutes".
func serveHealth(c Controller, w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	v := r.URL.Query().Get("maxDeliveryFailing")
	if v == "" {
		fmt.Fprintln(w, "ok")
		return
	}
	limit, err := time.ParseDuration(v)
	if err != nil || limit < 0 {
		http.Error(w, "maxDeliveryFailing must be a duration such as 10m", http.StatusBadRequest)
		return
	}
	failing, err := deliveriesFailing(r.Context(), c, limit, time.Now())
	if err != nil {
		http.Error(w, "status: "+err.Error(), http.StatusInternalServerError)
		return
	}
	if len(failing) == 0 {
		fmt.Fprintln(w, "ok")
		return
	}
	w.WriteHeader(http.StatusServiceUnavailable)
	for _, f := range failing {
		fmt.Fprintln(w, f)
	}
}

// deliveriesFailing lists, one line each, the instances whose deliveries
// failed for longer than limit at now.
func deliveriesFailing(ctx context.Context, c Controller, limit time.Duration, now time.Time) ([]string, error) {
	s, err := c.Status(ctx)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, in := range s.Instances {
		d := in.Delivery
		if d == nil || d.FailingSince == nil || now.Sub(*d.FailingSince) <= limit {
			continue
		}
		out = append(out, fmt.Sprintf("%s: not delivering for %s (%d attempts): %s",
			in.Name, now.Sub(*d.FailingSince).Round(time.Second), d.Attempts, d.LastError))
	}
	return out, nil
}
