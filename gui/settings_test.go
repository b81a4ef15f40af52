package gui

import (
	"strconv"
	"strings"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"github.com/poplar-mail/poplar/account"
	"github.com/poplar-mail/poplar/pop"
	"github.com/poplar-mail/poplar/pop/popserver"
)

// startServer runs a POP3S server that accepts user "me" with password pw.
func startServer(t *testing.T, pw string) (srv *popserver.Server, host, port, fingerprint string) {
	t.Helper()
	r, err := popserver.Start(popserver.Config{Password: popserver.Users(map[string]string{"me": pw, "you": pw})}, true)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r.Server, r.Host, strconv.Itoa(r.Port), pop.CertFingerprint(r.Cert.DER)
}

// TestConnectionStoredPasswordOnlyForItsServer: with an empty password field, Test connection
// uses the stored password for the server and user it was stored for, and asks for the password
// as soon as the host, port or user name differ — the stored password never reaches another server.
func TestConnectionStoredPasswordOnlyForItsServer(t *testing.T) {
	home, host, port, fp := startServer(t, "stored pw")
	other, _, otherPort, otherFP := startServer(t, "stored pw") // would accept the password too
	u, _ := newTestUI(t, nil)
	a := account.New("local", host, "me")
	a.Fingerprint, a.Enabled = fp, false
	a.Port, _ = strconv.Atoi(port)
	saveAccount(t, u, a, "stored pw", true)
	u.wait()
	tests := []struct {
		name       string
		edit       func(f *accountForm)
		connected  bool
		homeLogins int64
	}{
		{"same server uses the stored password", func(*accountForm) {}, true, 1},
		{"another port asks", func(f *accountForm) { f.port.SetText(otherPort); f.fingerprint.SetText(otherFP) }, false, 1},
		{"another user asks", func(f *accountForm) { f.user.SetText("you") }, false, 1},
		{"another host asks", func(f *accountForm) { f.host.SetText("localhost") }, false, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			acct, _ := u.findAccount("local")
			var f *accountForm
			u.ui(func() { f = u.editAccount(&acct) })
			tt.edit(f)
			u.ui(func() { test.Tap(f.testBtn) })
			u.wait()
			got := f.testResult.Text
			if tt.connected != strings.Contains(got, "Connected and logged in") {
				t.Fatalf("Test connection shows %q", got)
			}
			if !tt.connected && !strings.Contains(got, "Enter the password") {
				t.Fatalf("Test connection does not ask for the password: %q", got)
			}
			if home.Sessions() != tt.homeLogins || other.Sessions() != 0 {
				t.Fatalf("sessions: home %d, other %d; want %d and 0", home.Sessions(), other.Sessions(), tt.homeLogins)
			}
			u.ui(u.closeTopDialog)
		})
	}
}

// overlayText is every label's text on the window's overlays (dialogs).
func overlayText(w fyne.Window) string {
	var b strings.Builder
	for _, o := range w.Canvas().Overlays().List() {
		walk(o, func(o fyne.CanvasObject) {
			switch x := o.(type) {
			case *widget.Label:
				b.WriteString(x.Text + "\n")
			case *widget.RichText:
				b.WriteString(x.String() + "\n")
			}
		})
	}
	return b.String()
}

func walk(o fyne.CanvasObject, fn func(fyne.CanvasObject)) {
	fn(o)
	switch x := o.(type) {
	case *fyne.Container:
		for _, c := range x.Objects {
			walk(c, fn)
		}
	case fyne.Widget:
		r := test.WidgetRenderer(x)
		for _, c := range r.Objects() {
			walk(c, fn)
		}
	}
}

// TestNewAccountKeepsMailAndSwitchingAsks: the editor starts a new account with mail left on the
// server, says in a sentence what each choice does, and switching an existing account to delete
// from the server asks first, with the number of messages it will remove there.
func TestNewAccountKeepsMailAndSwitchingAsks(t *testing.T) {
	u, s := newTestUI(t, threeMessages)
	var f *accountForm
	u.ui(func() { f = u.editAccount(nil) })
	if !f.leave.Checked || !strings.Contains(f.policyHelp.Text, "leaves the mail on the server") {
		t.Fatalf("new account: leave %v, help %q", f.leave.Checked, f.policyHelp.Text)
	}
	u.ui(func() { f.leave.SetChecked(false) })
	if !strings.Contains(f.policyHelp.Text, "deletes each message from the server") {
		t.Fatalf("delete policy help %q", f.policyHelp.Text)
	}
	u.ui(u.closeTopDialog)

	acct, _ := u.findAccount("work")
	if !acct.LeaveOnServer {
		t.Fatal("test account does not start with mail left on the server")
	}
	u.ui(func() { f = u.editAccount(&acct) })
	u.ui(func() {
		f.leave.SetChecked(false)
		test.Tap(f.saveBtn)
	})
	u.wait()
	text := overlayText(u.win)
	if !strings.Contains(text, "deletes from the server the 3 messages already downloaded here") {
		t.Fatalf("no confirmation with the count; overlays say:\n%s", text)
	}
	if a, _ := u.findAccount("work"); !a.LeaveOnServer {
		t.Fatal("the policy changed before the user said yes")
	}
	n, err := account.StoredOnServer(s)
	if err != nil || n != 3 {
		t.Fatalf("StoredOnServer = %d, %v", n, err)
	}
	yes := overlayButton(u.win, "Yes")
	if yes == nil {
		t.Fatal("the confirmation has no Yes button")
	}
	u.ui(func() { test.Tap(yes) })
	u.wait()
	if a, _ := u.findAccount("work"); a.LeaveOnServer {
		t.Fatal("the policy did not change after yes")
	}
}

// overlayButton finds a button by its label on the window's overlays.
func overlayButton(w fyne.Window, label string) *widget.Button {
	var found *widget.Button
	for _, o := range w.Canvas().Overlays().List() {
		walk(o, func(o fyne.CanvasObject) {
			if b, ok := o.(*widget.Button); ok && b.Text == label && found == nil {
				found = b
			}
		})
	}
	return found
}

// TestAccountEditorFits: every page of the account editor fits the dialog without scrolling, so
// the mouse wheel never has to get past a text field; a hidden warning leaves no gap.
func TestAccountEditorFits(t *testing.T) {
	u, _ := newTestUI(t, nil)
	var f *accountForm
	u.ui(func() { f = u.editAccount(nil) })
	for _, tab := range f.tabs.Items {
		if h := tab.Content.MinSize().Height; h > 480 {
			t.Errorf("page %q needs %.0f px, more than the editor's 480", tab.Text, h)
		}
	}
	page := f.tabs.Items[0].Content
	before := page.MinSize().Height
	u.ui(func() { f.security.SetSelected(account.SecurityNone) })
	if after := page.MinSize().Height; after <= before || !f.warning.Visible() {
		t.Errorf("the no-encryption warning does not show (height %.0f -> %.0f)", before, after)
	}
}
