package service

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	kservice "github.com/kardianos/service"
)

// StopTimeout is how long Run waits for the agent to return after the service
// manager asked it to stop. The service definitions give the agent a few
// seconds more (systemd TimeoutStopSec=20, SysV 20 s) before killing it.
const StopTimeout = 15 * time.Second

// ErrStopTimeout is returned (wrapped) by Run when the agent did not return
// within StopTimeout of a stop request.
var ErrStopTimeout = errors.New("agent did not stop in time")

// IsServiceManaged reports whether this process was started by a service
// manager (the Windows service control manager, systemd as pid 1's child)
// rather than from a console. Inside a container it is always false.
func IsServiceManaged() bool { return !kservice.Interactive() }

// Run runs the agent. From a console it just returns runFn(ctx). Under a
// service manager it starts runFn in the background, and when the manager asks
// the service to stop or the machine shuts down (or ctx ends, or SIGTERM or
// SIGINT arrives), it cancels runFn's context and waits at most StopTimeout for
// runFn to return. Run returns runFn's error; context.Canceled after a stop
// request counts as a clean stop (nil). When runFn returns on its own, Run
// returns its error too, so the caller's exit status tells the service
// manager whether to restart the agent (on Windows the service reports a
// service-specific exit code, which the installed recovery actions treat as a
// failure). logger receives the lifecycle messages (nil = discard).
func Run(ctx context.Context, runFn func(ctx context.Context) error, logger *slog.Logger) error {
	if !IsServiceManaged() {
		return runFn(ctx)
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return runManaged(ctx, DefaultName, runFn, logger, StopTimeout)
}

// runManaged runs runFn under kardianos' Run, which on Windows hands the
// process to the service control manager and elsewhere waits for
// program.wait.
func runManaged(ctx context.Context, name string, runFn func(context.Context) error, logger *slog.Logger, timeout time.Duration) error {
	p := newProgram(ctx, runFn, logger, timeout)
	p.exited = func() { stopSelf(name, logger) }
	s, err := kservice.New(p, &kservice.Config{
		Name:   name,
		Option: kservice.KeyValue{"RunWait": p.wait},
	})
	if err != nil {
		return fmt.Errorf("run as service %s: %w", name, err)
	}
	return s.Run()
}

// program adapts runFn to kardianos' Start/Stop/Shutdown callbacks.
type program struct {
	parent  context.Context
	runFn   func(context.Context) error
	log     *slog.Logger
	timeout time.Duration
	// exited is called when runFn returned without a stop request, so that
	// the service manager learns about it (nil = nothing to do).
	exited func()

	done chan struct{} // closed when runFn has returned

	mu       sync.Mutex
	cancel   context.CancelFunc
	err      error // runFn's result, valid once done is closed
	stopping bool
}

func newProgram(ctx context.Context, runFn func(context.Context) error, logger *slog.Logger, timeout time.Duration) *program {
	return &program{
		parent:  ctx,
		runFn:   runFn,
		log:     logger,
		timeout: timeout,
		done:    make(chan struct{}),
		cancel:  func() {},
	}
}

// Start launches runFn and returns at once, as kardianos requires.
func (p *program) Start(kservice.Service) error {
	ctx, cancel := context.WithCancel(p.parent)
	p.mu.Lock()
	p.cancel = cancel
	p.mu.Unlock()
	p.log.Info("service started", "platform", kservice.Platform())
	go func() {
		err := p.runFn(ctx)
		p.mu.Lock()
		p.err = err
		stopping := p.stopping
		p.mu.Unlock()
		close(p.done)
		if !stopping {
			if err != nil {
				p.log.Error("agent ended", "err", err)
			} else {
				p.log.Warn("agent ended without a stop request")
			}
			if p.exited != nil {
				p.exited()
			}
		}
	}()
	return nil
}

// Stop cancels runFn's context and waits for it to return, at most
// p.timeout.
func (p *program) Stop(kservice.Service) error {
	p.mu.Lock()
	p.stopping = true
	cancel := p.cancel
	p.mu.Unlock()
	cancel()
	t := time.NewTimer(p.timeout)
	defer t.Stop()
	select {
	case <-p.done:
	case <-t.C:
		p.log.Error("agent did not stop in time", "timeout", p.timeout)
		return fmt.Errorf("%w: still running %s after the stop request", ErrStopTimeout, p.timeout)
	}
	p.mu.Lock()
	err := p.err
	p.mu.Unlock()
	if err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	p.log.Info("service stopped")
	return nil
}

// Shutdown is Stop for a machine shutdown (Windows).
func (p *program) Shutdown(s kservice.Service) error { return p.Stop(s) }

// wait is kardianos' RunWait outside Windows: it returns when the service
// should stop (SIGTERM, SIGINT, ctx done) or runFn has returned on its own.
func (p *program) wait() {
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, os.Interrupt)
	defer signal.Stop(sig)
	select {
	case s := <-sig:
		p.log.Info("stop requested", "signal", s.String())
	case <-p.parent.Done():
		p.log.Info("stop requested")
	case <-p.done:
	}
}
