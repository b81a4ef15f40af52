package gui

import (
	"fmt"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/poplar-mail/poplar/account"
	"github.com/poplar-mail/poplar/storage"
)

// Filters: the account's rules (account.Filter), applied to new mail as it is delivered. The
// Filters dialog lists them with Add, Edit, Remove, Run on the Inbox; the rule editor has Test,
// which says how many messages of the Inbox the rule would match, without changing anything.

// Choices the rule editor offers (account validates them again when the account is saved).
var (
	filterFieldChoices  = []string{"from", "to", "cc", "tocc", "subject", "body", "size", "attachment"}
	filterOpChoices     = []string{"contains", "not-contains", "equals", "greater", "less", "is"}
	filterActionChoices = []string{"move", "mark-read", "flag", "trash", "stop"}
)

// showFilters opens the Filters dialog of an account.
func (u *UI) showFilters(acct string) {
	a, ok := u.findAccount(acct)
	if !ok {
		return
	}
	filters := append([]account.Filter(nil), a.Filters...)
	selected := -1
	list := widget.NewList(func() int { return len(filters) }, func() fyne.CanvasObject { return widget.NewLabel("filter name") },
		func(i widget.ListItemID, o fyne.CanvasObject) { o.(*widget.Label).SetText(filterSummary(filters[i])) })
	list.OnSelected = func(i widget.ListItemID) { selected = i }
	status := widget.NewLabel("Filters sort new mail as it arrives, in this order. They never delete mail from the server.")
	status.Wrapping = fyne.TextWrapWord
	var d dialog.Dialog
	save := func(fs []account.Filter, done func()) {
		a, _ := u.findAccount(acct)
		a.Filters = fs
		u.saveAccount(a, "", false, func(err error) {
			if err != nil {
				status.SetText("Cannot save: " + err.Error())
				return
			}
			filters = fs
			list.Refresh()
			if done != nil {
				done()
			}
		})
	}
	add := widget.NewButtonWithIcon("Add…", theme.ContentAddIcon(), func() {
		u.editFilter(acct, account.Filter{Match: "all"}, func(f account.Filter) { save(append(append([]account.Filter(nil), filters...), f), nil) })
	})
	edit := widget.NewButtonWithIcon("Edit…", theme.DocumentCreateIcon(), func() {
		if selected < 0 || selected >= len(filters) {
			return
		}
		i := selected
		u.editFilter(acct, filters[i], func(f account.Filter) {
			fs := append([]account.Filter(nil), filters...)
			fs[i] = f
			save(fs, nil)
		})
	})
	remove := widget.NewButtonWithIcon("Remove", theme.DeleteIcon(), func() {
		if selected < 0 || selected >= len(filters) {
			return
		}
		fs := append(append([]account.Filter(nil), filters[:selected]...), filters[selected+1:]...)
		selected = -1
		list.UnselectAll()
		save(fs, nil)
	})
	run := widget.NewButtonWithIcon("Run on the Inbox", theme.MediaPlayIcon(), func() {
		fs := filters
		u.bg(func() {
			s, err := u.store(acct)
			var res account.FilterResult
			if err == nil {
				var sums []storage.Summary
				if sums, err = s.Summaries(storage.Inbox); err == nil {
					res, err = account.ApplyFilters(s, storage.Inbox, summaryKeys(sums), fs)
				}
			}
			u.do(func() {
				if err != nil {
					status.SetText("Could not run the filters: " + err.Error())
					return
				}
				status.SetText(filterResultText(res))
				if u.acct == acct {
					u.loadFolder(u.acct, u.folder)
				}
				u.refreshFolders()
			})
		})
	})
	content := container.NewBorder(nil, container.NewVBox(status, container.NewHBox(add, edit, remove, layout.NewSpacer(), run)), nil, nil, list)
	d = dialog.NewCustom("Filters — "+acct, "Close", content, u.win)
	d.Resize(fyne.NewSize(620, 420))
	u.showDialog(d)
}

func summaryKeys(sums []storage.Summary) []string {
	keys := make([]string, len(sums))
	for i, m := range sums {
		keys[i] = m.Key
	}
	return keys
}

// filterSummary is one line describing a rule: "Lists: to/cc contains lists.example.org → move Lists".
func filterSummary(f account.Filter) string {
	var conds, acts []string
	for _, c := range f.Conditions {
		conds = append(conds, c.Field+" "+c.Op+" "+c.Value)
	}
	for _, a := range f.Actions {
		acts = append(acts, strings.TrimSpace(a.Action+" "+a.Folder))
	}
	join := " and "
	if f.Match == "any" {
		join = " or "
	}
	return fmt.Sprintf("%s: %s → %s", f.Name, strings.Join(conds, join), strings.Join(acts, ", "))
}

// filterResultText says what running filters did.
func filterResultText(r account.FilterResult) string {
	if r.Matched == 0 {
		return "No filter matched a message in the Inbox."
	}
	parts := []string{fmt.Sprintf("%s matched", countText(r.Matched))}
	for folder, n := range r.Moved {
		parts = append(parts, fmt.Sprintf("%s moved to %s", countText(n), folder))
	}
	if r.MarkedRead > 0 {
		parts = append(parts, fmt.Sprintf("%s marked read", countText(r.MarkedRead)))
	}
	if r.Flagged > 0 {
		parts = append(parts, fmt.Sprintf("%s flagged", countText(r.Flagged)))
	}
	return strings.Join(parts, "; ") + "."
}

// filterEditor is the rule editor's widgets.
type filterEditor struct {
	name       *keyEntry
	any        *widget.Check
	conds      *fyne.Container
	acts       *fyne.Container
	condRows   []*condRow
	actRows    []*actRow
	testResult *widget.Label
}

type condRow struct {
	field, op *widget.Select
	value     *keyEntry
}

type actRow struct {
	action *widget.Select
	folder *keyEntry
}

// filter reads the editor into a rule.
func (e *filterEditor) filter() account.Filter {
	f := account.Filter{Name: strings.TrimSpace(e.name.Text), Match: "all"}
	if e.any.Checked {
		f.Match = "any"
	}
	for _, r := range e.condRows {
		f.Conditions = append(f.Conditions, account.Condition{Field: r.field.Selected, Op: r.op.Selected, Value: r.value.Text})
	}
	for _, r := range e.actRows {
		f.Actions = append(f.Actions, account.Action{Action: r.action.Selected, Folder: strings.TrimSpace(r.folder.Text)})
	}
	return f
}

func (e *filterEditor) addCondition(c account.Condition) {
	r := &condRow{field: widget.NewSelect(filterFieldChoices, nil), op: widget.NewSelect(filterOpChoices, nil), value: newKeyEntry()}
	r.field.SetSelected(firstNonEmpty(c.Field, "from"))
	r.op.SetSelected(firstNonEmpty(c.Op, "contains"))
	r.value.SetText(c.Value)
	e.condRows = append(e.condRows, r)
	e.conds.Add(container.NewBorder(nil, nil, container.NewHBox(r.field, r.op), nil, r.value))
}

func (e *filterEditor) addAction(a account.Action) {
	r := &actRow{action: widget.NewSelect(filterActionChoices, nil), folder: newKeyEntry()}
	r.folder.SetPlaceHolder("folder (for move)")
	r.action.SetSelected(firstNonEmpty(a.Action, "move"))
	r.folder.SetText(a.Folder)
	e.actRows = append(e.actRows, r)
	e.acts.Add(container.NewBorder(nil, nil, r.action, nil, r.folder))
}

// editFilter opens the rule editor; Save validates the rule and hands it to save.
func (u *UI) editFilter(acct string, f account.Filter, save func(account.Filter)) *filterEditor {
	e := &filterEditor{name: newKeyEntry(), any: widget.NewCheck("Match any condition (else all)", nil),
		conds: container.NewVBox(), acts: container.NewVBox(), testResult: widget.NewLabel("")}
	e.name.SetText(f.Name)
	e.name.onEscape = u.closeTopDialog
	e.any.SetChecked(f.Match == "any")
	e.testResult.Wrapping = fyne.TextWrapWord
	for _, c := range f.Conditions {
		e.addCondition(c)
	}
	if len(f.Conditions) == 0 {
		e.addCondition(account.Condition{})
	}
	for _, a := range f.Actions {
		e.addAction(a)
	}
	if len(f.Actions) == 0 {
		e.addAction(account.Action{})
	}
	validate := func() (account.Filter, error) {
		nf := e.filter()
		return nf, account.ValidateFilters(acct, []account.Filter{nf})
	}
	test := widget.NewButtonWithIcon("Test", theme.SearchIcon(), func() {
		nf, err := validate()
		if err != nil {
			e.testResult.SetText(err.Error())
			return
		}
		e.testResult.SetText("Testing on the Inbox…")
		u.bg(func() {
			s, err := u.store(acct)
			n := 0
			if err == nil {
				var sums []storage.Summary
				if sums, err = s.Summaries(storage.Inbox); err == nil {
					var plans []account.FilterPlan
					plans, err = account.PlanFilters(s, storage.Inbox, summaryKeys(sums), []account.Filter{nf})
					n = len(plans)
				}
			}
			u.do(func() {
				if err != nil {
					e.testResult.SetText("Could not test: " + err.Error())
					return
				}
				e.testResult.SetText(fmt.Sprintf("Would match %s in the Inbox.", countText(n)))
			})
		})
	})
	var d dialog.Dialog
	saveBtn := widget.NewButtonWithIcon("Save", theme.DocumentSaveIcon(), func() {
		nf, err := validate()
		if err != nil {
			e.testResult.SetText("Cannot save: " + err.Error())
			return
		}
		d.Hide()
		save(nf)
	})
	saveBtn.Importance = widget.HighImportance
	cancel := widget.NewButton("Cancel", func() { d.Hide() })
	form := container.NewVBox(
		widget.NewForm(widget.NewFormItem("Name", e.name)), e.any,
		widget.NewLabelWithStyle("When", fyne.TextAlignLeading, fyne.TextStyle{Bold: true}), e.conds,
		widget.NewButtonWithIcon("Add condition", theme.ContentAddIcon(), func() { e.addCondition(account.Condition{}) }),
		widget.NewLabelWithStyle("Then", fyne.TextAlignLeading, fyne.TextStyle{Bold: true}), e.acts,
		widget.NewButtonWithIcon("Add action", theme.ContentAddIcon(), func() { e.addAction(account.Action{}) }),
	)
	content := container.NewBorder(nil, container.NewVBox(e.testResult, container.NewHBox(test, layout.NewSpacer(), cancel, saveBtn)), nil, nil,
		container.NewVScroll(form))
	d = dialog.NewCustomWithoutButtons("Filter", content, u.win)
	d.Resize(fyne.NewSize(600, 520))
	u.showDialog(d)
	u.win.Canvas().Focus(e.name)
	return e
}
