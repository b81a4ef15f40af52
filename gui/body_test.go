package gui

import (
	"strings"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"github.com/poplar-mail/poplar/storage/mailview"
)

func cell(text string, header bool) mailview.Cell {
	return mailview.Cell{Spans: []mailview.Span{{Text: text}}, Header: header}
}

// TestBodyTable: a 2×3 Table block shows as a grid of 2 rows and 3 columns, in place between the
// paragraphs around it, with the header cells bold and a link's target shown; Textual has every
// cell. It needs no display: test.NewTempApp.
func TestBodyTable(t *testing.T) {
	test.NewTempApp(t)
	shop := mailview.Cell{Spans: []mailview.Span{{Text: "shop", Link: "https://example.com/tea"}}}
	blocks := []mailview.Block{
		{Kind: mailview.Paragraph, Spans: []mailview.Span{{Text: "Before"}}},
		{Kind: mailview.Table, Rows: [][]mailview.Cell{
			{cell("Item", true), cell("Price", true), cell("Where", true)},
			{cell("Green tea", false), cell("3.50", false), shop},
		}},
		{Kind: mailview.Paragraph, Spans: []mailview.Span{{Text: "After"}}},
	}
	segs := bodySegments(blocks)
	var table *tableSegment
	for _, s := range segs {
		if ts, ok := s.(*tableSegment); ok {
			table = ts
		}
	}
	if table == nil {
		t.Fatalf("bodySegments(%v) has no table segment", blocks)
	}
	if table.Inline() {
		t.Error("the table segment is inline")
	}
	text := table.Textual()
	for _, want := range []string{"Item", "Price", "Where", "Green tea", "3.50", "shop <https://example.com/tea>"} {
		if !strings.Contains(text, want) {
			t.Errorf("Textual() = %q, lacks %q", text, want)
		}
	}
	if want := "Item\tPrice\tWhere\nGreen tea\t3.50\tshop <https://example.com/tea>"; text != want {
		t.Errorf("Textual() = %q, want %q", text, want)
	}

	body := widget.NewRichText(segs...)
	body.Wrapping = fyne.TextWrapWord
	w := test.NewTempWindow(t, body)
	w.Resize(fyne.NewSize(800, 600))
	var view *tableView
	var before, after fyne.CanvasObject
	for _, o := range test.WidgetRenderer(body).Objects() {
		switch o := o.(type) {
		case *tableView:
			view = o
		case *canvas.Text:
			if o.Text == "Before" {
				before = o
			} else if o.Text == "After" {
				after = o
			}
		}
	}
	if view == nil {
		t.Fatal("the body does not show a tableView")
	}
	if before == nil || after == nil || !(before.Position().Y < view.Position().Y && view.Position().Y+view.Size().Height <= after.Position().Y) {
		t.Errorf("the table is not between the paragraphs around it")
	}
	if len(view.cells) != 2 {
		t.Fatalf("the table shows %d rows, want 2", len(view.cells))
	}
	want := [][]string{{"Item", "Price", "Where"}, {"Green tea", "3.50", "shop <https://example.com/tea>"}}
	for i, row := range view.cells {
		if len(row) != 3 {
			t.Fatalf("row %d shows %d cells, want 3", i, len(row))
		}
		for j, c := range row {
			if got := c.String(); got != want[i][j] {
				t.Errorf("cell %d,%d shows %q, want %q", i, j, got, want[i][j])
			}
			bold := false
			for _, s := range c.Segments {
				if ts, ok := s.(*widget.TextSegment); ok && ts.Style.TextStyle.Bold {
					bold = true
				}
			}
			if bold != (i == 0) {
				t.Errorf("cell %d,%d bold %v, want %v (header row)", i, j, bold, i == 0)
			}
			// Rows and columns: a row's cells side by side at one height, a column's above each other.
			pos, first := c.Position(), row[0].Position()
			if pos.Y != first.Y || (j > 0 && pos.X <= row[j-1].Position().X+row[j-1].Size().Width-1) {
				t.Errorf("cell %d,%d at %v is not in row %d beside the cell before it", i, j, pos, i)
			}
			if top := view.cells[0][j].Position(); pos.X != top.X || (i > 0 && pos.Y < top.Y+view.cells[0][j].Size().Height) {
				t.Errorf("cell %d,%d at %v is not in column %d below the cell above it", i, j, pos, j)
			}
		}
	}
	links := 0
	for _, s := range view.cells[1][2].Segments {
		if h, ok := s.(*widget.HyperlinkSegment); ok && h.URL.String() == "https://example.com/tea" {
			links++
		}
	}
	if links != 1 {
		t.Errorf("the link cell has %d links to its target, want 1", links)
	}
}

// TestFitColumns: columns keep their width when the table fits; otherwise the narrow ones keep
// theirs and the wide ones share what is left.
func TestTableFitColumns(t *testing.T) {
	tests := []struct {
		natural []float32
		width   float32
		want    []float32
	}{
		{[]float32{100, 200}, 600, []float32{100, 200}},
		{[]float32{100, 900, 700}, 600, []float32{100, 250, 250}},
		{[]float32{300, 300, 300}, 600, []float32{200, 200, 200}},
		{[]float32{500, 50, 1000}, 600, []float32{275, 50, 275}},
	}
	for _, tt := range tests {
		got := fitColumns(tt.natural, tt.width)
		if len(got) != len(tt.want) {
			t.Fatalf("fitColumns(%v, %v) = %v, want %v", tt.natural, tt.width, got, tt.want)
		}
		for i := range got {
			if got[i] != tt.want[i] {
				t.Errorf("fitColumns(%v, %v) = %v, want %v", tt.natural, tt.width, got, tt.want)
				break
			}
		}
	}
}
