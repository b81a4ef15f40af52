package gui

import (
	"net/url"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/poplar-mail/poplar/storage/mailview"
)

// bodySegments turns the display model's blocks into RichText segments. It never parses mail
// text as Markdown and never creates an image segment with a URI: inline images are shown from
// the message's own parts (see the reader), and no remote resource can be reached from here.
func bodySegments(blocks []mailview.Block) []widget.RichTextSegment {
	var segs []widget.RichTextSegment
	for _, b := range blocks {
		switch b.Kind {
		case mailview.Rule:
			segs = append(segs, &widget.SeparatorSegment{})
			continue
		case mailview.Table:
			segs = append(segs, &tableSegment{rows: b.Rows})
			continue
		case mailview.Image:
			what := "shown below"
			if b.ImageStatus != mailview.ImageOK {
				what = b.ImageStatus.String()
			}
			segs = append(segs, &widget.TextSegment{Text: "[inline image: " + firstNonEmpty(b.Alt, b.ImageCID) + " — " + what + "]",
				Style: widget.RichTextStyle{TextStyle: fyne.TextStyle{Italic: true}, ColorName: "placeholder"}})
			continue
		}
		base := widget.RichTextStyleParagraph
		prefix := ""
		switch b.Kind {
		case mailview.Heading:
			base = widget.RichTextStyleSubHeading
			if b.Level <= 1 {
				base = widget.RichTextStyleHeading
			}
		case mailview.Quote:
			base = widget.RichTextStyleBlockquote
			base.QuotingDepth = max(b.Level, 1)
		case mailview.Preformatted:
			base = widget.RichTextStyleCodeBlock
		case mailview.ListItem:
			prefix = strings.Repeat("    ", max(b.Level-1, 0)) + "• "
		}
		start := len(segs)
		if prefix != "" {
			st := base
			st.Inline = true
			segs = append(segs, &widget.TextSegment{Text: prefix, Style: st})
		}
		segs = append(segs, spanSegments(b.Spans, base)...)
		if len(segs) == start {
			continue
		}
		// The last segment of a paragraph ends it.
		if t, ok := segs[len(segs)-1].(*widget.TextSegment); ok {
			t.Style.Inline = false
		} else {
			segs = append(segs, &widget.TextSegment{Style: widget.RichTextStyleParagraph})
		}
	}
	if len(segs) == 0 {
		segs = append(segs, &widget.TextSegment{Text: "(this message has no text)", Style: widget.RichTextStyle{TextStyle: fyne.TextStyle{Italic: true}}})
	}
	return segs
}

// spanSegments turns spans into inline segments in the style base. A link is followed by its
// target, so that a link cannot hide where it goes.
func spanSegments(spans []mailview.Span, base widget.RichTextStyle) []widget.RichTextSegment {
	var segs []widget.RichTextSegment
	for _, sp := range spans {
		st := base
		st.Inline = true
		st.TextStyle.Bold = st.TextStyle.Bold || sp.Bold
		st.TextStyle.Italic = st.TextStyle.Italic || sp.Italic
		st.TextStyle.Monospace = st.TextStyle.Monospace || sp.Mono
		if sp.Link != "" {
			if u, err := url.Parse(sp.Link); err == nil {
				segs = append(segs, &widget.HyperlinkSegment{Text: sp.Text, URL: u, TextStyle: st.TextStyle})
				if strings.TrimSpace(sp.Text) != sp.Link && strings.TrimPrefix(sp.Link, "mailto:") != strings.TrimSpace(sp.Text) {
					segs = append(segs, &widget.TextSegment{Text: " <" + sp.Link + ">", Style: widget.RichTextStyle{Inline: true, ColorName: "placeholder"}})
				}
				continue
			}
		}
		segs = append(segs, &widget.TextSegment{Text: sp.Text, Style: st})
	}
	return segs
}

// tableSegment shows a mailview.Table block in the body's RichText as a tableView.
type tableSegment struct {
	rows [][]mailview.Cell
}

// Inline returns false: a table is a block of its own.
func (s *tableSegment) Inline() bool { return false }

// Textual returns the table as text: a line per row, its cells separated by tabs, each cell as
// it is shown (a link followed by its target).
func (s *tableSegment) Textual() string {
	var b strings.Builder
	for i, r := range s.rows {
		if i > 0 {
			b.WriteString("\n")
		}
		for j, c := range r {
			if j > 0 {
				b.WriteString("\t")
			}
			for _, seg := range cellSegments(c) {
				b.WriteString(seg.Textual())
			}
		}
	}
	return b.String()
}

// Visual returns a new tableView of the rows.
func (s *tableSegment) Visual() fyne.CanvasObject { return newTableView(s) }

// Update shows the segment's rows in the tableView o, unless it shows them already.
func (s *tableSegment) Update(o fyne.CanvasObject) {
	if t, ok := o.(*tableView); ok && t.seg != s {
		t.set(s)
		t.Refresh()
	}
}

// Select does nothing: the cells are not selectable.
func (s *tableSegment) Select(_, _ fyne.Position) {}

// SelectedText returns "": the cells are not selectable.
func (s *tableSegment) SelectedText() string { return "" }

// Unselect does nothing: the cells are not selectable.
func (s *tableSegment) Unselect() {}

// cellSegments returns the segments of a cell: its spans, bold in a header cell.
func cellSegments(c mailview.Cell) []widget.RichTextSegment {
	base := widget.RichTextStyleInline
	base.TextStyle.Bold = c.Header
	return spanSegments(c.Spans, base)
}

// tableWidth is the most a table is laid out to: the width mail is written for. A table whose
// text is wider wraps the text of its widest columns. The width is fixed, not the width the
// reader gives the table, so that the table's height never depends on the window and the body
// lays it out in one pass.
const tableWidth = 600

// tableView draws a table: a grid of cells, each a word-wrapping RichText, each column as wide as
// its widest cell unless the table would be wider than tableWidth, with lines between the cells.
type tableView struct {
	widget.BaseWidget
	seg   *tableSegment
	cells [][]*widget.RichText // [row][column]
	// Measured by the renderer: the width of each column and the height of each row.
	colW, rowH []float32
}

func newTableView(s *tableSegment) *tableView {
	t := &tableView{}
	t.ExtendBaseWidget(t)
	t.set(s)
	return t
}

// set makes the table show the rows of s once refreshed.
func (t *tableView) set(s *tableSegment) {
	t.seg = s
	t.cells = make([][]*widget.RichText, len(s.rows))
	for i, r := range s.rows {
		t.cells[i] = make([]*widget.RichText, len(r))
		for j, c := range r {
			rt := widget.NewRichText(cellSegments(c)...)
			rt.Wrapping = fyne.TextWrapWord
			t.cells[i][j] = rt
		}
	}
}

// CreateRenderer returns the table's renderer.
func (t *tableView) CreateRenderer() fyne.WidgetRenderer {
	r := &tableRenderer{t: t}
	r.Refresh()
	return r
}

type tableRenderer struct {
	t       *tableView
	objects []fyne.CanvasObject
	lines   []*canvas.Rectangle // the horizontal lines, then the vertical ones
	min     fyne.Size
}

// measure sets the column widths and row heights: columns as wide as their widest cell, and when
// together wider than tableWidth the widest shrink to an equal share of what the others leave.
func (r *tableRenderer) measure() {
	t := r.t
	cols := 0
	if len(t.cells) > 0 {
		cols = len(t.cells[0])
	}
	natural := make([]float32, cols)
	for _, row := range t.cells {
		for j, c := range row {
			c.Wrapping = fyne.TextWrapOff
			c.Refresh()
			natural[j] = max(natural[j], c.MinSize().Width)
			c.Wrapping = fyne.TextWrapWord
		}
	}
	t.colW = fitColumns(natural, tableWidth)
	t.rowH = make([]float32, len(t.cells))
	for i, row := range t.cells {
		for j, c := range row {
			// Resizing a wrapping RichText wraps its text anew; at the same size, Refresh does.
			if size := fyne.NewSize(t.colW[j], c.Size().Height); size != c.Size() {
				c.Resize(size)
			} else {
				c.Refresh()
			}
			t.rowH[i] = max(t.rowH[i], c.MinSize().Height)
		}
	}
	var w, h float32
	for _, x := range t.colW {
		w += x + 1
	}
	for _, y := range t.rowH {
		h += y + 1
	}
	r.min = fyne.NewSize(w+1, h+1)
}

// fitColumns returns column widths of at most natural each, together at most width when they can
// be: the columns narrower than an equal share of what is left keep their width, the others
// share the rest equally.
func fitColumns(natural []float32, width float32) []float32 {
	out := append([]float32(nil), natural...)
	var sum float32
	for _, w := range natural {
		sum += w
	}
	if sum <= width {
		return out
	}
	wide := make([]bool, len(out))
	for i := range wide {
		wide[i] = true
	}
	left, n := width, len(out)
	for changed := true; changed && n > 0; {
		changed = false
		share := left / float32(n)
		for i, w := range natural {
			if wide[i] && w <= share {
				wide[i], changed = false, true
				left -= w
				n--
			}
		}
	}
	for i := range out {
		if wide[i] {
			out[i] = max(left/float32(n), 48)
		}
	}
	return out
}

func (r *tableRenderer) Layout(fyne.Size) {
	t := r.t
	y := float32(1)
	for i, row := range t.cells {
		x := float32(1)
		for j, c := range row {
			c.Move(fyne.NewPos(x, y))
			c.Resize(fyne.NewSize(t.colW[j], t.rowH[i]))
			x += t.colW[j] + 1
		}
		y += t.rowH[i] + 1
	}
	// Lines: one above each row and below the last, one left of each column and right of the last.
	k := 0
	y = 0
	for i := 0; i <= len(t.rowH); i++ {
		r.lines[k].Move(fyne.NewPos(0, y))
		r.lines[k].Resize(fyne.NewSize(r.min.Width, 1))
		k++
		if i < len(t.rowH) {
			y += t.rowH[i] + 1
		}
	}
	x := float32(0)
	for j := 0; j <= len(t.colW); j++ {
		r.lines[k].Move(fyne.NewPos(x, 0))
		r.lines[k].Resize(fyne.NewSize(1, r.min.Height))
		k++
		if j < len(t.colW) {
			x += t.colW[j] + 1
		}
	}
}

func (r *tableRenderer) MinSize() fyne.Size { return r.min }

// Refresh measures the cells again (their text or the theme may have changed) and lays them out.
func (r *tableRenderer) Refresh() {
	t := r.t
	r.measure()
	r.objects = r.objects[:0]
	r.lines = r.lines[:0]
	lineColor := theme.ColorForWidget(theme.ColorNameSeparator, t)
	for range len(t.rowH) + len(t.colW) + 2 {
		l := canvas.NewRectangle(lineColor)
		r.lines = append(r.lines, l)
		r.objects = append(r.objects, l)
	}
	for _, row := range t.cells {
		for _, c := range row {
			r.objects = append(r.objects, c)
		}
	}
	r.Layout(t.Size())
	canvas.Refresh(t)
}

func (r *tableRenderer) Objects() []fyne.CanvasObject { return r.objects }

func (r *tableRenderer) Destroy() {}

// highlightSegments marks the words (any case) in the text segments: each match becomes a bold
// segment in the primary colour. Other segments are left as they are.
func highlightSegments(segs []widget.RichTextSegment, words []string) []widget.RichTextSegment {
	if len(words) == 0 {
		return segs
	}
	var out []widget.RichTextSegment
	for _, sg := range segs {
		t, ok := sg.(*widget.TextSegment)
		if !ok {
			out = append(out, sg)
			continue
		}
		out = append(out, splitMatches(t, words)...)
	}
	return out
}

// splitMatches splits one text segment around the matches of words.
func splitMatches(t *widget.TextSegment, words []string) []widget.RichTextSegment {
	lower := strings.ToLower(t.Text)
	var out []widget.RichTextSegment
	last := 0
	piece := func(text string, match bool) {
		st := t.Style
		st.Inline = true
		if match {
			st.TextStyle.Bold = true
			st.ColorName = "primary"
		}
		out = append(out, &widget.TextSegment{Text: text, Style: st})
	}
	for i := 0; i < len(lower); {
		hit := 0
		for _, w := range words {
			lw := strings.ToLower(w)
			if strings.HasPrefix(lower[i:], lw) && len(lw) > hit && len(lower) == len(t.Text) {
				hit = len(lw)
			}
		}
		if hit == 0 {
			i++
			continue
		}
		if i > last {
			piece(t.Text[last:i], false)
		}
		piece(t.Text[i:i+hit], true)
		i += hit
		last = i
	}
	if last == 0 {
		return []widget.RichTextSegment{t}
	}
	if last < len(t.Text) {
		piece(t.Text[last:], false)
	}
	// The last piece ends the paragraph as the original did.
	out[len(out)-1].(*widget.TextSegment).Style.Inline = t.Style.Inline
	return out
}
