package webhook

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	cehttp "github.com/cloudevents/sdk-go/v2/protocol/http"

	"github.com/onedrive-agent/onedrive-agent/agent/deliver"
	"github.com/onedrive-agent/onedrive-agent/sink/opencon"
	"github.com/onedrive-agent/onedrive-agent/sink/sinktest"
)

// ceRequest is a request the CloudEvents test receiver got.
type ceRequest struct {
	header http.Header
	body   []byte
}

func TestCloudEvents_DecodedBySDK(t *testing.T) {
	msg := sinktest.Message("m-1",
		sinktest.Event{ID: "e-1", Type: "CREATED", ObjectID: "A", Path: "/Rapports 2026/été \"Q3\" 100%.pdf"},
		sinktest.Event{ID: "e-2", Type: "DELETED", ObjectID: "B", Path: "/old.txt"},
	)
	body, err := opencon.Read(msg.Body)
	if err != nil {
		t.Fatal(err)
	}
	for _, format := range []string{FormatCloudEvents, FormatCloudEventsBinary} {
		t.Run(format, func(t *testing.T) {
			var mu sync.Mutex
			var got []ceRequest
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				b, _ := io.ReadAll(r.Body)
				mu.Lock()
				got = append(got, ceRequest{r.Header.Clone(), b})
				mu.Unlock()
				w.WriteHeader(http.StatusAccepted)
			}))
			defer srv.Close()
			s, err := New(Config{Instance: "finance", URL: srv.URL, Format: format, SignatureKey: "oc-key",
				WebhookSecret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", DriveID: func() string { return "b!drive-1" }}, nil)
			if err != nil {
				t.Fatal(err)
			}
			if r := s.Send(context.Background(), &msg); r.Outcome != deliver.Delivered {
				t.Fatalf("got %v: %v", r.Outcome, r.Err)
			}
			if len(got) != 2 {
				t.Fatalf("%d requests, want one per event", len(got))
			}
			for i, rq := range got {
				e := body.Events[i]
				req := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(string(rq.body)))
				req.Header = rq.header
				ev, err := cehttp.NewEventFromHTTPRequest(req)
				if err != nil {
					t.Fatalf("request %d: the SDK cannot decode it: %v\nheaders %v\nbody %s", i, err, rq.header, rq.body)
				}
				if err := ev.Validate(); err != nil {
					t.Errorf("request %d: invalid event: %v", i, err)
				}
				wantType := "com.microsoft.onedrive.item." + strings.ToLower(e.Type)
				subject := ev.Subject()
				if format == FormatCloudEventsBinary {
					// The SDK hands ce-* header values out as sent, still
					// percent-encoded (HTTP binding 3.1.3.2).
					if subject, err = url.PathUnescape(subject); err != nil {
						t.Errorf("request %d: subject: %v", i, err)
					}
				}
				if ev.SpecVersion() != "1.0" || ev.ID() != e.ID || ev.Source() != "/drives/b!drive-1" || ev.Type() != wantType ||
					subject != e.Path || ev.Time().UTC().Format(time.RFC3339) != e.Date || ev.DataContentType() != "application/json" ||
					string(ev.Data()) != string(e.Data) {
					t.Errorf("request %d: event %s\ndata %s\nwant id %s subject %q data %s", i, ev, ev.Data(), e.ID, e.Path, e.Data)
				}
				if rq.header.Get("Elements-Webhook-Id") != e.ID || rq.header.Get("Webhook-Id") != e.ID {
					t.Errorf("request %d: id headers %v", i, rq.header)
				}
				mac := hmac.New(sha256.New, []byte("oc-key"))
				mac.Write(rq.body)
				if want := "sha256=" + base64.StdEncoding.EncodeToString(mac.Sum(nil)); rq.header.Get("Elements-Webhook-Signature") != want {
					t.Errorf("request %d: signature not over the body as sent", i)
				}
				wantCT := "application/cloudevents+json"
				if format == FormatCloudEventsBinary {
					wantCT = "application/json"
					if string(rq.body) != string(e.Data) {
						t.Errorf("request %d: binary body is not the data", i)
					}
				}
				if ct := rq.header.Get("Content-Type"); ct != wantCT {
					t.Errorf("request %d: Content-Type %q, want %q", i, ct, wantCT)
				}
			}
			if format == FormatCloudEventsBinary {
				if h := got[0].header.Get("Ce-Subject"); h != "/Rapports%202026/%C3%A9t%C3%A9%20%22Q3%22%20100%25.pdf" {
					t.Errorf("ce-subject %q is not percent-encoded", h)
				}
			}
		})
	}
}

// TestCloudEvents_PartialFailure: a message is delivered only when every
// event is; a failure sends every event again with the same ids.
func TestCloudEvents_PartialFailure(t *testing.T) {
	var mu sync.Mutex
	var ids []string
	fails := 1
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		id := r.Header.Get("Ce-Id")
		ids = append(ids, id)
		if id == "e-2" && fails > 0 {
			fails--
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()
	s, err := New(Config{Instance: "finance", URL: srv.URL, Format: FormatCloudEventsBinary}, nil)
	if err != nil {
		t.Fatal(err)
	}
	msg := sinktest.Message("m-1", sinktest.Event{ID: "e-1", Type: "CREATED", ObjectID: "A"},
		sinktest.Event{ID: "e-2", Type: "UPDATED", ObjectID: "A"}, sinktest.Event{ID: "e-3", Type: "UPDATED", ObjectID: "B"})
	if r := s.Send(context.Background(), &msg); r.Outcome != deliver.Retry || r.Code != 503 {
		t.Fatalf("first attempt: %v %d", r.Outcome, r.Code)
	}
	if r := s.Send(context.Background(), &msg); r.Outcome != deliver.Delivered {
		t.Fatalf("second attempt: %v: %v", r.Outcome, r.Err)
	}
	if got := strings.Join(ids, ","); got != "e-1,e-2,e-1,e-2,e-3" {
		t.Errorf("requests %s", got)
	}
}

func TestPercentEncode(t *testing.T) {
	for in, want := range map[string]string{
		"plain-ASCII_1.0": "plain-ASCII_1.0",
		"a b":             "a%20b",
		`"q"`:             "%22q%22",
		"100%":            "100%25",
		"é":               "%C3%A9",
		"tab\tnl\n":       "tab%09nl%0A",
		"~!#$&'()*+,/:;":  "~!#$&'()*+,/:;",
	} {
		if got := PercentEncode(in); got != want {
			t.Errorf("PercentEncode(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestCloudEvents_SourceOfATenantDrive: an event that names its drive (a
// tenant-wide instance) has that drive as its source.
func TestCloudEvents_SourceOfATenantDrive(t *testing.T) {
	var got []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = append(got, r.Header.Get("Ce-Source"))
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()
	s, err := New(Config{Instance: "all", URL: srv.URL, Format: FormatCloudEventsBinary, DriveID: func() string { return "" }}, nil)
	if err != nil {
		t.Fatal(err)
	}
	msg := sinktest.Message("m-1", sinktest.Event{ID: "e-1", Type: "CREATED", ObjectID: "A", DriveID: "b!user-drive"},
		sinktest.Event{ID: "e-2", Type: "CREATED", ObjectID: "B"})
	if r := s.Send(context.Background(), &msg); r.Outcome != deliver.Delivered {
		t.Fatalf("got %v: %v", r.Outcome, r.Err)
	}
	if strings.Join(got, " ") != "/drives/b!user-drive /drives/unknown" {
		t.Errorf("sources %v", got)
	}
}
