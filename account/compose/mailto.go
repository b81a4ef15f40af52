package compose

import (
	"fmt"
	"net/url"
	"strings"
)

// ParseMailto makes a new message from a mailto URI (RFC 6068), as a browser or file manager
// hands one to the mail program: the addresses before '?' and in to, cc and bcc; subject; body;
// in-reply-to. Other fields are ignored, as RFC 6068 section 3 allows: a link never sets From,
// attachments or any other header. A URI that is not a mailto URI, is not percent-encoded
// properly, or holds a malformed address gives an error naming what was wrong.
func ParseMailto(uri string) (Draft, error) {
	var d Draft
	rest, ok := cutPrefixFold(strings.TrimSpace(uri), "mailto:")
	if !ok {
		return d, fmt.Errorf("compose: %q is not a mailto: link", uri)
	}
	to, query, _ := strings.Cut(rest, "?")
	addrs := func(field, encoded string) error {
		s, err := url.PathUnescape(encoded)
		if err != nil {
			return fmt.Errorf("compose: mailto link: the %s field is not percent-encoded properly: %w", field, err)
		}
		list, err := ParseAddressList(s)
		if err != nil {
			return fmt.Errorf("compose: mailto link: %s: %w", field, err)
		}
		switch field {
		case "to":
			d.To = append(d.To, list...)
		case "cc":
			d.Cc = append(d.Cc, list...)
		case "bcc":
			d.Bcc = append(d.Bcc, list...)
		}
		return nil
	}
	if err := addrs("to", to); err != nil {
		return Draft{}, err
	}
	if query == "" {
		return d, nil
	}
	for _, field := range strings.Split(query, "&") {
		name, value, _ := strings.Cut(field, "=")
		name = strings.ToLower(name)
		switch name {
		case "to", "cc", "bcc":
			if err := addrs(name, value); err != nil {
				return Draft{}, err
			}
		case "subject", "body", "in-reply-to":
			// RFC 6068 percent-encodes UTF-8; '+' is a plus sign, not a space.
			s, err := url.PathUnescape(value)
			if err != nil {
				return Draft{}, fmt.Errorf("compose: mailto link: the %s field is not percent-encoded properly: %w", name, err)
			}
			switch name {
			case "subject":
				d.Subject = strings.Join(strings.FieldsFunc(s, func(r rune) bool { return r == '\r' || r == '\n' }), " ")
			case "body":
				d.Body = s
			case "in-reply-to":
				d.InReplyTo = strings.TrimSpace(s)
			}
		}
	}
	return d, nil
}

// cutPrefixFold is strings.CutPrefix ignoring the case of ASCII letters.
func cutPrefixFold(s, prefix string) (string, bool) {
	if len(s) < len(prefix) || !strings.EqualFold(s[:len(prefix)], prefix) {
		return s, false
	}
	return s[len(prefix):], true
}
