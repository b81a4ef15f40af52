package gui

import (
	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/widget"

	"github.com/poplar-mail/poplar/storage"
)

// messageList is the message list: a virtual list of messageRows over a listModel, with its own
// multi-selection (click, Ctrl+click, Shift+click, Shift+arrows, Ctrl+A) and keyboard. It takes
// the keyboard focus when clicked, so the keys keep working after a click; keys it does not use
// itself go to onKey (Delete, Enter, u, s...).
type messageList struct {
	widget.BaseWidget
	model listModel
	list  *widget.List
	shift bool // a Shift key is held (fyne.KeyEvent carries no modifiers)

	// onCursor is called when the cursor moves to another message (nil: none); the reader follows.
	onCursor func(*storage.Summary)
	// onKey gets the keys the list does not handle; it reports whether it used the key.
	onKey func(*fyne.KeyEvent) bool
	// onMenu opens the context menu for the selection at pos.
	onMenu func(pos fyne.Position)
	// onShortcut gets the shortcuts the list does not handle (the window's Ctrl+R, Ctrl+Z...).
	onShortcut func(fyne.Shortcut)
	shown      string // the cursor onCursor last reported
}

func newMessageList() *messageList {
	l := &messageList{}
	l.list = widget.NewList(l.model.len, func() fyne.CanvasObject { return newMessageRow() }, l.updateRow)
	l.ExtendBaseWidget(l)
	return l
}

func (l *messageList) updateRow(id widget.ListItemID, o fyne.CanvasObject) {
	r := o.(*messageRow)
	m := l.model.at(id)
	if m == nil {
		return
	}
	r.set(m, l.model.isSelected(m.Key), l.model.depthOf(id))
	r.onTap = func(mod fyne.KeyModifier) { l.tap(id, mod) }
	r.onSecondary = func(pos fyne.Position) {
		if !l.model.isSelected(m.Key) {
			l.tap(id, 0)
		}
		if l.onMenu != nil {
			l.onMenu(pos)
		}
	}
}

// CreateRenderer shows the inner list.
func (l *messageList) CreateRenderer() fyne.WidgetRenderer { return widget.NewSimpleRenderer(l.list) }

// tap applies a click with its modifiers and takes the keyboard focus.
func (l *messageList) tap(row int, mod fyne.KeyModifier) {
	if c := fyne.CurrentApp().Driver().CanvasForObject(l); c != nil {
		c.Focus(l)
	}
	switch {
	case mod&fyne.KeyModifierShift != 0:
		l.model.extend(row)
	case mod&(fyne.KeyModifierControl|fyne.KeyModifierSuper) != 0:
		l.model.toggle(row)
	default:
		l.model.selectOnly(row)
	}
	l.changed()
}

// changed redraws the rows and tells onCursor when the cursor moved.
func (l *messageList) changed() {
	l.list.Refresh()
	if l.model.cursor == l.shown {
		return
	}
	l.shown = l.model.cursor
	if l.onCursor != nil {
		l.onCursor(l.model.get(l.model.cursor))
	}
}

// move moves the cursor d rows (extending the selection with Shift) and scrolls to it.
func (l *messageList) move(d int) {
	n := l.model.len()
	if n == 0 {
		return
	}
	r := l.model.row(l.model.cursor)
	if r < 0 {
		r = 0
	} else {
		r = min(max(r+d, 0), n-1)
	}
	if l.shift {
		l.model.extend(r)
	} else {
		l.model.selectOnly(r)
	}
	l.list.ScrollTo(r)
	l.changed()
}

// selectKey makes key the selection and the cursor (when it is shown) and scrolls to it.
func (l *messageList) selectKey(key string) {
	r := l.model.row(key)
	if r < 0 {
		l.model.clearSelection()
	} else {
		l.model.selectOnly(r)
		l.list.ScrollTo(r)
	}
	l.changed()
}

// selectAll selects every message shown.
func (l *messageList) selectAll() {
	l.model.selectAll()
	l.changed()
}

// FocusGained is part of fyne.Focusable.
func (l *messageList) FocusGained() {}

// FocusLost forgets a held Shift (its release may go elsewhere).
func (l *messageList) FocusLost() { l.shift = false }

// TypedRune is part of fyne.Focusable; letters arrive as keys too.
func (l *messageList) TypedRune(rune) {}

// TypedKey moves through the list; other keys go to onKey.
func (l *messageList) TypedKey(e *fyne.KeyEvent) {
	switch e.Name {
	case fyne.KeyDown, fyne.KeyJ:
		l.move(1)
	case fyne.KeyUp, fyne.KeyK:
		l.move(-1)
	case fyne.KeyPageDown:
		l.move(l.pageRows())
	case fyne.KeyPageUp:
		l.move(-l.pageRows())
	case fyne.KeyHome:
		l.move(-l.model.len())
	case fyne.KeyEnd:
		l.move(l.model.len())
	default:
		if l.onKey != nil {
			l.onKey(e)
		}
	}
}

// pageRows is how many rows one page of the list shows.
func (l *messageList) pageRows() int {
	h := newMessageRow().MinSize().Height
	return max(int(l.Size().Height/h)-1, 1)
}

// KeyDown tracks Shift for Shift+arrows.
func (l *messageList) KeyDown(e *fyne.KeyEvent) {
	if e.Name == desktop.KeyShiftLeft || e.Name == desktop.KeyShiftRight {
		l.shift = true
	}
}

// KeyUp tracks Shift for Shift+arrows.
func (l *messageList) KeyUp(e *fyne.KeyEvent) {
	if e.Name == desktop.KeyShiftLeft || e.Name == desktop.KeyShiftRight {
		l.shift = false
	}
}

// TypedShortcut selects all on Ctrl+A and passes the others on.
func (l *messageList) TypedShortcut(s fyne.Shortcut) {
	if _, ok := s.(*fyne.ShortcutSelectAll); ok {
		l.selectAll()
		return
	}
	if l.onShortcut != nil {
		l.onShortcut(s)
	}
}

// Mouse wheel and drags reach the inner list; these make the list a focus target on desktop.
var (
	_ fyne.Focusable         = (*messageList)(nil)
	_ desktop.Keyable        = (*messageList)(nil)
	_ fyne.Shortcutable      = (*messageList)(nil)
	_ desktop.Mouseable      = (*messageRow)(nil)
	_ fyne.Tappable          = (*messageRow)(nil)
	_ fyne.SecondaryTappable = (*messageRow)(nil)
)
