package webhook

import (
	"net/http"
	"testing"
	"time"

	"github.com/onedrive-agent/onedrive-agent/agent/deliver"
)

func TestClassify(t *testing.T) {
	for _, tc := range []struct {
		status, events int
		want           deliver.Outcome
	}{
		{200, 1, deliver.Delivered}, {201, 10, deliver.Delivered}, {202, 1, deliver.Delivered}, {204, 1, deliver.Delivered}, {299, 3, deliver.Delivered},
		{400, 1, deliver.Reject}, {400, 10, deliver.Reject}, {413, 1, deliver.Reject}, {413, 0, deliver.Reject}, {415, 5, deliver.Reject}, {422, 1, deliver.Reject},
		{413, 2, deliver.Split}, {413, 10, deliver.Split},
		{0, 1, deliver.Retry}, {100, 1, deliver.Retry}, {199, 1, deliver.Retry}, {300, 1, deliver.Retry}, {301, 1, deliver.Retry}, {302, 1, deliver.Retry},
		{304, 1, deliver.Retry}, {307, 1, deliver.Retry}, {308, 1, deliver.Retry}, {401, 1, deliver.Retry}, {403, 1, deliver.Retry}, {404, 1, deliver.Retry},
		{405, 1, deliver.Retry}, {408, 1, deliver.Retry}, {409, 1, deliver.Retry}, {410, 1, deliver.Retry}, {429, 1, deliver.Retry},
		{500, 1, deliver.Retry}, {502, 10, deliver.Retry}, {503, 1, deliver.Retry}, {504, 1, deliver.Retry}, {599, 1, deliver.Retry},
	} {
		if got := Classify(tc.status, tc.events); got != tc.want {
			t.Errorf("Classify(%d, %d) = %v, want %v", tc.status, tc.events, got, tc.want)
		}
	}
}

func FuzzClassify(f *testing.F) {
	for _, s := range []int{0, 200, 204, 302, 400, 413, 415, 422, 429, 500, -1, 1000} {
		f.Add(s, 1)
		f.Add(s, 10)
	}
	f.Fuzz(func(t *testing.T, status, events int) {
		got := Classify(status, events)
		var want deliver.Outcome
		switch {
		case status/100 == 2 && status >= 200:
			want = deliver.Delivered
		case status == 413 && events >= 2:
			want = deliver.Split
		case status == 400 || status == 413 || status == 415 || status == 422:
			want = deliver.Reject
		default:
			want = deliver.Retry
		}
		if got != want {
			t.Fatalf("Classify(%d, %d) = %v, want %v", status, events, got, want)
		}
	})
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, tc := range []struct {
		v    string
		want time.Duration
		ok   bool
	}{
		{"", 0, false},
		{"0", 0, true},
		{"7", 7 * time.Second, true},
		{" 120 ", 2 * time.Minute, true},
		{"3600", time.Hour, true},
		{"86400", MaxRetryAfter, true},
		{"99999999999999999999999", MaxRetryAfter, true},
		{"-5", 0, false},
		{"1.5", 0, false},
		{"soon", 0, false},
		{now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second, true},
		{now.Add(-time.Hour).Format(http.TimeFormat), 0, true},
		{now.Add(48 * time.Hour).Format(http.TimeFormat), MaxRetryAfter, true},
		{"Friday, 02-Jan-26 03:05:05 GMT", time.Minute, true}, // RFC 850
		{"Fri Jan  2 03:04:35 2026", 30 * time.Second, true},  // asctime
	} {
		got, ok := ParseRetryAfter(tc.v, now)
		if got != tc.want || ok != tc.ok {
			t.Errorf("ParseRetryAfter(%q) = %v, %v; want %v, %v", tc.v, got, ok, tc.want, tc.ok)
		}
	}
}

func FuzzParseRetryAfter(f *testing.F) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, s := range []string{"", "0", "5", "3601", "-1", "1e3", "Fri, 02 Jan 2026 03:05:05 GMT", "Mon, 01 Jan 0001 00:00:00 GMT", "18446744073709551616"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		d, ok := ParseRetryAfter(v, now)
		if d < 0 || d > MaxRetryAfter {
			t.Fatalf("ParseRetryAfter(%q) = %v outside [0, %v]", v, d, MaxRetryAfter)
		}
		if !ok && d != 0 {
			t.Fatalf("ParseRetryAfter(%q) = %v with ok=false", v, d)
		}
	})
}
