package gui

import (
	"strings"
	"testing"

	"fyne.io/fyne/v2/test"

	"github.com/poplar-mail/poplar/account"
	"github.com/poplar-mail/poplar/storage"
)

// TestFilterEditor: a rule made in the editor is tested ("would match 1 message in the Inbox"),
// a bad one is refused naming what is wrong, and a saved rule is kept in the settings and sorts
// the Inbox when run.
func TestFilterEditor(t *testing.T) {
	u, s := newTestUI(t, threeMessages)
	var e *filterEditor
	var saved []account.Filter
	u.ui(func() {
		e = u.editFilter("work", account.Filter{}, func(f account.Filter) { saved = append(saved, f) })
		e.name.SetText("Ada")
		e.condRows[0].field.SetSelected("from")
		e.condRows[0].value.SetText("lovelace")
		e.actRows[0].action.SetSelected("move")
		e.actRows[0].folder.SetText("People")
		test.Tap(overlayButton(u.win, "Test"))
	})
	waitFor(t, u, "the test", func() bool { return strings.HasPrefix(e.testResult.Text, "Would match") })
	if e.testResult.Text != "Would match 1 message in the Inbox." {
		t.Errorf("test says %q", e.testResult.Text)
	}
	u.ui(func() {
		e.actRows[0].folder.SetText("") // move needs a folder
		test.Tap(overlayButton(u.win, "Save"))
	})
	if len(saved) != 0 || !strings.Contains(e.testResult.Text, "folder") {
		t.Fatalf("a move without a folder was saved (%q)", e.testResult.Text)
	}
	u.ui(func() {
		e.actRows[0].folder.SetText("People")
		test.Tap(overlayButton(u.win, "Save"))
	})
	if len(saved) != 1 || saved[0].Name != "Ada" {
		t.Fatalf("saved %+v", saved)
	}
	a, _ := u.findAccount("work")
	a.Filters, a.Enabled = saved, false
	saveAccount(t, u, a, "", false)
	cfg, err := account.LoadConfig(u.env.ConfigDir)
	if err != nil || len(cfg.Accounts[0].Filters) != 1 {
		t.Fatalf("the settings file holds %v (%v)", cfg, err)
	}
	u.ui(func() { u.showFilters("work") })
	u.ui(func() { test.Tap(overlayButton(u.win, "Run on the Inbox")) })
	waitFor(t, u, "the run", func() bool { return folderLen(s, "People") == 1 })
	if !strings.Contains(overlayText(u.win), "1 message moved to People") {
		t.Errorf("the dialog says:\n%s", overlayText(u.win))
	}
	if n := folderLen(s, storage.Inbox); n != 2 {
		t.Errorf("the Inbox holds %d", n)
	}
}
