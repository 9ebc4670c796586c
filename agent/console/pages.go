package console

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/onedrive-agent/onedrive-agent/agent/activity"
)

// overviewView is the overview page.
type overviewView struct {
	Overview
	Rows       []row
	Push       bool // some instance has a push state: show the column
	Queue      chart
	Deliveries chart
	Figures    []chartRow
	Totals     totals
}

type totals struct {
	Instances, Failing, Dead int
	Queued                   int64
	Delivered, Failed        int
}

// row is one instance with its last hour.
type row struct {
	Instance
	Delivered, Failed int
}

// rowOf is in with its last hour h.
func rowOf(in Instance, h activity.Hour) row {
	return row{Instance: in, Delivered: h.Delivered, Failed: h.Failed}
}

func (c *Console) overview(w http.ResponseWriter, r *http.Request) {
	sess, ok := c.signedIn(w, r)
	if !ok {
		return
	}
	ov, err := c.be.Overview(r.Context())
	if err != nil {
		c.backendError(w, sess, err)
		return
	}
	v := overviewView{Overview: ov, Rows: make([]row, 0, len(ov.Instances))}
	for _, in := range ov.Instances {
		rw := rowOf(in, c.rec.LastHour(in.Name))
		v.Rows = append(v.Rows, rw)
		v.Push = v.Push || in.Push != ""
		v.Totals.Instances++
		v.Totals.Queued += in.QueuedEvents
		v.Totals.Delivered += rw.Delivered
		v.Totals.Failed += rw.Failed
		if in.DeadMessages > 0 {
			v.Totals.Dead++
		}
		if problem(in) {
			v.Totals.Failing++
		}
	}
	h := c.rec.Total()
	v.Queue = queueChart("all-queue", h)
	v.Deliveries = deliveryChart("all-deliveries", h)
	v.Figures = figures(h)
	c.render(w, http.StatusOK, "overview", layout{
		Title: "Instances", SignedIn: true, CSRF: c.sess.csrf(sess), Refresh: c.refresh, Version: ov.Version, Page: v,
	})
}

// problem tells whether an instance needs a look.
func problem(in Instance) bool {
	return in.LastPollError != "" || in.LastDeliveryError != "" || stateClass(in.State) == "bad"
}

// instanceView is an instance's page.
type instanceView struct {
	row
	Notice     *notice
	Queue      chart
	Deliveries chart
	Figures    []chartRow
	Recent     []activity.Delivery
	History    bool // the console keeps recent deliveries
	Dead       []deadView
	DeadErr    string
	DriveList  *driveList // a tenant-wide instance's drives
}

// drivesPerPage is how many drives a page of a tenant-wide instance lists.
const drivesPerPage = 50

// driveList is one page of a tenant-wide instance's drives, filtered by a
// search.
type driveList struct {
	Query          string
	Rows           []Drive
	Total, Matched int
	Page, Pages    int
	First, Last    int // 1-based positions of Rows among the matches
	Prev, Next     string
	Err            string
}

// listDrives reads the drives of in and keeps the page the query asks for:
// q matches drive name, owner, id or state (any case), page counts from 1.
func (c *Console) listDrives(r *http.Request, in Instance) *driveList {
	dl, ok := c.be.(DriveLister)
	if !ok || !in.TenantWide {
		return nil
	}
	v := &driveList{Query: strings.TrimSpace(r.URL.Query().Get("q")), Page: 1}
	all, err := dl.Drives(r.Context(), in.Name)
	if err != nil {
		v.Err = err.Error()
		return v
	}
	v.Total = len(all)
	q := strings.ToLower(v.Query)
	var match []Drive
	for _, d := range all {
		if q == "" || strings.Contains(strings.ToLower(d.Name+"\x00"+d.Owner+"\x00"+d.ID+"\x00"+d.State), q) {
			match = append(match, d)
		}
	}
	v.Matched = len(match)
	v.Pages = max((len(match)+drivesPerPage-1)/drivesPerPage, 1)
	if p, err := strconv.Atoi(r.URL.Query().Get("page")); err == nil {
		v.Page = min(max(p, 1), v.Pages)
	}
	lo := (v.Page - 1) * drivesPerPage
	hi := min(lo+drivesPerPage, len(match))
	v.Rows, v.First, v.Last = match[lo:hi], lo+1, hi
	link := func(page int) string {
		qs := url.Values{}
		if v.Query != "" {
			qs.Set("q", v.Query)
		}
		qs.Set("page", strconv.Itoa(page))
		return "/instances/" + url.PathEscape(in.Name) + "?" + qs.Encode() + "#drives"
	}
	if v.Page > 1 {
		v.Prev = link(v.Page - 1)
	}
	if v.Page < v.Pages {
		v.Next = link(v.Page + 1)
	}
	return v
}

type deadView struct {
	DeadLetter
	Tries  int    // attempts, the refused one included
	Status string // the status line of the receiver's answer
	Answer string // the excerpt of its answer
}

// instanceGet serves the start of a GET of an instance's page: the session
// (or the sign-in redirect) and the instance (or a 404).
func (c *Console) instanceGet(w http.ResponseWriter, r *http.Request) (string, Overview, Instance, bool) {
	sess, ok := c.signedIn(w, r)
	if !ok {
		return "", Overview{}, Instance{}, false
	}
	ov, in, ok := c.instance(w, r, sess)
	return sess, ov, in, ok
}

// splitReason splits "HTTP 422 Unprocessable Entity: {...}" into the
// status line and the receiver's answer.
func splitReason(reason string) (status, answer string) {
	if strings.HasPrefix(reason, "HTTP ") {
		if s, a, ok := strings.Cut(reason, ": "); ok {
			return s, a
		}
	}
	return reason, ""
}

func (c *Console) instancePage(w http.ResponseWriter, r *http.Request) {
	sess, ov, in, ok := c.instanceGet(w, r)
	if !ok {
		return
	}
	h := c.rec.LastHour(in.Name)
	v := instanceView{
		row:        rowOf(in, h),
		Notice:     c.notice(in.Name),
		Queue:      queueChart("queue", h),
		Deliveries: deliveryChart("deliveries", h),
		Figures:    figures(h),
		Recent:     c.rec.Recent(in.Name),
		History:    c.rec != nil,
		DriveList:  c.listDrives(r, in),
	}
	if in.DeadMessages > 0 {
		dls, err := c.be.DeadLetters(r.Context(), in.Name)
		if err != nil {
			v.DeadErr = err.Error()
		}
		for _, d := range dls {
			st, ans := splitReason(d.Reason)
			v.Dead = append(v.Dead, deadView{DeadLetter: d, Tries: d.Attempts + 1, Status: st, Answer: ans})
		}
	}
	c.render(w, http.StatusOK, "instance", layout{
		Title: in.Name, SignedIn: true, CSRF: c.sess.csrf(sess), Refresh: c.refresh, Version: ov.Version, Page: v,
	})
}

// confirmView is a confirmation page: what the action does, and the form
// that does it.
type confirmView struct {
	Instance string
	Heading  string
	Lines    []string
	Action   string // form action URL
	Button   string
	IDs      []string
	Scope    string
}

func (c *Console) confirmResync(w http.ResponseWriter, r *http.Request) {
	sess, ov, in, ok := c.instanceGet(w, r)
	if !ok {
		return
	}
	drive := "its drive"
	if in.DriveID != "" {
		drive = "drive " + in.DriveID
	}
	v := confirmView{
		Instance: in.Name,
		Heading:  "Resync " + in.Name + "?",
		Lines: []string{
			"A resync forgets the delta cursor of " + in.Name + " and reads " + drive + " again from the start, item by item.",
			"It compares what it reads with the agent's index and reports only real differences as events: nothing already delivered is sent again, and changes missed meanwhile are caught up.",
			"On a large drive this takes a while and many requests to Microsoft Graph; polling of this instance waits until it ends.",
		},
		Action: "/instances/" + url.PathEscape(in.Name) + "/resync",
		Button: "Resync " + in.Name,
	}
	c.render(w, http.StatusOK, "confirm", layout{Title: v.Heading, SignedIn: true, CSRF: c.sess.csrf(sess), Version: ov.Version, Page: v})
}

func (c *Console) confirmPurge(w http.ResponseWriter, r *http.Request) {
	sess, ov, in, ok := c.instanceGet(w, r)
	if !ok {
		return
	}
	v := confirmView{
		Instance: in.Name,
		Action:   "/instances/" + url.PathEscape(in.Name) + "/purge",
	}
	sel := r.URL.Query()["id"]
	switch {
	case len(sel) > 0:
		v.IDs = sel
		v.Heading = fmt.Sprintf("Purge %d dead letter(s) of %s?", len(sel), in.Name)
		v.Lines = []string{"Purging deletes these dead letters for good: " + strings.Join(sel, ", ") + "."}
		v.Button = "Purge"
	default:
		v.Scope = "all"
		v.Heading = "Purge every dead letter of " + in.Name + "?"
		v.Lines = []string{fmt.Sprintf("Purging deletes all %s dead letters (%s events) of %s for good.", formatCount(in.DeadMessages), formatCount(in.DeadEvents), in.Name)}
		v.Button = "Purge all"
	}
	v.Lines = append(v.Lines, "Their events will never reach the receiver. To send them again instead, go back and replay them.")
	c.render(w, http.StatusOK, "confirm", layout{Title: v.Heading, SignedIn: true, CSRF: c.sess.csrf(sess), Version: ov.Version, Page: v})
}

// RedactURL returns raw without user info, query string and fragment, so
// that a callback URL can be shown: a query string often carries a token.
// A removed query is marked "?…".
func RedactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return "(not shown)"
	}
	out := (&url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path}).String()
	if u.RawQuery != "" || u.ForceQuery {
		out += "?…"
	}
	return out
}

// plural writes n and the noun, with an s unless n is 1: "1 event", "3 events".
func plural(n any, noun string) string {
	var v int64
	switch x := n.(type) {
	case int:
		v = int64(x)
	case int64:
		v = x
	}
	if v == 1 {
		return "1 " + noun
	}
	return formatCount(v) + " " + noun + "s"
}

func ago(now, t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	d := now.Sub(t)
	if d < 0 {
		return "in " + short(-d)
	}
	return short(d) + " ago"
}

func until(now, t time.Time) string {
	if t.IsZero() {
		return "–"
	}
	d := t.Sub(now)
	if d <= 0 {
		return "due"
	}
	return "in " + short(d)
}

// short writes d in its two largest units: "45s", "3m 20s", "2h 5m", "3d 4h".
func short(d time.Duration) string {
	s := int64(d / time.Second)
	switch {
	case s < 60:
		return fmt.Sprintf("%ds", s)
	case s < 3600:
		return fmt.Sprintf("%dm %ds", s/60, s%60)
	case s < 86400:
		return fmt.Sprintf("%dh %dm", s/3600, s%3600/60)
	}
	return fmt.Sprintf("%dd %dh", s/86400, s%86400/3600)
}

func iso(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

func tookText(d time.Duration) string {
	switch {
	case d <= 0:
		return "–"
	case d < time.Millisecond:
		return "<1 ms"
	case d < time.Second:
		return fmt.Sprintf("%d ms", d.Milliseconds())
	}
	return fmt.Sprintf("%.1f s", d.Seconds())
}

func outcomeText(d activity.Delivery) string {
	s := map[string]string{
		activity.Delivered: "delivered",
		activity.Retry:     "failed, retrying",
		activity.Dead:      "refused: dead letter",
		activity.Split:     "too large: split",
	}[d.Outcome]
	if s == "" {
		s = d.Outcome
	}
	if d.Status != 0 {
		s += fmt.Sprintf(" (%d)", d.Status)
	}
	return s
}

// stateClass sorts a state into ok, busy, warn or bad for the stylesheet;
// the state's own word is always shown too.
func stateClass(s string) string {
	switch s {
	case "idle", "connected":
		return "ok"
	case "polling", "connecting":
		return "busy"
	case "disabled", "not_running", "paused_queue_full", "queue_full", "unsupported", "handover", "gone", "":
		return "warn"
	}
	return "bad"
}

// stateMark is a symbol beside the state's word, so that the kind of state
// reads without colour.
func stateMark(s string) string {
	return map[string]string{"ok": "✓", "busy": "↻", "warn": "‖", "bad": "✕"}[stateClass(s)]
}
