// Package compose builds outgoing mail: a Draft (addresses, subject, plain-text body,
// attachments, threading headers) written as an RFC 5322 message with MIME (RFC 2045–2049),
// RFC 2047 encoded words in headers and RFC 2231 encoded attachment names; replies and forwards
// of a stored message (RFC 5322 3.6.4 threading); and the envelope of a ready-made message for
// `poplar send --raw`. It does no network I/O and opens no files: attachments and forwarded
// messages are read through the functions it is given, and streamed, never held whole in memory.
package compose

import (
	"bufio"
	"crypto/rand"
	"encoding/base32"
	"errors"
	"fmt"
	"io"
	"net/mail"
	"strconv"
	"strings"
	"time"

	"github.com/emersion/go-message/textproto"
	"golang.org/x/net/idna"
)

// Attachment is a file attached to a Draft.
type Attachment struct {
	// Name is the file name shown to the recipient (path elements and control characters are
	// dropped; RFC 2231 encoded when not ASCII). "" becomes "attachment".
	Name string
	// ContentType is the media type, with parameters if any; "" means sniffed from the name,
	// else from the first 512 bytes of the content.
	ContentType string
	// Size is the size in bytes, for the composer to show; 0 means unknown. It is not written.
	Size int64
	// Open returns the content; it is called (once, or twice for a message/rfc822 part) while
	// the message is written, streamed through an encoder and closed. It must not be nil.
	Open func() (io.ReadCloser, error)
}

// Draft is a message to be written. The zero values of Date and MessageID are filled in when
// the message is written; the Draft itself is not changed.
type Draft struct {
	From                 mail.Address
	To, Cc, Bcc, ReplyTo []mail.Address
	Subject              string
	Body                 string // plain text, the signature included; line ends are normalized
	Attachments          []Attachment
	InReplyTo            string   // Message-ID of the answered message, with or without <>
	References           []string // Message-IDs, oldest first, with or without <>
	Date                 time.Time
	MessageID            string // "" means generated: random, @ the From domain; with or without <>
}

// WriteOptions say what the receiving server accepts.
type WriteOptions struct {
	// EightBit allows 8-bit text (UTF-8 not quoted-printable encoded) when the server announced
	// 8BITMIME (RFC 6152); the sender should then send MAIL FROM with BODY=8BITMIME. Lines
	// longer than 78 octets, lines starting with "." or "From " and trailing white space are
	// quoted-printable encoded anyway.
	EightBit bool
}

// Errors of Validate and WriteTo; test with errors.Is.
var (
	ErrNoFrom      = errors.New("compose: no From address")
	ErrNoRecipient = errors.New("compose: no recipient (To, Cc or Bcc)")
	ErrLineBreak   = errors.New("compose: a header field contains a line break")
)

// AddressError reports an address that is not a valid email address.
type AddressError struct {
	Field   string // "From", "To", "Cc", "Bcc", "Reply-To", or "" for ParseAddressList
	Address string // the address as given
	Err     error  // the parser's error, if any
}

func (e *AddressError) Error() string {
	if e.Field == "" {
		return fmt.Sprintf("compose: %q is not a valid email address", e.Address)
	}
	return fmt.Sprintf("compose: %s: %q is not a valid email address", e.Field, e.Address)
}

func (e *AddressError) Unwrap() error { return e.Err }

// Validate checks that the draft can be sent: a valid From address, at least one recipient,
// every address valid (the error is an *AddressError naming it), no line break in a header
// field and an Open function for every attachment. It does no I/O.
func (d *Draft) Validate() error {
	if err := d.validateHeader(); err != nil {
		return err
	}
	if len(d.To)+len(d.Cc)+len(d.Bcc) == 0 {
		return ErrNoRecipient
	}
	return d.checkAttachments()
}

// checkAttachments checks that every attachment has an Open function.
func (d *Draft) checkAttachments() error {
	for i, a := range d.Attachments {
		if a.Open == nil {
			return fmt.Errorf("compose: attachment %d (%s) has no content", i+1, a.Name)
		}
	}
	return nil
}

// validateHeader checks what WriteTo needs: a From address, valid addresses, no line breaks.
func (d *Draft) validateHeader() error {
	if d.From.Address == "" {
		return ErrNoFrom
	}
	lists := []struct {
		field string
		list  []mail.Address
	}{{"From", []mail.Address{d.From}}, {"To", d.To}, {"Cc", d.Cc}, {"Bcc", d.Bcc}, {"Reply-To", d.ReplyTo}}
	for _, l := range lists {
		for _, a := range l.list {
			if err := checkAddress(a.Address); err != nil {
				return &AddressError{Field: l.field, Address: a.Address, Err: err}
			}
			if strings.ContainsAny(a.Name, "\r\n") {
				return fmt.Errorf("%w: the name of %s", ErrLineBreak, a.Address)
			}
		}
	}
	fields := append([]string{d.Subject, d.InReplyTo, d.MessageID}, d.References...)
	for _, f := range fields {
		if strings.ContainsAny(f, "\r\n") {
			return fmt.Errorf("%w: %q", ErrLineBreak, f)
		}
	}
	return nil
}

// errBadAddress is the cause of an AddressError when the parser accepted something else.
var errBadAddress = errors.New("not a plain address")

// checkAddress accepts a bare addr-spec ("local@domain").
func checkAddress(s string) error {
	if s == "" {
		return errors.New("empty")
	}
	at := strings.LastIndexByte(s, '@')
	if at <= 0 || at == len(s)-1 || strings.ContainsAny(s, " \t\r\n<>,;") {
		return errBadAddress
	}
	p, err := mail.ParseAddress("<" + s + ">")
	if err != nil {
		return err
	}
	if p.Address != s {
		return errBadAddress
	}
	return nil
}

// Recipients returns the envelope recipients: every To, Cc and Bcc address, in that order,
// each once (compared without regard to case).
func (d *Draft) Recipients() []string {
	seen := map[string]bool{}
	var out []string
	for _, l := range [][]mail.Address{d.To, d.Cc, d.Bcc} {
		for _, a := range l {
			k := strings.ToLower(a.Address)
			if a.Address == "" || seen[k] {
				continue
			}
			seen[k] = true
			out = append(out, a.Address)
		}
	}
	return out
}

// NeedsSMTPUTF8 reports whether an address of the draft (From, To, Cc, Bcc or Reply-To) is
// not ASCII, so that the message can only go to a server that announced SMTPUTF8 (RFC 6531):
// such an address is written as UTF-8 in the header.
func (d *Draft) NeedsSMTPUTF8() bool {
	for _, l := range [][]mail.Address{{d.From}, d.To, d.Cc, d.Bcc, d.ReplyTo} {
		for _, a := range l {
			for i := 0; i < len(a.Address); i++ {
				if a.Address[i] >= 0x80 {
					return true
				}
			}
		}
	}
	return false
}

// WriteTo writes the message to w as 7-bit-safe mail (WriteOptions{}): see WriteWith.
func (d *Draft) WriteTo(w io.Writer) (int64, error) {
	return d.WriteWith(w, WriteOptions{})
}

// WriteWith writes the message to w: an RFC 5322 header (Date, From, Reply-To, To, Cc,
// Subject, Message-ID, In-Reply-To, References, MIME-Version; never Bcc) and a text/plain
// body, or a multipart/mixed of the text and the attachments (base64, streamed from Open).
// Lines end in CRLF. It checks the header as Validate does, except that it needs no recipient.
// It returns the bytes written and the first error from w or from an attachment.
func (d *Draft) WriteWith(w io.Writer, opts WriteOptions) (int64, error) {
	cw := &countWriter{w: w}
	// The encoders write a line (or less) at a time: buffered, w sees few large writes. Through
	// an io.Pipe to a reader on another thread, one small write per line cost a 25 MB attachment
	// 15 s of thread switches (make bench, the send step); buffered it takes 0.6 s.
	bw := bufio.NewWriterSize(cw, writeBuffer)
	err := d.write(bw, opts)
	if ferr := bw.Flush(); err == nil {
		err = ferr
	}
	return cw.n, err
}

// writeBuffer is the buffer between the encoders and the writer WriteWith is given.
const writeBuffer = 64 << 10

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

func (d *Draft) write(w io.Writer, opts WriteOptions) error {
	if err := d.validateHeader(); err != nil {
		return err
	}
	if err := d.checkAttachments(); err != nil {
		return err
	}
	date := d.Date
	if date.IsZero() {
		date = time.Now()
	}
	id := trimID(d.MessageID)
	if id == "" {
		id = NewMessageID(d.From.Address)
	}
	// textproto.Header inserts at the top: add the fields in reverse order.
	var fields [][2]string
	add := func(k, v string) { fields = append(fields, [2]string{k, v}) }
	add("Date", date.Format("Mon, 02 Jan 2006 15:04:05 -0700"))
	add("From", formatAddresses([]mail.Address{d.From}))
	if len(d.ReplyTo) > 0 {
		add("Reply-To", formatAddresses(d.ReplyTo))
	}
	if len(d.To) > 0 {
		add("To", formatAddresses(d.To))
	}
	if len(d.Cc) > 0 {
		add("Cc", formatAddresses(d.Cc))
	}
	add("Subject", encodeText(d.Subject))
	add("Message-ID", "<"+id+">")
	if irt := trimID(d.InReplyTo); irt != "" {
		add("In-Reply-To", "<"+irt+">")
	}
	if refs := formatIDs(d.References); refs != "" {
		add("References", refs)
	}
	add("MIME-Version", "1.0")

	body, enc := prepareText(d.Body, opts.EightBit)
	textType := "text/plain; charset=utf-8"
	var mw *textproto.MultipartWriter
	if len(d.Attachments) == 0 {
		add("Content-Type", textType)
		add("Content-Transfer-Encoding", enc)
	} else {
		mw = textproto.NewMultipartWriter(w)
		add("Content-Type", "multipart/mixed; boundary=\""+mw.Boundary()+"\"")
	}
	var h textproto.Header
	for i := len(fields) - 1; i >= 0; i-- {
		h.AddRaw(foldField(fields[i][0], fields[i][1]))
	}
	if err := textproto.WriteHeader(w, h); err != nil {
		return fmt.Errorf("compose: %w", err)
	}
	if mw == nil {
		return writeText(w, body, enc)
	}
	var th textproto.Header
	th.AddRaw(foldField("Content-Transfer-Encoding", enc))
	th.AddRaw(foldField("Content-Type", textType))
	pw, err := mw.CreatePart(th)
	if err != nil {
		return fmt.Errorf("compose: %w", err)
	}
	if err := writeText(pw, body, enc); err != nil {
		return err
	}
	for i := range d.Attachments {
		if err := writeAttachment(mw, &d.Attachments[i], opts); err != nil {
			return err
		}
	}
	if err := mw.Close(); err != nil {
		return fmt.Errorf("compose: %w", err)
	}
	return nil
}

// formatAddresses formats a list for a header: names RFC 2047 encoded when not ASCII.
func formatAddresses(list []mail.Address) string {
	out := make([]string, len(list))
	for i := range list {
		out[i] = formatAddress(list[i])
	}
	return strings.Join(out, ", ")
}

// trimID returns a message identifier without white space and angle brackets.
func trimID(s string) string {
	return strings.TrimSuffix(strings.TrimPrefix(strings.TrimSpace(s), "<"), ">")
}

func formatIDs(ids []string) string {
	var out []string
	for _, id := range ids {
		if id = trimID(id); id != "" {
			out = append(out, "<"+id+">")
		}
	}
	return strings.Join(out, " ")
}

var idEncoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// NewMessageID returns a new random message identifier (without angle brackets) at the
// domain of from, or at "poplar.invalid" when from has no usable domain. An internationalized
// domain is written in its ASCII (punycode) form.
func NewMessageID(from string) string {
	var b [16]byte
	rand.Read(b[:])
	return strconv.FormatInt(time.Now().UnixMilli(), 36) + "." + idEncoding.EncodeToString(b[:]) + "@" + idDomain(from)
}

func idDomain(from string) string {
	at := strings.LastIndexByte(from, '@')
	if at < 0 {
		return "poplar.invalid"
	}
	d, err := idna.Lookup.ToASCII(from[at+1:])
	if err != nil || d == "" {
		return "poplar.invalid"
	}
	for _, r := range d {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '.') {
			return "poplar.invalid"
		}
	}
	return d
}
