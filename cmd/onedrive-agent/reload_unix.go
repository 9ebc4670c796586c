//go:build unix

package main

import (
	"os"
	"os/signal"
	"syscall"
)

// reloadSignal delivers SIGHUP, which asks `run` to reload its
// configuration; stop restores the default handling.
func reloadSignal() (<-chan os.Signal, func()) {
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, syscall.SIGHUP)
	return ch, func() { signal.Stop(ch) }
}
