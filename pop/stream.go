package pop

import (
	"bytes"
	"io"
)

// dotReader streams one multi-line reply: it removes the byte-stuffed leading dot of a line,
// turns CRLF into LF, and ends at the terminating "." line (CRLF or bare LF). It works on the
// client's buffer a line fragment at a time, so lines of any length pass through in bounded memory.
type dotReader struct {
	c         *Client
	what      string // the command, for errors
	lineStart bool
	done      bool
	err       error
	n         int64 // bytes returned so far
}

// Read implements io.Reader.
func (d *dotReader) Read(p []byte) (int, error) {
	if d.done {
		return 0, io.EOF
	}
	if d.err != nil {
		return 0, d.err
	}
	r := d.c.r
	n := 0
	for n < len(p) {
		if n > 0 && r.Buffered() == 0 {
			break // hand over what we have rather than block
		}
		if d.lineStart {
			b, err := r.Peek(1)
			if err != nil {
				return n, d.fail(err)
			}
			if b[0] == '.' {
				b, err = r.Peek(2)
				if err != nil {
					return n, d.fail(err)
				}
				if b[1] == '\n' {
					r.Discard(2)
					return n, d.finish()
				}
				if b[1] == '\r' {
					b, err = r.Peek(3)
					if err != nil {
						return n, d.fail(err)
					}
					if b[2] == '\n' {
						r.Discard(3)
						return n, d.finish()
					}
				}
				r.Discard(1) // a stuffed dot
			}
			d.lineStart = false
		}
		if r.Buffered() == 0 {
			if _, err := r.Peek(1); err != nil {
				return n, d.fail(err)
			}
		}
		buf, _ := r.Peek(r.Buffered())
		room := len(p) - n
		if len(buf) > room+1 {
			buf = buf[:room+1] // one extra byte lets a CRLF at the edge become one LF
		}
		i := bytes.IndexByte(buf, '\n')
		switch {
		case i == 0:
			p[n] = '\n'
			n++
			r.Discard(1)
			d.lineStart = true
		case i > 0 && buf[i-1] == '\r' && i-1 <= room-1:
			n += copy(p[n:], buf[:i-1])
			p[n] = '\n'
			n++
			r.Discard(i + 1)
			d.lineStart = true
		case i > 0 && buf[i-1] != '\r' && i <= room-1:
			n += copy(p[n:], buf[:i+1])
			r.Discard(i + 1)
			d.lineStart = true
		default:
			// No line end that fits: copy a fragment, keeping a trailing CR back in case an LF follows.
			k := len(buf)
			if k > room {
				k = room
			}
			if buf[k-1] == '\r' {
				k--
			}
			if k == 0 {
				// buf starts with a lone CR we cannot decide on yet: look at the next byte.
				b, err := r.Peek(2)
				if err != nil {
					return n, d.fail(err)
				}
				if b[1] == '\n' {
					p[n] = '\n'
					r.Discard(2)
					d.lineStart = true
				} else {
					p[n] = '\r'
					r.Discard(1)
				}
				n++
				continue
			}
			n += copy(p[n:], buf[:k])
			r.Discard(k)
		}
	}
	d.n += int64(n)
	return n, nil
}

func (d *dotReader) finish() error {
	d.done = true
	if d.c.open == d {
		d.c.open = nil
		d.c.end()
	}
	return io.EOF
}

func (d *dotReader) fail(err error) error {
	d.err = d.c.ioErr(d.what+" (reading the message)", err)
	if d.c.open == d {
		d.c.open = nil
		d.c.end()
	}
	return d.err
}

// drain reads the rest of the reply so the next command's reply can be read.
func (d *dotReader) drain() error {
	_, err := io.Copy(io.Discard, d)
	return err
}
