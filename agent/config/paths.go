package config

import "runtime"

// EnvConfig is the environment variable naming the configuration file.
const EnvConfig = "ONEDRIVE_AGENT_CONFIG"

// Resolve returns the configuration file to use: flag (-c) when set, else $ONEDRIVE_AGENT_CONFIG,
// else agent.toml in the working directory when it exists, else the platform default
// (/etc/onedrive-agent/agent.toml; %ProgramData%\onedrive-agent\agent.toml on Windows).
// getenv and fileExists are os.Getenv and a stat; tests pass fakes.
func Resolve(flag string, getenv func(string) string, fileExists func(string) bool) string {
	return resolve(runtime.GOOS, flag, getenv, fileExists)
}

func resolve(goos, flag string, getenv func(string) string, fileExists func(string) bool) string {
	if flag != "" {
		return flag
	}
	if p := getenv(EnvConfig); p != "" {
		return p
	}
	if fileExists("agent.toml") {
		return "agent.toml"
	}
	if goos == "windows" {
		return programData(getenv) + `\onedrive-agent\agent.toml`
	}
	return "/etc/onedrive-agent/agent.toml"
}

// DefaultDataDir returns the platform's data_dir: /var/lib/onedrive-agent, or
// %ProgramData%\onedrive-agent on Windows. getenv is os.Getenv.
func DefaultDataDir(getenv func(string) string) string {
	return defaultDataDir(runtime.GOOS, getenv)
}

func defaultDataDir(goos string, getenv func(string) string) string {
	if goos == "windows" {
		return programData(getenv) + `\onedrive-agent`
	}
	return "/var/lib/onedrive-agent"
}

func programData(getenv func(string) string) string {
	if p := getenv("ProgramData"); p != "" {
		return p
	}
	return `C:\ProgramData`
}
