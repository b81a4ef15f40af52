package mailview

import (
	"encoding/base64"
	"strings"
	"unicode/utf16"
	"unicode/utf8"

	"golang.org/x/text/encoding"
	"golang.org/x/text/transform"
)

// utf7 decodes UTF-7 (RFC 2152), which go-message and x/text lack but old Outlook mail uses.
// It decodes whole texts (mail parts are read whole); encoding is not supported.
type utf7 struct{}

func (utf7) NewDecoder() *encoding.Decoder { return &encoding.Decoder{Transformer: &utf7Decoder{}} }
func (utf7) NewEncoder() *encoding.Encoder { return encoding.Nop.NewEncoder() }

type utf7Decoder struct{ transform.NopResetter }

// Transform decodes src; it needs the whole of a "+...-" run in one call, so it asks for more
// input until the run ends.
func (d *utf7Decoder) Transform(dst, src []byte, atEOF bool) (nDst, nSrc int, err error) {
	for nSrc < len(src) {
		c := src[nSrc]
		if c != '+' {
			if nDst >= len(dst) {
				return nDst, nSrc, transform.ErrShortDst
			}
			dst[nDst] = c
			nDst++
			nSrc++
			continue
		}
		end := nSrc + 1
		for end < len(src) && isB64(src[end]) {
			end++
		}
		if end == len(src) && !atEOF {
			return nDst, nSrc, transform.ErrShortSrc
		}
		run := string(src[nSrc+1 : end])
		var out string
		if run == "" {
			out = "+"
		} else {
			out = decodeUTF7Run(run)
		}
		next := end
		if next < len(src) && src[next] == '-' {
			next++
		}
		if len(dst)-nDst < len(out) {
			return nDst, nSrc, transform.ErrShortDst
		}
		nDst += copy(dst[nDst:], out)
		nSrc = next
	}
	return nDst, nSrc, nil
}

func isB64(c byte) bool {
	return c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '+' || c == '/'
}

func decodeUTF7Run(run string) string {
	b, err := base64.RawStdEncoding.DecodeString(run)
	if err != nil {
		// Drop trailing bits that do not make a whole byte.
		for cut := 1; cut < 4 && err != nil; cut++ {
			b, err = base64.RawStdEncoding.DecodeString(run[:len(run)-cut])
		}
		if err != nil {
			return string(utf8.RuneError)
		}
	}
	u := make([]uint16, 0, len(b)/2)
	for i := 0; i+1 < len(b); i += 2 {
		u = append(u, uint16(b[i])<<8|uint16(b[i+1]))
	}
	var sb strings.Builder
	for _, r := range utf16.Decode(u) {
		sb.WriteRune(r)
	}
	return sb.String()
}
