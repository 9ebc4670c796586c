package main

import (
	"flag"
	"fmt"
)

// bashCompletion completes commands, their flags, dead's actions and
// instance names (read from the config file with a quick grep).
const bashCompletion = `# bash completion for onedrive-agent: source <(onedrive-agent completion bash)
_onedrive_agent() {
	local cur=${COMP_WORDS[COMP_CWORD]} cmd=${COMP_WORDS[1]} prev=${COMP_WORDS[COMP_CWORD-1]}
	if [ "$COMP_CWORD" -eq 1 ]; then
		COMPREPLY=($(compgen -W "run demo check login status poll resync dead import drives admin install uninstall start stop restart version completion help --version" -- "$cur"))
		return
	fi
	case $prev in
	-c | --config) COMPREPLY=($(compgen -f -- "$cur")); return ;;
	esac
	local flags="-c --config -h"
	case $cmd in
	check) flags="$flags --online" ;;
	login) flags="$flags --code --browser" ;;
	status) flags="$flags --json" ;;
	dead) flags="$flags --id --json --yes" ;;
	demo) flags="--for --keep --callback -h" ;;
	uninstall | start | stop | restart | version) flags="-h" ;;
	install) flags="$flags --dry-run" ;;
	import) COMPREPLY=($(compgen -f -- "$cur")); return ;;
	completion) COMPREPLY=($(compgen -W "bash" -- "$cur")); return ;;
	admin) [ "$COMP_CWORD" -eq 2 ] && { COMPREPLY=($(compgen -W "rotate-token" -- "$cur")); return; } ;;
	drives) flags="$flags --instance --json" ;;
	esac
	if [[ $cur == -* ]]; then
		COMPREPLY=($(compgen -W "$flags" -- "$cur"))
		return
	fi
	if [ "$cmd" = dead ] && [ "$COMP_CWORD" -eq 2 ]; then
		COMPREPLY=($(compgen -W "list replay purge" -- "$cur"))
		return
	fi
	case $cmd in
	login | poll | resync | dead | drives)
		local cfg=${ONEDRIVE_AGENT_CONFIG:-agent.toml} i
		for ((i = 1; i < COMP_CWORD; i++)); do
			case ${COMP_WORDS[i]} in -c | --config) cfg=${COMP_WORDS[i+1]} ;; esac
		done
		[ -r "$cfg" ] || cfg=/etc/onedrive-agent/agent.toml
		local names=$(sed -n 's/^[[:space:]]*name[[:space:]]*=[[:space:]]*"\([a-z0-9_-]*\)".*/\1/p' "$cfg" 2>/dev/null)
		COMPREPLY=($(compgen -W "$names" -- "$cur"))
		;;
	esac
}
complete -F _onedrive_agent onedrive-agent
`

// cmdCompletion prints a shell completion script.
func cmdCompletion(env *cmdEnv, args []string) error {
	fs := flag.NewFlagSet("completion", flag.ContinueOnError)
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 || pos[0] != "bash" {
		return usagef("usage: onedrive-agent completion bash")
	}
	fmt.Fprint(env.stdout, bashCompletion)
	return nil
}
