//go:build unix

package main

import (
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/onedrive-agent/onedrive-agent/connector/graphtest"
)

// TestPollInterruptedRoundGoesOn: `poll` shows the round's progress while
// it waits; interrupting it (SIGINT, as Ctrl-C) only stops the waiting, and
// the agent finishes the round.
func TestPollInterruptedRoundGoesOn(t *testing.T) {
	f := newFixture(t)
	p := f.run()
	waitUntil(t, 20*time.Second, "the first poll", func() bool {
		s := f.status()
		return s.Instances[0].LastSuccess != nil && s.Instances[0].State == "idle"
	})
	first := *f.status().Instances[0].LastSuccess

	// A slow round: 3,000 new items in a few pages, each after the first
	// held back.
	f.graph.Populate(3000, 1)
	f.graph.InjectFault(graphtest.ClassDelta, 10, graphtest.Fault{Delay: 3 * time.Second, NextLinkOnly: true})

	cli := f.start("poll", "-c", f.cfg, "finance")
	waitUntil(t, 20*time.Second, "poll to report progress", func() bool {
		return strings.Contains(cli.stderr.String(), "pages,")
	})
	if err := cli.cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	code, ok := cli.wait(5 * time.Second)
	if !ok {
		t.Fatal("poll did not stop waiting within 5s of SIGINT")
	}
	if code == 0 || !strings.Contains(cli.stderr.String(), "the round goes on in the agent") {
		t.Errorf("interrupted poll: exit %d, stderr:\n%s", code, cli.stderr.String())
	}
	waitUntil(t, 60*time.Second, "the agent to finish the round", func() bool {
		in := f.status().Instances[0]
		return in.LastSuccess != nil && in.LastSuccess.After(first) && in.State == "idle"
	})
	if _, exited := p.wait(0); exited {
		t.Fatalf("the agent exited: %v", p.err)
	}
	if log := p.stderr.String(); strings.Contains(log, "cancelled") {
		t.Errorf("the agent's log mentions a cancelled round:\n%s", log)
	}
	p.stop()
}
