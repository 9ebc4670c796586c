//go:build windows

package safefile

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"unsafe"

	"golang.org/x/sys/windows"
)

// Windows has no O_NOFOLLOW; only administrators may create symbolic links
// by default, and data_dir's DACL keeps everyone else out of the folder.
const noFollow = 0

var (
	errLoop       = errors.New("no symbolic link errors on this platform")
	errNotDirLoop = errLoop
)

func checkOwnerMode(string, string, fs.FileInfo) error { return nil }

func mkdirPrivate(dir, what string) error {
	self, err := selfSID()
	if err != nil {
		return fmt.Errorf("%s %s: %w", what, dir, err)
	}
	want := ProtectedDirSDDL(self)
	fi, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if err := os.MkdirAll(filepath.Dir(dir), 0o700); err != nil {
			return err
		}
		if err := createProtected(dir, want); err != nil && !errors.Is(err, windows.ERROR_ALREADY_EXISTS) {
			return fmt.Errorf("create %s %s: %w", what, dir, err)
		}
	case err != nil:
		return err
	case !fi.IsDir():
		return fmt.Errorf("%s %s is not a directory", what, dir)
	}
	return checkOrRepair(dir, what, self, want)
}

func createProtected(dir, sddl string) error {
	sd, err := windows.SecurityDescriptorFromString(sddl)
	if err != nil {
		return err
	}
	p, err := windows.UTF16PtrFromString(dir)
	if err != nil {
		return err
	}
	sa := &windows.SecurityAttributes{SecurityDescriptor: sd}
	sa.Length = uint32(unsafe.Sizeof(*sa))
	return windows.CreateDirectory(p, sa)
}

// checkOrRepair refuses a folder another account owns and sets the
// protected DACL on one whose DACL is too open (inherited children get it
// too).
func checkOrRepair(dir, what, self, want string) error {
	sd, err := windows.GetNamedSecurityInfo(dir, windows.SE_FILE_OBJECT,
		windows.OWNER_SECURITY_INFORMATION|windows.DACL_SECURITY_INFORMATION)
	if err != nil {
		return fmt.Errorf("%s %s: read its permissions: %w", what, dir, err)
	}
	v, why := judgeDirSDDL(sd.String(), self)
	switch v {
	case dirOK:
		return nil
	case dirRefuse:
		return &UnsafeError{Path: dir, What: what, Why: why,
			Fix: "delete the folder so the agent creates it again, or take ownership as an administrator (takeown /F \"" + dir + "\" /A /R)"}
	}
	wsd, err := windows.SecurityDescriptorFromString(want)
	if err != nil {
		return err
	}
	dacl, _, err := wsd.DACL()
	if err != nil {
		return err
	}
	if err := windows.SetNamedSecurityInfo(dir, windows.SE_FILE_OBJECT,
		windows.DACL_SECURITY_INFORMATION|windows.PROTECTED_DACL_SECURITY_INFORMATION, nil, nil, dacl, nil); err != nil {
		return &UnsafeError{Path: dir, What: what, Why: why + fmt.Sprintf(", and its permissions could not be repaired (%v)", err),
			Fix: "run the agent as SYSTEM or an administrator, or restrict the folder to SYSTEM and Administrators"}
	}
	return nil
}

func selfSID() (string, error) {
	tu, err := windows.GetCurrentProcessToken().GetTokenUser()
	if err != nil {
		return "", fmt.Errorf("read this process's account: %w", err)
	}
	return tu.User.Sid.String(), nil
}

func trustProblem(fs.FileInfo) string { return "" }
