package gui

import (
	netmail "net/mail"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"github.com/emersion/go-smtp"

	"github.com/poplar-mail/poplar/account"
	"github.com/poplar-mail/poplar/account/compose"
	"github.com/poplar-mail/poplar/internal/smtptest"
	"github.com/poplar-mail/poplar/storage"
)

// sendingUI is newTestUI with the account "work" sending through an in-process SMTP server.
func sendingUI(t *testing.T, msgs map[string]string) (*UI, *storage.Store, *smtptest.Server) {
	t.Helper()
	u, s := newTestUI(t, msgs)
	r := smtptest.Start(t, account.SecurityTLS)
	a, _ := u.findAccount("work")
	a.Email, a.DisplayName, a.CAFile = "me@example.org", "Me Myself", r.CAFile
	a.SMTP = account.SMTPServer{Host: "127.0.0.1", Port: r.Port, Security: account.SecurityTLS}
	a.Signature = "Me, from Poplar"
	a.Enabled = false // no fetch from pop.invalid
	saveAccount(t, u, a, "pw", false)
	return u, s, r
}

// lastComposer is the composer opened last that is still open.
func lastComposer(u *UI) *composer {
	var c *composer
	u.ui(func() {
		if n := len(u.composers); n > 0 {
			c = u.composers[n-1]
		}
	})
	return c
}

// waitFor polls cond (on the UI lock), after the background jobs have ended, until it holds.
func waitFor(t *testing.T, u *UI, what string, cond func() bool) {
	t.Helper()
	until(t, u, what, u.wait, cond)
}

// poll is waitFor for a test whose background work waits on the user (a sign-in): it does not
// wait for the background jobs to end.
func poll(t *testing.T, u *UI, what string, cond func() bool) {
	t.Helper()
	until(t, u, what, func() {}, cond)
}

// until runs settle and then cond (on the UI lock) every 20 ms, for up to 10 s, until cond holds.
func until(t *testing.T, u *UI, what string, settle func(), cond func() bool) {
	t.Helper()
	for i := 0; i < 500; i++ {
		settle()
		ok := false
		u.ui(func() { ok = cond() })
		if ok {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s", what)
}

func folderLen(s *storage.Store, folder string) int {
	sums, _ := s.Summaries(folder)
	return len(sums)
}

// TestComposeAndSend: the composer sends through the account's SMTP server: the message goes to
// the Outbox first, then to Sent; To, Cc, Bcc are the envelope, Bcc is not in the data, the
// attachment and the signature are in it; the window closes.
func TestComposeAndSend(t *testing.T) {
	u, s, r := sendingUI(t, nil)
	file := filepath.Join(t.TempDir(), "notes.txt")
	if err := os.WriteFile(file, []byte("attached notes\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var c *composer
	u.ui(func() { c = u.openComposer("work", *compose.NewDraft(u.identity("work")), nil) })
	if !strings.Contains(c.body.Text, "-- \nMe, from Poplar") {
		t.Errorf("a new message does not end with the signature: %q", c.body.Text)
	}
	u.ui(func() {
		c.to.entry.SetText("Ada <ada@example.org>")
		c.cc.entry.SetText("grace@example.net")
		c.bcc.entry.SetText("hidden@example.com")
		c.subject.SetText("Plans for Thursday — ünïcode")
		c.body.SetText("See you then.\n" + c.body.Text)
		c.attachFile(file)
		test.Tap(c.sendBtn)
	})
	waitFor(t, u, "the message in Sent", func() bool { return folderLen(s, storage.Sent) == 1 })
	got := r.Received()
	if len(got) != 1 {
		t.Fatalf("the server received %d messages", len(got))
	}
	data := string(got[0].Data)
	if strings.Join(got[0].Rcpts, ",") != "ada@example.org,grace@example.net,hidden@example.com" || got[0].From != "me@example.org" {
		t.Errorf("envelope %s -> %v", got[0].From, got[0].Rcpts)
	}
	for _, want := range []string{"notes.txt", "Subject: =?", "See you then."} {
		if !strings.Contains(data, want) {
			t.Errorf("the message lacks %q:\n%s", want, data)
		}
	}
	if strings.Contains(strings.ToLower(data), "hidden@example.com") {
		t.Error("the Bcc address is in the message")
	}
	if n := folderLen(s, storage.Outbox); n != 0 {
		t.Errorf("%d messages left in the Outbox", n)
	}
	u.ui(func() {
		if !u.tree.has("work", storage.Outbox) || !u.tree.has("work", storage.Sent) {
			t.Errorf("an account that sends does not show Outbox and Sent: %v", u.tree.info["work"])
		}
	})
	if !c.closed {
		t.Error("the composer stayed open after sending")
	}
}

// TestReplyFlagsAnswered: r answers the message at the cursor: Re: once, to its sender, quoted;
// once sent, the message is marked answered (Maildir R) in the store.
func TestReplyFlagsAnswered(t *testing.T) {
	u, s, r := sendingUI(t, map[string]string{"u1": "Message-ID: <engines@example.org>\n" + mail("Ada Lovelace <ada@example.org>", "Re: Engines", "The engine weaves.", 2)})
	click(u, 0, 0)
	before := len(u.app.Driver().AllWindows())
	key(u, fyne.KeyR)
	waitFor(t, u, "the reply window", func() bool { return len(u.app.Driver().AllWindows()) == before+1 })
	c := lastComposer(u)
	if c == nil || c.win.Title() != "Re: Engines" {
		t.Fatal("no composer titled Re: Engines")
	}
	if c.to.entry.Text != "Ada Lovelace <ada@example.org>" {
		t.Errorf("reply goes to %q", c.to.entry.Text)
	}
	if !strings.Contains(c.body.Text, "> The engine weaves.") {
		t.Errorf("reply body %q", c.body.Text)
	}
	u.ui(func() { test.Tap(c.sendBtn) })
	waitFor(t, u, "the reply in Sent", func() bool { return folderLen(s, storage.Sent) == 1 })
	if got := r.Received(); len(got) != 1 || !strings.Contains(string(got[0].Data), "In-Reply-To: <engines@example.org>") {
		t.Fatalf("the reply has no In-Reply-To naming the original")
	}
	sums, _ := s.Summaries(storage.Inbox)
	if len(sums) != 1 || sums[0].Flags&storage.FlagAnswered == 0 {
		t.Fatalf("the answered message is not marked answered: %+v", sums)
	}
	if mk := rowMarks(&sums[0]); !strings.Contains(mk, "↩") {
		t.Errorf("the list marks the answered message %q, want ↩", mk)
	}
}

// TestDraftRoundTrip: Save draft keeps everything (Bcc and the attachment too); Edit draft brings
// it back in a composer; sending it removes the draft.
func TestDraftRoundTrip(t *testing.T) {
	u, s, _ := sendingUI(t, nil)
	file := filepath.Join(t.TempDir(), "a.csv")
	os.WriteFile(file, []byte("x,y\n"), 0o600)
	var c *composer
	u.ui(func() {
		c = u.openComposer("work", *compose.NewDraft(u.identity("work")), nil)
		c.to.entry.SetText("ada@example.org")
		c.bcc.entry.SetText("hidden@example.com")
		c.subject.SetText("Draft subject")
		c.body.SetText("Draft body")
		c.attachFile(file)
		c.saveDraft(true)
	})
	waitFor(t, u, "the draft saved", func() bool { return c.draftKey != "" })
	if n := folderLen(s, draftsFolder); n != 1 {
		t.Fatalf("Drafts holds %d", n)
	}
	key := c.draftKey
	u.ui(c.close)
	u.ui(func() { u.editStored("work", draftsFolder, key) })
	waitFor(t, u, "the draft reopened", func() bool { n := len(u.composers); return n > 0 && u.composers[n-1] != c })
	c2 := lastComposer(u)
	if c2.to.entry.Text != "ada@example.org" && !strings.Contains(c2.to.entry.Text, "ada@example.org") {
		t.Errorf("To %q", c2.to.entry.Text)
	}
	if !strings.Contains(c2.bcc.entry.Text, "hidden@example.com") || c2.subject.Text != "Draft subject" ||
		!strings.Contains(c2.body.Text, "Draft body") || len(c2.atts) != 1 || c2.atts[0].Name != "a.csv" {
		t.Errorf("reopened draft: bcc %q subject %q body %q attachments %d", c2.bcc.entry.Text, c2.subject.Text, c2.body.Text, len(c2.atts))
	}
	u.ui(func() { test.Tap(c2.sendBtn) })
	waitFor(t, u, "sent", func() bool { return folderLen(s, storage.Sent) == 1 })
	if n := folderLen(s, draftsFolder); n != 0 {
		t.Errorf("the draft stayed after sending (%d)", n)
	}
}

// TestOutgoingServerCheck: the editor's Test outgoing server signs in (no mail sent) and says so;
// a wrong password is named.
func TestOutgoingServerCheck(t *testing.T) {
	u, _, r := sendingUI(t, nil)
	a, _ := u.findAccount("work")
	var f *accountForm
	u.ui(func() { f = u.editAccount(&a) })
	u.ui(func() { test.Tap(f.smtpTestBtn) })
	waitFor(t, u, "the outgoing check", func() bool { return !strings.HasPrefix(f.testResult.Text, "Connecting") })
	if !strings.Contains(f.testResult.Text, "signed in") {
		t.Fatalf("stored password: %q", f.testResult.Text)
	}
	u.ui(func() { f.smtpPassword.SetText("wrong"); test.Tap(f.smtpTestBtn) })
	waitFor(t, u, "the outgoing check", func() bool { return !strings.HasPrefix(f.testResult.Text, "Connecting") && f.testResult.Text != "" })
	if !strings.Contains(f.testResult.Text, "outgoing server") || !strings.Contains(strings.ToLower(f.testResult.Text), "password") {
		t.Fatalf("wrong password: %q", f.testResult.Text)
	}
	if _, mails := r.Counts(); mails != 0 {
		t.Errorf("the check sent %d messages", mails)
	}
}

// TestAddressFieldsRoundTrip: addresses show as people type them (Unicode, not RFC 2047) and
// parse back to the same addresses.
func TestAddressFieldsRoundTrip(t *testing.T) {
	for _, a := range []netmail.Address{
		{Name: "Алексей Петров", Address: "alexei@example.ru"},
		{Name: "Hopper, Grace", Address: "grace@example.net"},
		{Name: `Ken "k" T`, Address: "ken@example.com"},
		{Address: "plain@example.org"},
	} {
		shown := displayAddress(a)
		if strings.Contains(shown, "=?") {
			t.Errorf("%v shows encoded: %q", a, shown)
		}
		got, err := compose.ParseAddressList(shown)
		if err != nil || len(got) != 1 || got[0].Name != a.Name || got[0].Address != a.Address {
			t.Errorf("%q parses to %v, %v; want %v", shown, got, err, a)
		}
	}
}

// TestOutboxShowsWhy: a message the server refuses stays in the Outbox, which says why in the
// server's words and offers Retry, Edit and Delete; Delete asks and removes it.
func TestOutboxShowsWhy(t *testing.T) {
	u, s, r := sendingUI(t, nil)
	r.RefuseRecipients(func(string) error {
		return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "No such user here"}
	})
	var c *composer
	u.ui(func() {
		c = u.openComposer("work", *compose.NewDraft(u.identity("work")), nil)
		c.to.entry.SetText("nobody@example.org")
		c.subject.SetText("Lost")
		test.Tap(c.sendBtn)
	})
	waitFor(t, u, "the refusal", func() bool { return strings.Contains(u.status.text.Text, "No such user here") })
	u.ui(func() { u.openFolder("work", storage.Outbox) })
	u.wait()
	if u.list.model.len() != 1 {
		t.Fatalf("the Outbox shows %d messages", u.list.model.len())
	}
	click(u, 0, 0)
	u.wait()
	var text string
	u.ui(func() {
		walk(u.reader.actions, func(o fyne.CanvasObject) {
			switch x := o.(type) {
			case *widget.Label:
				text += x.Text + "\n"
			case *widget.Button:
				text += "[" + x.Text + "]\n"
			}
		})
	})
	for _, want := range []string{"refused", "No such user here", "[Retry]", "[Edit]", "[Delete]"} {
		if !strings.Contains(text, want) {
			t.Fatalf("the Outbox message lacks %q:\n%s", want, text)
		}
	}
	var del *widget.Button
	u.ui(func() {
		walk(u.reader.actions, func(o fyne.CanvasObject) {
			if b, ok := o.(*widget.Button); ok && b.Text == "Delete" {
				del = b
			}
		})
		test.Tap(del)
	})
	u.ui(func() { test.Tap(overlayButton(u.win, "Yes")) })
	u.wait()
	if n := folderLen(s, storage.Outbox); n != 0 {
		t.Errorf("Delete left %d in the Outbox", n)
	}
}

// TestOutgoingWrongPassword: the outgoing server refusing the password asks for it; the message
// waits in the Outbox and goes once the right password is given.
func TestOutgoingWrongPassword(t *testing.T) {
	u, s, r := sendingUI(t, nil)
	if err := u.secrets().Set("work", "wrong"); err != nil {
		t.Fatal(err)
	}
	u.ui(func() {
		c := u.openComposer("work", *compose.NewDraft(u.identity("work")), nil)
		c.to.entry.SetText("ada@example.org")
		c.subject.SetText("Hello")
		test.Tap(c.sendBtn)
	})
	waitFor(t, u, "the password prompt", func() bool { return strings.Contains(overlayText(u.win), "did not accept the password") })
	if n := folderLen(s, storage.Outbox); n != 1 {
		t.Fatalf("the Outbox holds %d", n)
	}
	u.ui(func() { u.win.Canvas().Focused().(*keyEntry).SetText("pw") })
	u.ui(func() { test.Tap(overlayButton(u.win, "Save and check")) })
	waitFor(t, u, "sent", func() bool { return folderLen(s, storage.Sent) == 1 })
	if got := r.Received(); len(got) != 1 {
		t.Errorf("the server received %d messages", len(got))
	}
}
