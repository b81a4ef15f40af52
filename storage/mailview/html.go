package mailview

import (
	"fmt"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// htmlBlocks turns HTML into safe rich text. Scripts, styles and forms are dropped; every remote
// reference (image, style sheet, frame, object, CSS url(), background) is dropped and counted;
// inline images by Content-ID become Image blocks; data tables become Table blocks (see
// isDataTable) and layout tables flow as paragraphs; links keep a visible http, https or mailto
// target. Nothing here can fetch anything: the output is plain data.
func htmlBlocks(src string) ([]Block, int) {
	doc, err := html.Parse(strings.NewReader(src))
	if err != nil {
		return textBlocks(src), 0
	}
	b := &htmlBuilder{}
	b.walk(doc, style{}, 0)
	b.flush()
	return b.blocks, b.blocked
}

type style struct {
	bold, italic, mono bool
	link               string
	pre                bool
}

type htmlBuilder struct {
	blocks  []Block
	cur     Block
	spans   []Span
	blocked int
	quote   int
	list    int
	nodes   int
}

var cssURL = regexp.MustCompile(`(?i)url\s*\(`)

// maxNodes bounds the work on hostile HTML.
const maxNodes = 200000

func (b *htmlBuilder) flush() {
	// Trim blank space at the edges of the paragraph.
	for len(b.spans) > 0 && strings.TrimSpace(b.spans[0].Text) == "" {
		b.spans = b.spans[1:]
	}
	for len(b.spans) > 0 && strings.TrimSpace(b.spans[len(b.spans)-1].Text) == "" {
		b.spans = b.spans[:len(b.spans)-1]
	}
	if len(b.spans) > 0 {
		if b.cur.Kind != Preformatted {
			b.spans[0].Text = strings.TrimLeft(b.spans[0].Text, " \n")
			last := &b.spans[len(b.spans)-1]
			last.Text = strings.TrimRight(last.Text, " \n")
		}
		blk := b.cur
		blk.Spans = b.spans
		b.blocks = append(b.blocks, blk)
	}
	b.spans = nil
	b.cur = Block{Kind: Paragraph}
	if b.quote > 0 {
		b.cur = Block{Kind: Quote, Level: b.quote}
	}
}

func (b *htmlBuilder) text(s string, st style) {
	if !st.pre {
		s = collapseSpace(s)
		if s == "" {
			return
		}
		// Drop a space at the start of a line.
		if s == " " && (len(b.spans) == 0 || strings.HasSuffix(b.spans[len(b.spans)-1].Text, " ") || strings.HasSuffix(b.spans[len(b.spans)-1].Text, "\n")) {
			return
		}
	}
	b.spans = appendSpan(b.spans, Span{Text: cleanText(s), Bold: st.bold, Italic: st.italic, Mono: st.mono || st.pre, Link: st.link})
}

func collapseSpace(s string) string {
	if !needsCollapse(s) {
		return s
	}
	var out strings.Builder
	space := false
	for _, r := range s {
		if r == ' ' || r == '\t' || r == '\n' || r == '\r' || r == '\f' {
			space = true
			continue
		}
		if space {
			out.WriteByte(' ')
			space = false
		}
		out.WriteRune(r)
	}
	if space {
		out.WriteByte(' ')
	}
	return out.String()
}

// needsCollapse reports whether collapseSpace would change s: it holds whitespace other than
// single spaces, or bytes that are not UTF-8.
func needsCollapse(s string) bool {
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\t', '\n', '\r', '\f':
			return true
		case ' ':
			if i+1 < len(s) && s[i+1] == ' ' {
				return true
			}
		}
	}
	return !utf8.ValidString(s)
}

// safeLink returns href when it is an http or https link, the safe form of a mailto link (see
// safeMailto), else "". Every link the reader shows, from HTML or found in plain text, passes here.
func safeLink(href string) string {
	h := strings.TrimSpace(href)
	if strings.ContainsAny(h, "\x00\r\n") {
		return ""
	}
	l := strings.ToLower(h)
	switch {
	case strings.HasPrefix(l, "http://"), strings.HasPrefix(l, "https://"):
		return cleanText(h)
	case strings.HasPrefix(l, "mailto:"):
		return safeMailto(h[len("mailto:"):])
	}
	return ""
}

// mailtoFields are the only mailto fields (RFC 6068) a link may carry to the mail program the
// system opens it with. Everything else is dropped: attach=, attachment= (a local file sent
// along), cc, bcc, in-reply-to, X-... headers.
var mailtoFields = map[string]bool{"to": true, "subject": true, "body": true}

// safeMailto rebuilds a mailto link (without its "mailto:") from its address and its to, subject
// and body fields alone, each decoded and encoded again, so nothing hidden in an encoding or a
// stray separator reaches the mail program. It returns "" when the address cannot be decoded.
func safeMailto(rest string) string {
	rest, _, _ = strings.Cut(rest, "#")
	addr, query, _ := strings.Cut(rest, "?")
	to, err := url.PathUnescape(addr)
	if err != nil || strings.ContainsAny(to, "\x00\r\n") {
		return ""
	}
	var b strings.Builder
	b.WriteString("mailto:")
	b.WriteString(escapeMailto(cleanText(to), true))
	seen := map[string]bool{}
	sep := "?"
	// Some mail programs split fields at a second '?' or at ';' too: so does this.
	for _, f := range strings.FieldsFunc(query, func(r rune) bool { return r == '&' || r == '?' || r == ';' }) {
		k, v, _ := strings.Cut(f, "=")
		name, err := url.PathUnescape(k)
		name = strings.ToLower(strings.TrimSpace(name))
		if err != nil || !mailtoFields[name] || seen[name] {
			continue
		}
		val, err := url.PathUnescape(v)
		if err != nil {
			continue
		}
		seen[name] = true
		b.WriteString(sep + name + "=" + escapeMailto(cleanText(val), name == "to"))
		sep = "&"
	}
	return b.String()
}

// escapeMailto percent-encodes s for a mailto link: every byte but letters, digits and "-._~",
// and for addresses also "@+,".
func escapeMailto(s string, address bool) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', strings.IndexByte("-._~", c) >= 0:
			b.WriteByte(c)
		case address && strings.IndexByte("@+,", c) >= 0:
			b.WriteByte(c)
		default:
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

func attr(n *html.Node, key string) (string, bool) {
	for _, a := range n.Attr {
		if strings.EqualFold(a.Key, key) {
			return a.Val, true
		}
	}
	return "", false
}

// isRemote reports whether a URL reference would reach the network.
func isRemote(u string) bool {
	l := strings.ToLower(strings.TrimSpace(u))
	return l != "" && !strings.HasPrefix(l, "cid:") && !strings.HasPrefix(l, "data:") && !strings.HasPrefix(l, "#")
}

// countRemoteAttrs counts the remote references carried by an element's attributes.
func (b *htmlBuilder) countRemoteAttrs(n *html.Node) {
	for _, a := range n.Attr {
		switch strings.ToLower(a.Key) {
		case "background", "poster", "srcset", "lowsrc", "dynsrc", "data":
			if isRemote(a.Val) {
				b.blocked++
			}
		case "style":
			b.blocked += len(cssURL.FindAllStringIndex(a.Val, -1))
		}
	}
}

func (b *htmlBuilder) walk(n *html.Node, st style, depth int) {
	b.nodes++
	if b.nodes > maxNodes || depth > 500 {
		return
	}
	switch n.Type {
	case html.TextNode:
		b.text(n.Data, st)
		return
	case html.ElementNode:
	default:
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			b.walk(c, st, depth+1)
		}
		return
	}
	b.countRemoteAttrs(n)
	switch n.DataAtom {
	case atom.Script, atom.Noscript, atom.Template, atom.Title, atom.Head, atom.Svg, atom.Math:
		if n.DataAtom == atom.Head {
			// Count style sheets and remote styles in the head; show nothing of it.
			b.countHead(n)
		}
		return
	case atom.Style:
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			b.blocked += len(cssURL.FindAllStringIndex(c.Data, -1))
		}
		return
	case atom.Link, atom.Meta, atom.Base:
		if href, _ := attr(n, "href"); isRemote(href) {
			b.blocked++
		}
		if n.DataAtom == atom.Meta {
			if c, _ := attr(n, "content"); strings.Contains(strings.ToLower(c), "url=") {
				b.blocked++ // a refresh to a remote page
			}
		}
		return
	case atom.Iframe, atom.Frame, atom.Object, atom.Embed, atom.Audio, atom.Video, atom.Source, atom.Applet:
		for _, k := range []string{"src", "data"} {
			if v, _ := attr(n, k); isRemote(v) {
				b.blocked++
			}
		}
		return
	case atom.Form:
		if a, _ := attr(n, "action"); isRemote(a) {
			b.blocked++
		}
	case atom.Input, atom.Button, atom.Select, atom.Textarea:
		return
	case atom.Img:
		src, _ := attr(n, "src")
		alt, _ := attr(n, "alt")
		alt = cleanText(collapseSpace(alt))
		if cid, ok := imgCID(n); ok {
			b.flush()
			b.blocks = append(b.blocks, Block{Kind: Image, ImageCID: cid, Alt: alt})
			return
		}
		switch {
		case isRemote(src):
			b.blocked++
			if alt != "" {
				b.text("["+alt+"]", st)
			}
		default:
			if alt != "" {
				b.text("["+alt+"]", st)
			}
		}
		return
	case atom.Br:
		b.text("\n", style{pre: true, bold: st.bold, italic: st.italic, mono: st.mono, link: st.link})
		return
	case atom.Hr:
		b.flush()
		b.blocks = append(b.blocks, Block{Kind: Rule})
		return
	case atom.B, atom.Strong:
		st.bold = true
	case atom.I, atom.Em, atom.Cite:
		st.italic = true
	case atom.Code, atom.Tt, atom.Kbd, atom.Samp:
		st.mono = true
	case atom.A:
		href, _ := attr(n, "href")
		st.link = safeLink(href)
	case atom.Table:
		if isDataTable(n) {
			b.table(n, st, depth)
			return
		}
	}
	kind, level, block := blockOf(n, b)
	if block {
		b.flush()
		if kind != Paragraph || level != 0 {
			b.cur = Block{Kind: kind, Level: level}
		}
	}
	switch n.DataAtom {
	case atom.Blockquote:
		b.quote++
		b.cur = Block{Kind: Quote, Level: b.quote}
	case atom.Ul, atom.Ol:
		b.list++
	case atom.Pre:
		st.pre = true
	case atom.Td, atom.Th:
		if len(b.spans) > 0 {
			b.text(" ", st)
		}
	}
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		b.walk(c, st, depth+1)
	}
	switch n.DataAtom {
	case atom.Blockquote:
		b.flush()
		b.quote--
		b.cur = Block{Kind: Paragraph}
		if b.quote > 0 {
			b.cur = Block{Kind: Quote, Level: b.quote}
		}
	case atom.Ul, atom.Ol:
		b.list--
	}
	if block {
		b.flush()
	}
}

func (b *htmlBuilder) countHead(n *html.Node) {
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		if c.Type != html.ElementNode {
			continue
		}
		switch c.DataAtom {
		case atom.Link, atom.Meta, atom.Base, atom.Style:
			b.walk(c, style{}, 1)
		}
	}
}

// imgCID returns the Content-ID an <img> shows, when its src is a cid: URL (RFC 2392), as text
// safe to show.
func imgCID(n *html.Node) (string, bool) {
	src, _ := attr(n, "src")
	src = strings.TrimSpace(src)
	if !strings.HasPrefix(strings.ToLower(src), "cid:") {
		return "", false
	}
	return cleanText(strings.Trim(src[4:], "<>")), true
}

// Bounds of a Table block: a wider table flows as paragraphs, and the rows after the first
// MaxTableRows flow as paragraphs after the table.
const (
	MaxTableRows = 200
	MaxTableCols = 20
)

// isDataTable reports whether a <table> keeps its rows and columns as a Table block. It does
// when some row has two cells or more and the table has no sign of a layout table: no
// role="presentation" (or "none"), no table inside it, no image in it (mail lays out logos,
// icons and spacers with tables; an inline cid: image shows in the body, never in a cell), no
// row wider than MaxTableCols columns (colspan counted), and only the structure html.Parse makes
// of a table (caption, colgroup, thead, tbody, tfoot, tr, td, th). Any other table is layout: its
// cells flow as paragraphs, a row per paragraph, as before tables were kept.
func isDataTable(n *html.Node) bool {
	if r, _ := attr(n, "role"); strings.EqualFold(strings.TrimSpace(r), "presentation") || strings.EqualFold(strings.TrimSpace(r), "none") {
		return false
	}
	cells := 0
	row := func(tr *html.Node) bool {
		k, cols := 0, 0
		for c := tr.FirstChild; c != nil; c = c.NextSibling {
			switch {
			case blankNode(c):
			case isElement(c, atom.Td, atom.Th):
				k++
				cols += colspan(c)
				if cols > MaxTableCols || !cellContent(c, 0) {
					return false
				}
			default:
				return false
			}
		}
		cells = max(cells, k)
		return true
	}
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		switch {
		case blankNode(c), isElement(c, atom.Colgroup):
		case isElement(c, atom.Caption):
			if !cellContent(c, 0) {
				return false
			}
		case isElement(c, atom.Tr):
			if !row(c) {
				return false
			}
		case isElement(c, atom.Thead, atom.Tbody, atom.Tfoot):
			for r := c.FirstChild; r != nil; r = r.NextSibling {
				if !blankNode(r) && (!isElement(r, atom.Tr) || !row(r)) {
					return false
				}
			}
		default:
			return false
		}
	}
	return cells >= 2
}

// cellContent reports whether the content of a cell can show inside a cell: no table, no image,
// not nested too deep to walk.
func cellContent(n *html.Node, depth int) bool {
	if depth > 100 {
		return false
	}
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		if c.Type != html.ElementNode {
			continue
		}
		if c.DataAtom == atom.Table || c.DataAtom == atom.Img {
			return false
		}
		if !cellContent(c, depth+1) {
			return false
		}
	}
	return true
}

func isElement(n *html.Node, atoms ...atom.Atom) bool {
	if n.Type != html.ElementNode {
		return false
	}
	for _, a := range atoms {
		if n.DataAtom == a {
			return true
		}
	}
	return false
}

// blankNode reports whether n shows nothing between the elements of a table.
func blankNode(n *html.Node) bool {
	return n.Type == html.CommentNode || (n.Type == html.TextNode && strings.TrimSpace(n.Data) == "")
}

// colspan returns the columns a cell spans, 1 to MaxTableCols+1.
func colspan(n *html.Node) int {
	v, ok := attr(n, "colspan")
	if !ok {
		return 1
	}
	k, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil || k < 1 {
		return 1
	}
	return min(k, MaxTableCols+1)
}

// table adds a data table (see isDataTable): its captions as paragraphs, then a Table block of
// at most MaxTableRows rows; later rows flow as paragraphs. A cell spanning columns is followed
// by empty cells; rows are padded to the same width; rows and columns with no text are left
// out. When fewer than two columns remain, the rows flow as paragraphs.
func (b *htmlBuilder) table(n *html.Node, st style, depth int) {
	b.flush()
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		if isElement(c, atom.Caption) {
			b.walk(c, st, depth+1)
		}
	}
	var rows [][]Cell
	width := 0
	row := func(tr *html.Node) {
		if b.nodes > maxNodes {
			return
		}
		b.nodes++
		b.countRemoteAttrs(tr)
		var cells []Cell
		for c := tr.FirstChild; c != nil; c = c.NextSibling {
			if !isElement(c, atom.Td, atom.Th) {
				continue
			}
			b.nodes++
			b.countRemoteAttrs(c)
			cells = append(cells, Cell{Spans: b.cellSpans(c, st, depth+3), Header: c.DataAtom == atom.Th})
			for range colspan(c) - 1 {
				cells = append(cells, Cell{})
			}
		}
		width = max(width, len(cells))
		rows = append(rows, cells)
	}
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		switch {
		case isElement(c, atom.Tr):
			row(c)
		case isElement(c, atom.Thead, atom.Tbody, atom.Tfoot):
			b.nodes++
			b.countRemoteAttrs(c)
			for r := c.FirstChild; r != nil; r = r.NextSibling {
				if isElement(r, atom.Tr) {
					row(r)
				}
			}
		}
	}
	rows = dropEmptyRows(rows)
	kept := dropEmptyColumns(rows[:min(len(rows), MaxTableRows)], width)
	if len(kept) > 0 && len(kept[0]) >= 2 {
		b.blocks = append(b.blocks, Block{Kind: Table, Level: b.quote, Rows: kept})
		rows = rows[len(kept):]
	}
	for _, r := range rows {
		var spans []Span
		for _, c := range r {
			if len(c.Spans) == 0 {
				continue
			}
			if len(spans) > 0 {
				spans = appendSpan(spans, Span{Text: " "})
			}
			for _, sp := range c.Spans {
				spans = appendSpan(spans, sp)
			}
		}
		b.blocks = append(b.blocks, Block{Kind: b.cur.Kind, Level: b.cur.Level, Spans: spans})
	}
}

// dropEmptyRows leaves out the rows in which no cell has text.
func dropEmptyRows(rows [][]Cell) [][]Cell {
	var out [][]Cell
	for _, r := range rows {
		for _, c := range r {
			if len(c.Spans) > 0 {
				out = append(out, r)
				break
			}
		}
	}
	return out
}

// dropEmptyColumns returns the rows padded to width cells, without the columns in which no cell
// has text.
func dropEmptyColumns(rows [][]Cell, width int) [][]Cell {
	used := make([]bool, width)
	for _, r := range rows {
		for i, c := range r {
			used[i] = used[i] || len(c.Spans) > 0
		}
	}
	out := make([][]Cell, len(rows))
	for i, r := range rows {
		for j := range width {
			switch {
			case !used[j]:
			case j < len(r):
				out[i] = append(out[i], r[j])
			default:
				out[i] = append(out[i], Cell{})
			}
		}
	}
	return out
}

// cellSpans returns the text of a table cell: its paragraphs, list items and lines joined by line
// breaks. Remote references in it are counted as everywhere else.
func (b *htmlBuilder) cellSpans(td *html.Node, st style, depth int) []Span {
	cb := &htmlBuilder{nodes: b.nodes}
	for c := td.FirstChild; c != nil; c = c.NextSibling {
		cb.walk(c, st, depth)
	}
	cb.flush()
	b.nodes = cb.nodes
	b.blocked += cb.blocked
	var out []Span
	for _, blk := range cb.blocks {
		spans := blk.Spans
		if blk.Kind == Image { // never: isDataTable keeps such tables out
			spans = []Span{{Text: "[image: " + firstNonEmpty(blk.Alt, blk.ImageCID) + "]"}}
		}
		if len(spans) == 0 {
			continue
		}
		if len(out) > 0 {
			out = appendSpan(out, Span{Text: "\n"})
		}
		if blk.Kind == ListItem {
			out = appendSpan(out, Span{Text: "• "})
		}
		for _, sp := range spans {
			out = appendSpan(out, sp)
		}
	}
	return out
}

// appendSpan appends s to spans, joining it to the last span when their styles are the same.
func appendSpan(spans []Span, s Span) []Span {
	if n := len(spans); n > 0 {
		l := &spans[n-1]
		if l.Bold == s.Bold && l.Italic == s.Italic && l.Mono == s.Mono && l.Link == s.Link {
			l.Text += s.Text
			return spans
		}
	}
	return append(spans, s)
}

// blockOf says whether an element starts a block, and which.
func blockOf(n *html.Node, b *htmlBuilder) (BlockKind, int, bool) {
	switch n.DataAtom {
	case atom.H1, atom.H2, atom.H3, atom.H4, atom.H5, atom.H6:
		return Heading, int(n.Data[1] - '0'), true
	case atom.Li, atom.Dt, atom.Dd:
		return ListItem, max(b.list, 1), true
	case atom.Pre:
		return Preformatted, 0, true
	case atom.P, atom.Div, atom.Tr, atom.Table, atom.Section, atom.Article, atom.Header, atom.Footer, atom.Center,
		atom.Address, atom.Main, atom.Nav, atom.Aside, atom.Figure, atom.Figcaption, atom.Dl, atom.Ul, atom.Ol,
		atom.Blockquote, atom.Caption, atom.Form, atom.Fieldset, atom.Body:
		if b.quote > 0 {
			return Quote, b.quote, true
		}
		return Paragraph, 0, true
	}
	return Paragraph, 0, false
}

var urlRE = regexp.MustCompile(`(?i)\b(?:https?://|mailto:)[^\s<>"]+[^\s<>".,;:!?)\]'}]`)

// textBlocks turns plain text into paragraphs and quotes (lines starting with '>'); URLs become
// visible links.
func textBlocks(s string) []Block {
	var out []Block
	var para []string
	level := 0
	flush := func() {
		if len(para) == 0 {
			return
		}
		text := strings.Join(para, "\n")
		kind := Paragraph
		if level > 0 {
			kind = Quote
		}
		out = append(out, Block{Kind: kind, Level: level, Spans: linkify(text)})
		para = nil
	}
	for _, line := range strings.Split(strings.TrimRight(s, "\n"), "\n") {
		l, q := quoteLevel(line)
		if q != level {
			flush()
			level = q
		}
		if strings.TrimSpace(l) == "" {
			flush()
			continue
		}
		para = append(para, strings.TrimRight(l, " \t"))
	}
	flush()
	return out
}

func quoteLevel(line string) (string, int) {
	n := 0
	for {
		t := strings.TrimLeft(line, " ")
		if !strings.HasPrefix(t, ">") || (n == 0 && len(line)-len(t) > 3) {
			return line, n
		}
		line = strings.TrimPrefix(t[1:], " ")
		n++
	}
}

func linkify(text string) []Span {
	locs := urlRE.FindAllStringIndex(text, -1)
	if len(locs) == 0 {
		return []Span{{Text: text}}
	}
	var out []Span
	p := 0
	for _, l := range locs {
		if l[0] > p {
			out = append(out, Span{Text: text[p:l[0]]})
		}
		u := text[l[0]:l[1]]
		out = append(out, Span{Text: u, Link: safeLink(u)})
		p = l[1]
	}
	if p < len(text) {
		out = append(out, Span{Text: text[p:]})
	}
	return out
}
