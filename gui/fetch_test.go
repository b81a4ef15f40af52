package gui

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"

	"github.com/poplar-mail/poplar/account"
	"github.com/poplar-mail/poplar/pop"
	"github.com/poplar-mail/poplar/pop/popserver"
)

// serverUI makes an app whose one account "srv" fetches from a POP3S popserver holding msgs. It
// returns the server and a channel of the app's log lines.
func serverUI(t *testing.T, msgs ...string) (*UI, *popserver.Running, <-chan string) {
	t.Helper()
	return serverUIWith(t, rig{implicitTLS: true, pin: true, secret: "pw"}, msgs...)
}

// rig says how serverUIWith sets up the server and the account.
type rig struct {
	implicitTLS bool   // the server speaks TLS from the first byte (else plain with STLS)
	pin         bool   // the account trusts the server's certificate
	secret      string // the password in the keyring (the server wants "pw")
	security    string // the account's security ("" = tls)
}

// serverUIWith is serverUI with a choice of server and account set-up.
func serverUIWith(t *testing.T, rg rig, msgs ...string) (*UI, *popserver.Running, <-chan string) {
	t.Helper()
	var raw [][]byte
	for _, m := range msgs {
		raw = append(raw, []byte(m))
	}
	srv, err := popserver.Start(popserver.Config{Password: popserver.Users(map[string]string{"me": "pw"})}, rg.implicitTLS, raw...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	dir := t.TempDir()
	env := Env{ConfigDir: dir + "/config", DataDir: dir + "/data", Secrets: account.MemSecrets{"srv": rg.secret}}
	a := account.New("srv", srv.Host, "me")
	a.Port = srv.Port
	if rg.pin {
		a.Fingerprint = pop.CertFingerprint(srv.Cert.DER)
	}
	if rg.security != "" {
		a.Security = rg.security
	}
	a.CheckAtStartup = false
	u, logs := startUI(t, env, a)
	return u, srv, logs
}

// startUI saves the accounts in env's settings and starts the app on them in a 1000×700 test
// window; the returned channel receives the app's log lines.
func startUI(t *testing.T, env Env, accts ...account.Account) (*UI, <-chan string) {
	t.Helper()
	cfg := &account.Config{Accounts: accts}
	if err := cfg.Save(env.ConfigDir); err != nil {
		t.Fatal(err)
	}
	logs := make(chan string, 1000)
	env.Logf = func(format string, args ...any) {
		select {
		case logs <- fmt.Sprintf(format, args...):
		default:
		}
	}
	app := test.NewTempApp(t)
	w := app.NewWindow("Poplar")
	w.Resize(fyne.NewSize(1000, 700))
	u, err := New(app, w, env)
	if err != nil {
		t.Fatal(err)
	}
	u.wait()
	t.Cleanup(u.Close)
	return u, logs
}

// waitLog waits for a log line containing want.
func waitLog(t *testing.T, logs <-chan string, want string) string {
	t.Helper()
	deadline := time.After(30 * time.Second)
	var seen []string
	for {
		select {
		case l := <-logs:
			if strings.Contains(l, want) {
				return l
			}
			seen = append(seen, l)
		case <-deadline:
			t.Fatalf("no log line %q; saw:\n%s", want, strings.Join(seen, "\n"))
		}
	}
}

// TestReaderKeepsPlaceWhenMailArrives: a check that brings new mail inserts it into the list;
// the open message is not cleared, reloaded or scrolled, and the selection stays on it.
func TestReaderKeepsPlaceWhenMailArrives(t *testing.T) {
	long := mail("Ada <ada@example.org>", "Long read", strings.Repeat("A line of a long message.\n", 400), 2)
	u, srv, logs := serverUI(t, long, mail("Ken <ken@example.com>", "Short", "Hi.", 1))
	u.ui(u.getMail)
	waitLog(t, logs, "fetch of srv finished: 2 new")
	u.wait()
	if u.list.model.len() != 2 {
		t.Fatalf("the list shows %d messages after the first check", u.list.model.len())
	}
	click(u, u.list.model.row(u.list.model.at(0).Key), 0)
	if shown(u) != "Long read" {
		t.Fatalf("reader shows %q", shown(u))
	}
	var before *shownMessage
	u.ui(func() {
		before = u.reader.cur
		u.reader.scroll.Refresh() // lay out the loaded body
		u.reader.scroll.ScrollToOffset(fyne.NewPos(0, 300))
	})
	if y := u.reader.scroll.Offset.Y; y != 300 {
		t.Fatalf("could not scroll the reader (offset %v)", y)
	}
	srv.Mailbox.Add("", []byte(mail("Grace <grace@example.net>", "Newest", "New mail.", 5)))
	srv.Mailbox.Add("", []byte(mail("Linus <linus@example.org>", "Also new", "More.", 4)))
	u.ui(u.getMail)
	waitLog(t, logs, "fetch of srv finished: 2 new")
	u.wait()
	u.ui(func() {
		if u.list.model.len() != 4 || u.list.model.at(0).Subject != "Newest" {
			t.Errorf("after the check the list shows %d messages, first %q", u.list.model.len(), u.list.model.at(0).Subject)
		}
		if u.reader.cur != before || u.reader.subject.Text != "Long read" {
			t.Errorf("the check replaced the open message (now %q)", u.reader.subject.Text)
		}
		if u.reader.scroll.Offset.Y != 300 {
			t.Errorf("the check scrolled the reader to %v", u.reader.scroll.Offset.Y)
		}
		if sel := u.list.model.selected(); len(sel) != 1 || u.list.model.get(sel[0]).Subject != "Long read" {
			t.Errorf("the selection moved: %v", sel)
		}
	})
}

// TestSettingsApplyAtOnce: disabling an account stops its checks without a restart, enabling it
// again allows them.
func TestSettingsApplyAtOnce(t *testing.T) {
	u, _, logs := serverUI(t, mail("Ada <ada@example.org>", "One", "1", 1))
	a, _ := u.findAccount("srv")
	a.Enabled = false
	saveAccount(t, u, a, "", false)
	if u.runner.Check("srv") {
		t.Fatal("a disabled account was checked")
	}
	a.Enabled = true
	saveAccount(t, u, a, "", false)
	u.ui(u.getMail)
	waitLog(t, logs, "fetch of srv finished: 1 new")
}

// TestUntrustedCertificateDialog: a self-signed certificate stops the check with a dialog that
// shows its subject, validity and fingerprint; Trust this certificate pins it and the check then
// fetches the mail.
func TestUntrustedCertificateDialog(t *testing.T) {
	u, srv, logs := serverUIWith(t, rig{implicitTLS: true, secret: "pw"}, mail("Ada <ada@example.org>", "One", "1", 1))
	u.ui(u.getMail)
	waitLog(t, logs, "fetch of srv failed")
	u.wait()
	text := overlayText(u.win)
	fp := pop.CertFingerprint(srv.Cert.DER)
	for _, want := range []string{"SHA-256 fingerprint", fp, "Valid from", "Trusting pins this exact certificate"} {
		if !strings.Contains(text, want) {
			t.Fatalf("the certificate dialog lacks %q:\n%s", want, text)
		}
	}
	u.ui(func() {
		if u.tree.errs["srv"] == "" {
			t.Error("the account has no error mark")
		}
		test.Tap(overlayButton(u.win, "Trust this certificate"))
	})
	waitLog(t, logs, "fetch of srv finished: 1 new")
	u.wait()
	if a, _ := u.findAccount("srv"); a.Fingerprint != fp {
		t.Errorf("pinned %q, want %q", a.Fingerprint, fp)
	}
	u.ui(func() {
		if u.tree.errs["srv"] != "" {
			t.Error("the error mark stayed after a good check")
		}
	})
}

// TestWrongPasswordPrompts: a wrong password asks for the password, stores it and checks again.
func TestWrongPasswordPrompts(t *testing.T) {
	u, _, logs := serverUIWith(t, rig{implicitTLS: true, pin: true, secret: "wrong"}, mail("Ada <ada@example.org>", "One", "1", 1))
	u.ui(u.getMail)
	waitLog(t, logs, "fetch of srv failed")
	u.wait()
	if text := overlayText(u.win); !strings.Contains(text, "did not accept the password") {
		t.Fatalf("no password prompt:\n%s", text)
	}
	u.ui(func() { u.win.Canvas().Focused().(*keyEntry).SetText("pw") })
	u.ui(func() { test.Tap(overlayButton(u.win, "Save and check")) })
	waitLog(t, logs, "fetch of srv finished: 1 new")
	if pw, _ := u.secrets().Get("srv"); pw != "pw" {
		t.Errorf("the keyring holds %q", pw)
	}
}

// TestWrongSecurityOffersSwitch: TLS against a port that expects STARTTLS says so and offers to
// switch; after the switch the check works.
func TestWrongSecurityOffersSwitch(t *testing.T) {
	u, _, logs := serverUIWith(t, rig{implicitTLS: false, pin: true, secret: "pw"}, mail("Ada <ada@example.org>", "One", "1", 1))
	u.ui(u.getMail)
	waitLog(t, logs, "fetch of srv failed")
	u.wait()
	if text := overlayText(u.win); !strings.Contains(text, "expects STARTTLS") {
		t.Fatalf("no switch offered:\n%s", text)
	}
	u.ui(func() { test.Tap(overlayButton(u.win, "Yes")) })
	waitLog(t, logs, "fetch of srv finished: 1 new")
	if a, _ := u.findAccount("srv"); a.Security != account.SecuritySTARTTLS {
		t.Errorf("security %q after the switch", a.Security)
	}
}
