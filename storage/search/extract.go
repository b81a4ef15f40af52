package search

import (
	"bufio"
	"errors"
	"io"
	"strings"

	"github.com/emersion/go-message"
	"github.com/emersion/go-message/mail"
	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"

	"github.com/poplar-mail/poplar/storage/mailview"
)

// indexed is what the index holds of a message.
type indexed struct {
	from, to, subject, body string
	attach                  []string
}

// errUnusual means a message needs mailview's careful reading.
var errUnusual = errors.New("search: unusual message")

// extract reads what is indexed of a message. Well-formed mail (the great majority) is read
// directly with go-message: headers, the text of text/plain and text/html parts (the plain one
// of an alternative), attachment names, without decoding attachments or laying out the text for
// display. Anything unusual (a header or part that does not parse, an unknown charset or
// encoding, an attached message, uuencoded files, TNEF) is read with
// mailview.Read, as the reader shows it. mailview.Read took 0.9 ms of CPU a message of the
// benchmark mailbox (two thirds of indexing: linkifying, HTML layout, decoding attachments);
// this takes a fraction of that.
//
// br is the buffer it reads through (reset to the message): a goroutine that indexes many
// messages keeps one (a new 32 KB buffer a message was a fifth of the bytes an index build
// allocated); newExtractReader makes one.
func extract(open func() (io.ReadCloser, error), br *bufio.Reader) (indexed, error) {
	rc, err := open()
	if err != nil {
		return indexed{}, err
	}
	br.Reset(io.LimitReader(rc, readBytes))
	out, err := extractFast(br)
	br.Reset(nil) // hold no reference to the file
	rc.Close()
	if err == nil {
		return out, nil
	}
	if rc, err = open(); err != nil {
		return indexed{}, err
	}
	defer rc.Close()
	return extractCareful(io.LimitReader(rc, readBytes))
}

// newExtractReader returns a buffer for extract.
func newExtractReader() *bufio.Reader { return bufio.NewReaderSize(nil, 32<<10) }

// extractCareful reads a message with mailview.
func extractCareful(r io.Reader) (indexed, error) {
	m, err := mailview.Read(r, mailview.Options{MaxParts: 500, MaxDepth: 20, MaxTextBytes: BodyBytes, PreferPlain: true})
	if err != nil {
		return indexed{}, err
	}
	out := indexed{
		from:    addresses(m.From),
		to:      addresses(append(append([]mailview.Address{}, m.To...), m.Cc...)),
		subject: m.Subject,
		body:    truncate(m.Text(), BodyBytes),
	}
	for _, a := range m.Attachments {
		if a.OrigName != "" {
			out.attach = append(out.attach, a.OrigName)
		} else if a.Name != "" {
			out.attach = append(out.attach, a.Name)
		}
	}
	return out, nil
}

// extractFast reads well-formed mail; errUnusual (or another error) when it cannot.
func extractFast(r io.Reader) (indexed, error) {
	e, err := message.Read(r)
	if err != nil {
		return indexed{}, errUnusual
	}
	h := mail.Header{Header: e.Header}
	var out indexed
	var list []*mail.Address
	for _, f := range []string{"From", "To", "Cc"} {
		as, err := h.AddressList(f)
		if err != nil {
			return out, errUnusual
		}
		if f == "From" {
			out.from = mailAddresses(as)
		} else {
			list = append(list, as...)
		}
	}
	out.to = mailAddresses(list)
	if out.subject, err = h.Subject(); err != nil {
		return out, errUnusual
	}
	x := &fastWalker{}
	if err := x.entity(e, 0); err != nil {
		return out, err
	}
	out.body, out.attach = truncate(x.body.String(), BodyBytes), x.names
	return out, nil
}

func mailAddresses(as []*mail.Address) string {
	var b strings.Builder
	for _, a := range as {
		b.WriteString(a.Name)
		b.WriteByte(' ')
		b.WriteString(a.Address)
		b.WriteByte('\n')
	}
	return b.String()
}

// fastWalker collects the text and attachment names of a message's parts.
type fastWalker struct {
	body  strings.Builder
	names []string
	parts int
}

func (x *fastWalker) entity(e *message.Entity, depth int) error {
	x.parts++
	if depth > 20 || x.parts > 500 {
		return errUnusual
	}
	mt, params := "text/plain", map[string]string{}
	if e.Header.Get("Content-Type") != "" {
		var err error
		if mt, params, err = e.Header.ContentType(); err != nil {
			return errUnusual
		}
	}
	if mr := e.MultipartReader(); mr != nil {
		if mt == "multipart/alternative" {
			return x.alternative(mr, depth)
		}
		for {
			p, err := mr.NextPart()
			if err == io.EOF {
				return nil
			}
			if err != nil {
				return errUnusual
			}
			if err := x.entity(p, depth+1); err != nil {
				return err
			}
		}
	}
	if strings.HasPrefix(mt, "message/") || strings.HasPrefix(mt, "multipart/") || mt == "application/ms-tnef" {
		return errUnusual
	}
	disp, dparams, _ := e.Header.ContentDisposition()
	name := dparams["filename"]
	if name == "" {
		name = params["name"]
	}
	if disp == "attachment" || mt != "text/plain" && mt != "text/html" {
		if name != "" {
			x.names = append(x.names, name)
		}
		return nil // its body is skipped, not decoded
	}
	if name != "" && disp != "inline" {
		x.names = append(x.names, name)
	}
	return x.text(e.Body, mt == "text/html")
}

// alternative indexes the plain part of a multipart/alternative, else its HTML.
func (x *fastWalker) alternative(mr message.MultipartReader, depth int) error {
	var plain, rich *fastWalker
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			return errUnusual
		}
		sub := &fastWalker{parts: x.parts}
		if err := sub.entity(p, depth+1); err != nil {
			return err
		}
		x.parts = sub.parts
		if mt, _, _ := p.Header.ContentType(); mt == "text/plain" || p.Header.Get("Content-Type") == "" {
			plain = sub
		} else {
			rich = sub
		}
	}
	pick := plain
	if pick == nil || strings.TrimSpace(pick.body.String()) == "" {
		pick = rich
	}
	if pick != nil {
		x.body.WriteString(pick.body.String())
		x.names = append(x.names, pick.names...)
	}
	return nil
}

// text adds a text part's words: plain as it is, HTML's text outside scripts and styles.
func (x *fastWalker) text(r io.Reader, isHTML bool) error {
	lr := io.LimitReader(r, BodyBytes)
	if !isHTML {
		b, err := io.ReadAll(lr)
		if err != nil {
			return errUnusual
		}
		if strings.Contains(string(b), "\nbegin ") { // perhaps uuencoded files
			return errUnusual
		}
		x.body.Write(b)
		x.body.WriteByte('\n')
		return nil
	}
	z := html.NewTokenizer(lr)
	skip := 0
	for {
		switch z.Next() {
		case html.ErrorToken:
			if z.Err() != io.EOF {
				return errUnusual
			}
			x.body.WriteByte('\n')
			return nil
		case html.TextToken:
			if skip == 0 {
				x.body.Write(z.Text())
			}
		case html.StartTagToken:
			name, _ := z.TagName()
			switch atom.Lookup(name) {
			case atom.Script, atom.Style, atom.Head, atom.Title:
				skip++
			}
			x.body.WriteByte(' ')
		case html.EndTagToken:
			name, _ := z.TagName()
			switch atom.Lookup(name) {
			case atom.Script, atom.Style, atom.Head, atom.Title:
				if skip > 0 {
					skip--
				}
			}
			x.body.WriteByte(' ')
		}
	}
}
