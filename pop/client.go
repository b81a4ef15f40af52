package pop

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// Client is one POP3 session. Its methods must not be called concurrently, except Close.
type Client struct {
	opts     Options
	conn     net.Conn // the current transport (a *tls.Conn after TLS)
	in       *meter   // conn, with the read deadlines
	r        *bufio.Reader
	w        *bufio.Writer
	greeting string
	stamp    string // APOP timestamp from the greeting, "" if none
	caps     Capabilities
	tlsState *tls.ConnectionState
	authed   bool
	count    int // the largest message count STAT gave in this session; -1 before any STAT

	ctx     context.Context // context of the command in progress
	stopCtx func() bool     // unregisters the cancellation hook of ctx
	open    *dotReader      // the multi-line reply still being read, if any

	mu     sync.Mutex
	broken error // sticky: once set, every command fails with it
}

// NewClient starts a session on conn, which may be plain or already TLS: it reads the greeting and
// does no other I/O. It does not ask for capabilities (see Capa). On error conn is closed.
func NewClient(conn net.Conn, opts Options) (*Client, error) {
	return newClient(context.Background(), conn, opts)
}

func newClient(ctx context.Context, conn net.Conn, opts Options) (*Client, error) {
	c := &Client{opts: opts, count: -1}
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
	c.greeting = strings.TrimSpace(CleanText(line))
	c.stamp = apopStamp(line)
	c.caps = Capabilities{}
	return c, nil
}

func (c *Client) setConn(conn net.Conn) {
	c.conn = conn
	c.in = newMeter(conn, &c.opts)
	c.r = bufio.NewReaderSize(c.in, MaxLineLength)
	c.w = bufio.NewWriterSize(c.in, 4096)
}

// Dial connects to addr ("host:port"), sets up TLS as opts.Security says, reads the greeting and
// asks for the capabilities. With SecuritySTARTTLS it issues STLS and fails with
// ErrSTARTTLSUnavailable, before any credential is sent, when the server does not offer it.
// A certificate that does not verify gives a *CertificateError.
//
// A port that speaks the other security is a *WrongSecurityError. With SecurityTLS that is a
// handshake answered by a POP3 greeting, known at once. With SecuritySTARTTLS or SecurityNone,
// when no greeting has come after 2 s (or half of Options.Timeout, if less), Dial opens a second
// connection to addr and sends a TLS ClientHello on it; if the server answers with TLS, the wait
// for the greeting ends with the error. A slow server that does greet loses nothing: the first
// connection is untouched, and the probe is closed after the server's first bytes. So the mix-up
// is found within that delay plus one TCP and TLS round trip, the probe being bounded by
// Options.Timeout. (NewClient, which has no address, cannot probe.)
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
	var c *Client
	if opts.Security == SecurityTLS {
		tc, err := handshake(dctx, conn, &opts)
		if err != nil {
			if e := notTLS(addr, err); e != nil {
				return nil, e
			}
			return nil, err
		}
		c, err = newClient(ctx, tc, opts)
		if err != nil {
			return nil, err
		}
	} else if c, err = greetPlain(ctx, addr, conn, opts); err != nil {
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

// greetPlain reads the greeting on a plain connection to addr while, should it be late, a probe
// checks whether the port expects TLS (see Dial).
func greetPlain(ctx context.Context, addr string, conn net.Conn, opts Options) (*Client, error) {
	gctx, fail := context.WithCancelCause(ctx)
	defer fail(nil)
	pctx, stopProbe := context.WithCancel(ctx)
	probed := make(chan struct{})
	go func() {
		defer close(probed)
		t := time.NewTimer(min(tlsProbeDelay, opts.timeout()/2))
		defer t.Stop()
		select {
		case <-pctx.Done():
			return
		case <-t.C:
		}
		if speaksTLS(pctx, addr, opts.ServerName, opts.timeout()) {
			fail(&WrongSecurityError{Addr: addr, Tried: opts.Security, Want: SecurityTLS})
		}
	}()
	c, err := newClient(gctx, conn, opts)
	stopProbe()
	<-probed
	if err != nil {
		var we *WrongSecurityError
		if errors.As(context.Cause(gctx), &we) {
			return nil, we
		}
		return nil, err
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

// Greeting is the server's greeting line after "+OK", cleaned (CleanText).
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
	} else if se := (*slowError)(nil); errors.As(err, &se) {
		err = fmt.Errorf("%w: %s", se, what)
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

// trace writes a client line to the trace (stripped of control characters: the user name is
// the user's, but need not be clean).
func (c *Client) trace(s string) {
	if c.opts.Trace != nil {
		io.WriteString(c.opts.Trace, stripControls(s)+"\n")
	}
}

// traceServer writes a server line to the trace, cleaned.
func (c *Client) traceServer(line string) {
	if c.opts.Trace != nil {
		io.WriteString(c.opts.Trace, "S: "+CleanText(line)+"\n")
	}
}

// readLine reads one status line (without its CRLF or LF), at most MaxLineLength bytes, which
// must arrive whole within the timeout.
func (c *Client) readLine(what string) (string, error) {
	c.in.startLine()
	return c.nextLine(what)
}

// nextLine reads one line of the reply being read, at most MaxLineLength bytes.
func (c *Client) nextLine(what string) (string, error) {
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
	c.traceServer(line)
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

// clip cleans server text for an error message and shortens it to 80 bytes.
func clip(s string) string {
	s = CleanText(s)
	if len(s) > 80 {
		i := 80
		for i > 0 && !utf8.RuneStart(s[i]) {
			i--
		}
		return s[:i] + "..."
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

// replyLimit bounds a multi-line reply other than a message: at most lines lines and bytes
// bytes (each line also at most MaxLineLength). why explains the bound in errors.
type replyLimit struct {
	lines, bytes int
	why          string
}

// capaLimit bounds a CAPA reply: real ones have a few dozen short lines.
var capaLimit = replyLimit{lines: 1000, bytes: 1 << 20, why: "the most a CAPA reply may have"}

// listSlack is how many lines more than the STAT count a LIST or UIDL reply may have.
const listSlack = 64

// lines runs a command with a multi-line reply and returns its lines, within lim.
func (c *Client) lines(ctx context.Context, line string, lim replyLimit) ([]string, error) {
	if _, err := c.cmd(ctx, line, line); err != nil {
		return nil, err
	}
	defer c.end()
	return c.readLines(verb(line), lim)
}

func (c *Client) readLines(cmd string, lim replyLimit) ([]string, error) {
	c.in.startStream()
	var out []string
	size := 0
	for {
		l, err := c.nextLine(cmd + " list")
		if err != nil {
			return nil, err
		}
		if l == "." {
			return out, nil
		}
		size += len(l) + 2
		if len(out) >= lim.lines || size > lim.bytes {
			bound := fmt.Sprintf("%d lines", lim.lines)
			if size > lim.bytes {
				bound = fmt.Sprintf("%d bytes", lim.bytes)
			}
			err := fmt.Errorf("%w: the %s reply has more than %s (%s)", ErrReplyTooLarge, cmd, bound, lim.why)
			c.fail(err)
			return nil, err
		}
		l = strings.TrimPrefix(l, ".") // a byte-stuffed line
		c.traceServer(l)
		out = append(out, l)
	}
}

// listing runs LIST or UIDL, whose reply is bounded by the message count of STAT (issued first
// if this session has not).
func (c *Client) listing(ctx context.Context, cmd string) ([]string, error) {
	if c.count < 0 {
		if _, _, err := c.Stat(ctx); err != nil {
			return nil, err
		}
	}
	n := min(c.count, math.MaxInt/2) + listSlack
	return c.lines(ctx, cmd, replyLimit{lines: n, bytes: math.MaxInt, why: listWhy(c.count)})
}

// listWhy explains the bound of a LIST or UIDL reply after STAT said count.
func listWhy(count int) string {
	return fmt.Sprintf("STAT said %d messages, and %d more lines are allowed", count, listSlack)
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

// Stat returns the number of messages and their total size in octets. The count bounds the
// replies of List and UIDL for the rest of the session.
func (c *Client) Stat(ctx context.Context) (count int, size int64, err error) {
	s, err := c.simple(ctx, "STAT")
	if err != nil {
		return 0, 0, err
	}
	return c.parseStat(s)
}

// parseStat parses the text of STAT's +OK and raises the session's count.
func (c *Client) parseStat(s string) (count int, size int64, err error) {
	f := strings.Fields(s)
	if len(f) < 2 {
		return 0, 0, fmt.Errorf("%w: STAT reply %q lacks count and size", ErrProtocol, clip(s))
	}
	n, err1 := strconv.Atoi(f[0])
	sz, err2 := strconv.ParseInt(f[1], 10, 64)
	if err1 != nil || err2 != nil || n < 0 || sz < 0 {
		return 0, 0, fmt.Errorf("%w: STAT reply %q is not two numbers", ErrProtocol, clip(s))
	}
	c.count = max(c.count, n) // RSET may bring back messages a later STAT no longer counts
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

// List returns the size of every message not marked deleted. It issues STAT first when this
// session has not, and fails with ErrReplyTooLarge when the reply has more than 64 lines beyond
// the largest count STAT gave.
func (c *Client) List(ctx context.Context) ([]MessageInfo, error) {
	ls, err := c.listing(ctx, "LIST")
	if err != nil {
		return nil, err
	}
	return parseLines(ls, parseListLine)
}

// ListOne returns the size of message id.
func (c *Client) ListOne(ctx context.Context, id int) (MessageInfo, error) {
	s, err := c.simple(ctx, "LIST "+strconv.Itoa(id))
	if err != nil {
		return MessageInfo{}, err
	}
	return parseListLine(s)
}

// UIDL returns the unique id of every message not marked deleted. Like List, it issues STAT
// first when this session has not, and bounds the reply by its count.
func (c *Client) UIDL(ctx context.Context) ([]UIDEntry, error) {
	ls, err := c.listing(ctx, "UIDL")
	if err != nil {
		return nil, err
	}
	return parseLines(ls, parseUIDLLine)
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
// 1-70 printable characters, but servers send longer ones (of any length up to MaxLineLength),
// 8-bit bytes and odd punctuation, which are kept. A space or a control character (C0, DEL, C1)
// in it is ErrProtocol.
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
		if r < 0x21 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			return UIDEntry{}, fmt.Errorf("%w: UIDL line %q: unique id has a control character or space", ErrProtocol, clip(l))
		}
	}
	return UIDEntry{ID: id, UID: uid}, nil
}

// Retr retrieves message id. The stream is dot-unstuffed with LF line ends and is valid until the
// next command on the client; reading it to the end is not required (the next command skips the
// rest). A reply larger than Options.MaxMessageSize fails with ErrMessageTooLarge.
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
	d := c.newDotReader(line)
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
