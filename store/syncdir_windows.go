//go:build windows

package store

// syncDir is a no-op: NTFS journals the rename, and Windows cannot fsync a
// directory handle opened this way.
func syncDir(string) error { return nil }
