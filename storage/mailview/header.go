package mailview

import (
	"bufio"
	"bytes"
	"fmt"
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

// readHeaderBlock reads the header up to and including its blank line (or the end of input).
func readHeaderBlock(br *bufio.Reader) ([]byte, error) {
	var out []byte
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
// block with a blank line.
func sanitizeHeader(h []byte) (clean []byte, dropped int) {
	var out bytes.Buffer
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
		if keep {
			out.Write(body)
			out.WriteString("\r\n")
		} else {
			dropped++
		}
	}
	out.WriteString("\r\n")
	return out.Bytes(), dropped
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
