package service

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	kservice "github.com/kardianos/service"
)

// DefaultName is the service name used when Config.Name is empty.
const DefaultName = "onedrive-agent"

// DefaultUser is the account the systemd unit runs the agent as when
// Config.User is empty: a system user and group of that name, created by
// Install (and scripts/install-linux.sh) when missing.
const DefaultUser = "onedrive-agent"

// Default texts for Config.DisplayName and Config.Description.
const (
	DefaultDisplayName = "OneDrive Agent"
	DefaultDescription = "Watches OneDrive and SharePoint drives through Microsoft Graph and delivers every change to a callback URL."
)

// Values returned by Status.
const (
	StatusRunning      = "running"
	StatusStopped      = "stopped"
	StatusFailed       = "failed" // systemd: the unit is in the failed state
	StatusNotInstalled = "not installed"
)

var (
	// ErrAlreadyInstalled is returned (wrapped) by Install when a service of
	// that name is already installed. The message says where it is and that
	// `onedrive-agent uninstall` removes it.
	ErrAlreadyInstalled = errors.New("service is already installed")
	// ErrNotInstalled is returned (wrapped) by Uninstall, Start, Stop and
	// Restart when no service of that name is installed.
	ErrNotInstalled = errors.New("service is not installed")
	// ErrPermission is wrapped into an error that was probably caused by
	// missing rights; the message says to run as root or Administrator.
	ErrPermission = errors.New("insufficient privileges")
)

// Config describes the service to install or control. The zero value of every
// field except ConfigPath has a default; only Install needs ConfigPath.
type Config struct {
	// Name is the service name ("" = DefaultName): the systemd unit
	// <Name>.service, the init script /etc/init.d/<Name>, the Windows service
	// and its Event Log source. Letters, digits, '.', '_' and '-' only.
	Name string
	// DisplayName is the name shown by the Windows service manager and in the
	// SysV script header ("" = DefaultDisplayName).
	DisplayName string
	// Description is the one-line description ("" = DefaultDescription).
	Description string
	// Executable is the program the service manager starts ("" = this
	// program). It is made absolute.
	Executable string
	// ConfigPath is the agent.toml the service runs with. It is made absolute,
	// and Install requires it to exist.
	ConfigPath string
	// Args are the arguments the service manager starts Executable with.
	// Empty means `run -c <absolute ConfigPath>`.
	Args []string
	// DataDir is the agent's data_dir, the one place the systemd unit lets
	// it write besides /var/lib/<Name> ("" = only /var/lib/<Name>). It is
	// made absolute.
	DataDir string
	// User is the account (user and group) the systemd unit runs the agent
	// as ("" = DefaultUser).
	User string
}

var (
	validName = regexp.MustCompile(`^[A-Za-z0-9_.-]+$`)
	validUser = regexp.MustCompile(`^[a-z_][a-z0-9_-]{0,31}$`)
)

// Resolve returns cfg with every default filled in and every path absolute:
// what Install writes into the service definition. It fails when the name is
// invalid, the executable cannot be found, or a value contains a line break
// or "{{" (which would corrupt the rendered definition).
func (cfg Config) Resolve() (Config, error) {
	c := cfg
	c.Args = append([]string(nil), cfg.Args...)
	if c.Name == "" {
		c.Name = DefaultName
	}
	if !validName.MatchString(c.Name) {
		return Config{}, fmt.Errorf("service name %q: use only letters, digits, '.', '_' and '-'", c.Name)
	}
	if c.DisplayName == "" {
		c.DisplayName = DefaultDisplayName
	}
	if c.Description == "" {
		c.Description = DefaultDescription
	}
	if c.Executable == "" {
		exe, err := os.Executable()
		if err != nil {
			return Config{}, fmt.Errorf("find the path of this program: %w", err)
		}
		c.Executable = exe
	}
	exe, err := filepath.Abs(c.Executable)
	if err != nil {
		return Config{}, fmt.Errorf("make executable path %s absolute: %w", c.Executable, err)
	}
	c.Executable = exe
	if c.ConfigPath != "" {
		p, err := filepath.Abs(c.ConfigPath)
		if err != nil {
			return Config{}, fmt.Errorf("make config path %s absolute: %w", c.ConfigPath, err)
		}
		c.ConfigPath = p
	}
	if c.User == "" {
		c.User = DefaultUser
	}
	if !validUser.MatchString(c.User) {
		return Config{}, fmt.Errorf("service user %q: use a user name of lower-case letters, digits, '_' and '-'", c.User)
	}
	if c.DataDir != "" {
		p, err := filepath.Abs(c.DataDir)
		if err != nil {
			return Config{}, fmt.Errorf("make data_dir %s absolute: %w", c.DataDir, err)
		}
		c.DataDir = p
	}
	if len(c.Args) == 0 {
		c.Args = []string{"run"}
		if c.ConfigPath != "" {
			c.Args = append(c.Args, "-c", c.ConfigPath)
		}
	}
	for _, v := range append([]string{c.DisplayName, c.Description, c.Executable, c.ConfigPath, c.DataDir}, c.Args...) {
		if strings.ContainsAny(v, "\r\n\x00") || strings.Contains(v, "{{") || strings.Contains(v, "}}") {
			return Config{}, fmt.Errorf("service setting %q: line breaks, NUL and braces {{ }} are not allowed", v)
		}
	}
	return c, nil
}

// Platform names the service manager in use: "linux-systemd",
// "unix-systemv", "windows-service", "darwin-launchd", ….
func Platform() string { return kservice.Platform() }

// Location says where the definition of the service lives: a file path for
// the file-based managers, "Windows service <name>" on Windows, "" when
// unknown. It does not say whether the service is installed.
func Location(cfg Config) string {
	name := cfg.Name
	if name == "" {
		name = DefaultName
	}
	switch Platform() {
	case "linux-systemd":
		return "/etc/systemd/system/" + name + ".service"
	case "unix-systemv", "linux-openrc", "linux-rcs", "linux-procd":
		return "/etc/init.d/" + name
	case "linux-upstart":
		return "/etc/init/" + name + ".conf"
	case "darwin-launchd":
		return "/Library/LaunchDaemons/" + name + ".plist"
	case "windows-service":
		return "Windows service " + name
	}
	return ""
}

// Install registers the service with the service manager so that it starts at
// boot, running Executable with Args. It does not start it. Installing a
// second time fails with ErrAlreadyInstalled; run Uninstall first to change
// the definition. Needs root or Administrator rights.
func Install(cfg Config) error {
	c, err := cfg.Resolve()
	if err != nil {
		return fmt.Errorf("install service: %w", err)
	}
	if _, err := os.Stat(c.Executable); err != nil {
		return fmt.Errorf("install service %s: executable: %w", c.Name, err)
	}
	if c.ConfigPath != "" {
		if _, err := os.Stat(c.ConfigPath); err != nil {
			return fmt.Errorf("install service %s: config file: %w (create it first; the service reads it at every start)", c.Name, err)
		}
	}
	s, err := newService(c)
	if err != nil {
		return fmt.Errorf("install service %s: %w", c.Name, err)
	}
	if installed(c, s) {
		return fmt.Errorf("install service %s: %w (%s); run `onedrive-agent uninstall` first to install it again",
			c.Name, ErrAlreadyInstalled, Location(c))
	}
	if err := s.Install(); err != nil {
		removePartialInstall(c)
		return controlError("install", c, err)
	}
	if err := afterInstall(c); err != nil {
		return controlError("install", c, err)
	}
	return nil
}

// Uninstall stops the service if it runs (waiting for it to stop) and removes
// it from the service manager. The agent's configuration and data are left
// alone. Uninstalling a service that is not installed fails with
// ErrNotInstalled. Needs root or Administrator rights.
func Uninstall(cfg Config) error {
	c, s, err := existing("uninstall", cfg)
	if err != nil {
		return err
	}
	// A service removed while it runs keeps running without a definition
	// (systemd) or lingers as "marked for deletion" (Windows).
	if st, err := status(c, s); err == nil && st == StatusRunning {
		if err := control(c, s, "stop"); err != nil {
			return controlError("uninstall", c, fmt.Errorf("stop it first: %w", err))
		}
	}
	if err := s.Uninstall(); err != nil {
		return controlError("uninstall", c, err)
	}
	afterUninstall(c)
	return nil
}

// Start asks the service manager to start the installed service.
func Start(cfg Config) error { return act("start", cfg) }

// Stop asks the service manager to stop the service and waits until it has
// stopped (the agent gets StopTimeout, the manager a little more).
func Stop(cfg Config) error { return act("stop", cfg) }

// Restart stops the service if it runs, then starts it.
func Restart(cfg Config) error { return act("restart", cfg) }

// Status reports the state of the service: StatusRunning, StatusStopped,
// StatusFailed or StatusNotInstalled. An error means the state could not be
// determined.
func Status(cfg Config) (string, error) {
	c, err := cfg.Resolve()
	if err != nil {
		return "", fmt.Errorf("service status: %w", err)
	}
	s, err := newService(c)
	if err != nil {
		return "", fmt.Errorf("service %s status: %w", c.Name, err)
	}
	st, err := status(c, s)
	if err != nil {
		return "", controlError("query", c, err)
	}
	return st, nil
}

func act(action string, cfg Config) error {
	c, s, err := existing(action, cfg)
	if err != nil {
		return err
	}
	if err := control(c, s, action); err != nil {
		return controlError(action, c, err)
	}
	return nil
}

// existing resolves cfg and fails with ErrNotInstalled when there is no such
// service.
func existing(action string, cfg Config) (Config, kservice.Service, error) {
	c, err := cfg.Resolve()
	if err != nil {
		return Config{}, nil, fmt.Errorf("%s service: %w", action, err)
	}
	s, err := newService(c)
	if err != nil {
		return Config{}, nil, fmt.Errorf("%s service %s: %w", action, c.Name, err)
	}
	if !installed(c, s) {
		return Config{}, nil, fmt.Errorf("%s service %s: %w; run `onedrive-agent install` first", action, c.Name, ErrNotInstalled)
	}
	return c, s, nil
}

// installed reports whether the service definition exists.
func installed(c Config, s kservice.Service) bool {
	if p := Location(c); strings.HasPrefix(p, "/") {
		_, err := os.Stat(p)
		return err == nil
	}
	_, err := s.Status()
	return !errors.Is(err, kservice.ErrNotInstalled)
}

// removePartialInstall deletes a definition file a failed install left behind
// (kardianos writes the file before enabling it), so that the next attempt is
// not refused as "already installed".
func removePartialInstall(c Config) {
	if p := Location(c); strings.HasPrefix(p, "/") {
		_ = os.Remove(p)
	}
}

// controlError wraps err with the action and the service name, and adds the
// hint to run as root/Administrator when missing rights are the likely cause:
// the error says so, or an unprivileged caller tried to change something.
func controlError(action string, c Config, err error) error {
	if errors.Is(err, os.ErrPermission) || (action != "query" && !isPrivileged()) {
		return fmt.Errorf("%s service %s: %w (%w: %s)", action, c.Name, err, ErrPermission, privilegeHint)
	}
	return fmt.Errorf("%s service %s: %w", action, c.Name, err)
}

// noop is the kardianos program of a service that is only controlled, never
// run, by this process.
type noop struct{}

func (noop) Start(kservice.Service) error { return nil }
func (noop) Stop(kservice.Service) error  { return nil }

// newService builds the kardianos service for c with our definitions and
// platform options.
func newService(c Config) (kservice.Service, error) {
	kc, err := kardianosConfig(c)
	if err != nil {
		return nil, err
	}
	return kservice.New(noop{}, kc)
}

// kardianosConfig translates c (resolved) into the kardianos configuration.
func kardianosConfig(c Config) (*kservice.Config, error) {
	opts := kservice.KeyValue{
		// Windows: start at boot, after the automatic services, and restart
		// after a failure. kardianos documents "restart" as the default of
		// OnFailure but applies recovery actions only when it is set.
		"StartType":              "automatic",
		"DelayedAutoStart":       true,
		"OnFailure":              "restart",
		"OnFailureDelayDuration": "5s",
		"OnFailureResetPeriod":   86400,
		// systemd, upstart, OpenRC: used by kardianos' default templates
		// where our own is not supplied.
		"Restart":     "on-failure",
		"LimitNOFILE": 65536,
	}
	switch Platform() {
	case "linux-systemd":
		unit, err := SystemdUnit(c)
		if err != nil {
			return nil, err
		}
		opts["SystemdScript"] = unit
	case "unix-systemv":
		// Only here: procd, AIX, FreeBSD and Solaris read the same option
		// but expect their own script formats.
		script, err := SysVScript(c)
		if err != nil {
			return nil, err
		}
		opts["SysvScript"] = script
	}
	return &kservice.Config{
		Name:        c.Name,
		DisplayName: c.DisplayName,
		Description: c.Description,
		Executable:  c.Executable,
		Arguments:   c.Args,
		Option:      opts,
	}, nil
}

// genericControl performs action through kardianos.
func genericControl(s kservice.Service, action string) error {
	switch action {
	case "start":
		return s.Start()
	case "stop":
		return s.Stop()
	case "restart":
		return s.Restart()
	}
	return fmt.Errorf("unknown service action %q", action)
}

// genericStatus asks kardianos for the state of the service.
func genericStatus(s kservice.Service) (string, error) {
	st, err := s.Status()
	switch {
	case errors.Is(err, kservice.ErrNotInstalled):
		return StatusNotInstalled, nil
	case err != nil:
		return "", err
	case st == kservice.StatusRunning:
		return StatusRunning, nil
	case st == kservice.StatusStopped:
		return StatusStopped, nil
	}
	return "", errors.New("the service manager reports an unknown state")
}
