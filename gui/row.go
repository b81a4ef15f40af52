package gui

import (
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/poplar-mail/poplar/account"
	"github.com/poplar-mail/poplar/storage"
)

// messageRow is one row of the message list: markers, sender and date; subject and size; the
// preview line. Its columns have fixed widths, so the sender lines up whatever the markers. It
// reports taps with their modifier keys to the list (Shift/Ctrl click) and draws its own
// selection, so many rows can be selected at once.
type messageRow struct {
	widget.BaseWidget
	onTap       func(mod fyne.KeyModifier)
	onSecondary func(pos fyne.Position)

	mod                                       fyne.KeyModifier // of the last mouse press
	bg                                        *canvas.Rectangle
	marks, from, date, subject, size, preview *widget.Label
	selected                                  bool
}

func newMessageRow() *messageRow {
	r := &messageRow{bg: canvas.NewRectangle(theme.Color(theme.ColorNameSelection))}
	label := func(s string) *widget.Label {
		l := widget.NewLabel(s)
		l.Truncation = fyne.TextTruncateEllipsis
		return l
	}
	r.marks, r.from, r.date = widget.NewLabel(""), label("Sender name here"), widget.NewLabel("2006-01-02")
	r.subject, r.size, r.preview = label("Subject"), widget.NewLabel("999.9 MB"), label("Preview")
	r.date.Alignment, r.size.Alignment = fyne.TextAlignTrailing, fyne.TextAlignTrailing
	r.preview.Importance = widget.LowImportance
	r.preview.SizeName = theme.SizeNameCaptionText
	r.bg.CornerRadius = theme.SelectionRadiusSize()
	r.bg.Hide()
	r.ExtendBaseWidget(r)
	return r
}

// set shows a message summary; selected draws the selection behind it; depth indents a reply in a
// conversation.
func (r *messageRow) set(m *storage.Summary, selected bool, depth int) {
	bold := fyne.TextStyle{Bold: m.Unread()}
	r.from.TextStyle, r.subject.TextStyle = bold, bold
	r.from.SetText(firstNonEmpty(m.From, "(no sender)"))
	subject := firstNonEmpty(m.Subject, "(no subject)")
	if depth > 0 {
		subject = strings.Repeat("  ", min(depth, 6)-1) + "› " + subject
	}
	r.subject.SetText(subject)
	r.preview.SetText(m.Preview)
	r.marks.SetText(rowMarks(m))
	r.date.SetText(listDate(m.Date, time.Now()))
	r.size.SetText(account.FormatSize(shownSize(m)))
	if selected != r.selected {
		r.selected = selected
		// The faint preview colour is unreadable on the selection colour.
		r.preview.Importance = map[bool]widget.Importance{true: widget.MediumImportance, false: widget.LowImportance}[selected]
		r.preview.Refresh()
		if selected {
			r.bg.FillColor = theme.Color(theme.ColorNameSelection)
			r.bg.Show()
		} else {
			r.bg.Hide()
		}
		r.bg.Refresh()
	}
}

// rowMarks are the markers before the sender: unread, flagged, answered (↩) or forwarded (→),
// attachment, header only.
func rowMarks(m *storage.Summary) string {
	mk := ""
	if m.Unread() {
		mk += "●"
	}
	if m.Flags&storage.FlagFlagged != 0 {
		mk += "★"
	}
	switch {
	case m.Flags&storage.FlagAnswered != 0:
		mk += "↩"
	case m.Flags&storage.FlagPassed != 0:
		mk += "→"
	}
	if m.HasAttachments {
		mk += "📎"
	}
	if m.Partial {
		mk += "⤓"
	}
	return mk
}

// listDate shows today's messages by time, others by date.
func listDate(d, now time.Time) string {
	if d.IsZero() {
		return "—"
	}
	t := d.Local()
	if y, mo, dd := now.Local().Date(); t.Year() == y && t.Month() == mo && t.Day() == dd {
		return t.Format("15:04")
	}
	return t.Format("2006-01-02")
}

// MouseDown records the modifier keys of a click (Tapped does not carry them).
func (r *messageRow) MouseDown(e *desktop.MouseEvent) { r.mod = e.Modifier }

// MouseUp is part of desktop.Mouseable.
func (r *messageRow) MouseUp(*desktop.MouseEvent) {}

// Tapped selects the row (with the modifiers of the press).
func (r *messageRow) Tapped(*fyne.PointEvent) {
	if r.onTap != nil {
		r.onTap(r.mod)
	}
	r.mod = 0
}

// TappedSecondary opens the row's menu.
func (r *messageRow) TappedSecondary(e *fyne.PointEvent) {
	if r.onSecondary != nil {
		r.onSecondary(e.AbsolutePosition)
	}
}

// CreateRenderer lays the row out in fixed columns.
func (r *messageRow) CreateRenderer() fyne.WidgetRenderer {
	return &rowRenderer{r: r, objects: []fyne.CanvasObject{r.bg, r.marks, r.from, r.date, r.subject, r.size, r.preview}}
}

type rowRenderer struct {
	r       *messageRow
	objects []fyne.CanvasObject
}

// Column widths from sample text: four markers fit in three text heights (the emoji font's
// metrics would make the column twice as wide as the markers need).
func (rr *rowRenderer) columns() (marks, date, size float32) {
	d := fyne.MeasureText("2026-12-31", theme.TextSize(), fyne.TextStyle{})
	s := fyne.MeasureText("999.9 KB", theme.TextSize(), fyne.TextStyle{})
	pad := theme.InnerPadding() * 2
	return theme.TextSize()*3 + pad, d.Width + pad, s.Width + pad
}

// lineHeight is a label's height without the padding between lines of one row.
func lineHeight(l *widget.Label) float32 { return l.MinSize().Height - theme.Padding()*2 }

func (rr *rowRenderer) Layout(size fyne.Size) {
	r := rr.r
	r.bg.Resize(size)
	mw, dw, sw := rr.columns()
	p := theme.Padding()
	h1, h2, h3 := lineHeight(r.from), lineHeight(r.subject), lineHeight(r.preview)
	place := func(o fyne.CanvasObject, x, y, w, h float32) {
		o.Move(fyne.NewPos(x, y-p))
		o.Resize(fyne.NewSize(max(w, 0), h+2*p))
	}
	place(r.marks, 0, 0, mw, h1)
	place(r.from, mw, 0, size.Width-mw-dw, h1)
	place(r.date, size.Width-dw, 0, dw, h1)
	place(r.subject, mw, h1, size.Width-mw-sw, h2)
	place(r.size, size.Width-sw, h1, sw, h2)
	place(r.preview, mw, h1+h2, size.Width-mw, h3)
}

func (rr *rowRenderer) MinSize() fyne.Size {
	r := rr.r
	mw, dw, _ := rr.columns()
	return fyne.NewSize(mw+dw+r.from.MinSize().Width, lineHeight(r.from)+lineHeight(r.subject)+lineHeight(r.preview)+theme.Padding())
}

func (rr *rowRenderer) Refresh() {
	for _, o := range rr.objects {
		o.Refresh()
	}
}

func (rr *rowRenderer) Objects() []fyne.CanvasObject { return rr.objects }
func (rr *rowRenderer) Destroy()                     {}
