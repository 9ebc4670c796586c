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
	"github.com/onedrive-agent/onedrive-agent/internal/safefile"
	"github.com/onedrive-agent/onedrive-agent/store"
)

// dbFile is the database file name inside data_dir.
const dbFile = "onedrive-agent.db"

// lockWait is how long a command waits for a database another process
// holds; a locked database is reported within 5 s in all (README.md).
const lockWait = 2 * time.Second

// configFlag adds -c and its long form --config to fs.
func configFlag(fs *flag.FlagSet) *string {
	p := fs.String("c", "", "config file (default: $ONEDRIVE_AGENT_CONFIG, ./agent.toml, or the platform default)")
	fs.StringVar(p, "config", "", "the same as -c")
	return p
}

// loadConfig resolves and loads the configuration and prints its warnings
// (among them: a configuration or secret file another user could have
// written) on stderr; its errors are usage errors (exit status 2) that name
// file, line and key. A secret this shell cannot resolve (a ${NAME} only the
// service's environment has, a *_file only its user reads) is left
// unresolved until a command uses it (config.Instance.SecretErr).
func loadConfig(env *cmdEnv, flagPath string) (*config.Config, error) {
	path := config.Resolve(flagPath, os.Getenv, config.FileExists)
	cfg, err := config.LoadDeferSecrets(path)
	if err != nil {
		return nil, usageError{err}
	}
	for _, w := range cfg.Warnings {
		fmt.Fprintln(env.stderr, "warning:", w)
	}
	return cfg, nil
}

// loadConfigStrict is loadConfig resolving every secret and printing
// nothing, for `run` (which logs the warnings).
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

// newLogger builds the process logger in the configured format, logging at
// level and above (cfg.Log.Level, or a slog.LevelVar that a reload sets).
func newLogger(cfg *config.Config, level slog.Leveler, env *cmdEnv) *slog.Logger {
	return slog.New(service.NewSlogHandler("onedrive-agent", env.stderr,
		service.LogOptions{Level: level, JSON: cfg.Log.Format == "json"}))
}

// openStore opens the database in data_dir. An error that is not about
// the database itself (locked, damaged, newer) is about data_dir: it says
// which file configures it.
func openStore(cfg *config.Config, log *slog.Logger, wait time.Duration) (*store.DB, error) {
	db, err := store.Open(filepath.Join(cfg.DataDir, dbFile), store.Options{Timeout: wait, Logger: log})
	if err != nil {
		if errors.Is(err, store.ErrLocked) || errors.Is(err, store.ErrCorrupt) || errors.Is(err, store.ErrNewerSchema) ||
			errors.Is(err, safefile.ErrUnsafe) {
			return nil, err
		}
		return nil, fmt.Errorf("%w (data_dir %s must be a directory this user can create and write: fix data_dir in %s or the directory's owner and permissions)", err, cfg.DataDir, cfg.File)
	}
	return db, nil
}

// lockRetry is how long one attempt waits for the database lock before
// the command reads the holder's note again.
const lockRetry = 200 * time.Millisecond

// controller returns what a command acts on: the running agent through its
// admin API, or, when no agent runs, the database itself. close releases it.
//
// The database lock decides which: when it is free, no agent runs and the
// command opens the database and never contacts the admin port. When it is
// held, the lock file names the holder's admin address (see
// agent.LockNote); the command talks only to that address, when it is the
// port this configuration's [admin].listen names, and only after the
// listener there proved it knows the admin token (agent.NewAdminClient)
// does the token leave. A holder that names no such address (another
// command, an agent that is starting, or one run with another
// configuration) is waited for up to lockWait.
func controller(ctx context.Context, env *cmdEnv, cfg *config.Config) (c agent.Controller, close func(), err error) {
	log := slog.New(slog.DiscardHandler)
	deadline := time.Now().Add(lockWait)
	var adminErr error
	for {
		wait := min(lockRetry, max(time.Until(deadline), 10*time.Millisecond))
		db, err := openStore(cfg, log, wait)
		if err == nil {
			a, err := agent.New(agent.Options{Config: cfg, DB: db, Logger: newLogger(cfg, cfg.Log.Level, env), Version: agentVersion(), Commit: agentCommit()})
			if err != nil {
				db.Close()
				return nil, nil, err
			}
			return a, func() { db.Close() }, nil
		}
		var le *store.LockedError
		if !errors.As(err, &le) {
			return nil, nil, err
		}
		if addr := agent.AdminAddrFromLockNote(le.Note); addr != "" && samePort(cfg.Admin.Listen, addr) {
			ac, err := connectAdmin(ctx, cfg, addr)
			if err == nil {
				return ac, func() {}, nil
			}
			if errors.Is(err, agent.ErrNotTheAgent) || errors.Is(err, errTokenUnreadable) {
				return nil, nil, err
			}
			adminErr = err
		}
		if !time.Now().Before(deadline) {
			switch {
			case adminErr != nil:
				return nil, nil, fmt.Errorf("%w, and its admin API does not answer (%v)", err, adminErr)
			case cfg.Admin.Listen == "":
				return nil, nil, fmt.Errorf("%w; set [admin].listen so commands can reach the running agent", err)
			default:
				return nil, nil, fmt.Errorf("%w, which names no admin API (another command, or an agent still starting): try again", err)
			}
		}
		if err := ctx.Err(); err != nil {
			return nil, nil, err
		}
	}
}

// errTokenUnreadable: an agent holds the database, but this user cannot
// read its admin token.
var errTokenUnreadable = errors.New("the admin token is not readable")

// connectAdmin reaches the agent whose lock note names addr: it reads the
// admin token, then checks, before any request that carries it, that the
// listener at addr can prove it knows the token.
func connectAdmin(ctx context.Context, cfg *config.Config, addr string) (*agent.AdminClient, error) {
	tok, err := agent.ReadAdminToken(cfg.DataDir)
	if err != nil || tok == "" {
		return nil, fmt.Errorf("an agent holds the database and listens at %s, but %w (%v): run this command as the agent's user (e.g. sudo -u onedrive-agent onedrive-agent ...)", addr, errTokenUnreadable, err)
	}
	ac := agent.NewAdminClient(adminBaseURL(addr), tok)
	if err := ac.Ping(ctx, time.Second); err != nil {
		return nil, err
	}
	return ac, nil
}

// samePort reports whether the agent's admin address addr is on the port
// the configured listen address names (a configured port 0 matches any).
func samePort(listen, addr string) bool {
	if listen == "" {
		return false
	}
	_, lp, err1 := net.SplitHostPort(listen)
	_, ap, err2 := net.SplitHostPort(addr)
	return err1 == nil && err2 == nil && (lp == ap || lp == "0")
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
