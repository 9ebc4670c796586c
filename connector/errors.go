package connector

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode"
)

var (
	// ErrResyncRequired matches a *ResyncError: the delta link is no longer valid and the caller
	// must enumerate the drive again (410 Gone, or a resync code in a Graph error).
	ErrResyncRequired = errors.New("delta link expired: a full resync is required")
	// ErrNeedsLogin means there is no usable token (none stored, or the refresh token was
	// rejected with invalid_grant): the instance needs `onedrive-agent login`.
	ErrNeedsLogin = errors.New("sign-in required (run `onedrive-agent login INSTANCE`)")
	// ErrLinkLoop is for the round driver: Graph returned a nextLink it already followed in
	// this round. Page never returns it; it is exported so callers share one sentinel.
	ErrLinkLoop = errors.New("delta nextLink loop: Graph returned a link already followed in this round")
)

// maxErrorBody bounds how much of an error response is read.
const maxErrorBody = 64 << 10

// HTTPError is a Graph response that is neither success nor one of the statuses Page handles
// itself (429/503 throttling, 401 refresh, 410 resync, transient 5xx).
type HTTPError struct {
	Status     int           // HTTP status code
	Code       string        // Graph error code, e.g. "itemNotFound" ("" if the body had none)
	Message    string        // Graph error message, shortened and cleaned
	InnerCodes []string      // nested innerError codes, outermost first
	RetryAfter time.Duration // Retry-After of the response, 0 if absent
	RequestID  string        // request-id header, for Microsoft support
}

// Error returns "graph: <status>: <code>: <message>" with the request id when known.
func (e *HTTPError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "graph: HTTP %d %s", e.Status, http.StatusText(e.Status))
	if e.Code != "" {
		b.WriteString(": " + e.Code)
		for _, c := range e.InnerCodes {
			b.WriteString("/" + c)
		}
	}
	if e.Message != "" {
		b.WriteString(": " + e.Message)
	}
	if e.RequestID != "" {
		b.WriteString(" (request-id " + e.RequestID + ")")
	}
	if h := e.hint(); h != "" {
		b.WriteString("; " + h)
	}
	return b.String()
}

// hint says what an operator can do about the common permanent failures.
func (e *HTTPError) hint() string {
	switch e.Status {
	case http.StatusUnauthorized:
		return "the sign-in was refused: run `onedrive-agent login INSTANCE` (or check client_secret for client_credentials)"
	case http.StatusForbidden:
		return "the app lacks permission for this drive: grant Files.Read.All or Sites.Read.All (application permissions need admin consent)"
	case http.StatusNotFound:
		return "the drive was not found: check [instance.drive].drive (a drive id, user:<upn> or site:<site id>)"
	}
	return ""
}

// ResyncError is returned by Page when Graph says the delta link can no longer be used.
// errors.Is(err, ErrResyncRequired) is true for it.
type ResyncError struct {
	// Location is the fresh-enumeration link from the Location header, "" if Graph gave none;
	// the caller may follow it or start again from Client.DeltaURL.
	Location string
	Status   int    // 410, or the status of an error carrying a resync code
	Code     string // Graph error code, e.g. "resyncRequired"
	Message  string
}

// Error describes the resync and what the agent does about it.
func (e *ResyncError) Error() string {
	s := fmt.Sprintf("graph: HTTP %d: delta link expired, a full resync is required", e.Status)
	if e.Code != "" {
		s += " (" + e.Code + ")"
	}
	return s
}

// Is makes errors.Is(err, ErrResyncRequired) true.
func (e *ResyncError) Is(target error) bool { return target == ErrResyncRequired }

// graphErrorBody is Graph's error envelope; encoding/json matches innerError case-insensitively.
type graphErrorBody struct {
	Error *graphErrorDetail `json:"error"`
}

type graphErrorDetail struct {
	Code       string            `json:"code"`
	Message    string            `json:"message"`
	InnerError *graphErrorDetail `json:"innerError"`
}

// DecodeGraphError reads a Graph error body. It never fails: a body that is not Graph's
// envelope gives an empty code and a cleaned excerpt as the message.
func DecodeGraphError(status int, body []byte) *HTTPError {
	e := &HTTPError{Status: status}
	var env graphErrorBody
	if err := json.Unmarshal(body, &env); err != nil || env.Error == nil {
		e.Message = cleanText(string(body), 200)
		return e
	}
	e.Code = cleanText(env.Error.Code, 100)
	e.Message = cleanText(env.Error.Message, 300)
	for in, depth := env.Error.InnerError, 0; in != nil && depth < 8; in, depth = in.InnerError, depth+1 {
		if in.Code != "" {
			e.InnerCodes = append(e.InnerCodes, cleanText(in.Code, 100))
		}
	}
	return e
}

// isResyncCode reports whether any code of e asks for a resync (Graph: resyncRequired,
// resyncChangesApplyDifferences, ..., syncStateNotFound, syncStateInvalid).
func (e *HTTPError) isResyncCode() bool {
	for _, c := range append([]string{e.Code}, e.InnerCodes...) {
		lc := strings.ToLower(c)
		if strings.HasPrefix(lc, "resync") || lc == "syncstatenotfound" || lc == "syncstateinvalid" {
			return true
		}
	}
	return false
}

// TokenError is an error answer of the identity platform's token or devicecode endpoint.
type TokenError struct {
	Status        int    // HTTP status
	Code          string // OAuth error, e.g. "invalid_grant"
	AADSTS        string // first AADSTS code, e.g. "AADSTS700082", "" if none
	Description   string // first line of error_description, shortened
	CorrelationID string
}

var aadstsRE = regexp.MustCompile(`AADSTS\d+`)

// Error returns the code, the description, and what to do about it when known.
func (e *TokenError) Error() string {
	var b strings.Builder
	b.WriteString("sign-in endpoint")
	if e.Status != 0 {
		fmt.Fprintf(&b, " (HTTP %d)", e.Status)
	}
	code := e.Code
	if code == "" {
		code = "error"
	}
	b.WriteString(": " + code)
	if e.Description != "" {
		b.WriteString(": " + e.Description)
	} else if e.AADSTS != "" {
		b.WriteString(": " + e.AADSTS)
	}
	if h := e.hint(); h != "" {
		b.WriteString(" (" + h + ")")
	}
	if e.CorrelationID != "" {
		b.WriteString(" [correlation id " + e.CorrelationID + "]")
	}
	return b.String()
}

// hint tells the user what to do for the errors people hit most.
func (e *TokenError) hint() string {
	switch e.AADSTS {
	case "AADSTS700025":
		return "the app is a public client: remove client_secret"
	case "AADSTS7000218":
		return "the app registration needs \"Allow public client flows\" enabled, or set client_secret"
	case "AADSTS7000215", "AADSTS7000222":
		return "client_secret is wrong or expired: create a new secret in the app registration"
	case "AADSTS700027":
		return "the certificate in client_certificate_file is not the one uploaded to the app registration (Certificates & secrets), or it expired"
	case "AADSTS700016":
		return "check client_id and tenant: the app is not registered in that tenant"
	case "AADSTS90002", "AADSTS900023", "AADSTS90023":
		return "check tenant"
	case "AADSTS65001":
		return "the permissions were not consented: sign in again and accept, or ask an admin to grant consent"
	case "AADSTS70011", "AADSTS70000":
		return "check scopes"
	case "AADSTS50011":
		return "redirect_url must be registered in the app registration exactly as configured"
	case "AADSTS50196":
		return "too many sign-in requests: wait a few minutes"
	}
	if e.Status >= 300 && e.Status < 400 {
		return "the sign-in endpoint answered with a redirect, which is never followed: login_url must name the identity platform itself"
	}
	switch e.Code {
	case "invalid_grant":
		return "run `onedrive-agent login` again"
	case "invalid_client":
		return "check client_id and client_secret"
	case "invalid_scope":
		return "check scopes"
	case "unauthorized_client":
		return "the app registration does not allow this flow"
	}
	return ""
}

type tokenErrorBody struct {
	Error         string `json:"error"`
	Description   string `json:"error_description"`
	CorrelationID string `json:"correlation_id"`
}

// DecodeTokenError reads an identity-platform error body (error, error_description,
// error_codes, correlation_id). It never fails and never copies anything but those fields, so
// a token in the body cannot leak into the error.
func DecodeTokenError(status int, body []byte) *TokenError {
	e := &TokenError{Status: status}
	var tb tokenErrorBody
	if json.Unmarshal(body, &tb) != nil {
		return e
	}
	e.Code = cleanText(tb.Error, 60)
	desc := tb.Description
	// Microsoft appends "\r\nTrace ID: …\r\nCorrelation ID: …\r\nTimestamp: …".
	if i := strings.IndexAny(desc, "\r\n"); i >= 0 {
		desc = desc[:i]
	}
	e.Description = cleanText(desc, 300)
	e.AADSTS = aadstsRE.FindString(e.Description)
	if e.AADSTS == "" {
		e.AADSTS = aadstsRE.FindString(tb.Description)
	}
	e.CorrelationID = cleanText(tb.CorrelationID, 64)
	return e
}

// cleanText makes server text safe for one log line or a terminal: see TerminalText.
func cleanText(s string, max int) string { return TerminalText(s, max) }

// collapseText turns control characters into spaces, collapses runs of spaces, and cuts the
// result to max runes.
func collapseText(s string, max int) string {
	var b strings.Builder
	n := 0
	space := false
	for _, r := range s {
		if n >= max {
			b.WriteString("…")
			break
		}
		if unicode.IsControl(r) || unicode.IsSpace(r) || r == unicode.ReplacementChar {
			if !space && b.Len() > 0 {
				b.WriteByte(' ')
				n++
			}
			space = true
			continue
		}
		space = false
		b.WriteRune(r)
		n++
	}
	return strings.TrimSpace(b.String())
}

// maxQuoted bounds server-supplied text (ids, links) quoted in an error.
const maxQuoted = 200

// shortText quotes server-supplied text for an error message, cut to max bytes, so a huge
// value in a response cannot make a huge error, log line or status field.
func shortText(s string, max int) string {
	if len(s) > max {
		return strconv.Quote(s[:max]) + "…"
	}
	return strconv.Quote(s)
}

// TerminalText makes server text safe to print on a terminal: escape sequences (CSI, OSC and
// other ESC sequences, C1 controls) are removed, other control characters and bidirectional
// overrides become spaces, runs of spaces collapse, and the result is cut to max runes.
func TerminalText(s string, max int) string {
	if limit := 16*max + 64; len(s) > limit {
		s = s[:limit] // what is cut here would be cut below anyway
	}
	var b strings.Builder
	rs := []rune(s)
	for i := 0; i < len(rs); i++ {
		r := rs[i]
		switch {
		case r == 0x1b || r == 0x9b || r == 0x9d || r == 0x90 || r == 0x9e || r == 0x9f:
			i = skipEscape(rs, i)
		case unicode.Is(unicode.Bidi_Control, r) || r == unicode.ReplacementChar:
			b.WriteByte(' ')
		default:
			b.WriteRune(r)
		}
	}
	return collapseText(b.String(), max)
}

// skipEscape returns the index of the last rune of the escape sequence that starts at i.
func skipEscape(rs []rune, i int) int {
	r := rs[i]
	kind := rune(0)
	switch {
	case r == 0x9b:
		kind = '['
	case r == 0x9d || r == 0x90 || r == 0x9e || r == 0x9f:
		kind = ']'
	case i+1 < len(rs):
		i++
		kind = rs[i]
	}
	switch kind {
	case '[': // CSI: parameters and intermediates up to a final byte 0x40-0x7e
		for i+1 < len(rs) {
			i++
			if rs[i] >= 0x40 && rs[i] <= 0x7e {
				return i
			}
		}
	case ']', 'P', 'X', '^', '_': // strings ended by BEL, ST (ESC \) or 0x9c
		for i+1 < len(rs) {
			i++
			switch {
			case rs[i] == 0x07 || rs[i] == 0x9c:
				return i
			case rs[i] == 0x1b && i+1 < len(rs) && rs[i+1] == '\\':
				return i + 1
			}
		}
	}
	return i // a two-character escape (or a lone ESC at the end)
}
