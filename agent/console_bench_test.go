package agent

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/onedrive-agent/onedrive-agent/agent/activity"
	"github.com/onedrive-agent/onedrive-agent/agent/console"
	"github.com/onedrive-agent/onedrive-agent/store"
)

// Limits of the console's overview page with 50 instances.
const (
	consolePageLimitKB = 100 // HTML + CSS + JS
	consoleServerLimit = 20 * time.Millisecond
)

// consoleBench is a configured agent (not running) with n instances whose
// state carries long errors, and an hour of activity each, behind the
// admin handler; cookie is a signed-in session.
func consoleBench(tb testing.TB, n int) (h http.Handler, cookie string) {
	tb.Helper()
	dir := tb.TempDir()
	var b strings.Builder
	b.WriteString(agentTOML(dir))
	for i := range n {
		fmt.Fprintf(&b, "[[instance]]\nname = \"instance-%02d\"\n[instance.auth]\nclient_id = \"x\"\n"+
			"[instance.callback]\nurl = \"https://hooks.example.internal/onedrive/%02d?code=secret\"\n", i, i)
	}
	cfg, db := parseAndOpen(tb, dir, b.String())
	a, err := New(Options{Config: cfg, DB: db, Version: "1.2.3"})
	if err != nil {
		tb.Fatal(err)
	}
	now := time.Now()
	long := "HTTP 503 Service Unavailable: " + strings.Repeat("the receiver is down for maintenance; ", 5)
	for _, ic := range cfg.Instances {
		err := db.UpdateState(ic.Name, func(s *store.State) error {
			s.DriveID = "b!" + strings.Repeat("x", 60)
			s.LastPoll, s.LastSuccess = now.Add(-time.Minute), now.Add(-time.Minute)
			s.LastPollError = "graph: HTTP 429 Too Many Requests: throttled, retry after 30s"
			s.LastDeliveryError = long
			return nil
		})
		if err != nil {
			tb.Fatal(err)
		}
		for m := range activity.Minutes {
			at := now.Add(-time.Duration(m) * time.Minute)
			a.activity.Record(ic.Name, activity.Delivery{At: at, ID: "m", Outcome: activity.Delivered})
			a.activity.Record(ic.Name, activity.Delivery{At: at, ID: "m", Outcome: activity.Retry, Error: long})
		}
		a.activity.SampleQueue(ic.Name, 1234, now.Add(-time.Hour))
	}
	const token = "bench-token"
	h = NewAdminHandler(AdminOptions{Controller: a, Token: func() string { return token }, Activity: a.activity, Targets: a.callbackURL, Listen: []string{"127.0.0.1:8720"}})
	req := httptest.NewRequest("POST", "http://127.0.0.1:8720/login", strings.NewReader(url.Values{"token": {token}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	cs := w.Result().Cookies()
	if w.Code != http.StatusSeeOther || len(cs) != 1 {
		tb.Fatalf("sign-in: %d, %d cookies", w.Code, len(cs))
	}
	return h, cs[0].Value
}

func get(tb testing.TB, h http.Handler, path, cookie string) *httptest.ResponseRecorder {
	req := httptest.NewRequest("GET", "http://127.0.0.1:8720"+path, nil)
	req.AddCookie(&http.Cookie{Name: console.CookieName, Value: cookie})
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	if w.Code != 200 {
		tb.Fatalf("GET %s = %d", path, w.Code)
	}
	return w
}

// pageWeight is the overview's HTML plus the stylesheet and script it loads.
func pageWeight(tb testing.TB, h http.Handler, cookie string) int {
	n := get(tb, h, "/", cookie).Body.Len()
	for _, a := range []string{"/assets/console.css", "/assets/console.js"} {
		n += get(tb, h, a, cookie).Body.Len()
	}
	return n
}

// TestConsole_PageWeight holds the overview with 50 busy instances to its
// weight limit, and checks it shows no callback query string.
func TestConsole_PageWeight(t *testing.T) {
	h, cookie := consoleBench(t, 50)
	page := get(t, h, "/", cookie).Body.String()
	if strings.Count(page, `<th scope="row" data-label="Instance">`) != 50 {
		t.Fatalf("the overview does not list 50 instances")
	}
	if strings.Contains(page, "code=secret") {
		t.Error("the overview shows a callback query string")
	}
	if kb := float64(pageWeight(t, h, cookie)) / 1024; kb > consolePageLimitKB {
		t.Errorf("the overview with 50 instances weighs %.1f KB, over the limit of %d KB", kb, consolePageLimitKB)
	}
}

// BenchmarkConsole_Overview measures the overview page with 50 instances:
// its server time per request and its weight, each beside its limit.
//
//	go test ./agent/ -run '^$' -bench Console_Overview -benchtime 200x
func BenchmarkConsole_Overview(b *testing.B) {
	h, cookie := consoleBench(b, 50)
	weight := pageWeight(b, h, cookie)
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for b.Loop() {
		get(b, h, "/", cookie)
	}
	per := time.Since(start) / time.Duration(max(b.N, 1))
	b.StopTimer()
	b.ReportMetric(float64(weight)/1024, "page-KB")
	b.ReportMetric(consolePageLimitKB, "page-KB-limit")
	b.ReportMetric(float64(per)/float64(time.Millisecond), "server-ms")
	b.ReportMetric(float64(consoleServerLimit)/float64(time.Millisecond), "server-ms-limit")
	if per > consoleServerLimit {
		b.Logf("server time %v is over the limit of %v", per, consoleServerLimit)
	}
}
