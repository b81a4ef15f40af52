package mailview

import (
	"bufio"
	"bytes"
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// maxHeaderBytes bounds the header block read for display.
const maxHeaderBytes = 8 << 20

// skipMboxLine drops an mbox "From " separator line at the start of a message.
func skipMboxLine(br *bufio.Reader) {
	if b, err := br.Peek(5); err == nil && string(b) == "From " {
		for {
			_, err := br.ReadSlice('\n')
			if err != bufio.ErrBufferFull {
				return
			}
		}
	}
}

// readHeaderBlock reads the header up to and including its blank line (or the end of input),
// appending it to out[:0].
func readHeaderBlock(br *bufio.Reader, out []byte) ([]byte, error) {
	out = out[:0]
	for {
		line, err := br.ReadSlice('\n')
		out = append(out, line...)
		if err == bufio.ErrBufferFull {
			if len(out) > maxHeaderBytes {
				return out, fmt.Errorf("the header is longer than %d bytes; the rest is shown as body", maxHeaderBytes)
			}
			continue
		}
		if len(bytes.TrimRight(line, "\r\n")) == 0 || err != nil {
			return out, nil
		}
		if len(out) > maxHeaderBytes {
			return out, fmt.Errorf("the header is longer than %d bytes; the rest is shown as body", maxHeaderBytes)
		}
	}
}

// sanitizeHeader keeps the well-formed fields of a header block (and their continuation lines)
// and drops the rest, so one broken line does not hide the whole message. It always ends the
// block with a blank line. With summary set it also leaves out, without counting them as dropped,
// the well-formed fields a Summary does not read (see summaryField). The block is written to out,
// which is reset first.
func sanitizeHeader(h []byte, out *bytes.Buffer, summary bool) (clean []byte, dropped int) {
	out.Reset()
	keep := false
	for len(h) > 0 {
		i := bytes.IndexByte(h, '\n')
		var line []byte
		if i < 0 {
			line, h = h, nil
		} else {
			line, h = h[:i+1], h[i+1:]
		}
		body := bytes.TrimRight(line, "\r\n")
		if len(body) == 0 {
			break
		}
		if body[0] == ' ' || body[0] == '\t' {
			if keep {
				out.Write(body)
				out.WriteString("\r\n")
			}
			continue
		}
		keep = validField(body)
		if !keep {
			dropped++
		} else if summary && !summaryField(body) {
			keep = false
		}
		if keep {
			out.Write(body)
			out.WriteString("\r\n")
		}
	}
	out.WriteString("\r\n")
	return out.Bytes(), dropped
}

// summaryFields are the fields of a message's top-level header that Summarize reads: its own
// (walker.headers in summary mode) and those that say how to read the body (message.New,
// walker.entity). Every other field (Received, DKIM-Signature...) is left out before the header
// is parsed: that is most of the header of most mail.
var summaryFields = [...]string{"From", "To", "Subject", "Date", "Message-Id", "In-Reply-To", "References",
	"Content-Type", "Content-Transfer-Encoding", "Content-Disposition", "Content-Id"}

// summaryField reports whether the field of line (a validField) is one of summaryFields, in any
// case and with spaces before its colon, as the header parser reads its name.
func summaryField(line []byte) bool {
	name := bytes.TrimRight(line[:bytes.IndexByte(line, ':')], " \t")
	for _, f := range summaryFields {
		if len(name) == len(f) && bytes.EqualFold(name, []byte(f)) {
			return true
		}
	}
	return false
}

// validField reports whether line starts with a field name (printable ASCII but ':') and a colon.
func validField(line []byte) bool {
	i := bytes.IndexByte(line, ':')
	if i <= 0 {
		return false
	}
	for _, c := range bytes.TrimRight(line[:i], " \t") {
		if c < 33 || c > 126 {
			return false
		}
	}
	return true
}

var nameParam = regexp.MustCompile(`(?i)(?:^|;)\s*(?:file)?name(\*(\d+))?(\*)?\s*=\s*("(?:[^"\\]|\\.)*"|[^;]*)`)

// lenientFilename extracts a file name parameter from a Content-Disposition or Content-Type value
// that mime.ParseMediaType rejected: RFC 2231 continuations and charsets are reassembled, and
// bytes the declared charset cannot decode fall back rather than lose the name.
func lenientFilename(values ...string) string {
	for _, v := range values {
		if !strings.Contains(strings.ToLower(v), "name") {
			continue // what nameParam needs; most values (a text part's) have no name at all
		}
		ms := nameParam.FindAllStringSubmatch(v, -1)
		if len(ms) == 0 {
			continue
		}
		pieces := map[int]string{}
		extended := map[int]bool{}
		maxN := 0
		for _, m := range ms {
			n := 0
			if m[2] != "" {
				n, _ = strconv.Atoi(m[2])
			}
			if n > 100 {
				continue
			}
			val := strings.TrimSpace(m[4])
			if strings.HasPrefix(val, `"`) {
				val = strings.ReplaceAll(strings.Trim(val, `"`), `\"`, `"`)
			}
			if _, dup := pieces[n]; dup {
				continue
			}
			pieces[n], extended[n] = val, m[3] != ""
			maxN = max(maxN, n)
		}
		var raw []byte
		label := ""
		for n := 0; n <= maxN; n++ {
			p, ok := pieces[n]
			if !ok {
				break
			}
			if extended[n] {
				if n == 0 {
					if parts := strings.SplitN(p, "'", 3); len(parts) == 3 {
						label, p = parts[0], parts[2]
					}
				}
				raw = append(raw, percentDecode(p)...)
			} else {
				raw = append(raw, p...)
			}
		}
		if len(raw) > 0 {
			s, _ := decodeText(raw, label)
			return decodeHeader(s, "")
		}
	}
	return ""
}

func percentDecode(s string) []byte {
	var out []byte
	for i := 0; i < len(s); i++ {
		if s[i] == '%' && i+2 < len(s) {
			if v, err := strconv.ParseUint(s[i+1:i+3], 16, 8); err == nil {
				out = append(out, byte(v))
				i += 2
				continue
			}
		}
		out = append(out, s[i])
	}
	return out
}
