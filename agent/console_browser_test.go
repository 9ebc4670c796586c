package agent

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"github.com/onedrive-agent/onedrive-agent/agent/activity"
	"github.com/onedrive-agent/onedrive-agent/connector/graphtest"
	"github.com/onedrive-agent/onedrive-agent/store"
)

// chromiumPath is where Debian's chromium package puts the browser.
const chromiumPath = "/usr/bin/chromium"

// consoleAgent is a running agent with two instances, finance and hr, each
// delivering to its own receiver, on a fake Graph; base is its admin URL.
type consoleAgent struct {
	graph       *graphtest.Server
	db          *store.DB
	agent       *Agent
	finance, hr *receiver
	token, base string
}

func startConsoleAgent(t *testing.T) *consoleAgent {
	t.Helper()
	g := graphtest.NewServer(graphtest.Options{})
	t.Cleanup(g.Close)
	g.AddClient(testClientID, testSecret, false)
	finance, hr := newReceiver(t), newReceiver(t)
	finance.answer(http.StatusNoContent, "")
	hr.answer(http.StatusNoContent, "")
	dir := t.TempDir()
	toml := fmt.Sprintf("data_dir = %q\n[admin]\nlisten = \"\"\n", dir) +
		graphInstanceTOML(g, "finance", "", finance.srv.URL+"/hooks/finance?code=query-secret") +
		graphInstanceTOML(g, "hr", "", hr.srv.URL+"/hooks/hr")
	cfg, db := parseAndOpen(t, dir, toml)
	ln := listenLocal(t)
	a, err := New(Options{Config: cfg, DB: db, Version: "1.2.3", AdminListener: ln})
	if err != nil {
		t.Fatal(err)
	}
	runAgent(t, a)
	for _, name := range []string{"finance", "hr"} {
		waitFor(t, 10*time.Second, name+"'s baseline", func() bool {
			st, err := db.State(name)
			return err == nil && st.Baselined
		})
	}
	token, err := ReadAdminToken(dir)
	if err != nil {
		t.Fatal(err)
	}
	return &consoleAgent{graph: g, db: db, agent: a, finance: finance, hr: hr, token: token, base: "http://" + ln.Addr().String()}
}

// TestConsole_Browser drives the console in headless Chromium against a
// running agent (fake Graph, real store, two receivers): sign in, see both
// instances, have a receiver refuse a message, see the dead letter with the
// receiver's reason, replay it once the receiver accepts, see it delivered.
// It saves a screenshot of each step in $ONEDRIVE_AGENT_SCREENSHOTS (else a
// temporary directory).
func TestConsole_Browser(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test: skipped in -short mode")
	}
	if _, err := os.Stat(chromiumPath); err != nil {
		t.Skipf("browser test: no Chromium at %s (install it: apt-get install chromium): %v", chromiumPath, err)
	}
	shots := os.Getenv("ONEDRIVE_AGENT_SCREENSHOTS")
	if shots == "" {
		shots = t.TempDir()
	} else if err := os.MkdirAll(shots, 0o700); err != nil {
		t.Fatal(err)
	}

	ca := startConsoleAgent(t)
	g, db, hr, token, base := ca.graph, ca.db, ca.hr, ca.token, ca.base

	allocOpts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromiumPath),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
	}
	actx, acancel := chromedp.NewExecAllocator(context.Background(), allocOpts...)
	defer acancel()
	bctx, bcancel := chromedp.NewContext(actx)
	defer bcancel()
	bctx, tcancel := context.WithTimeout(bctx, 90*time.Second)
	defer tcancel()
	// The first call starts the browser; it lives as long as bctx (a step's
	// own deadline below must not end it).
	if err := chromedp.Do(bctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}

	step := 0
	shot := func(name string) chromedp.Action[chromedp.Void] {
		return chromedp.Func(func(ctx context.Context, tgt *chromedp.Target) error {
			step++
			png, err := chromedp.FullScreenshot(100)(ctx, tgt)
			if err != nil {
				return err
			}
			path := filepath.Join(shots, fmt.Sprintf("%02d-%s.png", step, name))
			t.Logf("screenshot %s", path)
			return os.WriteFile(path, png, 0o600)
		})
	}
	run := func(what string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		sctx, scancel := context.WithTimeout(bctx, 20*time.Second)
		defer scancel()
		if err := chromedp.Do(sctx, actions...); err != nil {
			_ = chromedp.Do(bctx, shot("failed"))
			t.Fatalf("%s: %v (the page at that moment: the last screenshot)", what, err)
		}
	}
	text := func(sel string) string {
		t.Helper()
		s, err := chromedp.Run(bctx, chromedp.Text(chromedp.CSS(sel)))
		if err != nil {
			t.Fatalf("read %s: %v", sel, err)
		}
		return s
	}

	// 1. The page asks for the token; a sign-in shows both instances.
	run("open the console",
		chromedp.EmulateViewport(1280, 900),
		chromedp.Navigate(base+"/"),
		chromedp.WaitVisible(chromedp.ID(`#token`)),
		shot("sign-in"),
		chromedp.SendKeys(chromedp.ID(`#token`), token),
		chromedp.Click(chromedp.CSS(`form.login button`)),
		chromedp.WaitVisible(chromedp.CSS(`table.instances`)),
		shot("instances"),
		// Keep the pages still while the test works: the refresh button
		// turns the auto-refresh off for this browser.
		chromedp.Click(chromedp.ID(`refresh`)),
	)
	if label := text(`#refresh`); label != "Auto-refresh: off" {
		t.Errorf("the refresh button reads %q after a click, want it off", label)
	}
	// The keyboard reaches the page: the first Tab lands on the skip link,
	// and Enter on it moves on to the content.
	run("tab to the skip link",
		chromedp.Navigate(base+"/"),
		chromedp.WaitVisible(chromedp.CSS(`table.instances`)),
		chromedp.KeyEvent("\t"),
	)
	if f, _ := chromedp.Run(bctx, chromedp.Evaluate[string](`document.activeElement.className`)); f != "skip" {
		t.Errorf("the first Tab focuses %q, want the skip link", f)
	}
	run("follow the skip link", chromedp.KeyEvent("\r"))
	if f, _ := chromedp.Run(bctx, chromedp.Evaluate[string](`document.activeElement.id`)); f != "main" {
		t.Errorf("the skip link leads to %q, want main", f)
	}
	rows := text(`table.instances tbody`)
	for _, want := range []string{"finance", "hr", "/hooks/finance?…"} {
		if !strings.Contains(rows, want) {
			t.Errorf("the instances table lacks %q:\n%s", want, rows)
		}
	}
	html, err := chromedp.Run(bctx, chromedp.OuterHTML(chromedp.CSS("html")))
	if err != nil {
		t.Fatal(err)
	}
	for _, secret := range []string{token, "query-secret", testSecret} {
		if strings.Contains(html, secret) {
			t.Errorf("the page shows a secret (%q)", secret)
		}
	}

	// 2. hr's receiver refuses: a new file, polled from the page, ends in
	// the dead letters with the receiver's reason.
	hr.answer(http.StatusUnprocessableEntity, `{"error":"field amount must be a number"}`)
	g.CreateFile(g.Root(), "invoice-0042.pdf", []byte("pdf"))
	run("poll hr from its page",
		chromedp.Click(chromedp.Search(`//a[normalize-space()="hr"]`)),
		chromedp.WaitVisible(chromedp.Search(`//h1[contains(., "hr")]`)),
		chromedp.Click(chromedp.CSS(`form[action="/instances/hr/poll"] button`)),
		chromedp.WaitVisible(chromedp.Search(`//p[contains(@class, "notice") and contains(., "Poll")]`)),
	)
	var deadID string
	waitFor(t, 10*time.Second, "hr's dead letter", func() bool {
		dls, err := db.Dead("hr")
		if err == nil && len(dls) == 1 {
			deadID = dls[0].ID
		}
		return deadID != ""
	})
	run("see the dead letter",
		chromedp.Navigate(base+"/instances/hr"),
		chromedp.WaitVisible(chromedp.CSS(`table.dead`)),
		chromedp.ScrollIntoView(chromedp.ID(`#dead`)),
		shot("dead-letter"),
	)
	dead := text(`table.dead`)
	for _, want := range []string{deadID, "HTTP 422", "field amount must be a number"} {
		if !strings.Contains(dead, want) {
			t.Errorf("the dead letters lack %q:\n%s", want, dead)
		}
	}

	// 3. The receiver accepts again; replaying the dead letter delivers it.
	hr.answer(http.StatusNoContent, "")
	run("replay it",
		chromedp.Click(chromedp.CSS(`table.dead form[action="/instances/hr/replay"] button`)),
		chromedp.WaitVisible(chromedp.Search(`//p[contains(@class, "notice") and contains(., "Replayed")]`)),
	)
	waitFor(t, 10*time.Second, "the replayed message at the receiver", func() bool { return hr.has(deadID) })
	run("see it delivered",
		chromedp.Navigate(base+"/instances/hr"),
		chromedp.WaitVisible(chromedp.CSS(`table.recent`)),
		shot("delivered"),
	)
	if dl := text(`#dead`); !strings.Contains(dl, "None") {
		t.Errorf("the dead letters after the replay:\n%s", dl)
	}
	recent := text(`table.recent tbody tr:first-child`)
	if !strings.Contains(recent, deadID) || !strings.Contains(recent, "delivered") {
		t.Errorf("the newest recent message is %q, want %s delivered", recent, deadID)
	}

	// 4. The overview on a phone.
	run("phone",
		chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile, chromedp.EmulateTouch),
		chromedp.Navigate(base+"/"),
		chromedp.WaitVisible(chromedp.CSS(`table.instances`)),
		shot("phone"),
	)
	wide, err := chromedp.Run(bctx, chromedp.Evaluate[bool](`document.documentElement.scrollWidth > document.documentElement.clientWidth`))
	if err != nil || wide {
		t.Errorf("on a phone the page is wider than the screen (%v)", err)
	}

	// 5. A dark colour scheme.
	if _, err := chromedp.Call(bctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
		Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: "dark"}},
	}); err != nil {
		t.Fatal(err)
	}
	run("dark",
		chromedp.EmulateViewport(1280, 900),
		chromedp.Navigate(base+"/instances/hr"),
		chromedp.WaitVisible(chromedp.CSS(`table.recent`)),
		shot("dark"),
	)
}

// TestConsole_HTTP walks the browser test's path with a plain HTTP client,
// so that it runs where no Chromium is installed: sign in, a refused
// message shows as a dead letter with the receiver's answer and in the
// recent messages, a replay delivers it.
func TestConsole_HTTP(t *testing.T) {
	ca := startConsoleAgent(t)
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	client := &http.Client{Jar: jar}
	page := func(path string) string {
		t.Helper()
		resp, err := client.Get(ca.base + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 {
			t.Fatalf("GET %s = %d: %s", path, resp.StatusCode, b)
		}
		return string(b)
	}
	post := func(path string, form url.Values) {
		t.Helper()
		resp, err := client.PostForm(ca.base+path, form)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 { // after the redirect to the instance page
			t.Fatalf("POST %s = %d", path, resp.StatusCode)
		}
	}
	// The agent samples every queue from the start, for the charts.
	sampled := false
	for _, m := range ca.agent.Activity().LastHour("finance").Minutes {
		sampled = sampled || m.Sampled
	}
	if !sampled {
		t.Errorf("finance's queue was not sampled at start")
	}
	post("/login", url.Values{"token": {ca.token}})
	if ov := page("/"); !strings.Contains(ov, ">finance</a>") || !strings.Contains(ov, ">hr</a>") {
		t.Fatalf("the overview does not list both instances")
	}
	csrf := func(p string) string {
		_, after, _ := strings.Cut(p, `name="csrf" value="`)
		v, _, _ := strings.Cut(after, `"`)
		return v
	}

	ca.hr.answer(http.StatusUnprocessableEntity, `{"error":"field amount must be a number"}`)
	ca.graph.CreateFile(ca.graph.Root(), "invoice-0043.pdf", []byte("pdf"))
	post("/instances/hr/poll", url.Values{"csrf": {csrf(page("/instances/hr"))}})
	var id string
	waitFor(t, 10*time.Second, "hr's dead letter", func() bool {
		dls, err := ca.db.Dead("hr")
		if err == nil && len(dls) == 1 {
			id = dls[0].ID
		}
		return id != ""
	})
	p := page("/instances/hr")
	for _, want := range []string{`<input type="hidden" name="id" value="` + id + `">`, "HTTP 422 Unprocessable Entity",
		"field amount must be a number", "✕ refused: dead letter (422)"} {
		if !strings.Contains(p, want) && !strings.Contains(p, strings.ReplaceAll(want, `"`, "&#34;")) {
			t.Errorf("hr's page lacks %q", want)
		}
	}

	ca.hr.answer(http.StatusNoContent, "")
	post("/instances/hr/replay", url.Values{"csrf": {csrf(p)}, "id": {id}})
	waitFor(t, 10*time.Second, "the replayed message at the receiver", func() bool { return ca.hr.has(id) })
	waitFor(t, 5*time.Second, "the delivery in the recent messages", func() bool {
		recent := ca.agent.Activity().Recent("hr")
		return len(recent) > 0 && recent[0].ID == id && recent[0].Outcome == activity.Delivered
	})
	if p := page("/instances/hr"); !strings.Contains(p, "None: every refused message") || !strings.Contains(p, "✓ delivered (204)") {
		t.Errorf("after the replay hr's page does not show the message delivered and no dead letter")
	}
}
