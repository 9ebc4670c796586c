//go:build unix

package safefile

import (
	"fmt"
	"io/fs"
	"os"
	"os/user"
	"strconv"
	"strings"
	"syscall"
)

const noFollow = syscall.O_NOFOLLOW

var (
	errLoop = syscall.ELOOP
	// FreeBSD and NetBSD answer EMLINK for O_NOFOLLOW on a link.
	errNotDirLoop = syscall.EMLINK
)

func checkOwnerMode(path, what string, fi fs.FileInfo) error {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return nil
	}
	return judgeUnix(path, what, fi.Mode(), int(st.Uid), os.Geteuid(), userName)
}

// judgeUnix is the decision of checkOwnerMode on plain values: the owner
// must be euid, and nobody but the owner may write.
func judgeUnix(path, what string, mode fs.FileMode, owner, euid int, name func(int) string) error {
	if owner != euid {
		who, sudoArg := name(owner), name(owner)
		if strings.HasPrefix(who, "uid ") {
			sudoArg = "'#" + strconv.Itoa(owner) + "'"
		}
		me := name(euid)
		if strings.HasPrefix(me, "uid ") {
			me = strconv.Itoa(euid)
		}
		return &UnsafeError{Path: path, What: what,
			Why: fmt.Sprintf("is owned by %s, not by the user this command runs as (%s)", who, name(euid)),
			Fix: fmt.Sprintf("run onedrive-agent as %s (e.g. sudo -u %s onedrive-agent ...), or chown -R %s %s if this user should own it",
				who, sudoArg, me, path)}
	}
	if mode.Perm()&0o022 != 0 {
		return &UnsafeError{Path: path, What: what,
			Why: fmt.Sprintf("is writable by group or others (mode %s)", mode.Perm()),
			Fix: "chmod go-w " + path}
	}
	return nil
}

// userName is "name" for a known uid, else "uid N".
func userName(uid int) string {
	if u, err := user.LookupId(strconv.Itoa(uid)); err == nil && u.Username != "" {
		return u.Username
	}
	return "uid " + strconv.Itoa(uid)
}

func mkdirPrivate(dir, what string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	fi, err := os.Stat(dir)
	if err != nil {
		return err
	}
	if !fi.IsDir() {
		return fmt.Errorf("%s %s is not a directory", what, dir)
	}
	return Check(dir, what, fi)
}

func trustProblem(fi fs.FileInfo) string {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return ""
	}
	return judgeTrust(fi.Mode(), int(st.Uid), os.Geteuid(), userName)
}

// judgeTrust is trustProblem on plain values.
func judgeTrust(mode fs.FileMode, owner, euid int, name func(int) string) string {
	switch {
	case mode.Perm()&0o022 != 0:
		return fmt.Sprintf("is writable by group or others (mode %s)", mode.Perm())
	case owner != euid && owner != 0:
		return fmt.Sprintf("is owned by %s, another user", name(owner))
	}
	return ""
}
