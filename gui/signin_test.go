package gui

import (
	"net"
	"os"
	"strings"
	"testing"

	"fyne.io/fyne/v2/test"

	"github.com/poplar-mail/poplar/account"
	"github.com/poplar-mail/poplar/internal/dovecot"
	"github.com/poplar-mail/poplar/internal/oauthtest"
	"github.com/poplar-mail/poplar/storage"
)

// TestOAuth2SignInFromEditor: a new OAuth2 account saved in the editor signs in through the
// browser (played by the authorization server's Approve, with PKCE checked there), then fetches
// from a real Dovecot that accepts only the token; when the sign-in is revoked, the next check
// offers "Sign in again", which signs in and fetches the new message. The settings file holds no
// token or secret.
func TestOAuth2SignInFromEditor(t *testing.T) {
	as := oauthtest.Start(t, oauthtest.Options{User: "dana", ClientSecret: "client-secret-1"})
	dv := dovecot.StartT(t, dovecot.Options{Users: []dovecot.User{{Name: "dana", Password: "unused",
		Messages: [][]byte{[]byte("From: ed@example.org\r\nSubject: first\r\n\r\nhello\r\n")}}},
		OAuth2IntrospectionURL: as.IntrospectURL})
	host, port, err := net.SplitHostPort(dv.POP3SAddr)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	secrets := account.MemSecrets{}
	opened := 0
	app := test.NewTempApp(t)
	w := app.NewWindow("Poplar")
	u, err := New(app, w, Env{ConfigDir: dir + "/config", DataDir: dir + "/data", Secrets: secrets,
		OpenURL: func(url string) error { opened++; return as.Approve(url) }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { u.Close() })

	var f *accountForm
	u.ui(func() {
		f = u.editAccount(nil)
		f.name.SetText("dana")
		f.email.SetText("dana@example.org")
		f.host.SetText(host)
		f.security.SetSelected(account.SecurityTLS)
		f.port.SetText(port)
		f.user.SetText("dana")
		f.caFile.SetText(dv.CAFile)
		f.auth.SetSelected("oauth2")
		f.oauthProvider.SetSelected(account.ProviderCustom)
		f.clientID.SetText(as.ClientID)
		f.clientSecret.SetText("client-secret-1")
		f.authURL.SetText(as.AuthURL)
		f.tokenURL.SetText(as.TokenURL)
		f.scopes.SetText("mail")
	})
	if !f.password.Disabled() {
		t.Error("the password field is open for an OAuth2 account")
	}
	u.ui(func() { test.Tap(f.saveBtn) })
	u.wait()
	u.wait()
	s, err := u.store("dana")
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, u, "the first check to end", func() bool {
		return folderLen(s, storage.Inbox) == 1 && strings.HasPrefix(u.status.text.Text, "dana: 1 new")
	})
	if opened != 1 || as.PKCEVerified() != 1 {
		t.Fatalf("sign-in opened the browser %d times, PKCE verified %d times; want 1 and 1 (status %q)", opened, as.PKCEVerified(), u.status.text.Text)
	}

	as.RevokeAll()
	if err := dv.Deliver("dana", []byte("From: ed@example.org\r\nSubject: second\r\n\r\nagain\r\n")); err != nil {
		t.Fatal(err)
	}
	u.ui(func() { u.runner.Check("dana") })
	waitFor(t, u, "Sign in again", func() bool { return strings.Contains(overlayText(w), "Sign in again") })
	u.ui(func() { test.Tap(overlayButton(w, "Yes")) })
	waitFor(t, u, "the second message", func() bool { return folderLen(s, storage.Inbox) == 2 })
	if opened != 2 {
		t.Errorf("Sign in again opened the browser %d times in all, want 2", opened)
	}

	settings, err := os.ReadFile(dir + "/config/" + account.ConfigFile)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range as.Secrets() {
		if strings.Contains(string(settings), s) || strings.Contains(u.status.text.Text, s) {
			t.Errorf("a token or secret (%.6s…) is in the settings file or the status bar", s)
		}
	}
	if !strings.Contains(string(settings), as.ClientID) {
		t.Error("the client ID was not saved")
	}
}
