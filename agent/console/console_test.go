package console

import (
	"context"
	"crypto/tls"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/onedrive-agent/onedrive-agent/agent/activity"
)

func TestLogin(t *testing.T) {
	r := newRig(t, 1)
	if w := r.do("GET", "/login", "", nil); w.Code != 200 || !strings.Contains(w.Body.String(), `name="token"`) {
		t.Fatalf("GET /login = %d, want the form", w.Code)
	}
	for _, tok := range []string{"", "wrong", testToken[:63], testToken + "0"} {
		w := r.do("POST", "/login", "", url.Values{"token": {tok}})
		if w.Code != http.StatusForbidden || len(w.Result().Cookies()) != 0 {
			t.Errorf("token %q: %d with %d cookies, want 403 and none", tok, w.Code, len(w.Result().Cookies()))
		}
	}
	w := r.do("POST", "/login", "", url.Values{"token": {testToken}})
	if w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/" {
		t.Fatalf("right token: %d to %q, want 303 to /", w.Code, w.Header().Get("Location"))
	}
	cs := w.Result().Cookies()
	if len(cs) != 1 {
		t.Fatalf("%d cookies, want 1", len(cs))
	}
	c := cs[0]
	if c.Name != CookieName || !c.HttpOnly || c.SameSite != http.SameSiteStrictMode || c.Path != "/" || c.Secure {
		t.Errorf("cookie %+v: want HttpOnly, SameSite=Strict, Path=/, not Secure over plain HTTP", c)
	}
	if strings.Contains(c.Value, testToken) || strings.Contains(c.Value, testToken[:16]) {
		t.Errorf("the cookie carries the admin token")
	}
	if w := r.do("GET", "/", c.Value, nil); w.Code != 200 {
		t.Errorf("GET / with the cookie = %d, want 200", w.Code)
	}
	if w := r.do("GET", "/login", c.Value, nil); w.Code != http.StatusSeeOther {
		t.Errorf("GET /login signed in = %d, want 303 to /", w.Code)
	}

	// Over TLS the cookie is Secure.
	req := httptest.NewRequest("POST", "https://127.0.0.1:8720/login", strings.NewReader("token="+testToken))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.TLS = &tls.ConnectionState{}
	tw := httptest.NewRecorder()
	r.mux.ServeHTTP(tw, req)
	if cs := tw.Result().Cookies(); len(cs) != 1 || !cs[0].Secure {
		t.Errorf("sign-in over TLS: cookies %+v, want one Secure", cs)
	}
}

func TestSessionValidity(t *testing.T) {
	r := newRig(t, 1)
	sess := r.signIn()
	tests := []struct {
		name   string
		cookie string
		before func()
		want   int
	}{
		{"no cookie", "", nil, http.StatusSeeOther},
		{"the token as cookie", testToken, nil, http.StatusSeeOther},
		{"forged mac", sess[:strings.LastIndexByte(sess, '.')+1] + "AAAA", nil, http.StatusSeeOther},
		{"garbage", "v1.x.y.z", nil, http.StatusSeeOther},
		{"valid", sess, nil, http.StatusOK},
		{"expired", sess, func() { r.mu.Lock(); r.now = r.now.Add(13 * time.Hour); r.mu.Unlock() }, http.StatusSeeOther},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.before != nil {
				tt.before()
			}
			w := r.do("GET", "/", tt.cookie, nil)
			if w.Code != tt.want {
				t.Errorf("GET / = %d, want %d", w.Code, tt.want)
			}
			if w.Code == http.StatusSeeOther && w.Header().Get("Location") != "/login" {
				t.Errorf("redirect to %q, want /login", w.Header().Get("Location"))
			}
		})
	}
}

// The admin token may be a file read again when it changes: a page reads
// it once to check the session and once for its CSRF value.
func TestPageReadsTokenOncePerUse(t *testing.T) {
	r := newRig(t, 1)
	sess := r.signIn()
	r.mu.Lock()
	r.tokenReads = 0
	r.mu.Unlock()
	if w := r.do("GET", "/", sess, nil); w.Code != http.StatusOK {
		t.Fatalf("GET / = %d", w.Code)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.tokenReads != 2 {
		t.Errorf("GET / read the token %d times, want 2", r.tokenReads)
	}
}

func TestSessionEndsWithNewToken(t *testing.T) {
	r := newRig(t, 1)
	sess := r.signIn()
	form := r.form(sess)
	r.setToken(strings.Repeat("f", 64))
	if w := r.do("GET", "/", sess, nil); w.Code != http.StatusSeeOther {
		t.Errorf("GET / after a new token = %d, want 303 to the sign-in", w.Code)
	}
	if w := r.do("POST", "/instances/inst-00/poll", sess, form); w.Code != http.StatusForbidden {
		t.Errorf("poll after a new token = %d, want 403", w.Code)
	}
	if calls := r.be.Calls(); len(calls) != 0 {
		t.Errorf("backend calls %v, want none", calls)
	}
}

func TestLogout(t *testing.T) {
	r := newRig(t, 1)
	sess := r.signIn()
	if w := r.do("POST", "/logout", sess, url.Values{}); w.Code != http.StatusForbidden {
		t.Errorf("sign-out without CSRF = %d, want 403", w.Code)
	}
	w := r.do("POST", "/logout", sess, r.form(sess))
	if w.Code != http.StatusSeeOther {
		t.Fatalf("sign-out = %d, want 303", w.Code)
	}
	if cs := w.Result().Cookies(); len(cs) != 1 || cs[0].MaxAge >= 0 {
		t.Errorf("sign-out cookies %+v, want the session deleted", cs)
	}
	if w := r.do("GET", "/", sess, nil); w.Code != http.StatusSeeOther {
		t.Errorf("the signed-out session still opens / (%d)", w.Code)
	}
}

// TestActions runs every action with and without what it needs: nothing is
// done without a session, a CSRF field, the right one, a same-origin
// request, or the confirmation of a resync or purge.
func TestActions(t *testing.T) {
	actions := []struct {
		name    string
		path    string
		fields  []string
		confirm bool
		want    string // backend call
	}{
		{"poll", "/instances/inst-00/poll", nil, false, "poll inst-00"},
		{"resync", "/instances/inst-00/resync", nil, true, "resync inst-00"},
		{"replay one", "/instances/inst-00/replay", []string{"id", "m-1"}, false, "replay inst-00 [m-1]"},
		{"replay two", "/instances/inst-00/replay", []string{"id", "m-1", "id", "m-2"}, false, "replay inst-00 [m-1 m-2]"},
		{"replay all", "/instances/inst-00/replay", []string{"scope", "all"}, false, "replay inst-00 []"},
		{"purge one", "/instances/inst-00/purge", []string{"id", "m-1"}, true, "purge inst-00 [m-1]"},
		{"purge all", "/instances/inst-00/purge", []string{"scope", "all"}, true, "purge inst-00 []"},
	}
	for _, a := range actions {
		t.Run(a.name, func(t *testing.T) {
			r := newRig(t, 2)
			sess := r.signIn()
			other := r.signIn()
			fields := slices.Clone(a.fields)
			if a.confirm {
				fields = append(fields, "confirm", "yes")
			}
			good := r.form(sess, fields...)
			noCSRF := r.form(sess, fields...)
			noCSRF.Del(csrfField)
			wrongCSRF := r.form(other, fields...) // another session's value
			emptyCSRF := r.form(sess, fields...)
			emptyCSRF.Set(csrfField, "")
			refusals := []struct {
				name   string
				cookie string
				form   url.Values
				origin string
				site   string
			}{
				{"no cookie", "", good, "", ""},
				{"bad cookie", "v1.1.2.3", good, "", ""},
				{"no CSRF", sess, noCSRF, "", ""},
				{"wrong CSRF", sess, wrongCSRF, "", ""},
				{"empty CSRF", sess, emptyCSRF, "", ""},
				{"foreign origin", sess, good, "http://evil.example", ""},
				{"cross-site fetch", sess, good, "", "cross-site"},
			}
			if a.confirm {
				refusals = append(refusals, struct {
					name   string
					cookie string
					form   url.Values
					origin string
					site   string
				}{"unconfirmed", sess, r.form(sess, a.fields...), "", ""})
			}
			for _, rf := range refusals {
				req := httptest.NewRequest("POST", "http://127.0.0.1:8720"+a.path, strings.NewReader(rf.form.Encode()))
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				if rf.cookie != "" {
					req.AddCookie(&http.Cookie{Name: CookieName, Value: rf.cookie})
				}
				if rf.origin != "" {
					req.Header.Set("Origin", rf.origin)
				}
				if rf.site != "" {
					req.Header.Set("Sec-Fetch-Site", rf.site)
				}
				w := httptest.NewRecorder()
				r.mux.ServeHTTP(w, req)
				if w.Code != http.StatusForbidden {
					t.Errorf("%s: %d, want 403", rf.name, w.Code)
				}
				if calls := r.be.Calls(); len(calls) != 0 {
					t.Fatalf("%s: the backend was called: %v", rf.name, calls)
				}
			}
			// A browser's own form under no-referrer: Origin null, same-origin fetch.
			req := httptest.NewRequest("POST", "http://127.0.0.1:8720"+a.path, strings.NewReader(good.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("Origin", "null")
			req.Header.Set("Sec-Fetch-Site", "same-origin")
			req.AddCookie(&http.Cookie{Name: CookieName, Value: sess})
			w := httptest.NewRecorder()
			r.mux.ServeHTTP(w, req)
			if w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/instances/inst-00" {
				t.Fatalf("the action answered %d to %q: %s", w.Code, w.Header().Get("Location"), w.Body)
			}
			if calls := r.be.Calls(); !slices.Equal(calls, []string{a.want}) {
				t.Errorf("backend calls %q, want %q", calls, a.want)
			}
			page := r.do("GET", "/instances/inst-00", sess, nil).Body.String()
			if !strings.Contains(page, `class="notice ok"`) {
				t.Errorf("the instance page shows no notice of the action")
			}
		})
	}
}

func TestActionErrors(t *testing.T) {
	r := newRig(t, 1)
	sess := r.signIn()
	if w := r.do("POST", "/instances/nope/poll", sess, r.form(sess)); w.Code != http.StatusNotFound {
		t.Errorf("poll of an unknown instance = %d, want 404", w.Code)
	}
	if w := r.do("POST", "/instances/nope/replay", sess, r.form(sess, "scope", "all")); w.Code != http.StatusNotFound {
		t.Errorf("replay of an unknown instance = %d, want 404", w.Code)
	}
	if w := r.do("POST", "/instances/inst-00/replay", sess, r.form(sess)); w.Code != http.StatusBadRequest {
		t.Errorf("replay without ids or scope = %d, want 400", w.Code)
	}
	if calls := r.be.Calls(); len(calls) != 0 {
		t.Errorf("backend calls %v, want none", calls)
	}
}

func TestSlowPollAnswersAtOnce(t *testing.T) {
	r := newRig(t, 1)
	r.be.pollBlock = make(chan struct{})
	sess := r.signIn()
	start := time.Now()
	if w := r.do("POST", "/instances/inst-00/poll", sess, r.form(sess)); w.Code != http.StatusSeeOther {
		t.Fatalf("poll = %d, want 303", w.Code)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("the page waited %v for a slow poll", d)
	}
	page := r.do("GET", "/instances/inst-00", sess, nil).Body.String()
	if !strings.Contains(page, "still running") {
		t.Errorf("the page does not say the poll is still running")
	}
	// A second click while the first poll runs starts nothing.
	if w := r.do("POST", "/instances/inst-00/poll", sess, r.form(sess)); w.Code != http.StatusSeeOther {
		t.Fatalf("second poll = %d, want 303", w.Code)
	}
	if calls := r.be.Calls(); len(calls) != 1 {
		t.Errorf("backend calls %v after two clicks on a running poll, want one poll", calls)
	}
	if page := r.do("GET", "/instances/inst-00", sess, nil).Body.String(); !strings.Contains(page, "not started again") {
		t.Errorf("the page does not say the second poll was not started")
	}
	close(r.be.pollBlock)
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(r.do("GET", "/instances/inst-00", sess, nil).Body.String(), "Poll done: 3 events") {
		if time.Now().After(deadline) {
			t.Fatal("the notice never told the poll's outcome")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestPagesNeedASession(t *testing.T) {
	r := newRig(t, 1)
	for _, p := range []string{"/", "/instances/inst-00", "/instances/inst-00/resync", "/instances/inst-00/purge"} {
		w := r.do("GET", p, "", nil)
		if w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/login" {
			t.Errorf("GET %s without a session = %d to %q, want 303 to /login", p, w.Code, w.Header().Get("Location"))
		}
	}
}

func TestOverview(t *testing.T) {
	r := newRig(t, 3)
	r.be.mu.Lock()
	r.be.ov.Instances[2].Push = "error"
	r.be.ov.Instances[2].PushError = "subscription refused: HTTP 403"
	r.be.ov.Instances[2].LastPollError = "graph: HTTP 403 Forbidden: the app has no Files.Read.All permission"
	r.be.mu.Unlock()
	r.be.setDead("inst-01", []DeadLetter{{ID: "m-1", Events: 1, Reason: "HTTP 422 Unprocessable Entity: no"}})
	r.rec.Record("inst-00", activity.Delivery{ID: "m-9", Outcome: activity.Delivered})
	r.rec.Record("inst-00", activity.Delivery{ID: "m-10", Outcome: activity.Retry})
	r.rec.SampleQueue("inst-00", 42, time.Time{})
	sess := r.signIn()
	w := r.do("GET", "/", sess, nil)
	if w.Code != 200 {
		t.Fatalf("GET / = %d", w.Code)
	}
	page := w.Body.String()
	for _, want := range []string{
		"inst-00", "inst-01", "inst-02",
		"HTTP 503 Service Unavailable: the receiver is down for maintenance until 10:00, please retry later", // in full
		"graph: HTTP 403 Forbidden: the app has no Files.Read.All permission",
		`<th scope="col">Push</th>`, "✕ error", `<div class="small err">subscription refused: HTTP 403</div>`,
		`href="/instances/inst-01#dead"`,
		"1 delivered, <strong>1 failed</strong>",
		"https://hooks.example/in?…",
		"in 3m 0s", "2m 0s ago", "7m 0s ago",
		"Queued events over the last hour: 42 at the last sample",
		`<details class="figures">`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("the overview lacks %q", want)
		}
	}
	for _, secret := range []string{testToken, "s3cr3t-query"} {
		if strings.Contains(page, secret) {
			t.Errorf("the overview shows a secret %q", secret)
		}
	}
}

func TestInstancePage(t *testing.T) {
	r := newRig(t, 2)
	r.be.setDead("inst-01", []DeadLetter{{ID: "m-7", Events: 3, Attempts: 2, Died: r.now.Add(-time.Minute),
		Reason: `HTTP 422 Unprocessable Entity: {"error":"field amount must be a number"}`}})
	r.rec.Record("inst-01", activity.Delivery{ID: "m-6", Events: 2, Outcome: activity.Delivered, Status: 204, Took: 35 * time.Millisecond})
	r.rec.Record("inst-01", activity.Delivery{ID: "m-7", Events: 3, Outcome: activity.Dead, Status: 422,
		Error: `HTTP 422 Unprocessable Entity: {"error":"field amount must be a number"}`})
	sess := r.signIn()
	w := r.do("GET", "/instances/inst-01", sess, nil)
	if w.Code != 200 {
		t.Fatalf("GET /instances/inst-01 = %d", w.Code)
	}
	page := w.Body.String()
	for _, want := range []string{
		`<td data-label="Receiver's reason" class="err">HTTP 422 Unprocessable Entity</td>`,
		`{&#34;error&#34;:&#34;field amount must be a number&#34;}`,
		`<input type="hidden" name="id" value="m-7">`,
		`href="/instances/inst-01/purge?id=m-7"`,
		`<td data-label="Attempts" class="num">3</td>`,
		"✓ delivered (204)", "35 ms", "✕ refused: dead letter (422)",
		`action="/instances/inst-01/poll"`, `href="/instances/inst-01/resync"`,
		`name="scope" value="all"`,
		`name="csrf" value="` + r.con.sess.csrf(sess) + `"`,
		`fill="url(#deliveries-hatch)"`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("the instance page lacks %q", want)
		}
	}
	if w := r.do("GET", "/instances/nope", sess, nil); w.Code != http.StatusNotFound {
		t.Errorf("GET /instances/nope = %d, want 404", w.Code)
	}
}

func TestConfirmPages(t *testing.T) {
	r := newRig(t, 1)
	r.be.setDead("inst-00", []DeadLetter{{ID: "m-1"}, {ID: "m-2"}})
	sess := r.signIn()
	tests := []struct {
		path string
		want []string
	}{
		{"/instances/inst-00/resync", []string{"Resync inst-00?", "forgets the delta cursor", "drive b!drive00", `action="/instances/inst-00/resync"`, `name="confirm" value="yes"`}},
		{"/instances/inst-00/purge", []string{"Purge every dead letter of inst-00?", "all 2 dead letters", `name="scope" value="all"`, `name="confirm" value="yes"`}},
		{"/instances/inst-00/purge?id=m-2", []string{"Purge 1 dead letter(s)", "m-2", `name="id" value="m-2"`, `name="confirm" value="yes"`}},
	}
	for _, tt := range tests {
		w := r.do("GET", tt.path, sess, nil)
		if w.Code != 200 {
			t.Errorf("GET %s = %d", tt.path, w.Code)
			continue
		}
		for _, want := range tt.want {
			if !strings.Contains(w.Body.String(), want) {
				t.Errorf("GET %s lacks %q", tt.path, want)
			}
		}
	}
	if calls := r.be.Calls(); len(calls) != 0 {
		t.Errorf("showing a confirmation did %v", calls)
	}
}

func TestSecurityHeaders(t *testing.T) {
	r := newRig(t, 1)
	sess := r.signIn()
	for _, p := range []string{"/login", "/", "/instances/inst-00", "/assets/console.css", "/assets/console.js"} {
		w := r.do("GET", p, sess, nil)
		if p == "/login" {
			w = r.do("GET", p, "", nil)
		}
		h := w.Header()
		csp := h.Get("Content-Security-Policy")
		for _, want := range []string{"default-src 'self'", "script-src 'self'", "frame-ancestors 'none'"} {
			if !strings.Contains(csp, want) {
				t.Errorf("%s: CSP %q lacks %q", p, csp, want)
			}
		}
		if strings.Contains(csp, "unsafe-inline") || strings.Contains(csp, "unsafe-eval") {
			t.Errorf("%s: CSP allows inline code: %q", p, csp)
		}
		if h.Get("X-Content-Type-Options") != "nosniff" || h.Get("Referrer-Policy") != "no-referrer" {
			t.Errorf("%s: headers %v", p, h)
		}
	}
}

// TestPagesLoadNothingElsewhere: no page refers to another origin, has
// inline script or style, or an inline event handler.
func TestPagesLoadNothingElsewhere(t *testing.T) {
	r := newRig(t, 2)
	r.be.setDead("inst-00", []DeadLetter{{ID: "m-1"}})
	r.rec.Record("inst-00", activity.Delivery{ID: "m", Outcome: activity.Dead})
	sess := r.signIn()
	for _, p := range []string{"/", "/instances/inst-00", "/instances/inst-00/resync", "/instances/inst-00/purge"} {
		page := r.do("GET", p, sess, nil).Body.String()
		for _, bad := range []string{"http://", "https://", "//cdn", "<style", "style=", "<script>", " onclick=", " onload=", "javascript:"} {
			if i := strings.Index(page, bad); i >= 0 && !allowedURL(page, i) {
				t.Errorf("%s contains %q near %q", p, bad, page[max(0, i-40):min(len(page), i+60)])
			}
		}
	}
	login := r.do("GET", "/login", "", nil).Body.String()
	if strings.Contains(login, "<script>") || strings.Contains(login, "style=") {
		t.Errorf("the sign-in page has inline code")
	}
}

// allowedURL: the redacted callback URL is text, not something loaded.
func allowedURL(page string, i int) bool {
	return strings.HasPrefix(page[i:], "https://hooks.example/in?…")
}

func TestAssets(t *testing.T) {
	r := newRig(t, 0)
	w := r.do("GET", "/assets/console.js", "", nil)
	if w.Code != 200 || !strings.HasPrefix(w.Header().Get("Content-Type"), "text/javascript") || w.Header().Get("ETag") == "" {
		t.Fatalf("console.js: %d %v", w.Code, w.Header())
	}
	req := httptest.NewRequest("GET", "/assets/console.js", nil)
	req.Header.Set("If-None-Match", w.Header().Get("ETag"))
	w2 := httptest.NewRecorder()
	r.mux.ServeHTTP(w2, req)
	if w2.Code != http.StatusNotModified {
		t.Errorf("a revalidation = %d, want 304", w2.Code)
	}
	if w := r.do("GET", "/assets/nope.js", "", nil); w.Code != http.StatusNotFound {
		t.Errorf("an unknown asset = %d, want 404", w.Code)
	}
}

func TestRedactURL(t *testing.T) {
	tests := []struct{ in, want string }{
		{"https://hooks.example/x", "https://hooks.example/x"},
		{"https://hooks.example/x?sig=abc&token=def", "https://hooks.example/x?…"},
		{"https://user:pw@hooks.example:8443/x#frag", "https://hooks.example:8443/x"},
		{"http://10.0.0.1/?", "http://10.0.0.1/?…"},
		{"not a url", "(not shown)"},
	}
	for _, tt := range tests {
		if got := RedactURL(tt.in); got != tt.want {
			t.Errorf("RedactURL(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestTenantDrives(t *testing.T) {
	r := newRig(t, 2)
	r.be.setDrives("inst-01", 120)
	sess := r.signIn()
	if ov := r.do("GET", "/", sess, nil).Body.String(); !strings.Contains(ov, "120 drives, <strong>✕ 12 failing</strong>") {
		t.Errorf("the overview does not count the tenant's drives")
	}
	if p := r.do("GET", "/instances/inst-00", sess, nil).Body.String(); strings.Contains(p, `id="drives"`) {
		t.Errorf("a one-drive instance shows a drives list")
	}
	tests := []struct {
		query      string
		rows       int
		want       []string
		prev, next bool
	}{
		{"", 50, []string{"120 drives; 1 to 50 shown", "b!drive-000", "b!drive-049", "Page 1 of 3"}, false, true},
		{"?page=2", 50, []string{"51 to 100 shown", "b!drive-050", "Page 2 of 3"}, true, true},
		{"?page=3", 20, []string{"101 to 120 shown", "b!drive-119", "Page 3 of 3"}, true, false},
		{"?page=99", 20, []string{"Page 3 of 3"}, true, false},
		{"?q=ALICE", 40, []string{"40 of 120 drives match “ALICE”", "alice000@contoso.example", `value="ALICE"`}, false, false},
		{"?q=error", 12, []string{"12 of 120 drives match", "HTTP 403 Forbidden: access denied"}, false, false},
		{"?q=%3Cscript%3E", 0, []string{"0 of 120 drives match “&lt;script&gt;”"}, false, false},
	}
	for _, tt := range tests {
		w := r.do("GET", "/instances/inst-01"+tt.query, sess, nil)
		if w.Code != 200 {
			t.Fatalf("GET %s = %d", tt.query, w.Code)
		}
		page := w.Body.String()
		if n := strings.Count(page, `<th scope="row" data-label="Drive">`); n != tt.rows {
			t.Errorf("%q: %d drive rows, want %d", tt.query, n, tt.rows)
		}
		for _, want := range tt.want {
			if !strings.Contains(page, want) {
				t.Errorf("%q: the page lacks %q", tt.query, want)
			}
		}
		if got := strings.Contains(page, "‹ Previous"); got != tt.prev {
			t.Errorf("%q: a previous link: %v, want %v", tt.query, got, tt.prev)
		}
		if got := strings.Contains(page, "Next ›"); got != tt.next {
			t.Errorf("%q: a next link: %v, want %v", tt.query, got, tt.next)
		}
	}
	if p := r.do("GET", "/instances/inst-01?q=alice&page=1", sess, nil).Body.String(); strings.Contains(p, "Next ›") ||
		!strings.Contains(r.do("GET", "/instances/inst-01?q=user", sess, nil).Body.String(), `href="/instances/inst-01?page=2&amp;q=user#drives"`) {
		t.Errorf("the page links do not keep the search")
	}
}

// oneReader is a fakeBackend that also reads one instance alone, counting
// the whole overviews it builds.
type oneReader struct {
	*fakeBackend
	overviews, ones int
}

func (o *oneReader) Overview(ctx context.Context) (Overview, error) {
	o.overviews++
	return o.fakeBackend.Overview(ctx)
}

func (o *oneReader) OverviewOf(ctx context.Context, name string) (Overview, error) {
	o.ones++
	ov, err := o.fakeBackend.Overview(ctx)
	if err != nil {
		return ov, err
	}
	ov.Instances = slices.DeleteFunc(ov.Instances, func(in Instance) bool { return in.Name != name })
	if len(ov.Instances) == 0 {
		return Overview{}, fmt.Errorf("%w: %q", ErrNotFound, name)
	}
	return ov, nil
}

// The pages and actions of one instance read that instance alone when the
// backend can; only the overview reads them all.
func TestInstancePagesReadOneInstance(t *testing.T) {
	r := newRig(t, 5)
	be := &oneReader{fakeBackend: r.be}
	con, err := New(Options{Backend: be, Activity: r.rec, Token: r.token, Now: r.clock, ActionWait: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	r.con, r.mux = con, http.NewServeMux()
	con.Register(r.mux)
	sess := r.signIn()
	for _, tc := range []struct {
		method, target string
		form           url.Values
		code           int
	}{
		{"GET", "/instances/inst-03", nil, http.StatusOK},
		{"GET", "/instances/inst-03/resync", nil, http.StatusOK},
		{"GET", "/instances/inst-03/purge", nil, http.StatusOK},
		{"POST", "/instances/inst-03/poll", r.form(sess), http.StatusSeeOther},
		{"POST", "/instances/inst-03/resync", r.form(sess, "confirm", "yes"), http.StatusSeeOther},
		{"GET", "/instances/nope", nil, http.StatusNotFound},
	} {
		be.overviews, be.ones = 0, 0
		w := r.do(tc.method, tc.target, sess, tc.form)
		if w.Code != tc.code || be.overviews != 0 || be.ones != 1 {
			t.Errorf("%s %s = %d with %d whole overviews and %d single reads, want %d, 0 and 1",
				tc.method, tc.target, w.Code, be.overviews, be.ones, tc.code)
		}
	}
	if w := r.do("GET", "/instances/inst-03", sess, nil); !strings.Contains(w.Body.String(), "inst-03") {
		t.Error("the instance page does not show the instance")
	}
	be.overviews = 0
	if w := r.do("GET", "/", sess, nil); w.Code != http.StatusOK || be.overviews != 1 {
		t.Errorf("GET / = %d with %d overviews, want 200 and 1", w.Code, be.overviews)
	}
}
