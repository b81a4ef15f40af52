package cli

import (
	"strings"
	"testing"

	"github.com/poplar-mail/poplar/account"
	"github.com/poplar-mail/poplar/internal/dovecot"
	"github.com/poplar-mail/poplar/storage"
)

// TestAccountLeavePolicyFlags: a new account keeps mail on the server unless the user asks for
// delete-after-download, in either spelling; contradicting flags are refused.
func TestAccountLeavePolicyFlags(t *testing.T) {
	dirs := []string{"--config-dir", t.TempDir(), "--data-dir", t.TempDir()}
	tests := []struct {
		name      string
		flags     []string
		code      int
		wantLeave bool
	}{
		{"default", nil, 0, true},
		{"delete-from-server", []string{"--delete-from-server"}, 0, false},
		{"leave-on-server=false", []string{"--leave-on-server=false"}, 0, false},
		{"leave-on-server false", []string{"--leave-on-server", "false"}, 0, false},
		{"both", []string{"--leave-on-server", "--delete-from-server"}, 2, false},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			name := "a" + string(rune('0'+i))
			args := append([]string{"account", "add", name, "--host", "pop.example.org", "--user", "me"}, dirs...)
			code, _, errs := run(t, "", append(args, tt.flags...)...)
			if code != tt.code {
				t.Fatalf("exit %d, want %d: %s", code, tt.code, errs)
			}
			if code != 0 {
				return
			}
			cfg, err := account.LoadConfig(dirs[1])
			if err != nil {
				t.Fatal(err)
			}
			a, ok := cfg.Find(name)
			if !ok || a.LeaveOnServer != tt.wantLeave {
				t.Fatalf("saved %+v, want LeaveOnServer %v", a, tt.wantLeave)
			}
		})
	}
	// Each add kept the accounts already in --config-dir (it once loaded the default folder's).
	cfg, err := account.LoadConfig(dirs[1])
	if err != nil || len(cfg.Accounts) != 4 {
		t.Fatalf("%d accounts in %s after four adds (%v), want 4", len(cfg.Accounts), dirs[1], err)
	}
}

// TestFetchPasswordStdinNeedsOneAccount: one password read from standard input never goes to
// several servers; with one account named it fetches, and a new account leaves the mail on the
// server. Switching that account to delete-after-download says how many messages go.
func TestFetchPasswordStdinNeedsOneAccount(t *testing.T) {
	msgs := [][]byte{[]byte("Subject: a\n\nx\n"), []byte("Subject: b\n\ny\n")}
	srv := dovecot.StartT(t, dovecot.Options{Users: []dovecot.User{{Name: "carol", Password: "pw 1", Messages: msgs}}})
	host, port := splitAddr(t, srv.POP3SAddr)
	dirs := []string{"--config-dir", t.TempDir(), "--data-dir", t.TempDir()}
	for _, name := range []string{"one", "two"} {
		args := append([]string{"account", "add", name, "--host", host, "--port", port, "--user", "carol", "--ca-file", srv.CAFile}, dirs...)
		if code, _, errs := run(t, "", args...); code != 0 {
			t.Fatalf("account add %s: exit %d: %s", name, code, errs)
		}
	}
	code, out, errs := run(t, "pw 1\n", append([]string{"fetch", "--password-stdin"}, dirs...)...)
	if code != 2 || !strings.Contains(errs, "name one account") || out != "" {
		t.Fatalf("fetch --password-stdin of two accounts: exit %d, stdout %q, stderr %q", code, out, errs)
	}
	if strings.Contains(srv.Log(), "carol") {
		t.Fatalf("the server saw a login:\n%s", srv.Log())
	}
	code, out, errs = run(t, "pw 1\n", append([]string{"fetch", "--password-stdin", "one"}, dirs...)...)
	if code != 0 || !strings.Contains(out, "one: 2 new") {
		t.Fatalf("fetch one --password-stdin: exit %d: %s %s", code, out, errs)
	}
	if n, err := srv.Count("carol"); err != nil || n != 2 {
		t.Fatalf("%d messages on the server after a fetch with the default policy (%v), want 2", n, err)
	}
	code, _, errs = run(t, "", append([]string{"account", "set", "one", "--delete-from-server"}, dirs...)...)
	if code != 0 || !strings.Contains(errs, "deletes from the server the 2 messages already stored here") {
		t.Fatalf("account set --delete-from-server: exit %d, stderr %q", code, errs)
	}
	s, err := storage.Open(account.DataDir(dirs[3], "one"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if n, err := account.StoredOnServer(s); err != nil || n != 2 {
		t.Fatalf("StoredOnServer = %d, %v", n, err)
	}
}
