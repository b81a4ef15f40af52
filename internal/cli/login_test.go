package cli

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/poplar-mail/poplar/account"
	"github.com/poplar-mail/poplar/internal/dovecot"
	"github.com/poplar-mail/poplar/internal/oauthtest"
)

// codeWatcher is a stdout that approves a device code as soon as the command prints it, as the
// user would by typing it at the verification page.
type codeWatcher struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	approve func(code string)
	done    bool
}

var deviceCodeRE = regexp.MustCompile(`enter the code (\S+)`)

func (w *codeWatcher) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	if m := deviceCodeRE.FindStringSubmatch(w.buf.String()); m != nil && !w.done {
		w.done = true
		go w.approve(m[1])
	}
	return len(p), nil
}

func (w *codeWatcher) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

// TestAccountLoginOAuth2: add an OAuth2 account (client secret from standard input), sign in
// with `poplar account login` (the browser is a real program, $BROWSER, that follows the URL with
// curl), fetch from Dovecot with the token, see a revoked sign-in named with the command that
// fixes it, sign in again with --device; no token or secret is in the settings file or the output.
func TestAccountLoginOAuth2(t *testing.T) {
	if _, err := os.Stat("/usr/bin/curl"); err != nil {
		t.Skip("curl plays the browser and is not installed")
	}
	as := oauthtest.Start(t, oauthtest.Options{User: "dana", ClientSecret: "GOCSPX-test-secret"})
	dv := dovecot.StartT(t, dovecot.Options{Users: []dovecot.User{{Name: "dana", Password: "unused", Messages: [][]byte{[]byte("Subject: a\n\nx\n")}}},
		OAuth2IntrospectionURL: as.IntrospectURL})
	host, port := splitAddr(t, dv.POP3SAddr)
	dir := t.TempDir()
	browser := filepath.Join(dir, "browser")
	if err := os.WriteFile(browser, []byte("#!/bin/sh\nexec curl -fsSL -o /dev/null \"$1\"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	cfgDir, dataDir := t.TempDir(), t.TempDir()
	dirs := []string{"--config-dir", cfgDir, "--data-dir", dataDir}
	var output strings.Builder
	cmd := func(stdin string, stdout interface {
		Write([]byte) (int, error)
		String() string
	}, args ...string) (int, string, string) {
		t.Helper()
		var errb bytes.Buffer
		env := &Env{Stdin: strings.NewReader(stdin), Stdout: stdout, Stderr: &errb, Getenv: func(k string) string {
			switch k {
			case "BROWSER":
				return browser
			case "HOME":
				return dir
			}
			return ""
		}}
		code := Main(context.Background(), env, append(args, dirs...))
		output.WriteString(stdout.String() + errb.String())
		return code, stdout.String(), errb.String()
	}
	name := "oauthwork"
	t.Cleanup(func() {
		k := account.Keyring()
		k.Delete(name)
		account.DeleteOAuthClientSecret(name, k)
	})
	add := []string{"account", "add", name, "--host", host, "--port", port, "--ca-file", dv.CAFile, "--email", "dana@example.org", "--user", "dana",
		"--auth", "oauth2", "--oauth-provider", "custom", "--oauth-client-id", as.ClientID, "--oauth-auth-url", as.AuthURL,
		"--oauth-token-url", as.TokenURL, "--oauth-device-url", as.DeviceURL, "--oauth-scope", "mail", "--oauth-client-secret-stdin"}
	if code, out, errs := cmd("GOCSPX-test-secret\n", &bytes.Buffer{}, add...); code != 0 || !strings.Contains(out, "poplar account login "+name) {
		t.Fatalf("account add: exit %d: %s%s", code, out, errs)
	}
	code, out, errs := cmd("", &bytes.Buffer{}, "account", "login", name)
	if code != 0 || !strings.Contains(out, as.AuthURL+"?") || !strings.Contains(out, "Signed in") {
		t.Fatalf("account login: exit %d: %s%s", code, out, errs)
	}
	if as.PKCEVerified() != 1 {
		t.Fatalf("PKCE verified %d times at the server, want 1", as.PKCEVerified())
	}
	if code, out, errs := cmd("", &bytes.Buffer{}, "fetch", name); code != 0 || !strings.Contains(out, name+": 1 new") {
		t.Fatalf("fetch after login: exit %d: %s%s\n%s", code, out, errs, dv.Log())
	}

	as.RevokeAll()
	code, out, errs = cmd("", &bytes.Buffer{}, "fetch", name)
	if code != 1 || !strings.Contains(out+errs, "poplar account login "+name) {
		t.Fatalf("fetch after revocation: exit %d: %s%s; want the remedy poplar account login %s", code, out, errs, name)
	}

	w := &codeWatcher{approve: func(c string) {
		if err := as.ApproveDevice(c); err != nil {
			t.Errorf("ApproveDevice: %v", err)
		}
	}}
	if code, out, errs := cmd("", w, "account", "login", name, "--device"); code != 0 || !strings.Contains(out, as.VerifyURL) {
		t.Fatalf("account login --device: exit %d: %s%s", code, out, errs)
	}
	if err := dv.Deliver("dana", []byte("Subject: b\n\ny\n")); err != nil {
		t.Fatal(err)
	}
	if code, out, errs := cmd("", &bytes.Buffer{}, "fetch", name); code != 0 || !strings.Contains(out, name+": 1 new") {
		t.Fatalf("fetch after login --device: exit %d: %s%s", code, out, errs)
	}

	settings, err := os.ReadFile(filepath.Join(cfgDir, account.ConfigFile))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(settings), as.ClientID) {
		t.Fatalf("the settings file lacks the client ID:\n%s", settings)
	}
	secrets := as.Secrets()
	if len(secrets) < 5 {
		t.Fatalf("only %d secrets issued", len(secrets))
	}
	for what, text := range map[string]string{"settings file": string(settings), "output": output.String(), "dovecot log": dv.Log()} {
		for _, s := range secrets {
			if strings.Contains(text, s) {
				t.Errorf("the %s holds a token or secret (%.6s…)", what, s)
			}
		}
	}
}

func TestAccountLoginRefusals(t *testing.T) {
	dirs := []string{"--config-dir", t.TempDir(), "--data-dir", t.TempDir()}
	if code, _, errs := run(t, "", append([]string{"account", "add", "pw", "--host", "pop.example.org", "--user", "me"}, dirs...)...); code != 0 {
		t.Fatal(errs)
	}
	tests := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"account", "login"}, 2, "give the account NAME"},
		{[]string{"account", "login", "nobody"}, 1, `no account "nobody"`},
		{[]string{"account", "login", "pw"}, 1, "does not sign in with OAuth2"},
		{[]string{"account", "add", "g", "--email", "me@gmail.com", "--oauth-provider", "google", "--oauth-client-id", "1.apps", "--password-stdin"}, 2, "has no password"},
		{[]string{"account", "add", "g", "--email", "me@gmail.com", "--host", "pop.example.org", "--oauth-provider", "yahoo", "--oauth-client-id", "1"}, 1, "oauth.provider"},
		{[]string{"account", "add", "g", "--email", "me@gmail.com", "--oauth-provider", "google"}, 1, "oauth.client_id"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			code, _, errs := run(t, "x\n", append(tt.args, dirs...)...)
			if code != tt.code || !strings.Contains(errs, tt.want) {
				t.Fatalf("exit %d, stderr %q; want %d and %q", code, errs, tt.code, tt.want)
			}
		})
	}
	// A Google preset fills in Gmail's servers and the address as the user name.
	if code, out, errs := run(t, "", append([]string{"account", "add", "g", "--email", "me@gmail.com", "--oauth-provider", "google", "--oauth-client-id", "1.apps"}, dirs...)...); code != 0 {
		t.Fatalf("add google: %d %s%s", code, out, errs)
	}
	cfg, err := account.LoadConfig(dirs[1])
	if err != nil {
		t.Fatal(err)
	}
	g, _ := cfg.Find("g")
	if g.Host != "pop.gmail.com" || g.Port != 995 || g.Username != "me@gmail.com" || g.SMTP.Host != "smtp.gmail.com" || g.Auth != "oauth2" {
		t.Fatalf("google account %+v", *g)
	}
	if code, out, _ := run(t, "", append([]string{"account", "list"}, dirs...)...); code != 0 || !strings.Contains(out, "g (OAuth2 sign-in: google): me@gmail.com@pop.gmail.com:995") {
		t.Fatalf("account list: %d %q", code, out)
	}
}
