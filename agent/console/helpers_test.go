package console

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/onedrive-agent/onedrive-agent/agent/activity"
)

const testToken = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

// rig is a console over a fake backend, with a settable clock and token.
type rig struct {
	t   *testing.T
	be  *fakeBackend
	rec *activity.Recorder
	con *Console
	mux *http.ServeMux
	mu  sync.Mutex
	now time.Time
	tok string
	// tokenReads counts the calls of the Token function.
	tokenReads int
}

func newRig(t *testing.T, instances int) *rig {
	t.Helper()
	r := &rig{t: t, now: time.Date(2026, 3, 2, 10, 30, 15, 0, time.UTC), tok: testToken}
	r.be = newFakeBackend(instances, r.now)
	r.rec = activity.New(activity.Options{Now: r.clock})
	con, err := New(Options{Backend: r.be, Activity: r.rec, Token: r.token, Now: r.clock, ActionWait: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	r.con = con
	r.mux = http.NewServeMux()
	con.Register(r.mux)
	return r
}

func (r *rig) clock() time.Time { r.mu.Lock(); defer r.mu.Unlock(); return r.now }
func (r *rig) token() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.tokenReads++
	return r.tok
}
func (r *rig) setToken(s string) {
	r.mu.Lock()
	r.tok = s
	r.mu.Unlock()
}

// do serves one request; cookie "" sends none.
func (r *rig) do(method, target, cookie string, form url.Values) *httptest.ResponseRecorder {
	r.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req := httptest.NewRequest(method, "http://127.0.0.1:8720"+target, body)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if cookie != "" {
		req.AddCookie(&http.Cookie{Name: CookieName, Value: cookie})
	}
	w := httptest.NewRecorder()
	r.mux.ServeHTTP(w, req)
	return w
}

// signIn posts the token and returns the session cookie's value.
func (r *rig) signIn() string {
	r.t.Helper()
	w := r.do("POST", "/login", "", url.Values{"token": {r.token()}})
	if w.Code != http.StatusSeeOther {
		r.t.Fatalf("sign-in answered %d: %s", w.Code, w.Body)
	}
	for _, c := range w.Result().Cookies() {
		if c.Name == CookieName {
			return c.Value
		}
	}
	r.t.Fatal("sign-in set no session cookie")
	return ""
}

// form returns a form with the session's CSRF value and the given fields.
func (r *rig) form(sess string, kv ...string) url.Values {
	v := url.Values{csrfField: {r.con.sess.csrf(sess)}}
	for i := 0; i+1 < len(kv); i += 2 {
		v.Add(kv[i], kv[i+1])
	}
	return v
}
