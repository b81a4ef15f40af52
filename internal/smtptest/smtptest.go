// Package smtptest starts an in-process SMTP submission server for tests, the way
// net/http/httptest serves net/http's: github.com/emersion/go-smtp's server with a fresh
// certificate (implicit TLS, STARTTLS, or plain without STARTTLS), AUTH PLAIN, a record of every
// message it accepted, and faults to inject: a refused recipient, a reply to the message, a
// connection cut after the final dot, a delay before the reply.
package smtptest

import (
	"crypto/tls"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/poplar-mail/poplar/pop/popserver"
)

// Mail is a message the server accepted.
type Mail struct {
	From  string
	Rcpts []string
	Data  []byte // as received, line ends CRLF
}

// Server is a running test server. Set its fault fields through the setters: sessions read them
// under its lock.
type Server struct {
	Port   int
	CAFile string // the certificate in PEM: trust it as a CA file

	srv      *smtp.Server
	mu       sync.Mutex
	users    map[string]string
	got      []Mail
	mails    int
	auths    int
	rcptErr  func(to string) error
	dataErr  func() error
	cutAfter bool
	delay    func() time.Duration
}

// Start starts a server speaking security: "tls" (implicit TLS), "starttls", or "none" (plain,
// STARTTLS not offered, AUTH allowed without TLS). It accepts user "me" with password "pw" and
// stops when the test ends.
func Start(t testing.TB, security string) *Server {
	t.Helper()
	cert, err := popserver.GenerateCert()
	if err != nil {
		t.Fatal(err)
	}
	r := &Server{users: map[string]string{"me": "pw"}}
	r.CAFile = filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(r.CAFile, cert.CertPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	r.srv = smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) {
		return &session{r: r, c: c}, nil
	}))
	r.srv.Domain = "localhost"
	r.srv.EnableSMTPUTF8 = true
	r.srv.ErrorLog = nopLogger{}
	var l net.Listener
	switch security {
	case "tls":
		l, err = tls.Listen("tcp", "127.0.0.1:0", cert.ServerConfig())
	case "starttls":
		r.srv.TLSConfig = cert.ServerConfig()
		l, err = net.Listen("tcp", "127.0.0.1:0")
	default:
		r.srv.AllowInsecureAuth = true
		l, err = net.Listen("tcp", "127.0.0.1:0")
	}
	if err != nil {
		t.Fatal(err)
	}
	r.Port = l.Addr().(*net.TCPAddr).Port
	go r.srv.Serve(l)
	t.Cleanup(func() { r.srv.Close() })
	return r
}

type nopLogger struct{}

func (nopLogger) Printf(string, ...any) {}
func (nopLogger) Println(...any)        {}

// AddUser lets user sign in with password.
func (r *Server) AddUser(user, password string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.users[user] = password
}

// Received returns the messages accepted so far.
func (r *Server) Received() []Mail {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Mail(nil), r.got...)
}

// Counts returns how many AUTH attempts and MAIL commands the server saw.
func (r *Server) Counts() (auths, mails int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.auths, r.mails
}

// RefuseRecipients makes f answer each RCPT (nil: accept); nil f accepts all.
func (r *Server) RefuseRecipients(f func(to string) error) { r.set(func() { r.rcptErr = f }) }

// ReplyToData makes f answer each message once it was read whole (nil: accept).
func (r *Server) ReplyToData(f func() error) { r.set(func() { r.dataErr = f }) }

// CutAfterDot makes the server close the connection after the final dot, without a reply.
func (r *Server) CutAfterDot(on bool) { r.set(func() { r.cutAfter = on }) }

// Delay makes the server wait f() before accepting a message.
func (r *Server) Delay(f func() time.Duration) { r.set(func() { r.delay = f }) }

func (r *Server) set(f func()) {
	r.mu.Lock()
	defer r.mu.Unlock()
	f()
}

type session struct {
	r     *Server
	c     *smtp.Conn
	from  string
	rcpts []string
}

func (s *session) AuthMechanisms() []string { return []string{sasl.Plain} }

func (s *session) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, user, pass string) error {
		s.r.mu.Lock()
		defer s.r.mu.Unlock()
		s.r.auths++
		if pw, ok := s.r.users[user]; !ok || pw != pass {
			return smtp.ErrAuthFailed
		}
		return nil
	}), nil
}

func (s *session) Mail(from string, _ *smtp.MailOptions) error {
	s.r.mu.Lock()
	s.r.mails++
	s.r.mu.Unlock()
	s.from = from
	return nil
}

func (s *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.r.mu.Lock()
	f := s.r.rcptErr
	s.r.mu.Unlock()
	if f != nil {
		if err := f(to); err != nil {
			return err
		}
	}
	s.rcpts = append(s.rcpts, to)
	return nil
}

func (s *session) Data(rd io.Reader) error {
	data, err := io.ReadAll(rd)
	if err != nil {
		return err
	}
	s.r.mu.Lock()
	dataErr, cut, delay := s.r.dataErr, s.r.cutAfter, s.r.delay
	s.r.mu.Unlock()
	if cut {
		s.c.Conn().Close()
		return errors.New("cut")
	}
	if dataErr != nil {
		if err := dataErr(); err != nil {
			return err
		}
	}
	if delay != nil {
		time.Sleep(delay())
	}
	s.r.mu.Lock()
	s.r.got = append(s.r.got, Mail{From: s.from, Rcpts: s.rcpts, Data: data})
	s.r.mu.Unlock()
	return nil
}

func (s *session) Reset()        { s.from, s.rcpts = "", nil }
func (s *session) Logout() error { return nil }
