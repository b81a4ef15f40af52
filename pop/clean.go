package pop

import (
	"strings"
	"unicode/utf8"
)

// CleanText makes text from a server safe to show in a terminal, a log or a desktop notification.
// It removes terminal escape sequences (ESC and C1 CSI with their parameters, OSC and other
// strings up to their terminator), control characters (C0, DEL, C1; tab, CR and LF become a
// space), bidirectional overrides, embeddings, isolates and marks, and HTML-like tags such as
// <b>, </b>, <br/>, <a href="..."> and <!-- ... -->. Text in angle brackets that is not a tag is
// kept, such as an APOP timestamp <1896.697170952@dbc.mtview.ca.us> or an address
// <user@example.org>. Invalid UTF-8 becomes U+FFFD. It does no I/O and never fails; the result
// holds no tag and CleanText leaves it unchanged.
func CleanText(s string) string {
	if isPlain(s) {
		return s
	}
	return stripTags(stripControls(s))
}

// isPlain reports whether s is printable ASCII without '<' (the usual case: nothing to do).
func isPlain(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f || c == '<' {
			return false
		}
	}
	return true
}

// stripControls removes escape sequences, control characters and bidi controls.
func stripControls(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == 0x1b:
			i += escapeLen(s[i:])
			continue
		case r == 0x9b: // C1 CSI: parameters and final byte follow
			i += size + csiLen(s[i+size:])
			continue
		case r == '\t' || r == '\n' || r == '\r' || r == 0x2028 || r == 0x2029:
			b.WriteByte(' ')
		case r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) || isBidiControl(r):
		default:
			b.WriteRune(r) // an invalid byte is written as U+FFFD
		}
		i += size
	}
	return b.String()
}

// isBidiControl reports whether r reorders or marks text direction (Unicode UAX #9).
func isBidiControl(r rune) bool {
	return r == 0x061c || r == 0x200e || r == 0x200f || (r >= 0x202a && r <= 0x202e) || (r >= 0x2066 && r <= 0x2069)
}

// escapeLen returns the length of the escape sequence at the start of s (s[0] is ESC).
func escapeLen(s string) int {
	if len(s) < 2 {
		return len(s)
	}
	switch c := s[1]; {
	case c == '[':
		return 2 + csiLen(s[2:])
	case c == ']' || c == 'P' || c == 'X' || c == '^' || c == '_':
		// OSC, DCS, SOS, PM, APC: a string up to BEL or ST (ESC \), or to the end.
		for i := 2; i < len(s); i++ {
			if s[i] == 0x07 {
				return i + 1
			}
			if s[i] == 0x1b {
				if i+1 < len(s) && s[i+1] == '\\' {
					return i + 2
				}
				return i
			}
		}
		return len(s)
	case c >= 0x20 && c <= 0x2f: // intermediate bytes, then a final byte
		i := 1
		for i < len(s) && s[i] >= 0x20 && s[i] <= 0x2f {
			i++
		}
		if i < len(s) && s[i] >= 0x30 && s[i] <= 0x7e {
			i++
		}
		return i
	case c >= 0x30 && c <= 0x7e:
		return 2
	}
	return 1
}

// csiLen returns the length of a control sequence's parameters, intermediates and final byte.
func csiLen(s string) int {
	i := 0
	for i < len(s) && s[i] >= 0x30 && s[i] <= 0x3f {
		i++
	}
	for i < len(s) && s[i] >= 0x20 && s[i] <= 0x2f {
		i++
	}
	if i < len(s) && s[i] >= 0x40 && s[i] <= 0x7e {
		i++
	}
	return i
}

// stripTags removes HTML-like tags in one pass. Each '<' is remembered; at a '>', the text from
// the last remembered '<' is a tag or not, decided once: a tag is removed (which may complete an
// earlier one, as in "<<b>b>"), text that is not a tag stays. See isTag.
func stripTags(s string) string {
	if strings.IndexByte(s, '<') < 0 {
		return s
	}
	type open struct {
		at     int  // index in out
		notTag bool // decided at an earlier '>'
	}
	out := make([]byte, 0, len(s))
	var opens []open
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch c {
		case '<':
			opens = append(opens, open{at: len(out)})
		case '>':
			if n := len(opens); n > 0 && !opens[n-1].notTag {
				if isTag(out[opens[n-1].at:]) {
					out = out[:opens[n-1].at]
					opens = opens[:n-1]
					continue
				}
				opens[n-1].notTag = true
			}
		}
		out = append(out, c)
	}
	return string(out)
}

// isTag reports whether b, which starts with '<' and holds no other '<' or '>', is the start of a
// tag: "<!" or "<?" and anything, or "<", an optional "/", a name of ASCII letters, digits, '-'
// or ':' beginning with a letter, and then nothing, a space or a '/'. "<b", "</b", "<a href=x"
// and "<!--" are tags; "<1896.6@host" and "<user@example.org" are not.
func isTag(b []byte) bool {
	i := 1
	if i < len(b) && (b[i] == '!' || b[i] == '?') {
		return true
	}
	if i < len(b) && b[i] == '/' {
		i++
	}
	if i >= len(b) || !isLetter(b[i]) {
		return false
	}
	for i < len(b) && (isLetter(b[i]) || (b[i] >= '0' && b[i] <= '9') || b[i] == '-' || b[i] == ':') {
		i++
	}
	return i == len(b) || b[i] == ' ' || b[i] == '/'
}

func isLetter(c byte) bool { return (c|0x20) >= 'a' && (c|0x20) <= 'z' }
