// Package console serves the operator console: server-rendered pages on the
// admin listener that show each instance's state, queue, recent deliveries
// and dead letters, and let a signed-in operator poll, resync, replay and
// purge.
//
// Security: signing in takes the admin token (POST /login) and sets a
// session cookie (HttpOnly, SameSite=Strict, Secure over TLS) whose value is
// an HMAC derived from the token, never the token itself, so a new token
// ends every session. Every action is a POST form carrying a CSRF value
// bound to the session; without it, or with a wrong one, the answer is 403
// and nothing is done. Pages load nothing from another origin and carry a
// Content-Security-Policy without inline script or style. No page shows a
// token, a key or the query string of a callback URL.
package console

import (
	"bytes"
	"context"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"path"
	"strings"
	"sync"
	"time"

	"github.com/onedrive-agent/onedrive-agent/agent/activity"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed assets
var assetFS embed.FS

// ErrNotFound is wrapped by a Backend's error for an instance it does not
// have; the console answers 404.
var ErrNotFound = errors.New("no such instance")

// Backend is what the console reads and acts on: the running agent.
type Backend interface {
	Overview(ctx context.Context) (Overview, error)
	DeadLetters(ctx context.Context, instance string) ([]DeadLetter, error)
	// Poll runs a round now and waits for its end; the text says what it did.
	Poll(ctx context.Context, instance string) (string, error)
	// Resync forgets the delta cursor and reconciles the whole drive.
	Resync(ctx context.Context, instance string) (string, error)
	// Replay puts the dead letters ids (all when none) back at the head of
	// the queue; Purge deletes them. Both return how many.
	Replay(ctx context.Context, instance string, ids []string) (int, error)
	Purge(ctx context.Context, instance string, ids []string) (int, error)
}

// Overview is the agent and its instances.
type Overview struct {
	Version   string
	Running   bool
	Started   time.Time
	Instances []Instance
}

// Instance is one instance as the console shows it. Nothing in it may be a
// secret: Target is the callback URL without user info or query string
// (see RedactURL).
type Instance struct {
	Name              string
	Enabled           bool
	State             string
	Push              string // push state (connecting, connected, unsupported, error); "" when off
	PushError         string // why push is unsupported, or its last failure
	Hint              string
	Target            string
	DriveID           string
	LastPoll          time.Time
	LastSuccess       time.Time
	NextPoll          time.Time
	LastPollError     string
	QueuedEvents      int64
	QueuedMessages    int64
	Oldest            time.Time
	DeadMessages      int64
	DeadEvents        int64
	LastDeliveryError string
	Round             string // a round in progress, in words; "" when none
	// TenantWide: the instance watches every drive of a tenant; Drives
	// are those it polls, DrivesFailing those whose last poll failed.
	TenantWide    bool
	Drives        int
	DrivesFailing int
}

// Drive is one drive of a tenant-wide instance.
type Drive struct {
	ID, Name, Owner, State string
	LastPoll               time.Time
	QueuedEvents           int64
	LastError              string
}

// DriveLister is a Backend that lists the drives of a tenant-wide
// instance; the instance's page shows them, with search and paging.
type DriveLister interface {
	Drives(ctx context.Context, instance string) ([]Drive, error)
}

// InstanceReader is a Backend that reads one instance without the others.
// The pages and actions of one instance use it, when the Backend has it,
// instead of Overview: they then read that instance's state, not every
// instance's.
type InstanceReader interface {
	// OverviewOf returns the Overview with only the named instance in
	// Instances, or an error wrapping ErrNotFound.
	OverviewOf(ctx context.Context, instance string) (Overview, error)
}

// DeadLetter is a message the receiver refused.
type DeadLetter struct {
	ID        string
	Events    int
	Reason    string // e.g. "HTTP 422 Unprocessable Entity: <excerpt of the answer>"
	Died      time.Time
	Created   time.Time
	Attempts  int
	LastError string
}

// Options configure a Console.
type Options struct {
	Backend  Backend
	Activity *activity.Recorder // nil: no recent deliveries or charts
	// Token returns the current admin token; sessions are derived from it.
	Token  func() string
	Logger *slog.Logger
	Now    func() time.Time
	// Context bounds the polls and resyncs the console starts (they go on
	// after the page answered); nil means context.Background.
	Context context.Context
	// ActionWait is how long a poll or resync form waits for the round to
	// end before the page answers "still running"; default 3s.
	ActionWait time.Duration
	// SessionTTL is how long a sign-in lasts; default 12h.
	SessionTTL time.Duration
	// Refresh is the auto-refresh period of the overview and instance
	// pages (the page's own script; the operator can turn it off);
	// default 15s, negative turns it off.
	Refresh time.Duration
}

// Console serves the pages. Create it with New and mount it with Register.
type Console struct {
	be       Backend
	rec      *activity.Recorder
	log      *slog.Logger
	now      func() time.Time
	ctx      context.Context
	wait     time.Duration
	refresh  int
	sess     *sessions
	pages    map[string]*template.Template
	assets   map[string]asset
	noticeMu sync.Mutex
	notices  map[string]notice
	rounds   map[string]bool // instances with a round started here still running
}

type asset struct {
	body  []byte
	etag  string
	ctype string
}

// notice is the outcome of the last action on an instance, shown on its
// page.
type notice struct {
	At      time.Time
	Text    string
	Failed  bool
	Running bool
}

// noticeTTL is how long a notice stays on the instance page.
const noticeTTL = 15 * time.Minute

// New parses the templates and returns a Console.
func New(o Options) (*Console, error) {
	if o.Backend == nil || o.Token == nil {
		return nil, errors.New("console: Backend and Token are required")
	}
	c := &Console{
		be: o.Backend, rec: o.Activity, log: o.Logger, now: o.Now, ctx: o.Context, wait: o.ActionWait,
		notices: map[string]notice{}, rounds: map[string]bool{},
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	if c.now == nil {
		c.now = time.Now
	}
	if c.ctx == nil {
		c.ctx = context.Background()
	}
	if c.wait <= 0 {
		c.wait = 3 * time.Second
	}
	ttl := o.SessionTTL
	if ttl <= 0 {
		ttl = 12 * time.Hour
	}
	switch {
	case o.Refresh == 0:
		c.refresh = 15
	case o.Refresh > 0:
		c.refresh = max(int(o.Refresh/time.Second), 1)
	}
	c.sess = &sessions{token: o.Token, ttl: ttl, now: c.now, revoked: map[string]time.Time{}}
	var err error
	if c.pages, err = parsePages(); err != nil {
		return nil, err
	}
	if c.assets, err = loadAssets(); err != nil {
		return nil, err
	}
	return c, nil
}

var funcs = template.FuncMap{
	"ago":   ago,
	"until": until,
	"iso":   iso,
	"count": func(n any) string {
		switch v := n.(type) {
		case int:
			return formatCount(v)
		case int64:
			return formatCount(v)
		}
		return fmt.Sprint(n)
	},
	"plural":     plural,
	"stateClass": stateClass,
	"stateMark":  stateMark,
	"took":       tookText,
	"outcome":    outcomeText,
}

func parsePages() (map[string]*template.Template, error) {
	names, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		return nil, err
	}
	pages := map[string]*template.Template{}
	for _, n := range names {
		base := path.Base(n)
		if base == "layout.html" || base == "parts.html" {
			continue
		}
		t, err := template.New(base).Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/parts.html", n)
		if err != nil {
			return nil, fmt.Errorf("console: %w", err)
		}
		pages[strings.TrimSuffix(base, ".html")] = t
	}
	return pages, nil
}

func loadAssets() (map[string]asset, error) {
	out := map[string]asset{}
	err := fs.WalkDir(assetFS, "assets", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := assetFS.ReadFile(p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		ctype := "application/octet-stream"
		switch path.Ext(p) {
		case ".css":
			ctype = "text/css; charset=utf-8"
		case ".js":
			ctype = "text/javascript; charset=utf-8"
		case ".svg":
			ctype = "image/svg+xml"
		}
		out[path.Base(p)] = asset{body: b, etag: `"` + hex.EncodeToString(sum[:8]) + `"`, ctype: ctype}
		return nil
	})
	return out, err
}

// Register mounts the console's routes on mux: GET / and /instances/…,
// /login, /logout and /assets/….
func (c *Console) Register(mux *http.ServeMux) {
	h := func(pattern string, fn http.HandlerFunc) { mux.Handle(pattern, c.secure(fn)) }
	h("GET /{$}", c.overview)
	h("GET /login", c.loginPage)
	h("POST /login", c.login)
	h("POST /logout", c.logout)
	h("GET /instances/{name}", c.instancePage)
	h("POST /instances/{name}/poll", c.poll)
	h("GET /instances/{name}/resync", c.confirmResync)
	h("POST /instances/{name}/resync", c.resync)
	h("POST /instances/{name}/replay", c.replay)
	h("GET /instances/{name}/purge", c.confirmPurge)
	h("POST /instances/{name}/purge", c.purge)
	h("GET /assets/{file}", c.asset)
}

// csp allows only this origin's stylesheet and script: no inline script or
// style, no frames, forms posting only here.
const csp = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; object-src 'none'; " +
	"base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// secure adds the security headers every console response carries.
func (c *Console) secure(next http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", csp)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		h.Set("Cross-Origin-Resource-Policy", "same-origin")
		next(w, r)
	})
}

func (c *Console) asset(w http.ResponseWriter, r *http.Request) {
	a, ok := c.assets[r.PathValue("file")]
	if !ok {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", a.ctype)
	w.Header().Set("ETag", a.etag)
	w.Header().Set("Cache-Control", "no-cache")
	if r.Header.Get("If-None-Match") == a.etag {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	_, _ = w.Write(a.body)
}

// layout is what every page template gets.
type layout struct {
	Title    string
	SignedIn bool
	CSRF     string
	Refresh  int
	Version  string
	Now      time.Time
	Page     any
}

func (c *Console) render(w http.ResponseWriter, status int, name string, l layout) {
	if l.Now.IsZero() {
		l.Now = c.now()
	}
	var buf bytes.Buffer
	if err := c.pages[name].ExecuteTemplate(&buf, "layout", l); err != nil {
		c.log.Error("console page failed", "page", name, "err", err)
		http.Error(w, "the page could not be rendered; see the agent's log", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// messagePage is a page with a title, a text and a link on.
type messagePage struct {
	Heading, Text  string
	Link, LinkText string
}

func (c *Console) message(w http.ResponseWriter, status int, sess string, m messagePage) {
	l := layout{Title: m.Heading, Page: m}
	if sess != "" {
		l.SignedIn, l.CSRF = true, c.sess.csrf(sess)
	}
	c.render(w, status, "message", l)
}

func (c *Console) forbidden(w http.ResponseWriter, sess, text string) {
	c.message(w, http.StatusForbidden, sess, messagePage{Heading: "Refused", Text: text, Link: "/", LinkText: "Back to the instances"})
}

// signedIn returns the request's session, or answers: a page request goes
// to the sign-in form, anything else gets 403.
func (c *Console) signedIn(w http.ResponseWriter, r *http.Request) (string, bool) {
	if s := c.sess.session(r); s != "" {
		return s, true
	}
	if r.Method == http.MethodGet {
		http.Redirect(w, r, "/login", http.StatusSeeOther)
		return "", false
	}
	c.forbidden(w, "", "Sign in first: this action needs a session.")
	return "", false
}

// maxForm bounds a form body.
const maxForm = 64 << 10

// action checks what every action needs: a session, a same-origin request
// and the session's CSRF value in the form. It answers 403 itself when one
// is missing.
func (c *Console) action(w http.ResponseWriter, r *http.Request) (string, bool) {
	sess, ok := c.signedIn(w, r)
	if !ok {
		return "", false
	}
	if !sameOrigin(r) {
		c.forbidden(w, sess, "The form came from another site.")
		return "", false
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxForm)
	if err := r.ParseForm(); err != nil || !c.sess.checkCSRF(sess, r.PostForm.Get(csrfField)) {
		c.forbidden(w, sess, "The form is missing its security field or it is wrong (an old page?). Nothing was done; open the page again and retry.")
		return "", false
	}
	return sess, true
}

// sameOrigin rejects a request a browser says comes from another site: by
// Sec-Fetch-Site, or by an Origin header naming another host than the one
// asked for. (Under Referrer-Policy no-referrer a browser sends "Origin:
// null" with its own forms; the session cookie being SameSite=Strict and
// the CSRF field do the rest.)
func sameOrigin(r *http.Request) bool {
	switch r.Header.Get("Sec-Fetch-Site") {
	case "", "same-origin", "none":
	default:
		return false
	}
	o := r.Header.Get("Origin")
	if o == "" || o == "null" {
		return true
	}
	u, err := url.Parse(o)
	return err == nil && strings.EqualFold(u.Host, r.Host)
}

func (c *Console) loginPage(w http.ResponseWriter, r *http.Request) {
	if c.sess.session(r) != "" {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	c.render(w, http.StatusOK, "login", layout{Title: "Sign in", Page: loginView{}})
}

type loginView struct{ Error string }

func (c *Console) login(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxForm)
	if err := r.ParseForm(); err != nil || !sameOrigin(r) || !c.sess.checkToken(strings.TrimSpace(r.PostForm.Get("token"))) {
		c.log.Warn("console sign-in refused", "remote", r.RemoteAddr)
		c.render(w, http.StatusForbidden, "login", layout{Title: "Sign in", Page: loginView{
			Error: "That is not the admin token. Copy it from admin.token in the data directory.",
		}})
		return
	}
	c.sess.setCookie(w, r, c.sess.issue(), int(c.sess.ttl/time.Second))
	c.log.Info("console sign-in", "remote", r.RemoteAddr)
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

func (c *Console) logout(w http.ResponseWriter, r *http.Request) {
	sess, ok := c.action(w, r)
	if !ok {
		return
	}
	c.sess.revoke(sess)
	c.sess.setCookie(w, r, "", -1)
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}

func (c *Console) setNotice(name string, n notice) {
	n.At = c.now()
	c.noticeMu.Lock()
	c.notices[name] = n
	c.noticeMu.Unlock()
}

func (c *Console) notice(name string) *notice {
	c.noticeMu.Lock()
	defer c.noticeMu.Unlock()
	n, ok := c.notices[name]
	if !ok || c.now().Sub(n.At) > noticeTTL {
		return nil
	}
	return &n
}

// backendError answers for a failed Backend call: 404 for an unknown
// instance, 500 otherwise.
func (c *Console) backendError(w http.ResponseWriter, sess string, err error) {
	if errors.Is(err, ErrNotFound) {
		c.message(w, http.StatusNotFound, sess, messagePage{Heading: "Not found", Text: err.Error(), Link: "/", LinkText: "Back to the instances"})
		return
	}
	c.log.Error("console: agent call failed", "err", err)
	c.message(w, http.StatusInternalServerError, sess, messagePage{Heading: "Error", Text: err.Error(), Link: "/", LinkText: "Back to the instances"})
}

// instance reads the instance the path names (through InstanceReader when
// the Backend has it, else from the whole overview), answering 404 itself
// when it is not there.
func (c *Console) instance(w http.ResponseWriter, r *http.Request, sess string) (Overview, Instance, bool) {
	name := r.PathValue("name")
	var ov Overview
	var err error
	if ir, ok := c.be.(InstanceReader); ok {
		ov, err = ir.OverviewOf(r.Context(), name)
	} else {
		ov, err = c.be.Overview(r.Context())
	}
	if err != nil {
		c.backendError(w, sess, err)
		return ov, Instance{}, false
	}
	for _, in := range ov.Instances {
		if in.Name == name {
			return ov, in, true
		}
	}
	c.backendError(w, sess, fmt.Errorf("%w: %q", ErrNotFound, name))
	return ov, Instance{}, false
}

func (c *Console) back(w http.ResponseWriter, r *http.Request, name string) {
	http.Redirect(w, r, "/instances/"+url.PathEscape(name), http.StatusSeeOther)
}

// round runs a poll or resync after the page asked for it. It waits up to
// ActionWait; a longer round goes on under the console's context and its
// outcome replaces the "still running" notice when it ends.
// While one runs, another request for the same instance starts nothing (a
// page clicked twice must not queue round after round).
func (c *Console) round(name, what string, fn func(context.Context, string) (string, error)) {
	c.noticeMu.Lock()
	if c.rounds[name] {
		c.noticeMu.Unlock()
		c.setNotice(name, notice{Text: "A poll or resync started here is still running; " + strings.ToLower(what) + " not started again.", Running: true})
		return
	}
	c.rounds[name] = true
	c.noticeMu.Unlock()
	done := make(chan struct{})
	c.setNotice(name, notice{Text: what + " started; it is still running. This page shows its progress.", Running: true})
	go func() {
		defer close(done)
		res, err := fn(c.ctx, name)
		c.noticeMu.Lock()
		delete(c.rounds, name)
		c.noticeMu.Unlock()
		if err != nil {
			c.setNotice(name, notice{Text: what + " failed: " + err.Error(), Failed: true})
			return
		}
		c.setNotice(name, notice{Text: what + " done: " + res + "."})
	}()
	t := time.NewTimer(c.wait)
	defer t.Stop()
	select {
	case <-done:
	case <-t.C:
	}
}

func (c *Console) poll(w http.ResponseWriter, r *http.Request) {
	sess, ok := c.action(w, r)
	if !ok {
		return
	}
	if _, in, ok := c.instance(w, r, sess); ok {
		c.log.Info("console: poll now", "instance", in.Name)
		c.round(in.Name, "Poll", c.be.Poll)
		c.back(w, r, in.Name)
	}
}

func (c *Console) resync(w http.ResponseWriter, r *http.Request) {
	sess, ok := c.action(w, r)
	if !ok {
		return
	}
	if r.PostForm.Get("confirm") != "yes" {
		c.forbidden(w, sess, "A resync needs its confirmation page.")
		return
	}
	if _, in, ok := c.instance(w, r, sess); ok {
		c.log.Info("console: resync", "instance", in.Name)
		c.round(in.Name, "Resync", c.be.Resync)
		c.back(w, r, in.Name)
	}
}

// ids reads the dead-letter ids of a replay or purge form: the "id" fields,
// or all of them with scope=all. Neither is a 400.
func ids(r *http.Request) ([]string, bool) {
	if r.PostForm.Get("scope") == "all" {
		return nil, true
	}
	var out []string
	for _, id := range r.PostForm["id"] {
		if id = strings.TrimSpace(id); id != "" {
			out = append(out, id)
		}
	}
	return out, len(out) > 0
}

// deadAction replays or purges dead letters; a purge needs the field its
// confirmation page sets.
func (c *Console) deadAction(w http.ResponseWriter, r *http.Request, verb string, confirm bool, fn func(context.Context, string, []string) (int, error)) {
	sess, ok := c.action(w, r)
	if !ok {
		return
	}
	if confirm && r.PostForm.Get("confirm") != "yes" {
		c.forbidden(w, sess, "Purging needs its confirmation page.")
		return
	}
	sel, ok := ids(r)
	if !ok {
		c.message(w, http.StatusBadRequest, sess, messagePage{Heading: "Nothing selected", Text: "Choose a dead letter, or all of them.", Link: "/", LinkText: "Back to the instances"})
		return
	}
	name := r.PathValue("name")
	n, err := fn(r.Context(), name, sel)
	if errors.Is(err, ErrNotFound) {
		c.backendError(w, sess, err)
		return
	}
	switch {
	case err != nil:
		c.setNotice(name, notice{Text: verb + " failed: " + err.Error(), Failed: true})
	case n == 1:
		c.setNotice(name, notice{Text: verb + ": 1 dead letter."})
	default:
		c.setNotice(name, notice{Text: fmt.Sprintf("%s: %d dead letters.", verb, n)})
	}
	c.log.Info("console: dead letters", "action", strings.ToLower(verb), "instance", name, "messages", n)
	c.back(w, r, name)
}

func (c *Console) replay(w http.ResponseWriter, r *http.Request) {
	c.deadAction(w, r, "Replayed", false, c.be.Replay)
}

func (c *Console) purge(w http.ResponseWriter, r *http.Request) {
	c.deadAction(w, r, "Purged", true, c.be.Purge)
}
