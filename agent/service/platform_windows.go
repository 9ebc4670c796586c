//go:build windows

package service

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	kservice "github.com/kardianos/service"
	"golang.org/x/sys/windows"
	"golang.org/x/sys/windows/svc"
	"golang.org/x/sys/windows/svc/mgr"
)

// privilegeHint completes an error that missing rights probably caused.
const privilegeHint = "run it from an elevated prompt (Run as Administrator)"

// stopWait bounds how long Stop waits for the service to reach Stopped: the
// agent's own StopTimeout plus a margin. (kardianos' stop loop never gives up.)
const stopWait = StopTimeout + 15*time.Second

func isPrivileged() bool { return windows.GetCurrentProcessToken().IsElevated() }

// afterInstall makes the recovery actions kardianos set (restart after 5 s)
// apply also when the service stops with an error, i.e. when Run returns one
// and the service reports a service-specific exit code; by default Windows
// applies them only when the process crashes.
func afterInstall(c Config) error {
	m, err := mgr.Connect()
	if err != nil {
		return fmt.Errorf("connect to the service manager: %w", err)
	}
	defer m.Disconnect()
	s, err := m.OpenService(c.Name)
	if err != nil {
		return fmt.Errorf("open service: %w", err)
	}
	defer s.Close()
	if err := s.SetRecoveryActionsOnNonCrashFailures(true); err != nil {
		return fmt.Errorf("set recovery actions for failures: %w", err)
	}
	return nil
}

func afterUninstall(Config) {}

func control(c Config, s kservice.Service, action string) error {
	switch action {
	case "stop":
		return stopService(c.Name, stopWait)
	case "restart":
		if err := stopService(c.Name, stopWait); err != nil {
			return err
		}
		return s.Start()
	}
	return genericControl(s, action)
}

func status(_ Config, s kservice.Service) (string, error) { return genericStatus(s) }

// openService opens name with the rights to query and stop it, which an
// Administrator has without asking for full control of the service manager.
func openService(name string, access uint32) (*mgr.Mgr, *mgr.Service, error) {
	h, err := windows.OpenSCManager(nil, nil, windows.SC_MANAGER_CONNECT)
	if err != nil {
		return nil, nil, fmt.Errorf("connect to the service manager: %w", err)
	}
	m := &mgr.Mgr{Handle: h}
	p, err := windows.UTF16PtrFromString(name)
	if err != nil {
		m.Disconnect()
		return nil, nil, err
	}
	sh, err := windows.OpenService(h, p, access)
	if err != nil {
		m.Disconnect()
		return nil, nil, fmt.Errorf("open service: %w", err)
	}
	return m, &mgr.Service{Name: name, Handle: sh}, nil
}

// stopService asks the service to stop and waits until it has, at most wait.
func stopService(name string, wait time.Duration) error {
	m, s, err := openService(name, windows.SERVICE_QUERY_STATUS|windows.SERVICE_STOP)
	if err != nil {
		return err
	}
	defer m.Disconnect()
	defer s.Close()
	st, err := s.Query()
	if err != nil {
		return fmt.Errorf("query service: %w", err)
	}
	if st.State == svc.Stopped {
		return nil
	}
	if st.State != svc.StopPending {
		st, err = s.Control(svc.Stop)
		if err != nil && !errors.Is(err, windows.ERROR_SERVICE_NOT_ACTIVE) {
			return fmt.Errorf("send stop: %w", err)
		}
	}
	deadline := time.Now().Add(wait)
	for st.State != svc.Stopped {
		if time.Now().After(deadline) {
			return fmt.Errorf("service did not stop within %s", wait)
		}
		time.Sleep(200 * time.Millisecond)
		if st, err = s.Query(); err != nil {
			return fmt.Errorf("query service: %w", err)
		}
	}
	return nil
}

// stopSelf asks the service manager to stop this service after the agent
// ended on its own: the manager's Stop request makes kardianos call
// program.Stop, which returns the agent's error, and Run returns. If the
// manager cannot be asked, the process exits with status 1, which Windows
// treats as a crash (recovery actions restart it) rather than leaving a
// service that reports Running but does nothing.
func stopSelf(name string, logger *slog.Logger) {
	m, s, err := openService(name, windows.SERVICE_STOP)
	if err == nil {
		// Right after Start the service may still be StartPending, which
		// does not accept a stop yet.
		for range 50 {
			if _, err = s.Control(svc.Stop); !errors.Is(err, windows.ERROR_SERVICE_CANNOT_ACCEPT_CTRL) {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
		s.Close()
		m.Disconnect()
	}
	if err != nil {
		logger.Error("cannot ask the service manager to stop the service; exiting", "err", err)
		os.Exit(1)
	}
}

// systemLogger opens the Windows Event Log source name (registered by
// Install) through kardianos.
func systemLogger(name string) (SystemLogger, bool, error) {
	s, err := kservice.New(noop{}, &kservice.Config{Name: name})
	if err != nil {
		return nil, true, err
	}
	l, err := s.SystemLogger(nil)
	if err != nil {
		return nil, true, fmt.Errorf("open event log source %s: %w", name, err)
	}
	return l, true, nil
}
