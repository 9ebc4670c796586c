//go:build windows

package store

import (
	"os"
	"syscall"
	"unsafe"
)

var procLockFileEx = syscall.NewLazyDLL("kernel32.dll").NewProc("LockFileEx")

const (
	lockfileFailImmediately = 0x1
	lockfileExclusiveLock   = 0x2
	errorLockViolation      = syscall.Errno(33)
	errorIOPending          = syscall.Errno(997)
)

// tryLock takes an exclusive lock on one byte at the far end of the file's
// range (as bbolt does), so the pid at the start stays readable.
func tryLock(f *os.File) (bool, error) {
	ol := syscall.Overlapped{Offset: 0xFFFFFFFF, OffsetHigh: 0xFFFFFFFF}
	r1, _, e1 := procLockFileEx.Call(f.Fd(), lockfileExclusiveLock|lockfileFailImmediately,
		0, 1, 0, uintptr(unsafe.Pointer(&ol)))
	if r1 != 0 {
		return true, nil
	}
	if e1 == errorLockViolation || e1 == errorIOPending {
		return false, nil
	}
	return false, e1
}
