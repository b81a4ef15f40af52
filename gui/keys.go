package gui

import (
	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"
)

// Keyboard. The message list keeps the focus after a click and handles the keys of a mail list
// itself (see messageList); the keys below work from the list and, when nothing has the focus,
// from the window:
//
//	j/k, ↑/↓         next/previous message (Shift extends the selection)
//	Delete           move the selection to the Trash (for good inside the Trash, after asking)
//	Enter            open the message in its own window
//	u                mark read/unread          s   flag/unflag
//	r, a, f          reply, reply all, forward Ctrl+N  new message
//	F5, Ctrl+R       get mail                  Ctrl+F  search (Esc leaves it, ↓ goes to the list)
//	Ctrl+A           select all                Ctrl+Z  undo the last delete or move
//	Ctrl+U           mark read/unread          Ctrl+O  open a .eml file
//	Ctrl+S           save the message as .eml  Ctrl+,  settings
//	Ctrl+Q           quit                      Esc     close the open dialog
func (u *UI) shortcuts() {
	c := u.win.Canvas()
	add := func(s fyne.Shortcut, f func()) {
		h := func(fyne.Shortcut) { f() }
		c.AddShortcut(s, h)
		u.shortcutKeys.AddShortcut(s, h)
	}
	ctrl := func(k fyne.KeyName, f func()) {
		add(&desktop.CustomShortcut{KeyName: k, Modifier: fyne.KeyModifierShortcutDefault}, f)
	}
	ctrl(fyne.KeyF, func() { c.Focus(u.search) })
	ctrl(fyne.KeyR, u.getMail)
	ctrl(fyne.KeyComma, u.showSettings)
	ctrl(fyne.KeyQ, u.quit)
	ctrl(fyne.KeyU, u.toggleRead)
	ctrl(fyne.KeyO, u.openFileDialog)
	ctrl(fyne.KeyS, u.saveMessageDialog)
	ctrl(fyne.KeyN, u.newMessage)
	add(&fyne.ShortcutUndo{}, u.undoLast)
	add(&fyne.ShortcutSelectAll{}, u.list.selectAll)
	c.SetOnTypedKey(func(e *fyne.KeyEvent) {
		switch e.Name {
		case fyne.KeyDown, fyne.KeyUp, fyne.KeyJ, fyne.KeyK, fyne.KeyPageDown, fyne.KeyPageUp, fyne.KeyHome, fyne.KeyEnd:
			if u.topDialog() == nil {
				c.Focus(u.list)
				u.list.TypedKey(e)
			}
		default:
			u.typedKey(e)
		}
	})
}

// typedKey handles the window's keys that are not movement; it reports whether it used the key.
func (u *UI) typedKey(e *fyne.KeyEvent) bool {
	if e.Name == fyne.KeyEscape {
		if d := u.topDialog(); d != nil {
			d.Hide()
			return true
		}
		if u.search.Text != "" { // "Esc returns to the folder" from the list or reader too
			u.search.onEscape()
			return true
		}
		return false
	}
	if u.topDialog() != nil {
		return false
	}
	switch e.Name {
	case fyne.KeyDelete:
		u.deleteSelected()
	case fyne.KeyReturn, fyne.KeyEnter:
		u.openMessageWindow()
	case fyne.KeyF5:
		u.getMail()
	case fyne.KeyU:
		u.toggleRead()
	case fyne.KeyS:
		u.toggleFlag()
	case fyne.KeyR:
		u.replyTo(false)
	case fyne.KeyA:
		u.replyTo(true)
	case fyne.KeyF:
		u.forward()
	default:
		return false
	}
	return true
}

// quit ends Poplar (Ctrl+Q, the tray's Quit), even when it would stay in the tray: Run's onQuit
// stops the checks and writes the indexes first.
func (u *UI) quit() {
	if u.onQuit != nil {
		u.onQuit()
		return
	}
	u.app.Quit()
}

// dialogCloser is an open dialog Esc can close.
type dialogCloser interface{ Hide() }

// showDialog shows d and lets Esc close it.
func (u *UI) showDialog(d dialog.Dialog) {
	u.dialogs = append(u.dialogs, d)
	d.SetOnClosed(func() {
		for i, x := range u.dialogs {
			if x == d {
				u.dialogs = append(u.dialogs[:i], u.dialogs[i+1:]...)
				break
			}
		}
	})
	d.Show()
}

// topDialog is the dialog opened last that is still open, or nil.
func (u *UI) topDialog() dialogCloser {
	if len(u.dialogs) == 0 {
		return nil
	}
	return u.dialogs[len(u.dialogs)-1]
}

// closeTopDialog closes the dialog opened last (Esc in one of its fields).
func (u *UI) closeTopDialog() {
	if d := u.topDialog(); d != nil {
		d.Hide()
	}
}

// keyEntry is an Entry that lets Esc, ↓ and the window's shortcuts out: Esc leaves the search box
// or closes the dialog the field is in, ↓ goes from the search box to the list, and Ctrl+R or
// Ctrl+Q work while typing.
type keyEntry struct {
	widget.Entry
	onEscape   func()
	onDown     func()
	onShortcut func(fyne.Shortcut)
}

func newKeyEntry() *keyEntry {
	e := &keyEntry{}
	e.ExtendBaseWidget(e)
	return e
}

// newSearchEntry is the list's search box.
func newSearchEntry() *searchEntry { return newKeyEntry() }

// searchEntry is the search box: a keyEntry.
type searchEntry = keyEntry

// newPasswordEntry is a keyEntry that hides what is typed, with a button that shows it.
func newPasswordEntry() *keyEntry {
	e := newKeyEntry()
	e.Password = true
	var reveal *widget.Button
	reveal = widget.NewButtonWithIcon("", theme.VisibilityOffIcon(), func() {
		e.Password = !e.Password
		if e.Password {
			reveal.SetIcon(theme.VisibilityOffIcon())
		} else {
			reveal.SetIcon(theme.VisibilityIcon())
		}
		e.Refresh()
	})
	reveal.Importance = widget.LowImportance
	e.ActionItem = reveal
	return e
}

// TypedKey handles Esc and ↓, then types.
func (e *keyEntry) TypedKey(k *fyne.KeyEvent) {
	switch {
	case k.Name == fyne.KeyEscape && e.onEscape != nil:
		e.onEscape()
	case k.Name == fyne.KeyDown && e.onDown != nil && !e.MultiLine:
		e.onDown()
	default:
		e.Entry.TypedKey(k)
	}
}

// TypedShortcut lets the window's own shortcuts (Ctrl+R, Ctrl+Q...) work while typing.
func (e *keyEntry) TypedShortcut(s fyne.Shortcut) {
	if _, ok := s.(*desktop.CustomShortcut); ok && e.onShortcut != nil {
		e.onShortcut(s)
		return
	}
	e.Entry.TypedShortcut(s)
}
