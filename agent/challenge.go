package agent

import (
	"bufio"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"time"
)

// The command line sends the admin token only to the agent that holds the
// database. That agent names its admin address in the database's lock
// file (LockNote), which only the database's owner can write; and before
// the token leaves on any connection, the listener must answer a challenge
// only a holder of the token can answer:
//
//	GET /v1/challenge?nonce=<32 to 128 hex digits>
//	→ {"proof": hex(HMAC-SHA256(admin token, "onedrive-agent admin challenge v1\n"
//	                                          + nonce + "\n" + server addr + "\n" + client addr))}
//
// The addresses are those of the TCP connection as the agent sees it, so a
// program in the middle that relays the challenge to the real agent gets a
// proof for its own connection, which the command line refuses.

// lockNotePrefix starts the agent's lock note: "admin=<listen address>".
const lockNotePrefix = "admin="

// LockNote is the note the agent puts in the database's lock file while
// its admin API listens on addr.
func LockNote(addr string) string { return lockNotePrefix + addr }

// AdminAddrFromLockNote returns the admin address a lock note names, or "".
func AdminAddrFromLockNote(note string) string {
	addr, _ := strings.CutPrefix(note, lockNotePrefix)
	if addr == note {
		return ""
	}
	return addr
}

// ErrNotTheAgent means the listener at the admin address could not prove it
// knows the admin token: it is not the agent holding the database.
var ErrNotTheAgent = errors.New("the program answering on the admin address is not the agent that holds the database")

const challengePath = "/v1/challenge"

// challengeProof is the HMAC the agent answers a challenge with.
func challengeProof(token, nonce, server, client string) []byte {
	m := hmac.New(sha256.New, []byte(token))
	io.WriteString(m, "onedrive-agent admin challenge v1\n"+nonce+"\n"+canonAddr(server)+"\n"+canonAddr(client))
	return m.Sum(nil)
}

// canonAddr writes an IPv4-mapped IPv6 address as IPv4, so both ends of a
// dual-stack connection write it alike.
func canonAddr(s string) string {
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return netip.AddrPortFrom(ap.Addr().Unmap().WithZone(""), ap.Port()).String()
	}
	return s
}

func validNonce(s string) bool {
	if len(s) < 32 || len(s) > 128 {
		return false
	}
	_, err := hex.DecodeString(s)
	return err == nil
}

// serveChallenge answers GET /v1/challenge; token returns the token in force.
func serveChallenge(token func() string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		nonce := r.URL.Query().Get("nonce")
		if !validNonce(nonce) {
			writeJSONError(w, http.StatusBadRequest, "nonce: want 32 to 128 hex digits")
			return
		}
		local, _ := r.Context().Value(http.LocalAddrContextKey).(net.Addr)
		if local == nil {
			writeJSONError(w, http.StatusInternalServerError, "challenge: no local address")
			return
		}
		w.Header().Set("Cache-Control", "no-store")
		respond(w, map[string]string{"proof": hex.EncodeToString(challengeProof(token(), nonce, local.String(), r.RemoteAddr))}, nil)
	}
}

// NewAdminClient returns a client for the agent whose admin API listens at
// baseURL ("http://host:port") and whose admin token is token. Every
// connection it opens first has the listener answer a challenge only a
// holder of the token can answer (see above); a connection whose listener
// fails is closed before any request, and so before the token, is sent on
// it, and the request fails with ErrNotTheAgent. Proxies are never used.
func NewAdminClient(baseURL, token string) *AdminClient {
	d := &net.Dialer{Timeout: 5 * time.Second}
	tr := &http.Transport{
		Proxy: nil,
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			conn, err := d.DialContext(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			if err := proveListener(ctx, conn, addr, token); err != nil {
				conn.Close()
				return nil, err
			}
			return conn, nil
		},
		MaxIdleConns:        2,
		IdleConnTimeout:     30 * time.Second,
		DisableCompression:  true,
		TLSHandshakeTimeout: 5 * time.Second,
	}
	return &AdminClient{BaseURL: baseURL, Token: token, HTTP: &http.Client{
		Transport: tr,
		// The token is never sent where a redirect points.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

// proveListener runs the challenge on conn, before the HTTP client uses it.
func proveListener(ctx context.Context, conn net.Conn, hostport, token string) error {
	var raw [16]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return err
	}
	nonce := hex.EncodeToString(raw[:])
	deadline := time.Now().Add(5 * time.Second)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	_ = conn.SetDeadline(deadline)
	defer conn.SetDeadline(time.Time{})
	req, err := http.NewRequest(http.MethodGet, "http://"+hostport+challengePath+"?nonce="+nonce, nil)
	if err != nil {
		return err
	}
	if err := req.Write(conn); err != nil {
		return fmt.Errorf("admin API at %s: %w", hostport, err)
	}
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, req)
	if err != nil {
		return fmt.Errorf("admin API at %s: %w", hostport, err)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, 4096))
	resp.Body.Close()
	if err != nil {
		return fmt.Errorf("admin API at %s: %w", hostport, err)
	}
	var ans struct {
		Proof string `json:"proof"`
	}
	var got []byte
	if resp.StatusCode == http.StatusOK && json.Unmarshal(body, &ans) == nil {
		got, _ = hex.DecodeString(ans.Proof)
	}
	want := challengeProof(token, nonce, conn.RemoteAddr().String(), conn.LocalAddr().String())
	if !hmac.Equal(got, want) {
		return fmt.Errorf("%w (%s answered the challenge with %s and no valid proof; the admin token was not sent)", ErrNotTheAgent, hostport, resp.Status)
	}
	if br.Buffered() > 0 || resp.Close {
		return fmt.Errorf("admin API at %s: unexpected data after the challenge", hostport)
	}
	return nil
}
