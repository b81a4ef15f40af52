package gui

import (
	"fmt"
	"strings"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/poplar-mail/poplar/account"
	"github.com/poplar-mail/poplar/storage"
	"github.com/poplar-mail/poplar/storage/search"
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

// saveAccount saves an account as the editor does and waits for it.
func saveAccount(t *testing.T, u *UI, a account.Account, password string, isNew bool) {
	t.Helper()
	var err error
	u.ui(func() { u.saveAccount(a, password, isNew, func(e error) { err = e }) })
	u.wait()
	if err != nil {
		t.Fatal(err)
	}
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

// shown is the subject the reader shows.
func shown(u *UI) string {
	var s string
	u.ui(func() { s = u.reader.subject.Text })
	return s
}

// key sends a key to the focused object, as the window does.
func key(u *UI, name fyne.KeyName) {
	u.ui(func() {
		if f := u.win.Canvas().Focused(); f != nil {
			f.TypedKey(&fyne.KeyEvent{Name: name})
		} else {
			u.win.Canvas().OnTypedKey()(&fyne.KeyEvent{Name: name})
		}
	})
	u.wait()
}

// click clicks row r of the list with modifiers, as a mouse press on the row does.
func click(u *UI, r int, mod fyne.KeyModifier) {
	u.ui(func() { u.list.tap(r, mod) })
	u.wait()
}

func TestSelectShowsBody(t *testing.T) {
	u, s := newTestUI(t, threeMessages)
	if u.list.model.len() != 3 {
		t.Fatalf("list shows %d messages, want 3", u.list.model.len())
	}
	if first := u.list.model.at(0); first.Subject != "Compilers" {
		t.Fatalf("newest first: row 0 is %q", first.Subject)
	}
	if u.reader.header.Text != noMessageText || u.reader.sourceBtn.Visible() {
		t.Errorf("with nothing selected the reader shows %q, View source visible=%v", u.reader.header.Text, u.reader.sourceBtn.Visible())
	}
	click(u, 1, 0)
	if !u.reader.sourceBtn.Visible() {
		t.Error("View source is hidden with a message open")
	}
	if got := shown(u); got != "Engines" {
		t.Errorf("reader subject = %q", got)
	}
	if !strings.Contains(richText(u.reader.body), "analytical engine") || !strings.Contains(u.reader.header.Text, "Ada Lovelace <ada@example.org>") {
		t.Errorf("reader shows %q / %q", richText(u.reader.body), u.reader.header.Text)
	}
	if !u.reader.header.Selectable || !u.reader.subject.Selectable {
		t.Error("the reader's header cannot be selected and copied")
	}
	// Opening marks it read, in the store too.
	k := u.list.model.cursor
	m, _ := s.Summary(storage.Inbox, k)
	if m.Unread() || u.list.model.get(k).Unread() {
		t.Error("opened message still unread")
	}
	key(u, fyne.KeyU)
	if m, _ := s.Summary(storage.Inbox, k); !m.Unread() {
		t.Error("u did not mark it unread")
	}
	key(u, fyne.KeyS)
	if m, _ := s.Summary(storage.Inbox, k); m.Flags&storage.FlagFlagged == 0 {
		t.Error("s did not flag it")
	}
}

// TestKeyboardAfterClick: a click gives the list the keyboard; j/k and the arrows move and the
// reader follows; Enter opens a message window; Esc leaves the search box for the list.
func TestKeyboardAfterClick(t *testing.T) {
	u, _ := newTestUI(t, threeMessages)
	click(u, 0, 0)
	if u.win.Canvas().Focused() != u.list {
		t.Fatalf("after a click the focus is on %T, not the list", u.win.Canvas().Focused())
	}
	for _, step := range []struct {
		key  fyne.KeyName
		want string
	}{{fyne.KeyDown, "Engines"}, {fyne.KeyJ, "Unix"}, {fyne.KeyJ, "Unix"}, {fyne.KeyK, "Engines"}, {fyne.KeyUp, "Compilers"}, {fyne.KeyEnd, "Unix"}} {
		key(u, step.key)
		if got := shown(u); got != step.want {
			t.Fatalf("after %s the reader shows %q, want %q", step.key, got, step.want)
		}
	}
	windows := len(u.app.Driver().AllWindows())
	key(u, fyne.KeyReturn)
	if n := len(u.app.Driver().AllWindows()); n != windows+1 {
		t.Errorf("Enter opened %d windows", n-windows)
	}
	u.ui(func() { u.win.Canvas().Focus(u.search) })
	typeSearch(t, u, "ada")
	if u.list.model.len() != 1 {
		t.Fatalf("search ada: %d rows", u.list.model.len())
	}
	key(u, fyne.KeyEscape)
	waitFor(t, u, "the folder back", func() bool { return u.list.model.len() == 3 })
	if u.win.Canvas().Focused() != u.list || u.search.Text != "" {
		t.Errorf("Esc in the search box: focus %T, query %q", u.win.Canvas().Focused(), u.search.Text)
	}
}

// typeSearch types q into the search box and waits for its results.
func typeSearch(t *testing.T, u *UI, q string) {
	t.Helper()
	u.ui(func() { u.search.SetText(q) })
	waitFor(t, u, "the search "+q, func() bool { return u.searchSt.query == q && u.searchSt.count.Visible() })
}

// TestSearchFindsEverything: the search box searches the whole account with the full-text index:
// names and addresses, body text, accents ignored, other folders too; the count says how many
// match; the reader marks the words; Esc returns to the folder.
func TestSearchFindsEverything(t *testing.T) {
	u, s := newTestUI(t, map[string]string{
		"u1": mail("Grace Hopper <grace@example.net>", "Compilers", "Nanoseconds are this long.", 3),
		"u2": mail("Ada Lovelace <ada@example.org>", "Engines", "The analytical engine weaves patterns.", 2),
		"u3": mail("José García <jose@example.es>", "Café", "Un café, por favor.", 1),
	})
	if err := s.CreateFolder("Archive"); err != nil {
		t.Fatal(err)
	}
	sums, _ := s.Summaries(storage.Inbox)
	for _, m := range sums {
		if m.Subject == "Compilers" {
			if err := s.Move(storage.Inbox, "Archive", []string{m.Key}); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, tc := range []struct {
		q    string
		want string
	}{
		{"garcia", "Café"},
		{"ada@example.org", "Engines"},
		{"analytical", "Engines"},
		{"nanoseconds", "Compilers"}, // in Archive, not the open Inbox
	} {
		typeSearch(t, u, tc.q)
		if u.list.model.len() != 1 || u.list.model.at(0).Subject != tc.want {
			t.Fatalf("search %q: %d rows, first %v", tc.q, u.list.model.len(), u.list.model.at(0))
		}
		if !strings.Contains(u.searchSt.count.Text, "1 message matches") {
			t.Errorf("search %q: count says %q", tc.q, u.searchSt.count.Text)
		}
	}
	click(u, 0, 0)
	if shown(u) != "Compilers" {
		t.Fatalf("a result from Archive opens as %q", shown(u))
	}
	var marked bool
	u.ui(func() {
		for _, sg := range u.reader.body.Segments {
			if ts, ok := sg.(*widget.TextSegment); ok && strings.EqualFold(ts.Text, "nanoseconds") && ts.Style.TextStyle.Bold {
				marked = true
			}
		}
	})
	if !marked {
		t.Error("the reader does not mark the searched word")
	}
	typeSearch(t, u, "nothing-like-this")
	if u.list.model.len() != 0 || u.searchSt.count.Text != "No messages match" {
		t.Errorf("no match: %d rows, %q", u.list.model.len(), u.searchSt.count.Text)
	}
	u.ui(func() { u.win.Canvas().Focus(u.search) })
	key(u, fyne.KeyEscape)
	waitFor(t, u, "the folder back", func() bool { return u.list.model.len() == 2 && !u.searchSt.count.Visible() })
	// Esc also leaves a search from the list, after a result was clicked.
	typeSearch(t, u, "garcia")
	click(u, 0, 0)
	u.ui(func() { u.win.Canvas().Focus(u.list) })
	key(u, fyne.KeyEscape)
	waitFor(t, u, "the folder back after Esc in the list", func() bool { return u.list.model.len() == 2 && u.search.Text == "" })
	if shown(u) != "Café" || u.list.model.row(u.list.model.cursor) < 0 {
		t.Errorf("after the search the reader shows %q and the list's cursor is %q: want the result read, selected", shown(u), u.list.model.cursor)
	}
}

// TestDeleteSelectsNext: Delete moves the message to the Trash and selects the one below it, or
// the one above when it was the last; Ctrl+Z brings it back.
func TestDeleteSelectsNext(t *testing.T) {
	u, s := newTestUI(t, threeMessages)
	click(u, 1, 0)
	deleted := u.list.model.cursor
	key(u, fyne.KeyDelete)
	tr, _ := s.Summaries(storage.Trash)
	if len(tr) != 1 || tr[0].Key != deleted {
		t.Fatalf("Trash holds %+v", tr)
	}
	if u.list.model.len() != 2 || shown(u) != "Unix" {
		t.Fatalf("after deleting the middle message: %d rows, reader shows %q (want the one below, Unix)", u.list.model.len(), shown(u))
	}
	key(u, fyne.KeyDelete) // the last row: the one above comes next
	if shown(u) != "Compilers" {
		t.Fatalf("after deleting the last message the reader shows %q, want the one above", shown(u))
	}
	u.ui(func() { u.undoLast() })
	u.wait()
	if in, _ := s.Summaries(storage.Inbox); len(in) != 2 {
		t.Fatalf("undo: Inbox holds %d messages, want 2", len(in))
	}
	if u.list.model.len() != 2 {
		t.Fatalf("undo: the list shows %d messages", u.list.model.len())
	}
}

// TestUndoInSearchKeepsResults: Ctrl+Z after deleting a search result brings the message back
// into the results, which stay shown (the folder is not listed under the search's query).
func TestUndoInSearchKeepsResults(t *testing.T) {
	u, _ := newTestUI(t, threeMessages)
	typeSearch(t, u, "engine")
	if u.list.model.len() != 1 {
		t.Fatalf("search engine: %d rows, want 1", u.list.model.len())
	}
	click(u, 0, 0)
	key(u, fyne.KeyDelete)
	if u.list.model.len() != 0 {
		t.Fatalf("after Delete the results show %d rows", u.list.model.len())
	}
	u.ui(func() { u.undoLast() })
	waitFor(t, u, "the result back", func() bool { return u.list.model.len() == 1 })
	if u.search.Text != "engine" || u.searchSt.query != "engine" || shown(u) != "Engines" {
		t.Errorf("after undo: query %q (%q), reader %q; want the search kept and the message back, read", u.search.Text, u.searchSt.query, shown(u))
	}
	u.wait()
	if n := u.list.model.len(); n != 1 {
		t.Errorf("after undo the list shows %d rows, want the one result (not the folder)", n)
	}
}

// TestMultiSelect: Shift+click selects a range, Ctrl+click adds and removes one, Ctrl+A all;
// mark read, flag, move and delete act on the whole selection.
func TestMultiSelect(t *testing.T) {
	u, s := newTestUI(t, threeMessages)
	if err := s.CreateFolder("Archive"); err != nil {
		t.Fatal(err)
	}
	click(u, 0, 0)
	click(u, 2, fyne.KeyModifierShift)
	if got := len(u.list.model.selected()); got != 3 {
		t.Fatalf("Shift+click selected %d, want 3", got)
	}
	click(u, 1, fyne.KeyModifierControl)
	if got := u.list.model.selected(); len(got) != 2 || u.list.model.isSelected(u.list.model.at(1).Key) {
		t.Fatalf("Ctrl+click did not take row 1 out: %v", got)
	}
	u.ui(func() { u.list.TypedShortcut(&fyne.ShortcutSelectAll{}) })
	if got := len(u.list.model.selected()); got != 3 {
		t.Fatalf("Ctrl+A selected %d, want 3", got)
	}
	u.ui(func() { u.toggleFlag() })
	u.wait()
	sums, _ := s.Summaries(storage.Inbox)
	for _, m := range sums {
		if m.Flags&storage.FlagFlagged == 0 {
			t.Errorf("%s not flagged", m.Subject)
		}
	}
	// Shift+arrows extend from the cursor.
	click(u, 0, 0)
	u.ui(func() { u.list.KeyDown(&fyne.KeyEvent{Name: desktop.KeyShiftLeft}) })
	key(u, fyne.KeyDown)
	u.ui(func() { u.list.KeyUp(&fyne.KeyEvent{Name: desktop.KeyShiftLeft}) })
	if got := len(u.list.model.selected()); got != 2 {
		t.Fatalf("Shift+Down selected %d, want 2", got)
	}
	u.ui(func() { u.moveSelected("Archive") })
	u.wait()
	if a, _ := s.Summaries("Archive"); len(a) != 2 {
		t.Fatalf("Archive holds %d, want 2", len(a))
	}
	if u.list.model.len() != 1 || shown(u) != "Unix" {
		t.Fatalf("after the move the list shows %d rows and the reader %q", u.list.model.len(), shown(u))
	}
}

func TestSortRememberedPerFolder(t *testing.T) {
	u, s := newTestUI(t, threeMessages)
	if err := s.CreateFolder("Archive"); err != nil {
		t.Fatal(err)
	}
	u.ui(func() { u.setSort(sortOrder{key: bySender, ascending: true}) })
	order := func() string {
		var got []string
		for i := 0; i < u.list.model.len(); i++ {
			got = append(got, u.list.model.at(i).Subject)
		}
		return strings.Join(got, ",")
	}
	if got := order(); got != "Engines,Compilers,Unix" {
		t.Fatalf("by sender: %s", got)
	}
	// The sort bar marks the current column, and only it, with its direction.
	u.ui(func() {
		for _, o := range u.sortBar.Objects {
			if b, ok := o.(*widget.Button); ok {
				if want := map[string]fyne.Resource{"Sender": theme.MoveUpIcon()}[b.Text]; b.Icon != want {
					t.Errorf("sort button %q shows icon %v, want %v", b.Text, b.Icon, want)
				}
			}
		}
	})
	u.ui(func() { u.openFolder("work", "Archive") })
	u.wait()
	if u.list.model.sortBy.key != byDate {
		t.Errorf("Archive took the Inbox's order %v", u.list.model.sortBy)
	}
	u.ui(func() { u.openFolder("work", storage.Inbox) })
	u.wait()
	if got := order(); got != "Engines,Compilers,Unix" {
		t.Fatalf("the Inbox forgot its order: %s", got)
	}
	// The preview line is shown under the subject.
	r := newMessageRow()
	r.set(u.list.model.at(0), false, 0)
	if !strings.Contains(r.preview.Text, "analytical engine") {
		t.Errorf("preview line %q", r.preview.Text)
	}
}

// TestTitleAndLastState: the window title has the unread count, and the last folder and message
// come back after a restart.
func TestTitleAndLastState(t *testing.T) {
	u, _ := newTestUI(t, threeMessages)
	if got := u.win.Title(); got != "Poplar (3 unread)" {
		t.Errorf("title %q", got)
	}
	click(u, 2, 0)
	u.wait()
	u.refreshFolders()
	u.wait()
	if got := u.win.Title(); got != "Poplar (2 unread)" {
		t.Errorf("title after reading one: %q", got)
	}
	w := u.app.NewWindow("again")
	u2, err := New(u.app, w, u.env)
	if err != nil {
		t.Fatal(err)
	}
	u2.wait()
	t.Cleanup(u2.Close)
	if got := shown(u2); got != "Unix" {
		t.Errorf("after a restart the reader shows %q, want the last message, Unix", got)
	}
}

// TestEscClosesDialogs: Esc closes the open dialog, also from a field inside it.
func TestEscClosesDialogs(t *testing.T) {
	u, _ := newTestUI(t, nil)
	var f *accountForm
	u.ui(func() { f = u.editAccount(nil) })
	if len(u.win.Canvas().Overlays().List()) != 1 {
		t.Fatal("the editor is not open")
	}
	u.ui(func() { u.win.Canvas().Focus(f.host) })
	key(u, fyne.KeyEscape)
	if n := len(u.win.Canvas().Overlays().List()); n != 0 {
		t.Fatalf("Esc in a field left %d dialogs open", n)
	}
	u.ui(u.showSettings)
	key(u, fyne.KeyEscape)
	if n := len(u.win.Canvas().Overlays().List()); n != 0 {
		t.Fatalf("Esc left %d dialogs open", n)
	}
}

func TestSettingsValidatesAndSaves(t *testing.T) {
	u, _ := newTestUI(t, nil)
	var f *accountForm
	u.ui(func() { f = u.editAccount(nil) })
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
	var f *accountForm
	u.ui(func() { f = u.editAccount(nil) })
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
	if !found || !strings.Contains(overlayText(w), "finds your provider's POP3") {
		t.Fatal("Add account… did not open the setup wizard")
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

// TestTrayMenu: the tray menu shows the unread count and has Get Mail, Show Poplar and Quit.
func TestTrayMenu(t *testing.T) {
	u, _ := newTestUI(t, threeMessages)
	u.ui(func() {
		u.tray = u.trayMenu()
		u.updateTitle()
	})
	var labels []string
	for _, it := range u.tray.Items {
		labels = append(labels, it.Label)
	}
	if got := strings.Join(labels, "|"); got != "3 unread||Get Mail|Show Poplar|Quit" {
		t.Fatalf("tray menu %q", got)
	}
	click(u, 0, 0)
	u.refreshFolders()
	u.wait()
	if got := u.tray.Items[0].Label; got != "2 unread" {
		t.Errorf("after reading one the tray says %q", got)
	}
}

// TestConversationView: grouped by conversation, a message of a thread offers "Show the
// conversation", whose window shows every message of it.
func TestConversationView(t *testing.T) {
	u, _ := newTestUI(t, map[string]string{
		"u1": "Message-ID: <a@x>\n" + mail("Ada <ada@example.org>", "Plans", "First plan.", 1),
		"u2": "Message-ID: <b@x>\nIn-Reply-To: <a@x>\nReferences: <a@x>\n" + mail("Ken <ken@example.com>", "Re: Plans", "Second thoughts.", 2),
		"u3": mail("Grace <grace@example.net>", "Other", "Unrelated.", 3),
	})
	u.ui(func() {
		u.list.model.setThreaded(true)
		u.list.changed()
	})
	r := u.list.model.row(u.list.model.key(0))
	for i := 0; i < u.list.model.len(); i++ {
		if u.list.model.at(i).Subject == "Re: Plans" {
			r = i
		}
	}
	click(u, r, 0)
	var btn *widget.Button
	u.ui(func() {
		walk(u.reader.actions, func(o fyne.CanvasObject) {
			if b, ok := o.(*widget.Button); ok && strings.HasPrefix(b.Text, "Show the conversation (2") {
				btn = b
			}
		})
	})
	if btn == nil {
		t.Fatal("no Show the conversation button")
	}
	before := len(u.app.Driver().AllWindows())
	u.ui(func() { test.Tap(btn) })
	u.wait()
	ws := u.app.Driver().AllWindows()
	if len(ws) != before+1 {
		t.Fatalf("%d new windows", len(ws)-before)
	}
	var text strings.Builder
	u.ui(func() {
		walk(ws[len(ws)-1].Content(), func(o fyne.CanvasObject) {
			if rt, ok := o.(*widget.RichText); ok {
				text.WriteString(rt.String())
			}
		})
	})
	if !strings.Contains(text.String(), "First plan.") || !strings.Contains(text.String(), "Second thoughts.") || strings.Contains(text.String(), "Unrelated") {
		t.Errorf("the conversation window shows %q", text.String())
	}
}

// TestSearchIndexReleased: while the app has the search index open, another process's reader
// (`poplar search`) opens and searches it too; the app lets go of an idle index (its memory) and
// the next search in the window opens it again.
func TestSearchIndexReleased(t *testing.T) {
	u, s := newTestUI(t, threeMessages)
	typeSearch(t, u, "ada")
	other, err := search.Open(s)
	if err != nil {
		t.Fatalf("while the app has the index open, another Open gives %v", err)
	}
	if hits, n, err := other.Search("ada", search.Options{}); err != nil || n != 1 || len(hits) != 1 {
		t.Fatalf("a second reader's search: %v, %d hits", err, n)
	}
	u.closeIndexes() // what indexIdle without a search does
	u.wait()
	u.mu.Lock()
	open := len(u.indexes)
	u.mu.Unlock()
	if open != 0 {
		t.Fatalf("%d indexes still open after closeIndexes", open)
	}
	other.Close()
	typeSearch(t, u, "unix")
	if u.list.model.len() != 1 || u.list.model.at(0).Subject != "Unix" {
		t.Fatalf("search after reopening: %d rows", u.list.model.len())
	}
}
