package gui

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"github.com/poplar-mail/poplar/storage"
	"github.com/poplar-mail/poplar/storage/mailview"
)

// submitForm types text into the focused field of the open dialog and taps its button.
func submitForm(t *testing.T, u *UI, text, button string) {
	t.Helper()
	u.ui(func() {
		e, ok := u.win.Canvas().Focused().(*keyEntry)
		if !ok {
			t.Fatalf("no field has the focus (%T)", u.win.Canvas().Focused())
		}
		e.SetText(text)
	})
	b := overlayButton(u.win, button)
	if b == nil {
		t.Fatalf("no %q button; overlays say:\n%s", button, overlayText(u.win))
	}
	u.ui(func() { test.Tap(b) })
	u.wait()
}

func folderNames(t *testing.T, s *storage.Store) string {
	t.Helper()
	fs, err := s.Folders()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range fs {
		names = append(names, f.Name)
	}
	return strings.Join(names, " ")
}

// TestFolders: create a folder and a subfolder (Maildir++ .Work.Projects, which mutt reads),
// rename it, move mail into it, delete it: its mail goes to the Trash and Restore brings it back
// to the folder it came from.
func TestFolders(t *testing.T) {
	u, s := newTestUI(t, threeMessages)
	u.ui(func() { u.folderNameDialog("work", "", storage.Inbox) })
	submitForm(t, u, "Work", "Create")
	u.ui(func() { u.folderNameDialog("work", "", "Work") })
	if got := u.win.Canvas().Focused().(*keyEntry).Text; got != "Work." {
		t.Errorf("a new folder under Work starts as %q", got)
	}
	submitForm(t, u, "Work.Projects", "Create")
	if got := folderNames(t, s); got != "Inbox Work Work.Projects Trash" {
		t.Fatalf("folders: %s", got)
	}
	if _, err := os.Stat(filepath.Join(s.Dir(), "Maildir", ".Work.Projects", "cur")); err != nil {
		t.Fatalf("not a Maildir++ subfolder: %v", err)
	}
	u.ui(func() {
		if ids := u.tree.children(nodeID("work", "Work")); len(ids) != 1 || ids[0] != nodeID("work", "Work.Projects") {
			t.Errorf("the tree nests %v under Work", ids)
		}
	})
	u.ui(func() { u.folderNameDialog("work", "Work", "") })
	submitForm(t, u, "Job", "Rename")
	if got := folderNames(t, s); got != "Inbox Job Job.Projects Trash" {
		t.Fatalf("after rename: %s", got)
	}
	click(u, 0, 0)
	u.ui(func() { u.moveSelected("Job") })
	u.wait()
	u.ui(func() { u.deleteFolder("work", "Job") })
	u.ui(func() { test.Tap(overlayButton(u.win, "Yes")) })
	u.wait()
	if got := folderNames(t, s); got != "Inbox Trash" {
		t.Fatalf("after delete: %s", got)
	}
	u.ui(func() { u.openFolder("work", storage.Trash) })
	u.wait()
	if u.list.model.len() != 1 {
		t.Fatalf("the Trash shows %d messages", u.list.model.len())
	}
	click(u, 0, 0)
	u.ui(u.restoreSelected)
	u.wait()
	if in, _ := s.Summaries(storage.Inbox); len(in) != 3 {
		t.Fatalf("Restore: the Inbox holds %d (the folder it came from is gone, so the Inbox)", len(in))
	}
}

// TestTrashAsks: deleting inside the Trash and emptying it ask first; no means nothing happens.
func TestTrashAsks(t *testing.T) {
	u, s := newTestUI(t, threeMessages)
	click(u, 0, 0)
	click(u, 1, fyne.KeyModifierShift)
	key(u, fyne.KeyDelete)
	u.ui(func() { u.openFolder("work", storage.Trash) })
	u.wait()
	click(u, 0, 0)
	key(u, fyne.KeyDelete)
	if !strings.Contains(overlayText(u.win), "for good") {
		t.Fatalf("Delete in the Trash did not ask; overlays:\n%s", overlayText(u.win))
	}
	u.ui(func() { test.Tap(overlayButton(u.win, "No")) })
	u.wait()
	if tr, _ := s.Summaries(storage.Trash); len(tr) != 2 {
		t.Fatalf("No still deleted: Trash holds %d", len(tr))
	}
	key(u, fyne.KeyDelete)
	u.ui(func() { test.Tap(overlayButton(u.win, "Yes")) })
	u.wait()
	if tr, _ := s.Summaries(storage.Trash); len(tr) != 1 {
		t.Fatalf("Trash holds %d after deleting one for good", len(tr))
	}
	u.ui(func() { u.emptyTrash("work") })
	u.ui(func() { test.Tap(overlayButton(u.win, "Yes")) })
	u.wait()
	if tr, _ := s.Summaries(storage.Trash); len(tr) != 0 || u.list.model.len() != 0 {
		t.Fatalf("Empty Trash left %d (list %d)", len(tr), u.list.model.len())
	}
}

// TestMarkFolderRead marks every message of the folder read, in the list and the store.
func TestMarkFolderRead(t *testing.T) {
	u, s := newTestUI(t, threeMessages)
	u.ui(func() { u.markFolderRead("work", storage.Inbox) })
	u.wait()
	sums, _ := s.Summaries(storage.Inbox)
	for i, m := range sums {
		if m.Unread() || u.list.model.at(i).Unread() {
			t.Errorf("%s still unread", m.Subject)
		}
	}
}

// TestOpenEMLFile: a .eml file opens in a message window that shows it; the window saves it.
func TestOpenEMLFile(t *testing.T) {
	app := test.NewTempApp(t)
	path := filepath.Join("..", "..", "shared", "corpus", "pub-charset-koi8r-body-and-subject.eml")
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("the corpus is missing (../shared/corpus): %v", err)
	}
	ws, jobs := openFiles(app, []string{path})
	if len(ws) != 1 {
		t.Fatalf("%d windows", len(ws))
	}
	jobs.wait()
	var subject string
	walk(ws[0].Content(), func(o fyne.CanvasObject) {
		if l, ok := o.(*widget.Label); ok && l.TextStyle.Bold && l.Text != "" && subject == "" {
			subject = l.Text
		}
	})
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	m, err := mailview.Read(f, mailview.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if subject != m.Subject || m.Subject == "" {
		t.Fatalf("the window shows %q, want the message's subject %q", subject, m.Subject)
	}
	if got := emlName(`Re: a/b\c: "x"?` + strings.Repeat("é", 60)); strings.ContainsAny(got, `/\:"?`) || len(got) > 84 || !strings.HasSuffix(got, ".eml") {
		t.Errorf("emlName made %q", got)
	}
}
