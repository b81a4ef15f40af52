package pop

import (
	"context"
	"fmt"
	"io"
	"strconv"
)

// Op is a command Batch can pipeline.
type Op int

const (
	OpRetr Op = iota // RETR ID
	OpTop            // TOP ID Lines
	OpDele           // DELE ID
)

// Request is one command of a Batch.
type Request struct {
	Op    Op
	ID    int
	Lines int // for OpTop
}

func (r Request) line() (string, error) {
	if r.ID < 1 {
		return "", fmt.Errorf("pop: batch: message id %d out of range", r.ID)
	}
	id := strconv.Itoa(r.ID)
	switch r.Op {
	case OpRetr:
		return "RETR " + id, nil
	case OpTop:
		if r.Lines < 0 {
			return "", fmt.Errorf("pop: batch: negative TOP line count %d", r.Lines)
		}
		return "TOP " + id + " " + strconv.Itoa(r.Lines), nil
	case OpDele:
		return "DELE " + id, nil
	}
	return "", fmt.Errorf("pop: batch: unknown op %d", r.Op)
}

// Batch runs reqs in order and calls fn once per request, in order, with the request's index and
// either its message stream (RETR, TOP; nil for DELE) or its -ERR as an *Error. The stream is
// valid only during the call; what fn does not read is skipped (within Options.MaxMessageSize:
// a longer reply ends the batch with ErrMessageTooLarge).
//
// When the server offers PIPELINING, up to Options.Window commands are sent ahead of the replies;
// otherwise one command at a time. If fn returns an error, no further command is sent, the replies
// already requested are read and discarded, and Batch returns that error. A transport error
// breaks the connection and is returned at once.
func (c *Client) Batch(ctx context.Context, reqs []Request, fn func(i int, r io.Reader, err error) error) error {
	lines := make([]string, len(reqs))
	for i, r := range reqs {
		l, err := r.line()
		if err != nil {
			return err
		}
		lines[i] = l
	}
	if err := c.begin(ctx); err != nil {
		return err
	}
	defer c.end()
	window := 1
	if c.caps.Pipelining {
		window = c.opts.window()
	}
	sent := 0
	var stop error
	for i := range reqs {
		for stop == nil && sent < len(reqs) && sent-i < window {
			c.trace("C: " + lines[sent])
			c.w.WriteString(lines[sent])
			c.w.WriteString("\r\n")
			sent++
		}
		if c.w.Buffered() > 0 {
			if err := c.w.Flush(); err != nil {
				return c.ioErr("sending "+verb(lines[i]), err)
			}
		}
		if i >= sent {
			break
		}
		_, err := c.readStatus(verb(lines[i]))
		if err != nil && !isErrReply(err) {
			return err
		}
		var d *dotReader
		var r io.Reader
		if err == nil && reqs[i].Op != OpDele {
			d = c.newDotReader(lines[i])
			r = d
		}
		if stop == nil {
			stop = fn(i, r, err)
		}
		if d != nil {
			if derr := d.drain(); derr != nil {
				return derr
			}
		}
	}
	return stop
}

// ReadAll is a convenience for small replies: it reads r to the end with a size bound.
func ReadAll(r io.Reader, max int64) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > max {
		return nil, fmt.Errorf("pop: reply longer than %d bytes", max)
	}
	return b, nil
}
