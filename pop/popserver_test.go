package pop_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"math/rand"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/poplar-mail/poplar/pop"
	"github.com/poplar-mail/poplar/pop/popserver"
)

// testMessages returns messages that stress the wire format: empty, dot-stuffing, long lines,
// bare LF, no final newline, 8-bit bytes, and a 3 MB body.
func testMessages() [][]byte {
	rng := rand.New(rand.NewSource(1))
	big := make([]byte, 3<<20)
	for i := range big {
		big[i] = "abcdefghij.\n\r\xff"[rng.Intn(14)]
	}
	return [][]byte{
		[]byte(""),
		[]byte("Subject: one\n\nhello\n"),
		[]byte("Subject: dots\r\n\r\n.\r\n..\r\n.x\r\nend\r\n"),
		[]byte("Subject: long\n\n" + strings.Repeat("y", 500<<10) + "\n"),
		[]byte("Subject: no final newline\n\nlast line"),
		[]byte("Subject: 8bit\n\n\xe4\xf6\xfc\x00\x01\n"),
		append([]byte("Subject: big\n\n"), big...),
	}
}

// wireForm is what a client should read back for a stored message: CRLF and LF ends become LF,
// and a missing final newline is added by the server.
func wireForm(m []byte) []byte {
	out := bytes.ReplaceAll(m, []byte("\r\n"), []byte("\n"))
	if len(out) > 0 && out[len(out)-1] != '\n' {
		out = append(out, '\n')
	}
	return out
}

type rig struct {
	srv  *popserver.Server
	mbox *popserver.MemMailbox
	cert *popserver.Cert
	tls  string // implicit TLS address
	sw   string // plain address with STLS
}

func startRig(t *testing.T, cfg popserver.Config, msgs [][]byte) *rig {
	t.Helper()
	if cfg.Password == nil {
		cfg.Password = popserver.Users(map[string]string{"alice": "wonder land"})
	}
	srv, err := popserver.Start(cfg, true, msgs...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	a2, err := srv.Listen("127.0.0.1:0", false) // the same server, plain with STLS
	if err != nil {
		t.Fatal(err)
	}
	return &rig{srv: srv.Server, mbox: srv.Mailbox, cert: srv.Cert, tls: srv.Addr, sw: a2.String()}
}

func (r *rig) opts() pop.Options {
	return pop.Options{TLSConfig: &tls.Config{RootCAs: r.cert.Pool()}, Timeout: 10 * time.Second}
}

func login(t *testing.T, addr string, opts pop.Options, cr pop.Credentials) *pop.Client {
	t.Helper()
	c, err := pop.Dial(context.Background(), addr, opts)
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	if cr.Username == "" {
		cr.Username, cr.Password = "alice", "wonder land"
	}
	if err := c.Auth(context.Background(), cr); err != nil {
		c.Close()
		t.Fatalf("Auth: %v", err)
	}
	return c
}

// tryLogin dials addr and logs in with cr, and returns the client (closed at cleanup) and what
// Auth said.
func tryLogin(t *testing.T, addr string, opts pop.Options, cr pop.Credentials) (*pop.Client, error) {
	t.Helper()
	c, err := pop.Dial(context.Background(), addr, opts)
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c, c.Auth(context.Background(), cr)
}

func TestPopserverRoundTrip(t *testing.T) {
	msgs := testMessages()
	for _, pipelining := range []bool{true, false} {
		t.Run(fmt.Sprintf("pipelining=%v", pipelining), func(t *testing.T) {
			r := startRig(t, popserver.Config{DisablePipelining: !pipelining}, msgs)
			c := login(t, r.tls, r.opts(), pop.Credentials{})
			defer c.Close()
			if c.Capabilities().Pipelining != pipelining {
				t.Fatalf("Pipelining capability = %v", c.Capabilities().Pipelining)
			}
			ctx := context.Background()
			reqs := make([]pop.Request, len(msgs))
			for i := range msgs {
				reqs[i] = pop.Request{Op: pop.OpRetr, ID: i + 1}
			}
			seen := 0
			err := c.Batch(ctx, reqs, func(i int, rd io.Reader, err error) error {
				if err != nil {
					return err
				}
				if i != seen {
					t.Errorf("callback for %d, want %d", i, seen)
				}
				seen++
				got, err := io.ReadAll(rd)
				if err != nil {
					return err
				}
				if want := wireForm(msgs[i]); !bytes.Equal(got, want) {
					t.Errorf("message %d: got %d bytes, want %d", i+1, len(got), len(want))
				}
				return nil
			})
			if err != nil || seen != len(msgs) {
				t.Fatalf("Batch = %v after %d messages", err, seen)
			}
			// Serial RETR and TOP of the same messages.
			for i, m := range msgs {
				rd, err := c.Retr(ctx, i+1)
				if err != nil {
					t.Fatal(err)
				}
				got, _ := io.ReadAll(rd)
				if !bytes.Equal(got, wireForm(m)) {
					t.Errorf("Retr %d differs", i+1)
				}
			}
			rd, err := c.Top(ctx, 3, 1)
			if err != nil {
				t.Fatal(err)
			}
			if got, _ := io.ReadAll(rd); string(got) != "Subject: dots\n\n.\n" {
				t.Errorf("TOP 3 1 = %q", got)
			}
			list, err := c.List(ctx)
			if err != nil || len(list) != len(msgs) {
				t.Fatalf("List = %v, %v", list, err)
			}
			if err := c.Quit(ctx); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestPopserverUpdateSemantics(t *testing.T) {
	msgs := [][]byte{[]byte("Subject: a\n\n1\n"), []byte("Subject: b\n\n2\n"), []byte("Subject: c\n\n3\n")}
	r := startRig(t, popserver.Config{}, msgs)
	ctx := context.Background()

	// DELE then a dropped connection: nothing deleted.
	c := login(t, r.tls, r.opts(), pop.Credentials{})
	if err := c.Dele(ctx, 1); err != nil {
		t.Fatal(err)
	}
	c.Close()
	waitUnlocked(t, r)
	if n := r.mbox.Len(); n != 3 {
		t.Fatalf("after DELE and a dropped session: %d messages, want 3", n)
	}

	// DELE, RSET, QUIT: nothing deleted.
	c = login(t, r.tls, r.opts(), pop.Credentials{})
	c.Dele(ctx, 1)
	if err := c.Rset(ctx); err != nil {
		t.Fatal(err)
	}
	if err := c.Quit(ctx); err != nil {
		t.Fatal(err)
	}
	if n := r.mbox.Len(); n != 3 {
		t.Fatalf("after DELE+RSET+QUIT: %d messages, want 3", n)
	}

	// Pipelined DELE of two, QUIT: those two gone.
	c = login(t, r.tls, r.opts(), pop.Credentials{})
	if err := c.Batch(ctx, []pop.Request{{Op: pop.OpDele, ID: 1}, {Op: pop.OpDele, ID: 3}}, func(i int, _ io.Reader, err error) error { return err }); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Retr(ctx, 1); err == nil {
		t.Error("RETR of a message marked deleted succeeded")
	}
	if err := c.Quit(ctx); err != nil {
		t.Fatal(err)
	}
	if u := r.mbox.UIDs(); len(u) != 1 || u[0] != "m000002" {
		t.Fatalf("after DELE 1,3 + QUIT: %v, want [m000002]", u)
	}
}

// waitUnlocked waits until the server has noticed a dropped session.
func waitUnlocked(t *testing.T, r *rig) {
	for i := 0; i < 100; i++ {
		c, err := pop.Dial(context.Background(), r.tls, r.opts())
		if err != nil {
			t.Fatal(err)
		}
		err = c.Auth(context.Background(), pop.Credentials{Username: "alice", Password: "wonder land"})
		if err == nil {
			// QUIT releases the lock before the reply, so the caller
			// may log in again at once.
			if err := c.Quit(context.Background()); err != nil {
				t.Fatal(err)
			}
			return
		}
		c.Close()
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatal("mailbox still locked")
}

func TestPopserverInUse(t *testing.T) {
	r := startRig(t, popserver.Config{}, nil)
	c := login(t, r.tls, r.opts(), pop.Credentials{})
	defer c.Close()
	_, err := tryLogin(t, r.tls, r.opts(), pop.Credentials{Username: "alice", Password: "wonder land"})
	var e *pop.Error
	if !errors.As(err, &e) || e.Code != pop.CodeInUse || e.IsAuthFailure() || !e.Temporary() {
		t.Fatalf("second login = %v, want a temporary IN-USE error", err)
	}
}

func TestSecurityModes(t *testing.T) {
	r := startRig(t, popserver.Config{RequireTLSForAuth: true}, [][]byte{[]byte("Subject: x\n\nx\n")})
	ctx := context.Background()
	methods := []pop.AuthMethod{pop.AuthAuto, pop.AuthUser, pop.AuthPlain, pop.AuthAPOP}
	for _, m := range methods {
		for _, mode := range []struct {
			sec  pop.Security
			addr string
		}{{pop.SecurityTLS, r.tls}, {pop.SecuritySTARTTLS, r.sw}} {
			t.Run(mode.sec.String()+"/"+m.String(), func(t *testing.T) {
				o := r.opts()
				o.Security = mode.sec
				c := login(t, mode.addr, o, pop.Credentials{Method: m})
				defer c.Close()
				if _, ok := c.TLSState(); !ok {
					t.Error("TLSState reports no TLS")
				}
				if n, _, err := c.Stat(ctx); err != nil || n != 1 {
					t.Errorf("Stat = %d, %v", n, err)
				}
				// QUIT, not just Close: the next subtest logs in to
				// the same mailbox and must not find it locked.
				if err := c.Quit(ctx); err != nil {
					t.Errorf("Quit: %v", err)
				}
			})
		}
	}
	t.Run("wrong password", func(t *testing.T) {
		_, err := tryLogin(t, r.tls, r.opts(), pop.Credentials{Username: "alice", Password: "nope"})
		var e *pop.Error
		if !errors.As(err, &e) || !e.IsAuthFailure() {
			t.Fatalf("wrong password = %v, want an auth failure", err)
		}
	})
	t.Run("untrusted certificate", func(t *testing.T) {
		_, err := pop.Dial(ctx, r.tls, pop.Options{Timeout: 5 * time.Second})
		var ce *pop.CertificateError
		if !errors.As(err, &ce) || ce.Fingerprint != pop.CertFingerprint(r.cert.DER) {
			t.Fatalf("Dial without the CA = %v, want a CertificateError with the fingerprint", err)
		}
	})
	t.Run("pinned fingerprint", func(t *testing.T) {
		c, err := pop.Dial(ctx, r.tls, pop.Options{Fingerprint: strings.ToLower(pop.CertFingerprint(r.cert.DER)), Timeout: 5 * time.Second})
		if err != nil {
			t.Fatalf("Dial with the pin: %v", err)
		}
		c.Close()
		other, _ := popserver.GenerateCert()
		_, err = pop.Dial(ctx, r.tls, pop.Options{Fingerprint: pop.CertFingerprint(other.DER), Timeout: 5 * time.Second})
		var ce *pop.CertificateError
		if !errors.As(err, &ce) {
			t.Fatalf("Dial with a wrong pin = %v, want a CertificateError", err)
		}
	})
	t.Run("starttls stripped", func(t *testing.T) {
		r2 := startRig(t, popserver.Config{DisableSTLS: true}, nil)
		_, err := pop.Dial(ctx, r2.sw, pop.Options{Security: pop.SecuritySTARTTLS, Timeout: 5 * time.Second})
		if !errors.Is(err, pop.ErrSTARTTLSUnavailable) {
			t.Fatalf("Dial STARTTLS without STLS = %v, want ErrSTARTTLSUnavailable", err)
		}
	})
}

func TestSlowServerDeadline(t *testing.T) {
	r := startRig(t, popserver.Config{Faults: &popserver.Faults{ByteDelay: 400 * time.Millisecond}}, [][]byte{[]byte("Subject: slow\n\nbody\n")})
	o := r.opts()
	o.Timeout = 150 * time.Millisecond
	c := login(t, r.tls, o, pop.Credentials{})
	defer c.Close()
	rd, err := c.Retr(context.Background(), 1)
	if err != nil {
		t.Fatal(err)
	}
	_, err = io.ReadAll(rd)
	if !errors.Is(err, pop.ErrStalled) || !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("reading from a one-byte-per-400ms server = %v, want ErrStalled (a deadline)", err)
	}
}

func TestTraceHasNoPassword(t *testing.T) {
	r := startRig(t, popserver.Config{}, nil)
	for _, m := range []pop.AuthMethod{pop.AuthUser, pop.AuthPlain, pop.AuthAPOP} {
		var tr bytes.Buffer
		o := r.opts()
		o.Trace = &tr
		c := login(t, r.tls, o, pop.Credentials{Method: m})
		c.Quit(context.Background())
		if strings.Contains(tr.String(), "wonder") || !strings.Contains(tr.String(), "<redacted>") {
			t.Errorf("%v trace leaks or lacks redaction:\n%s", m, tr.String())
		}
	}
}

// TestUTF8Downgrade: against a server that replaces messages with UTF-8 headers for clients that
// did not send UTF8 (as Courier does), the client gets the original bytes.
func TestUTF8Downgrade(t *testing.T) {
	msg := []byte("From: Jörg Müller <joerg@example.org>\r\nSubject: Grüße aus Köln\r\n\r\nHallo\r\n")
	r := startRig(t, popserver.Config{UTF8Downgrade: true}, [][]byte{msg, []byte("Subject: ascii\r\n\r\nk\xf6rper\r\n")})
	ctx := context.Background()
	retr := func(t *testing.T, c *pop.Client, id int) []byte {
		t.Helper()
		rd, err := c.Retr(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(rd)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	t.Run("client", func(t *testing.T) {
		c := login(t, r.tls, r.opts(), pop.Credentials{})
		// QUIT, not just Close: the next subtest logs in to the same mailbox and must not
		// find it still locked by this session.
		defer c.Quit(ctx)
		if got := retr(t, c, 1); !bytes.Equal(got, wireForm(msg)) {
			t.Errorf("Retr of a message with UTF-8 headers = %q, want %q", got, wireForm(msg))
		}
	})
	t.Run("session without UTF8", func(t *testing.T) {
		// NewClient asks for no CAPA, so Auth does not know the server offers UTF8.
		conn, err := tls.Dial("tcp", r.tls, &tls.Config{RootCAs: r.cert.Pool(), ServerName: "localhost"})
		if err != nil {
			t.Fatal(err)
		}
		c, err := pop.NewClient(conn, r.opts())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if err := c.Auth(ctx, pop.Credentials{Username: "alice", Password: "wonder land"}); err != nil {
			t.Fatal(err)
		}
		notice := wireForm([]byte(fmt.Sprintf(popserver.DowngradeNotice, "localhost")))
		if got := retr(t, c, 1); !bytes.Equal(got, notice) {
			t.Errorf("Retr without UTF8 = %q, want the server's notice", got)
		}
		if got := retr(t, c, 2); !bytes.Equal(got, []byte("Subject: ascii\n\nk\xf6rper\n")) {
			t.Errorf("Retr of a message with an ASCII header = %q, want it unchanged", got)
		}
	})
}

// TestAuthAutoWhereSomeMethodWorks: auto logs in with APOP when the server refuses or does not
// offer USER/PASS, and a refused method is a MethodRefusedError, not a wrong password.
func TestAuthAutoWhereSomeMethodWorks(t *testing.T) {
	refuse := func(verb, reply string) *popserver.Faults {
		return &popserver.Faults{Reply: func(v, _ string) string {
			if v == verb {
				return reply
			}
			return ""
		}}
	}
	tests := []struct {
		name    string
		cfg     popserver.Config
		method  pop.AuthMethod
		refused bool // want a MethodRefusedError; else a login with want
		want    string
	}{
		{"no USER in CAPA, no SASL", popserver.Config{DisableUSER: true, DisableSASL: true}, pop.AuthAuto, false, "APOP"},
		{"USER not allowed", popserver.Config{DisableSASL: true, Faults: refuse("USER", "-ERR [AUTH] Plaintext authentication disallowed")}, pop.AuthAuto, false, "APOP"},
		{"USER unknown", popserver.Config{DisableSASL: true, Faults: refuse("USER", "-ERR unknown command")}, pop.AuthAuto, false, "APOP"},
		{"PASS disabled", popserver.Config{DisableSASL: true, Faults: refuse("PASS", "-ERR plaintext authentication disabled")}, pop.AuthAuto, false, "APOP"},
		{"PLAIN not supported", popserver.Config{Faults: refuse("AUTH", "-ERR mechanism not supported")}, pop.AuthAuto, false, "USER"},
		{"nothing works", popserver.Config{DisableUSER: true, DisableSASL: true, DisableAPOP: true}, pop.AuthAuto, true, ""},
		{"explicit PLAIN refused", popserver.Config{DisableSASL: true}, pop.AuthPlain, true, ""},
		{"explicit APOP without timestamp", popserver.Config{DisableAPOP: true}, pop.AuthAPOP, true, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := startRig(t, tc.cfg, nil)
			var tr bytes.Buffer
			o := r.opts()
			o.Trace = &tr
			_, err := tryLogin(t, r.tls, o, pop.Credentials{Method: tc.method, Username: "alice", Password: "wonder land"})
			if !tc.refused {
				if err != nil || !strings.Contains(tr.String(), "C: "+tc.want+" ") {
					t.Fatalf("Auth = %v, want a login with %s:\n%s", err, tc.want, tr.String())
				}
				return
			}
			var re *pop.MethodRefusedError
			var pe *pop.Error
			if !errors.As(err, &re) || !errors.Is(err, pop.ErrMethodRefused) || (errors.As(err, &pe) && pe.IsAuthFailure()) {
				t.Fatalf("Auth = %v, want a MethodRefusedError that is not an auth failure", err)
			}
			if re.Method != tc.method && tc.method != pop.AuthAuto {
				t.Errorf("MethodRefusedError.Method = %v, want %v", re.Method, tc.method)
			}
			for _, o := range re.Offered {
				if o == "APOP" && tc.cfg.DisableAPOP || o == "USER" && tc.cfg.DisableUSER || o == "PLAIN" && tc.cfg.DisableSASL {
					t.Errorf("Offered = %v lists %s, which the server does not offer", re.Offered, o)
				}
			}
		})
	}
	t.Run("wrong password is not a refusal", func(t *testing.T) {
		r := startRig(t, popserver.Config{DisableSASL: true}, nil)
		_, err := tryLogin(t, r.tls, r.opts(), pop.Credentials{Username: "alice", Password: "nope"})
		var pe *pop.Error
		if !errors.As(err, &pe) || !pe.IsAuthFailure() || errors.Is(err, pop.ErrMethodRefused) {
			t.Fatalf("wrong password = %v, want an auth failure", err)
		}
	})
}

// TestTricklingServer: a server that sends its greeting or a message a byte now and then is
// given up after about the timeout, not when it pleases.
func TestTricklingServer(t *testing.T) {
	msg := []byte("Subject: slow\r\n\r\n" + strings.Repeat("a line of text\r\n", 20))
	t.Run("greeting", func(t *testing.T) {
		r := startRig(t, popserver.Config{Faults: &popserver.Faults{LineByteDelay: 15 * time.Millisecond}}, nil)
		o := r.opts()
		o.Timeout = 300 * time.Millisecond
		c, err := pop.Dial(context.Background(), r.tls, o)
		if err == nil {
			c.Close()
		}
		if !errors.Is(err, pop.ErrTooSlow) {
			t.Fatalf("Dial of a trickling server = %v, want ErrTooSlow", err)
		}
	})
	t.Run("message", func(t *testing.T) {
		r := startRig(t, popserver.Config{Faults: &popserver.Faults{ByteDelay: 15 * time.Millisecond}}, [][]byte{msg})
		o := r.opts()
		o.Timeout = 300 * time.Millisecond
		c := login(t, r.tls, o, pop.Credentials{})
		defer c.Close()
		err := c.Batch(context.Background(), []pop.Request{{Op: pop.OpRetr, ID: 1}}, func(_ int, rd io.Reader, err error) error {
			if err != nil {
				return err
			}
			_, err = io.Copy(io.Discard, rd)
			return err
		})
		if !errors.Is(err, pop.ErrTooSlow) {
			t.Fatalf("Batch RETR from a trickling server = %v, want ErrTooSlow", err)
		}
	})
}

// TestSlowReaderIsNotASlowServer: time the caller spends between reads of a message does not count
// against the server.
func TestSlowReaderIsNotASlowServer(t *testing.T) {
	msgs := testMessages()
	r := startRig(t, popserver.Config{}, msgs)
	o := r.opts()
	o.Timeout = 200 * time.Millisecond
	c := login(t, r.tls, o, pop.Credentials{})
	defer c.Close()
	reqs := []pop.Request{{Op: pop.OpRetr, ID: 7}, {Op: pop.OpRetr, ID: 4}}
	err := c.Batch(context.Background(), reqs, func(i int, rd io.Reader, err error) error {
		if err != nil {
			return err
		}
		var got bytes.Buffer
		buf := make([]byte, 256<<10)
		for pauses := 0; ; pauses++ {
			n, err := rd.Read(buf)
			got.Write(buf[:n])
			if err == io.EOF {
				break
			}
			if err != nil {
				return err
			}
			if pauses < 3 {
				time.Sleep(300 * time.Millisecond) // a slow disk: longer than the timeout
			}
		}
		if want := wireForm(msgs[reqs[i].ID-1]); !bytes.Equal(got.Bytes(), want) {
			t.Errorf("message %d: got %d bytes, want %d", reqs[i].ID, got.Len(), len(want))
		}
		return nil
	})
	if err != nil {
		t.Fatalf("Batch with a slow reader = %v", err)
	}
}

// TestRepliesBoundedInTotal: CAPA (also before STLS), LIST, UIDL, RETR and TOP replies have a
// total bound, and a Batch that does not read an endless reply still ends.
func TestRepliesBoundedInTotal(t *testing.T) {
	ctx := context.Background()
	t.Run("CAPA before STLS", func(t *testing.T) {
		r := startRig(t, popserver.Config{Faults: &popserver.Faults{CapaPadding: 2000}}, nil)
		o := r.opts()
		o.Security = pop.SecuritySTARTTLS
		c, err := pop.Dial(ctx, r.sw, o)
		if err == nil {
			c.Close()
		}
		if !errors.Is(err, pop.ErrReplyTooLarge) {
			t.Fatalf("Dial with a 2 MB CAPA = %v, want ErrReplyTooLarge", err)
		}
	})
	for _, cmd := range []string{"LIST", "UIDL"} {
		t.Run(cmd, func(t *testing.T) {
			var seen []string
			var mu sync.Mutex
			r := startRig(t, popserver.Config{Faults: &popserver.Faults{ExtraListLines: 100, Reply: func(v, _ string) string {
				mu.Lock()
				seen = append(seen, v)
				mu.Unlock()
				return ""
			}}}, [][]byte{[]byte("a\r\n"), []byte("b\r\n")})
			c := login(t, r.tls, r.opts(), pop.Credentials{})
			defer c.Close()
			var err error
			if cmd == "LIST" {
				_, err = c.List(ctx)
			} else {
				_, err = c.UIDL(ctx)
			}
			if !errors.Is(err, pop.ErrReplyTooLarge) {
				t.Fatalf("%s with 100 lines more than STAT = %v, want ErrReplyTooLarge", cmd, err)
			}
			mu.Lock()
			defer mu.Unlock()
			if n := len(seen); n < 2 || seen[n-2] != "STAT" || seen[n-1] != cmd {
				t.Errorf("commands %v, want STAT before %s", seen, cmd)
			}
		})
	}
	t.Run("RETR", func(t *testing.T) { // the bound counts as LIST does: CRLF, no dot-stuffing
		msg := []byte("Subject: size\r\n\r\n" + strings.Repeat("0123456789\r\n.dot-stuffed on the wire\r\n", 50))
		r := startRig(t, popserver.Config{}, [][]byte{msg})
		for _, tc := range []struct {
			max  int64
			want error
		}{{int64(len(msg)), nil}, {int64(len(msg)) - 1, pop.ErrMessageTooLarge}} {
			o := r.opts()
			o.MaxMessageSize = tc.max
			c := login(t, r.tls, o, pop.Credentials{})
			rd, err := c.Retr(ctx, 1)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := io.ReadAll(rd); !errors.Is(err, tc.want) && err != tc.want {
				t.Errorf("Retr of %d bytes with MaxMessageSize %d = %v, want %v", len(msg), tc.max, err, tc.want)
			}
			c.Close()
			waitUnlocked(t, r)
		}
	})
	t.Run("endless TOP not read", func(t *testing.T) {
		r := startRig(t, popserver.Config{Faults: &popserver.Faults{EndlessMessages: true}}, [][]byte{[]byte("Subject: x\r\n\r\nbody\r\n")})
		o := r.opts()
		o.MaxMessageSize = 1 << 20
		c := login(t, r.tls, o, pop.Credentials{})
		defer c.Close()
		ctx, cancel := context.WithTimeout(ctx, 20*time.Second) // without the bound, Batch would never end
		defer cancel()
		err := c.Batch(ctx, []pop.Request{{Op: pop.OpTop, ID: 1}, {Op: pop.OpDele, ID: 1}}, func(int, io.Reader, error) error { return nil })
		if !errors.Is(err, pop.ErrMessageTooLarge) {
			t.Fatalf("Batch with an endless TOP = %v, want ErrMessageTooLarge", err)
		}
	})
}
