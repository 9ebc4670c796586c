package connector

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"html"
	"net"
	"net/http"
	"net/url"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/oauth2"
)

// LoginBrowser runs the authorization-code flow with PKCE (S256) on a loopback redirect: it
// listens on the redirect URL's host and port (any free port when the URL has none, which
// Microsoft allows for loopback redirects), opens the sign-in page with opts.OpenBrowser,
// checks the state of the redirect, and redeems the code with the verifier. A request with a
// wrong or missing state (a stale tab, or a forged request from another local process or web
// page) is answered 400 and ignored: the login keeps waiting for the right one. It gives up
// after opts.Timeout (default 5 minutes).
func LoginBrowser(ctx context.Context, cfg AuthConfig, opts LoginOptions) (Token, error) {
	cfg, err := withFlow(cfg, FlowBrowser)
	if err != nil {
		return Token{}, err
	}
	ctx, err = opts.context(ctx)
	if err != nil {
		return Token{}, err
	}
	redirect, err := url.Parse(cfg.redirectURL())
	if err != nil {
		return Token{}, err
	}
	lns, err := listenLoopback(redirect)
	if err != nil {
		return Token{}, fmt.Errorf("browser sign-in: listen for the redirect on %s: %w", redirect.Host, err)
	}
	if redirect.Port() == "" || redirect.Port() == "0" {
		redirect.Host = net.JoinHostPort(redirect.Hostname(), fmt.Sprint(lns[0].Addr().(*net.TCPAddr).Port))
	}
	cfg.RedirectURL = redirect.String()
	oc := cfg.oauthConfig()

	state, err := randomString(32)
	if err != nil {
		return Token{}, err
	}
	verifier := oauth2.GenerateVerifier()
	authURL := oc.AuthCodeURL(state, oauth2.S256ChallengeOption(verifier))

	path := redirect.Path
	if path == "" {
		path = "/"
	}
	type result struct {
		tok Token
		err error
	}
	done := make(chan result, 1)
	var foreign atomic.Int64 // answers with a wrong state, ignored
	var once sync.Once
	finish := func(r result) { once.Do(func() { done <- r }) }
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != path {
			http.NotFound(w, r)
			return
		}
		q := r.URL.Query()
		if q.Get("state") == "" && q.Get("code") == "" && q.Get("error") == "" {
			writePage(w, http.StatusBadRequest, "Waiting for the sign-in answer.")
			return
		}
		if subtle.ConstantTimeCompare([]byte(q.Get("state")), []byte(state)) != 1 {
			// A stale tab or a forged request (any local process or web page can reach the
			// loopback): ignore it and keep waiting for the real answer.
			foreign.Add(1)
			writePage(w, http.StatusBadRequest, "This sign-in answer does not belong to the running login; it was ignored.")
			return
		}
		if e := q.Get("error"); e != "" {
			te := &TokenError{Code: cleanText(e, 60), Description: cleanText(firstLine(q.Get("error_description")), 300)}
			te.AADSTS = aadstsRE.FindString(te.Description)
			writePage(w, http.StatusBadRequest, "Sign-in failed: "+te.Code+". See the terminal.")
			finish(result{err: fmt.Errorf("browser sign-in: %w", te)})
			return
		}
		code := q.Get("code")
		if code == "" {
			writePage(w, http.StatusBadRequest, "The redirect carries no authorization code.")
			finish(result{err: errors.New("browser sign-in: the redirect carries no authorization code")})
			return
		}
		t, err := oc.Exchange(ctx, code, oauth2.VerifierOption(verifier))
		if err != nil {
			writePage(w, http.StatusBadGateway, "Sign-in failed while redeeming the code. See the terminal.")
			finish(result{err: loginError("browser sign-in: redeem the code", err)})
			return
		}
		writePage(w, http.StatusOK, "Signed in. You can close this window and return to onedrive-agent.")
		finish(result{tok: tokenFromOAuth(t)})
	})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	for _, ln := range lns {
		go func() { _ = srv.Serve(ln) }()
	}
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()

	if opts.ShowAuthURL != nil {
		opts.ShowAuthURL(authURL)
	}
	open := opts.OpenBrowser
	if open == nil {
		open = OpenSystemBrowser
	}
	if err := open(authURL); err != nil {
		opts.logger().Warn("could not open a browser; open the sign-in URL by hand", "error", err)
		if opts.ShowAuthURL == nil {
			return Token{}, fmt.Errorf("browser sign-in: open a browser: %w", err)
		}
	}

	timeout := opts.Timeout
	if timeout <= 0 {
		timeout = 5 * time.Minute
	}
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	select {
	case r := <-done:
		return r.tok, r.err
	case <-timer.C:
		if n := foreign.Load(); n > 0 {
			return Token{}, fmt.Errorf("browser sign-in: no answer from the browser within %s (%d answers with a wrong state were ignored: a stale tab or a forged request); run login again", timeout, n)
		}
		return Token{}, fmt.Errorf("browser sign-in: no answer from the browser within %s; run login again", timeout)
	case <-ctx.Done():
		return Token{}, ctx.Err()
	}
}

// listenLoopback listens on the redirect's host and port; for "localhost" on both 127.0.0.1
// and ::1 (browsers try either), needing only one of them to work.
func listenLoopback(redirect *url.URL) ([]net.Listener, error) {
	port := redirect.Port()
	if port == "" || port == "0" {
		port = "0"
	}
	host := redirect.Hostname()
	if !strings.EqualFold(host, "localhost") {
		ln, err := net.Listen("tcp", net.JoinHostPort(host, port))
		if err != nil {
			return nil, err
		}
		return []net.Listener{ln}, nil
	}
	ln4, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", port))
	if err != nil {
		return nil, err
	}
	lns := []net.Listener{ln4}
	port = fmt.Sprint(ln4.Addr().(*net.TCPAddr).Port)
	if ln6, err := net.Listen("tcp", net.JoinHostPort("::1", port)); err == nil {
		lns = append(lns, ln6)
	}
	return lns, nil
}

func writePage(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	fmt.Fprintf(w, "<!doctype html><title>onedrive-agent</title><p>%s</p>\n", html.EscapeString(msg))
}

func firstLine(s string) string {
	if i := strings.IndexAny(s, "\r\n"); i >= 0 {
		return s[:i]
	}
	return s
}

func randomString(n int) (string, error) {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// OpenSystemBrowser opens url in the user's default browser (rundll32 on Windows, open on
// macOS, xdg-open elsewhere). It does not wait for the browser.
func OpenSystemBrowser(u string) error {
	var cmd *exec.Cmd
	switch runtime.GOOS {
	case "windows":
		cmd = exec.Command("rundll32", "url.dll,FileProtocolHandler", u)
	case "darwin":
		cmd = exec.Command("open", u)
	default:
		cmd = exec.Command("xdg-open", u)
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	go func() { _ = cmd.Wait() }()
	return nil
}
