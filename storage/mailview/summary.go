package mailview

import (
	"bufio"
	"bytes"
	"io"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Summary is what the message list shows of one message, taken once at ingest.
type Summary struct {
	From      string    // decoded display form of the first From address
	To        string    // decoded, comma-separated
	Subject   string    // decoded (RFC 2047), never invalid UTF-8
	Date      time.Time // zero when missing or unparseable
	MessageID string
	// InReplyTo is the first identifier of the In-Reply-To field, without angle brackets; ""
	// when missing.
	InReplyTo string
	// References are the identifiers of the References field, without angle brackets, in their
	// order: at most MaxReferences, the first and the last MaxReferences-1 of a longer list (the
	// thread's root and the message's closest ancestors). Nil when missing.
	References     []string
	HasAttachments bool
	Preview        string // the start of the body text, whitespace collapsed
}

// summaryBytes bounds how much of a message Summarize reads.
const summaryBytes = 256 << 10

// MaxReferences is the most identifiers a Summary's References holds.
const MaxReferences = 20

// PreviewLength is the most runes a Summary's Preview holds.
const PreviewLength = 160

// summaryStep is how much of a text part Summarize reads first, and summaryTextBytes the most
// it reads of one (see walker.previewText). 1 KB holds a preview's 160 characters in most mail;
// HTML, which costs about 30 ns a byte to make into text, is tried on a short prefix first.
const (
	summaryStep      = 1 << 10
	summaryTextBytes = 16 << 10
)

// Summarizer summarizes messages one after another, keeping its buffers from one message to the
// next: a folder scan gives each of its workers one. The zero value is ready to use; a
// Summarizer is not safe for concurrent use. A Summary it returns shares no memory with it.
type Summarizer struct {
	br          *bufio.Reader // the message (walker.top)
	hdr         []byte        // its header block as read
	clean       bytes.Buffer  // the header block sanitized (sanitizeHeader)
	cleanReader bytes.Reader  // clean, read by hr
	hr          *bufio.Reader // clean, for the header parser (readEntity)
	raw         []byte        // the start of a text part (walker.previewText)
	fields      [][]byte      // the fields of clean (summaryEntity)
}

// headerReaderSize is the buffer of the header parser's reader: any size works (it reads a line
// at a time), a line longer than it only costs another read.
const headerReaderSize = 4 << 10

// Summarize reads the start of a message (at most 256 KB) and returns its Summary. It never
// fails on malformed mail; only an error reading r is returned. It is the same as a new
// Summarizer's Summarize.
func Summarize(r io.Reader) (Summary, error) {
	var z Summarizer
	return z.Summarize(r)
}

// Summarize reads the start of a message (at most 256 KB) and returns its Summary. It never
// fails on malformed mail; only an error reading r is returned.
//
// It reads only what a Summary needs, through the same walk as Read: the header fields a Summary
// has; a text part only as far as its preview needs (1 KB, then 4 KB and 16 KB while the preview
// is not whole); the part headers that say whether there is an attachment, never an attachment's
// body (a uuencoded file in a text part counts when it begins in what was read of the text); and
// it stops once it has text and an attachment.
func (z *Summarizer) Summarize(r io.Reader) (Summary, error) {
	// The preview comes from the plain-text alternative when there is one: it reads better than
	// HTML made into text, and ingest parses no HTML it does not need.
	opts := Options{MaxParts: 200, MaxDepth: 20, MaxTextBytes: summaryTextBytes, PreferPlain: true}
	w := &walker{opts: opts.withDefaults(), msg: &Message{}, extract: -1, summary: true, bufs: z}
	segs, err := w.top(io.LimitReader(r, summaryBytes))
	if err != nil {
		return Summary{}, err
	}
	m := w.msg
	s := Summary{Subject: m.Subject, Date: m.Date, MessageID: m.MessageID, References: boundRefs(m.References),
		HasAttachments: hasRealAttachment(m.Attachments)}
	if len(m.InReplyTo) > 0 {
		s.InReplyTo = m.InReplyTo[0]
	}
	if len(m.From) > 0 {
		s.From = displayName(m.From[0])
	}
	switch len(m.To) {
	case 0:
	case 1:
		s.To = displayName(m.To[0])
	default:
		to := make([]string, 0, len(m.To))
		for _, a := range m.To {
			to = append(to, displayName(a))
		}
		s.To = strings.Join(to, ", ")
	}
	for i := range segs {
		s.Preview = segs[i].preview
		if !segs[i].previewed {
			s.Preview, _ = preview(segs[i].text) // a body shown as raw text
		}
		if s.Preview != "" {
			break
		}
	}
	return s, nil
}

// boundRefs keeps the first and the last MaxReferences-1 identifiers of a longer list, in a
// slice of its own.
func boundRefs(ids []string) []string {
	if len(ids) == 0 {
		return nil
	}
	if len(ids) <= MaxReferences {
		return append([]string(nil), ids...)
	}
	out := make([]string, 0, MaxReferences)
	out = append(out, ids[0])
	return append(out, ids[len(ids)-(MaxReferences-1):]...)
}

// hasRealAttachment ignores inline images referenced by the HTML.
func hasRealAttachment(as []Attachment) bool {
	for _, a := range as {
		if !a.Inline || a.ContentID == "" {
			return true
		}
	}
	return false
}

func displayName(a Address) string {
	if a.Name != "" {
		return a.Name
	}
	return a.Email
}

// preview collapses whitespace, skips quoted lines, and cuts at PreviewLength runes, adding "…"
// when there is more; full reports that cut (the text had more than a preview holds), so a
// caller reading a prefix of a part knows it need not read further.
func preview(text string) (p string, full bool) {
	var b strings.Builder
	n := 0 // runes written
	for text != "" {
		line := text
		if i := strings.IndexByte(text, '\n'); i >= 0 {
			line, text = text[:i], text[i+1:]
		} else {
			text = ""
		}
		t := strings.TrimSpace(line)
		if t == "" || t[0] == '>' {
			continue
		}
		for t != "" {
			end, ascii := wordEnd(t)
			f := t[:end]
			t = strings.TrimLeftFunc(t[end:], unicode.IsSpace)
			if b.Len() > 0 {
				b.WriteByte(' ')
				n++
			}
			if ascii && n+len(f) <= PreviewLength {
				b.WriteString(f) // every rune fits: the same as a rune at a time, at once
				n += len(f)
				continue
			}
			for _, r := range f {
				if n >= PreviewLength { // full, maybe after a space: none before the ellipsis
					return strings.TrimSuffix(b.String(), " ") + "…", true
				}
				b.WriteRune(r)
				n++
			}
		}
	}
	return b.String(), false
}

// wordEnd returns the index of the first white space (unicode.IsSpace) in t, len(t) when there
// is none, and whether t up to it is ASCII. An ASCII byte is tested without decoding it.
func wordEnd(t string) (end int, ascii bool) {
	ascii = true
	for i := 0; i < len(t); {
		if c := t[i]; c < utf8.RuneSelf {
			if c == ' ' || c >= '\t' && c <= '\r' {
				return i, ascii
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(t[i:])
		if unicode.IsSpace(r) {
			return i, ascii
		}
		ascii = false
		i += size
	}
	return len(t), ascii
}
