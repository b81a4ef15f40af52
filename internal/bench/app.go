package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/poplar-mail/poplar/account"
)

// appReps is how many times the app is started for the app measurement.
const appReps = 3

// appQuery is what the app measurement types into the window's search box once the list is
// shown: a word in every message, so that the search lists its most hits (searchLimit in gui).
const appQuery = "the"

// appSettle is how long after showing the search results the app's memory is read (it gives the
// memory of a big list back 2 s after the list goes: setList in gui).
const appSettle = 3 * time.Second

// appOpen measures the desktop app as a user starts it (the real binary, under Xvfb when there is
// no display, in a D-Bus session of its own): from the start of the process to the moment its
// message list holds the n messages of the account's Inbox (the app logs "listed N messages"),
// that is startup to a usable window with that folder open, the Inbox's index already written.
// Each run has fresh preferences, so the app opens the first account's Inbox. The usage of a run
// is the wall time to that moment and the process's CPU time and resident set size then.
//
// Then it types appQuery into the window's search box (xdotool: Ctrl+F and the keys) and waits
// for the app to show the results (it logs `search "the": N of M shown`): the full-text index,
// which must have been built, is open then. The second usage of a run is the time from the first
// key to that line (the typing pause the app waits for included), and the process's CPU time and
// resident set size appSettle later: the app with the search results listed and the search index
// open, once it has given back what the folder's list no longer needs.
//
// Then it presses Esc, which ends the search, and waits for the app to list the whole Inbox again:
// the third usage is the time from the key to that line, and the usage appSettle later: the
// folder listed with the search index still open.
func appOpen(bin, dataDir, name string, n int) (runs appRuns, err error) {
	// bin, the command line, hands over to the window program beside it (in the same process).
	if out, err := exec.Command("go", "build", "-o", filepath.Join(filepath.Dir(bin), "poplar-gui"), "./gui/cmd/poplar-gui").CombinedOutput(); err != nil {
		return appRuns{}, fmt.Errorf("go build ./gui/cmd/poplar-gui: %v: %s", err, out)
	}
	tmp, err := os.MkdirTemp("", "poplar-bench-app-")
	if err != nil {
		return appRuns{}, err
	}
	defer os.RemoveAll(tmp)
	a := account.New(name, "127.0.0.1", "bench")
	a.Enabled, a.CheckAtStartup = false, false // nothing but the open: no check, no keyring
	cfgDir := filepath.Join(tmp, "config")
	if err := (&account.Config{Accounts: []account.Account{a}}).Save(cfgDir); err != nil {
		return appRuns{}, err
	}
	runtimeDir := filepath.Join(tmp, "xdg-runtime")
	if err := os.Mkdir(runtimeDir, 0o700); err != nil {
		return appRuns{}, err
	}
	env := append(os.Environ(), "XDG_RUNTIME_DIR="+runtimeDir)
	if os.Getenv("DISPLAY") == "" {
		display, stop, err := startXvfb()
		if err != nil {
			return appRuns{}, err
		}
		defer stop()
		env = append(env, "DISPLAY="+display)
	}
	for i := range appReps {
		home := filepath.Join(tmp, fmt.Sprintf("home%d", i)) // fresh preferences: no last folder
		r, err := appRun(bin, append(env, "XDG_CONFIG_HOME="+home), cfgDir, dataDir, fmt.Sprintf("listed %d messages in %s/Inbox", n, name))
		if err != nil {
			return appRuns{}, err
		}
		for _, u := range []struct {
			what string
			u    usage
		}{{"app: start to the list shown", r.listed}, {"app: then a search, results shown", r.searched}, {"app: then Esc, the folder shown", r.back}} {
			fmt.Printf("%-52s %8.3f s   %6.1f MiB RSS, %.2f s CPU\n", fmt.Sprintf("%s (run %d)", u.what, i+1), u.u.wall.Seconds(), u.u.mib, u.u.cpu.Seconds())
		}
		runs.listed, runs.searched, runs.back = append(runs.listed, r.listed), append(runs.searched, r.searched), append(runs.back, r.back)
	}
	return runs, nil
}

// appRuns are the usages of the app's runs at its three moments (appOpen).
type appRuns struct{ listed, searched, back []usage }

// appRunUsage is the usage of one run of the app at its three moments (appOpen).
type appRunUsage struct{ listed, searched, back usage }

// appRun starts the app once and waits, at most a minute, for the line want in its log, then
// searches for appQuery in its window and waits for the results, then presses Esc and waits for
// want again (see appOpen).
func appRun(bin string, env []string, cfgDir, dataDir, want string) (r appRunUsage, err error) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	// The shell says its process ID and becomes the app: that is the process to read.
	cmd := exec.CommandContext(ctx, "dbus-run-session", "--", "sh", "-c", `echo "poplar-bench-pid $$" >&2; exec "$0" "$@"`,
		bin, "--config-dir", cfgDir, "--data-dir", dataDir)
	cmd.Env = env
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return appRunUsage{}, err
	}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return appRunUsage{}, fmt.Errorf("starting the app: %w", err)
	}
	defer func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		cmd.Wait()
	}()
	pid := 0
	var log strings.Builder
	sc := bufio.NewScanner(stderr)
	// wait reads the log until a line holding text; ok is false at its end.
	wait := func(text string) bool {
		for sc.Scan() {
			line := sc.Text()
			log.WriteString(line + "\n")
			if _, p, ok := strings.Cut(line, "poplar-bench-pid "); ok && pid == 0 {
				pid, _ = strconv.Atoi(strings.Fields(p + " x")[0])
			}
			if strings.Contains(line, text) {
				return true
			}
		}
		return false
	}
	if !wait(want) {
		return appRunUsage{}, fmt.Errorf("the app never logged %q: %s", want, log.String())
	}
	r.listed.wall = time.Since(start)
	if pid == 0 {
		return appRunUsage{}, fmt.Errorf("the app's process ID was not in its log: %s", log.String())
	}
	r.listed.mib, r.listed.cpu = procUsage(pid)
	typed := time.Now()
	for _, keys := range [][]string{{"key", "ctrl+f"}, {"type", "--delay", "20", appQuery}} {
		x := exec.CommandContext(ctx, "xdotool", keys...)
		x.Env = env
		if out, err := x.CombinedOutput(); err != nil {
			return appRunUsage{}, fmt.Errorf("xdotool %s: %v: %s", strings.Join(keys, " "), err, out)
		}
	}
	if !wait(fmt.Sprintf("search %q: ", appQuery)) {
		return appRunUsage{}, fmt.Errorf("the app never showed the results of a search: %s", log.String())
	}
	r.searched.wall = time.Since(typed)
	time.Sleep(appSettle)
	r.searched.mib, r.searched.cpu = procUsage(pid)
	pressed := time.Now()
	x := exec.CommandContext(ctx, "xdotool", "key", "Escape")
	x.Env = env
	if out, err := x.CombinedOutput(); err != nil {
		return appRunUsage{}, fmt.Errorf("xdotool key Escape: %v: %s", err, out)
	}
	if !wait(want) {
		return appRunUsage{}, fmt.Errorf("the app never listed the folder again after Esc: %s", log.String())
	}
	r.back.wall = time.Since(pressed)
	time.Sleep(appSettle)
	r.back.mib, r.back.cpu = procUsage(pid)
	return r, nil
}

// procUsage reads a running process's resident set size (MiB) and CPU time from /proc.
func procUsage(pid int) (mib float64, cpu time.Duration) {
	if status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid)); err == nil {
		for _, line := range strings.Split(string(status), "\n") {
			if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
				kib, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
				mib = kib / 1024
			}
		}
	}
	if stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid)); err == nil {
		// Fields after the command name (which may hold spaces) start at state; utime and stime
		// are the 14th and 15th fields, in clock ticks (100 a second on Linux).
		if i := strings.LastIndexByte(string(stat), ')'); i > 0 {
			f := strings.Fields(string(stat)[i+1:])
			if len(f) > 12 {
				ut, _ := strconv.ParseInt(f[11], 10, 64)
				st, _ := strconv.ParseInt(f[12], 10, 64)
				cpu = time.Duration(ut+st) * 10 * time.Millisecond
			}
		}
	}
	return mib, cpu
}

// startXvfb starts a private X server and returns its display and how to stop it.
func startXvfb() (string, func(), error) {
	for d := 90; d < 110; d++ {
		if _, err := os.Stat(fmt.Sprintf("/tmp/.X11-unix/X%d", d)); err == nil {
			continue // taken
		}
		display := fmt.Sprintf(":%d", d)
		x := exec.Command("Xvfb", display, "-screen", "0", "1280x800x24", "-nolisten", "tcp")
		if err := x.Start(); err != nil {
			return "", nil, fmt.Errorf("starting Xvfb: %w", err)
		}
		stop := func() { x.Process.Kill(); x.Wait() }
		for range 50 {
			if _, err := os.Stat(fmt.Sprintf("/tmp/.X11-unix/X%d", d)); err == nil {
				return display, stop, nil
			}
			time.Sleep(100 * time.Millisecond)
		}
		stop()
		return "", nil, fmt.Errorf("bench: the X server (Xvfb) on %s did not start", display)
	}
	return "", nil, errors.New("bench: no free X display for Xvfb")
}
