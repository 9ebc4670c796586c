//go:build benchprofile

package main

// Built only with -tags benchprofile (BenchmarkEndToEnd with
// ONEDRIVE_AGENT_BENCH_PROFILE): serves net/http/pprof on the address in
// ONEDRIVE_AGENT_PPROF so the benchmark can profile the running agent.
// Release builds never include it.

import (
	"net/http"
	_ "net/http/pprof"
	"os"
)

func init() {
	if addr := os.Getenv("ONEDRIVE_AGENT_PPROF"); addr != "" {
		go func() { _ = http.ListenAndServe(addr, nil) }()
	}
}
