package safefile

import "io/fs"

// TrustProblem says why a file the agent reads its configuration or a
// secret from could have been written by another user: it is writable by
// group or others, or owned by a user other than this one and root. It
// returns "" when there is nothing to say (always on Windows).
func TrustProblem(fi fs.FileInfo) string {
	return trustProblem(fi)
}
