package main

import (
	"bytes"
	"context"
	"io"
	"strings"
	"testing"
	"time"
)

// TestDemo runs the README's first command in-process: the demo must show
// changes flowing, the outage and the drain, and end with nothing lost.
func TestDemo(t *testing.T) {
	if testing.Short() {
		t.Skip("the demo takes about 10 s")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var out bytes.Buffer
	err := Main(ctx, []string{"demo", "--for", "3s"}, strings.NewReader(""), &out, io.Discard)
	if err != nil {
		t.Fatalf("demo: %v\n%s", err, out.String())
	}
	for _, want := range []string{
		"receiver <- CREATED folder /Reports",
		"receiver <- UPDATED file   /Reports/q2-final.xlsx  (was /Reports/q2.xlsx)  [name]",
		"receiver <- DELETED folder /Inbox",
		"receiver down: 28 events in 3 messages queued",
		"push connected",
		"minutes.docx arrived",
		"through the scheduled poll",
		"the link is back: push connected",
		"6. Random changes for 3s.",
		"lost: 0",
		"matches the drive: true",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("demo output lacks %q:\n%s", want, out.String())
		}
	}
}
