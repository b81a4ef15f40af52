package mailview

import (
	"encoding/base64"
	"fmt"
	"io"
	"mime"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/emersion/go-message/charset"
	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/htmlindex"
	"golang.org/x/text/encoding/ianaindex"
	"golang.org/x/text/encoding/japanese"
	"golang.org/x/text/encoding/korean"
	"golang.org/x/text/encoding/simplifiedchinese"
	"golang.org/x/text/encoding/unicode"
)

// aliases map charset labels that mail software mislabels to the encoding that decodes what they
// really hold: gb2312 mail is GBK in practice (GB18030 is a superset), iso-8859-1 mail is
// windows-1252, ks_c_5601-1987 is EUC-KR.
var aliases = map[string]encoding.Encoding{
	"gb2312":            simplifiedchinese.GB18030,
	"gbk":               simplifiedchinese.GB18030,
	"x-gbk":             simplifiedchinese.GB18030,
	"cp936":             simplifiedchinese.GB18030,
	"iso-8859-1":        charmap.Windows1252,
	"iso8859-1":         charmap.Windows1252,
	"latin1":            charmap.Windows1252,
	"us-ascii":          charmap.Windows1252,
	"ascii":             charmap.Windows1252,
	"ks_c_5601-1987":    korean.EUCKR,
	"ks_c_5601":         korean.EUCKR,
	"x-mac-cyrillic":    charmap.MacintoshCyrillic,
	"cp932":             japanese.ShiftJIS,
	"windows-31j":       japanese.ShiftJIS,
	"x-sjis":            japanese.ShiftJIS,
	"sjis":              japanese.ShiftJIS,
	"shift-jis":         japanese.ShiftJIS,
	"ms_kanji":          japanese.ShiftJIS,
	"utf-7":             utf7{},
	"unicode-1-1-utf-7": utf7{},
	"x-mac-roman":       charmap.Macintosh,
	"macintosh":         charmap.Macintosh,
	"utf8":              unicode.UTF8,
	"x-unknown":         charmap.Windows1252,
	"unknown-8bit":      charmap.Windows1252,
	"x-user-defined":    charmap.Windows1252,
	"windows-874":       charmap.Windows874,
	"cp1252":            charmap.Windows1252,
	"cp1251":            charmap.Windows1251,
	"cp1250":            charmap.Windows1250,
	"ansi_x3.4-1968":    charmap.Windows1252,
	"iso-8859-8-i":      charmap.ISO8859_8,
	"utf-16":            unicode.UTF16(unicode.LittleEndian, unicode.UseBOM),
	"ucs-2":             unicode.UTF16(unicode.LittleEndian, unicode.UseBOM),
	"iso-10646-ucs-2":   unicode.UTF16(unicode.BigEndian, unicode.UseBOM),
}

func init() {
	// go-message decodes bodies and encoded words through its charset package: teach it the
	// aliases too. This runs once, before any reading.
	for name, enc := range aliases {
		charset.RegisterEncoding(name, enc)
	}
}

// lookupCharset finds the encoding for a label; ok is false when it is unknown.
func lookupCharset(label string) (enc encoding.Encoding, ok bool) {
	l := strings.ToLower(strings.Trim(strings.TrimSpace(label), `"'`))
	if l == "" {
		return nil, false
	}
	if e, ok := aliases[l]; ok {
		return e, true
	}
	if e, err := ianaindex.MIME.Encoding(l); err == nil && e != nil {
		return e, true
	}
	if e, err := htmlindex.Get(l); err == nil && e != nil {
		return e, true
	}
	return nil, false
}

// decodeText converts raw bytes in a charset to valid UTF-8. An unknown charset falls back to
// UTF-8 when the bytes are valid UTF-8, else windows-1252; warn describes the fallback ("" if none).
func decodeText(raw []byte, label string) (text string, warn string) {
	enc, ok := lookupCharset(label)
	if !ok {
		if label != "" {
			warn = fmt.Sprintf("unknown charset %q", label)
		}
		if utf8.Valid(raw) {
			return string(raw), warnSuffix(warn, "shown as UTF-8")
		}
		enc = charmap.Windows1252
		warn = warnSuffix(warn, "shown as windows-1252")
	}
	out, err := enc.NewDecoder().Bytes(raw)
	if err != nil {
		return strings.ToValidUTF8(string(raw), "\uFFFD"), fmt.Sprintf("charset %q could not decode the text: %v", label, err)
	}
	if !utf8.Valid(out) {
		return strings.ToValidUTF8(string(out), "\uFFFD"), warn
	}
	return string(out), warn
}

func warnSuffix(w, s string) string {
	if w == "" {
		return ""
	}
	return w + ": " + s
}

// wordDecoder decodes RFC 2047 encoded words with the aliases, falling back to windows-1252.
var wordDecoder = &mime.WordDecoder{CharsetReader: func(label string, r io.Reader) (io.Reader, error) {
	raw, err := io.ReadAll(io.LimitReader(r, 1<<20))
	if err != nil {
		return nil, err
	}
	s, _ := decodeText(raw, label)
	return strings.NewReader(s), nil
}}

// decodeHeader turns a raw header value into readable text: RFC 2047 words are decoded (even when
// glued to other text, as broken mailers do), and raw 8-bit bytes are read in fallback, the charset
// of the message body (a good guess for mail that puts unencoded bytes in its header).
func decodeHeader(v, fallback string) string {
	if !utf8.ValidString(v) {
		s, _ := decodeText([]byte(v), fallback)
		if fallback == "" || strings.ContainsRune(s, utf8.RuneError) {
			s, _ = decodeText([]byte(v), "windows-1252")
		}
		v = s
	}
	if strings.Contains(v, "=?") {
		if d, err := wordDecoder.DecodeHeader(v); err == nil {
			v = d
		}
		if encodedWord.MatchString(v) {
			v = decodeWordsLeniently(v) // words the strict decoder left alone
		}
	}
	return strings.Join(strings.Fields(cleanText(v)), " ")
}

var (
	encodedWord = regexp.MustCompile(`=\?[^?\s]+\?[bBqQ]\?[^?\s]*\?=`)
	wordGap     = regexp.MustCompile(`(=\?[^?\s]+\?[bBqQ]\?[^?\s]*\?=)\s+(=\?)`)
)

// decodeWordsLeniently decodes each encoded word on its own, even inside other text, leaving
// what does not decode as it is.
func decodeWordsLeniently(v string) string {
	for i := 0; i < 100 && wordGap.MatchString(v); i++ {
		v = wordGap.ReplaceAllString(v, "$1$2")
	}
	return encodedWord.ReplaceAllStringFunc(v, func(w string) string {
		if d, err := wordDecoder.Decode(w); err == nil {
			return d
		}
		if d, ok := decodeWordLoosely(w); ok {
			return d
		}
		return w
	})
}

// decodeWordLoosely decodes an encoded word that breaks the rules (bad base64 padding, an
// unknown charset such as "NONE").
func decodeWordLoosely(w string) (string, bool) {
	parts := strings.SplitN(strings.TrimSuffix(strings.TrimPrefix(w, "=?"), "?="), "?", 3)
	if len(parts) != 3 {
		return "", false
	}
	label, enc, text := parts[0], strings.ToUpper(parts[1]), parts[2]
	if i := strings.IndexByte(label, '*'); i >= 0 {
		label = label[:i] // RFC 2231 language suffix
	}
	var raw []byte
	switch enc {
	case "B":
		b, err := base64.RawStdEncoding.DecodeString(strings.TrimRight(text, "="))
		if err != nil {
			return "", false
		}
		raw = b
	case "Q":
		for i := 0; i < len(text); i++ {
			c := text[i]
			switch {
			case c == '_':
				raw = append(raw, ' ')
			case c == '=' && i+2 < len(text):
				if v, err := strconv.ParseUint(text[i+1:i+3], 16, 8); err == nil {
					raw = append(raw, byte(v))
					i += 2
				} else {
					raw = append(raw, c)
				}
			default:
				raw = append(raw, c)
			}
		}
	default:
		return "", false
	}
	s, _ := decodeText(raw, label)
	return s, true
}

// cleanText removes control characters (except tab and newline) and bidi overrides, and makes
// the text valid UTF-8.
func cleanText(s string) string {
	i := firstBad(s)
	if i < 0 {
		return s
	}
	// s[:i] is clean: ToValidUTF8 leaves it as it is.
	s = strings.ToValidUTF8(s, "\uFFFD")
	var b strings.Builder
	b.Grow(len(s))
	b.WriteString(s[:i])
	for _, r := range s[i:] {
		if !badRune(r) {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// firstBad returns the index of the first byte of s that is not valid UTF-8 or starts a rune
// badRune rejects, -1 when there is none. Text is mostly ASCII: a byte is tested without
// decoding it.
func firstBad(s string) int {
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if (c < 0x20 && c != '\t' && c != '\n') || c == 0x7f {
				return i
			}
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		if (r == utf8.RuneError && n == 1) || badRune(r) {
			return i
		}
		i += n
	}
	return -1
}

func badRune(r rune) bool {
	if r == '\t' || r == '\n' {
		return false
	}
	return r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) || isBidiControl(r)
}

func isBidiControl(r rune) bool {
	return (r >= 0x202a && r <= 0x202e) || (r >= 0x2066 && r <= 0x2069) || r == 0x200e || r == 0x200f || r == 0x061c
}
