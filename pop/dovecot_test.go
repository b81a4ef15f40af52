package pop_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand"
	"strings"
	"testing"
	"time"

	"github.com/poplar-mail/poplar/internal/dovecot"
	"github.com/poplar-mail/poplar/pop"
)

// dovecotMessages spans 0 bytes to 20 MB, with dot-stuffing, long lines and 8-bit bytes.
func dovecotMessages() [][]byte {
	rng := rand.New(rand.NewSource(7))
	body := func(n int) []byte {
		b := make([]byte, 0, n)
		for len(b) < n {
			line := make([]byte, rng.Intn(120))
			for i := range line {
				line[i] = "abcdefghijklmnopqrstuvwxyz .\xc3\xa9"[rng.Intn(30)]
			}
			if rng.Intn(10) == 0 {
				line = append([]byte("."), line...)
			}
			b = append(b, line...)
			b = append(b, '\n')
		}
		return b
	}
	msg := func(subject string, b []byte) []byte {
		return append([]byte("From: a@example.org\nTo: b@example.org\nSubject: "+subject+"\n\n"), b...)
	}
	return [][]byte{
		[]byte(""),
		msg("tiny", []byte("hi\n")),
		msg("dots", []byte(".\n..\n.x\n. \nend\n")),
		msg("long line", []byte(strings.Repeat("L", 300<<10)+"\n")),
		msg("1MB", body(1<<20)),
		msg("crlf", []byte("a\r\nb\r\n")),
		msg("20MB", body(20<<20)),
	}
}

func TestDovecot(t *testing.T) {
	msgs := dovecotMessages()
	srv := dovecot.StartT(t, dovecot.Options{Users: []dovecot.User{
		{Name: "alice", Password: "alice pw", Messages: msgs},
		{Name: "bob", Password: "bob-pw", Messages: msgs[:4]},
	}})
	ctx := context.Background()
	opts := func(sec pop.Security) pop.Options {
		return pop.Options{Security: sec, CAFile: srv.CAFile, Timeout: 20 * time.Second}
	}
	dial := func(t *testing.T, sec pop.Security, m pop.AuthMethod, user, pw string) *pop.Client {
		t.Helper()
		addr := srv.POP3SAddr
		if sec == pop.SecuritySTARTTLS {
			addr = srv.POP3Addr
		}
		c, err := pop.Dial(ctx, addr, opts(sec))
		if err != nil {
			t.Fatalf("Dial %v: %v\n%s", sec, err, srv.Log())
		}
		if err := c.Auth(ctx, pop.Credentials{Method: m, Username: user, Password: pw}); err != nil {
			c.Close()
			t.Fatalf("Auth %v over %v: %v\n%s", m, sec, err, srv.Log())
		}
		return c
	}

	t.Run("auth", func(t *testing.T) {
		methods := []pop.AuthMethod{pop.AuthAuto, pop.AuthUser, pop.AuthPlain, pop.AuthLogin, pop.AuthCRAMMD5,
			pop.AuthSCRAMSHA1, pop.AuthSCRAMSHA256, pop.AuthAPOP}
		for _, sec := range []pop.Security{pop.SecurityTLS, pop.SecuritySTARTTLS} {
			for _, m := range methods {
				t.Run(sec.String()+"/"+m.String(), func(t *testing.T) {
					c := dial(t, sec, m, "alice", "alice pw")
					defer c.Close()
					n, _, err := c.Stat(ctx)
					if err != nil || n != len(msgs) {
						t.Fatalf("Stat = %d, %v; want %d", n, err, len(msgs))
					}
					if err := c.Quit(ctx); err != nil {
						t.Fatal(err)
					}
				})
			}
		}
	})

	t.Run("wrong password", func(t *testing.T) {
		c, err := pop.Dial(ctx, srv.POP3SAddr, opts(pop.SecurityTLS))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		err = c.Auth(ctx, pop.Credentials{Username: "alice", Password: "wrong"})
		var e *pop.Error
		if !errors.As(err, &e) || !e.IsAuthFailure() || e.Temporary() {
			t.Fatalf("wrong password = %v, want a permanent auth failure", err)
		}
	})

	t.Run("capabilities", func(t *testing.T) {
		c := dial(t, pop.SecuritySTARTTLS, pop.AuthAuto, "alice", "alice pw")
		defer c.Close()
		caps := c.Capabilities()
		if !caps.Pipelining || !caps.UIDL || !caps.Top || !caps.RespCodes {
			t.Errorf("Dovecot capabilities after login = %+v", caps)
		}
		st, ok := c.TLSState()
		if !ok || st.Version < 0x0303 {
			t.Errorf("TLS state = %v, %v", st.Version, ok)
		}
	})

	retrieveAll := func(t *testing.T, c *pop.Client) {
		reqs := make([]pop.Request, len(msgs))
		for i := range msgs {
			reqs[i] = pop.Request{Op: pop.OpRetr, ID: i + 1}
		}
		got := 0
		err := c.Batch(ctx, reqs, func(i int, r io.Reader, err error) error {
			if err != nil {
				return err
			}
			b, err := io.ReadAll(r)
			if err != nil {
				return err
			}
			if want := dovecotForm(msgs[i]); !bytes.Equal(b, want) {
				t.Errorf("message %d: got %d bytes, want %d (first difference at %s)", i+1, len(b), len(want), firstDiff(b, want))
			}
			got++
			return nil
		})
		if err != nil || got != len(msgs) {
			t.Fatalf("Batch = %v after %d of %d", err, got, len(msgs))
		}
	}

	t.Run("pipelined RETR", func(t *testing.T) {
		c := dial(t, pop.SecurityTLS, pop.AuthAuto, "alice", "alice pw")
		defer c.Close()
		retrieveAll(t, c)
	})

	t.Run("serial RETR", func(t *testing.T) {
		o := opts(pop.SecurityTLS)
		o.Window = 1
		c, err := pop.Dial(ctx, srv.POP3SAddr, o)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if err := c.Auth(ctx, pop.Credentials{Username: "alice", Password: "alice pw"}); err != nil {
			t.Fatal(err)
		}
		retrieveAll(t, c)
		for _, i := range []int{2, 3} {
			r, err := c.Retr(ctx, i)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(r)
			if !bytes.Equal(b, dovecotForm(msgs[i-1])) {
				t.Errorf("Retr %d differs", i)
			}
		}
	})

	t.Run("TOP", func(t *testing.T) {
		c := dial(t, pop.SecurityTLS, pop.AuthAuto, "alice", "alice pw")
		defer c.Close()
		r, err := c.Top(ctx, 3, 2)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(r)
		want := "From: a@example.org\nTo: b@example.org\nSubject: dots\n\n.\n..\n"
		if string(b) != want {
			t.Errorf("TOP 3 2 = %q, want %q", b, want)
		}
		uids, err := c.UIDL(ctx)
		if err != nil || len(uids) != len(msgs) {
			t.Fatalf("UIDL = %v, %v", uids, err)
		}
	})

	t.Run("DELE then dropped session keeps all", func(t *testing.T) {
		c := dial(t, pop.SecurityTLS, pop.AuthAuto, "bob", "bob-pw")
		for i := 1; i <= 4; i++ {
			if err := c.Dele(ctx, i); err != nil {
				t.Fatal(err)
			}
		}
		c.Close()
		waitCount(t, srv, "bob", 4)
	})

	t.Run("DELE RSET QUIT keeps all", func(t *testing.T) {
		c := dial(t, pop.SecurityTLS, pop.AuthAuto, "bob", "bob-pw")
		c.Dele(ctx, 1)
		if err := c.Rset(ctx); err != nil {
			t.Fatal(err)
		}
		if err := c.Quit(ctx); err != nil {
			t.Fatal(err)
		}
		waitCount(t, srv, "bob", 4)
	})

	t.Run("DELE QUIT deletes", func(t *testing.T) {
		c := dial(t, pop.SecurityTLS, pop.AuthAuto, "bob", "bob-pw")
		err := c.Batch(ctx, []pop.Request{{Op: pop.OpDele, ID: 1}, {Op: pop.OpDele, ID: 2}}, func(_ int, _ io.Reader, err error) error { return err })
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Quit(ctx); err != nil {
			t.Fatal(err)
		}
		waitCount(t, srv, "bob", 2)
	})

	t.Run("certificates", func(t *testing.T) {
		_, err := pop.Dial(ctx, srv.POP3SAddr, pop.Options{Timeout: 5 * time.Second})
		var ce *pop.CertificateError
		if !errors.As(err, &ce) || ce.Fingerprint != srv.Fingerprint {
			t.Fatalf("Dial without trusting the CA = %v, want a CertificateError with %s", err, srv.Fingerprint)
		}
		c, err := pop.Dial(ctx, srv.POP3SAddr, pop.Options{Fingerprint: srv.Fingerprint, Timeout: 5 * time.Second})
		if err != nil {
			t.Fatalf("Dial with the pinned fingerprint: %v", err)
		}
		c.Close()
	})

	t.Run("wrong security", func(t *testing.T) {
		for _, tt := range []struct {
			addr      string
			sec, want pop.Security
		}{
			{srv.POP3Addr, pop.SecurityTLS, pop.SecuritySTARTTLS},
			{srv.POP3SAddr, pop.SecuritySTARTTLS, pop.SecurityTLS},
			{srv.POP3SAddr, pop.SecurityNone, pop.SecurityTLS},
		} {
			start := time.Now()
			_, err := pop.Dial(ctx, tt.addr, pop.Options{Security: tt.sec, CAFile: srv.CAFile, Timeout: 30 * time.Second})
			var we *pop.WrongSecurityError
			if !errors.As(err, &we) || we.Want != tt.want {
				t.Errorf("Dial %v to %s = %v, want a WrongSecurityError wanting %v", tt.sec, tt.addr, err, tt.want)
			} else if took := time.Since(start); took > 5*time.Second {
				t.Errorf("Dial %v to %s took %v", tt.sec, tt.addr, took)
			}
		}
	})
}

// waitCount waits for the user's Maildir to hold n messages (Dovecot applies QUIT asynchronously
// to our reading of its folder only by microseconds, but a dropped session is noticed later).
func waitCount(t *testing.T, srv *dovecot.Server, user string, n int) {
	t.Helper()
	var got int
	for i := 0; i < 50; i++ {
		got, _ = srv.Count(user)
		if got == n {
			time.Sleep(50 * time.Millisecond)
			if got, _ = srv.Count(user); got == n {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("%s has %d messages, want %d", user, got, n)
}

func firstDiff(a, b []byte) string {
	for i := 0; i < len(a) && i < len(b); i++ {
		if a[i] != b[i] {
			lo := max(0, i-20)
			return fmt.Sprintf("%d: %q vs %q", i, a[lo:min(len(a), i+20)], b[lo:min(len(b), i+20)])
		}
	}
	return fmt.Sprint(min(len(a), len(b)))
}

// dovecotForm is wireForm, except that Dovecot ends even an empty message with a line break.
func dovecotForm(m []byte) []byte {
	if len(m) == 0 {
		return []byte("\n")
	}
	return wireForm(m)
}
