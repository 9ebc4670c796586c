package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/onedrive-agent/onedrive-agent/agent"
)

// cmdStatus prints each instance's state, queue and errors.
func cmdStatus(env *cmdEnv, args []string) error {
	fs := flag.NewFlagSet("status", flag.ContinueOnError)
	cfgPath := configFlag(fs)
	asJSON := fs.Bool("json", false, "print JSON (what GET /v1/status returns)")
	if pos, err := parseFlags(fs, args); err != nil {
		return err
	} else if len(pos) > 0 {
		return usagef("status: unexpected argument %q", pos[0])
	}
	cfg, err := loadConfig(env, *cfgPath)
	if err != nil {
		return err
	}
	if err := requireDatabase(cfg); err != nil {
		return err
	}
	c, done, err := controller(env.ctx, env, cfg)
	if err != nil {
		return err
	}
	defer done()
	s, err := c.Status(env.ctx)
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(env.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(s)
	}
	return s.WriteTable(env.stdout, time.Now())
}

// instanceCommand parses `<cmd> [-c FILE] INSTANCE`.
func instanceCommand(name string, args []string) (cfgPath, instance string, err error) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	p := configFlag(fs)
	pos, err := parseFlags(fs, args)
	if err != nil {
		return "", "", err
	}
	if len(pos) != 1 {
		return "", "", usagef("usage: onedrive-agent %s [-c FILE] INSTANCE", name)
	}
	return *p, pos[0], nil
}

// cmdPoll polls one instance now and waits for the round to end.
func cmdPoll(env *cmdEnv, args []string) error {
	return pollCommand(env, "poll", args, agent.Controller.Poll)
}

// cmdResync forgets the delta cursor and reconciles the whole drive.
func cmdResync(env *cmdEnv, args []string) error {
	return pollCommand(env, "resync", args, agent.Controller.Resync)
}

func pollCommand(env *cmdEnv, name string, args []string, do func(agent.Controller, context.Context, string) (agent.PollResult, error)) error {
	cfgPath, inst, err := instanceCommand(name, args)
	if err != nil {
		return err
	}
	cfg, err := loadConfig(env, cfgPath)
	if err != nil {
		return err
	}
	ic, ok := cfg.Instance(inst)
	if !ok {
		return usagef("%s: no instance %q in %s", name, inst, cfg.File)
	}
	c, done, err := controller(env.ctx, env, cfg)
	if err != nil {
		return err
	}
	defer done()
	_, remote := c.(*agent.AdminClient)
	if !remote {
		// No agent runs: this process signs in to Microsoft itself.
		if err := needSecrets(ic, "auth"); err != nil {
			return err
		}
	}
	res, err := waitRound(env, c, inst, func(ctx context.Context) (agent.PollResult, error) { return do(c, ctx, inst) })
	if err != nil {
		if env.ctx.Err() != nil {
			if remote {
				return fmt.Errorf("%s %s: stopped waiting; the round goes on in the agent (`onedrive-agent status` shows it)", name, inst)
			}
			return fmt.Errorf("%s %s: interrupted; the round resumes from its last saved page at the next poll", name, inst)
		}
		return fmt.Errorf("%s %s: %w", name, inst, err)
	}
	switch {
	case res.Paused:
		fmt.Fprintf(env.stdout, "%s: %d items, %d events queued; the queue is full (max_queue), the rest follows as the receiver takes events\n", inst, res.Items, res.Events)
	default:
		fmt.Fprintf(env.stdout, "%s: %d items in %d pages, %d events queued\n", inst, res.Items, res.Pages, res.Events)
	}
	return nil
}

// progressEvery is how often a waiting poll or resync reports the round's
// progress.
var progressEvery = 2 * time.Second

// waitRound runs round and, while it lasts, prints the round's progress
// (pages, items, events) from the status on stderr. Interrupting the
// command (Ctrl-C, a dropped ssh session) only stops the waiting when an
// agent runs the round.
func waitRound(env *cmdEnv, c agent.Controller, inst string, round func(context.Context) (agent.PollResult, error)) (agent.PollResult, error) {
	type result struct {
		res agent.PollResult
		err error
	}
	ch := make(chan result, 1)
	go func() {
		res, err := round(env.ctx)
		ch <- result{res, err}
	}()
	tick := time.NewTicker(progressEvery)
	defer tick.Stop()
	last := ""
	for {
		select {
		case r := <-ch:
			return r.res, r.err
		case <-tick.C:
			ctx, cancel := context.WithTimeout(env.ctx, progressEvery)
			s, err := c.Status(ctx)
			cancel()
			if err != nil {
				continue
			}
			for _, is := range s.Instances {
				if is.Name != inst || is.Round == nil {
					continue
				}
				line := fmt.Sprintf("%s: %s round, %s: %d pages, %d items, %d events so far", inst, is.Round.Mode, is.Round.Phase, is.Round.Pages, is.Round.Items, is.Round.Events)
				if line != last {
					fmt.Fprintln(env.stderr, line)
					last = line
				}
			}
		}
	}
}

// cmdDead lists, replays or purges dead letters.
func cmdDead(env *cmdEnv, args []string) error {
	fs := flag.NewFlagSet("dead", flag.ContinueOnError)
	cfgPath := configFlag(fs)
	var ids stringList
	fs.Var(&ids, "id", "message id (repeatable); default: all")
	asJSON := fs.Bool("json", false, "list: print a JSON array (instance, id, events, reason, died, created, attempts, lastError)")
	yes := fs.Bool("yes", false, "purge: do not ask before purging every dead letter")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) < 1 || len(pos) > 2 {
		return usagef("usage: onedrive-agent dead [-c FILE] list|replay|purge [INSTANCE] [--id ID]... [--json] [--yes]")
	}
	action := pos[0]
	if action != "list" && action != "replay" && action != "purge" {
		return usagef("dead: unknown action %q (list, replay or purge)", action)
	}
	cfg, err := loadConfig(env, *cfgPath)
	if err != nil {
		return err
	}
	var names []string
	if len(pos) == 2 {
		if _, ok := cfg.Instance(pos[1]); !ok {
			return usagef("dead: no instance %q in %s", pos[1], cfg.File)
		}
		names = []string{pos[1]}
	} else {
		for _, in := range cfg.Instances {
			names = append(names, in.Name)
		}
	}
	if err := requireDatabase(cfg); err != nil {
		return err
	}
	c, done, err := controller(env.ctx, env, cfg)
	if err != nil {
		return err
	}
	defer done()
	switch action {
	case "list":
		return deadList(env, c, names, ids, *asJSON)
	case "purge":
		if len(ids) == 0 && !*yes {
			if err := confirmPurge(env, c, names); err != nil {
				return err
			}
		}
	}
	touched := 0
	for _, name := range names {
		switch action {
		case "replay":
			n, err := c.Replay(env.ctx, name, ids)
			if err != nil {
				return err
			}
			touched += n
			fmt.Fprintf(env.stdout, "%s: %d messages back at the head of the queue\n", name, n)
		case "purge":
			n, err := c.Purge(env.ctx, name, ids)
			if err != nil {
				return err
			}
			touched += n
			fmt.Fprintf(env.stdout, "%s: %d dead letters purged\n", name, n)
		}
	}
	if len(ids) > 0 && touched == 0 {
		return fmt.Errorf("dead %s: no dead letter has the id %s (see `onedrive-agent dead list`)", action, strings.Join(ids, ", "))
	}
	return nil
}

// deadEntry is one line of `dead list --json`.
type deadEntry struct {
	Instance string `json:"instance"`
	agent.DeadLetter
}

func deadList(env *cmdEnv, c agent.Controller, names []string, ids stringList, asJSON bool) error {
	list := []deadEntry{}
	for _, name := range names {
		dls, err := c.Dead(env.ctx, name)
		if err != nil {
			return err
		}
		for _, d := range dls {
			if len(ids) > 0 && !ids.has(d.ID) {
				continue
			}
			d.Body = nil
			list = append(list, deadEntry{Instance: name, DeadLetter: d})
		}
	}
	if asJSON {
		enc := json.NewEncoder(env.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(list)
	}
	if len(list) == 0 {
		fmt.Fprintln(env.stdout, "no dead letters")
		return nil
	}
	for _, d := range list {
		fmt.Fprintf(env.stdout, "%s\t%s\t%d events\tdied %s\t%s\n", d.Instance, d.ID, d.Events, d.Died.UTC().Format(time.RFC3339), d.Reason)
	}
	return nil
}

// confirmPurge asks before purging every dead letter: on a terminal it
// asks for "yes"; otherwise it refuses and names --yes. It counts them from
// the status, without reading the dead letters themselves.
func confirmPurge(env *cmdEnv, c agent.Controller, names []string) error {
	s, err := c.Status(env.ctx)
	if err != nil {
		return err
	}
	var msgs int64
	for _, is := range s.Instances {
		if slices.Contains(names, is.Name) {
			msgs += is.DeadMessages
		}
	}
	if msgs == 0 {
		return nil
	}
	what := fmt.Sprintf("%d dead letters of %s", msgs, strings.Join(names, ", "))
	if !isTerminal(env.stdin) {
		return usagef("dead purge: this would delete all %s; give --id ID for some, or --yes to delete them all", what)
	}
	fmt.Fprintf(env.stderr, "Delete all %s? They cannot be replayed afterwards. Type yes to go on: ", what)
	answer, _ := bufio.NewReader(env.stdin).ReadString('\n')
	if strings.TrimSpace(strings.ToLower(answer)) != "yes" {
		return errors.New("dead purge: nothing deleted")
	}
	return nil
}

// isTerminal reports whether r is an interactive terminal.
func isTerminal(r io.Reader) bool {
	f, ok := r.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	if err != nil || st.Mode()&os.ModeCharDevice == 0 {
		return false
	}
	// /dev/null is a character device too (a service's or a script's stdin).
	null, err := os.Stat(os.DevNull)
	return err != nil || !os.SameFile(st, null)
}

// stringList is a repeatable string flag.
type stringList []string

func (l *stringList) String() string     { return fmt.Sprint(*l) }
func (l *stringList) Set(v string) error { *l = append(*l, v); return nil }
func (l stringList) has(v string) bool {
	for _, s := range l {
		if s == v {
			return true
		}
	}
	return false
}
