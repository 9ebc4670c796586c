package main

import (
	"errors"
	"flag"
	"fmt"
	"os"

	"github.com/onedrive-agent/onedrive-agent/agent/config"
	"github.com/onedrive-agent/onedrive-agent/agent/service"
)

// cmdInstall installs the agent as a system service that runs
// `onedrive-agent run -c <absolute config path>`.
func cmdInstall(env *cmdEnv, args []string) error {
	fs := flag.NewFlagSet("install", flag.ContinueOnError)
	cfgPath := configFlag(fs)
	dryRun := fs.Bool("dry-run", false, "print what install would write (the systemd unit, the SysV script or the Windows service settings) and change nothing")
	if pos, err := parseFlags(fs, args); err != nil {
		return err
	} else if len(pos) > 0 {
		return usagef("install: unexpected argument %q", pos[0])
	}
	path := config.Resolve(*cfgPath, os.Getenv, config.FileExists)
	if *dryRun {
		// What install would write: the data_dir comes from the file (its
		// secrets are not needed for that).
		dataDir := ""
		if cfg, err := config.LoadDeferSecrets(path); err != nil {
			fmt.Fprintf(env.stderr, "warning: the configuration does not load (%v); data_dir is left out\n", err)
		} else {
			dataDir = cfg.DataDir
		}
		text, err := service.Describe(service.Config{ConfigPath: path, DataDir: dataDir})
		if err != nil {
			return usageError{err}
		}
		fmt.Fprint(env.stdout, text)
		return nil
	}
	// The service may see other environment variables (/etc/default) than
	// this shell, so a config that does not load here is a warning only.
	dataDir := ""
	if cfg, err := config.Load(path); err != nil {
		fmt.Fprintf(env.stderr, "warning: the configuration does not load in this shell (the service's environment may differ):\n%v\n", err)
	} else {
		dataDir = cfg.DataDir
	}
	// The service runs as its own user (service.DefaultUser), which owns
	// data_dir and is the only place the unit lets it write.
	sc, err := service.Config{ConfigPath: path, DataDir: dataDir}.Resolve()
	if err != nil {
		return usageError{err}
	}
	if err := service.Install(sc); err != nil {
		return serviceError(err)
	}
	fmt.Fprintf(env.stdout, "installed the %s service (%s) with config %s\nstart it with: onedrive-agent start\n",
		service.Platform(), service.Location(sc), sc.ConfigPath)
	return nil
}

// cmdServiceAction returns the command for uninstall, start, stop and
// restart.
func cmdServiceAction(action string) func(*cmdEnv, []string) error {
	return func(env *cmdEnv, args []string) error {
		fs := flag.NewFlagSet(action, flag.ContinueOnError)
		if pos, err := parseFlags(fs, args); err != nil {
			return err
		} else if len(pos) > 0 {
			return usagef("%s: unexpected argument %q", action, pos[0])
		}
		sc := service.Config{}
		var err error
		switch action {
		case "uninstall":
			err = service.Uninstall(sc)
		case "start":
			err = service.Start(sc)
		case "stop":
			err = service.Stop(sc)
		case "restart":
			err = service.Restart(sc)
		}
		if err != nil {
			return serviceError(err)
		}
		fmt.Fprintf(env.stdout, "%s: done\n", action)
		return nil
	}
}

// serviceError keeps the service package's message (it already says to run
// as root or Administrator); not being installed is a usage error.
func serviceError(err error) error {
	if errors.Is(err, service.ErrNotInstalled) || errors.Is(err, service.ErrAlreadyInstalled) {
		return usageError{err}
	}
	return err
}
