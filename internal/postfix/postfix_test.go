package postfix_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/poplar-mail/poplar/internal/dovecot"
	"github.com/poplar-mail/poplar/internal/postfix"
	"github.com/poplar-mail/poplar/pop"
)

const sizeLimit = 1 << 20

func TestPostfix(t *testing.T) {
	t0 := time.Now()
	dv := dovecot.StartT(t, dovecot.Options{Users: []dovecot.User{
		{Name: "alice", Password: "alice pw"},
		{Name: "bob", Password: "bob-pw"},
	}})
	t1 := time.Now()
	srv := postfix.StartT(t, dv, postfix.Options{
		Refused:          []string{"Refused@" + postfix.DefaultDomain},
		Deferred:         []string{"later@" + postfix.DefaultDomain},
		MessageSizeLimit: sizeLimit,
	})
	t.Logf("start-up: dovecot %v, postfix %v", t1.Sub(t0).Round(time.Millisecond), time.Since(t1).Round(time.Millisecond))

	pool := x509.NewCertPool()
	pem, err := os.ReadFile(srv.CAFile)
	if err != nil || !pool.AppendCertsFromPEM(pem) {
		t.Fatalf("reading %s: %v", srv.CAFile, err)
	}
	tlsConfig := &tls.Config{RootCAs: pool, ServerName: "localhost"}
	ctx := context.Background()

	// dial connects to a submission port, with TLS in place, and signs in unless user is empty.
	dial := func(t *testing.T, implicit bool, user, pw string) (*smtp.Client, error) {
		t.Helper()
		var c *smtp.Client
		var err error
		if implicit {
			c, err = smtp.DialTLS(srv.SubmissionTLSAddr, tlsConfig)
		} else {
			c, err = smtp.DialStartTLS(srv.SubmissionSTARTTLSAddr, tlsConfig)
		}
		if err != nil {
			return nil, err
		}
		if user != "" {
			if err := c.Auth(sasl.NewPlainClient("", user, pw)); err != nil {
				c.Close()
				return nil, err
			}
		}
		return c, nil
	}
	send := func(t *testing.T, implicit bool, user, pw, to string, msg []byte) error {
		t.Helper()
		c, err := dial(t, implicit, user, pw)
		if err != nil {
			return err
		}
		defer c.Close()
		if err := c.SendMail(srv.Address(user), []string{to}, bytes.NewReader(msg)); err != nil {
			return err
		}
		return c.Quit()
	}
	// fetch returns message n of user's mailbox over POP3S.
	fetch := func(t *testing.T, user, pw string, n int) []byte {
		t.Helper()
		c, err := pop.Dial(ctx, dv.POP3SAddr, pop.Options{Security: pop.SecurityTLS, CAFile: dv.CAFile, Timeout: 20 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if err := c.Auth(ctx, pop.Credentials{Username: user, Password: pw}); err != nil {
			t.Fatal(err)
		}
		r, err := c.Retr(ctx, n)
		if err != nil {
			t.Fatalf("Retr(%d): %v", n, err)
		}
		b, err := io.ReadAll(r)
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Quit(ctx); err != nil {
			t.Fatal(err)
		}
		return b
	}
	wantCode := func(t *testing.T, what string, err error, code int) {
		t.Helper()
		var e *smtp.SMTPError
		if !errors.As(err, &e) || e.Code != code {
			t.Fatalf("%s = %v, want SMTP %d\n%s", what, err, code, srv.Log())
		}
	}

	delivered := 0 // messages in alice's mailbox
	sendAndFetch := func(t *testing.T, implicit bool) {
		body := fmt.Sprintf("Sent with implicit TLS: %v.\r\n.\r\n..two dots\r\n.leading dot\r\n\r\nend\r\n", implicit)
		msg := []byte("From: <bob@poplar.test>\r\nTo: <alice@poplar.test>\r\nSubject: rig " +
			fmt.Sprint(implicit) + "\r\nMessage-ID: <" + fmt.Sprint(time.Now().UnixNano()) + "@poplar.test>\r\n\r\n" + body)
		t0 := time.Now()
		if err := send(t, implicit, "bob", "bob-pw", srv.Address("alice"), msg); err != nil {
			t.Fatalf("send: %v\n%s", err, srv.Log())
		}
		delivered++
		if err := srv.WaitDelivered("alice", delivered, 20*time.Second); err != nil {
			t.Fatal(err)
		}
		t.Logf("sent and delivered in %v", time.Since(t0).Round(time.Millisecond))
		got := fetch(t, "alice", "alice pw", delivered)
		// Dovecot stores and pop.Client hands back lines ending in LF.
		body = strings.ReplaceAll(body, "\r\n", "\n")
		head, gotBody, ok := bytes.Cut(got, []byte("\n\n"))
		if !ok || string(gotBody) != body {
			t.Fatalf("fetched body = %q, want %q (whole message %q)", gotBody, body, got)
		}
		for _, h := range []string{"Subject: rig " + fmt.Sprint(implicit), "Delivered-To: alice@poplar.test", "Return-Path: <bob@poplar.test>"} {
			if !bytes.Contains(head, []byte(h)) {
				t.Errorf("fetched header lacks %q:\n%s", h, head)
			}
		}
	}
	t.Run("STARTTLS", func(t *testing.T) { sendAndFetch(t, false) })
	t.Run("implicit TLS", func(t *testing.T) { sendAndFetch(t, true) })

	t.Run("no AUTH before STARTTLS", func(t *testing.T) {
		c, err := smtp.Dial(srv.SubmissionSTARTTLSAddr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if err := c.Hello("client.test"); err != nil {
			t.Fatal(err)
		}
		if ok, _ := c.Extension("AUTH"); ok {
			t.Error("AUTH offered before STARTTLS")
		}
		if ok, _ := c.Extension("STARTTLS"); !ok {
			t.Error("STARTTLS not offered")
		}
		wantCode(t, "MAIL before STARTTLS", c.Mail(srv.Address("bob"), nil), 530)
	})

	t.Run("AUTH required", func(t *testing.T) {
		for _, implicit := range []bool{false, true} {
			c, err := dial(t, implicit, "", "")
			if err != nil {
				t.Fatal(err)
			}
			if ok, mechs := c.Extension("AUTH"); !ok || !strings.Contains(mechs, "PLAIN") {
				t.Errorf("AUTH after TLS = %v %q, want PLAIN offered", ok, mechs)
			}
			err = c.Mail(srv.Address("bob"), nil)
			if err == nil {
				err = c.Rcpt(srv.Address("alice"), nil)
			}
			wantCode(t, "RCPT without AUTH", err, 554)
			c.Close()
		}
	})

	t.Run("refused recipients", func(t *testing.T) {
		msg := []byte("Subject: x\r\n\r\nx\r\n")
		for _, to := range []string{"refused@poplar.test", "nobody-here@poplar.test"} {
			err := send(t, false, "bob", "bob-pw", to, msg)
			wantCode(t, "RCPT TO:<"+to+">", err, 550)
		}
	})

	t.Run("deferred recipient", func(t *testing.T) {
		err := send(t, true, "bob", "bob-pw", "later@poplar.test", []byte("Subject: x\r\n\r\nx\r\n"))
		wantCode(t, "RCPT TO:<later@poplar.test>", err, 450)
	})

	t.Run("other domains", func(t *testing.T) {
		if err := send(t, true, "bob", "bob-pw", "someone@example.com", []byte("Subject: away\r\n\r\nx\r\n")); err != nil {
			t.Fatalf("send to another domain: %v", err)
		}
		deadline := time.Now().Add(20 * time.Second)
		discarded := regexp.MustCompile(`to=<someone@example\.com>, relay=none, .* status=sent \(the Poplar test rig`)
		for !discarded.MatchString(srv.Log()) {
			if time.Now().After(deadline) {
				t.Fatalf("mail to another domain not discarded:\n%s", srv.Log())
			}
			time.Sleep(20 * time.Millisecond)
		}
	})

	t.Run("size limit", func(t *testing.T) {
		c, err := dial(t, true, "bob", "bob-pw")
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if n, ok := c.MaxMessageSize(); !ok || n != sizeLimit {
			t.Errorf("MaxMessageSize = %d, %v; want %d", n, ok, sizeLimit)
		}
		big := append([]byte("Subject: big\r\n\r\n"), bytes.Repeat([]byte(strings.Repeat("x", 76)+"\r\n"), 2*sizeLimit/78)...)
		err = c.SendMail(srv.Address("bob"), []string{srv.Address("alice")}, bytes.NewReader(big))
		wantCode(t, "sending 2 MB", err, 552)
	})

	t.Run("stop and restart", func(t *testing.T) {
		if err := srv.Stop(); err != nil {
			t.Fatal(err)
		}
		for _, addr := range []string{srv.SubmissionTLSAddr, srv.SubmissionSTARTTLSAddr} {
			c, err := net.DialTimeout("tcp", addr, 5*time.Second)
			if err == nil {
				c.Close()
				t.Fatalf("%s accepts a connection after Stop", addr)
			}
			if !errors.Is(err, syscall.ECONNREFUSED) {
				t.Errorf("dial %s after Stop = %v, want connection refused", addr, err)
			}
		}
		t0 := time.Now()
		if err := srv.Restart(); err != nil {
			t.Fatal(err)
		}
		t.Logf("restarted in %v", time.Since(t0).Round(time.Millisecond))
		sendAndFetch(t, true)
	})

	// Last: Dovecot delays every sign-in from an address after a failed one (auth_penalty).
	t.Run("wrong password", func(t *testing.T) {
		for _, implicit := range []bool{false, true} {
			_, err := dial(t, implicit, "bob", "wrong")
			wantCode(t, "AUTH with a wrong password", err, 535)
		}
	})

}
