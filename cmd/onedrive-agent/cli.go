package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
)

// Exit statuses (docs/operations.md).
const (
	exitOK      = 0
	exitFailure = 1
	exitUsage   = 2
)

// usageError is a wrong command line or configuration: exit status 2.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

func usagef(format string, args ...any) error {
	return usageError{fmt.Errorf(format, args...)}
}

// errSilent carries an exit status whose message was already printed.
type errSilent struct{ code int }

func (e errSilent) Error() string { return fmt.Sprintf("exit status %d", e.code) }

// exitCode prints err (once) and maps it to the process exit status.
func exitCode(err error, stderr io.Writer) int {
	if err == nil {
		return exitOK
	}
	var s errSilent
	if errors.As(err, &s) {
		return s.code
	}
	fmt.Fprintln(stderr, "onedrive-agent:", err)
	var u usageError
	if errors.As(err, &u) {
		return exitUsage
	}
	return exitFailure
}

const usageText = `usage: onedrive-agent <command> [flags]

  run     [-c FILE]                       run in the foreground (the service runs this); SIGHUP reloads FILE
  demo    [--for DURATION] [--keep] [--callback URL]
                                          the whole pipeline on a simulated drive and receiver
  check   [-c FILE] [--online]            validate the config; --online checks sign-in, drive and callback
  login   [-c FILE] INSTANCE [--code CODE] [--browser]
                                          sign in (device code by default)
  status  [-c FILE] [--json]              state, last poll, queue depth, dead letters per instance
  poll    [-c FILE] INSTANCE              poll now and wait for the round to end
  resync  [-c FILE] INSTANCE              forget the delta cursor and reconcile the whole drive
  dead    [-c FILE] list|replay|purge [INSTANCE] [--id ID] [--json] [--yes]
  import  FILE.json                       print an [[instance]] table for an Open Connectors instance JSON
  admin   rotate-token [-c FILE]          replace the admin token (data_dir/admin.token); a running agent takes it at once
  drives  [-c FILE] INSTANCE|SITE-URL [--instance NAME] [--json]
                                          list a SharePoint site's drives (id, name, webUrl)
  install [-c FILE] [--dry-run]           install as a system service (--dry-run: print, change nothing)
  uninstall | start | stop | restart      manage the system service
  version                                 print the version and the commit (also --version)
  completion bash                         print a bash completion script

Run onedrive-agent COMMAND -h (or onedrive-agent help COMMAND) for a command's arguments and flags.
The config file is -c FILE (or --config FILE), else $ONEDRIVE_AGENT_CONFIG, else ./agent.toml,
else the platform default.
`

// Main runs one command. It is the whole program but for the exit status,
// so tests can call it.
func Main(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usageText)
		return errSilent{exitUsage}
	}
	env := &cmdEnv{ctx: ctx, stdin: stdin, stdout: stdout, stderr: stderr}
	name, rest := args[0], args[1:]
	cmd, ok := lookupCommand(name)
	if !ok {
		switch name {
		case "-h", "--help", "help":
			if len(rest) == 1 && name == "help" {
				// help COMMAND is COMMAND -h.
				if _, ok := lookupCommand(rest[0]); ok {
					return Main(ctx, []string{rest[0], "-h"}, stdin, stdout, stderr)
				}
			}
			fmt.Fprint(stdout, usageText)
			return nil
		case "--version":
			fmt.Fprintln(stdout, versionLine())
			return nil
		}
		return usagef("unknown command %q (run onedrive-agent help)", name)
	}
	err := cmd(env, rest)
	var h helpRequested
	if errors.As(err, &h) {
		fmt.Fprint(stdout, h.text)
		return nil
	}
	return err
}

// cmdEnv is what every command gets.
type cmdEnv struct {
	ctx            context.Context
	stdin          io.Reader
	stdout, stderr io.Writer
}

// lookupCommand returns the function that runs the named command.
func lookupCommand(name string) (func(*cmdEnv, []string) error, bool) {
	switch name {
	case "run":
		return cmdRun, true
	case "demo":
		return cmdDemo, true
	case "check":
		return cmdCheck, true
	case "login":
		return cmdLogin, true
	case "status":
		return cmdStatus, true
	case "poll":
		return cmdPoll, true
	case "resync":
		return cmdResync, true
	case "dead":
		return cmdDead, true
	case "import":
		return cmdImport, true
	case "admin":
		return cmdAdmin, true
	case "drives":
		return cmdDrives, true
	case "install":
		return cmdInstall, true
	case "uninstall", "start", "stop", "restart":
		return cmdServiceAction(name), true
	case "version":
		return cmdVersion, true
	case "completion":
		return cmdCompletion, true
	}
	return nil, false
}

// parseFlags parses fs from args, allowing flags after positional
// arguments (`login finance --browser`), and returns the positionals.
func parseFlags(fs *flag.FlagSet, args []string) ([]string, error) {
	fs.SetOutput(io.Discard)
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, helpFor(fs)
			}
			return nil, usagef("%s: %v", fs.Name(), err)
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}
