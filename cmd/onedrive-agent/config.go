package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/onedrive-agent/onedrive-agent/agent"
	"github.com/onedrive-agent/onedrive-agent/agent/config"
	"github.com/onedrive-agent/onedrive-agent/agent/service"
	"github.com/onedrive-agent/onedrive-agent/store"
)

// dbFile is the database file name inside data_dir.
const dbFile = "onedrive-agent.db"

// lockWait is how long a command waits for a database another process
// holds; the contract allows 5 s in all.
const lockWait = 2 * time.Second

// configFlag adds -c and its long form --config to fs.
func configFlag(fs *flag.FlagSet) *string {
	p := fs.String("c", "", "config file (default: $ONEDRIVE_AGENT_CONFIG, ./agent.toml, or the platform default)")
	fs.StringVar(p, "config", "", "the same as -c")
	return p
}

// loadConfig resolves and loads the configuration for a command that may
// need no secret: a secret this shell cannot resolve (a ${NAME} only the
// service's environment has, a *_file only its user reads) is left
// unresolved until used (config.Instance.SecretErr). Its errors are usage
// errors (exit status 2) that name file, line and key.
func loadConfig(flagPath string) (*config.Config, error) {
	path := config.Resolve(flagPath, os.Getenv, config.FileExists)
	cfg, err := config.LoadDeferSecrets(path)
	if err != nil {
		return nil, usageError{err}
	}
	return cfg, nil
}

// loadConfigStrict is loadConfig resolving every secret, for `run`.
func loadConfigStrict(flagPath string) (*config.Config, error) {
	path := config.Resolve(flagPath, os.Getenv, config.FileExists)
	cfg, err := config.Load(path)
	if err != nil {
		return nil, usageError{err}
	}
	return cfg, nil
}

// needSecrets fails with a usage error (naming file, line, key and the
// variable or file) when ic has unresolved secrets in sections.
func needSecrets(ic config.Instance, sections ...string) error {
	if err := ic.SecretErr(sections...); err != nil {
		return usageError{err}
	}
	return nil
}

// newLogger builds the process logger from the configuration.
func newLogger(cfg *config.Config, env *cmdEnv) *slog.Logger {
	return slog.New(service.NewSlogHandler("onedrive-agent", env.stderr,
		service.LogOptions{Level: cfg.Log.Level, JSON: cfg.Log.Format == "json"}))
}

// openStore opens the database in data_dir. An error that is not about
// the database itself (locked, damaged, newer) is about data_dir: it says
// which file configures it.
func openStore(cfg *config.Config, log *slog.Logger, wait time.Duration) (*store.DB, error) {
	db, err := store.Open(filepath.Join(cfg.DataDir, dbFile), store.Options{Timeout: wait, Logger: log})
	if err != nil {
		if errors.Is(err, store.ErrLocked) || errors.Is(err, store.ErrCorrupt) || errors.Is(err, store.ErrNewerSchema) {
			return nil, err
		}
		return nil, fmt.Errorf("%w (data_dir %s must be a directory this user can create and write: fix data_dir in %s or the directory's owner and permissions)", err, cfg.DataDir, cfg.File)
	}
	return db, nil
}

// controller returns what a command acts on: the running agent through its
// admin API, or, when no agent runs, the database itself. close releases it.
func controller(ctx context.Context, env *cmdEnv, cfg *config.Config) (c agent.Controller, close func(), err error) {
	var adminErr error
	admin := func(timeout time.Duration) (agent.Controller, error) {
		ac := &agent.AdminClient{BaseURL: adminBaseURL(cfg.Admin.Listen)}
		if adminErr = ac.Ping(ctx, timeout); adminErr != nil {
			return nil, nil
		}
		tok, err := agent.ReadAdminToken(cfg.DataDir)
		if err != nil {
			return nil, fmt.Errorf("an agent runs at %s, but its admin token is not readable (%w): run this command as the agent's user", cfg.Admin.Listen, err)
		}
		ac.Token = tok
		return ac, nil
	}
	if cfg.Admin.Listen != "" {
		if ac, err := admin(time.Second); ac != nil || err != nil {
			return ac, func() {}, err
		}
	}
	log := slog.New(slog.DiscardHandler)
	db, err := openStore(cfg, log, lockWait)
	if err != nil {
		if errors.Is(err, store.ErrLocked) && cfg.Admin.Listen == "" {
			return nil, nil, fmt.Errorf("%w; set [admin].listen so commands can reach the running agent", err)
		}
		if errors.Is(err, store.ErrLocked) {
			// An agent that was starting holds the database a moment
			// before its admin API listens: ask once more.
			if ac, aerr := admin(500 * time.Millisecond); ac != nil || aerr != nil {
				return ac, func() {}, aerr
			}
			return nil, nil, fmt.Errorf("%w, and its admin API at %s does not answer (%v)", err, cfg.Admin.Listen, adminErr)
		}
		return nil, nil, err
	}
	a, err := agent.New(agent.Options{Config: cfg, DB: db, Logger: newLogger(cfg, env), Version: agentVersion(), Commit: agentCommit()})
	if err != nil {
		db.Close()
		return nil, nil, err
	}
	return a, func() { db.Close() }, nil
}

// adminBaseURL is the URL commands use to reach an agent listening on
// listen. An agent listening on every address (":8720", "0.0.0.0:8720",
// "[::]:8720") is reached on loopback: Windows cannot connect to an
// unspecified address.
func adminBaseURL(listen string) string {
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return "http://" + listen
	}
	switch ip := net.ParseIP(host); {
	case host == "", ip != nil && ip.IsUnspecified() && ip.To4() != nil:
		host = "127.0.0.1"
	case ip != nil && ip.IsUnspecified():
		host = "::1"
	}
	return "http://" + net.JoinHostPort(host, port)
}
