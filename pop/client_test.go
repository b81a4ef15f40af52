package pop

import (
	"bufio"
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/md5"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"time"
	"unicode"
)

// peer is the server side of a scripted session over net.Pipe.
type peer struct {
	t    *testing.T
	conn net.Conn
	r    *bufio.Reader
}

// expect reads one command line and fails the test unless it equals want.
func (p *peer) expect(want string) {
	p.t.Helper()
	p.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	l, err := p.r.ReadString('\n')
	if err != nil {
		p.t.Errorf("server: reading command (want %q): %v", want, err)
		return
	}
	if got := strings.TrimRight(l, "\r\n"); got != want {
		p.t.Errorf("server got command %q, want %q", got, want)
	}
}

// read returns the next command line.
func (p *peer) read() string {
	p.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	l, _ := p.r.ReadString('\n')
	return strings.TrimRight(l, "\r\n")
}

func (p *peer) send(s string) {
	p.conn.SetWriteDeadline(time.Now().Add(5 * time.Second))
	io.WriteString(p.conn, s)
}

// scripted starts a client on one end of a pipe and runs script on the other. The greeting is
// sent by the script. It returns the client (or the NewClient error) once the greeting is read;
// the script keeps running in the background and is waited for at cleanup.
func scripted(t *testing.T, opts Options, script func(p *peer)) (*Client, error) {
	t.Helper()
	cs, ss := net.Pipe()
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer ss.Close()
		script(&peer{t: t, conn: ss, r: bufio.NewReader(ss)})
	}()
	t.Cleanup(func() {
		cs.Close()
		<-done
	})
	if opts.Timeout == 0 {
		opts.Timeout = 5 * time.Second
	}
	return NewClient(cs, opts)
}

func client(t *testing.T, opts Options, script func(p *peer)) *Client {
	t.Helper()
	c, err := scripted(t, opts, script)
	if err != nil {
		t.Fatalf("NewClient: %v", err)
	}
	return c
}

func TestGreetingForms(t *testing.T) {
	tests := []struct {
		line, greeting, stamp string
	}{
		{"+OK\r\n", "", ""},
		{"+OK ready\r\n", "ready", ""},
		{"+OK POP3 ready <1896.697170952@dbc.mtview.ca.us>\r\n", "POP3 ready <1896.697170952@dbc.mtview.ca.us>", "<1896.697170952@dbc.mtview.ca.us>"},
		{"+OK ready <no-at-sign>\n", "ready", ""}, // tag-like text is not shown (CleanText)
		{"+OK \x1b[31mready\x1b[0m <b>now</b>\r\n", "ready now", ""},
	}
	for _, tc := range tests {
		c := client(t, Options{}, func(p *peer) { p.send(tc.line) })
		if c.Greeting() != tc.greeting || c.stamp != tc.stamp {
			t.Errorf("greeting %q: got (%q, %q), want (%q, %q)", tc.line, c.Greeting(), c.stamp, tc.greeting, tc.stamp)
		}
	}
}

func TestBrokenPeers(t *testing.T) {
	tests := []struct {
		name   string
		script func(p *peer)
		want   error
	}{
		{"no greeting", func(p *peer) { time.Sleep(400 * time.Millisecond) }, nil},
		{"garbage greeting", func(p *peer) { p.send("HELLO THERE\r\n") }, ErrProtocol},
		{"-ERR greeting", func(p *peer) { p.send("-ERR go away\r\n") }, nil},
		{"EOF before greeting", func(p *peer) {}, io.ErrUnexpectedEOF},
		{"huge greeting", func(p *peer) { p.send("+OK " + strings.Repeat("x", 100<<10) + "\r\n") }, ErrLineTooLong},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := scripted(t, Options{Timeout: 200 * time.Millisecond}, tc.script)
			if err == nil {
				t.Fatal("NewClient succeeded, want an error")
			}
			if tc.want != nil && !errors.Is(err, tc.want) {
				t.Fatalf("NewClient error = %v, want %v", err, tc.want)
			}
		})
	}
}

func TestNoGreetingTimesOut(t *testing.T) {
	_, err := scripted(t, Options{Timeout: 100 * time.Millisecond}, func(p *peer) { time.Sleep(300 * time.Millisecond) })
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("NewClient error = %v, want a timeout", err)
	}
}

func TestRetrStream(t *testing.T) {
	long := strings.Repeat("0123456789", 30000) // a 300 KB line
	tests := []struct {
		name, wire, want string
	}{
		{"empty", ".\r\n", ""},
		{"simple", "a\r\nb\r\n.\r\n", "a\nb\n"},
		{"stuffed", "..\r\n...x\r\n.y\r\n.\r\n", ".\n..x\ny\n"},
		{"bare LF", "a\nb\n.\n", "a\nb\n"},
		{"mixed", "a\r\nb\nc\r\n.\r\n", "a\nb\nc\n"},
		{"lone CR kept", "a\rb\r\n.\r\n", "a\rb\n"},
		{"long line", long + "\r\n" + long + "\r\n.\r\n", long + "\n" + long + "\n"},
		{"dot inside", "a.b\r\n .\r\n.\r\n", "a.b\n .\n"},
		{"8-bit", "\xff\xfe\x00\x01\r\n.\r\n", "\xff\xfe\x00\x01\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := client(t, Options{}, func(p *peer) {
				p.send("+OK\r\n")
				p.expect("RETR 1")
				// Split the reply into small writes to exercise reads across packet edges.
				w := "+OK\r\n" + tc.wire
				for len(w) > 0 {
					n := min(len(w), 7)
					p.send(w[:n])
					w = w[n:]
				}
				p.expect("NOOP")
				p.send("+OK\r\n")
			})
			r, err := c.Retr(context.Background(), 1)
			if err != nil {
				t.Fatal(err)
			}
			got, err := io.ReadAll(r)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tc.want {
				t.Errorf("Retr = %q, want %q", clip(string(got)), clip(tc.want))
			}
			if err := c.Noop(context.Background()); err != nil {
				t.Errorf("Noop after Retr: %v", err)
			}
		})
	}
}

// TestRetrSmallReads reads through a 1-byte buffer so every CRLF straddles a Read call.
func TestRetrSmallReads(t *testing.T) {
	c := client(t, Options{}, func(p *peer) {
		p.send("+OK\r\n")
		p.expect("RETR 1")
		p.send("+OK\r\nab\r\n..c\r\n\r\n.\r\n")
	})
	r, err := c.Retr(context.Background(), 1)
	if err != nil {
		t.Fatal(err)
	}
	var out []byte
	buf := make([]byte, 1)
	for {
		n, err := r.Read(buf)
		out = append(out, buf[:n]...)
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if string(out) != "ab\n.c\n\n" {
		t.Errorf("Retr with 1-byte reads = %q, want %q", out, "ab\n.c\n\n")
	}
}

func TestRetrUnreadIsSkipped(t *testing.T) {
	c := client(t, Options{}, func(p *peer) {
		p.send("+OK\r\n")
		p.expect("RETR 1")
		p.send("+OK\r\nline1\r\nline2\r\n.\r\n")
		p.expect("STAT")
		p.send("+OK 3 300\r\n")
	})
	if _, err := c.Retr(context.Background(), 1); err != nil {
		t.Fatal(err)
	}
	n, size, err := c.Stat(context.Background())
	if err != nil || n != 3 || size != 300 {
		t.Fatalf("Stat after an unread Retr = %d, %d, %v; want 3, 300, nil", n, size, err)
	}
}

func TestMidMessageFailures(t *testing.T) {
	tests := []struct {
		name   string
		script func(p *peer)
	}{
		{"EOF mid RETR", func(p *peer) { p.send("+OK\r\npart of a mess") }},
		{"no terminating dot", func(p *peer) { p.send("+OK\r\nline\r\nline\r\n") }},
		{"one byte per second", func(p *peer) {
			p.send("+OK\r\n")
			for i := 0; i < 3; i++ {
				p.send("x")
				time.Sleep(time.Second)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := client(t, Options{Timeout: 300 * time.Millisecond}, func(p *peer) {
				p.send("+OK\r\n")
				p.expect("RETR 1")
				tc.script(p)
			})
			r, err := c.Retr(context.Background(), 1)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := io.ReadAll(r); err == nil {
				t.Fatal("reading a cut message succeeded, want an error")
			}
			if err := c.Noop(context.Background()); err == nil {
				t.Fatal("command after a broken stream succeeded, want an error")
			}
		})
	}
}

func TestErrorCodes(t *testing.T) {
	tests := []struct {
		cmd, line       string
		code, text      string
		temporary, auth bool
	}{
		{"PASS", "-ERR [AUTH] bad password", CodeAuth, "bad password", false, true},
		{"PASS", "-ERR [IN-USE] locked", CodeInUse, "locked", true, false},
		{"PASS", "-ERR [LOGIN-DELAY] wait", CodeLoginDelay, "wait", true, false},
		{"RETR", "-ERR [SYS/TEMP] later", CodeSysTemp, "later", true, false},
		{"RETR", "-ERR [SYS/PERM] gone", CodeSysPerm, "gone", false, false},
		{"PASS", "-ERR", "", "", false, true},
		{"PASS", "-ERR invalid", "", "invalid", false, true},
		{"RETR", "-ERR no such message", "", "no such message", false, false},
		{"USER", "-ERR [utf8] need utf8", CodeUTF8, "need utf8", false, false},
		// A refused method is not a wrong password.
		{"USER", "-ERR [AUTH] Plaintext authentication disallowed", CodeAuth, "Plaintext authentication disallowed", false, false},
		{"USER", "-ERR no such command", "", "no such command", false, false},
		{"PASS", "-ERR plaintext authentication disabled", "", "plaintext authentication disabled", false, false},
		{"AUTH", "-ERR [AUTH] mechanism not supported", CodeAuth, "mechanism not supported", false, false},
		{"PASS", "-ERR [AUTH] account disabled", CodeAuth, "account disabled", false, true},
		{"PASS", "-ERR [SYS/TEMP] USER not allowed now", CodeSysTemp, "USER not allowed now", true, false},
	}
	for _, tc := range tests {
		c := client(t, Options{}, func(p *peer) {
			p.send("+OK\r\n")
			p.read()
			p.send(tc.line + "\r\n")
		})
		_, err := c.simple(context.Background(), tc.cmd+" x")
		var e *Error
		if !errors.As(err, &e) {
			t.Fatalf("%s: error %v is not an *Error", tc.line, err)
		}
		if e.Code != tc.code || e.Text != tc.text || e.Command != tc.cmd || e.Temporary() != tc.temporary || e.IsAuthFailure() != tc.auth {
			t.Errorf("%s: got %+v temporary=%v auth=%v", tc.line, *e, e.Temporary(), e.IsAuthFailure())
		}
	}
}

func TestCapaErrAndSilence(t *testing.T) {
	c := client(t, Options{}, func(p *peer) {
		p.send("+OK\r\n")
		p.expect("CAPA")
		p.send("-ERR unknown command\r\n")
		p.expect("USER u")
		p.send("+OK\r\n")
		p.expect("PASS pw")
		p.send("+OK\r\n")
		p.expect("CAPA")
		p.send("-ERR\r\n")
	})
	if err := c.Capa(context.Background()); !isErrReply(err) {
		t.Fatalf("Capa = %v, want an -ERR", err)
	}
	if c.Capabilities().Known {
		t.Fatal("Capabilities().Known after a failed CAPA")
	}
	// With no CAPA, auto falls back to USER/PASS (allowed here: the test opts in to insecure auth).
	c.opts.AllowInsecureAuth = true
	if err := c.Auth(context.Background(), Credentials{Username: "u", Password: "pw"}); err != nil {
		t.Fatalf("Auth: %v", err)
	}
}

func TestParseCapabilities(t *testing.T) {
	c := parseCapabilities([]string{"TOP", "USER", "SASL PLAIN cram-md5 SCRAM-SHA-256", "RESP-CODES", "LOGIN-DELAY 900 USER",
		"PIPELINING", "EXPIRE NEVER", "UIDL", "IMPLEMENTATION Shlemazle Plotz v302", "STLS", "X-UNKNOWN a b"})
	if !c.Known || !c.Top || !c.User || !c.Pipelining || !c.UIDL || !c.STLS || !c.RespCodes {
		t.Errorf("flags missing: %+v", c)
	}
	if !c.HasSASL("CRAM-MD5") || !c.HasSASL("plain") || c.HasSASL("LOGIN") {
		t.Errorf("SASL = %v", c.SASL)
	}
	if c.LoginDelay != 900*time.Second || !c.LoginDelayPerUser {
		t.Errorf("LoginDelay = %v %v", c.LoginDelay, c.LoginDelayPerUser)
	}
	if !c.HasExpire || c.Expire != -1 {
		t.Errorf("Expire = %v %v", c.Expire, c.HasExpire)
	}
	if c.Implementation != "Shlemazle Plotz v302" {
		t.Errorf("Implementation = %q", c.Implementation)
	}
}

func TestListAndUIDLParsing(t *testing.T) {
	longUID := strings.Repeat("u", 200)
	c := client(t, Options{}, func(p *peer) {
		p.send("+OK\r\n")
		p.expect("STAT")
		p.send("+OK 3 1000\r\n")
		p.expect("UIDL")
		p.send("+OK\r\n1 whqtswO00WBw418f9t5JxYwZ\r\n2 " + longUID + "\r\n3 a!b\"c#$%&'()*+,-./:;<=>?@[\\]^_`{|}~\r\n.\r\n")
		p.expect("LIST")
		p.send("+OK 2 messages\r\n1 120\r\n2 999999999 extra\r\n.\r\n")
		p.expect("UIDL 7")
		p.send("+OK 7 xyz\r\n")
		p.expect("UIDL")
		p.send("+OK\r\n1\r\n.\r\n")
	})
	ctx := context.Background()
	if _, _, err := c.Stat(ctx); err != nil {
		t.Fatal(err)
	}
	u, err := c.UIDL(ctx)
	if err != nil || len(u) != 3 || u[1].UID != longUID || u[2].UID != "a!b\"c#$%&'()*+,-./:;<=>?@[\\]^_`{|}~" {
		t.Fatalf("UIDL = %v, %v", u, err)
	}
	l, err := c.List(ctx)
	if err != nil || len(l) != 2 || l[1].Size != 999999999 {
		t.Fatalf("List = %v, %v", l, err)
	}
	one, err := c.UIDLOne(ctx, 7)
	if err != nil || one.ID != 7 || one.UID != "xyz" {
		t.Fatalf("UIDLOne = %v, %v", one, err)
	}
	if _, err := c.UIDL(ctx); !errors.Is(err, ErrProtocol) {
		t.Fatalf("UIDL with a malformed line = %v, want ErrProtocol", err)
	}
}

func TestInsecureAuthRefused(t *testing.T) {
	for _, m := range []AuthMethod{AuthAuto, AuthUser, AuthPlain, AuthLogin, AuthXOAUTH2} {
		c := client(t, Options{}, func(p *peer) {
			p.send("+OK\r\n")
			if l := p.read(); l != "" {
				t.Errorf("%v: server received %q; nothing may be sent", m, l)
			}
		})
		c.caps = parseCapabilities([]string{"USER", "SASL PLAIN LOGIN XOAUTH2"})
		err := c.Auth(context.Background(), Credentials{Method: m, Username: "u", Password: "secret", Token: "tok"})
		if !errors.Is(err, ErrInsecureAuth) {
			t.Errorf("Auth(%v) over plain = %v, want ErrInsecureAuth", m, err)
		}
		c.Close()
	}
}

func TestAuthAutoPicksStrongest(t *testing.T) {
	tests := []struct {
		sasl     string
		insecure bool
		want     AuthMethod
	}{
		{"SASL PLAIN LOGIN CRAM-MD5 SCRAM-SHA-1 SCRAM-SHA-256", false, AuthSCRAMSHA256},
		{"SASL PLAIN SCRAM-SHA-1", false, AuthSCRAMSHA1},
		{"SASL PLAIN LOGIN CRAM-MD5", true, AuthCRAMMD5},
		{"SASL LOGIN PLAIN", true, AuthPlain},
		{"SASL LOGIN", true, AuthLogin},
		{"USER", true, AuthUser},
	}
	for _, tc := range tests {
		c := &Client{opts: Options{AllowInsecureAuth: tc.insecure}, caps: parseCapabilities([]string{tc.sasl})}
		got, err := c.authMethods(Credentials{Username: "u", Password: "p"})
		if err != nil || len(got) == 0 || got[0] != tc.want {
			t.Errorf("authMethods(%q) = %v, %v; want %v first", tc.sasl, got, err, tc.want)
		}
	}
}

// TestSASLExchanges checks what the client sends for each mechanism, and that the trace hides it.
func TestSASLExchanges(t *testing.T) {
	b64 := base64.StdEncoding.EncodeToString
	tests := []struct {
		method AuthMethod
		script func(t *testing.T, p *peer)
	}{
		{AuthPlain, func(t *testing.T, p *peer) {
			p.expect("AUTH PLAIN " + b64([]byte("\x00user\x00sekrit")))
			p.send("+OK\r\n")
		}},
		{AuthLogin, func(t *testing.T, p *peer) {
			p.expect("AUTH LOGIN")
			p.send("+ " + b64([]byte("Username:")) + "\r\n")
			p.expect(b64([]byte("user")))
			p.send("+ " + b64([]byte("Password:")) + "\r\n")
			p.expect(b64([]byte("sekrit")))
			p.send("+OK\r\n")
		}},
		{AuthCRAMMD5, func(t *testing.T, p *peer) {
			ch := "<1896.697170952@postoffice.example.net>"
			p.expect("AUTH CRAM-MD5")
			p.send("+ " + b64([]byte(ch)) + "\r\n")
			mac := hmac.New(md5.New, []byte("sekrit"))
			mac.Write([]byte(ch))
			p.expect(b64([]byte("user " + hex.EncodeToString(mac.Sum(nil)))))
			p.send("+OK\r\n")
		}},
		{AuthXOAUTH2, func(t *testing.T, p *peer) {
			p.expect("AUTH XOAUTH2 " + b64([]byte("user=user\x01auth=Bearer tok3n\x01\x01")))
			p.send("+ " + b64([]byte(`{"status":"401"}`)) + "\r\n")
			p.expect("")
			p.send("-ERR [AUTH] token expired\r\n")
		}},
		{AuthOAUTHBEARER, func(t *testing.T, p *peer) {
			p.expect("AUTH OAUTHBEARER " + b64([]byte("n,a=user,\x01auth=Bearer tok3n\x01\x01")))
			p.send("+OK\r\n")
		}},
	}
	for _, tc := range tests {
		t.Run(tc.method.String(), func(t *testing.T) {
			var trace bytes.Buffer
			c := client(t, Options{Trace: &trace, AllowInsecureAuth: true}, func(p *peer) {
				p.send("+OK\r\n")
				tc.script(t, p)
				if p.read() == "CAPA" {
					p.send("+OK\r\n.\r\n")
				}
			})
			err := c.Auth(context.Background(), Credentials{Method: tc.method, Username: "user", Password: "sekrit", Token: "tok3n"})
			if tc.method == AuthXOAUTH2 {
				var e *Error
				if !errors.As(err, &e) || !e.IsAuthFailure() {
					t.Fatalf("XOAUTH2 with a rejected token = %v, want an auth failure", err)
				}
			} else if err != nil {
				t.Fatalf("Auth: %v", err)
			}
			for _, secret := range []string{"sekrit", "tok3n", b64([]byte("\x00user\x00sekrit")), b64([]byte("sekrit")), b64([]byte("user"))} {
				if strings.Contains(trace.String(), secret) {
					t.Errorf("trace contains secret %q:\n%s", secret, trace.String())
				}
			}
		})
	}
}

func TestSTARTTLSNotOfferedSendsNothing(t *testing.T) {
	c := client(t, Options{Security: SecuritySTARTTLS}, func(p *peer) {
		p.send("+OK\r\n")
		p.expect("CAPA")
		p.send("+OK\r\nUSER\r\nSASL PLAIN\r\n.\r\n")
		if l := p.read(); l != "" {
			t.Errorf("server received %q after CAPA without STLS", l)
		}
	})
	if err := c.Capa(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := c.StartTLS(context.Background()); !errors.Is(err, ErrSTARTTLSUnavailable) {
		t.Fatalf("StartTLS = %v, want ErrSTARTTLSUnavailable", err)
	}
	c.Close()
}

func TestQuitErrReported(t *testing.T) {
	c := client(t, Options{}, func(p *peer) {
		p.send("+OK\r\n")
		p.expect("DELE 1")
		p.send("+OK\r\n")
		p.expect("QUIT")
		p.send("-ERR [SYS/PERM] could not delete\r\n")
	})
	ctx := context.Background()
	if err := c.Dele(ctx, 1); err != nil {
		t.Fatal(err)
	}
	err := c.Quit(ctx)
	var e *Error
	if !errors.As(err, &e) || e.Code != CodeSysPerm {
		t.Fatalf("Quit = %v, want an *Error with SYS/PERM", err)
	}
}

func TestCancelClosesConnection(t *testing.T) {
	c := client(t, Options{Timeout: 10 * time.Second}, func(p *peer) {
		p.send("+OK\r\n")
		p.expect("RETR 1")
		p.send("+OK\r\nsome")
		time.Sleep(2 * time.Second)
	})
	ctx, cancel := context.WithCancel(context.Background())
	r, err := c.Retr(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	time.AfterFunc(100*time.Millisecond, cancel)
	_, err = io.ReadAll(r)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("reading after cancel = %v, want context.Canceled", err)
	}
}

func TestCommandInjectionRefused(t *testing.T) {
	c := client(t, Options{AllowInsecureAuth: true}, func(p *peer) {
		p.send("+OK\r\n")
		if l := p.read(); l != "" {
			t.Errorf("server received %q", l)
		}
	})
	err := c.Auth(context.Background(), Credentials{Method: AuthUser, Username: "u\r\nDELE 1", Password: "p"})
	if err == nil {
		t.Fatal("a user name with CRLF was sent")
	}
	c.Close()
}

func FuzzParseCapabilities(f *testing.F) {
	f.Add("TOP\nSASL PLAIN LOGIN\nLOGIN-DELAY 900 USER\nEXPIRE NEVER\nIMPLEMENTATION x")
	f.Add("LOGIN-DELAY -1\nEXPIRE abc\nSASL")
	f.Fuzz(func(t *testing.T, s string) {
		c := parseCapabilities(strings.Split(s, "\n"))
		if c.LoginDelay < 0 || c.Expire < -1 {
			t.Fatalf("negative values from %q: %+v", s, c)
		}
	})
}

func FuzzParseUIDLLine(f *testing.F) {
	f.Add("1 abc")
	f.Add("2  \t x y")
	f.Add("0 a")
	f.Add("99999999999999999999 a")
	f.Fuzz(func(t *testing.T, s string) {
		u, err := parseUIDLLine(s)
		if err == nil && (u.ID < 1 || u.UID == "" || strings.ContainsFunc(u.UID, func(r rune) bool { return r == ' ' || unicode.IsControl(r) })) {
			t.Fatalf("parseUIDLLine(%q) = %+v without error", s, u)
		}
	})
}

func FuzzParseListLine(f *testing.F) {
	f.Add("1 120")
	f.Add("1 -5")
	f.Fuzz(func(t *testing.T, s string) {
		m, err := parseListLine(s)
		if err == nil && (m.ID < 1 || m.Size < 0) {
			t.Fatalf("parseListLine(%q) = %+v without error", s, m)
		}
	})
}

func FuzzParseErr(f *testing.F) {
	f.Add(" [IN-USE] locked")
	f.Add("[")
	f.Add(" []")
	f.Fuzz(func(t *testing.T, s string) {
		e := parseErr("X", s)
		_ = e.Error()
		_ = e.Temporary()
	})
}

// FuzzDotReader feeds arbitrary replies through the stream decoder: it must end with the message
// or an error, never hang or return a terminator line as content.
func FuzzDotReader(f *testing.F) {
	f.Add([]byte("a\r\n..b\r\n.\r\n"))
	f.Add([]byte("a\rb\n.\n"))
	f.Add([]byte("no end"))
	f.Fuzz(func(t *testing.T, wire []byte) {
		cs, ss := net.Pipe()
		defer cs.Close()
		go func() {
			defer ss.Close()
			ss.Write([]byte("+OK\r\n"))
			br := bufio.NewReader(ss)
			br.ReadString('\n')
			ss.Write([]byte("+OK\r\n"))
			ss.Write(wire)
		}()
		c, err := NewClient(cs, Options{Timeout: time.Second})
		if err != nil {
			t.Fatal(err)
		}
		r, err := c.Retr(context.Background(), 1)
		if err != nil {
			return
		}
		out, err := io.ReadAll(r)
		if err == nil && !bytes.HasSuffix(wire, []byte(".\n")) && !bytes.Contains(wire, []byte("\n.\n")) && !bytes.Contains(wire, []byte("\n.\r\n")) && !bytes.HasPrefix(wire, []byte(".\r\n")) && !bytes.HasPrefix(wire, []byte(".\n")) {
			t.Fatalf("reply %q without a terminator decoded as %q", wire, out)
		}
		if len(out) > len(wire) {
			t.Fatalf("decoded %q is longer than its reply %q", out, wire)
		}
	})
}
