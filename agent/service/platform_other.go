//go:build !linux && !windows

package service

import (
	"log/slog"
	"os"

	kservice "github.com/kardianos/service"
)

// privilegeHint completes an error that missing rights probably caused.
const privilegeHint = "run it as root, e.g. with sudo"

func isPrivileged() bool { return os.Geteuid() == 0 }

func afterInstall(Config) error { return nil }

func afterUninstall(Config) {}

func control(_ Config, s kservice.Service, action string) error {
	return genericControl(s, action)
}

func status(_ Config, s kservice.Service) (string, error) { return genericStatus(s) }

// stopSelf has nothing to do: program.wait returns when the agent ends.
func stopSelf(string, *slog.Logger) {}

// systemLogger: launchd and the other managers collect stderr.
func systemLogger(string) (SystemLogger, bool, error) { return nil, false, nil }
