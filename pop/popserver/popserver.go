// Package popserver is a small, standards-following POP3 server (RFC 1939, 2449, 2595, 5034, 6856)
// over a Mailbox: implicit TLS and STLS, CAPA, UIDL, TOP, PIPELINING, RESP-CODES, USER/PASS, APOP,
// SASL PLAIN (and XOAUTH2 with Config.Tokens) and, on request, UTF8. It keeps RFC 1939's
// UPDATE-state semantics: DELE only marks, RSET unmarks, and the marked messages are deleted when
// QUIT ends a TRANSACTION-state session; a session that drops deletes nothing. A second session on a locked mailbox gets -ERR [IN-USE].
//
// Poplar uses it for its demo mailbox and its tests, the way net/http/httptest serves net/http's
// tests; Faults lets tests make it misbehave on purpose.
package popserver

import (
	"bufio"
	"bytes"
	"crypto/md5"
	"crypto/tls"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Config says what a Server serves and how.
type Config struct {
	// Mailbox returns the mailbox of an authenticated user.
	Mailbox func(user string) (Mailbox, error)
	// Password returns a user's password, and false for an unknown user. It serves USER/PASS,
	// APOP and SASL PLAIN.
	Password func(user string) (string, bool)
	// Tokens, when set, returns a user's OAuth2 access token, and false for an unknown user; it
	// serves SASL XOAUTH2, which CAPA then lists.
	Tokens func(user string) (string, bool)
	// TLSConfig enables STLS on plain listeners and is required by ServeTLS.
	TLSConfig *tls.Config
	// Hostname goes into the greeting's APOP timestamp; default "localhost".
	Hostname string
	// Implementation is announced in CAPA; default "Poplar popserver".
	Implementation string
	// LoginDelay, when > 0, is announced in CAPA as LOGIN-DELAY (seconds); the server does not
	// enforce it (tests script that with Faults).
	LoginDelay int
	// Expire, when not empty, is announced in CAPA as EXPIRE (e.g. "NEVER" or "30").
	Expire string
	// Disable* switch capabilities off, to play an older server. DisableUSER leaves USER out of
	// CAPA and answers USER with "-ERR [AUTH] USER/PASS is disabled, use APOP", as servers that
	// only take APOP or SASL do.
	DisablePipelining, DisableUIDL, DisableTop, DisableSTLS, DisableCAPA, DisableAPOP, DisableSASL, DisableUSER bool
	// UTF8Downgrade plays Courier: CAPA lists UTF8 (RFC 6856), the UTF8 command is accepted before
	// login, and in a session that has not sent it every message whose header has a byte above
	// 0x7F is replaced, in RETR and TOP, by a short 7-bit message saying so (LIST sizes stay those
	// of the originals). See DowngradeNotice.
	UTF8Downgrade bool
	// RequireTLSForAuth refuses USER, PASS, APOP and AUTH before TLS, as a careful server does.
	RequireTLSForAuth bool
	// IdleTimeout closes a session with no command for this long; default 10 minutes (RFC 1939).
	IdleTimeout time.Duration
	// Faults makes the server misbehave on purpose; nil for a well-behaved server.
	Faults *Faults
	// Logf, when set, receives one line per session event.
	Logf func(format string, args ...any)
}

// Faults are deliberate misbehaviours for tests.
type Faults struct {
	// Reply, when set, sees every command (verb in upper case, then its arguments) before the
	// server handles it; a non-empty result is sent as the whole reply instead (for example
	// "-ERR [IN-USE] locked"). It may be called from several sessions at once.
	Reply func(verb, args string) string
	// CutAfterBytes, when > 0, closes each connection once that many bytes have been sent on it.
	CutAfterBytes int64
	// ByteDelay, when > 0, sleeps this long after each byte of a message body (a slow server).
	ByteDelay time.Duration
	// LineByteDelay, when > 0, sleeps this long after each byte of every other line the server
	// sends: the greeting, status lines and the lines of CAPA, LIST and UIDL (a trickling server).
	LineByteDelay time.Duration
	// EndlessMessages makes RETR and TOP replies never end: after the message the server sends
	// "x" lines until the connection breaks.
	EndlessMessages bool
	// ExtraListLines, when > 0, adds that many lines, numbered after the last message, to every
	// LIST and UIDL reply (a server whose lists disagree with STAT).
	ExtraListLines int
	// CapaPadding, when > 0, adds that many lines of 1000 bytes ("X-PADDING xxx...") to every
	// CAPA reply, before and after STLS.
	CapaPadding int
}

// DowngradeNotice is the message a Config.UTF8Downgrade server sends instead of one with UTF-8
// headers when the session has not sent UTF8. %s is the server's Hostname.
const DowngradeNotice = "From: Mail Delivery System <postmaster@%s>\r\n" +
	"Subject: Message with UTF-8 headers not shown\r\n" +
	"MIME-Version: 1.0\r\n" +
	"Content-Type: text/plain; charset=us-ascii\r\n" +
	"\r\n" +
	"This message has UTF-8 headers, and your mail program did not enable UTF-8\r\n" +
	"(RFC 6856), so it cannot be shown here.\r\n"

// Server serves POP3 sessions. Use New; Close stops it.
type Server struct {
	cfg Config

	mu        sync.Mutex
	listeners map[net.Listener]bool
	conns     map[net.Conn]bool
	locked    map[string]bool
	closed    bool
	wg        sync.WaitGroup
	sessions  atomic.Int64
}

// New returns a server for cfg.
func New(cfg Config) *Server {
	if cfg.Hostname == "" {
		cfg.Hostname = "localhost"
	}
	if cfg.Implementation == "" {
		cfg.Implementation = "Poplar popserver"
	}
	if cfg.IdleTimeout <= 0 {
		cfg.IdleTimeout = 10 * time.Minute
	}
	return &Server{cfg: cfg, listeners: map[net.Listener]bool{}, conns: map[net.Conn]bool{}, locked: map[string]bool{}}
}

// Users returns a Config.Password function for a fixed map of user to password.
func Users(m map[string]string) func(string) (string, bool) {
	return func(u string) (string, bool) {
		p, ok := m[u]
		return p, ok
	}
}

// Listen starts serving on addr (e.g. "127.0.0.1:0") in the background, with implicit TLS when
// implicitTLS is set, and returns the address it listens on.
func (s *Server) Listen(addr string, implicitTLS bool) (net.Addr, error) {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("popserver: %w", err)
	}
	serve := s.Serve
	if implicitTLS {
		serve = s.ServeTLS
	}
	go serve(l)
	return l.Addr(), nil
}

// Serve accepts plain connections on l until Close (STLS is offered when Config.TLSConfig is set).
func (s *Server) Serve(l net.Listener) error { return s.serve(l, false) }

// ServeTLS accepts implicit-TLS connections on l until Close.
func (s *Server) ServeTLS(l net.Listener) error {
	if s.cfg.TLSConfig == nil {
		l.Close()
		return errors.New("popserver: ServeTLS needs Config.TLSConfig")
	}
	return s.serve(l, true)
}

func (s *Server) serve(l net.Listener, implicitTLS bool) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		l.Close()
		return net.ErrClosed
	}
	s.listeners[l] = true
	s.mu.Unlock()
	for {
		conn, err := l.Accept()
		if err != nil {
			s.mu.Lock()
			closed := s.closed
			delete(s.listeners, l)
			s.mu.Unlock()
			if closed {
				return nil
			}
			return fmt.Errorf("popserver: accept: %w", err)
		}
		if implicitTLS {
			conn = tls.Server(conn, s.cfg.TLSConfig)
		}
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			conn.Close()
			return nil
		}
		s.conns[conn] = true
		s.wg.Add(1)
		s.mu.Unlock()
		go func() {
			defer s.wg.Done()
			s.session(conn, implicitTLS)
			s.mu.Lock()
			delete(s.conns, conn)
			s.mu.Unlock()
		}()
	}
}

// Close stops every listener and session and waits for the sessions to end. Sessions cut this way
// delete nothing.
func (s *Server) Close() error {
	s.mu.Lock()
	s.closed = true
	for l := range s.listeners {
		l.Close()
	}
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
	return nil
}

// Sessions returns how many sessions have started.
func (s *Server) Sessions() int64 { return s.sessions.Load() }

func (s *Server) logf(format string, args ...any) {
	if s.cfg.Logf != nil {
		s.cfg.Logf(format, args...)
	}
}

func (s *Server) lock(user string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.locked[user] {
		return false
	}
	s.locked[user] = true
	return true
}

func (s *Server) unlock(user string) {
	s.mu.Lock()
	delete(s.locked, user)
	s.mu.Unlock()
}

// countingConn closes the connection after a byte budget (Faults.CutAfterBytes).
type countingConn struct {
	net.Conn
	left int64
}

func (c *countingConn) Write(p []byte) (int, error) {
	if c.left <= 0 {
		c.Conn.Close()
		return 0, net.ErrClosed
	}
	if int64(len(p)) > c.left {
		n, _ := c.Conn.Write(p[:c.left])
		c.left = 0
		c.Conn.Close()
		return n, net.ErrClosed
	}
	n, err := c.Conn.Write(p)
	c.left -= int64(n)
	return n, err
}

// maxCommand bounds a command line (RFC 2449 allows 255 octets; SASL responses may be longer).
const maxCommand = 16 << 10

type session struct {
	s       *Server
	conn    net.Conn
	r       *bufio.Reader
	w       *bufio.Writer
	tls     bool
	stamp   string
	user    string // USER given, awaiting PASS
	authed  string // the logged-in user, "" before
	mbox    Mailbox
	entries []Entry
	deleted []bool
	utf8    bool // the client sent UTF8
}

func (s *Server) session(conn net.Conn, isTLS bool) {
	n := s.sessions.Add(1)
	defer conn.Close()
	ss := &session{s: s, conn: conn, tls: isTLS}
	ss.setConn(conn)
	ss.stamp = fmt.Sprintf("<%d.%d.%d@%s>", os.Getpid(), n, time.Now().UnixNano(), s.cfg.Hostname)
	if isTLS {
		conn.SetDeadline(time.Now().Add(30 * time.Second))
		if err := conn.(*tls.Conn).Handshake(); err != nil {
			s.logf("session %d: TLS handshake: %v", n, err)
			return
		}
		conn.SetDeadline(time.Time{})
	}
	greeting := "+OK POP3 server ready"
	if !s.cfg.DisableAPOP {
		greeting += " " + ss.stamp
	}
	ss.reply(greeting)
	defer func() {
		if ss.authed != "" {
			s.unlock(ss.authed)
		}
	}()
	for {
		if ss.r.Buffered() == 0 {
			if err := ss.w.Flush(); err != nil {
				return
			}
		}
		conn.SetReadDeadline(time.Now().Add(s.cfg.IdleTimeout))
		line, err := ss.readLine()
		if err != nil {
			if !errors.Is(err, io.EOF) {
				s.logf("session %d: %v", n, err)
			}
			return
		}
		verb, args, _ := strings.Cut(line, " ")
		verb = strings.ToUpper(verb)
		if f := s.cfg.Faults; f != nil && f.Reply != nil {
			if r := f.Reply(verb, args); r != "" {
				ss.reply(r)
				continue
			}
		}
		if done := ss.command(verb, args); done {
			ss.w.Flush()
			return
		}
	}
}

func (ss *session) setConn(conn net.Conn) {
	ss.conn = conn
	var wc net.Conn = conn
	if f := ss.s.cfg.Faults; f != nil && f.CutAfterBytes > 0 {
		wc = &countingConn{Conn: conn, left: f.CutAfterBytes}
	}
	ss.r = bufio.NewReaderSize(conn, maxCommand)
	ss.w = bufio.NewWriterSize(wc, 64<<10)
}

func (ss *session) readLine() (string, error) {
	b, err := ss.r.ReadSlice('\n')
	if err == bufio.ErrBufferFull {
		return "", fmt.Errorf("command line too long")
	}
	if err != nil {
		return "", err
	}
	return strings.TrimRight(string(b), "\r\n"), nil
}

func (ss *session) reply(line string) {
	if f := ss.s.cfg.Faults; f != nil && f.LineByteDelay > 0 {
		ss.trickle([]byte(line+"\r\n"), f.LineByteDelay)
		return
	}
	ss.w.WriteString(line)
	ss.w.WriteString("\r\n")
}

// trickle sends b a byte at a time, sleeping delay after each (Faults). It reports false when
// the connection broke.
func (ss *session) trickle(b []byte, delay time.Duration) bool {
	for _, c := range b {
		ss.w.WriteByte(c)
		if ss.w.Flush() != nil {
			return false
		}
		time.Sleep(delay)
	}
	return true
}

// command handles one command and reports whether the session is over.
func (ss *session) command(verb, args string) bool {
	cfg := &ss.s.cfg
	switch verb {
	case "CAPA":
		if cfg.DisableCAPA {
			break
		}
		ss.capa()
		return false
	case "QUIT":
		ss.quit()
		return true
	case "NOOP":
		ss.reply("+OK")
		return false
	}
	if ss.authed == "" {
		return ss.authorization(verb, args)
	}
	return ss.transaction(verb, args)
}

func (ss *session) capa() {
	cfg := &ss.s.cfg
	ss.reply("+OK capability list follows")
	if !cfg.DisableTop {
		ss.reply("TOP")
	}
	if !cfg.DisableUIDL {
		ss.reply("UIDL")
	}
	if !cfg.DisablePipelining {
		ss.reply("PIPELINING")
	}
	ss.reply("RESP-CODES")
	ss.reply("AUTH-RESP-CODE")
	if cfg.UTF8Downgrade {
		ss.reply("UTF8")
	}
	if ss.authed == "" {
		if !cfg.DisableSTLS && cfg.TLSConfig != nil && !ss.tls {
			ss.reply("STLS")
		}
		if ss.tls || !cfg.RequireTLSForAuth {
			if !cfg.DisableUSER {
				ss.reply("USER")
			}
			if !cfg.DisableSASL && cfg.Tokens != nil {
				ss.reply("SASL PLAIN XOAUTH2")
			} else if !cfg.DisableSASL {
				ss.reply("SASL PLAIN")
			}
		}
	}
	if cfg.LoginDelay > 0 {
		ss.reply("LOGIN-DELAY " + strconv.Itoa(cfg.LoginDelay))
	}
	if cfg.Expire != "" {
		ss.reply("EXPIRE " + cfg.Expire)
	}
	ss.reply("IMPLEMENTATION " + cfg.Implementation)
	if f := cfg.Faults; f != nil {
		for i := 0; i < f.CapaPadding; i++ {
			ss.reply("X-PADDING " + strings.Repeat("x", 990))
		}
	}
	ss.reply(".")
}

func (ss *session) authorization(verb, args string) bool {
	cfg := &ss.s.cfg
	switch verb {
	case "STLS":
		if cfg.DisableSTLS || cfg.TLSConfig == nil || ss.tls {
			ss.reply("-ERR STLS not available")
			return false
		}
		if ss.r.Buffered() > 0 {
			ss.reply("-ERR pipelined commands after STLS")
			return true
		}
		ss.reply("+OK begin TLS negotiation")
		if err := ss.w.Flush(); err != nil {
			return true
		}
		tc := tls.Server(ss.conn, cfg.TLSConfig)
		ss.conn.SetDeadline(time.Now().Add(30 * time.Second))
		if err := tc.Handshake(); err != nil {
			ss.s.logf("STLS handshake: %v", err)
			return true
		}
		ss.conn.SetDeadline(time.Time{})
		ss.tls = true
		ss.user = ""
		ss.setConn(tc)
		return false
	case "USER", "PASS", "APOP", "AUTH":
		if cfg.RequireTLSForAuth && !ss.tls {
			ss.reply("-ERR [AUTH] TLS required first (STLS)")
			return false
		}
	}
	switch verb {
	case "UTF8":
		if !cfg.UTF8Downgrade {
			ss.reply("-ERR unknown command")
			return false
		}
		ss.utf8 = true
		ss.reply("+OK UTF8 enabled")
	case "USER":
		if cfg.DisableUSER {
			ss.reply("-ERR [AUTH] USER/PASS is disabled, use APOP")
			return false
		}
		if args == "" {
			ss.reply("-ERR USER needs a name")
			return false
		}
		ss.user = args
		ss.reply("+OK")
	case "PASS":
		if ss.user == "" {
			ss.reply("-ERR USER first")
			return false
		}
		user := ss.user
		ss.user = ""
		pw, ok := cfg.Password(user)
		if !ok || pw != args {
			ss.reply("-ERR [AUTH] invalid user name or password")
			return false
		}
		ss.login(user)
	case "APOP":
		f := strings.Fields(args)
		if cfg.DisableAPOP || len(f) != 2 {
			ss.reply("-ERR APOP not available or bad arguments")
			return false
		}
		pw, ok := cfg.Password(f[0])
		sum := md5.Sum([]byte(ss.stamp + pw))
		if !ok || !strings.EqualFold(hex.EncodeToString(sum[:]), f[1]) {
			ss.reply("-ERR [AUTH] authentication failed")
			return false
		}
		ss.login(f[0])
	case "AUTH":
		ss.auth(args)
	default:
		ss.reply("-ERR unknown command or wrong state")
	}
	return false
}

func (ss *session) auth(args string) {
	cfg := &ss.s.cfg
	mech, initial, hasInitial := strings.Cut(args, " ")
	xoauth2 := strings.EqualFold(mech, "XOAUTH2") && cfg.Tokens != nil
	if cfg.DisableSASL || !(strings.EqualFold(mech, "PLAIN") || xoauth2) {
		ss.reply("-ERR unsupported SASL mechanism")
		return
	}
	if !hasInitial {
		ss.reply("+ ")
		ss.w.Flush()
		line, err := ss.readLine()
		if err != nil {
			return
		}
		initial = line
	}
	if initial == "*" {
		ss.reply("-ERR authentication cancelled")
		return
	}
	if initial == "=" {
		initial = ""
	}
	raw, err := base64.StdEncoding.DecodeString(initial)
	if xoauth2 {
		ss.xoauth2(raw, err)
		return
	}
	parts := strings.Split(string(raw), "\x00")
	if err != nil || len(parts) != 3 {
		ss.reply("-ERR malformed PLAIN response")
		return
	}
	pw, ok := cfg.Password(parts[1])
	if !ok || pw != parts[2] || (parts[0] != "" && parts[0] != parts[1]) {
		ss.reply("-ERR [AUTH] authentication failed")
		return
	}
	ss.login(parts[1])
}

// xoauth2 checks an XOAUTH2 initial response, "user=U^Aauth=Bearer T^A^A".
func (ss *session) xoauth2(raw []byte, err error) {
	var user, token string
	for _, kv := range strings.Split(string(raw), "\x01") {
		if v, ok := strings.CutPrefix(kv, "user="); ok {
			user = v
		} else if v, ok := strings.CutPrefix(kv, "auth=Bearer "); ok {
			token = v
		}
	}
	want, ok := ss.s.cfg.Tokens(user)
	if err != nil || !ok || token == "" || token != want {
		ss.reply("-ERR [AUTH] invalid token")
		return
	}
	ss.login(user)
}

// login locks the user's mailbox and enters the TRANSACTION state.
func (ss *session) login(user string) {
	if !ss.s.lock(user) {
		ss.reply("-ERR [IN-USE] mailbox is locked by another session")
		return
	}
	mb, err := ss.s.cfg.Mailbox(user)
	var entries []Entry
	if err == nil {
		entries, err = mb.List()
	}
	if err != nil {
		ss.s.unlock(user)
		ss.s.logf("mailbox of %s: %v", user, err)
		ss.reply("-ERR [SYS/TEMP] cannot open mailbox")
		return
	}
	ss.authed, ss.mbox, ss.entries, ss.deleted = user, mb, entries, make([]bool, len(entries))
	ss.reply(fmt.Sprintf("+OK %d messages", len(entries)))
}

// msg parses a message number argument; it replies -ERR and returns -1 when it is not valid.
func (ss *session) msg(arg string) int {
	n, err := strconv.Atoi(strings.TrimSpace(arg))
	if err != nil || n < 1 || n > len(ss.entries) {
		ss.reply("-ERR no such message")
		return -1
	}
	if ss.deleted[n-1] {
		ss.reply("-ERR message " + strconv.Itoa(n) + " already deleted")
		return -1
	}
	return n - 1
}

func (ss *session) transaction(verb, args string) bool {
	cfg := &ss.s.cfg
	switch verb {
	case "STAT":
		var n int
		var size int64
		for i, e := range ss.entries {
			if !ss.deleted[i] {
				n++
				size += e.Size
			}
		}
		ss.reply(fmt.Sprintf("+OK %d %d", n, size))
	case "LIST", "UIDL":
		if verb == "UIDL" && cfg.DisableUIDL {
			ss.reply("-ERR unknown command")
			return false
		}
		field := func(i int) string {
			if verb == "UIDL" {
				return ss.entries[i].UID
			}
			return strconv.FormatInt(ss.entries[i].Size, 10)
		}
		if strings.TrimSpace(args) != "" {
			if i := ss.msg(args); i >= 0 {
				ss.reply(fmt.Sprintf("+OK %d %s", i+1, field(i)))
			}
			return false
		}
		ss.reply("+OK")
		for i := range ss.entries {
			if !ss.deleted[i] {
				ss.reply(fmt.Sprintf("%d %s", i+1, field(i)))
			}
		}
		if f := cfg.Faults; f != nil {
			for i := 0; i < f.ExtraListLines; i++ {
				ss.reply(fmt.Sprintf("%d x%d", len(ss.entries)+i+1, i))
			}
		}
		ss.reply(".")
	case "RETR":
		if i := ss.msg(args); i >= 0 {
			return ss.send(i, -1)
		}
	case "TOP":
		f := strings.Fields(args)
		if cfg.DisableTop || len(f) != 2 {
			ss.reply("-ERR TOP needs a message and a line count")
			return false
		}
		k, err := strconv.Atoi(f[1])
		if err != nil || k < 0 {
			ss.reply("-ERR bad line count")
			return false
		}
		if i := ss.msg(f[0]); i >= 0 {
			return ss.send(i, k)
		}
	case "DELE":
		if i := ss.msg(args); i >= 0 {
			ss.deleted[i] = true
			ss.reply("+OK message deleted")
		}
	case "RSET":
		for i := range ss.deleted {
			ss.deleted[i] = false
		}
		ss.reply("+OK")
	default:
		ss.reply("-ERR unknown command or wrong state")
	}
	return false
}

// send writes message i, dot-stuffed with CRLF line ends; bodyLines >= 0 limits the body to that
// many lines (TOP). It reports whether the session must end (the message could not be read).
func (ss *session) send(i, bodyLines int) bool {
	rc, err := ss.mbox.Open(ss.entries[i].UID)
	if err != nil {
		ss.reply("-ERR [SYS/TEMP] cannot read message")
		return false
	}
	defer rc.Close()
	var msg io.Reader = rc
	if ss.s.cfg.UTF8Downgrade && !ss.utf8 {
		if msg, err = ss.downgrade(rc); err != nil {
			ss.reply("-ERR [SYS/TEMP] cannot read message")
			return false
		}
	}
	ss.reply("+OK " + strconv.FormatInt(ss.entries[i].Size, 10) + " octets")
	br := bufio.NewReaderSize(msg, 64<<10)
	inBody := false
	lineStart := true
	var delay time.Duration
	endless := false
	if f := ss.s.cfg.Faults; f != nil {
		delay, endless = f.ByteDelay, f.EndlessMessages
	}
	for {
		if inBody && lineStart && bodyLines >= 0 {
			if bodyLines == 0 {
				break
			}
			bodyLines--
		}
		frag, err := br.ReadSlice('\n')
		if len(frag) > 0 {
			full := frag[len(frag)-1] == '\n'
			content := frag
			if full {
				content = frag[:len(frag)-1]
				if len(content) > 0 && content[len(content)-1] == '\r' {
					content = content[:len(content)-1]
				}
			}
			if lineStart && len(content) > 0 && content[0] == '.' {
				ss.w.WriteByte('.')
			}
			if lineStart && !inBody && len(content) == 0 && full {
				inBody = true
			}
			if delay > 0 {
				if !ss.trickle(content, delay) {
					return true
				}
			} else {
				ss.w.Write(content)
			}
			if full {
				ss.w.WriteString("\r\n")
			}
			lineStart = full
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		if err == io.EOF {
			if !lineStart {
				ss.w.WriteString("\r\n")
			}
			break
		}
		if err != nil {
			ss.s.logf("reading message %s: %v", ss.entries[i].UID, err)
			return true // cannot finish the reply: the client must see a broken session
		}
	}
	for endless {
		if _, err := ss.w.WriteString("x\r\n"); err != nil {
			return true
		}
	}
	ss.reply(".")
	return false
}

// downgrade returns the message of r, or DowngradeNotice when its header has 8-bit bytes
// (Config.UTF8Downgrade, for a session that has not sent UTF8).
func (ss *session) downgrade(r io.Reader) (io.Reader, error) {
	b, err := io.ReadAll(r)
	if err != nil {
		return nil, err
	}
	header := b
	for _, sep := range []string{"\r\n\r\n", "\n\n"} {
		if i := bytes.Index(b, []byte(sep)); i >= 0 && i < len(header) {
			header = b[:i]
		}
	}
	for _, c := range header {
		if c >= 0x80 {
			return strings.NewReader(fmt.Sprintf(DowngradeNotice, ss.s.cfg.Hostname)), nil
		}
	}
	return bytes.NewReader(b), nil
}

func (ss *session) quit() {
	if ss.authed == "" {
		ss.reply("+OK bye")
		return
	}
	var uids []string
	for i, d := range ss.deleted {
		if d {
			uids = append(uids, ss.entries[i].UID)
		}
	}
	if len(uids) > 0 {
		if err := ss.mbox.Delete(uids); err != nil {
			ss.s.logf("deleting for %s: %v", ss.authed, err)
			ss.reply("-ERR [SYS/PERM] some deleted messages not removed")
			return
		}
	}
	// Release the lock before answering, so a client that has seen +OK
	// can log in again at once (as RFC 1939 clients may).
	ss.s.unlock(ss.authed)
	ss.authed = ""
	ss.reply(fmt.Sprintf("+OK bye (%d messages deleted)", len(uids)))
}
