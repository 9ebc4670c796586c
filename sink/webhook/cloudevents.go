package webhook

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	"github.com/onedrive-agent/onedrive-agent/agent/deliver"
	"github.com/onedrive-agent/onedrive-agent/sink/opencon"
)

// Formats of the HTTP sink.
const (
	FormatOpenCon           = "opencon"            // the message body as formed
	FormatCloudEvents       = "cloudevents"        // one structured CloudEvent per request
	FormatCloudEventsBinary = "cloudevents-binary" // one binary-mode CloudEvent per request
)

// ceTypePrefix + lower-case eventType is a CloudEvent's type.
const ceTypePrefix = "com.microsoft.onedrive.item."

// sendEvents delivers m as one CloudEvent per request, in order. The
// message is delivered when every request is; the first that is not stops
// the attempt, and the next attempt sends every event again with the same
// ids (the receiver deduplicates on the CloudEvent id).
func (s *Sender) sendEvents(ctx context.Context, m *deliver.Message) deliver.Result {
	body, err := opencon.Read(m.Body)
	if err != nil {
		return deliver.Result{Outcome: deliver.Reject, Err: fmt.Errorf("message %s cannot be read: %w", m.ID, err)}
	}
	source := "/drives/" + s.driveID()
	var last deliver.Result
	for _, e := range body.Events {
		src := source
		if e.DriveID != "" {
			src = "/drives/" + e.DriveID // a tenant-wide instance's event names its drive
		}
		last = s.post(ctx, s.cloudEvent(e, src))
		if last.Outcome != deliver.Delivered {
			if last.Outcome == deliver.Split {
				last.Outcome = deliver.Reject // one event per request: nothing to split
			}
			return last
		}
	}
	return last
}

// cloudEvent forms the request of one event.
func (s *Sender) cloudEvent(e opencon.Event, source string) request {
	typ := ceTypePrefix + strings.ToLower(e.Type)
	if s.format == FormatCloudEventsBinary {
		h := http.Header{}
		h["Content-Type"] = []string{"application/json"}
		for _, a := range [][2]string{{"specversion", "1.0"}, {"id", e.ID}, {"source", source}, {"type", typ},
			{"subject", e.Path}, {"time", e.Date}} {
			if a[1] != "" {
				h[http.CanonicalHeaderKey("ce-"+a[0])] = []string{PercentEncode(a[1])}
			}
		}
		return request{id: e.ID, body: e.Data, events: 1, header: h}
	}
	b := make([]byte, 0, len(e.Data)+256+len(e.Path))
	b = append(b, `{"specversion":"1.0","id":`...)
	b = opencon.AppendString(b, e.ID)
	b = append(b, `,"source":`...)
	b = opencon.AppendString(b, source)
	b = append(b, `,"type":`...)
	b = opencon.AppendString(b, typ)
	if e.Path != "" {
		b = append(b, `,"subject":`...)
		b = opencon.AppendString(b, e.Path)
	}
	if e.Date != "" {
		b = append(b, `,"time":`...)
		b = opencon.AppendString(b, e.Date)
	}
	b = append(b, `,"datacontenttype":"application/json","data":`...)
	b = append(b, e.Data...)
	b = append(b, '}')
	return request{id: e.ID, body: b, events: 1,
		header: http.Header{"Content-Type": []string{"application/cloudevents+json"}}}
}

// PercentEncode encodes a CloudEvents attribute for a ce-* header as the
// HTTP binding requires: space, double quote, percent and every byte
// outside printable ASCII become %XX (of the UTF-8 bytes).
func PercentEncode(v string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c <= ' ' || c == '"' || c == '%' || c >= 0x7f {
			b.WriteByte('%')
			b.WriteByte(hex[c>>4])
			b.WriteByte(hex[c&0xf])
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}
