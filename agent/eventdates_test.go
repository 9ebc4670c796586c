package agent

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestEventDates(t *testing.T) {
	body := []byte(`{"message":{"eventId":"m","raw":{"changes":[{"date":"2020-01-01T00:00:00Z"}]},"events":[` +
		`{"eventType":"CREATED","date":"2026-12-03T10:00:00.5Z"},{"eventType":"DELETED","date":"2026-12-03T10:00:01Z"}]}}`)
	got, err := EventDates(body)
	if err != nil || len(got) != 2 || !got[0].Equal(time.Date(2026, 12, 3, 10, 0, 0, 5e8, time.UTC)) {
		t.Fatalf("EventDates = %v, %v", got, err)
	}
	if _, err := EventDates([]byte("not json")); err == nil {
		t.Fatal("EventDates accepted a body that is not JSON")
	}
}

// eventDatesJSON is EventDates with encoding/json: the reference.
func eventDatesJSON(body []byte) ([]time.Time, error) {
	var b struct {
		Message struct {
			Events []struct {
				Date time.Time `json:"date"`
			} `json:"events"`
		} `json:"message"`
	}
	if err := json.Unmarshal(body, &b); err != nil {
		return nil, err
	}
	var out []time.Time
	for _, e := range b.Message.Events {
		if !e.Date.IsZero() {
			out = append(out, e.Date)
		}
	}
	return out, nil
}

// eventBody is a callback body of n events whose Graph items hold what a
// scanner could trip on: nested objects and arrays, escaped quotes and
// backslashes, numbers, literals, and "date" keys of their own.
func eventBody(n int) []byte {
	var b strings.Builder
	b.WriteString(`{"message":{"eventId":"m-1","instance":"fin","events":[`)
	for i := range n {
		if i > 0 {
			b.WriteString(",")
		}
		date := fmt.Sprintf(`"2026-12-03T10:%02d:%02d.%03dZ"`, i/60%60, i%60, i%1000)
		if i%7 == 3 {
			date = "null"
		}
		fmt.Fprintf(&b, `{"eventId":"e-%d","eventType":"CREATED","path":"/a \"q\" \\ b/%d.txt","date":%s,`+
			`"data":{"id":"X%d","size":%d,"deleted":null,"file":{"hashes":{"quickXorHash":"a\\/b=="}},`+
			`"date":"1999-01-01T00:00:00Z","list":[1,-2.5e3,true,false,{"date":"bad"},["x"]]}}`, i, i, date, i, i*1000)
	}
	b.WriteString(`],"count":` + fmt.Sprint(n) + `}}`)
	return []byte(b.String())
}

// agentBody is eventBody laid out as the agent builds it: Graph items in
// raw.changes first (holding "events" arrays of their own), the events last.
func agentBody(n int) []byte {
	inner := eventBody(n)
	events := inner[bytes.Index(inner, []byte(`"events":[`)):bytes.LastIndex(inner, []byte(`,"count"`))]
	var b strings.Builder
	b.WriteString(`{"message":{"eventId":"m-1","raw":{"changes":[`)
	for i := range n {
		if i > 0 {
			b.WriteString(",")
		}
		fmt.Fprintf(&b, `{"id":"X%d","events":[{"date":"2001-01-01T00:00:00Z"}],"name":"a,\"events\":[ %d"}`, i, i)
	}
	b.WriteString(`]},`)
	b.Write(events)
	b.WriteString(`}}`)
	return []byte(b.String())
}

// TestEventDates_LikeJSON: the scanner finds the dates encoding/json finds,
// on bodies whose items hold dates and escapes of their own, and refuses
// what is not a whole JSON body.
func TestEventDates_LikeJSON(t *testing.T) {
	var bodies [][]byte
	for _, n := range []int{0, 1, 10, 100} {
		bodies = append(bodies, eventBody(n), agentBody(n))
	}
	for _, body := range bodies {
		n := bytes.Count(body, []byte(`"eventId":"e-`))
		want, err := eventDatesJSON(body)
		if err != nil {
			t.Fatalf("reference: %v\n%s", err, body)
		}
		got, err := EventDates(body)
		if err != nil || !slices.EqualFunc(got, want, time.Time.Equal) {
			t.Errorf("%d events: EventDates = %d dates, %v; want %d", n, len(got), err, len(want))
		}
	}
	body, last := eventBody(3), agentBody(3)
	for _, bad := range [][]byte{body[:len(body)-1], body[:len(body)/2], append(slices.Clone(body), 'x'),
		last[:len(last)-1], append(slices.Clone(last), 'x'), last[len(last)/2:],
		[]byte(`{"message":{"events":[{"date":"yesterday"}]}}`), nil} {
		if _, err := EventDates(bad); err == nil {
			t.Errorf("EventDates accepted %.60q…", bad)
		}
	}
}

func BenchmarkEventDates(b *testing.B) {
	body, agent := eventBody(100), agentBody(100)
	b.SetBytes(int64(len(body)))
	for _, bc := range []struct {
		name string
		f    func([]byte) ([]time.Time, error)
	}{{"scan", EventDates}, {"encoding_json", eventDatesJSON}, {"scan_agent_layout", func([]byte) ([]time.Time, error) { return EventDates(agent) }}} {
		b.Run(bc.name, func(b *testing.B) {
			for range b.N {
				if _, err := bc.f(body); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
