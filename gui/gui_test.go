package gui

import (
	"fmt"
	"strings"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"github.com/poplar-mail/poplar/account"
	"github.com/poplar-mail/poplar/storage"
)

// newTestUI makes an app with one account "work" whose Inbox holds the given messages.
func newTestUI(t *testing.T, msgs map[string]string) (*UI, *storage.Store) {
	t.Helper()
	dir := t.TempDir()
	env := Env{ConfigDir: dir + "/config", DataDir: dir + "/data", Secrets: account.MemSecrets{}}
	a := account.New("work", "pop.invalid", "me")
	cfg := &account.Config{Accounts: []account.Account{a}}
	if err := cfg.Save(env.ConfigDir); err != nil {
		t.Fatal(err)
	}
	s, err := storage.Open(account.DataDir(env.DataDir, "work"))
	if err != nil {
		t.Fatal(err)
	}
	b := s.NewBatch()
	for uidl, m := range msgs {
		if _, err := b.Deliver(strings.NewReader(m), storage.DeliverInfo{UIDL: uidl}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := b.Commit(); err != nil {
		t.Fatal(err)
	}
	app := test.NewTempApp(t)
	w := app.NewWindow("Poplar")
	u, err := New(app, w, env)
	if err != nil {
		t.Fatal(err)
	}
	u.wait()
	t.Cleanup(func() { u.Close() })
	return u, s
}

// ui runs fn as the UI goroutine would: holding the lock background updates take, so that the
// test goroutine and background jobs never touch widgets at the same time (Fyne's test driver
// runs fyne.Do inline).
func (u *UI) ui(fn func()) {
	u.uiMu.Lock()
	defer u.uiMu.Unlock()
	fn()
}

func mail(from, subject, body string, day int) string {
	return fmt.Sprintf("From: %s\nTo: me@example.org\nSubject: %s\nDate: Mon, %d Jan 2026 10:00:00 +0000\n\n%s\n", from, subject, day, body)
}

func richText(rt *widget.RichText) string {
	var b strings.Builder
	for _, s := range rt.Segments {
		b.WriteString(s.Textual())
	}
	return b.String()
}

var threeMessages = map[string]string{
	"u1": mail("Grace Hopper <grace@example.net>", "Compilers", "Nanoseconds are this long.", 3),
	"u2": mail("Ada Lovelace <ada@example.org>", "Engines", "The analytical engine weaves patterns.", 2),
	"u3": mail("Ken <ken@example.com>", "Unix", "Keep it simple.", 1),
}

func TestSelectShowsBody(t *testing.T) {
	u, s := newTestUI(t, threeMessages)
	if u.model.len() != 3 {
		t.Fatalf("list shows %d messages, want 3", u.model.len())
	}
	if first := u.model.at(0); first.Subject != "Compilers" {
		t.Fatalf("newest first: row 0 is %q", first.Subject)
	}
	if u.header.Text != noMessageText || u.sourceBtn.Visible() {
		t.Errorf("with nothing selected the reader shows %q, View source visible=%v", u.header.Text, u.sourceBtn.Visible())
	}
	u.ui(func() { u.list.Select(1) })
	u.wait()
	if !u.sourceBtn.Visible() {
		t.Error("View source is hidden with a message open")
	}
	if got := u.subject.Text; got != "Engines" {
		t.Errorf("reader subject = %q", got)
	}
	if !strings.Contains(richText(u.body), "analytical engine") || !strings.Contains(u.header.Text, "Ada Lovelace <ada@example.org>") {
		t.Errorf("reader shows %q / %q", richText(u.body), u.header.Text)
	}
	// Opening marks it read, in the store too.
	m, _ := s.Summary(storage.Inbox, u.selected)
	if m.Unread() || u.model.at(1).Unread() {
		t.Error("opened message still unread")
	}
	// And mark unread again.
	u.ui(func() { u.toggleRead() })
	u.wait()
	if m, _ := s.Summary(storage.Inbox, u.selected); !m.Unread() {
		t.Error("toggleRead did not mark it unread")
	}
}

func TestSearchFilters(t *testing.T) {
	u, _ := newTestUI(t, threeMessages)
	u.ui(func() { u.search.SetText("ada") })
	if u.model.len() != 1 || u.list.Length() != 1 || u.model.at(0).Subject != "Engines" {
		t.Fatalf("search ada: %d rows", u.model.len())
	}
	u.ui(func() { u.search.SetText("unix") })
	if u.model.len() != 1 || u.model.at(0).From != "Ken" {
		t.Fatalf("search unix: %d rows", u.model.len())
	}
	u.ui(func() { u.search.SetText("") })
	if u.model.len() != 3 {
		t.Fatalf("cleared search: %d rows", u.model.len())
	}
}

func TestDeleteMovesToTrash(t *testing.T) {
	u, s := newTestUI(t, threeMessages)
	u.ui(func() { u.list.Select(0) })
	u.wait()
	key := u.selected
	u.ui(func() { u.deleteSelected() })
	u.wait()
	tr, _ := s.Summaries(storage.Trash)
	if len(tr) != 1 || tr[0].Key != key {
		t.Fatalf("Trash holds %+v", tr)
	}
	if u.model.len() != 2 {
		t.Fatalf("list shows %d after delete", u.model.len())
	}
}

func TestSettingsValidatesAndSaves(t *testing.T) {
	u, _ := newTestUI(t, nil)
	u.ui(func() { u.editAccount(nil) })
	f := u.lastForm
	f.name.SetText("home")
	f.host.SetText("pop.example.org")
	f.user.SetText("me")
	f.port.SetText("99999")
	f.password.SetText("pw")
	f.enabled.SetChecked(false) // no fetch from pop.example.org
	u.ui(func() { test.Tap(f.saveBtn) })
	if !strings.Contains(f.testResult.Text, "port") {
		t.Fatalf("a bad port was not rejected: %q", f.testResult.Text)
	}
	if _, ok := u.findAccount("home"); ok {
		t.Fatal("the account was saved with a bad port")
	}
	f.security.SetSelected(account.SecuritySTARTTLS)
	if f.port.Text != "110" {
		t.Errorf("choosing starttls set port %q, want 110", f.port.Text)
	}
	f.security.SetSelected(account.SecurityNone)
	if !f.warning.Visible() {
		t.Error("no warning for security none")
	}
	f.security.SetSelected(account.SecurityTLS)
	u.ui(func() { test.Tap(f.saveBtn) })
	u.wait()
	a, ok := u.findAccount("home")
	if !ok || a.Port != 995 || a.Host != "pop.example.org" {
		t.Fatalf("saved account: %+v, %v (%s)", a, ok, f.testResult.Text)
	}
	cfg, err := account.LoadConfig(u.env.ConfigDir)
	if err != nil || len(cfg.Accounts) != 2 {
		t.Fatalf("config file: %v, %v", cfg, err)
	}
	if pw, _ := u.env.Secrets.Get("home"); pw != "pw" {
		t.Error("password not stored in the secret store")
	}
}

func TestConnectionShowsWrongPassword(t *testing.T) {
	_, host, port, fingerprint := startServer(t, "right")
	u, _ := newTestUI(t, nil)
	u.ui(func() { u.editAccount(nil) })
	f := u.lastForm
	f.name.SetText("local")
	f.host.SetText(host)
	f.port.SetText(port)
	f.user.SetText("me")
	f.fingerprint.SetText(fingerprint)
	f.password.SetText("wrong")
	u.ui(func() { test.Tap(f.testBtn) })
	u.wait()
	if !strings.Contains(f.testResult.Text, "Wrong user name or password") {
		t.Fatalf("test connection with a wrong password shows %q", f.testResult.Text)
	}
	f.password.SetText("right")
	u.ui(func() { test.Tap(f.testBtn) })
	u.wait()
	if !strings.Contains(f.testResult.Text, "Connected and logged in") || !strings.Contains(f.testResult.Text, "pipelining") {
		t.Fatalf("test connection with the right password shows %q", f.testResult.Text)
	}
}

func TestWelcomeWithoutAccounts(t *testing.T) {
	dir := t.TempDir()
	app := test.NewTempApp(t)
	w := app.NewWindow("Poplar")
	u, err := New(app, w, Env{ConfigDir: dir, DataDir: dir, Secrets: account.MemSecrets{}})
	if err != nil {
		t.Fatal(err)
	}
	if w.Content() == u.main {
		t.Fatal("main window shown without any account")
	}
	found := false
	test.Tap(findButton(t, w.Content(), "Add account…", &found))
	if !found || u.lastForm == nil {
		t.Fatal("Add account… did not open the account editor")
	}
}

// findButton finds a button by its text in a tree of containers.
func findButton(t *testing.T, o fyne.CanvasObject, text string, found *bool) *widget.Button {
	t.Helper()
	var walk func(o fyne.CanvasObject) *widget.Button
	walk = func(o fyne.CanvasObject) *widget.Button {
		switch v := o.(type) {
		case *widget.Button:
			if v.Text == text {
				*found = true
				return v
			}
		case *fyne.Container:
			for _, x := range v.Objects {
				if b := walk(x); b != nil {
					return b
				}
			}
		}
		return nil
	}
	if b := walk(o); b != nil {
		return b
	}
	t.Fatalf("no button %q", text)
	return nil
}
