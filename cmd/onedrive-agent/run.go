package main

import (
	"context"
	"flag"

	"github.com/onedrive-agent/onedrive-agent/agent"
	"github.com/onedrive-agent/onedrive-agent/agent/service"
)

// cmdRun runs the agent in the foreground, or under the service manager
// when it started us.
func cmdRun(env *cmdEnv, args []string) error {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	cfgPath := configFlag(fs)
	if pos, err := parseFlags(fs, args); err != nil {
		return err
	} else if len(pos) > 0 {
		return usagef("run: unexpected argument %q", pos[0])
	}
	cfg, err := loadConfigStrict(*cfgPath)
	if err != nil {
		return err
	}
	log := newLogger(cfg, env)
	for _, w := range cfg.Warnings {
		log.Warn(w)
	}
	db, err := openStore(cfg, log, lockWait)
	if err != nil {
		return err
	}
	defer db.Close()
	a, err := agent.New(agent.Options{Config: cfg, DB: db, Logger: log, Version: agentVersion(), Commit: agentCommit()})
	if err != nil {
		return usageError{err}
	}
	return service.Run(env.ctx, func(ctx context.Context) error { return a.Run(ctx) }, log)
}
