package disttest

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/mail"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
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
