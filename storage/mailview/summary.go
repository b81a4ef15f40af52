package mailview

import (
	"bufio"
	"io"
	"net/textproto"
	"time"
)

// Summary is what the message list shows of one message, taken once at ingest.
type Summary struct {
	From           string    // decoded display form of the first From address
	To             string    // decoded, comma-separated
	Subject        string    // decoded (RFC 2047), never invalid UTF-8
	Date           time.Time // zero when missing or unparseable
	MessageID      string
	HasAttachments bool
	Preview        string // first ~200 characters of the body text, whitespace collapsed
}

// Summarize reads one message from r and returns its Summary. It reads at most what it needs
// plus a bounded amount of body for the preview; it never fails on malformed mail — a message it
// cannot parse gives a Summary with what could be read and a nil error. Only I/O errors from r are
// returned.
//
// PLACEHOLDER: header-only implementation; the mailview owner replaces it.
func Summarize(r io.Reader) (Summary, error) {
	tp := textproto.NewReader(bufio.NewReader(r))
	h, err := tp.ReadMIMEHeader()
	var s Summary
	if h != nil {
		s.From = h.Get("From")
		s.To = h.Get("To")
		s.Subject = h.Get("Subject")
		s.MessageID = h.Get("Message-Id")
	}
	if err != nil && err != io.EOF {
		return s, nil
	}
	return s, nil
}
