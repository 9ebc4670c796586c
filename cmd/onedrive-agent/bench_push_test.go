//go:build linux

package main

import (
	"fmt"
	"testing"
	"time"

	"github.com/onedrive-agent/onedrive-agent/connector/graphtest"
)

// BenchmarkIdlePush is BenchmarkIdle with push connected: two signed-in instances (interval
// 1h) whose notification links stay open, pinged every 25 s as Graph does, after their first
// poll. Reports peak RSS and idle CPU beside the goals, and the Graph requests made while
// idle (want 0: pings are answered on the open link).
//
//	go test ./cmd/onedrive-agent -run '^$' -bench IdlePush -benchtime 1x
func BenchmarkIdlePush(b *testing.B) {
	idle := benchIdleWindow(b)
	for range b.N {
		f, _ := newPushFixture(b, graphtest.Options{}, "1h", "auto", "finance", "legal")
		root := f.graph.Root()
		for i := range 20 {
			dir := f.graph.CreateFolder(root, fmt.Sprintf("dir-%02d", i))
			for j := range 25 {
				f.graph.CreateFile(dir, fmt.Sprintf("file-%03d.txt", j), []byte{byte(i), byte(j)})
			}
		}
		requests := func() int {
			return f.graph.Count(graphtest.ClassGraph, 0) + f.graph.Count(graphtest.ClassSubscription, 0) + f.graph.Count(graphtest.ClassPush, 0)
		}
		var before, after int
		fig := measureIdleWith(b, f, 2, idle, func() { before = requests() }, func() { after = requests() })
		if links := f.graph.PushLinks(); links != 0 {
			b.Logf("%d links still open after the agent stopped", links)
		}
		b.ReportMetric(fig.peakMiB, "peak-RSS-MiB")
		b.ReportMetric(fig.rssMiB, "idle-RSS-MiB")
		b.ReportMetric(fig.cpuPerHour, "idle-CPU-s/h")
		b.ReportMetric(fig.schedPerHour, "idle-sched-CPU-s/h")
		b.ReportMetric(float64(after-before), "idle-graph-requests")
		b.ReportMetric(0, "ns/op")
		b.Logf("push connected: peak RSS (VmHWM) %.1f MiB, goal <= %.0f MiB: %s; RSS at the end %.1f MiB",
			fig.peakMiB, goalPeakRSSMiB, verdict(fig.peakMiB <= goalPeakRSSMiB), fig.rssMiB)
		b.Logf("push connected: CPU %v over %v idle = %.2f s/hour, goal <= %.0f s/hour: %s; schedstat %.3f s/hour",
			fig.cpu, fig.window.Round(time.Millisecond), fig.cpuPerHour, goalIdleCPUPerH, verdict(fig.cpuPerHour <= goalIdleCPUPerH), fig.schedPerHour)
		b.Logf("push connected: %d Graph requests (delta, drive, subscription, handshakes) during the idle window, want 0", after-before)
	}
}
