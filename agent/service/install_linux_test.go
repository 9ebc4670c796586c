//go:build linux

package service

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestInstall_System installs a throw-away service named
// onedrive-agent-test-<pid> with the service manager of this machine, checks
// the file written, and uninstalls it. It runs as root on a machine where
// systemd runs (/run/systemd/system) or, without systemd, /etc/init.d is
// writable; elsewhere it is skipped. The service runs a shell script that
// sleeps, never the agent: it is started and stopped only with SysV init.
func TestInstall_System(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("installing a service needs root")
	}
	var render func(Config) (string, error)
	switch p := Platform(); p {
	case "linux-systemd":
		if _, err := os.Stat("/run/systemd/system"); err != nil {
			t.Skip("systemd is installed but not running (/run/systemd/system is missing)")
		}
		render = SystemdUnit
	case "unix-systemv":
		if unix.Access("/etc/init.d", unix.W_OK) != nil {
			t.Skip("/etc/init.d is not writable")
		}
		render = SysVScript
	default:
		t.Skipf("service manager %q: the test knows systemd and SysV init only", p)
	}

	dir := t.TempDir()
	exe := filepath.Join(dir, "fake-agent")
	if err := os.WriteFile(exe, []byte("#!/bin/sh\nexec sleep 60\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	conf := filepath.Join(dir, "agent.toml")
	if err := os.WriteFile(conf, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	name := fmt.Sprintf("onedrive-agent-test-%d", os.Getpid())
	// As root: creating the onedrive-agent user is left to machines where
	// the service is really installed (see TestSysVScript_Supervises for
	// the script's own behaviour).
	cfg := Config{Name: name, Executable: exe, ConfigPath: conf, User: "root"}
	loc := Location(cfg)
	if _, err := os.Stat(loc); err == nil {
		t.Fatalf("%s exists before the test", loc)
	}
	t.Cleanup(func() {
		if _, err := os.Stat(loc); err == nil {
			if err := Uninstall(cfg); err != nil {
				t.Errorf("cleanup: %v", err)
			}
		}
		_ = os.Remove("/var/log/" + name + ".log")
	})

	if err := Install(cfg); err != nil {
		t.Fatalf("Install: %v", err)
	}
	got, err := os.ReadFile(loc)
	if err != nil {
		t.Fatalf("read installed definition: %v", err)
	}
	want, err := render(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != want {
		t.Errorf("%s differs from the rendered definition:\n%s\nwant:\n%s", loc, got, want)
	}
	if !strings.Contains(string(got), conf) {
		t.Errorf("%s does not name the config %s", loc, conf)
	}
	if st, err := Status(cfg); err != nil || st != StatusStopped {
		t.Errorf("Status after install = %q, %v; want %q", st, err, StatusStopped)
	}
	if err := Install(cfg); !errors.Is(err, ErrAlreadyInstalled) || !strings.Contains(err.Error(), loc) {
		t.Errorf("second Install = %v, want ErrAlreadyInstalled naming %s", err, loc)
	}

	if Platform() == "unix-systemv" {
		fi, err := os.Stat(loc)
		if err != nil || fi.Mode().Perm() != 0o755 {
			t.Errorf("init script mode: %v %v", fi, err)
		}
		runStartStop(t, cfg) // ends with Uninstall of the running service
	} else if err := Uninstall(cfg); err != nil {
		t.Fatalf("Uninstall: %v", err)
	}
	if _, err := os.Stat(loc); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("%s still there after Uninstall (%v)", loc, err)
	}
	links, _ := filepath.Glob("/etc/rc?.d/*" + name)
	if len(links) > 0 {
		t.Errorf("runlevel links left: %v", links)
	}
	if st, err := Status(cfg); err != nil || st != StatusNotInstalled {
		t.Errorf("Status after uninstall = %q, %v; want %q", st, err, StatusNotInstalled)
	}
	if err := Uninstall(cfg); !errors.Is(err, ErrNotInstalled) {
		t.Errorf("second Uninstall = %v, want ErrNotInstalled", err)
	}
}

// runStartStop starts the installed SysV service (a sleeping script), checks
// Status and Restart, and checks that Uninstall stops it.
func runStartStop(t *testing.T, cfg Config) {
	pidFile := "/var/run/" + cfg.Name + ".pid"
	begin := time.Now()
	if err := Start(cfg); err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Logf("Start took %s", time.Since(begin))
	if st, err := Status(cfg); err != nil || st != StatusRunning {
		t.Errorf("Status after Start = %q, %v", st, err)
	}
	first := readPid(t, pidFile)
	if err := Restart(cfg); err != nil {
		t.Fatalf("Restart: %v", err)
	}
	second := readPid(t, pidFile)
	if first == second || alive(first) {
		t.Errorf("Restart kept pid %d (now %d, old alive %v)", first, second, alive(first))
	}
	begin = time.Now()
	if err := Stop(cfg); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	t.Logf("Stop took %s", time.Since(begin))
	if st, err := Status(cfg); err != nil || st != StatusStopped {
		t.Errorf("Status after Stop = %q, %v", st, err)
	}
	if alive(second) {
		t.Errorf("pid %d alive after Stop", second)
	}
	if err := Start(cfg); err != nil {
		t.Fatalf("Start again: %v", err)
	}
	third := readPid(t, pidFile)
	if err := Uninstall(cfg); err != nil {
		t.Fatalf("Uninstall of a running service: %v", err)
	}
	if alive(third) {
		t.Errorf("pid %d alive after Uninstall", third)
	}
}

func readPid(t *testing.T, path string) int {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("pid file: %v", err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatalf("pid file %q: %v", b, err)
	}
	return pid
}

// alive reports whether pid runs (a zombie waiting for its parent does not
// count).
func alive(pid int) bool {
	deadline := time.Now().Add(2 * time.Second)
	for {
		if syscall.Kill(pid, 0) != nil {
			return false
		}
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			return false
		}
		s := string(b)
		if i := strings.LastIndexByte(s, ')'); i >= 0 && strings.HasPrefix(s[i:], ") Z") {
			return false
		}
		if time.Now().After(deadline) {
			return true
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestSysVScript_Supervises runs the rendered init script (as root, with a
// throw-away name): an agent that crashes is started again, SIGHUP reaches
// it through reload, stop ends supervisor and agent, and an agent that
// exits with status 2 (configuration error) is not restarted.
func TestSysVScript_Supervises(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("the init script writes /var/run and /var/log: needs root")
	}
	dir := t.TempDir()
	runs := filepath.Join(dir, "runs")
	exe := filepath.Join(dir, "fake-agent")
	// Each run appends a line; the first two crash at once, the third
	// stays (and notes a SIGHUP) until stopped.
	agent := `#!/bin/sh
echo run >>"` + runs + `"
n=$(wc -l <"` + runs + `")
[ "$n" -ge 3 ] || exit 1
trap 'echo hup >>"` + runs + `"' HUP
trap 'exit 0' TERM
while :; do sleep 0.1; done
`
	if err := os.WriteFile(exe, []byte(agent), 0o755); err != nil {
		t.Fatal(err)
	}
	name := fmt.Sprintf("onedrive-agent-sv-%d", os.Getpid())
	script, err := SysVScript(Config{Name: name, Executable: exe, Args: []string{"run"}, User: "root"})
	if err != nil {
		t.Fatal(err)
	}
	sp := filepath.Join(dir, name)
	if err := os.WriteFile(sp, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	defaults := "/etc/default/" + name
	if err := os.WriteFile(defaults, []byte("RESTART_DELAY=0.2\n"), 0o600); err != nil {
		t.Skipf("cannot write %s: %v", defaults, err)
	}
	t.Cleanup(func() {
		_ = exec.Command(sp, "stop").Run()
		for _, p := range []string{defaults, "/var/log/" + name + ".log", "/var/run/" + name + ".pid"} {
			_ = os.Remove(p)
		}
	})
	count := func(word string) int {
		b, _ := os.ReadFile(runs)
		return strings.Count(string(b), word+"\n")
	}
	if out, err := exec.Command(sp, "start").CombinedOutput(); err != nil {
		t.Fatalf("start: %v\n%s", err, out)
	}
	deadline := time.Now().Add(10 * time.Second)
	for count("run") < 3 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if n := count("run"); n != 3 {
		log, _ := os.ReadFile("/var/log/" + name + ".log")
		t.Fatalf("the agent ran %d times, want 3 (two crashes restarted); log:\n%s", n, log)
	}
	agentPid := readPid(t, "/var/run/"+name+".agent.pid")
	if out, err := exec.Command(sp, "reload").CombinedOutput(); err != nil {
		t.Fatalf("reload: %v\n%s", err, out)
	}
	for count("hup") < 1 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if count("hup") != 1 {
		t.Error("reload did not reach the agent")
	}
	supervisor := readPid(t, "/var/run/"+name+".pid")
	if out, err := exec.Command(sp, "stop").CombinedOutput(); err != nil {
		t.Fatalf("stop: %v\n%s", err, out)
	}
	if alive(supervisor) || alive(agentPid) {
		t.Errorf("after stop: supervisor alive %v, agent alive %v", alive(supervisor), alive(agentPid))
	}
	if n := count("run"); n != 3 {
		t.Errorf("the agent ran %d times after stop, want 3 (no restart after stop)", n)
	}

	// Exit status 2: not restarted.
	if err := os.WriteFile(exe, []byte("#!/bin/sh\necho run >>\""+runs+"\"\nexit 2\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	_ = exec.Command(sp, "start").Run()
	time.Sleep(time.Second)
	if n := count("run"); n != 4 {
		t.Errorf("after a configuration error the agent ran %d more times, want 1", n-3)
	}
	log, _ := os.ReadFile("/var/log/" + name + ".log")
	if !strings.Contains(string(log), "not restarting") {
		t.Errorf("log does not say why it stopped:\n%s", log)
	}
}

// TestEnsureOwnedDir_ShareConfig: data_dir (and what is in it) goes to the
// service user with mode 0700; a configuration it cannot read gets its
// group and group read, and nobody else may write it.
func TestEnsureOwnedDir_ShareConfig(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("chown needs root")
	}
	const uid, gid = 64123, 64124
	dir := filepath.Join(t.TempDir(), "data")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "onedrive-agent.db"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := ensureOwnedDir(dir, uid, gid); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{dir, filepath.Join(dir, "onedrive-agent.db")} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		st := fi.Sys().(*syscall.Stat_t)
		if st.Uid != uid || st.Gid != gid {
			t.Errorf("%s owned by %d:%d", p, st.Uid, st.Gid)
		}
		if p == dir && fi.Mode().Perm() != 0o700 {
			t.Errorf("data_dir mode %v", fi.Mode().Perm())
		}
	}
	conf := filepath.Join(t.TempDir(), "agent.toml")
	if err := os.WriteFile(conf, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(conf, 0o620); err != nil {
		t.Fatal(err)
	}
	if err := shareConfig(conf, uid, gid); err != nil {
		t.Fatal(err)
	}
	fi, _ := os.Stat(conf)
	if st := fi.Sys().(*syscall.Stat_t); st.Uid != 0 || st.Gid != gid || fi.Mode().Perm() != 0o640 {
		t.Errorf("config after shareConfig: %d:%d %v, want 0:%d 0640", st.Uid, st.Gid, fi.Mode().Perm(), gid)
	}
}
