package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/onedrive-agent/onedrive-agent/agent/config"
)

// checkDataDir tells whether data_dir can hold the database: an existing
// directory, or a path whose nearest existing parent is a directory this
// user can create it in. It changes nothing but a probe file it removes.
func checkDataDir(cfg *config.Config) error {
	dir := cfg.DataDir
	st, err := os.Stat(dir)
	switch {
	case err == nil && !st.IsDir():
		return fmt.Errorf("data_dir %s (in %s) is a file, not a directory", dir, cfg.File)
	case err == nil:
		return nil
	case errors.Is(err, fs.ErrPermission):
		return fmt.Errorf("data_dir %s (in %s): %v", dir, cfg.File, unwrapPath(err))
	}
	// It does not exist (or a parent is not a directory): look at the
	// nearest parent that exists.
	parent := filepath.Dir(dir)
	for {
		st, err := os.Stat(parent)
		if err == nil {
			if !st.IsDir() {
				return fmt.Errorf("data_dir %s (in %s) cannot be created: %s is a file", dir, cfg.File, parent)
			}
			break
		}
		if errors.Is(err, fs.ErrPermission) {
			return fmt.Errorf("data_dir %s (in %s) cannot be created: %v", dir, cfg.File, unwrapPath(err))
		}
		next := filepath.Dir(parent)
		if next == parent {
			break
		}
		parent = next
	}
	f, err := os.CreateTemp(parent, ".onedrive-agent-check-*")
	if err != nil {
		return fmt.Errorf("data_dir %s (in %s) does not exist and this user cannot create it in %s (%v): create it for the service's user (mkdir -m 0700), or fix data_dir", dir, cfg.File, parent, unwrapPath(err))
	}
	name := f.Name()
	f.Close()
	os.Remove(name)
	return nil
}

func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// requireDatabase fails, instead of creating an empty database, when
// data_dir holds none: a mistyped data_dir, or an agent that never ran.
// Commands that only read (status, dead) call it.
func requireDatabase(cfg *config.Config) error {
	path := filepath.Join(cfg.DataDir, dbFile)
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("no database at %s: check data_dir in %s (the agent creates the database when it first runs or signs in)", path, cfg.File)
	}
	return nil
}
