//go:build unix

package main

import (
	"crypto/tls"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
)

// forwardProxy is a plain-HTTP forward proxy that records the hosts it
// carried requests to.
type forwardProxy struct {
	srv   *httptest.Server
	mu    sync.Mutex
	hosts map[string]int
}

func newForwardProxy(t *testing.T) *forwardProxy {
	p := &forwardProxy{hosts: map[string]int{}}
	p.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodConnect || !r.URL.IsAbs() {
			http.Error(w, "forward proxy: absolute http URLs only", http.StatusBadRequest)
			return
		}
		p.mu.Lock()
		p.hosts[r.URL.Host]++
		p.mu.Unlock()
		out := r.Clone(r.Context())
		out.RequestURI = ""
		resp, err := http.DefaultTransport.RoundTrip(out)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		for k, v := range resp.Header {
			w.Header()[k] = v
		}
		w.WriteHeader(resp.StatusCode)
		io.Copy(w, resp.Body)
	}))
	t.Cleanup(p.srv.Close)
	return p
}

func (p *forwardProxy) count(rawURL string) int {
	u, _ := url.Parse(rawURL)
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.hosts[u.Host]
}

// TestCheckOnlineHonest: check --online prints one line per instance and
// step, fails a delegated instance that never signed in and a callback that
// does not answer 2xx, goes through [network].proxy, hides the callback's
// query string, and does the same through a running agent.
func TestCheckOnlineHonest(t *testing.T) {
	f := newFixture(t, "app")
	proxy := newForwardProxy(t)
	down := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "receiver broken", http.StatusInternalServerError)
	}))
	t.Cleanup(down.Close)

	base := fmt.Sprintf("data_dir = %q\n[admin]\nlisten = %q\n[network]\nproxy = %q\n", f.dataDir, f.admin, proxy.srv.URL)
	appOnly := func(name, callbackURL string) string {
		return appInstanceTOML(name, f.graph.LoginURL(), f.graph.GraphURL(), f.graph.DriveID()) +
			fmt.Sprintf("[instance.callback]\nurl = %q\n", callbackURL)
	}
	delegated := fmt.Sprintf(`
[[instance]]
name = "delegated"
[instance.auth]
flow = "device"
client_id = %q
login_url = %q
graph_url = %q
[instance.callback]
url = %q
`, e2eClientID, f.graph.LoginURL(), f.graph.GraphURL(), f.recv.srv.URL)
	f.write("agent.toml", base+appOnly("app", f.recv.srv.URL+"/hook?token=sekret42")+delegated+appOnly("down", down.URL))

	wantLines := []string{
		`(?m)^app +config +OK +valid$`,
		`(?m)^app +sign-in +OK +app-only token accepted$`,
		`(?m)^app +drive +OK +drive \S+ answers$`,
		`(?m)^app +callback +OK +http://127\.0\.0\.1:\d+/hook\?… answered 204 No Content$`,
		"(?m)^delegated +sign-in +FAIL +never signed in: run `onedrive-agent login delegated`$",
		`(?m)^delegated +drive +FAIL +not checked`,
		`(?m)^down +callback +FAIL +http://127\.0\.0\.1:\d+: answered 500 Internal Server Error`,
	}
	verify := func(code int, stdout, stderr string) {
		t.Helper()
		if code != 1 {
			t.Errorf("check --online: exit %d, want 1\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
		}
		for _, w := range wantLines {
			if !regexp.MustCompile(w).MatchString(stdout) {
				t.Errorf("check --online output lacks a line matching %s:\n%s", w, stdout)
			}
		}
		if strings.Contains(stdout+stderr, "sekret42") {
			t.Errorf("check --online shows the callback's query string:\n%s", stdout)
		}
	}

	// No agent runs: this process checks, through the proxy.
	code, stdout, stderr := f.cli("check", "--online", "-c", f.cfg)
	verify(code, stdout, stderr)
	for _, u := range []string{f.recv.srv.URL, down.URL, f.graph.URL} {
		if proxy.count(u) == 0 {
			t.Errorf("no request to %s went through [network].proxy", u)
		}
	}

	// An agent runs: it checks with its own sign-in and network.
	p := f.run()
	code, stdout, stderr = f.cli("check", "--online", "-c", f.cfg)
	verify(code, stdout, stderr)
	if !strings.Contains(stdout, "through the running agent") {
		t.Errorf("check --online did not go through the running agent:\n%s", stdout)
	}
	p.stop()

	// All good: a TLS receiver trusted through the callback's ca_file.
	tlsRecv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusAccepted)
	}))
	t.Cleanup(tlsRecv.Close)
	conn, err := tls.Dial("tcp", strings.TrimPrefix(tlsRecv.URL, "https://"), &tls.Config{InsecureSkipVerify: true})
	if err != nil {
		t.Fatal(err)
	}
	f.write("recv-ca.pem", string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: conn.ConnectionState().PeerCertificates[0].Raw})))
	conn.Close()
	good := fmt.Sprintf("data_dir = %q\n[admin]\nlisten = %q\n", f.dataDir, f.admin) +
		appOnly("app", tlsRecv.URL) + "ca_file = \"recv-ca.pem\"\n"
	f.write("agent.toml", good)
	code, stdout, stderr = f.cli("check", "--online", "-c", f.cfg)
	if code != 0 || !regexp.MustCompile(`(?m)^app +callback +OK +https://127\.0\.0\.1:\d+ answered 202 Accepted$`).MatchString(stdout) {
		t.Errorf("check --online with a good setup: exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
}
