//go:build !windows

package store

import "syscall"

// diskFullErrnos are the errors IsDiskFull recognizes.
var diskFullErrnos = []error{syscall.ENOSPC, syscall.EDQUOT}
