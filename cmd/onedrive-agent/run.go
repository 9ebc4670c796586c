package main

import (
	"context"
	"errors"
	"flag"
	"log/slog"

	"github.com/onedrive-agent/onedrive-agent/agent"
	"github.com/onedrive-agent/onedrive-agent/agent/service"
)

// cmdRun runs the agent in the foreground, or under the service manager
// when it started us. On SIGHUP (Unix) it reloads the configuration.
func cmdRun(env *cmdEnv, args []string) error {
	// Take SIGHUP before anything else: its default action ends the process.
	hup, stopHup := reloadSignal()
	defer stopHup()
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
	level := new(slog.LevelVar)
	level.Set(cfg.Log.Level)
	log := newLogger(cfg, level, env)
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
	return service.Run(env.ctx, func(ctx context.Context) error {
		go func() {
			for {
				select {
				case <-ctx.Done():
					return
				case <-hup:
					reload(a, cfg.File, level, log)
				}
			}
		}()
		return a.Run(ctx)
	}, log)
}

// reload reads the configuration file again and applies it to the running
// agent; a configuration that does not validate is logged and the running
// one stays.
func reload(a *agent.Agent, file string, level *slog.LevelVar, log *slog.Logger) {
	log.Info("reloading the configuration (SIGHUP)", "file", file)
	cfg, err := loadConfigStrict(file)
	if err != nil {
		log.Error("reload: the configuration does not validate; the running one stays", "err", err)
		return
	}
	for _, w := range cfg.Warnings {
		log.Warn(w)
	}
	err = a.Reload(cfg)
	switch {
	case errors.Is(err, agent.ErrRestartNeeded):
		log.Warn("reload: some settings need a restart", "err", err)
	case err != nil:
		log.Error("reload failed; the running configuration stays", "err", err)
		return
	}
	level.Set(cfg.Log.Level)
}
