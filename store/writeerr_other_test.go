//go:build !linux

package store

import "errors"

func helperWriteError(string) error { return errors.New("only on linux") }
