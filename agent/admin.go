package agent

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/onedrive-agent/onedrive-agent/agent/activity"
	"github.com/onedrive-agent/onedrive-agent/agent/console"
	"github.com/onedrive-agent/onedrive-agent/internal/safefile"
)

// Controller is what the admin API and the command line act on: the running
// agent, a remote agent through its admin API (AdminClient), or the database
// directly when no agent runs.
type Controller interface {
	Status(ctx context.Context) (Status, error)
	// Poll runs a round now and waits for it to end.
	Poll(ctx context.Context, instance string) (PollResult, error)
	// Resync forgets the delta cursor and reconciles the whole drive.
	Resync(ctx context.Context, instance string) (PollResult, error)
	Dead(ctx context.Context, instance string) ([]DeadLetter, error)
	// Replay puts dead letters back at the head of the queue, in their
	// order; no ids means all of them.
	Replay(ctx context.Context, instance string, ids []string) (int, error)
	// Purge deletes dead letters; no ids means all of them.
	Purge(ctx context.Context, instance string, ids []string) (int, error)
}

// PollResult tells what a round did.
type PollResult struct {
	Instance string `json:"instance"`
	Items    int    `json:"items"`
	Events   int    `json:"events"`
	Pages    int    `json:"pages"`
	Resynced bool   `json:"resynced,omitempty"`
	Paused   bool   `json:"paused,omitempty"`
}

// DeadLetter is a rejected message as the admin API shows it.
type DeadLetter struct {
	ID        string          `json:"id"`
	Events    int             `json:"events"`
	Reason    string          `json:"reason"`
	Died      time.Time       `json:"died"`
	Created   time.Time       `json:"created"`
	Attempts  int             `json:"attempts"`
	LastError string          `json:"lastError,omitempty"`
	Body      json.RawMessage `json:"body,omitempty"`
}

// Token is an OAuth token handed to a running agent by `onedrive-agent
// login`. It holds secrets: it is never logged.
type Token struct {
	AccessToken  string    `json:"access_token"`
	RefreshToken string    `json:"refresh_token,omitempty"`
	TokenType    string    `json:"token_type,omitempty"`
	Expiry       time.Time `json:"expiry,omitzero"`
}

// TokenSaver stores a new sign-in for an instance and polls it.
type TokenSaver interface {
	SaveToken(ctx context.Context, instance string, t Token) error
}

// ErrUnknownInstance is returned for an instance name the config does not have.
var ErrUnknownInstance = errors.New("unknown instance")

// AdminTokenFile is the name of the bearer token file in data_dir.
const AdminTokenFile = "admin.token"

// maxAdminTokenFile caps what is read of admin.token.
const maxAdminTokenFile = 4096

// EnsureAdminToken returns the admin bearer token kept in dataDir, creating
// it (mode 0600, written under a random temporary name and renamed) when
// missing or empty. dataDir and the file must belong to this user and not
// be writable by others, and the file must not be a link (see safefile).
func EnsureAdminToken(dataDir string) (string, error) {
	if err := safefile.MkdirPrivate(dataDir, "data_dir"); err != nil {
		return "", fmt.Errorf("admin token: %w", err)
	}
	tok, err := ReadAdminToken(dataDir)
	switch {
	case err == nil && tok != "":
		return tok, nil
	case err != nil && !errors.Is(err, os.ErrNotExist):
		return "", err
	}
	return writeAdminToken(dataDir)
}

// RotateAdminToken replaces the admin token in dataDir with a new random
// one and returns it. A running agent takes the new token for its next
// request (it reads the file again when it changes); the old one stops
// working at once.
func RotateAdminToken(dataDir string) (string, error) {
	if err := safefile.MkdirPrivate(dataDir, "data_dir"); err != nil {
		return "", fmt.Errorf("admin token: %w", err)
	}
	return writeAdminToken(dataDir)
}

func writeAdminToken(dataDir string) (string, error) {
	var raw [32]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return "", err
	}
	tok := hex.EncodeToString(raw[:])
	if err := safefile.WriteFile(filepath.Join(dataDir, AdminTokenFile), []byte(tok+"\n")); err != nil {
		return "", fmt.Errorf("write admin token: %w", err)
	}
	return tok, nil
}

// ReadAdminToken reads the admin bearer token from dataDir (without
// following a link; the file must belong to this user).
func ReadAdminToken(dataDir string) (string, error) {
	b, err := safefile.ReadFile(filepath.Join(dataDir, AdminTokenFile), "admin token", maxAdminTokenFile)
	if err != nil {
		return "", fmt.Errorf("read admin token: %w", err)
	}
	return strings.TrimSpace(string(b)), nil
}

// AdminHandler serves the admin API with the defaults of AdminOptions: see
// NewAdminHandler.
func AdminHandler(c Controller, metrics http.Handler, token string, logger *slog.Logger) http.Handler {
	return NewAdminHandler(AdminOptions{Controller: c, Metrics: metrics, Token: func() string { return token }, Logger: logger})
}

// AdminOptions configure the admin listener's handler.
type AdminOptions struct {
	Controller Controller
	Metrics    http.Handler // nil: no /metrics
	// Token returns the admin token in force, read on every request (it
	// changes when the token is rotated); "" refuses everything that needs it.
	Token  func() string
	Logger *slog.Logger
	// Listen are the listener's addresses (configured and actual) whose
	// hosts the Host header may name; an unspecified one (0.0.0.0, ::)
	// allows every address of the machine.
	Listen []string
	// Hosts are the further names of [admin] hosts.
	Hosts []string
	// Activity feeds the console's recent deliveries and charts; nil: none.
	Activity *activity.Recorder
	// Targets returns an instance's callback URL, which the console shows
	// without query string; read on every page, so that a reloaded
	// configuration shows. nil: none shown.
	Targets func(instance string) string
	// Context bounds the rounds the console starts; nil: Background.
	Context context.Context
}

// NewAdminHandler serves the admin API: GET /healthz, /metrics, /v1/status
// and /v1/challenge are open (the listener is loopback by default);
// everything that changes state needs the bearer token. The operator
// console is served at / (see package console). Every response but
// /healthz's is refused with 421 when the Host header does not name the
// listener (see hostGuard).
func NewAdminHandler(o AdminOptions) http.Handler {
	c, metrics, token, logger := o.Controller, o.Metrics, o.Token, o.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	mux := http.NewServeMux()
	authed := func(h http.HandlerFunc) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
			want := token()
			if !ok || want == "" || subtle.ConstantTimeCompare([]byte(got), []byte(want)) != 1 {
				w.Header().Set("WWW-Authenticate", `Bearer realm="onedrive-agent"`)
				writeJSONError(w, http.StatusUnauthorized, "missing or wrong bearer token (see data_dir/admin.token)")
				return
			}
			h(w, r)
		}
	}
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) { serveHealth(c, w, r) })
	mux.HandleFunc("GET "+challengePath, serveChallenge(token))
	if metrics != nil {
		mux.Handle("GET /metrics", metrics)
	}
	mux.HandleFunc("GET /v1/status", func(w http.ResponseWriter, r *http.Request) {
		s, err := c.Status(r.Context())
		respond(w, s, err)
	})
	mux.HandleFunc("POST /v1/instances/{name}/poll", authed(func(w http.ResponseWriter, r *http.Request) {
		liftWriteDeadline(w)
		res, err := c.Poll(r.Context(), r.PathValue("name"))
		respond(w, res, err)
	}))
	mux.HandleFunc("POST /v1/instances/{name}/resync", authed(func(w http.ResponseWriter, r *http.Request) {
		liftWriteDeadline(w)
		res, err := c.Resync(r.Context(), r.PathValue("name"))
		respond(w, res, err)
	}))
	mux.HandleFunc("GET /v1/instances/{name}/dead", authed(func(w http.ResponseWriter, r *http.Request) {
		dl, err := c.Dead(r.Context(), r.PathValue("name"))
		if dl == nil {
			dl = []DeadLetter{}
		}
		respond(w, dl, err)
	}))
	mux.HandleFunc("POST /v1/instances/{name}/dead/replay", authed(func(w http.ResponseWriter, r *http.Request) {
		n, err := c.Replay(r.Context(), r.PathValue("name"), r.URL.Query()["id"])
		respond(w, map[string]int{"replayed": n}, err)
	}))
	if dl, ok := c.(DriveLister); ok {
		mux.HandleFunc("GET /v1/instances/{name}/drives", authed(func(w http.ResponseWriter, r *http.Request) {
			ds, err := dl.Drives(r.Context(), r.PathValue("name"))
			respond(w, map[string][]DriveStatus{"drives": ds}, err)
		}))
	}
	if ts, ok := c.(TokenSaver); ok {
		mux.HandleFunc("PUT /v1/instances/{name}/token", authed(func(w http.ResponseWriter, r *http.Request) {
			var t Token
			if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20)).Decode(&t); err != nil {
				writeJSONError(w, http.StatusBadRequest, "token: body is not a JSON token")
				return
			}
			respond(w, map[string]bool{"saved": true}, ts.SaveToken(r.Context(), r.PathValue("name"), t))
		}))
	}
	if ck, ok := c.(Checker); ok {
		mux.HandleFunc("POST /v1/instances/{name}/check", authed(func(w http.ResponseWriter, r *http.Request) {
			liftWriteDeadline(w)
			steps, err := ck.Check(r.Context(), r.PathValue("name"))
			respond(w, steps, err)
		}))
	}
	mux.HandleFunc("DELETE /v1/instances/{name}/dead", authed(func(w http.ResponseWriter, r *http.Request) {
		n, err := c.Purge(r.Context(), r.PathValue("name"), r.URL.Query()["id"])
		respond(w, map[string]int{"purged": n}, err)
	}))
	con, err := console.New(console.Options{
		Backend: consoleBackend{c: c, targets: o.Targets}, Activity: o.Activity,
		Token: token, Logger: logger.With("component", "console"), Context: o.Context,
	})
	if err != nil {
		// The templates are embedded and checked by the tests: this is a
		// build defect, not an operator's problem.
		panic(err)
	}
	con.Register(mux)
	return newHostGuard(mux, o.Listen, o.Hosts)
}

// liftWriteDeadline lets a request that waits for a whole round answer
// after the server's write timeout.
func liftWriteDeadline(w http.ResponseWriter) {
	_ = http.NewResponseController(w).SetWriteDeadline(time.Time{})
}

func respond(w http.ResponseWriter, v any, err error) {
	if err != nil {
		status := http.StatusInternalServerError
		if errors.Is(err, ErrUnknownInstance) {
			status = http.StatusNotFound
		}
		if errors.Is(err, ErrNotTenantWide) {
			status = http.StatusBadRequest
		}
		writeJSONError(w, status, err.Error())
		return
	}
	w.Header().Set("Content-Type", "application/json")
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

func writeJSONError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": msg})
}
