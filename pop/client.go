package pop

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Client is one POP3 session. Its methods must not be called concurrently, except Close.
type Client struct {
	opts     Options
	conn     net.Conn // the current transport (a *tls.Conn after TLS)
	r        *bufio.Reader
	w        *bufio.Writer
	greeting string
	stamp    string // APOP timestamp from the greeting, "" if none
	caps     Capabilities
	tlsState *tls.ConnectionState
	authed   bool

	ctx     context.Context // context of the command in progress
	stopCtx func() bool     // unregisters the cancellation hook of ctx
	open    *dotReader      // the multi-line reply still being read, if any

	mu     sync.Mutex
	broken error // sticky: once set, every command fails with it
}

// deadlineConn sets a fresh deadline before each Read and Write, so a stalled peer fails after the
// timeout however the bytes are consumed (status line, list or message stream).
type deadlineConn struct {
	net.Conn
	timeout time.Duration
}

func (d *deadlineConn) Read(p []byte) (int, error) {
	// An error here (a closed peer) shows up, more precisely, in the Read itself.
	_ = d.Conn.SetReadDeadline(time.Now().Add(d.timeout))
	return d.Conn.Read(p)
}

func (d *deadlineConn) Write(p []byte) (int, error) {
	_ = d.Conn.SetWriteDeadline(time.Now().Add(d.timeout))
	return d.Conn.Write(p)
}

// NewClient starts a session on conn, which may be plain or already TLS: it reads the greeting and
// does no other I/O. It does not ask for capabilities (see Capa). On error conn is closed.
func NewClient(conn net.Conn, opts Options) (*Client, error) {
	return newClient(context.Background(), conn, opts)
}

func newClient(ctx context.Context, conn net.Conn, opts Options) (*Client, error) {
	c := &Client{opts: opts}
	c.setConn(conn)
	if tc, ok := conn.(*tls.Conn); ok {
		st := tc.ConnectionState()
		c.tlsState = &st
	}
	if err := c.begin(ctx); err != nil {
		conn.Close()
		return nil, err
	}
	line, err := c.readStatus("greeting")
	c.end()
	if err != nil {
		conn.Close()
		return nil, err
	}
	c.greeting = line
	c.stamp = apopStamp(line)
	c.caps = Capabilities{}
	return c, nil
}

func (c *Client) setConn(conn net.Conn) {
	c.conn = conn
	dc := &deadlineConn{Conn: conn, timeout: c.opts.timeout()}
	c.r = bufio.NewReaderSize(dc, MaxLineLength)
	c.w = bufio.NewWriterSize(dc, 4096)
}

// Dial connects to addr ("host:port"), sets up TLS as opts.Security says, reads the greeting and
// asks for the capabilities. With SecuritySTARTTLS it issues STLS and fails with
// ErrSTARTTLSUnavailable, before any credential is sent, when the server does not offer it.
// A certificate that does not verify gives a *CertificateError.
func Dial(ctx context.Context, addr string, opts Options) (*Client, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("pop: bad address %q: %w", addr, err)
	}
	if opts.ServerName == "" {
		opts.ServerName = host
	}
	dctx := ctx
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		dctx, cancel = context.WithTimeout(ctx, opts.timeout())
		defer cancel()
	}
	var d net.Dialer
	conn, err := d.DialContext(dctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("pop: connecting to %s: %w", addr, err)
	}
	if opts.Security == SecurityTLS {
		tc, err := handshake(dctx, conn, &opts)
		if err != nil {
			return nil, err
		}
		conn = tc
	}
	c, err := newClient(ctx, conn, opts)
	if err != nil {
		return nil, err
	}
	// CAPA is optional: a server that rejects it is still usable.
	if err := c.Capa(ctx); err != nil && !isErrReply(err) {
		c.Close()
		return nil, err
	}
	if opts.Security == SecuritySTARTTLS {
		if err := c.StartTLS(ctx); err != nil {
			c.Close()
			return nil, err
		}
	}
	return c, nil
}

// isErrReply reports whether err is a -ERR reply (the connection is still good).
func isErrReply(err error) bool {
	var e *Error
	return errors.As(err, &e)
}

// StartTLS issues STLS and upgrades the connection, then asks for the capabilities again. It fails
// with ErrSTARTTLSUnavailable when the server does not take STLS.
func (c *Client) StartTLS(ctx context.Context) error {
	if c.tlsState != nil {
		return fmt.Errorf("pop: STLS: connection is already TLS")
	}
	if c.caps.Known && !c.caps.STLS {
		return ErrSTARTTLSUnavailable
	}
	if _, err := c.cmd(ctx, "STLS", "STLS"); err != nil {
		if isErrReply(err) {
			return fmt.Errorf("%w: %v", ErrSTARTTLSUnavailable, err)
		}
		return err
	}
	if c.r.Buffered() > 0 {
		// Bytes after +OK and before the handshake were injected by someone on the path.
		c.fail(fmt.Errorf("%w: data after the STLS reply (possible injection attack)", ErrProtocol))
		return c.broken
	}
	tc, err := handshake(ctx, c.conn, &c.opts)
	if err != nil {
		c.fail(err)
		return err
	}
	c.setConn(tc)
	st := tc.ConnectionState()
	c.tlsState = &st
	if err := c.Capa(ctx); err != nil && !isErrReply(err) {
		return err
	}
	return nil
}

// Greeting is the server's greeting line, after "+OK".
func (c *Client) Greeting() string { return c.greeting }

// TLSState returns the TLS connection state and true when the connection is encrypted.
func (c *Client) TLSState() (tls.ConnectionState, bool) {
	if c.tlsState == nil {
		return tls.ConnectionState{}, false
	}
	return *c.tlsState, true
}

// Capabilities returns what the last CAPA said (the zero value, with Known false, if CAPA failed).
func (c *Client) Capabilities() Capabilities { return c.caps }

// Close closes the connection without QUIT: the server discards any DELE of this session.
// It is safe to call more than once and from another goroutine.
func (c *Client) Close() error {
	c.mu.Lock()
	already := c.broken == ErrClosed
	if c.broken == nil {
		c.broken = ErrClosed
	}
	c.mu.Unlock()
	if already {
		return nil
	}
	err := c.conn.Close()
	if errors.Is(err, net.ErrClosed) {
		return nil
	}
	return err
}

// fail marks the connection unusable and closes it.
func (c *Client) fail(err error) {
	c.mu.Lock()
	if c.broken == nil {
		c.broken = err
	}
	c.mu.Unlock()
	c.conn.Close()
}

func (c *Client) brokenErr() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.broken
}

// begin starts a command: it finishes any open reply, checks the connection and arms ctx so that
// cancelling it closes the connection.
func (c *Client) begin(ctx context.Context) error {
	if ctx == nil {
		ctx = context.Background()
	}
	if c.open != nil {
		if err := c.open.drain(); err != nil {
			return err
		}
	}
	c.end()
	if err := c.brokenErr(); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("pop: %w", err)
	}
	c.ctx = ctx
	c.stopCtx = context.AfterFunc(ctx, func() {
		c.fail(fmt.Errorf("pop: %w", context.Cause(ctx)))
	})
	return nil
}

// end disarms the context of the finished command.
func (c *Client) end() {
	if c.stopCtx != nil {
		c.stopCtx()
		c.stopCtx = nil
	}
	c.ctx = nil
}

// ioErr turns a transport error into the error a caller should see, and breaks the connection.
func (c *Client) ioErr(what string, err error) error {
	if c.ctx != nil && c.ctx.Err() != nil {
		err = fmt.Errorf("pop: %s: %w", what, context.Cause(c.ctx))
	} else if b := c.brokenErr(); b != nil && b != ErrClosed && errors.Is(err, net.ErrClosed) {
		err = b
	} else {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		err = fmt.Errorf("pop: %s: %w", what, err)
	}
	c.fail(err)
	return err
}

// send writes one command line and flushes it. display is what the trace shows.
func (c *Client) send(line, display string) error {
	if strings.ContainsAny(line, "\r\n") {
		return fmt.Errorf("pop: command argument contains a line break")
	}
	c.trace("C: " + display)
	c.w.WriteString(line)
	c.w.WriteString("\r\n")
	if err := c.w.Flush(); err != nil {
		return c.ioErr("sending "+verb(display), err)
	}
	return nil
}

func verb(line string) string {
	if i := strings.IndexByte(line, ' '); i >= 0 {
		return line[:i]
	}
	return line
}

func (c *Client) trace(s string) {
	if c.opts.Trace != nil {
		io.WriteString(c.opts.Trace, s+"\n")
	}
}

// readLine reads one line (without its CRLF or LF), at most MaxLineLength bytes.
func (c *Client) readLine(what string) (string, error) {
	b, err := c.r.ReadSlice('\n')
	if err == bufio.ErrBufferFull {
		err = fmt.Errorf("%w: %s longer than %d bytes", ErrLineTooLong, what, MaxLineLength)
		c.fail(err)
		return "", err
	}
	if err != nil {
		return "", c.ioErr("reading "+what, err)
	}
	b = b[:len(b)-1]
	if len(b) > 0 && b[len(b)-1] == '\r' {
		b = b[:len(b)-1]
	}
	return string(b), nil
}

// readStatus reads a +OK/-ERR line and returns the text after +OK, or an *Error for -ERR.
func (c *Client) readStatus(cmd string) (string, error) {
	line, err := c.readLine(cmd + " reply")
	if err != nil {
		return "", err
	}
	c.trace("S: " + line)
	switch {
	case line == "+OK" || strings.HasPrefix(line, "+OK ") || strings.HasPrefix(line, "+OK\t"):
		return strings.TrimSpace(line[3:]), nil
	case line == "-ERR" || strings.HasPrefix(line, "-ERR ") || strings.HasPrefix(line, "-ERR\t"):
		return "", parseErr(cmd, line[4:])
	}
	err = fmt.Errorf("%w: %s reply is neither +OK nor -ERR: %q", ErrProtocol, cmd, clip(line))
	c.fail(err)
	return "", err
}

func clip(s string) string {
	if len(s) > 80 {
		return s[:80] + "..."
	}
	return s
}

// cmd sends a command and reads its status line. The command's context stays armed: callers call
// c.end (or open a dotReader) when the reply is complete.
func (c *Client) cmd(ctx context.Context, line, display string) (string, error) {
	if err := c.begin(ctx); err != nil {
		return "", err
	}
	if err := c.send(line, display); err != nil {
		c.end()
		return "", err
	}
	s, err := c.readStatus(verb(line))
	if err != nil {
		c.end()
	}
	return s, err
}

// simple runs a command with a single-line reply.
func (c *Client) simple(ctx context.Context, line string) (string, error) {
	s, err := c.cmd(ctx, line, line)
	if err == nil {
		c.end()
	}
	return s, err
}

// lines runs a command with a multi-line reply and returns its lines (each bounded by MaxLineLength).
func (c *Client) lines(ctx context.Context, line string) ([]string, error) {
	if _, err := c.cmd(ctx, line, line); err != nil {
		return nil, err
	}
	defer c.end()
	return c.readLines(verb(line))
}

func (c *Client) readLines(cmd string) ([]string, error) {
	var out []string
	for {
		l, err := c.readLine(cmd + " list")
		if err != nil {
			return nil, err
		}
		if l == "." {
			return out, nil
		}
		if strings.HasPrefix(l, ".") {
			l = l[1:]
		}
		c.trace("S: " + l)
		out = append(out, l)
	}
}

// Noop sends NOOP (keeps the session alive).
func (c *Client) Noop(ctx context.Context) error {
	_, err := c.simple(ctx, "NOOP")
	return err
}

// Rset sends RSET: every message marked by DELE in this session is unmarked.
func (c *Client) Rset(ctx context.Context) error {
	_, err := c.simple(ctx, "RSET")
	return err
}

// Dele marks message id for deletion. The server deletes it only when Quit succeeds.
func (c *Client) Dele(ctx context.Context, id int) error {
	_, err := c.simple(ctx, "DELE "+strconv.Itoa(id))
	return err
}

// Stat returns the number of messages and their total size in octets.
func (c *Client) Stat(ctx context.Context) (count int, size int64, err error) {
	s, err := c.simple(ctx, "STAT")
	if err != nil {
		return 0, 0, err
	}
	f := strings.Fields(s)
	if len(f) < 2 {
		return 0, 0, fmt.Errorf("%w: STAT reply %q lacks count and size", ErrProtocol, clip(s))
	}
	n, err1 := strconv.Atoi(f[0])
	sz, err2 := strconv.ParseInt(f[1], 10, 64)
	if err1 != nil || err2 != nil || n < 0 || sz < 0 {
		return 0, 0, fmt.Errorf("%w: STAT reply %q is not two numbers", ErrProtocol, clip(s))
	}
	return n, sz, nil
}

// MessageInfo is one line of a LIST reply. Size is the server's claim and is never used for framing.
type MessageInfo struct {
	ID   int
	Size int64
}

// UIDEntry is one line of a UIDL reply.
type UIDEntry struct {
	ID  int
	UID string
}

// List returns the size of every message not marked deleted.
func (c *Client) List(ctx context.Context) ([]MessageInfo, error) {
	ls, err := c.lines(ctx, "LIST")
	if err != nil {
		return nil, err
	}
	out := make([]MessageInfo, 0, len(ls))
	for _, l := range ls {
		m, err := parseListLine(l)
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, nil
}

// ListOne returns the size of message id.
func (c *Client) ListOne(ctx context.Context, id int) (MessageInfo, error) {
	s, err := c.simple(ctx, "LIST "+strconv.Itoa(id))
	if err != nil {
		return MessageInfo{}, err
	}
	return parseListLine(s)
}

// UIDL returns the unique id of every message not marked deleted.
func (c *Client) UIDL(ctx context.Context) ([]UIDEntry, error) {
	ls, err := c.lines(ctx, "UIDL")
	if err != nil {
		return nil, err
	}
	out := make([]UIDEntry, 0, len(ls))
	for _, l := range ls {
		u, err := parseUIDLLine(l)
		if err != nil {
			return nil, err
		}
		out = append(out, u)
	}
	return out, nil
}

// UIDLOne returns the unique id of message id.
func (c *Client) UIDLOne(ctx context.Context, id int) (UIDEntry, error) {
	s, err := c.simple(ctx, "UIDL "+strconv.Itoa(id))
	if err != nil {
		return UIDEntry{}, err
	}
	return parseUIDLLine(s)
}

// parseListLine parses "id size" (extra fields are allowed, RFC 1939 7).
func parseListLine(l string) (MessageInfo, error) {
	f := strings.Fields(l)
	if len(f) < 2 {
		return MessageInfo{}, fmt.Errorf("%w: LIST line %q lacks id and size", ErrProtocol, clip(l))
	}
	id, err1 := strconv.Atoi(f[0])
	sz, err2 := strconv.ParseInt(f[1], 10, 64)
	if err1 != nil || err2 != nil || id < 1 || sz < 0 {
		return MessageInfo{}, fmt.Errorf("%w: LIST line %q is not an id and a size", ErrProtocol, clip(l))
	}
	return MessageInfo{ID: id, Size: sz}, nil
}

// parseUIDLLine parses "id uid". The uid is everything after the id, trimmed: RFC 1939 allows
// 1-70 printable characters, but servers send longer ones and odd punctuation, which are kept.
func parseUIDLLine(l string) (UIDEntry, error) {
	l = strings.TrimSpace(l)
	i := strings.IndexAny(l, " \t")
	if i < 0 {
		return UIDEntry{}, fmt.Errorf("%w: UIDL line %q lacks a unique id", ErrProtocol, clip(l))
	}
	id, err := strconv.Atoi(l[:i])
	uid := strings.TrimSpace(l[i+1:])
	if err != nil || id < 1 || uid == "" {
		return UIDEntry{}, fmt.Errorf("%w: UIDL line %q is not an id and a unique id", ErrProtocol, clip(l))
	}
	for _, r := range uid {
		if r < 0x21 || r == 0x7f {
			return UIDEntry{}, fmt.Errorf("%w: UIDL line %q: unique id has a control character or space", ErrProtocol, clip(l))
		}
	}
	return UIDEntry{ID: id, UID: uid}, nil
}

// Retr retrieves message id. The stream is dot-unstuffed with LF line ends and is valid until the
// next command on the client; reading it to the end is not required.
func (c *Client) Retr(ctx context.Context, id int) (io.Reader, error) {
	return c.stream(ctx, "RETR "+strconv.Itoa(id))
}

// Top retrieves the header of message id and its first lines body lines, as Retr does.
func (c *Client) Top(ctx context.Context, id, lines int) (io.Reader, error) {
	if lines < 0 {
		return nil, fmt.Errorf("pop: TOP: negative line count %d", lines)
	}
	return c.stream(ctx, "TOP "+strconv.Itoa(id)+" "+strconv.Itoa(lines))
}

func (c *Client) stream(ctx context.Context, line string) (io.Reader, error) {
	if _, err := c.cmd(ctx, line, line); err != nil {
		return nil, err
	}
	d := &dotReader{c: c, what: line, lineStart: true}
	c.open = d
	return d, nil
}

// Quit ends the session: the server deletes the messages marked by DELE. An error means the
// deletions may not have been committed. The connection is closed either way.
func (c *Client) Quit(ctx context.Context) error {
	_, err := c.simple(ctx, "QUIT")
	c.Close()
	if err != nil {
		return fmt.Errorf("pop: QUIT did not succeed, so messages marked for deletion were not deleted: %w", err)
	}
	return nil
}
