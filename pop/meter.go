package pop

import (
	"errors"
	"fmt"
	"net"
	"os"
	"time"
)

// meter is the connection as the client reads it: it bounds every read in time.
//
// A status line gets one deadline for the whole line (startLine), so a server cannot hold it open
// by sending a byte now and then. A multi-line reply (startStream) is measured in windows of
// Timeout: each must bring need bytes, and a window that does opens the next. Time the reader
// spends away from Read (writing a message to disk) is added to the window, since it is not the
// server's.
//
// The connection's deadline is moved only when it is near, not on every Read (it costs a timer
// update each time); a deadline that fires before the one wanted just retries the Read.
type meter struct {
	net.Conn
	timeout time.Duration
	need    int64 // bytes each window of a multi-line reply must bring

	stream   bool      // measuring a multi-line reply rather than a status line
	got      int64     // bytes read since the line or the window began
	last     time.Time // when the last Read returned (stream)
	deadline time.Time // the read deadline wanted
	applied  time.Time // the read deadline last set on the connection
}

func newMeter(conn net.Conn, opts *Options) *meter {
	return &meter{Conn: conn, timeout: opts.timeout(), need: opts.windowBytes()}
}

// startLine gives the next status line Timeout to arrive whole.
func (m *meter) startLine() {
	m.stream = false
	m.got = 0
	m.deadline = time.Now().Add(m.timeout)
}

// startStream starts measuring a multi-line reply.
func (m *meter) startStream() {
	m.stream = true
	m.got = 0
	m.last = time.Now()
	m.deadline = m.last.Add(m.timeout)
}

func (m *meter) Read(p []byte) (int, error) {
	for {
		now := time.Now()
		if m.stream {
			if away := now.Sub(m.last); away > m.timeout/16 {
				m.deadline = m.deadline.Add(away)
			}
		}
		if m.applied.After(m.deadline) || (m.applied.Before(m.deadline) && m.applied.Sub(now) < m.timeout/2) {
			// An error here (a closed peer) shows up, more precisely, in the Read itself.
			_ = m.Conn.SetReadDeadline(m.deadline)
			m.applied = m.deadline
		}
		n, err := m.Conn.Read(p)
		m.got += int64(n)
		if m.stream {
			m.last = time.Now()
			if m.got >= m.need {
				m.got = 0
				m.deadline = m.last.Add(m.timeout)
			}
		}
		if err != nil && errors.Is(err, os.ErrDeadlineExceeded) {
			if n == 0 && time.Now().Before(m.deadline) {
				continue // the connection's deadline was set early
			}
			err = m.slowErr(err)
		}
		return n, err
	}
}

// slowErr says why a read timed out.
func (m *meter) slowErr(err error) error {
	switch {
	case m.got == 0:
		return &slowError{kind: ErrStalled, detail: fmt.Sprintf("nothing in %v", m.timeout), err: err}
	case m.stream:
		return &slowError{kind: ErrTooSlow, detail: fmt.Sprintf("%d bytes in %v, fewer than the %d of Options.MinRate", m.got, m.timeout, m.need), err: err}
	}
	return &slowError{kind: ErrTooSlow, detail: fmt.Sprintf("a line not whole after %v", m.timeout), err: err}
}

func (m *meter) Write(p []byte) (int, error) {
	_ = m.Conn.SetWriteDeadline(time.Now().Add(m.timeout))
	return m.Conn.Write(p)
}

// slowError is a read that timed out: ErrStalled or ErrTooSlow, and the connection's timeout
// error (so it is also an os.ErrDeadlineExceeded and a net.Error whose Timeout is true).
type slowError struct {
	kind   error
	detail string
	err    error
}

func (e *slowError) Error() string   { return e.kind.Error() + " (" + e.detail + ")" }
func (e *slowError) Unwrap() []error { return []error{e.kind, e.err} }
