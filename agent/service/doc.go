// Package service installs, controls and runs onedrive-agent as a system
// service: a Windows service, a systemd unit or a SysV init script (the
// service manager is detected by github.com/kardianos/service; other init
// systems it knows get its default definitions).
//
// The command line uses two halves of it:
//
//   - Install, Uninstall, Start, Stop, Restart and Status act on the service
//     manager for the `install`, `uninstall`, `start`, `stop` and `restart`
//     commands. They take a Config whose paths are made absolute, because a
//     service starts in another working directory (C:\Windows\System32 on
//     Windows, / on Linux). They need root or Administrator rights, and an
//     error caused by missing rights says so.
//   - Run wraps `onedrive-agent run`: started by a service manager it turns the
//     manager's stop and shutdown requests into a cancelled context and waits
//     (at most StopTimeout) for the agent to return; started from a console it
//     simply calls the agent. NewSlogHandler picks where logs go: the Windows
//     Event Log under the Windows service manager, the given writer otherwise
//     (stderr, which journald or the SysV log file collect).
//
// The service definitions are rendered by this package (SystemdUnit,
// SysVScript) instead of kardianos' built-in templates, so that they order the
// agent after network-online.target, restart it after 5 s, give it 20 s to
// stop, and pass its arguments safely quoted. On Linux the agent runs as the
// system user DefaultUser, which Install creates and gives data_dir to, and
// the systemd unit sandboxes it. On Windows the service starts
// automatically with a delay and its recovery actions (restart after 5 s) are
// set explicitly, also for an exit with an error.
//
// This package is part of the onedrive-agent binary, not a public API.
package service
