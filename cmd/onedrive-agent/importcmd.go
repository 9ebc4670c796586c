package main

import (
	"flag"
	"os"

	"github.com/onedrive-agent/onedrive-agent/agent/ocimport"
)

// cmdImport prints an [[instance]] table for an Open Connectors instance
// JSON; keys it cannot map are named on stderr.
func cmdImport(env *cmdEnv, args []string) error {
	fs := flag.NewFlagSet("import", flag.ContinueOnError)
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("usage: onedrive-agent import FILE.json")
	}
	f, err := os.Open(pos[0])
	if err != nil {
		return usagef("import: %v", err)
	}
	defer f.Close()
	if err := ocimport.Import(f, env.stdout, env.stderr); err != nil {
		return usagef("import %s: %v", pos[0], err)
	}
	return nil
}
