//go:build !unix

package main

import "os"

// reloadSignal: Windows has no SIGHUP; a configuration change needs
// `onedrive-agent restart`.
func reloadSignal() (<-chan os.Signal, func()) {
	return nil, func() {}
}
