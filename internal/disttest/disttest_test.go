package disttest

import (
	"bufio"
	"bytes"
	"context"
	"debug/elf"
	"fmt"
	"io"
	"net"
	"net/mail"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/poplar-mail/poplar/internal/dovecot"
)

// runTimeout bounds one run of the program under test (wine's first start is slow).
const runTimeout = 5 * time.Minute

// program runs one release binary: directly, or under wine64.
type program struct {
	path string
	wine []string // the environment of a wine run (WINEPREFIX...); nil for a native binary
}

func (p program) run(t *testing.T, stdin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), runTimeout)
	defer cancel()
	var cmd *exec.Cmd
	if p.wine != nil {
		cmd = exec.CommandContext(ctx, wine64, append([]string{p.path}, args...)...)
		cmd.Env = append(os.Environ(), p.wine...)
	} else {
		cmd = exec.CommandContext(ctx, p.path, args...)
	}
	var out, errOut bytes.Buffer
	cmd.Stdin, cmd.Stdout, cmd.Stderr = strings.NewReader(stdin), &out, &errOut
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("%s %q did not end within %v", p.path, args, runTimeout)
	}
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode(), out.String(), errOut.String()
	}
	if err != nil {
		t.Fatalf("running %s: %v", p.path, err)
	}
	return 0, out.String(), errOut.String()
}

// artifact returns the path in environment variable name, or skips the test (saying how to run
// it) when the variable is unset, as in `make test`.
func artifact(t *testing.T, name string) string {
	p := os.Getenv(name)
	if p == "" {
		t.Skipf("%s is not set: `make dist-test` runs this test on the release artifacts", name)
	}
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return p
}

// messages are what the test Dovecot serves: distinct subjects, so each can be found once.
func messages(n int) [][]byte {
	var out [][]byte
	for i := 1; i <= n; i++ {
		out = append(out, fmt.Appendf(nil, "From: a@example.org\r\nTo: b@example.org\r\nSubject: message %d\r\n"+
			"Message-ID: <%d@example.org>\r\n\r\nbody %d\r\n", i, i, i))
	}
	return out
}

// TestLinuxPackage: the binary from the .deb prints its version, adds an account (password in
// the Secret Service keyring, under .ci/session) and fetches every message once.
func TestLinuxPackage(t *testing.T) {
	bin := artifact(t, "POPLAR_DIST_LINUX")
	config, data := t.TempDir(), t.TempDir()
	check(t, program{path: bin}, []string{"--config-dir", config, "--data-dir", data}, "", data, config)
}

// guiLibraries are the shared libraries of the window (linked, or loaded by GLFW at run time):
// the command line must need none of them.
var guiLibraries = []string{"libGL.so.1", "libEGL.so.1", "libX11.so.6", "libXrandr.so.2", "libXcursor.so.1",
	"libxkbcommon.so.0", "libwayland-client.so.0", "libwayland-egl.so.1"}

// linuxBinaries runs f on poplar from the .deb (POPLAR_DIST_LINUX) and from the tar.xz installed
// by its Makefile (POPLAR_DIST_TAR), each with its poplar-gui in ../lib/poplar.
func linuxBinaries(t *testing.T, f func(t *testing.T, poplar, gui string)) {
	for _, v := range []string{"POPLAR_DIST_LINUX", "POPLAR_DIST_TAR"} {
		t.Run(v, func(t *testing.T) {
			bin := artifact(t, v)
			gui := filepath.Join(filepath.Dir(bin), "..", "lib", "poplar", "poplar-gui")
			if _, err := os.Stat(gui); err != nil {
				t.Fatalf("the window program is not where poplar looks: %v", err)
			}
			f(t, bin, gui)
		})
	}
}

// TestLinuxNoGUILibraries: poplar, the command line, needs none of the window's libraries (its
// ELF DT_NEEDED list) and does not even name those GLFW loads at run time; poplar-gui does both,
// so the check can fail.
func TestLinuxNoGUILibraries(t *testing.T) {
	linuxBinaries(t, func(t *testing.T, poplar, gui string) {
		for _, b := range []struct {
			path string
			gui  bool
		}{{poplar, false}, {gui, true}} {
			f, err := elf.Open(b.path)
			if err != nil {
				t.Fatalf("%s: %v", b.path, err)
			}
			needed, err := f.ImportedLibraries()
			f.Close()
			if err != nil {
				t.Fatalf("%s: %v", b.path, err)
			}
			content, err := os.ReadFile(b.path)
			if err != nil {
				t.Fatal(err)
			}
			for _, lib := range guiLibraries {
				linked := slices.Contains(needed, lib)
				named := bytes.Contains(content, []byte(lib+"\x00"))
				if !b.gui && (linked || named) {
					t.Errorf("%s: needs %s (DT_NEEDED %v, named %v); the command line must load no GUI library", b.path, lib, linked, named)
				}
				if b.gui && !linked && !named {
					t.Errorf("%s neither needs nor names %s: is it the window program?", b.path, lib)
				}
			}
			t.Logf("%s: DT_NEEDED %v", filepath.Base(b.path), needed)
		}
	})
}

// copyAlone copies the program at path into a new folder of its own and returns the copy's path.
func copyAlone(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	alone := filepath.Join(t.TempDir(), filepath.Base(path))
	if err := os.WriteFile(alone, b, 0o755); err != nil {
		t.Fatal(err)
	}
	return alone
}

// TestLinuxHandOver: with no command poplar opens the window by handing over to poplar-gui in
// ../lib/poplar: the same process (its /proc/PID/exe becomes poplar-gui) shows the demo mailbox on
// the display .ci/session provides. A poplar without its poplar-gui says the window program is not
// installed and where it looked, and exits 1.
func TestLinuxHandOver(t *testing.T) {
	linuxBinaries(t, func(t *testing.T, poplar, gui string) {
		if os.Getenv("DISPLAY") == "" {
			t.Fatal("no DISPLAY: run under .ci/session, which starts Xvfb")
		}
		alone := copyAlone(t, poplar)
		code, out, errs := program{path: alone}.run(t, "", "--demo")
		if want := "poplar: the window program (poplar-gui) is not installed: looked for " + filepath.Join(filepath.Dir(alone), "poplar-gui"); code != 1 || !strings.HasPrefix(errs, want) {
			t.Errorf("poplar --demo without poplar-gui: exit %d, stdout %q, stderr %q; want 1 and %q", code, out, errs, want)
		}

		ctx, cancel := context.WithTimeout(context.Background(), runTimeout)
		defer cancel()
		dir := t.TempDir()
		cmd := exec.CommandContext(ctx, poplar, "--demo")
		cmd.Env = append(os.Environ(), "XDG_CONFIG_HOME="+filepath.Join(dir, "config"), "XDG_DATA_HOME="+filepath.Join(dir, "data"))
		// At the end (cancel) the app is asked to quit, as by Ctrl-C, and killed 10 s later.
		cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
		cmd.WaitDelay = 10 * time.Second
		pr, pw := io.Pipe()
		cmd.Stderr = pw
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		defer func() {
			cancel()
			cmd.Wait()
			pw.Close()
		}()
		// The log is read to its end (so the app never blocks writing it); ended gets the log so
		// far if it ends before want, found is closed when want is there.
		const want = "the list shows " // … messages in demo/Inbox: the window is up, its first check done
		found, ended := make(chan struct{}), make(chan string, 1)
		go func() {
			var log strings.Builder
			sc := bufio.NewScanner(pr)
			for sc.Scan() {
				if strings.Contains(sc.Text(), want) {
					close(found)
					io.Copy(io.Discard, pr)
					return
				}
				log.WriteString(sc.Text() + "\n")
			}
			io.Copy(io.Discard, pr)
			ended <- log.String()
		}()
		select {
		case <-found:
		case log := <-ended:
			t.Fatalf("poplar --demo ended without logging %q:\n%s", want, log)
		case <-ctx.Done():
			t.Fatalf("poplar --demo did not log %q within %v", want, runTimeout)
		}
		exe, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", cmd.Process.Pid))
		realGUI, err2 := filepath.EvalSymlinks(gui)
		if err != nil || err2 != nil || exe != realGUI {
			t.Fatalf("poplar --demo's process runs %q (%v, %v), want poplar-gui %q", exe, err, err2, realGUI)
		}
		t.Logf("poplar --demo: process %d is %s, showing the demo mailbox", cmd.Process.Pid, exe)
	})
}

// TestWindowsZip: poplar.exe from the zip, under wine64, prints its version, adds an account with
// its password in the Credential Manager (wine's advapi32 implements it), settings under
// %APPDATA% and mail under %LOCALAPPDATA% (no --config-dir or --data-dir), and fetches every
// message once; a second fetch reads the password back from the Credential Manager.
func TestWindowsZip(t *testing.T) {
	exe := artifact(t, "POPLAR_DIST_WINDOWS")
	if runtime.GOOS != "linux" {
		t.Fatalf("the Windows build is tested under wine64 on Linux, not on %s", runtime.GOOS)
	}
	if _, err := os.Stat(wine64); err != nil {
		t.Fatalf("wine64 is not installed (%v): .ci/install-deps dist installs it", err)
	}
	prefix := t.TempDir()
	env := []string{"WINEPREFIX=" + prefix, "WINEDEBUG=-all", "WINEDLLOVERRIDES=mscoree,mshtml=", "DISPLAY="}
	t.Cleanup(func() {
		k := exec.Command(wineserver, "-k")
		k.Env = append(os.Environ(), env...)
		k.Run()
	})
	boot := exec.Command(wine64, "wineboot", "--init")
	boot.Env = append(os.Environ(), env...)
	if out, err := boot.CombinedOutput(); err != nil {
		t.Fatalf("wineboot --init: %v\n%s", err, out)
	}
	system32 := filepath.Join(prefix, "drive_c", "windows", "system32")
	if _, err := os.Stat(filepath.Join(system32, "bcryptprimitives.dll")); err != nil {
		// Debian 12's wine 8.0 lacks the DLL whose ProcessPrng the Go runtime calls at start-up:
		// a stand-in, built here, fills in (in this test's prefix only; Windows has the real one).
		src, err := filepath.Abs(filepath.Join("..", "..", ".ci", "wine-bcryptprimitives.c"))
		if err != nil {
			t.Fatal(err)
		}
		cc := exec.Command("x86_64-w64-mingw32-gcc", "-shared", "-O2", "-o", filepath.Join(system32, "bcryptprimitives.dll"), src, "-lbcrypt")
		if out, err := cc.CombinedOutput(); err != nil {
			t.Fatalf("building the bcryptprimitives.dll stand-in for wine: %v\n%s", err, out)
		}
	}
	users := filepath.Join(prefix, "drive_c", "users", os.Getenv("USER"))
	if os.Getenv("USER") == "" {
		users = filepath.Join(prefix, "drive_c", "users", "root")
	}
	config := filepath.Join(users, "AppData", "Roaming", "poplar")
	data := filepath.Join(users, "AppData", "Local", "poplar")
	check(t, program{path: exe, wine: env}, nil, `Z:`, data, config)

	// poplar-gui.exe, the window program, runs the command line too.
	version := os.Getenv("POPLAR_DIST_VERSION")
	gui := program{path: filepath.Join(filepath.Dir(exe), "poplar-gui.exe"), wine: env}
	if code, out, errs := gui.run(t, "", "--version"); code != 0 || !strings.HasPrefix(out, "poplar "+version+" ") {
		t.Errorf("poplar-gui.exe --version: exit %d, stdout %q, stderr %q; want \"poplar %s …\"", code, out, errs, version)
	}
	// poplar.exe hands the window over to poplar-gui.exe beside it (started detached: poplar.exe
	// returns 0 at once); without it, it says the window program is not installed.
	if code, out, errs := (program{path: exe, wine: env}).run(t, "", "--demo"); code != 0 || errs != "" {
		t.Errorf("poplar.exe --demo: exit %d, stdout %q, stderr %q; want 0 and nothing on stderr", code, out, errs)
	}
	if code, out, errs := (program{path: copyAlone(t, exe), wine: env}).run(t, "", "--demo"); code != 1 || !strings.Contains(errs, "window program (poplar-gui.exe) is not installed") {
		t.Errorf("poplar.exe --demo without poplar-gui.exe: exit %d, stdout %q, stderr %q; want 1 and \"not installed\"", code, out, errs)
	}
}

// check runs p through --version, account add and two fetches against a new Dovecot, then reads
// the account's Maildir under data: every message once. dirs are extra flags for each command;
// drive prefixes the CA file's path for a Windows program ("Z:" maps wine's Z: to /).
func check(t *testing.T, p program, dirs []string, drive, data, config string) {
	version := os.Getenv("POPLAR_DIST_VERSION")
	code, out, errs := p.run(t, "", "--version")
	if code != 0 || !strings.HasPrefix(out, "poplar "+version+" (commit ") || !strings.Contains(out, ", built ") {
		t.Fatalf("--version: exit %d, stdout %q, stderr %q; want \"poplar %s (commit …, built …)\"", code, out, errs, version)
	}
	t.Logf("%s", strings.TrimSpace(out))

	const n = 7
	srv := dovecot.StartT(t, dovecot.Options{Users: []dovecot.User{{Name: "erin", Password: "pass word", Messages: messages(n)}}})
	host, port, err := net.SplitHostPort(srv.POP3SAddr)
	if err != nil {
		t.Fatal(err)
	}
	ca := srv.CAFile
	if drive != "" {
		ca = drive + strings.ReplaceAll(ca, "/", `\`)
	}
	add := append([]string{"account", "add", "home", "--host", host, "--port", port, "--user", "erin",
		"--ca-file", ca, "--password-stdin"}, dirs...)
	if code, out, errs := p.run(t, "pass word\n", add...); code != 0 {
		t.Fatalf("account add: exit %d, stdout %q, stderr %q", code, out, errs)
	}
	if code, out, errs := p.run(t, "", append([]string{"fetch"}, dirs...)...); code != 0 || !strings.Contains(out, fmt.Sprintf("home: %d new", n)) {
		t.Fatalf("fetch: exit %d, stdout %q, stderr %q; want \"home: %d new\"", code, out, errs, n)
	}
	// The password came from the keyring; a second fetch finds nothing new.
	if code, out, errs := p.run(t, "", append([]string{"fetch"}, dirs...)...); code != 0 || !strings.Contains(out, "home: 0 new") {
		t.Fatalf("second fetch: exit %d, stdout %q, stderr %q; want \"home: 0 new\"", code, out, errs)
	}
	seen := map[string]int{}
	for _, sub := range []string{"new", "cur"} {
		des, err := os.ReadDir(filepath.Join(data, "home", "Maildir", sub))
		if err != nil {
			t.Fatal(err)
		}
		for _, de := range des {
			if strings.Contains(de.Name(), ":") && drive != "" {
				t.Errorf("%s: a ':' in a file name made on Windows", de.Name())
			}
			b, err := os.ReadFile(filepath.Join(data, "home", "Maildir", sub, de.Name()))
			if err != nil {
				t.Fatal(err)
			}
			m, err := mail.ReadMessage(bytes.NewReader(b))
			if err != nil {
				t.Fatalf("%s: %v", de.Name(), err)
			}
			seen[m.Header.Get("Subject")]++
		}
	}
	for i := 1; i <= n; i++ {
		if s := fmt.Sprintf("message %d", i); seen[s] != 1 {
			t.Errorf("%q stored %d times, want once", s, seen[s])
		}
	}
	if len(seen) != n {
		t.Errorf("stored subjects %v, want exactly message 1..%d", seen, n)
	}
	// The password is in the keyring, not in the settings.
	filepath.WalkDir(config, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			t.Errorf("settings folder: %v", err)
			return err
		}
		if b, err := os.ReadFile(path); err == nil && bytes.Contains(b, []byte("pass word")) {
			t.Errorf("%s holds the password", path)
		}
		return nil
	})
	if _, err := os.Stat(filepath.Join(config, "accounts.toml")); err != nil {
		t.Errorf("no accounts.toml where the settings belong: %v", err)
	}
}

// Where Debian's wine64 package installs wine (no "wine" wrapper is needed).
const (
	wine64     = "/usr/lib/wine/wine64"
	wineserver = "/usr/lib/wine/wineserver64"
)
