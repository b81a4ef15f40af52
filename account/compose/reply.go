package compose

import (
	"fmt"
	"io"
	"net/mail"
	"regexp"
	"strings"

	"github.com/poplar-mail/poplar/storage/mailview"
)

// Identity is who the user writes as: the From of a new message and the addresses that are
// the user's own, which a reply to all leaves out.
type Identity struct {
	Name, Email string
	Others      []string // other addresses that are the user's own (aliases), any case
	ReplyTo     string   // an address list for Reply-To, "" for none
	Signature   string   // without the "-- " line; "" for none
}

// From returns the identity's From address.
func (id Identity) From() mail.Address { return mail.Address{Name: id.Name, Address: id.Email} }

// isMe reports whether addr is one of the identity's addresses, compared without regard to case.
func (id Identity) isMe(addr string) bool {
	if strings.EqualFold(addr, id.Email) {
		return true
	}
	for _, o := range id.Others {
		if strings.EqualFold(addr, strings.TrimSpace(o)) {
			return true
		}
	}
	return false
}

// SignatureBlock returns the signature as it ends a body: "-- \n" and the signature with a
// final line end, or "" when there is none.
func (id Identity) SignatureBlock() string {
	sig := strings.TrimRight(strings.ReplaceAll(id.Signature, "\r\n", "\n"), "\n")
	sig = strings.TrimPrefix(strings.TrimPrefix(sig, "-- \n"), "--\n")
	if strings.TrimSpace(sig) == "" {
		return ""
	}
	return "-- \n" + sig + "\n"
}

// NewDraft returns an empty message from the identity: its From and Reply-To and a body of the
// signature alone, after an empty line for the text.
func NewDraft(id Identity) *Draft {
	d := &Draft{From: id.From(), ReplyTo: replyTo(id)}
	if sig := id.SignatureBlock(); sig != "" {
		d.Body = "\n\n" + sig
	}
	return d
}

func replyTo(id Identity) []mail.Address {
	list, err := ParseAddressList(id.ReplyTo)
	if err != nil {
		return nil
	}
	return list
}

// maxReferences bounds the References field of a reply: the first (the thread's root) and the
// most recent identifiers are kept.
const maxReferences = 20

var (
	replyPrefix   = regexp.MustCompile(`(?i)^\s*((re|aw|sv|antw|vs|ref|odp)\s*(\[\d+\]|\(\d+\))?\s*[:：]\s*)+`)
	forwardPrefix = regexp.MustCompile(`(?i)^\s*((fwd?|wg|tr|rv|enc|i)\s*(\[\d+\])?\s*[:：]\s*)+`)
)

// ReplySubject returns "Re: " and the subject without its reply prefixes ("Re:", "RE:",
// "Aw:", "Re[2]:"...), so that a reply to a reply is "Re: x" and not "Re: Re: x".
func ReplySubject(s string) string {
	return "Re: " + strings.TrimSpace(replyPrefix.ReplaceAllString(s, ""))
}

// ForwardSubject returns "Fwd: " and the subject without its forward prefixes ("Fwd:", "Fw:",
// "WG:", "TR:"...).
func ForwardSubject(s string) string {
	return "Fwd: " + strings.TrimSpace(forwardPrefix.ReplaceAllString(s, ""))
}

// addressList converts display addresses, dropping those without an email address (a header
// that could not be parsed).
func addressList(list []mailview.Address) []mail.Address {
	var out []mail.Address
	for _, a := range list {
		if a.Email != "" {
			out = append(out, mail.Address{Name: a.Name, Address: a.Email})
		}
	}
	return out
}

// addUnique appends the addresses of add that are not in seen (lower-cased), nor the user's own
// when skipMe is set, marking them seen.
func addUnique(dst, add []mail.Address, seen map[string]bool, id Identity, skipMe bool) []mail.Address {
	for _, a := range add {
		k := strings.ToLower(a.Address)
		if seen[k] || skipMe && id.isMe(a.Address) {
			continue
		}
		seen[k] = true
		dst = append(dst, a)
	}
	return dst
}

// Reply returns a reply to orig from id. It goes to the original's Reply-To, else its From (to
// its To when the original is the user's own message); with all, also to the original's To (in
// To) and Cc (in Cc), less the user's own addresses and duplicates. The subject gets one "Re: ",
// In-Reply-To and References continue the thread, and the body is an attribution line, the
// original's text (its plain rendering for HTML mail) quoted with "> ", and the signature.
// It does no I/O.
func Reply(orig *mailview.Message, id Identity, all bool) *Draft {
	d := NewDraft(id)
	d.Subject = ReplySubject(orig.Subject)
	primary := addressList(orig.ReplyTo)
	if len(primary) == 0 {
		primary = addressList(orig.From)
		own := len(primary) > 0
		for _, a := range primary {
			own = own && id.isMe(a.Address)
		}
		if own && len(addressList(orig.To)) > 0 {
			primary = addressList(orig.To) // a reply to one's own message goes where it went
		}
	}
	seen := map[string]bool{}
	d.To = addUnique(nil, primary, seen, id, false)
	if all {
		d.To = addUnique(d.To, addressList(orig.To), seen, id, true)
		d.Cc = addUnique(nil, addressList(orig.Cc), seen, id, true)
	}
	if orig.MessageID != "" {
		d.InReplyTo = "<" + orig.MessageID + ">"
	}
	d.References = references(orig)

	var b strings.Builder
	b.WriteString(attribution(orig) + "\n")
	for _, line := range textLines(orig.Text()) {
		if line == "" {
			b.WriteString(">\n")
		} else {
			b.WriteString("> " + line + "\n")
		}
	}
	b.WriteString("\n")
	if sig := id.SignatureBlock(); sig != "" {
		b.WriteString("\n" + sig)
	}
	d.Body = b.String()
	return d
}

// references returns the References of a reply to orig (RFC 5322 3.6.4), with <>: the
// original's References (else its single In-Reply-To) and its Message-ID, at most
// maxReferences, keeping the first.
func references(orig *mailview.Message) []string {
	parents := orig.References
	if len(parents) == 0 && len(orig.InReplyTo) == 1 {
		parents = orig.InReplyTo
	}
	var ids []string
	for _, p := range parents {
		if p = trimID(p); p != "" && !strings.ContainsAny(p, " \t\r\n<>") {
			ids = append(ids, p)
		}
	}
	if orig.MessageID != "" {
		ids = append(ids, trimID(orig.MessageID))
	}
	if len(ids) > maxReferences {
		ids = append(ids[:1], ids[len(ids)-maxReferences+1:]...)
	}
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = "<" + id + ">"
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// dateText formats a date for an attribution line or a forwarded block, in the original's zone.
func dateText(orig *mailview.Message) string {
	if orig.Date.IsZero() {
		return orig.DateText
	}
	return orig.Date.Format("Mon, 2 Jan 2006 at 15:04")
}

// attribution returns "On Mon, 2 Jan 2026 at 10:00, Ada <ada@x> wrote:".
func attribution(orig *mailview.Message) string {
	who := "someone"
	if len(orig.From) > 0 {
		who = orig.From[0].String()
	}
	if d := dateText(orig); d != "" {
		return fmt.Sprintf("On %s, %s wrote:", d, who)
	}
	return who + " wrote:"
}

// textLines splits a text into lines, without the trailing empty ones.
func textLines(s string) []string {
	s = strings.TrimRight(strings.ReplaceAll(s, "\r\n", "\n"), "\n")
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

func joinAddresses(list []mailview.Address) string {
	out := make([]string, len(list))
	for i, a := range list {
		out[i] = a.String()
	}
	return strings.Join(out, ", ")
}

// Forward returns a forward of orig from id, with no recipient and the subject with one
// "Fwd: ". Inline, the body holds a "---------- Forwarded message ---------" block (From, Date,
// Subject, To, Cc), the original's text and the signature, and the original's attachments are
// attached again, each extracted from raw when the message is written. As an attachment, the
// body holds the signature and the original is attached whole as message/rfc822, streamed from
// raw without Poplar's own X-Poplar-* fields. raw opens the stored original; when it is nil,
// nothing is attached. Forward itself does no I/O.
func Forward(orig *mailview.Message, raw func() (io.ReadCloser, error), id Identity, asAttachment bool) *Draft {
	d := NewDraft(id)
	d.Subject = ForwardSubject(orig.Subject)
	if asAttachment {
		if raw != nil {
			d.Attachments = []Attachment{{Name: forwardName(orig.Subject), ContentType: "message/rfc822", Open: raw}}
		}
		return d
	}
	var b strings.Builder
	b.WriteString("\n\n---------- Forwarded message ---------\n")
	fmt.Fprintf(&b, "From: %s\n", joinAddresses(orig.From))
	fmt.Fprintf(&b, "Date: %s\n", dateText(orig))
	fmt.Fprintf(&b, "Subject: %s\n", orig.Subject)
	fmt.Fprintf(&b, "To: %s\n", joinAddresses(orig.To))
	if len(orig.Cc) > 0 {
		fmt.Fprintf(&b, "Cc: %s\n", joinAddresses(orig.Cc))
	}
	b.WriteString("\n")
	for _, line := range textLines(orig.Text()) {
		b.WriteString(line + "\n")
	}
	if sig := id.SignatureBlock(); sig != "" {
		b.WriteString("\n" + sig)
	}
	d.Body = b.String()
	if raw != nil {
		for _, a := range orig.Attachments {
			d.Attachments = append(d.Attachments, Attachment{Name: a.Name, ContentType: a.ContentType, Size: a.Size, Open: extractor(raw, a.Index)})
		}
	}
	return d
}

// forwardName is the file name of a message forwarded as an attachment.
func forwardName(subject string) string {
	name := strings.TrimSpace(mailview.SanitizeFilename(subject, "message/rfc822", 1))
	if name == "" || strings.HasPrefix(name, "attachment-") {
		return "forwarded message.eml"
	}
	if len(name) > 60 {
		name = strings.TrimSpace(strings.ToValidUTF8(name[:60], ""))
	}
	return name + ".eml"
}

// extractor returns an Open function that streams part index of the message raw opens, through
// a pipe: the part is decoded as it is read, never held whole.
func extractor(raw func() (io.ReadCloser, error), index int) func() (io.ReadCloser, error) {
	return func() (io.ReadCloser, error) {
		src, err := raw()
		if err != nil {
			return nil, err
		}
		pr, pw := io.Pipe()
		go func() {
			defer src.Close()
			_, err := mailview.ExtractAttachment(src, index, pw)
			pw.CloseWithError(err)
		}()
		return pr, nil
	}
}
