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

// EnsureAdminToken returns the admin bearer token kept in dataDir, creating
// it (mode 0600) when missing.
func EnsureAdminToken(dataDir string) (string, error) {
	path := filepath.Join(dataDir, AdminTokenFile)
	if b, err := os.ReadFile(path); err == nil {
		if tok := strings.TrimSpace(string(b)); tok != "" {
			return tok, nil
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return "", fmt.Errorf("read admin token: %w", err)
	}
	var raw [32]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return "", err
	}
	tok := hex.EncodeToString(raw[:])
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return "", fmt.Errorf("create data_dir: %w", err)
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(tok+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("write admin token: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return "", fmt.Errorf("write admin token: %w", err)
	}
	return tok, nil
}

// ReadAdminToken reads the admin bearer token from dataDir.
func ReadAdminToken(dataDir string) (string, error) {
	b, err := os.ReadFile(filepath.Join(dataDir, AdminTokenFile))
	if err != nil {
		return "", fmt.Errorf("read admin token: %w", err)
	}
	return strings.TrimSpace(string(b)), nil
}

// AdminHandler serves the admin API of CONTRACT section 7. GET /healthz,
// /metrics and /v1/status are open (the listener is loopback by default);
// everything that changes state needs the bearer token.
func AdminHandler(c Controller, metrics http.Handler, token string, logger *slog.Logger) http.Handler {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	mux := http.NewServeMux()
	authed := func(h http.HandlerFunc) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
			if !ok || subtle.ConstantTimeCompare([]byte(got), []byte(token)) != 1 {
				w.Header().Set("WWW-Authenticate", `Bearer realm="onedrive-agent"`)
				writeJSONError(w, http.StatusUnauthorized, "missing or wrong bearer token (see data_dir/admin.token)")
				return
			}
			h(w, r)
		}
	}
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintln(w, "ok")
	})
	if metrics != nil {
		mux.Handle("GET /metrics", metrics)
	}
	mux.HandleFunc("GET /v1/status", func(w http.ResponseWriter, r *http.Request) {
		s, err := c.Status(r.Context())
		respond(w, s, err)
	})
	mux.HandleFunc("POST /v1/instances/{name}/poll", authed(func(w http.ResponseWriter, r *http.Request) {
		res, err := c.Poll(r.Context(), r.PathValue("name"))
		respond(w, res, err)
	}))
	mux.HandleFunc("POST /v1/instances/{name}/resync", authed(func(w http.ResponseWriter, r *http.Request) {
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
			steps, err := ck.Check(r.Context(), r.PathValue("name"))
			respond(w, steps, err)
		}))
	}
	mux.HandleFunc("DELETE /v1/instances/{name}/dead", authed(func(w http.ResponseWriter, r *http.Request) {
		n, err := c.Purge(r.Context(), r.PathValue("name"), r.URL.Query()["id"])
		respond(w, map[string]int{"purged": n}, err)
	}))
	return mux
}

func respond(w http.ResponseWriter, v any, err error) {
	if err != nil {
		status := http.StatusInternalServerError
		if errors.Is(err, ErrUnknownInstance) {
			status = http.StatusNotFound
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
