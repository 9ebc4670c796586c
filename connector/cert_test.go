package connector

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/onedrive-agent/onedrive-agent/connector/graphtest"
)

var (
	rsaKeyOnce sync.Once
	rsaKeys    [2]*rsa.PrivateKey
)

// testRSAKey returns one of two 2048-bit keys, generated once for the whole test binary.
func testRSAKey(t *testing.T, i int) *rsa.PrivateKey {
	t.Helper()
	rsaKeyOnce.Do(func() {
		for j := range rsaKeys {
			k, err := rsa.GenerateKey(rand.Reader, 2048)
			if err != nil {
				panic(err)
			}
			rsaKeys[j] = k
		}
	})
	return rsaKeys[i]
}

// selfSigned returns a certificate for key.
func selfSigned(t *testing.T, key crypto.Signer) *x509.Certificate {
	t.Helper()
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "onedrive-agent test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// writePEM writes blocks to a 0600 file and returns its path.
func writePEM(t *testing.T, blocks ...*pem.Block) string {
	t.Helper()
	var b strings.Builder
	for _, bl := range blocks {
		b.Write(pem.EncodeToMemory(bl))
	}
	name := filepath.Join(t.TempDir(), "app.pem")
	if err := os.WriteFile(name, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	return name
}

func certBlock(c *x509.Certificate) *pem.Block { return &pem.Block{Type: "CERTIFICATE", Bytes: c.Raw} }

func pkcs8Block(t *testing.T, key any) *pem.Block {
	t.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return &pem.Block{Type: "PRIVATE KEY", Bytes: der}
}

func TestLoadClientCertificate(t *testing.T) {
	rk := testRSAKey(t, 0)
	ek, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	weak, _ := rsa.GenerateKey(rand.Reader, 1024)
	rc, ec := selfSigned(t, rk), selfSigned(t, ek)
	tests := []struct {
		name    string
		file    string
		alg     string
		wantErr string
	}{
		{"rsa pkcs8", writePEM(t, certBlock(rc), pkcs8Block(t, rk)), "PS256", ""},
		{"rsa pkcs1, key first", writePEM(t, &pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(rk)}, certBlock(rc)), "PS256", ""},
		{"ecdsa sec1", writePEM(t, certBlock(ec), func() *pem.Block {
			der, _ := x509.MarshalECPrivateKey(ek)
			return &pem.Block{Type: "EC PRIVATE KEY", Bytes: der}
		}()), "ES256", ""},
		{"key of another certificate", writePEM(t, certBlock(rc), pkcs8Block(t, ek)), "", "does not belong to the certificate"},
		{"no key", writePEM(t, certBlock(rc)), "", "no private key"},
		{"no certificate", writePEM(t, pkcs8Block(t, rk)), "", "no CERTIFICATE"},
		{"encrypted key", writePEM(t, certBlock(rc), &pem.Block{Type: "ENCRYPTED PRIVATE KEY", Bytes: []byte{1}}), "", "encrypted"},
		{"weak rsa", writePEM(t, certBlock(selfSigned(t, weak)), pkcs8Block(t, weak)), "", "at least 2048"},
		{"missing file", filepath.Join(t.TempDir(), "nope.pem"), "", "no such file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cc, err := LoadClientCertificate(tt.file)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				if strings.Contains(err.Error(), "PRIVATE KEY-----") {
					t.Errorf("error quotes the file: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if cc.algorithm() != tt.alg || len(cc.Thumbprint) != 43 {
				t.Errorf("alg %s, thumbprint %q", cc.algorithm(), cc.Thumbprint)
			}
		})
	}
}

// TestClientCredentials_Certificate: the token endpoint (graphtest, which checks the
// signature against the registered certificate, aud, iss, sub, jti and times) accepts the
// assertions of a sign-in and of the Client's later token requests; no client_secret is sent;
// a certificate that is not registered is refused.
func TestClientCredentials_Certificate(t *testing.T) {
	ek, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	keys := []struct {
		name string
		key  crypto.Signer
	}{{"rsa", testRSAKey(t, 0)}, {"ecdsa", ek}}
	for _, k := range keys {
		t.Run(k.name, func(t *testing.T) {
			s := graphtest.NewServer(graphtest.Options{StrictClients: true})
			defer s.Close()
			s.AddClient(graphtest.DefaultClientID, "unused-secret", false)
			s.Populate(5, 1)
			cert := selfSigned(t, k.key)
			s.AddClientCertificate(graphtest.DefaultClientID, cert)
			cfg := gtAuth(s, FlowClientCredentials)
			cfg.ClientSecret = ""
			cfg.ClientCertificateFile = writePEM(t, certBlock(cert), pkcs8Block(t, k.key))
			if err := cfg.Validate(); err != nil {
				t.Fatal(err)
			}
			if _, err := ClientCredentials(context.Background(), cfg, LoginOptions{HTTPClient: s.Client()}); err != nil {
				t.Fatalf("sign-in: %v", err)
			}
			c := gtClient(t, s, cfg, nil, nil)
			for i := 0; i < 2; i++ { // each page needs a new token, so a new assertion
				s.ExpireAccessTokens()
				if _, err := c.Page(context.Background(), c.DeltaURL(s.DriveID())); err != nil {
					t.Fatalf("page %d: %v", i, err)
				}
			}
			if n := s.Count(graphtest.ClassToken, 200); n != 3 {
				t.Errorf("%d tokens issued, want 3 (sign-in and two refreshes)", n)
			}

			other := selfSigned(t, testRSAKey(t, 1))
			cfg.ClientCertificateFile = writePEM(t, certBlock(other), pkcs8Block(t, testRSAKey(t, 1)))
			_, err := ClientCredentials(context.Background(), cfg, LoginOptions{HTTPClient: s.Client()})
			var te *TokenError
			if !errors.As(err, &te) || te.Code != "invalid_client" || te.AADSTS != "AADSTS700027" {
				t.Errorf("unregistered certificate: err = %v, want invalid_client AADSTS700027", err)
			}
		})
	}
}

// TestClient_RenewedCertificateFile: the certificate file is read at every token request, so
// a certificate replaced in the file is used by a running Client without a restart.
func TestClient_RenewedCertificateFile(t *testing.T) {
	s := graphtest.NewServer(graphtest.Options{StrictClients: true})
	defer s.Close()
	s.AddClient(graphtest.DefaultClientID, "unused-secret", false)
	s.Populate(5, 1)
	oldKey, newKey := testRSAKey(t, 0), testRSAKey(t, 1)
	oldCert, newCert := selfSigned(t, oldKey), selfSigned(t, newKey)
	s.AddClientCertificate(graphtest.DefaultClientID, oldCert)
	cfg := gtAuth(s, FlowClientCredentials)
	cfg.ClientSecret = ""
	cfg.ClientCertificateFile = writePEM(t, certBlock(oldCert), pkcs8Block(t, oldKey))
	c := gtClient(t, s, cfg, nil, nil)
	if _, err := c.Page(context.Background(), c.DeltaURL(s.DriveID())); err != nil {
		t.Fatalf("with the first certificate: %v", err)
	}

	renewed, err := os.ReadFile(writePEM(t, certBlock(newCert), pkcs8Block(t, newKey)))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(cfg.ClientCertificateFile, renewed, 0o600); err != nil {
		t.Fatal(err)
	}
	s.ExpireAccessTokens()
	_, err = c.Page(context.Background(), c.DeltaURL(s.DriveID()))
	var te *TokenError
	if !errors.As(err, &te) || te.AADSTS != "AADSTS700027" {
		t.Fatalf("the renewed certificate before it is registered: err = %v, want AADSTS700027 (the file was not read again)", err)
	}
	s.AddClientCertificate(graphtest.DefaultClientID, newCert)
	if _, err := c.Page(context.Background(), c.DeltaURL(s.DriveID())); err != nil {
		t.Fatalf("with the renewed certificate: %v", err)
	}
}

func TestClientCredentials_CertificateForm(t *testing.T) {
	f := newFakeMS(t)
	key := testRSAKey(t, 0)
	cfg := f.auth(FlowClientCredentials)
	cfg.ClientSecret = ""
	cfg.ClientCertificateFile = writePEM(t, certBlock(selfSigned(t, key)), pkcs8Block(t, key))
	// The fake knows only secrets and refuses the request; what matters is the form it got.
	_, _ = ClientCredentials(context.Background(), cfg, LoginOptions{})
	g := f.tokenGrants()[0]
	if g.Get("client_assertion_type") != clientAssertionType || strings.Count(g.Get("client_assertion"), ".") != 2 || g.Has("client_secret") {
		t.Errorf("token form = %v", g)
	}
}

func TestAuthConfig_CertificateValidation(t *testing.T) {
	key := testRSAKey(t, 0)
	file := writePEM(t, certBlock(selfSigned(t, key)), pkcs8Block(t, key))
	base := AuthConfig{Flow: FlowClientCredentials, Tenant: "contoso.com", ClientID: "c"}
	tests := []struct {
		name string
		mod  func(*AuthConfig)
		want string
	}{
		{"certificate only", func(a *AuthConfig) { a.ClientCertificateFile = file }, ""},
		{"both", func(a *AuthConfig) { a.ClientCertificateFile, a.ClientSecret = file, "s" }, "not both"},
		{"neither", func(a *AuthConfig) {}, "client_secret: is required"},
		{"device flow", func(a *AuthConfig) { a.Flow, a.Tenant, a.ClientCertificateFile = FlowDevice, "", file }, "only with flow client_credentials"},
		{"unreadable", func(a *AuthConfig) { a.ClientCertificateFile = file + ".missing" }, "client_certificate_file: client certificate"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := base
			tt.mod(&a)
			err := a.Validate()
			if tt.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) || !errors.Is(err, ErrBadConfig) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
		})
	}
}

// TestGraphtest_AssertionChecks: graphtest's token endpoint refuses an assertion whose
// signature, audience or jti is wrong, so the tests above prove the agent's are right.
func TestGraphtest_AssertionChecks(t *testing.T) {
	s := graphtest.NewServer(graphtest.Options{})
	defer s.Close()
	good, other := testRSAKey(t, 0), testRSAKey(t, 1)
	cert := selfSigned(t, good)
	s.AddClientCertificate("cid", cert)
	cc, err := parseClientCertificate([]byte(string(pem.EncodeToMemory(certBlock(cert))) + string(pem.EncodeToMemory(pkcs8Block(t, good)))))
	if err != nil {
		t.Fatal(err)
	}
	tokenURL := s.LoginURL() + "/contoso.com/oauth2/v2.0/token"
	forged := &ClientCertificate{Cert: cert, key: other, Thumbprint: cc.Thumbprint}
	sign := func(c *ClientCertificate, aud string) string {
		a, err := c.assertion("cid", aud, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	replayed := sign(cc, tokenURL)
	tests := []struct {
		name, assertion, want string
	}{
		{"valid", replayed, ""},
		{"replayed jti", replayed, "AADSTS700023"},
		{"signed by another key", sign(forged, tokenURL), "AADSTS700027"},
		{"other audience", sign(cc, "https://login.microsoftonline.com/contoso.com/oauth2/v2.0/token"), "AADSTS700212"},
	}
	ctx, err := LoginOptions{HTTPClient: s.Client()}.context(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		form := url.Values{"grant_type": {"client_credentials"}, "client_id": {"cid"}, "scope": {"https://graph.microsoft.com/.default"},
			"client_assertion_type": {clientAssertionType}, "client_assertion": {tt.assertion}}
		_, err := postToken(ctx, tokenURL, form)
		if tt.want == "" {
			if err != nil {
				t.Errorf("%s: %v", tt.name, err)
			}
			continue
		}
		var te *TokenError
		if !errors.As(err, &te) || te.AADSTS != tt.want {
			t.Errorf("%s: err = %v, want %s", tt.name, err, tt.want)
		}
	}
}
