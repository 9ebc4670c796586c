package main

import (
	"flag"
	"fmt"
	"io"
	"strings"
)

// commandHelp is each command's usage line and what it does; `COMMAND -h`
// prints it with the flags.
var commandHelp = map[string]string{
	"run": `usage: onedrive-agent run [-c FILE]

Runs the agent in the foreground (the service runs this). SIGHUP reloads FILE.`,
	"demo": `usage: onedrive-agent demo [--for DURATION] [--keep] [--callback URL]

Runs the whole pipeline against a built-in simulated drive and a built-in
receiver that prints what it gets.`,
	"check": `usage: onedrive-agent check [-c FILE] [--online]

Validates FILE. --online also checks each enabled instance end to end: its
sign-in, one Graph request for its drive, a test message to its callback.
Exit 0 when all is well, 1 when an online step fails, 2 when FILE is wrong.`,
	"login": `usage: onedrive-agent login [-c FILE] INSTANCE [--code CODE] [--browser]

Signs INSTANCE (its name in FILE) in and hands the token to the running
agent, or stores it in the database. Device code by default.`,
	"status": `usage: onedrive-agent status [-c FILE] [--json]

Per instance: state, last and next poll, queue depth, oldest queued event,
dead letters, last errors.`,
	"poll": `usage: onedrive-agent poll [-c FILE] INSTANCE

Polls INSTANCE now and waits for the round to end, showing its progress.
Interrupting it only stops the waiting when an agent runs the round.`,
	"resync": `usage: onedrive-agent resync [-c FILE] INSTANCE

Forgets INSTANCE's delta cursor and reconciles the whole drive, reporting
only the differences; waits like poll.`,
	"dead": `usage: onedrive-agent dead [-c FILE] list|replay|purge [INSTANCE] [--id ID]... [--json] [--yes]

Dead letters (messages the receiver rejected) of INSTANCE, or of every
instance: list them, replay them (back at the head of the queue, in order),
or purge them. Without --id, replay and purge act on all of them; purge then
asks for confirmation, or needs --yes when not run in a terminal.`,
	"import": `usage: onedrive-agent import FILE.json

Prints an [[instance]] table for an Open Connectors instance JSON on stdout.`,
	"drives": `usage: onedrive-agent drives [-c FILE] INSTANCE|SITE-URL [--instance NAME] [--json]

Lists the drives (document libraries) of a SharePoint site: the site of
INSTANCE's drive, or the site at SITE-URL (https://contoso.sharepoint.com/sites/X,
site:<host>:/sites/X or site:<site id>), signed in app-only.`,
	"admin rotate-token": `usage: onedrive-agent admin rotate-token [-c FILE]

Replaces the admin token in data_dir/admin.token; a running agent takes it at
once and the old one stops working.`,
	"install": `usage: onedrive-agent install [-c FILE] [--dry-run]

Installs the agent as a system service running "onedrive-agent run -c FILE"
(FILE made absolute). --dry-run prints what it would write and changes
nothing.`,
	"uninstall":  "usage: onedrive-agent uninstall\n\nRemoves the system service (the configuration and the data stay).",
	"start":      "usage: onedrive-agent start\n\nStarts the system service.",
	"stop":       "usage: onedrive-agent stop\n\nStops the system service.",
	"restart":    "usage: onedrive-agent restart\n\nRestarts the system service.",
	"version":    "usage: onedrive-agent version\n\nPrints the version and the commit the binary was built from.",
	"completion": "usage: onedrive-agent completion bash\n\nPrints a bash completion script: source <(onedrive-agent completion bash)",
}

// helpRequested is `COMMAND -h`: Main prints text on stdout and exits 0.
type helpRequested struct{ text string }

func (h helpRequested) Error() string { return "help requested" }

// helpFor is the help of the command fs parses: its usage and its flags.
func helpFor(fs *flag.FlagSet) helpRequested {
	var b strings.Builder
	if u, ok := commandHelp[fs.Name()]; ok {
		b.WriteString(u)
		b.WriteString("\n")
	} else {
		fmt.Fprintf(&b, "usage: onedrive-agent %s\n", fs.Name())
	}
	if f := flagHelp(fs); f != "" {
		b.WriteString("\nflags:\n")
		b.WriteString(f)
	}
	return helpRequested{b.String()}
}

func flagHelp(fs *flag.FlagSet) string {
	var b strings.Builder
	fs.SetOutput(&b)
	fs.PrintDefaults()
	fs.SetOutput(io.Discard)
	return b.String()
}
