package pop

import (
	"bytes"
	"fmt"
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
	size, max int64 // bytes of the reply consumed, and the most allowed (Options.MaxMessageSize)
	stuffed   int64 // dots removed by dot-unstuffing, which LIST sizes do not count
	term      int   // length of the terminating line, once scan has found it
}

// newDotReader starts reading the multi-line reply of command what, at the minimum rate.
func (c *Client) newDotReader(what string) *dotReader {
	c.in.startStream()
	return &dotReader{c: c, what: what, lineStart: true, max: c.opts.maxMessageSize()}
}

// scanState is how scan left a buffer.
type scanState int

const (
	scanOK       scanState = iota // out is full or buf is used up
	scanDone                      // the terminating line was consumed
	scanNeedMore                  // buf ends where a decision needs the next byte
)

// Read implements io.Reader. It decodes whole runs of lines from the client's buffer at a time.
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
		if r.Buffered() == 0 {
			if n > 0 {
				break // hand over what we have rather than block
			}
			if _, err := r.Peek(1); err != nil {
				return n, d.fail(err)
			}
		}
		buf, _ := r.Peek(r.Buffered())
		used, m, st := d.scan(buf, p[n:])
		n += m
		r.Discard(used)
		if d.size += int64(used); d.size-d.stuffed-int64(d.term) > d.max {
			return n, d.tooLarge()
		}
		switch st {
		case scanDone:
			return n, d.finish()
		case scanNeedMore:
			if n > 0 {
				return n, nil
			}
			// At most two undecided bytes are left: wait for one more.
			if _, err := r.Peek(r.Buffered() + 1); err != nil {
				return n, d.fail(err)
			}
		}
	}
	return n, nil
}

// scan decodes from buf into out: it drops the stuffed dot of a line, turns CRLF into LF and
// stops at the terminating line. It returns the bytes of buf used and of out written.
func (d *dotReader) scan(buf, out []byte) (used, n int, st scanState) {
	for used < len(buf) && n < len(out) {
		rest := buf[used:]
		if d.lineStart {
			if rest[0] == '.' {
				if len(rest) < 2 {
					return used, n, scanNeedMore
				}
				switch rest[1] {
				case '\n':
					d.term = 2
					return used + 2, n, scanDone
				case '\r':
					if len(rest) < 3 {
						return used, n, scanNeedMore
					}
					if rest[2] == '\n' {
						d.term = 3
						return used + 3, n, scanDone
					}
				}
				used++ // a stuffed dot
				d.stuffed++
				rest = rest[1:]
			}
			d.lineStart = false
		}
		room := len(out) - n
		lim := rest
		if len(lim) > room+1 {
			lim = lim[:room+1] // one extra byte lets a CRLF at the edge become one LF
		}
		if i := bytes.IndexByte(lim, '\n'); i >= 0 {
			end := i
			if i > 0 && rest[i-1] == '\r' {
				end = i - 1
			}
			if end+1 <= room {
				n += copy(out[n:], rest[:end])
				out[n] = '\n'
				n++
				used += i + 1
				d.lineStart = true
				continue
			}
		}
		// No whole line fits: copy a fragment, holding back a final CR in case an LF follows.
		k := min(len(rest), room)
		if rest[k-1] == '\r' {
			k--
		}
		if k == 0 {
			// rest starts with a CR: the next byte decides.
			if len(rest) < 2 {
				return used, n, scanNeedMore
			}
			if rest[1] == '\n' {
				out[n] = '\n'
				used += 2
				d.lineStart = true
			} else {
				out[n] = '\r'
				used++
			}
			n++
			continue
		}
		n += copy(out[n:], rest[:k])
		used += k
	}
	return used, n, scanOK
}

func (d *dotReader) finish() error {
	d.done = true
	d.release()
	return io.EOF
}

// tooLarge ends a reply longer than Options.MaxMessageSize; the connection cannot be used further.
func (d *dotReader) tooLarge() error {
	d.err = fmt.Errorf("%w: the %s reply exceeds %d bytes (Options.MaxMessageSize)", ErrMessageTooLarge, d.what, d.max)
	d.c.fail(d.err)
	d.release()
	return d.err
}

func (d *dotReader) fail(err error) error {
	d.err = d.c.ioErr(d.what+" (reading the message)", err)
	d.release()
	return d.err
}

// release ends the command when d is the client's open reply.
func (d *dotReader) release() {
	if d.c.open == d {
		d.c.open = nil
		d.c.end()
	}
}

// drain reads the rest of the reply so the next command's reply can be read.
func (d *dotReader) drain() error {
	_, err := io.Copy(io.Discard, d)
	return err
}
