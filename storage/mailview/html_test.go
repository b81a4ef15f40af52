package mailview

import (
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"
)

// blocksText shows a Table block's cells as "a|b/c|d" (rows split by "/", header cells as *x*),
// and any other block as its kind and text, for comparing with a want in one line.
func blocksText(blocks []Block) string {
	var out []string
	for _, b := range blocks {
		if b.Kind != Table {
			out = append(out, b.Kind.String()+":"+firstNonEmpty(spanText(b.Spans), b.ImageCID))
			continue
		}
		var rows []string
		for _, r := range b.Rows {
			var cells []string
			for _, c := range r {
				t := spanText(c.Spans)
				if c.Header {
					t = "*" + t + "*"
				}
				cells = append(cells, t)
			}
			rows = append(rows, strings.Join(cells, "|"))
		}
		out = append(out, fmt.Sprintf("Table%d:%s", b.Level, strings.Join(rows, "/")))
	}
	return strings.Join(out, " ; ")
}

func TestHTMLTables(t *testing.T) {
	rows := func(n int) string {
		var b strings.Builder
		for i := range n {
			fmt.Fprintf(&b, "<tr><td>r%d</td><td>x</td></tr>", i)
		}
		return b.String()
	}
	wide := "<table><tr>" + strings.Repeat("<td>c</td>", MaxTableCols+1) + "</tr></table>"
	tests := []struct {
		name, html, want string
		blocked          int
	}{
		{"2x3 with header", "<p>Prices</p><table><tr><th>Item</th><th>Qty</th><th>Price</th></tr><tr><td>Tea</td><td>2</td><td><b>3.50</b> €</td></tr></table><p>Thanks</p>",
			"Paragraph:Prices ; Table0:*Item*|*Qty*|*Price*/Tea|2|3.50 € ; Paragraph:Thanks", 0},
		{"thead tbody tfoot and caption", "<table><caption>Totals</caption><thead><tr><th>a</th><th>b</th></tr></thead><tbody><tr><td>1</td><td>2</td></tr></tbody><tfoot><tr><td>3</td><td>4</td></tr></tfoot></table>",
			"Paragraph:Totals ; Table0:*a*|*b*/1|2/3|4", 0},
		{"links keep their target", `<table><tr><td><a href="https://example.com/x">site</a></td><td><a href="javascript:alert(1)">js</a></td></tr></table>`,
			"Table0:site <https://example.com/x>|js", 0},
		{"paragraphs and breaks in a cell", "<table><tr><td><p>one</p><p>two<br>three</p></td><td><ul><li>a</li><li>b</li></ul></td></tr></table>",
			"Table0:one\ntwo\nthree|• a\n• b", 0},
		{"ragged rows padded, colspan", `<table><tr><td colspan="2">wide</td><td>c</td></tr><tr><td>a</td></tr><tr><td>a</td><td>b</td><td>c</td></tr></table>`,
			"Table0:wide||c/a||/a|b|c", 0},
		{"spacer columns and empty rows left out", "<table><tr><td>&nbsp;</td><td>Name</td><td>&nbsp;</td><td>Ann</td></tr><tr><td></td><td> </td></tr><tr><td></td><td>Age</td><td></td><td>42</td></tr></table>",
			"Table0:Name|Ann/Age|42", 0},
		{"remote references in cells counted", `<table background="http://h/bg"><tbody background="http://h/tb"><tr background="http://h/tr"><td style="background:url(http://h/a)">a</td><td><span style="background:url(http://h/b)">b</span></td></tr></table>`,
			"Table0:a|b", 5},
		{"quoted table", "<blockquote><p>You wrote:</p><table><tr><td>a</td><td>b</td></tr></table></blockquote>",
			"Quote:You wrote: ; Table1:a|b", 0},
		{"script and form controls in cells", "<table><tr><td>a<script>x()</script></td><td><input value=v>b</td></tr></table>",
			"Table0:a|b", 0},
		// Layout tables flow as paragraphs, a row per paragraph, as before.
		{"single cell", "<table><tr><td><p>Hello</p><p>World</p></td></tr></table>",
			"Paragraph:Hello ; Paragraph:World", 0},
		{"single column", "<table><tr><td>one</td></tr><tr><td>two</td></tr></table>",
			"Paragraph:one ; Paragraph:two", 0},
		{"only one column has text", "<table><tr><td>&nbsp;</td><td>one</td></tr><tr><td></td><td>two</td></tr></table>",
			"Paragraph:one ; Paragraph:two", 0},
		{"role presentation", `<table role="presentation"><tr><td>a</td><td>b</td></tr></table>`,
			"Paragraph:a b", 0},
		{"nested: the outer flows, the inner data table stays", "<table><tr><td>Menu</td><td><table><tr><td>k</td><td>v</td></tr></table></td></tr></table>",
			"Paragraph:Menu ; Table0:k|v", 0},
		{"image in a cell", `<table><tr><td><img src="cid:logo@x" alt="Logo"></td><td>News</td></tr></table>`,
			"Image:logo@x ; Paragraph:News", 0},
		{"remote image in a cell", `<table><tr><td><img src="http://h/i.png" alt="Icon"></td><td>News</td></tr></table>`,
			"Paragraph:[Icon] News", 1},
		{"wider than MaxTableCols", wide, "Paragraph:" + strings.TrimSpace(strings.Repeat("c ", MaxTableCols+1)), 0},
		{"colspan beyond MaxTableCols", `<table><tr><td colspan="1000">a</td><td>b</td></tr></table>`, "Paragraph:a b", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			blocks, blocked := htmlBlocks(tt.html)
			if got := blocksText(blocks); got != tt.want || blocked != tt.blocked {
				t.Errorf("htmlBlocks(%q) = %q, %d blocked; want %q, %d", tt.html, got, blocked, tt.want, tt.blocked)
			}
		})
	}

	// Rows past MaxTableRows flow as paragraphs after the table: nothing is lost.
	blocks, _ := htmlBlocks("<table>" + rows(MaxTableRows+3) + "</table>")
	if len(blocks) != 4 || blocks[0].Kind != Table || len(blocks[0].Rows) != MaxTableRows {
		t.Fatalf("a table of %d rows: %d blocks, first %v", MaxTableRows+3, len(blocks), blocks[0].Kind)
	}
	if got := blocksText(blocks[1:]); got != fmt.Sprintf("Paragraph:r%d x ; Paragraph:r%d x ; Paragraph:r%d x", MaxTableRows, MaxTableRows+1, MaxTableRows+2) {
		t.Errorf("rows after the table: %q", got)
	}
	// Only the rows kept in the table count for its columns: a column with text only in the rows
	// after them is left out (found by FuzzHTML).
	blocks, _ = htmlBlocks("<table>" + rows(MaxTableRows) + "<tr><td>a</td><td>b</td><td>late</td></tr></table>")
	if len(blocks) != 2 || blocks[0].Kind != Table || len(blocks[0].Rows[0]) != 2 || blocksText(blocks[1:]) != "Paragraph:a b late" {
		t.Errorf("a column used only after row %d: %s", MaxTableRows, blocksText(blocks))
	}
}

func TestTableText(t *testing.T) {
	m := &Message{Body: []Block{
		{Kind: Paragraph, Spans: []Span{{Text: "Prices"}}},
		{Kind: Table, Rows: [][]Cell{
			{{Spans: []Span{{Text: "Item"}}, Header: true}, {Spans: []Span{{Text: "Price"}}, Header: true}, {Spans: []Span{{Text: "Note"}}, Header: true}},
			{{Spans: []Span{{Text: "Green tea"}}}, {Spans: []Span{{Text: "3.50"}}}, {Spans: []Span{{Text: "shop", Link: "https://example.com"}}}},
			{{Spans: []Span{{Text: "Two\nlines"}}}, {}, {Spans: []Span{{Text: strings.Repeat("x", 40)}}}},
		}},
		{Kind: Table, Level: 1, Rows: [][]Cell{{{Spans: []Span{{Text: "a"}}}, {Spans: []Span{{Text: "b"}}}}}},
	}}
	want := "Prices\n\n" +
		"Item      | Price | Note\n" +
		"Green tea | 3.50  | shop <https://example.com>\n" +
		"Two lines |       | " + strings.Repeat("x", 40) + "\n" +
		"\n> a | b\n"
	if got := m.Text(); got != want {
		t.Errorf("Text() = %q, want %q", got, want)
	}
}

// FuzzHTML feeds arbitrary HTML to htmlBlocks: it must return, never panic, and what it returns
// must be valid UTF-8 with only safe links; every Table block keeps the bounds and the shape
// Block documents.
func FuzzHTML(f *testing.F) {
	f.Add("<p>a<img src=http://x/>b</p>")
	f.Add("<table><tr><th>a</th><th>b</th></tr><tr><td>1</td><td><a href=https://x>2</a></td></tr></table>")
	f.Add(`<table><caption>c</caption><tr><td colspan=3>x</td></tr><tr><td>a<td>b<td>c</table>`)
	f.Add("<table><tr><td><table><tr><td>a</td><td>b</td></tr></table></td><td>c</td></tr></table>")
	f.Add("<table><tr><td>a</td><td>b<tr><td>c<table><td>d<td>e</table>")
	f.Add(`<table role=presentation><tr><td>a</td><td><img src="cid:x"></td></tr></table>`)
	f.Add("<blockquote><table><tbody><tr><td><ul><li>x<li>y</ul><td><pre>p  q</pre></table></blockquote>")
	f.Add("<table><tr><td>" + strings.Repeat("a</td><td>", 25) + "</tr>" + strings.Repeat("<tr><td>r<td>s", 210) + "</table>")
	f.Add("<table>" + strings.Repeat("<tr><td>r<td>&nbsp;<td>s", 210) + "<tr><td><td> </table>")
	f.Fuzz(func(t *testing.T, src string) {
		blocks, blocked := htmlBlocks(src)
		if blocked < 0 {
			t.Fatalf("blocked = %d", blocked)
		}
		checkSpans := func(spans []Span) {
			for _, s := range spans {
				if !utf8.ValidString(s.Text) {
					t.Fatalf("invalid UTF-8 %q", s.Text)
				}
				if s.Link != "" && safeLink(s.Link) != s.Link {
					t.Fatalf("unsafe link %q", s.Link)
				}
			}
		}
		for _, b := range blocks {
			checkSpans(b.Spans)
			if b.Kind != Table {
				if len(b.Rows) > 0 {
					t.Fatalf("%v block with rows", b.Kind)
				}
				continue
			}
			if len(b.Rows) == 0 || len(b.Rows) > MaxTableRows {
				t.Fatalf("table of %d rows", len(b.Rows))
			}
			cols := len(b.Rows[0])
			if cols < 2 || cols > MaxTableCols {
				t.Fatalf("table of %d columns", cols)
			}
			usedCol := make([]bool, cols)
			for _, r := range b.Rows {
				if len(r) != cols {
					t.Fatalf("row of %d cells in a table of %d columns", len(r), cols)
				}
				usedRow := false
				for j, c := range r {
					checkSpans(c.Spans)
					if len(c.Spans) > 0 {
						usedRow, usedCol[j] = true, true
					}
				}
				if !usedRow {
					t.Fatal("a row without text")
				}
			}
			for j, u := range usedCol {
				if !u {
					t.Fatalf("column %d without text", j)
				}
			}
		}
		if text := (&Message{Body: blocks}).Text(); !utf8.ValidString(text) {
			t.Fatal("invalid UTF-8 from Text")
		}
	})
}
