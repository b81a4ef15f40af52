package mailview

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"mime"
	"net/mail"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/emersion/go-message"
	gomail "github.com/emersion/go-message/mail"
	"github.com/emersion/go-message/textproto"
)

// Address is a decoded mailbox: a display name and an address (either may be empty).
type Address struct {
	Name  string
	Email string
}

// String returns "Name <email>", or whichever part exists.
func (a Address) String() string {
	switch {
	case a.Name == "":
		return a.Email
	case a.Email == "":
		return a.Name
	}
	return a.Name + " <" + a.Email + ">"
}

// Message is what the reader pane shows of a message.
type Message struct {
	From, To, Cc, ReplyTo []Address
	Subject               string
	Date                  time.Time
	DateText              string // the raw Date header when it could not be parsed ("" otherwise)
	MessageID             string
	// InReplyTo and References are the message identifiers (without angle brackets) of the
	// In-Reply-To and References fields, in their order: what a reply needs to keep the thread
	// (RFC 5322 3.6.4). A field that does not parse gives the <...> parts found in it; nil when
	// missing.
	InReplyTo, References []string
	Body                  []Block // the best body as safe rich text
	BodyIsHTML            bool
	// Alternatives is true when some multipart/alternative of the body has both a real text/plain
	// and a real text/html part (see Options.PreferPlain): only then does Options.PreferPlain
	// change what Body shows, and only then does the reader offer a "Plain text / HTML" switch.
	Alternatives bool
	// RemoteBlocked counts the remote references (images, style sheets, frames, forms...) dropped
	// from HTML; when > 0 the reader says so. Nothing is ever fetched.
	RemoteBlocked int
	Attachments   []Attachment
	Warnings      []string // what could not be decoded exactly, in plain words
	Partial       bool     // set by the caller: only the header was downloaded
}

// BlockKind is the kind of a Block.
type BlockKind int

const (
	Paragraph    BlockKind = iota // text; line breaks inside are kept
	Heading                       // Level 1-6
	Quote                         // quoted text, Level = depth
	ListItem                      // Level = list depth
	Preformatted                  // monospaced, whitespace kept
	Rule                          // a horizontal line
	Image                         // an inline image: ImageCID names the attachment
	Table                         // a table: Rows of cells; Level = quote depth
)

var blockKindNames = [...]string{Paragraph: "Paragraph", Heading: "Heading", Quote: "Quote", ListItem: "ListItem",
	Preformatted: "Preformatted", Rule: "Rule", Image: "Image", Table: "Table"}

// String returns the name of the kind, as in the source.
func (k BlockKind) String() string {
	if k >= 0 && int(k) < len(blockKindNames) {
		return blockKindNames[k]
	}
	return fmt.Sprintf("BlockKind(%d)", int(k))
}

// Block is one paragraph-level piece of a body.
type Block struct {
	Kind     BlockKind
	Level    int
	Spans    []Span
	ImageCID string // Kind == Image: the Content-ID of an inline image (see Attachment.ContentID)
	Alt      string // Kind == Image: its alternative text
	// ImageStatus, when Kind == Image, says whether the image can be shown: anything but ImageOK
	// must never be decoded, and the reader shows ImageStatus.String() in its place.
	ImageStatus ImageStatus
	// Rows, when Kind == Table, are the table's rows, all with the same number of cells: at most
	// MaxTableRows rows of 2 to MaxTableCols cells, no row or column without text.
	Rows [][]Cell
}

// Cell is one cell of a Table block.
type Cell struct {
	Spans  []Span // its text; a line break inside is kept; nil when empty
	Header bool   // a header cell (<th>): the reader shows it bold
}

// Span is a run of text with one style. Link, when set, is an http, https or mailto target that the
// reader shows to the user; other schemes (javascript:, data:...) are never links.
type Span struct {
	Text               string
	Bold, Italic, Mono bool
	Link               string
}

// Attachment is a part a user can save.
type Attachment struct {
	Index       int    // the part number, for ExtractAttachment and SaveAttachment
	Name        string // sanitized file name, safe to create
	OrigName    string // the name as the message gave it (decoded), for display only
	ContentType string
	Size        int64 // decoded size in bytes
	ContentID   string
	Inline      bool
	// Damaged says in plain words why the part's data could not be fully decoded ("bad base64"),
	// "" when it is intact. Read sets it; only Size bytes could be decoded.
	Damaged string
	// ImageStatus, Width and Height describe an image/* part, from its header alone.
	ImageStatus   ImageStatus
	Width, Height int
}

// Options bound the work Read does on hostile input. Zero fields take the defaults.
type Options struct {
	MaxParts     int         // default 10000
	MaxDepth     int         // default 100
	MaxTextBytes int64       // per text part shown; default 8 MB
	Images       ImageLimits // per inline image; zero fields take ImageLimits' defaults
	// PreferPlain shows the text/plain part of a multipart/alternative instead of its text/html
	// part, when both are real (Message.Alternatives). By default HTML is shown, made safe.
	PreferPlain bool
}

func (o Options) withDefaults() Options {
	if o.MaxParts <= 0 {
		o.MaxParts = 10000
	}
	if o.MaxDepth <= 0 {
		o.MaxDepth = 100
	}
	if o.MaxTextBytes <= 0 {
		o.MaxTextBytes = 8 << 20
	}
	o.Images = o.Images.withDefaults()
	return o
}

// Read parses a message for display. It never fails on malformed mail: whatever can be recovered
// is shown and the rest is described in Warnings. Only an error reading r is returned.
func Read(r io.Reader, opts Options) (*Message, error) {
	opts = opts.withDefaults()
	w := &walker{opts: opts, msg: &Message{}, extract: -1}
	segs, err := w.top(r)
	if err != nil {
		return nil, err
	}
	m := w.msg
	html := false
	for i, s := range segs {
		if i > 0 {
			m.Body = append(m.Body, Block{Kind: Rule})
		}
		if s.html {
			html = true
			blocks, blocked := s.render()
			m.Body = append(m.Body, blocks...)
			m.RemoteBlocked += blocked
		} else {
			m.Body = append(m.Body, textBlocks(s.text)...)
		}
	}
	m.BodyIsHTML = html
	for i := range m.Body {
		if b := &m.Body[i]; b.Kind == Image {
			b.ImageStatus = imageStatus(m.Attachments, b.ImageCID)
		}
	}
	return m, nil
}

// imageStatus says whether the inline image with Content-ID cid can be shown.
func imageStatus(as []Attachment, cid string) ImageStatus {
	for _, a := range as {
		if a.ContentID != cid || cid == "" {
			continue
		}
		switch {
		case a.Damaged != "":
			return ImageDamaged
		case a.ImageStatus == ImageUnchecked:
			return ImageUnsupported // not an image/* part
		}
		return a.ImageStatus
	}
	return ImageMissing
}

// segment is one inline text part of the body.
type segment struct {
	text string
	html bool
	// rendered, blocks and blocked cache htmlBlocks(text) for an HTML segment (see render).
	rendered bool
	blocks   []Block
	blocked  int
	// previewed says that preview holds the segment's preview (see walker.previewText): text may
	// be only the start of the part.
	previewed bool
	preview   string
}

// render returns the safe blocks of an HTML segment and the remote references dropped, parsing
// the HTML the first time only.
func (s *segment) render() ([]Block, int) {
	if !s.rendered {
		s.blocks, s.blocked = htmlBlocks(s.text)
		s.rendered = true
	}
	return s.blocks, s.blocked
}

// real reports whether the segment shows anything: text that is not blank, for HTML text or an
// image once made safe.
func (s *segment) real() bool {
	if !s.html {
		return strings.TrimSpace(s.text) != ""
	}
	if s.previewed {
		return s.preview != "" // a Summary shows no more of it
	}
	blocks, _ := s.render()
	for _, b := range blocks {
		if b.Kind != Rule {
			return true
		}
	}
	return false
}

type walker struct {
	opts     Options
	msg      *Message
	parts    int
	fallback string // charset of the top-level body, for raw 8-bit headers
	// extract, when >= 0, stops at that part number and hands its body to onPart.
	extract int
	onPart  func(e *message.Entity, a Attachment) error
	// found stops the walk: the part to extract was found, or (summary) the walk has all a
	// Summary needs.
	found bool
	// summary is Summarize's mode: only the header fields a Summary has, each text part read
	// only as far as its preview needs (see previewText), no attachment body, no warnings, and
	// the walk stops once it has text and an attachment.
	summary  bool
	textSeen bool // summary: a text part that is not blank was read
	// bufs, when not nil, holds buffers kept from one message to the next (see Summarizer).
	bufs *Summarizer
}

func (w *walker) warn(format string, args ...any) {
	if !w.summary && len(w.msg.Warnings) < 50 {
		w.msg.Warnings = append(w.msg.Warnings, fmt.Sprintf(format, args...))
	}
}

// top reads the top-level header and the body tree.
func (w *walker) top(r io.Reader) ([]segment, error) {
	rec := &errRecorder{r: r}
	size := 64 << 10
	if w.summary {
		size = 1 << 10 // the header is read a line at a time, whatever the size of the buffer
	}
	z := w.bufs
	if z == nil {
		z = &Summarizer{}
	}
	if z.br == nil {
		z.br = bufio.NewReaderSize(rec, size)
	} else {
		z.br.Reset(rec)
	}
	br := z.br
	skipMboxLine(br)
	hdr, err := readHeaderBlock(br, z.hdr)
	z.hdr = hdr
	if rec.err != nil {
		return nil, fmt.Errorf("mailview: %w", rec.err)
	}
	if err != nil {
		w.warn("%v", err)
	}
	clean, dropped := sanitizeHeader(hdr, &z.clean, w.summary)
	if dropped > 0 {
		w.warn("%d malformed header lines were skipped", dropped)
	}
	var e *message.Entity
	if w.summary {
		e, err = z.summaryEntity(clean, br)
	} else {
		e, err = z.readEntity(clean, br)
	}
	if rec.err != nil {
		return nil, fmt.Errorf("mailview: %w", rec.err)
	}
	if err != nil && e == nil {
		// Not even a header: show the bytes as text.
		w.warn("the message header could not be read (%v); showing the raw text", err)
		raw, rerr := io.ReadAll(io.LimitReader(br, w.opts.MaxTextBytes))
		if rerr != nil {
			return nil, fmt.Errorf("mailview: %w", rerr)
		}
		s, _ := decodeText(raw, "")
		return []segment{{text: s}}, nil
	}
	_, params, _ := e.Header.ContentType()
	w.fallback = params["charset"]
	w.headers(e.Header)
	return w.entity(e, err, 0, ""), nil
}

// readEntity parses a clean header block (see sanitizeHeader) and returns the entity whose body
// is the rest of br, as message.Read would from the two together, without copying the body through
// another buffer. The entity is nil when the header does not parse. The parsed header holds copies
// of what it needs, so clean and z's reader of it can be used again.
func (z *Summarizer) readEntity(clean []byte, br *bufio.Reader) (*message.Entity, error) {
	z.cleanReader.Reset(clean)
	if z.hr == nil {
		z.hr = bufio.NewReaderSize(&z.cleanReader, headerReaderSize)
	} else {
		z.hr.Reset(&z.cleanReader)
	}
	h, err := textproto.ReadHeader(z.hr)
	if err != nil {
		return nil, err
	}
	return message.New(message.Header{Header: h}, br)
}

// summaryEntity is readEntity for Summarize, which reads the header only while it summarizes:
// the header is made from clean a field at a time with textproto.Header.AddRaw, which takes a
// field's name and value from its lines as ReadHeader does, without ReadHeader's copy of every
// line. ReadHeader never fails on a clean block (sanitizeHeader keeps only well-formed fields and
// ends it with a blank line), so neither does this. The header's raw fields point into clean.
func (z *Summarizer) summaryEntity(clean []byte, br *bufio.Reader) (*message.Entity, error) {
	z.fields = z.fields[:0]
	for rest := clean; ; {
		end := lineEnd(rest, 0)
		if end <= 2 {
			break // the blank line that ends the block
		}
		for end < len(rest) && (rest[end] == ' ' || rest[end] == '\t') {
			end = lineEnd(rest, end) // a continuation line
		}
		z.fields = append(z.fields, rest[:end])
		rest = rest[end:]
	}
	var h textproto.Header
	for i := len(z.fields) - 1; i >= 0; i-- {
		h.AddRaw(z.fields[i]) // AddRaw puts a field before the others, as ReadHeader keeps them
	}
	return message.New(message.Header{Header: h}, br)
}

// lineEnd returns the end of the line of b that starts at i, after its line break (the end of b
// when it has none).
func lineEnd(b []byte, i int) int {
	if j := bytes.IndexByte(b[i:], '\n'); j >= 0 {
		return i + j + 1
	}
	return len(b)
}

// countingReader counts the bytes read and remembers the first error other than io.EOF.
type countingReader struct {
	r   io.Reader
	n   int64
	err error
}

func (c *countingReader) Read(p []byte) (int, error) {
	if c.err != nil {
		return 0, c.err
	}
	n, err := c.r.Read(p)
	c.n += int64(n)
	if err != nil && err != io.EOF {
		c.err = err
	}
	return n, err
}

// errRecorder remembers a read error of the underlying reader, to tell a failing file from
// malformed mail.
type errRecorder struct {
	r   io.Reader
	err error
}

func (e *errRecorder) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	if err != nil && err != io.EOF {
		e.err = err
	}
	return n, err
}

func (w *walker) headers(h message.Header) {
	m := w.msg
	mh := gomail.Header{Header: h}
	m.From = w.addresses(mh, "From")
	m.To = w.addresses(mh, "To")
	if !w.summary {
		m.Cc = w.addresses(mh, "Cc")
		m.ReplyTo = w.addresses(mh, "Reply-To")
	}
	m.Subject = decodeHeader(h.Get("Subject"), w.fallback)
	if raw := strings.TrimSpace(h.Get("Date")); raw != "" {
		// The form nearly all mail has, parsed as mail.ParseDate would, without the layouts
		// it tries first.
		if t, err := time.Parse("Mon, 2 Jan 2006 15:04:05 -0700", raw); err == nil {
			m.Date = t
		} else if t, err := mail.ParseDate(raw); err == nil {
			m.Date = t
		} else if t, err := mh.Date(); err == nil && !t.IsZero() {
			m.Date = t
		} else {
			m.DateText = cleanText(raw)
		}
	}
	if id, err := mh.MessageID(); err == nil {
		m.MessageID = id
	} else {
		m.MessageID = cleanText(strings.Trim(strings.TrimSpace(h.Get("Message-Id")), "<>"))
	}
	m.InReplyTo = msgIDList(mh, "In-Reply-To")
	m.References = msgIDList(mh, "References")
}

// msgIDPattern finds the <...> identifiers of a message-ID list that does not parse.
var msgIDPattern = regexp.MustCompile(`<([^<>\s]+)>`)

// msgIDList returns the identifiers of an In-Reply-To or References field, without brackets.
func msgIDList(h gomail.Header, key string) []string {
	if strings.TrimSpace(h.Get(key)) == "" {
		return nil
	}
	ids, err := h.MsgIDList(key)
	if err != nil {
		ids = nil
		for _, m := range msgIDPattern.FindAllStringSubmatch(h.Get(key), -1) {
			ids = append(ids, m[1])
		}
	}
	out := ids[:0]
	for _, id := range ids {
		if id = cleanText(id); id != "" {
			out = append(out, id)
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// addresses decodes an address header; a list that does not parse is shown as its decoded text.
func (w *walker) addresses(h gomail.Header, key string) []Address {
	raw := h.Get(key)
	if strings.TrimSpace(raw) == "" {
		return nil
	}
	list, err := h.AddressList(key)
	if err == nil {
		out := make([]Address, 0, len(list))
		for _, a := range list {
			out = append(out, Address{Name: decodeHeader(a.Name, w.fallback), Email: cleanText(a.Address)})
		}
		return out
	}
	if list, err := mail.ParseAddressList(decodeHeader(raw, w.fallback)); err == nil {
		out := make([]Address, 0, len(list))
		for _, a := range list {
			out = append(out, Address{Name: cleanText(a.Name), Email: cleanText(a.Address)})
		}
		return out
	}
	return []Address{{Name: decodeHeader(raw, w.fallback)}}
}

// entity walks one entity (err is what creating it reported) and returns its inline text.
func (w *walker) entity(e *message.Entity, err error, depth int, parentType string) []segment {
	if w.found {
		return nil
	}
	if depth > w.opts.MaxDepth {
		w.warn("parts nested deeper than %d levels were not shown", w.opts.MaxDepth)
		return nil
	}
	mediaType, params, cterr := e.Header.ContentType()
	if cterr != nil || mediaType == "" {
		mediaType = "text/plain" // RFC 2045 5.2
		if parentType == "multipart/digest" {
			mediaType = "message/rfc822"
		}
	}
	mediaType = strings.ToLower(mediaType)
	if strings.HasPrefix(mediaType, "multipart/") {
		return w.multipart(e, mediaType, depth)
	}
	w.parts++
	if w.parts > w.opts.MaxParts {
		if w.parts == w.opts.MaxParts+1 {
			w.warn("the message has more than %d parts; the rest were not shown", w.opts.MaxParts)
		}
		return nil
	}
	index := w.parts
	disp, dparams, _ := e.Header.ContentDisposition()
	name := dparams["filename"]
	if name == "" {
		name = params["name"]
	}
	if name == "" {
		name = lenientFilename(e.Header.Get("Content-Disposition"), e.Header.Get("Content-Type"))
	}
	name = decodeHeader(name, w.fallback)
	// Text without a file name that is not marked as an attachment is part of the body.
	isText := mediaType == "text/plain" || mediaType == "text/html"
	inlineText := isText && name == "" && !strings.EqualFold(disp, "attachment")
	if w.extract >= uuBase && w.extract%uuBase == index && inlineText {
		w.found = true
		text := w.readText(e, err, params["charset"], index)
		blocks := findUUBlocks(text)
		if k := w.extract / uuBase; k <= len(blocks) {
			b := blocks[k-1]
			ent, _ := message.New(message.Header{}, bytes.NewReader(b.data))
			a := Attachment{Index: w.extract, Name: SanitizeFilename(b.name, uuType(b.name), w.extract), OrigName: b.name, ContentType: uuType(b.name)}
			if err := w.onPart(ent, a); err != nil {
				w.warn("%v", err)
			}
		} else {
			w.found = false
		}
		return nil
	}
	if w.extract >= 0 {
		if index == w.extract {
			w.found = true
			a := Attachment{Index: index, Name: SanitizeFilename(name, mediaType, index), OrigName: name, ContentType: mediaType,
				ContentID: contentID(e.Header), Inline: strings.EqualFold(disp, "inline")}
			if err := w.onPart(e, a); err != nil {
				w.warn("%v", err)
			}
		}
		return nil
	}
	if inlineText && w.summary {
		s := w.previewText(e, err, params["charset"], index, mediaType == "text/html")
		w.textSeen = w.textSeen || s.real()
		return []segment{s}
	}
	if inlineText {
		text := w.readText(e, err, params["charset"], index)
		if mediaType == "text/plain" && strings.Contains(text, "begin ") {
			text = w.uuAttachments(text, index)
		}
		return []segment{{text: text, html: mediaType == "text/html"}}
	}
	// Everything else can be saved.
	a := Attachment{Index: index, Name: SanitizeFilename(name, mediaType, index), OrigName: name, ContentType: mediaType,
		ContentID: contentID(e.Header), Inline: strings.EqualFold(disp, "inline") || (disp == "" && contentID(e.Header) != "")}
	if !w.summary {
		body := &countingReader{r: e.Body}
		if strings.HasPrefix(mediaType, "image/") {
			checkImagePart(&a, body, w.opts.Images)
		}
		io.Copy(io.Discard, body)
		a.Size = body.n
		if isDamage(body.err) {
			a.Damaged = damageReason(body.err)
			w.warn("part %d (%s) is damaged (%s); only %d bytes could be decoded", index, a.Name, a.Damaged, a.Size)
		}
		if a.ImageStatus == ImageOK && a.Size > w.opts.Images.MaxBytes {
			a.ImageStatus = ImageTooLarge
		}
	}
	w.msg.Attachments = append(w.msg.Attachments, a)
	if w.summary && w.textSeen && (!a.Inline || a.ContentID == "") {
		w.found = true // a Summary needs no more than the text and one real attachment
	}
	return nil
}

// uuAttachments lists the uuencoded files inside a text part as attachments and replaces each in
// the text by a short note.
func (w *walker) uuAttachments(text string, index int) string {
	blocks := findUUBlocks(text)
	if len(blocks) == 0 {
		return text
	}
	var b strings.Builder
	pos := 0
	for k, blk := range blocks {
		a := Attachment{Index: index + (k+1)*uuBase, Name: SanitizeFilename(blk.name, uuType(blk.name), index), OrigName: cleanText(blk.name),
			ContentType: uuType(blk.name), Size: int64(len(blk.data))}
		w.msg.Attachments = append(w.msg.Attachments, a)
		b.WriteString(text[pos:blk.start])
		b.WriteString("[attachment: " + a.Name + "]\n")
		pos = blk.end
	}
	b.WriteString(text[pos:])
	return b.String()
}

func contentID(h message.Header) string {
	return strings.Trim(strings.TrimSpace(h.Get("Content-Id")), "<>")
}

// readText reads a text part as UTF-8 (see decodeText), at most Options.MaxTextBytes of it.
func (w *walker) readText(e *message.Entity, err error, label string, index int) string {
	raw, rerr := io.ReadAll(io.LimitReader(e.Body, w.opts.MaxTextBytes+1))
	if int64(len(raw)) > w.opts.MaxTextBytes {
		raw = trimPartialRune(raw[:w.opts.MaxTextBytes])
		w.warn("part %d is longer than %d bytes and was cut", index, w.opts.MaxTextBytes)
	}
	if rerr != nil {
		w.warn("part %d is damaged (%v); showing what could be read", index, rerr)
	}
	return w.partText(e, raw, err, label, index)
}

// previewText reads a text part of a message being summarized only as far as its preview needs:
// summaryStep bytes, then four times as many while the preview is not whole or a uuencoded file
// begins in it, at most Options.MaxTextBytes; HTML is made into text each time from its start.
func (w *walker) previewText(e *message.Entity, err error, label string, index int, html bool) segment {
	var raw []byte
	if w.bufs != nil {
		raw = w.bufs.raw[:0] // the text is copied out of it (partText)
		defer func() { w.bufs.raw = raw[:0] }()
	}
	for limit := summaryStep; ; limit = min(limit*4, int(w.opts.MaxTextBytes)) {
		raw = readUpTo(e.Body, raw, limit+1)
		cut := len(raw) > limit
		text := raw
		if cut {
			text = trimPartialRune(raw[:limit])
		}
		s := segment{text: w.partText(e, text, err, label, index), html: html, previewed: true}
		var full bool
		if html {
			blocks, _ := htmlBlocks(s.text)
			s.preview, full = preview((&Message{Body: blocks}).Text())
		} else {
			s.preview, full = preview(s.text)
		}
		uu := !html && strings.Contains(s.text, "begin ") && uuBegin.MatchString(s.text)
		if cut && limit < int(w.opts.MaxTextBytes) && (!full || uu) {
			continue // a uuencoded file is listed as an attachment only when read to its end
		}
		if uu {
			s.text = w.uuAttachments(s.text, index)
			s.preview, _ = preview(s.text)
		}
		return s
	}
}

// readUpTo appends what r gives to b until b holds n bytes or r ends; a read error ends it too
// (a damaged part shows what could be read).
func readUpTo(r io.Reader, b []byte, n int) []byte {
	if cap(b) < n {
		b = append(make([]byte, 0, n), b...)
	}
	k, _ := io.ReadFull(r, b[len(b):n])
	return b[:len(b)+k]
}

// partText makes the raw bytes of text part index valid UTF-8 in its charset (label), falling
// back when the charset or the transfer encoding is unknown (err, from reading its entity e).
func (w *walker) partText(e *message.Entity, raw []byte, err error, label string, index int) string {
	switch {
	case err != nil && message.IsUnknownCharset(err):
		s, warn := decodeText(raw, label)
		if warn == "" {
			warn = fmt.Sprintf("unknown charset %q", label)
		}
		w.warn("part %d: %s", index, warn)
		return cleanBody(s)
	case err != nil && message.IsUnknownEncoding(err):
		w.warn("part %d: unknown transfer encoding %q, shown undecoded", index, e.Header.Get("Content-Transfer-Encoding"))
	}
	if !utf8.Valid(raw) {
		// Undeclared 8-bit text: windows-1252 is what such mail almost always is.
		s, _ := decodeText(raw, "windows-1252")
		if label != "" {
			w.warn("part %d is not valid %s; shown as windows-1252", index, label)
		}
		return cleanBody(s)
	}
	return cleanBody(strings.TrimPrefix(string(raw), "\ufeff"))
}

// trimPartialRune drops an incomplete UTF-8 sequence at the end of b, which a cut may leave.
func trimPartialRune(b []byte) []byte {
	for i := len(b) - 1; i >= 0 && i >= len(b)-utf8.UTFMax; i-- {
		if utf8RuneStart(b[i]) {
			if !utf8.FullRune(b[i:]) {
				return b[:i]
			}
			break
		}
	}
	return b
}

// cleanBody normalizes line ends and removes control and bidi-override characters.
func cleanBody(s string) string {
	if strings.IndexByte(s, '\r') >= 0 {
		s = strings.ReplaceAll(s, "\r\n", "\n")
		s = strings.ReplaceAll(s, "\r", "\n")
	}
	return cleanText(s)
}

func (w *walker) multipart(e *message.Entity, mediaType string, depth int) []segment {
	// Keep the first bytes of the body: when no part can be found in it, they are shown as text.
	capture := &capBuffer{max: int(min(w.opts.MaxTextBytes, 1<<20))}
	if w.summary {
		capture.max = summaryStep // enough for a preview
		capture.b = make([]byte, 0, summaryStep)
	}
	h := e.Header.Copy()
	h.Del("Content-Transfer-Encoding")
	e, _ = message.New(h, io.TeeReader(e.Body, capture))
	segs, ok := w.multipartParts(e, mediaType, depth)
	if ok || w.extract >= 0 {
		return segs
	}
	w.warn("no part of the %s body could be found; shown as text", mediaType)
	io.Copy(io.Discard, io.LimitReader(e.Body, int64(capture.max)))
	s, _ := decodeText(capture.b, "")
	return []segment{{text: cleanBody(s)}}
}

// capBuffer keeps the first max bytes written to it.
type capBuffer struct {
	b   []byte
	max int
}

func (c *capBuffer) Write(p []byte) (int, error) {
	if room := c.max - len(c.b); room > 0 {
		c.b = append(c.b, p[:min(room, len(p))]...)
	}
	return len(p), nil
}

// multipartParts walks the parts; ok is false when not one part was found.
func (w *walker) multipartParts(e *message.Entity, mediaType string, depth int) ([]segment, bool) {
	mr := e.MultipartReader()
	if mr == nil {
		return nil, false
	}
	var children [][]segment
	found := 0
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil && p == nil {
			if !strings.Contains(err.Error(), "EOF") {
				w.warn("a %s part is damaged (%v); showing the parts before it", mediaType, err)
			}
			break
		}
		found++
		children = append(children, w.entity(p, err, depth+1, mediaType))
		if w.found || w.parts > w.opts.MaxParts {
			break
		}
	}
	if found == 0 {
		return nil, false
	}
	if mediaType == "multipart/alternative" {
		return w.chooseAlternative(children), true
	}
	var out []segment
	for _, c := range children {
		out = append(out, c...)
	}
	return out, true
}

// chooseAlternative picks what a multipart/alternative shows. An alternative is HTML when it has
// a text/html part (a multipart/related around it counts), plain otherwise; it is real when it
// shows something: text that is not blank, or for HTML text or an inline image once made safe.
// By default the last real HTML alternative is shown (later alternatives are richer, RFC 2046
// 5.1.4), else the first real plain one; with Options.PreferPlain the first real plain one, else
// the last real HTML one. When both exist, Message.Alternatives is set. When none is real, the
// last alternative with any text is shown, so that nothing recoverable is lost.
func (w *walker) chooseAlternative(children [][]segment) []segment {
	var plain, last []segment
	var htmls [][]segment
	for _, c := range children {
		if len(c) == 0 {
			continue
		}
		last = c
		if !hasHTML(c) {
			if plain == nil && realSegments(c) {
				plain = c
			}
			continue
		}
		htmls = append(htmls, c)
	}
	if plain != nil && w.opts.PreferPlain && w.summary {
		return plain // Summarize needs no more: it never parses HTML it does not show
	}
	var html []segment
	for i := len(htmls) - 1; i >= 0; i-- {
		if realSegments(htmls[i]) {
			html = htmls[i]
			break
		}
	}
	switch {
	case plain != nil && html != nil:
		w.msg.Alternatives = true
		if w.opts.PreferPlain {
			return plain
		}
		return html
	case html != nil:
		return html
	case plain != nil:
		return plain
	}
	return last
}

func hasHTML(segs []segment) bool {
	for _, s := range segs {
		if s.html {
			return true
		}
	}
	return false
}

// realSegments reports whether any of segs is real (see segment.real).
func realSegments(segs []segment) bool {
	for i := range segs {
		if segs[i].real() {
			return true
		}
	}
	return false
}

// Text renders the body as plain text, as `poplar show` prints it.
func (m *Message) Text() string {
	var b strings.Builder
	for i, bl := range m.Body {
		if i > 0 {
			b.WriteString("\n")
		}
		switch bl.Kind {
		case Rule:
			b.WriteString("----------------------------------------\n")
			continue
		case Image:
			if bl.ImageStatus == ImageOK || bl.ImageStatus == ImageUnchecked {
				fmt.Fprintf(&b, "[image: %s]\n", firstNonEmpty(bl.Alt, bl.ImageCID))
			} else {
				fmt.Fprintf(&b, "[image: %s — %s]\n", firstNonEmpty(bl.Alt, bl.ImageCID), bl.ImageStatus)
			}
			continue
		case Table:
			writeTable(&b, bl)
			continue
		}
		prefix := ""
		switch bl.Kind {
		case Quote:
			prefix = strings.Repeat("> ", max(bl.Level, 1))
		case ListItem:
			prefix = strings.Repeat("  ", max(bl.Level-1, 0)) + "• "
		case Heading:
			prefix = strings.Repeat("#", max(bl.Level, 1)) + " "
		}
		for j, l := range strings.Split(spanText(bl.Spans), "\n") {
			if j > 0 && bl.Kind == ListItem {
				b.WriteString(strings.Repeat(" ", len([]rune(prefix))) + l + "\n")
				continue
			}
			if j > 0 && bl.Kind != Quote {
				b.WriteString(l + "\n")
				continue
			}
			b.WriteString(prefix + l + "\n")
		}
	}
	return b.String()
}

// spanText returns the text of spans, each link followed by its target in angle brackets unless
// the text already is the target: what a reader shows of a link, in plain text.
func spanText(spans []Span) string {
	var b strings.Builder
	for _, s := range spans {
		b.WriteString(s.Text)
		if s.Link != "" && s.Link != s.Text && strings.TrimPrefix(s.Link, "mailto:") != s.Text {
			b.WriteString(" <" + s.Link + ">")
		}
	}
	return b.String()
}

// tableCellWidth bounds the width a column of a table is padded to in Text.
const tableCellWidth = 30

// writeTable writes a Table block a line per row, its cells separated by " | " and padded to the
// width of their column (at most tableCellWidth runes); a line break in a cell becomes a space.
func writeTable(b *strings.Builder, bl Block) {
	prefix := strings.Repeat("> ", bl.Level)
	texts := make([][]string, len(bl.Rows))
	var widths []int
	for i, r := range bl.Rows {
		texts[i] = make([]string, len(r))
		for j, c := range r {
			t := strings.ReplaceAll(spanText(c.Spans), "\n", " ")
			texts[i][j] = t
			if j >= len(widths) {
				widths = append(widths, 0)
			}
			widths[j] = max(widths[j], min(utf8.RuneCountInString(t), tableCellWidth))
		}
	}
	for _, r := range texts {
		var line strings.Builder
		for j, t := range r {
			if j > 0 {
				line.WriteString(" | ")
			}
			line.WriteString(t)
			if j < len(r)-1 {
				line.WriteString(strings.Repeat(" ", max(widths[j]-utf8.RuneCountInString(t), 0)))
			}
		}
		b.WriteString(prefix + strings.TrimRight(line.String(), " ") + "\n")
	}
}

func firstNonEmpty(s ...string) string {
	for _, x := range s {
		if x != "" {
			return x
		}
	}
	return ""
}

// mediaTypeExt returns a file extension for a media type, "" when unknown.
func mediaTypeExt(t string) string {
	switch t {
	case "text/plain":
		return ".txt"
	case "text/html":
		return ".html"
	case "message/rfc822":
		return ".eml"
	case "application/pdf":
		return ".pdf"
	case "image/jpeg":
		return ".jpg"
	case "image/png":
		return ".png"
	case "image/gif":
		return ".gif"
	case "text/calendar":
		return ".ics"
	}
	if exts, _ := mime.ExtensionsByType(t); len(exts) > 0 {
		return exts[0]
	}
	return ".bin"
}
