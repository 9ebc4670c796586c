package main

import (
	"flag"
	"fmt"
	"runtime"
	"runtime/debug"
)

// version and commit are set at build time:
//
//	go build -ldflags "-X main.version=1.2.0 -X main.commit=$(git rev-parse HEAD)"
//
// scripts/build.sh and scripts/release.sh do it.
var (
	version = ""
	commit  = ""
)

// agentVersion is the version the binary was stamped with, the module
// version when built with `go install …@version`, else "dev".
func agentVersion() string {
	if version != "" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "dev"
}

// agentCommit is the commit the binary was built from: the stamped one,
// else Go's VCS stamping (vcs.revision, with "-dirty" for a modified
// checkout), else "unknown".
func agentCommit() string {
	if commit != "" {
		return commit
	}
	return buildInfoCommit(debug.ReadBuildInfo())
}

func buildInfoCommit(bi *debug.BuildInfo, ok bool) string {
	if !ok {
		return "unknown"
	}
	rev, dirty := "", false
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	if rev == "" {
		return "unknown"
	}
	if dirty {
		rev += "-dirty"
	}
	return rev
}

// versionLine is what `version` and `--version` print.
func versionLine() string {
	return fmt.Sprintf("onedrive-agent %s (commit %s, %s, %s/%s)", agentVersion(), agentCommit(), runtime.Version(), runtime.GOOS, runtime.GOARCH)
}

func cmdVersion(env *cmdEnv, args []string) error {
	fs := flag.NewFlagSet("version", flag.ContinueOnError)
	if pos, err := parseFlags(fs, args); err != nil {
		return err
	} else if len(pos) > 0 {
		return usagef("version: unexpected argument %q", pos[0])
	}
	fmt.Fprintln(env.stdout, versionLine())
	return nil
}
