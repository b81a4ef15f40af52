package gui

import (
	"errors"
	"net"
	"os"
	"strings"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

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
	waitFor(t, u, "the sign-in prompt", func() bool { return strings.Contains(overlayText(w), "has expired or was withdrawn") })
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

// TestOAuth2SignInWithCode: with no browser on this machine, the sign-in dialog switches to a code
// for another device (RFC 8628); entering it there signs in, and the browser flow that was
// abandoned does not report a cancelled sign-in.
func TestOAuth2SignInWithCode(t *testing.T) {
	as := oauthtest.Start(t, oauthtest.Options{User: "dana"})
	dir := t.TempDir()
	secrets := account.MemSecrets{}
	app := test.NewTempApp(t)
	w := app.NewWindow("Poplar")
	u, err := New(app, w, Env{ConfigDir: dir + "/config", DataDir: dir + "/data", Secrets: secrets,
		OpenURL: func(string) error { return errors.New("no browser here") }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { u.Close() })
	a := account.New("dana", "pop.invalid", "dana")
	a.Email, a.Auth = "dana@example.org", "oauth2"
	a.OAuth = account.OAuth{Provider: account.ProviderCustom, ClientID: as.ClientID, AuthURL: as.AuthURL, TokenURL: as.TokenURL,
		DeviceURL: as.DeviceURL, Scopes: []string{"mail"}}
	var results []error
	u.ui(func() { u.signIn(a, false, func(err error) { results = append(results, err) }) })
	poll(t, u, "the sign-in address", func() bool {
		return strings.HasPrefix(overlayText(w), "Sign in") && strings.Contains(overlayText(w), as.AuthURL)
	})
	u.ui(func() { test.Tap(overlayButton(w, "Sign in with a code on another device instead")) })
	var code string
	poll(t, u, "the code", func() bool {
		walk(w.Canvas().Overlays().Top(), func(o fyne.CanvasObject) {
			if l, ok := o.(*widget.Label); ok && l.TextStyle.Monospace && l.Text != "" {
				code = l.Text
			}
		})
		return code != ""
	})
	if !strings.Contains(overlayText(w), as.VerifyURL) {
		t.Errorf("the dialog does not show where to enter the code:\n%s", overlayText(w))
	}
	if err := as.ApproveDevice(code); err != nil {
		t.Fatal(err)
	}
	poll(t, u, "the end of the sign-in", func() bool { return len(results) > 0 })
	if len(results) != 1 || results[0] != nil {
		t.Fatalf("sign-in results %v, want one nil (the abandoned browser flow reports nothing)", results)
	}
	if secrets["dana"] == "" {
		t.Error("no refresh token in the keyring after signing in with the code")
	}
}
