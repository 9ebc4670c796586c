package connector

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestDecodeGraphError(t *testing.T) {
	tests := []struct {
		name, body string
		code, msg  string
		inner      []string
		resync     bool
	}{
		{"throttle", `{"error":{"code":"activityLimitReached","message":"The request has been throttled","innerError":{"code":"throttledRequest","innerError":{"code":"quota"},"date":"x"}}}`,
			"activityLimitReached", "The request has been throttled", []string{"throttledRequest", "quota"}, false},
		{"resync lower-case innererror", `{"error":{"code":"resyncRequired","message":"Resync required.","innererror":{"code":"resyncChangesApplyDifferences"}}}`,
			"resyncRequired", "Resync required.", []string{"resyncChangesApplyDifferences"}, true},
		{"sync state", `{"error":{"code":"syncStateNotFound","message":"m"}}`, "syncStateNotFound", "m", nil, true},
		{"not json", `<html>Bad gateway</html>`, "", "<html>Bad gateway</html>", nil, false},
		{"empty", ``, "", "", nil, false},
		{"no error key", `{"value":[]}`, "", `{"value":[]}`, nil, false},
		{"control chars", "{\"error\":{\"code\":\"x\\u0000y\",\"message\":\"line1\\r\\nline2\\ttab\"}}", "x y", "line1 line2 tab", nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := DecodeGraphError(418, []byte(tt.body))
			if e.Status != 418 || e.Code != tt.code || e.Message != tt.msg || strings.Join(e.InnerCodes, ",") != strings.Join(tt.inner, ",") {
				t.Errorf("got %+v", e)
			}
			if e.isResyncCode() != tt.resync {
				t.Errorf("isResyncCode = %v", e.isResyncCode())
			}
		})
	}
}

func TestDecodeTokenError(t *testing.T) {
	tests := []struct {
		name, body             string
		code, aadsts, hintPart string
	}{
		{"invalid_grant idle", `{"error":"invalid_grant","error_description":"AADSTS700082: The refresh token has expired due to inactivity.\r\nTrace ID: 1\r\nCorrelation ID: 2","error_codes":[700082],"correlation_id":"2"}`,
			"invalid_grant", "AADSTS700082", "login"},
		{"public client secret", `{"error":"invalid_client","error_description":"AADSTS700025: Client is public so neither 'client_assertion' nor 'client_secret' should be presented."}`,
			"invalid_client", "AADSTS700025", "remove client_secret"},
		{"needs public flows", `{"error":"invalid_client","error_description":"AADSTS7000218: The request body must contain the following parameter: 'client_assertion' or 'client_secret'."}`,
			"invalid_client", "AADSTS7000218", "Allow public client flows"},
		{"pending", `{"error":"authorization_pending","error_description":"AADSTS70016: OAuth 2.0 device flow error."}`, "authorization_pending", "AADSTS70016", ""},
		{"html", `<html>oops</html>`, "", "", ""},
		{"token in body is not copied", `{"access_token":"eyJ-secret","refresh_token":"1.AQ-secret"}`, "", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := DecodeTokenError(400, []byte(tt.body))
			if e.Code != tt.code || e.AADSTS != tt.aadsts {
				t.Errorf("got %+v", e)
			}
			msg := e.Error()
			if tt.hintPart != "" && !strings.Contains(msg, tt.hintPart) {
				t.Errorf("message %q lacks the hint %q", msg, tt.hintPart)
			}
			if strings.Contains(msg, "Trace ID") || strings.Contains(msg, "secret") && !strings.Contains(tt.body, "client_secret") {
				t.Errorf("message %q carries more than the first line", msg)
			}
			if strings.Contains(msg, "eyJ-secret") || strings.Contains(msg, "1.AQ-secret") {
				t.Errorf("message leaks a token: %q", msg)
			}
		})
	}
}

func TestHTTPError_Error(t *testing.T) {
	e := &HTTPError{Status: 404, Code: "itemNotFound", InnerCodes: []string{"a"}, Message: "gone", RequestID: "r1"}
	if got, want := e.Error(), "graph: HTTP 404 Not Found: itemNotFound/a: gone (request-id r1); the drive was not found: check [instance.drive].drive (a drive id, user:<upn> or site:<site id>)"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	re := &ResyncError{Status: 410, Code: "resyncRequired"}
	if !errors.Is(re, ErrResyncRequired) || !strings.Contains(re.Error(), "resync") {
		t.Errorf("ResyncError = %v", re)
	}
}

func TestCleanText(t *testing.T) {
	if got := cleanText("  a\x00\x01b \n\n c ", 100); got != "a b c" {
		t.Errorf("got %q", got)
	}
	long := cleanText(strings.Repeat("é", 500), 10)
	if utf8.RuneCountInString(long) != 11 || !utf8.ValidString(long) {
		t.Errorf("got %q", long)
	}
	if got := cleanText("a\xffb", 10); got != "a b" {
		t.Errorf("invalid UTF-8: %q", got)
	}
}
