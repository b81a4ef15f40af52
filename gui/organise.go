package gui

import (
	"errors"
	"fmt"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/poplar-mail/poplar/storage"
)

// Organising mail: delete, move, flags, undo, and the folders themselves. Each action changes the
// list model at once (the next message is selected after a delete), does the file work in the
// background and puts the model back if the store refused.

// undoAction is the last delete or move: each group of messages went from one folder to another
// with the same keys, so moving them back undoes it.
type undoAction struct {
	acct  string
	moves []folderMove
	what  string // "Moved 3 messages to the Trash"
}

// folderMove is messages moved from one folder to another.
type folderMove struct {
	from, to string
	keys     []string
}

// selection returns the open account, folder and the selected keys in row order.
func (u *UI) selection() (acct, folder string, keys []string) {
	return u.acct, u.folder, u.list.model.selected()
}

// byFolder groups keys by the folder each message is in (search results span folders), in the
// order of their first key.
func (u *UI) byFolder(keys []string) []folderMove {
	var out []folderMove
	at := map[string]int{}
	for _, k := range keys {
		f := u.folder
		if m := u.list.model.get(k); m != nil && m.Folder != "" {
			f = m.Folder
		}
		i, ok := at[f]
		if !ok {
			i = len(out)
			at[f] = i
			out = append(out, folderMove{from: f})
		}
		out[i].keys = append(out[i].keys, k)
	}
	return out
}

// deleteSelected moves the selection to the Trash; what is in the Trash already it deletes for
// good, after asking.
func (u *UI) deleteSelected() {
	acct, _, keys := u.selection()
	if len(keys) == 0 {
		return
	}
	var inTrash []string
	for _, g := range u.byFolder(keys) {
		if g.from == storage.Trash {
			inTrash = g.keys
		}
	}
	if len(inTrash) == 0 {
		u.moveSelected(storage.Trash)
		return
	}
	u.confirm("Delete for good?", fmt.Sprintf("Delete %s from this computer for good? This cannot be undone.", countText(len(inTrash))), func() {
		if len(inTrash) < len(keys) {
			u.moveSelected(storage.Trash) // the others go to the Trash first
		}
		u.removeFromList(inTrash)
		u.storeAction(acct, func(s *storage.Store) error { return s.Expunge(storage.Trash, inTrash) },
			"Deleted "+countText(len(inTrash))+" for good", nil)
	})
}

// moveSelected moves the selection to another folder of the account (Delete is a move to Trash).
func (u *UI) moveSelected(to string) {
	acct, _, keys := u.selection()
	var moves []folderMove
	n := 0
	for _, g := range u.byFolder(keys) {
		if g.from != to {
			g.to = to
			moves = append(moves, g)
			n += len(g.keys)
		}
	}
	if n == 0 {
		return
	}
	var moved []string
	for _, m := range moves {
		moved = append(moved, m.keys...)
	}
	u.removeFromList(moved)
	verb := "Moved " + countText(n) + " to " + to
	if to == storage.Trash {
		verb = "Moved " + countText(n) + " to the Trash"
	}
	act := &undoAction{acct: acct, moves: moves, what: verb}
	u.storeAction(acct, func(s *storage.Store) error {
		for _, m := range moves {
			if err := s.Move(m.from, m.to, m.keys); err != nil {
				return err
			}
		}
		return nil
	}, verb+" — Ctrl+Z undoes it", act)
}

// removeFromList takes messages out of the list and moves the cursor to the next message (the
// one below, else the one above), as mail readers do.
func (u *UI) removeFromList(keys []string) {
	next := u.list.model.remove(keys)
	u.list.selectKey(next)
}

// storeAction runs a store change in the background; on success it shows done and remembers undo,
// on failure it reloads the folder so the list shows the truth.
func (u *UI) storeAction(acct string, change func(*storage.Store) error, done string, undo *undoAction) {
	u.bg(func() {
		s, err := u.store(acct)
		if err == nil {
			err = change(s)
		}
		u.do(func() {
			if err != nil {
				u.setStatus(fmt.Sprintf("Could not do it: %v", err))
				if u.acct == acct {
					u.reloadList()
				}
			} else {
				u.setStatus(done)
				if undo != nil {
					u.undo = undo
				}
			}
			u.refreshFolders()
		})
	})
}

// undoLast moves the messages of the last delete or move back where they were.
func (u *UI) undoLast() {
	a := u.undo
	if a == nil {
		u.setStatus("Nothing to undo")
		return
	}
	u.undo = nil
	u.bg(func() {
		s, err := u.store(a.acct)
		for i := len(a.moves) - 1; i >= 0 && err == nil; i-- {
			err = s.Move(a.moves[i].to, a.moves[i].from, a.moves[i].keys)
		}
		u.do(func() {
			if err != nil {
				u.setStatus(fmt.Sprintf("Could not undo: %v", err))
			} else {
				u.setStatus("Undone: " + a.what)
			}
			if u.acct == a.acct {
				for _, m := range a.moves {
					if u.folder == m.from && len(m.keys) > 0 {
						u.restoring = m.keys[0]
					}
				}
				u.reloadList()
			}
			u.refreshFolders()
		})
	})
}

// setFlags adds and removes flags on messages of the open folder, in the list at once.
func (u *UI) setFlags(keys []string, add, remove storage.Flags) {
	acct := u.acct
	for _, k := range keys {
		if m := u.list.model.get(k); m != nil {
			u.list.model.setFlags(k, (m.Flags|add)&^remove)
		}
	}
	u.list.list.Refresh()
	groups := u.byFolder(keys)
	u.storeAction(acct, func(s *storage.Store) error {
		for _, g := range groups {
			if err := s.SetFlags(g.from, g.keys, add, remove); err != nil {
				return err
			}
		}
		return nil
	}, "", nil)
}

// toggleRead marks the selection unread when its first message is read, else read.
func (u *UI) toggleRead() {
	_, _, keys := u.selection()
	if len(keys) == 0 {
		return
	}
	if u.list.model.get(keys[0]).Unread() {
		u.setFlags(keys, storage.FlagSeen, 0)
		u.setStatus("Marked " + countText(len(keys)) + " read")
	} else {
		u.setFlags(keys, 0, storage.FlagSeen)
		u.setStatus("Marked " + countText(len(keys)) + " unread")
	}
}

// toggleFlag flags the selection unless its first message is flagged, else unflags.
func (u *UI) toggleFlag() {
	_, _, keys := u.selection()
	if len(keys) == 0 {
		return
	}
	if u.list.model.get(keys[0]).Flags&storage.FlagFlagged == 0 {
		u.setFlags(keys, storage.FlagFlagged, 0)
	} else {
		u.setFlags(keys, 0, storage.FlagFlagged)
	}
}

func countText(n int) string {
	if n == 1 {
		return "1 message"
	}
	return fmt.Sprintf("%d messages", n)
}

// messageMenu is the selection's context menu.
func (u *UI) messageMenu(pos fyne.Position) {
	items := []*fyne.MenuItem{
		fyne.NewMenuItem("Open in a window", u.openMessageWindow),
		fyne.NewMenuItem("Reply (r)", func() { u.replyTo(false) }),
		fyne.NewMenuItem("Reply all (a)", func() { u.replyTo(true) }),
		fyne.NewMenuItem("Forward (f)", u.forward),
		fyne.NewMenuItem("Forward as attachment", u.forwardAsAttachment),
		fyne.NewMenuItem("Mark read/unread", u.toggleRead),
		fyne.NewMenuItem("Flag/unflag", u.toggleFlag),
		fyne.NewMenuItem("Move to…", u.moveDialog),
		fyne.NewMenuItem("Save as .eml…", u.saveMessageDialog),
		fyne.NewMenuItemSeparator(),
		fyne.NewMenuItem("Delete", u.deleteSelected),
	}
	if u.folder == storage.Trash {
		items = append(items, fyne.NewMenuItem("Restore", u.restoreSelected))
	}
	widget.ShowPopUpMenuAtPosition(fyne.NewMenu("", items...), u.win.Canvas(), pos)
}

// restoreSelected puts messages in the Trash back where they were deleted from.
func (u *UI) restoreSelected() {
	acct, folder, keys := u.selection()
	if folder != storage.Trash || len(keys) == 0 {
		return
	}
	u.removeFromList(keys)
	u.storeAction(acct, func(s *storage.Store) error { return s.Restore(keys) }, "Restored "+countText(len(keys)), nil)
}

// moveDialog asks which folder to move the selection to.
func (u *UI) moveDialog() {
	acct, from, keys := u.selection()
	if len(keys) == 0 {
		return
	}
	var names []string
	for _, f := range u.tree.info[acct] {
		if f.Name != from {
			names = append(names, f.Name)
		}
	}
	sel := widget.NewSelect(names, nil)
	sel.PlaceHolder = "Choose a folder"
	d := dialog.NewForm("Move "+countText(len(keys)), "Move", "Cancel",
		[]*widget.FormItem{widget.NewFormItem("To folder", sel)}, func(ok bool) {
			if ok && sel.Selected != "" {
				u.moveSelected(sel.Selected)
			}
		}, u.win)
	u.showDialog(d)
}

// folderMenu is a folder's (or account's) context menu in the tree.
func (u *UI) folderMenu(acct, folder string, pos fyne.Position) {
	var items []*fyne.MenuItem
	items = append(items, fyne.NewMenuItem("New folder…", func() { u.folderNameDialog(acct, "", folder) }))
	if folder != "" {
		items = append(items, fyne.NewMenuItem("Mark folder read", func() { u.markFolderRead(acct, folder) }))
	}
	switch folder {
	case "":
		items = append(items, fyne.NewMenuItem("Get Mail", func() { u.runner.Check(acct) }))
		items = append(items, fyne.NewMenuItem("Filters…", func() { u.showFilters(acct) }))
		items = append(items, fyne.NewMenuItem("Edit account…", func() {
			if a, ok := u.findAccount(acct); ok {
				u.editAccount(&a)
			}
		}))
	case storage.Trash:
		items = append(items, fyne.NewMenuItem("Empty Trash…", func() { u.emptyTrash(acct) }))
	case storage.Inbox:
	default:
		items = append(items, fyne.NewMenuItem("Rename…", func() { u.folderNameDialog(acct, folder, "") }),
			fyne.NewMenuItem("Delete folder…", func() { u.deleteFolder(acct, folder) }))
	}
	widget.ShowPopUpMenuAtPosition(fyne.NewMenu("", items...), u.win.Canvas(), pos)
}

// folderNameDialog creates a folder (old == "", under parent when it is not the Inbox) or renames
// old.
func (u *UI) folderNameDialog(acct, old, parent string) {
	name := newKeyEntry()
	name.onEscape = u.closeTopDialog
	name.Validator = func(s string) error {
		if s == "" {
			return errors.New("a name is needed")
		}
		return storage.ValidFolderName(s)
	}
	title, verb := "New folder", "Create"
	if old != "" {
		title, verb = "Rename folder "+old, "Rename"
		name.SetText(old)
	} else if parent != "" && parent != storage.Inbox && parent != storage.Trash {
		name.SetText(parent + ".")
	}
	d := dialog.NewForm(title, verb, "Cancel", []*widget.FormItem{
		{Text: "Name", Widget: name, HintText: "A dot makes a subfolder: Work.Projects"}}, func(ok bool) {
		if !ok {
			return
		}
		n := name.Text
		u.bg(func() {
			s, err := u.store(acct)
			if err == nil {
				if old == "" {
					err = s.CreateFolder(n)
				} else {
					err = s.RenameFolder(old, n)
				}
			}
			u.do(func() {
				if err != nil {
					u.setStatus(fmt.Sprintf("Could not %s the folder: %v", map[bool]string{true: "create", false: "rename"}[old == ""], err))
					return
				}
				if old != "" && u.acct == acct && (u.folder == old || strings.HasPrefix(u.folder, old+".")) {
					renamed := n + strings.TrimPrefix(u.folder, old) // the open folder or one inside it
					u.acct, u.folder = "", ""
					u.openFolder(acct, renamed)
				}
				u.refreshFolders()
			})
		})
	}, u.win)
	u.showDialog(d)
	u.win.Canvas().Focus(name)
}

// deleteFolder asks, then moves the folder's mail to the Trash and removes it.
func (u *UI) deleteFolder(acct, folder string) {
	u.confirm("Delete folder "+folder+"?", "Its messages and subfolders' messages go to the Trash, where you can restore them.", func() {
		u.bg(func() {
			s, err := u.store(acct)
			n := 0
			if err == nil {
				n, err = s.DeleteFolder(folder)
			}
			u.do(func() {
				if err != nil {
					u.setStatus(fmt.Sprintf("Could not delete the folder %s: %v", folder, err))
				} else {
					u.setStatus(fmt.Sprintf("Deleted the folder %s; %s moved to the Trash", folder, countText(n)))
				}
				if u.acct == acct && u.folder == folder {
					u.tree.tree.Select(nodeID(acct, storage.Inbox))
				}
				u.refreshFolders()
			})
		})
	})
}

// emptyTrash asks, then deletes every message in the Trash for good.
func (u *UI) emptyTrash(acct string) {
	u.confirm("Empty the Trash?", "Every message in the Trash of "+acct+" is deleted from this computer for good.", func() {
		u.storeAction(acct, func(s *storage.Store) error { return s.EmptyTrash() }, "Emptied the Trash of "+acct, nil)
		if u.acct == acct && u.folder == storage.Trash {
			u.list.model.set(nil)
			u.list.selectKey("")
		}
	})
}

// markFolderRead marks every message of a folder read.
func (u *UI) markFolderRead(acct, folder string) {
	if u.acct == acct && u.folder == folder {
		m := &u.list.model
		for _, i := range m.order {
			if f := m.flags(i); f&storage.FlagSeen == 0 {
				m.setFlagsAt(i, f|storage.FlagSeen)
			}
		}
		u.list.list.Refresh()
	}
	u.storeAction(acct, func(s *storage.Store) error { _, err := s.MarkFolderRead(folder); return err }, "Marked "+folder+" read", nil)
}

// confirm asks a yes/no question (Esc says no).
func (u *UI) confirm(title, text string, yes func()) {
	d := dialog.NewConfirm(title, text, func(ok bool) {
		if ok {
			yes()
		}
	}, u.win)
	u.showDialog(d)
}

// prefThreads is the preference: group the list by conversation.
const prefThreads = "list.threads"

// Sorting: headings above the list; a click sorts by that column, a second click reverses. The
// order is remembered per folder.

func (u *UI) sortPref() string { return "sort." + u.acct + "/" + u.folder }

func (u *UI) showSortBar() {
	u.sortBar.RemoveAll()
	cur := u.list.model.sortBy
	cols := []struct {
		key   sortKey
		label string
	}{{byDate, "Date"}, {bySender, "Sender"}, {bySubject, "Subject"}, {bySize, "Size"}}
	conv := widget.NewCheck("Conversations", func(on bool) {
		u.app.Preferences().SetBool(prefThreads, on)
		u.list.model.setThreaded(on)
		u.showSortBar()
		u.list.list.Refresh()
	})
	conv.Checked = u.list.model.threaded
	u.sortBar.Add(conv)
	if u.list.model.threaded {
		u.sortBar.Refresh()
		return // a conversation list is in its own order
	}
	u.sortBar.Add(widget.NewLabel("Sort:"))
	for _, c := range cols {
		// The current column shows its direction with an icon: a ▲/▼ glyph made Fyne load a
		// fallback font (Noto Sans CJK Bold here, 4 MiB of heap) for two characters.
		var dir fyne.Resource
		if cur.key == c.key {
			dir = theme.MoveDownIcon()
			if cur.ascending {
				dir = theme.MoveUpIcon()
			}
		}
		b := widget.NewButtonWithIcon(c.label, dir, func() {
			o := sortOrder{key: c.key, ascending: c.key != byDate && c.key != bySize}
			if cur.key == c.key {
				o = sortOrder{key: c.key, ascending: !cur.ascending}
			}
			u.setSort(o)
		})
		b.IconPlacement = widget.ButtonIconTrailingText
		b.Importance = widget.LowImportance
		if cur.key == c.key {
			b.Importance = widget.MediumImportance
		}
		u.sortBar.Add(b)
	}
	u.sortBar.Refresh()
}

// setSort sorts the open folder and remembers the order for it.
func (u *UI) setSort(o sortOrder) {
	u.list.model.setSort(o)
	u.app.Preferences().SetString(u.sortPref(), o.String())
	u.showSortBar()
	if r := u.list.model.row(u.list.model.cursor); r >= 0 {
		u.list.list.ScrollTo(r)
	}
	u.list.list.Refresh()
}
