package service

import (
	"fmt"
	"strings"
)

// Describe returns what Install would write for cfg on this machine, for
// `install --dry-run`: where the definition goes and its text (the systemd
// unit, the SysV init script) or, for the Windows service manager, the
// settings it registers. It changes nothing.
func Describe(cfg Config) (string, error) {
	c, err := cfg.Resolve()
	if err != nil {
		return "", err
	}
	var b strings.Builder
	where := Location(c)
	if where == "" {
		where = "(unknown)"
	}
	fmt.Fprintf(&b, "# service manager: %s\n# would write: %s\n", Platform(), where)
	switch Platform() {
	case "linux-systemd":
		unit, err := SystemdUnit(c)
		if err != nil {
			return "", err
		}
		b.WriteString(unit)
	case "unix-systemv":
		script, err := SysVScript(c)
		if err != nil {
			return "", err
		}
		b.WriteString(script)
	default:
		kc, err := kardianosConfig(c)
		if err != nil {
			return "", err
		}
		fmt.Fprintf(&b, "name:         %s\n", kc.Name)
		fmt.Fprintf(&b, "display name: %s\n", kc.DisplayName)
		fmt.Fprintf(&b, "description:  %s\n", kc.Description)
		fmt.Fprintf(&b, "command:      %s\n", strings.Join(append([]string{quoteArg(kc.Executable)}, quoteArgs(kc.Arguments)...), " "))
		if Platform() == "windows-service" {
			b.WriteString("start type:   automatic (delayed start)\n")
			fmt.Fprintf(&b, "on failure:   restart after %v (failure count reset after %v s)\n", kc.Option["OnFailureDelayDuration"], kc.Option["OnFailureResetPeriod"])
			fmt.Fprintf(&b, "event log:    source %s in the Application log\n", kc.Name)
		}
	}
	return b.String(), nil
}

func quoteArgs(args []string) []string {
	out := make([]string, len(args))
	for i, a := range args {
		out[i] = quoteArg(a)
	}
	return out
}

// quoteArg quotes an argument with a space, as a command line shows it.
func quoteArg(s string) string {
	if s == "" || strings.ContainsAny(s, " \t\"") {
		return `"` + strings.ReplaceAll(s, `"`, `\"`) + `"`
	}
	return s
}
