//go:build !unix && !windows

package safefile

import (
	"errors"
	"io/fs"
	"os"
)

const noFollow = 0

var (
	errLoop       = errors.New("no symbolic link errors on this platform")
	errNotDirLoop = errLoop
)

func checkOwnerMode(string, string, fs.FileInfo) error { return nil }

func mkdirPrivate(dir, _ string) error { return os.MkdirAll(dir, 0o700) }

func trustProblem(fs.FileInfo) string { return "" }
