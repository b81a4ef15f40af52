package compose

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/mail"
	"path/filepath"
	"strings"
	"unicode/utf8"

	"github.com/emersion/go-message/textproto"
)

// maxWord bounds an encoded word, so that one fits a folded line after any field name.
const maxWord = 66

// encodeText RFC 2047 Q-encodes a header text as UTF-8 when it is not printable ASCII (or
// holds "=?"), in encoded words of at most 66 characters separated by spaces.
func encodeText(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	plain := !strings.Contains(s, "=?")
	for i := 0; i < len(s) && plain; i++ {
		plain = s[i] >= ' ' && s[i] <= '~'
	}
	if plain {
		return s
	}
	const prefix, suffix = "=?utf-8?q?", "?="
	var words []string
	var cur []byte
	for _, r := range s {
		var enc []byte
		for _, c := range []byte(string(r)) {
			switch {
			case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', strings.IndexByte("!*+-/", c) >= 0:
				enc = append(enc, c)
			case c == ' ':
				enc = append(enc, '_')
			default:
				enc = fmt.Appendf(enc, "=%02X", c)
			}
		}
		if len(cur)+len(enc) > maxWord-len(prefix)-len(suffix) {
			words = append(words, prefix+string(cur)+suffix)
			cur = nil
		}
		cur = append(cur, enc...)
	}
	if len(cur) > 0 {
		words = append(words, prefix+string(cur)+suffix)
	}
	return strings.Join(words, " ")
}

// formatAddress formats an address for a header: a name that is not ASCII RFC 2047 encoded,
// an ASCII one quoted when needed.
func formatAddress(a mail.Address) string {
	if a.Name == "" || encodeText(a.Name) == a.Name {
		return a.String()
	}
	return encodeText(a.Name) + " <" + a.Address + ">"
}

// maxFolded is the length a folded header line should not pass (RFC 5322 2.1.1).
const maxFolded = 78

// foldField formats a header field with CRLF, folded at spaces so that lines stay within 78
// octets where a word allows (a longer word keeps a line to itself). v must hold no CR or LF.
func foldField(k, v string) []byte {
	b := []byte(k + ":")
	lineStart := 0
	for i, word := range strings.Split(v, " ") {
		if i > 0 || word != "" {
			if len(b)-lineStart+1+len(word) > maxFolded && word != "" && len(b)-lineStart > len(k)+1 {
				b = append(b, "\r\n"...)
				lineStart = len(b)
			}
			b = append(b, ' ')
			b = append(b, word...)
		}
	}
	return append(b, "\r\n"...)
}

// prepareText normalizes a body (valid UTF-8, LF line ends, a final line end) and chooses its
// Content-Transfer-Encoding: 7bit for short ASCII lines, 8bit for short UTF-8 lines when the
// server accepts it, quoted-printable otherwise.
func prepareText(body string, eightBit bool) (string, string) {
	body = strings.ToValidUTF8(body, "\uFFFD")
	body = strings.ReplaceAll(body, "\r\n", "\n")
	body = strings.ReplaceAll(body, "\r", "\n")
	if body != "" && !strings.HasSuffix(body, "\n") {
		body += "\n"
	}
	ascii, needQP := true, false
	for line := range strings.Lines(body) {
		line = strings.TrimSuffix(line, "\n")
		if len(line) > 78 || strings.HasPrefix(line, ".") || strings.HasPrefix(line, "From ") ||
			strings.HasSuffix(line, " ") || strings.HasSuffix(line, "\t") {
			needQP = true
			break
		}
		for i := 0; i < len(line); i++ {
			c := line[i]
			if c >= 0x80 {
				ascii = false
			} else if c < ' ' && c != '\t' || c == 0x7f {
				needQP = true
			}
		}
	}
	switch {
	case needQP:
		return body, "quoted-printable"
	case ascii:
		return body, "7bit"
	case eightBit:
		return body, "8bit"
	}
	return body, "quoted-printable"
}

// writeText writes a prepared body with CRLF line ends in the encoding chosen by prepareText.
func writeText(w io.Writer, body, enc string) error {
	bw := bufio.NewWriter(w)
	for line := range strings.Lines(body) {
		line = strings.TrimSuffix(line, "\n")
		if enc == "quoted-printable" {
			writeQPLine(bw, line)
		} else {
			bw.WriteString(line)
		}
		bw.WriteString("\r\n")
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("compose: %w", err)
	}
	return nil
}

const qpMaxLine = 76 // RFC 2045 6.7 (5): encoded lines, the soft break "=" included

// writeQPLine writes one line quoted-printable encoded (RFC 2045 6.7) without its line end.
// Beyond the standard it also encodes a "." or the "F" of "From " that starts an encoded
// line, so that no line starts with either, whatever a relay does to them.
func writeQPLine(w *bufio.Writer, line string) {
	col := 0
	for i := 0; i < len(line); i++ {
		c := line[i]
		literal := c >= '!' && c <= '~' && c != '=' || (c == ' ' || c == '\t') && i < len(line)-1
		n := 3
		if literal {
			n = 1
		}
		// Keep room for the soft break, unless this is the last character of the line.
		room := qpMaxLine - 1
		if i == len(line)-1 {
			room = qpMaxLine
		}
		if col+n > room {
			w.WriteString("=\r\n")
			col = 0
		}
		if col == 0 && (c == '.' || c == 'F' && strings.HasPrefix(line[i:], "From ")) {
			literal, n = false, 3
		}
		if literal {
			w.WriteByte(c)
		} else {
			fmt.Fprintf(w, "=%02X", c)
		}
		col += n
	}
}

// attachmentHeader returns the MIME header of an attachment part.
func attachmentHeader(name, ctype, enc string) textproto.Header {
	var h textproto.Header
	h.AddRaw(foldField("Content-Transfer-Encoding", enc))
	h.AddRaw(foldField("Content-Disposition", "attachment; "+formatParam("filename", name)))
	if !strings.Contains(strings.ToLower(ctype), "name=") {
		ctype += "; " + formatParam("name", name)
	}
	h.AddRaw(foldField("Content-Type", ctype))
	return h
}

func parseType(ctype string) (string, bool) {
	t, _, err := mime.ParseMediaType(ctype)
	return t, err == nil
}

// cleanName keeps the last path element of a file name, without control characters.
func cleanName(name string) string {
	name = strings.ToValidUTF8(name, "\uFFFD")
	if i := strings.LastIndexAny(name, `/\`); i >= 0 {
		name = name[i+1:]
	}
	name = strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f || r >= 0x80 && r < 0xa0 {
			return -1
		}
		return r
	}, name)
	if name = strings.TrimSpace(name); name == "" {
		return "attachment"
	}
	return name
}

// formatParam formats a MIME parameter: quoted when ASCII and short, otherwise RFC 2231
// encoded as UTF-8, in continuations of at most 60 characters so that the field folds.
func formatParam(key, value string) string {
	ascii := true
	for i := 0; i < len(value); i++ {
		if value[i] < ' ' || value[i] >= 0x7f {
			ascii = false
			break
		}
	}
	if ascii && len(value) <= 60 {
		if f := mime.FormatMediaType("x/x", map[string]string{key: value}); f != "" {
			return strings.TrimPrefix(f, "x/x; ")
		}
	}
	const max = 50
	var parts []string
	var cur strings.Builder
	for i := 0; i < len(value); i++ {
		c := value[i]
		tok := string(c)
		if !isAttrChar(c) {
			tok = fmt.Sprintf("%%%02X", c)
		}
		// Break between characters only, so that each piece is whole UTF-8 when decoded alone.
		if cur.Len()+len(tok) > max && utf8.RuneStart(c) {
			parts = append(parts, cur.String())
			cur.Reset()
		}
		cur.WriteString(tok)
	}
	parts = append(parts, cur.String())
	if len(parts) == 1 {
		return key + "*=utf-8''" + parts[0]
	}
	var b strings.Builder
	for i, p := range parts {
		if i > 0 {
			b.WriteString("; ")
			fmt.Fprintf(&b, "%s*%d*=%s", key, i, p)
		} else {
			fmt.Fprintf(&b, "%s*0*=utf-8''%s", key, p)
		}
	}
	return b.String()
}

// isAttrChar reports whether c may appear unencoded in an RFC 2231 extended value.
func isAttrChar(c byte) bool {
	switch {
	case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		return true
	}
	return strings.IndexByte("!#$&+-.^_`|~", c) >= 0
}

// writeAttachment writes one attachment part, streaming its content through the encoder.
func writeAttachment(mw *textproto.MultipartWriter, a *Attachment, opts WriteOptions) error {
	name := cleanName(a.Name)
	rc, err := a.Open()
	if err != nil {
		return fmt.Errorf("compose: attachment %s: %w", name, err)
	}
	defer rc.Close()
	var src io.Reader = rc
	ctype := strings.TrimSpace(a.ContentType)
	if _, ok := parseType(ctype); !ok || strings.ContainsFunc(ctype, func(r rune) bool { return r < ' ' || r == 0x7f }) {
		ctype = mime.TypeByExtension(strings.ToLower(filepath.Ext(name)))
	}
	if ctype == "" {
		head := make([]byte, 512)
		n, err := io.ReadFull(rc, head)
		if err != nil && err != io.EOF && err != io.ErrUnexpectedEOF {
			return fmt.Errorf("compose: attachment %s: %w", name, err)
		}
		ctype = http.DetectContentType(head[:n])
		src = io.MultiReader(bytes.NewReader(head[:n]), rc)
	}
	t, _ := parseType(ctype)
	if strings.EqualFold(t, "message/rfc822") {
		return writeMessagePart(mw, a, rc, name, opts)
	}
	pw, err := mw.CreatePart(attachmentHeader(name, ctype, "base64"))
	if err != nil {
		return fmt.Errorf("compose: %w", err)
	}
	lw := &lineWriter{w: pw}
	enc := base64.NewEncoder(base64.StdEncoding, lw)
	if _, err := io.Copy(enc, src); err != nil {
		return fmt.Errorf("compose: attachment %s: %w", name, err)
	}
	if err := enc.Close(); err != nil {
		return fmt.Errorf("compose: attachment %s: %w", name, err)
	}
	return lw.end()
}

var crlf = []byte("\r\n")

// lineWriter breaks base64 output into lines of 76 characters ending in CRLF.
type lineWriter struct {
	w   io.Writer
	col int
}

func (l *lineWriter) Write(p []byte) (int, error) {
	written := 0
	for len(p) > 0 {
		n := min(len(p), 76-l.col)
		if _, err := l.w.Write(p[:n]); err != nil {
			return written, err
		}
		written += n
		l.col += n
		p = p[n:]
		if l.col == 76 {
			if _, err := l.w.Write(crlf); err != nil {
				return written, err
			}
			l.col = 0
		}
	}
	return written, nil
}

// end finishes the last line.
func (l *lineWriter) end() error {
	if l.col > 0 {
		if _, err := l.w.Write(crlf); err != nil {
			return err
		}
		l.col = 0
	}
	return nil
}

// writeMessagePart writes a message/rfc822 attachment (RFC 2046 5.2.1): unencoded when its
// lines are short 7-bit text (8-bit text too with opts.EightBit), base64 otherwise. The content
// is read twice (rc, already open, for the check; Open again to write), with Poplar's own leading
// X-Poplar-* fields dropped and line ends made CRLF.
func writeMessagePart(mw *textproto.MultipartWriter, a *Attachment, rc io.ReadCloser, name string, opts WriteOptions) error {
	enc, err := scanMessage(rc, opts.EightBit)
	if err != nil {
		return fmt.Errorf("compose: attachment %s: %w", name, err)
	}
	rc2, err := a.Open()
	if err != nil {
		return fmt.Errorf("compose: attachment %s: %w", name, err)
	}
	defer rc2.Close()
	pw, err := mw.CreatePart(attachmentHeader(name, "message/rfc822", enc))
	if err != nil {
		return fmt.Errorf("compose: %w", err)
	}
	var out io.Writer = pw
	var b64 io.WriteCloser
	lw := &lineWriter{w: pw}
	if enc == "base64" {
		b64 = base64.NewEncoder(base64.StdEncoding, lw)
		out = b64
	}
	if err := copyMessage(out, rc2); err != nil {
		return fmt.Errorf("compose: attachment %s: %w", name, err)
	}
	if b64 != nil {
		if err := b64.Close(); err != nil {
			return fmt.Errorf("compose: attachment %s: %w", name, err)
		}
		return lw.end()
	}
	return nil
}

// scanMessage chooses the transfer encoding of a message/rfc822 part.
func scanMessage(r io.Reader, eightBit bool) (string, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	skipOwnFields(br)
	enc := "7bit"
	for {
		line, err := br.ReadSlice('\n')
		if len(line) > 998 || err == bufio.ErrBufferFull {
			return "base64", nil
		}
		for i, c := range line {
			switch {
			case c == 0, c == '\r' && i != len(line)-2:
				return "base64", nil
			case c >= 0x80:
				if !eightBit {
					return "base64", nil
				}
				enc = "8bit"
			}
		}
		if err == io.EOF {
			return enc, nil
		}
		if err != nil {
			return "", err
		}
	}
}

// copyMessage copies a stored message with its leading X-Poplar-* fields dropped and every line
// ending in CRLF, ending with a line end.
func copyMessage(w io.Writer, r io.Reader) error {
	br := bufio.NewReaderSize(r, 64<<10)
	skipOwnFields(br)
	bw := bufio.NewWriterSize(w, 32<<10)
	for {
		line, err := br.ReadSlice('\n')
		full := err == nil
		if err == bufio.ErrBufferFull {
			err = nil
		}
		if full {
			line = bytes.TrimSuffix(bytes.TrimSuffix(line, []byte("\n")), []byte("\r"))
		}
		bw.Write(line)
		if full || (err == io.EOF && len(line) > 0) {
			bw.WriteString("\r\n")
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
	}
	return bw.Flush()
}

// skipOwnFields drops an mbox "From " line and Poplar's own X-Poplar-* fields (with their
// continuation lines) at the start of a stored message: they are private to the store.
func skipOwnFields(br *bufio.Reader) {
	first := true
	for {
		b, _ := br.Peek(len("X-Poplar-"))
		own := strings.EqualFold(string(b), "X-Poplar-") || first && strings.HasPrefix(string(b), "From ")
		first = false
		if !own {
			return
		}
		skipLine(br)
		for {
			c, err := br.Peek(1)
			if err != nil || c[0] != ' ' && c[0] != '\t' {
				break
			}
			skipLine(br)
		}
	}
}

func skipLine(br *bufio.Reader) {
	for {
		if _, err := br.ReadSlice('\n'); err != bufio.ErrBufferFull {
			return
		}
	}
}
