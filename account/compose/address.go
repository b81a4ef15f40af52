package compose

import (
	"net/mail"
	"strings"

	gomail "github.com/emersion/go-message/mail"
)

// ParseAddressList parses what a user types in an address field: addresses separated by commas
// or semicolons, each "Name <local@domain>", "local@domain" or "<local@domain>", names quoted
// or RFC 2047 encoded as in a header; control characters and runs of spaces in a name become
// one space. Empty entries are skipped; blank input gives nil. An
// entry that is not an address gives an *AddressError naming it.
func ParseAddressList(s string) ([]mail.Address, error) {
	var out []mail.Address
	for _, part := range splitAddresses(s) {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		a, err := gomail.ParseAddress(part)
		if err != nil {
			return nil, &AddressError{Address: part, Err: err}
		}
		if err := checkAddress(a.Address); err != nil {
			return nil, &AddressError{Address: part, Err: err}
		}
		a.Name = strings.Join(strings.FieldsFunc(a.Name, func(r rune) bool { return r < ' ' || r == 0x7f || r == ' ' }), " ")
		out = append(out, *a)
	}
	return out, nil
}

// splitAddresses splits at commas and semicolons outside quoted strings, comments and angle
// brackets.
func splitAddresses(s string) []string {
	var out []string
	start, quoted, comment, angle := 0, false, 0, false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\\' && (quoted || comment > 0):
			i++
		case quoted:
			quoted = c != '"'
		case c == '"':
			quoted = true
		case c == '(':
			comment++
		case c == ')' && comment > 0:
			comment--
		case comment > 0:
		case c == '<':
			angle = true
		case c == '>':
			angle = false
		case (c == ',' || c == ';') && !angle:
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return append(out, s[start:])
}
