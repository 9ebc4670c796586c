package graphtest

import (
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"time"
)

// Server is a fake Microsoft Graph and Microsoft identity platform on one
// httptest server. All its methods are safe for concurrent use.
type Server struct {
	// URL is the server's base URL, e.g. http://127.0.0.1:41234.
	URL string

	ts         *httptest.Server
	driveID    string
	guidPrefix string
	userID     string

	mu     sync.Mutex
	opts   Options
	tree   tree
	epoch  uint64 // bumped by ExpireTokens: older delta tokens get 410
	rounds roundCache
	faults []*queuedFault
	ru     map[string][]ruSpend
	auth   authState
	push   pushState
	certs  map[string][]*x509.Certificate // client id → certificate credentials
	jtis   map[string]bool                // client assertion ids already redeemed
	sites  []*site                        // SharePoint sites added with AddSite

	logMu sync.Mutex
	log   []Request
}

// NewServer starts a fake Graph server over plain HTTP. Close it when done.
func NewServer(opts Options) *Server {
	s := newServer(opts)
	s.ts = httptest.NewServer(s)
	s.URL = s.ts.URL
	return s
}

// NewTLSServer starts a fake Graph server over HTTPS with httptest's
// self-signed certificate; Client returns an *http.Client that trusts it.
func NewTLSServer(opts Options) *Server {
	s := newServer(opts)
	s.ts = httptest.NewTLSServer(s)
	s.URL = s.ts.URL
	return s
}

func newServer(opts Options) *Server {
	opts = opts.withDefaults()
	s := &Server{opts: opts, guidPrefix: strings.ToUpper(randomHex(4)), userID: randomGUID()}
	s.driveID = opts.DriveID
	var prefix string
	if opts.Personal {
		if s.driveID == "" {
			s.driveID = strings.ToUpper(randomHex(8))
		}
		prefix = strings.ToUpper(s.driveID) + "!"
	} else {
		if s.driveID == "" {
			s.driveID = "b!" + randomToken(24)
		}
		prefix = "01" + strings.ToUpper(randomHex(3))
	}
	s.tree = newTree(opts.Personal, prefix, opts.Now().UnixMilli())
	s.rounds = newRoundCache()
	s.ru = make(map[string][]ruSpend)
	s.auth = newAuthState()
	return s
}

// Close shuts the server down and waits for outstanding requests. Open notification links
// are cut first (httptest does not track hijacked connections).
func (s *Server) Close() {
	s.DropPushLinks()
	s.ts.Close()
}

// Client returns an HTTP client configured for the server (it trusts the
// certificate of a TLS server).
func (s *Server) Client() *http.Client { return s.ts.Client() }

// GraphURL returns the Graph root with version, "<URL>/v1.0".
func (s *Server) GraphURL() string { return s.URL + "/v1.0" }

// LoginURL returns the sign-in root: clients call
// <LoginURL>/<tenant>/oauth2/v2.0/{token,devicecode,authorize}.
func (s *Server) LoginURL() string { return s.URL }

// DeltaURL returns the URL of a fresh enumeration of the drive,
// "<URL>/v1.0/drives/<drive id>/root/delta".
func (s *Server) DeltaURL() string { return s.GraphURL() + "/drives/" + s.driveID + "/root/delta" }

// Configure changes options while the server runs; fn runs with the server
// locked and must not call it. DriveID and Personal are fixed at creation
// (item ids depend on them); changes to them are ignored.
func (s *Server) Configure(fn func(*Options)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	o := s.opts
	fn(&o)
	o.DriveID, o.Personal = s.opts.DriveID, s.opts.Personal
	s.opts = o.withDefaults()
}

// Options returns the options in force.
func (s *Server) Options() Options {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.opts
}

// now reads the configured clock; callers may or may not hold s.mu, but Now
// itself must not call the Server.
func (s *Server) now() time.Time { return s.opts.Now() }

func (s *Server) nowMilli() int64 { return s.now().UnixMilli() }

func randomBytes(n int) []byte {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic("graphtest: crypto/rand: " + err.Error())
	}
	return b
}

func randomHex(n int) string { return hex.EncodeToString(randomBytes(n)) }

// randomToken is n random bytes in unpadded base64url.
func randomToken(n int) string { return base64.RawURLEncoding.EncodeToString(randomBytes(n)) }

func randomGUID() string { return formatGUID(randomBytes(16)) }

// formatGUID writes 16 bytes as a GUID, 8-4-4-4-12 hex digits.
func formatGUID(b []byte) string {
	h := hex.EncodeToString(b)
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}
