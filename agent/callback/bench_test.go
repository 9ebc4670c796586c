package callback

// Benchmarks of delivery throughput, each measured beside its raw limit in
// the same run (see /work/shared/reference/limits.md):
//
//	go test ./agent/callback -run '^$' -bench 'Delivery|Build' -benchtime 5x
//
// BenchmarkDelivery/max_events=N drains a preloaded durable store queue to a
// loopback receiver answering 204 and, in the same iteration, POSTs the same
// bodies with a bare keep-alive http.Client; it reports both rates and
// their ratio.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/onedrive-agent/onedrive-agent/connector"
	"github.com/onedrive-agent/onedrive-agent/sink/opencon"
	"github.com/onedrive-agent/onedrive-agent/store"
)

// benchRaw is a driveItem of about 800 bytes, so that an event is about
// 1 KiB in the body.
var benchRaw = json.RawMessage(`{"@odata.type":"#microsoft.graph.driveItem","createdDateTime":"2026-11-26T10:15:02Z","eTag":"\"{0F1E2D3C-4B5A-6978-8796-A5B4C3D2E1F0},3\"","id":"01ABCDEFGHIJKLMNOPQRSTUVWXYZ234567","lastModifiedDateTime":"2026-11-26T10:15:02Z","name":"invoice-2026-000123.pdf","webUrl":"https://contoso-my.sharepoint.com/personal/user_contoso_com/Documents/Invoices/2026/invoice-2026-000123.pdf","cTag":"\"c:{0F1E2D3C-4B5A-6978-8796-A5B4C3D2E1F0},3\"","size":183421,"createdBy":{"user":{"email":"user@contoso.com","id":"2f8a5b9c-1d2e-4f3a-8b7c-6d5e4f3a2b1c","displayName":"Some User"}},"lastModifiedBy":{"user":{"email":"user@contoso.com","id":"2f8a5b9c-1d2e-4f3a-8b7c-6d5e4f3a2b1c","displayName":"Some User"}},"parentReference":{"driveType":"business","driveId":"b!abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZab","id":"01ABCDEFGHPARENT","path":"/drive/root:/Invoices/2026"},"file":{"mimeType":"application/pdf","hashes":{"quickXorHash":"AAAAAAAAAAAAAAAAAAAAAAAAAAA="}},"fileSystemInfo":{"createdDateTime":"2026-11-26T10:15:02Z","lastModifiedDateTime":"2026-11-26T10:15:02Z"}}`)

func benchEvents(n int) []Event {
	evs := make([]Event, n)
	for i := range evs {
		evs[i] = Event{Type: TypeUpdated, ItemID: "01ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", ParentID: "01ABCDEFGHPARENT",
			Name: "invoice-2026-000123.pdf", Path: "/Invoices/2026/invoice-2026-000123.pdf", Changes: []string{"content", "metadata"},
			Date: testDate, Raw: benchRaw}
	}
	return evs
}

func BenchmarkDelivery(b *testing.B) {
	for _, tc := range []struct{ per, messages int }{{100, 300}, {10, 1000}, {1, 3000}} {
		b.Run(fmt.Sprintf("max_events=%d", tc.per), func(b *testing.B) { benchDelivery(b, tc.per, tc.messages) })
	}
}

func benchDelivery(b *testing.B, per, messages int) {
	rc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusNoContent)
	}))
	defer rc.Close()
	client, err := connector.NewHTTPClient(connector.HTTPOptions{})
	if err != nil {
		b.Fatal(err)
	}
	bare := &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}
	db, in := openTestStore(b, b.TempDir(), os.Getenv("BENCH_NOSYNC") != "") // durable commits, as in production
	defer db.Close()
	evs := benchEvents(messages * per)

	var agentTime, limitTime time.Duration
	var bytesSent int64
	for range b.N {
		b.StopTimer()
		var msgs []Message
		err := db.Update(in.Name, func(tx *store.Tx) error {
			var err error
			msgs, err = Build(tx, Meta{DBID: db.ID(), InstanceID: in.ID, Name: in.Name, MaxEvents: per}, evs, time.Now())
			if err != nil {
				return err
			}
			return tx.Enqueue(msgs...)
		})
		if err != nil {
			b.Fatal(err)
		}
		var delivered atomic.Int64
		done := make(chan struct{})
		d, err := New(Config{Instance: in.Name, URL: rc.URL}, StoreQueue(db, in.Name), client, Observer{
			Delivered: func(int, time.Duration) {
				if delivered.Add(1) == int64(messages) {
					close(done)
				}
			},
		}, nil)
		if err != nil {
			b.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		b.StartTimer()

		start := time.Now()
		errc := make(chan error, 1)
		go func() { errc <- d.Run(ctx) }()
		<-done
		cancel()
		if err := <-errc; err != nil {
			b.Fatal(err)
		}
		agentTime += time.Since(start)

		start = time.Now()
		for _, m := range msgs {
			resp, err := bare.Post(rc.URL, "application/json", bytes.NewReader(m.Body))
			if err != nil {
				b.Fatal(err)
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			bytesSent += int64(len(m.Body))
		}
		limitTime += time.Since(start)
		b.StopTimer()
		if s, _ := db.Stats(in.Name); s.QueuedMessages != 0 {
			b.Fatalf("%d messages left in the queue", s.QueuedMessages)
		}
		b.StartTimer()
	}
	events := float64(b.N * messages * per)
	agent, limit := events/agentTime.Seconds(), events/limitTime.Seconds()
	b.ReportMetric(agent, "events/s")
	b.ReportMetric(limit, "bare_events/s")
	b.ReportMetric(agent/limit, "ratio")
	b.ReportMetric(float64(bytesSent)/float64(b.N*messages*per), "B/event")
	b.Logf("max_events=%d: agent %.0f events/s (%.0f msg/s), bare client %.0f events/s, ratio %.2f",
		per, agent, agent/float64(per), limit, agent/limit)
}

// BenchmarkBuild compares the append-based encoder with encoding/json over
// a pre-built struct for the same body.
func BenchmarkBuild(b *testing.B) {
	evs := benchEvents(100)
	meta := Meta{DBID: "0123456789abcdef", InstanceID: 1, Name: "finance", Tags: []string{"finance"}, MaxEvents: 10}
	b.Run("append", func(b *testing.B) {
		seq := &seqCounter{}
		b.ReportAllocs()
		for range b.N {
			if _, err := Build(seq, meta, evs, testPoll); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N*len(evs))/b.Elapsed().Seconds(), "events/s")
	})
	b.Run("encoding_json", func(b *testing.B) {
		seq := &seqCounter{}
		b.ReportAllocs()
		for range b.N {
			if _, err := buildWithEncodingJSON(seq, meta, evs, testPoll); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N*len(evs))/b.Elapsed().Seconds(), "events/s")
	})
}

// The encoding/json variant of Build, for the comparison only.
type jsonEvent struct {
	EventID        string   `json:"eventId"`
	EventType      string   `json:"eventType"`
	ObjectType     string   `json:"objectType"`
	ItemType       string   `json:"itemType"`
	ObjectID       string   `json:"objectId"`
	ElementKey     string   `json:"elementKey"`
	HubKey         string   `json:"hubKey"`
	Date           string   `json:"date"`
	PollDate       string   `json:"pollDate"`
	Path           string   `json:"path"`
	NewPath        string   `json:"newPath,omitempty"`
	OldPath        string   `json:"oldPath,omitempty"`
	ParentObjectID string   `json:"parentObjectId"`
	Changes        []string `json:"changes,omitempty"`
}

type jsonBody struct {
	Message struct {
		EventID      string   `json:"eventId"`
		ElementKey   string   `json:"elementKey"`
		InstanceID   uint32   `json:"instanceId"`
		InstanceID2  uint32   `json:"instance_id"`
		InstanceName string   `json:"instanceName"`
		InstanceTags []string `json:"instanceTags"`
		Raw          struct {
			ObjectType string            `json:"objectType"`
			Changes    []json.RawMessage `json:"changes"`
		} `json:"raw"`
		Events []jsonEvent `json:"events"`
	} `json:"message"`
}

func buildWithEncodingJSON(tx SeqTx, meta Meta, events []Event, pollDate time.Time) ([]Message, error) {
	prefix := idPrefix(meta.DBID, meta.InstanceID)
	var out []Message
	for start := 0; start < len(events); start += meta.MaxEvents {
		chunk := events[start:min(start+meta.MaxEvents, len(events))]
		seq, _ := tx.NextSeq()
		var body jsonBody
		m := &body.Message
		m.EventID = string(opencon.AppendID(nil, prefix, seq))
		m.ElementKey, m.InstanceID, m.InstanceID2, m.InstanceName, m.InstanceTags = opencon.ElementKey, meta.InstanceID, meta.InstanceID, meta.Name, meta.Tags
		m.Raw.ObjectType = opencon.ObjectType
		for _, e := range chunk {
			m.Raw.Changes = append(m.Raw.Changes, e.Raw)
			seq, _ := tx.NextSeq()
			je := jsonEvent{EventID: string(opencon.AppendID(nil, prefix, seq)), EventType: e.Type, ObjectType: opencon.ObjectType,
				ItemType: "file", ObjectID: e.ItemID, ElementKey: opencon.ElementKey, HubKey: opencon.HubKey,
				Date: e.Date.UTC().Format(opencon.TimeLayout), PollDate: pollDate.UTC().Format(opencon.TimeLayout),
				Path: e.Path, OldPath: e.OldPath, ParentObjectID: e.ParentID, Changes: e.Changes}
			if e.Type != TypeDeleted {
				je.NewPath = e.Path
			}
			m.Events = append(m.Events, je)
		}
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(&body); err != nil {
			return nil, err
		}
		out = append(out, Message{ID: m.EventID, Events: len(chunk), Body: bytes.TrimSuffix(buf.Bytes(), []byte("\n"))})
	}
	return out, nil
}

// TestBuildWithEncodingJSON_Same keeps the benchmark's comparison honest:
// both encoders give the same bytes.
func TestBuildWithEncodingJSON_Same(t *testing.T) {
	evs := benchEvents(25)
	evs[3].OldPath, evs[4].Path = "/old", `/"quoted" <b>`
	meta := Meta{DBID: "d", InstanceID: 3, Name: "n", Tags: []string{"t"}, MaxEvents: 10}
	a, err := Build(&seqCounter{}, meta, evs, testPoll)
	if err != nil {
		t.Fatal(err)
	}
	j, _ := buildWithEncodingJSON(&seqCounter{}, meta, evs, testPoll)
	for i := range a {
		if !strings.EqualFold(string(a[i].Body), string(j[i].Body)) {
			t.Errorf("message %d differs:\n%s\n%s", i, a[i].Body, j[i].Body)
		}
	}
}
