package main

import (
	"flag"
	"fmt"
	"path/filepath"

	"github.com/onedrive-agent/onedrive-agent/agent"
)

// cmdAdmin runs `admin rotate-token`.
func cmdAdmin(env *cmdEnv, args []string) error {
	const usage = "usage: onedrive-agent admin rotate-token [-c FILE]"
	if len(args) == 0 {
		return usagef("%s", usage)
	}
	switch args[0] {
	case "-h", "-help", "--help":
		return helpRequested{commandHelp["admin rotate-token"] + "\n"}
	case "rotate-token":
		return cmdRotateToken(env, args[1:])
	}
	return usagef("admin: unknown action %q; %s", args[0], usage)
}

// cmdRotateToken writes a new random admin token to <data_dir>/admin.token.
// A running agent takes it for its next request; the old token stops
// working at once. The token itself is not printed.
func cmdRotateToken(env *cmdEnv, args []string) error {
	fs := flag.NewFlagSet("admin rotate-token", flag.ContinueOnError)
	cfgPath := configFlag(fs)
	if pos, err := parseFlags(fs, args); err != nil {
		return err
	} else if len(pos) > 0 {
		return usagef("admin rotate-token: unexpected argument %q", pos[0])
	}
	cfg, err := loadConfig(env, *cfgPath)
	if err != nil {
		return err
	}
	if _, err := agent.RotateAdminToken(cfg.DataDir); err != nil {
		return fmt.Errorf("admin rotate-token: %w", err)
	}
	fmt.Fprintf(env.stdout, "new admin token written to %s; the old one no longer works (a running agent takes the new one at once)\n",
		filepath.Join(cfg.DataDir, agent.AdminTokenFile))
	return nil
}
