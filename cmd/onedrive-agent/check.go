package main

import (
	"errors"
	"flag"
	"fmt"
	"strings"

	"github.com/onedrive-agent/onedrive-agent/agent"
	"github.com/onedrive-agent/onedrive-agent/agent/config"
)

// cmdCheck validates the configuration (exit 2 with file:line:key when it is
// wrong); --online also checks, per instance, the sign-in, the drive and the
// callback, and exits 1 unless every step passes.
func cmdCheck(env *cmdEnv, args []string) error {
	fs := flag.NewFlagSet("check", flag.ContinueOnError)
	cfgPath := configFlag(fs)
	online := fs.Bool("online", false, "also sign in, ask Graph for each drive and send each callback a test message (through the running agent when one runs)")
	if pos, err := parseFlags(fs, args); err != nil {
		return err
	} else if len(pos) > 0 {
		return usagef("check: unexpected argument %q", pos[0])
	}
	cfg, err := loadConfig(env, *cfgPath)
	if err != nil {
		return err
	}
	for _, ic := range cfg.Instances {
		for _, e := range ic.Unresolved {
			fmt.Fprintf(env.stderr, "warning: %v: not resolvable in this shell; `run` needs it (the service reads variables from its environment file)\n", e)
		}
	}
	if err := checkDataDir(cfg); err != nil {
		return usageError{err}
	}
	fmt.Fprintf(env.stdout, "%s: configuration OK, %d instance(s)\n", cfg.File, len(cfg.Instances))
	if !*online {
		return nil
	}
	return checkOnline(env, cfg)
}

// checkOnline prints one line per instance and step and fails unless every
// enabled instance passes every step. The running agent does the checks
// when one runs (its sign-in, network and secrets); else this process does
// them against the database, saving any token it refreshes.
func checkOnline(env *cmdEnv, cfg *config.Config) error {
	width := len("instance")
	for _, ic := range cfg.Instances {
		width = max(width, len(ic.Name))
	}
	line := func(name, step string, ok bool, detail string) {
		verdict := "OK  "
		if !ok {
			verdict = "FAIL"
		}
		fmt.Fprintf(env.stdout, "%-*s  %-8s  %s  %s\n", width, name, step, verdict, detail)
	}
	c, done, err := controller(env.ctx, env, cfg)
	if err != nil {
		return err
	}
	defer done()
	ck, ok := c.(agent.Checker)
	if !ok {
		return errors.New("check --online: the agent cannot run checks")
	}
	_, remote := c.(*agent.AdminClient)
	if remote {
		fmt.Fprintln(env.stdout, "checking through the running agent (its sign-in, network and secrets)")
	}
	failed := 0
	for _, ic := range cfg.Instances {
		line(ic.Name, "config", true, "valid")
		if !ic.Enabled {
			fmt.Fprintf(env.stdout, "%-*s  %-8s  %s  %s\n", width, ic.Name, "", "    ", "disabled (enabled = false): not checked")
			continue
		}
		steps, err := ck.Check(env.ctx, ic.Name)
		if err != nil {
			failed++
			detail := err.Error()
			if errors.Is(err, agent.ErrUnknownInstance) {
				detail = "the running agent does not have this instance: reload it (systemctl reload onedrive-agent, or kill -HUP its pid)"
			}
			line(ic.Name, "check", false, detail)
			continue
		}
		for _, s := range steps {
			if !s.OK {
				failed++
			}
			line(ic.Name, s.Step, s.OK, oneLine(s.Detail))
		}
	}
	if failed > 0 {
		return fmt.Errorf("check --online: %d step(s) failed", failed)
	}
	return nil
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
