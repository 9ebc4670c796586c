package connector

import (
	"encoding/pem"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"
)

func TestNewHTTPClient_Defaults(t *testing.T) {
	c, err := NewHTTPClient(HTTPOptions{})
	if err != nil {
		t.Fatal(err)
	}
	tr := c.Transport.(*http.Transport)
	if c.Timeout != 60*time.Second || tr.MaxIdleConnsPerHost != 16 || tr.Proxy == nil || !tr.ForceAttemptHTTP2 {
		t.Errorf("client = %+v, transport idle/host = %d", c, tr.MaxIdleConnsPerHost)
	}
}

func TestNewHTTPClient_Proxy(t *testing.T) {
	var proxied atomic.Int32
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// A forward proxy receives the absolute target URL.
		if r.URL.Host == "target.invalid" {
			proxied.Add(1)
		}
		_, _ = io.WriteString(w, "via proxy")
	}))
	defer proxy.Close()
	c, err := NewHTTPClient(HTTPOptions{Proxy: proxy.URL, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	resp, err := c.Get("http://target.invalid/x")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != "via proxy" || proxied.Load() != 1 {
		t.Errorf("body = %q, proxied = %d", body, proxied.Load())
	}
	for _, bad := range []string{"proxy.corp:3128", "ftp://proxy.corp", "http://"} {
		if _, err := NewHTTPClient(HTTPOptions{Proxy: bad}); !errors.Is(err, ErrBadConfig) {
			t.Errorf("proxy %q: err = %v", bad, err)
		}
	}
}

func TestNewHTTPClient_CAFile(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "ok")
	}))
	defer srv.Close()
	dir := t.TempDir()
	caPath := filepath.Join(dir, "ca.pem")
	pemBytes := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	if err := os.WriteFile(caPath, pemBytes, 0o600); err != nil {
		t.Fatal(err)
	}

	plain, _ := NewHTTPClient(HTTPOptions{Timeout: 5 * time.Second})
	if _, err := plain.Get(srv.URL); err == nil {
		t.Fatal("a private CA was trusted without ca_file")
	}
	withCA, err := NewHTTPClient(HTTPOptions{CAFile: caPath, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	resp, err := withCA.Get(srv.URL)
	if err != nil {
		t.Fatalf("with ca_file: %v", err)
	}
	resp.Body.Close()

	if _, err := NewHTTPClient(HTTPOptions{CAFile: filepath.Join(dir, "missing.pem")}); err == nil || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
	junk := filepath.Join(dir, "junk.pem")
	_ = os.WriteFile(junk, []byte("not a certificate"), 0o600)
	if _, err := NewHTTPClient(HTTPOptions{CAFile: junk}); !errors.Is(err, ErrBadConfig) {
		t.Errorf("junk file: %v", err)
	}
}
