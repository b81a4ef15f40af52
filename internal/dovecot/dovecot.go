// Package dovecot starts a private, real Dovecot POP3 server on 127.0.0.1 for tests and benchmarks:
// its own configuration, a self-signed certificate, free ports, users with passwords and Maildirs
// filled with given messages. It lives under internal/ because it is a test rig with no other home.
//
// Dovecot refuses to serve mail as root, so when the rig runs as root the mail belongs to "nobody"
// and the rig's folder is world-traversable; otherwise everything runs as the current user.
//
// Besides POP3 it offers its authentication service on a unix socket (Server.AuthSocket) in the
// protocol Postfix's smtpd_sasl_type = dovecot speaks, so a private Postfix (internal/postfix)
// can check the same users and passwords for SMTP AUTH.
package dovecot

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/poplar-mail/poplar/pop"
	"github.com/poplar-mail/poplar/pop/popserver"
)

// Binary is where Debian installs Dovecot.
const Binary = "/usr/sbin/dovecot"

// User is a mail account on the server.
type User struct {
	Name     string
	Password string
	Messages [][]byte // delivered in order (message 1 first)
}

// Options configure Start.
type Options struct {
	Users []User
	// OAuth2IntrospectionURL, when set, makes Dovecot also accept XOAUTH2 and OAUTHBEARER: its
	// oauth2 passdb posts the bearer token to this RFC 7662 introspection endpoint (such as
	// internal/oauthtest's) and lets the user in when the answer is active and names them as
	// "username". Passwords keep working beside it.
	OAuth2IntrospectionURL string
}

// Server is a running Dovecot.
type Server struct {
	Dir         string // the rig's private folder (config, logs, mail)
	POP3Addr    string // plain POP3 with STLS, 127.0.0.1:port
	POP3SAddr   string // implicit TLS, 127.0.0.1:port
	CAFile      string // PEM file of the self-signed certificate, to trust it
	Fingerprint string // SHA-256 of the certificate, as pop.CertFingerprint formats it
	KeyFile     string // PEM file of the certificate's private key (mode 0600), for another server
	// AuthSocket is the unix socket of Dovecot's auth service (client protocol, mode 0666), for
	// Postfix's smtpd_sasl_path: it checks the same users and passwords as POP3.
	AuthSocket string
	Users      []string // the users' names, as in Options

	cmd      *exec.Cmd
	exited   chan struct{}
	uid, gid int // owner of the mail, -1 when the current user
}

// Available reports why Dovecot cannot run here, or nil.
func Available() error {
	if _, err := os.Stat(Binary); err != nil {
		return fmt.Errorf("dovecot: %s not found (install dovecot-core and dovecot-pop3d: make test does)", Binary)
	}
	if _, err := os.Stat("/usr/lib/dovecot/pop3"); err != nil {
		return fmt.Errorf("dovecot: the pop3 service is missing (install dovecot-pop3d)")
	}
	return nil
}

// StartT starts a server for a test and stops it at cleanup. When Dovecot is not installed the
// test is skipped, except under CI=true, where it fails: CI must never skip the real server.
func StartT(t testing.TB, opts Options) *Server {
	t.Helper()
	Need(t, Available())
	s, err := Start(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Stop(); err != nil {
			t.Errorf("stopping dovecot: %v", err)
		}
	})
	return s
}

// Need reports unavailable, the error of a rig's Available (nil when the server can run), to t:
// the test is skipped, except under CI=true, where it fails. The rig of another server (such as
// internal/postfix) uses it too.
func Need(t testing.TB, unavailable error) {
	t.Helper()
	if unavailable == nil {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("%v; CI must run the real-server tests", unavailable)
	}
	t.Skipf("%v", unavailable)
}

// ErrExited is WaitListening's error when the server exits before it listens.
var ErrExited = errors.New("exited at start-up")

// WaitListening waits until each of addrs accepts a TCP connection, trying every 20 ms. It
// returns ErrExited as soon as exited is closed, and an error naming the address after timeout.
func WaitListening(addrs []string, exited <-chan struct{}, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for _, addr := range addrs {
		for {
			c, err := net.DialTimeout("tcp", addr, time.Second)
			if err == nil {
				c.Close()
				break
			}
			select {
			case <-exited:
				return ErrExited
			default:
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("%s did not accept connections within %v", addr, timeout)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	return nil
}

// Start writes a configuration under a new temporary folder and starts Dovecot in the foreground
// as a child process; it returns once both ports accept connections. Call Stop to end it and
// remove the folder.
func Start(opts Options) (*Server, error) {
	if err := Available(); err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "poplar-dovecot-")
	if err != nil {
		return nil, fmt.Errorf("dovecot: %w", err)
	}
	s := &Server{Dir: dir, uid: -1, gid: -1, exited: make(chan struct{})}
	if err := s.setup(opts); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	cmd := exec.Command(Binary, "-F", "-c", filepath.Join(dir, "dovecot.conf"))
	logf, err := os.Create(filepath.Join(dir, "stdout.log"))
	if err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("dovecot: %w", err)
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		logf.Close()
		os.RemoveAll(dir)
		return nil, fmt.Errorf("dovecot: starting: %w", err)
	}
	logf.Close()
	s.cmd = cmd
	go func() { cmd.Wait(); close(s.exited) }()
	if err := WaitListening([]string{s.POP3Addr, s.POP3SAddr}, s.exited, 20*time.Second); err != nil {
		log := s.Log()
		if errors.Is(err, ErrExited) {
			os.RemoveAll(dir)
		} else {
			s.Stop()
		}
		return nil, fmt.Errorf("dovecot: %w:\n%s", err, log)
	}
	return s, nil
}

// Stop ends Dovecot and removes the rig's folder.
func (s *Server) Stop() error {
	if s.cmd != nil && s.cmd.Process != nil {
		syscall.Kill(-s.cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-s.exited:
		case <-time.After(10 * time.Second):
			syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
			<-s.exited
		}
	}
	return os.RemoveAll(s.Dir)
}

// Log returns what Dovecot logged, for a failure message.
func (s *Server) Log() string {
	var b strings.Builder
	for _, f := range []string{"dovecot.log", "stdout.log"} {
		d, _ := os.ReadFile(filepath.Join(s.Dir, f))
		b.Write(d)
	}
	return b.String()
}

// Maildir is the folder holding user's mail.
func (s *Server) Maildir(user string) string { return filepath.Join(s.Dir, "mail", user) }

// Count returns how many messages user's Maildir holds (new and cur).
func (s *Server) Count(user string) (int, error) {
	n := 0
	for _, sub := range []string{"new", "cur"} {
		des, err := os.ReadDir(filepath.Join(s.Maildir(user), sub))
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return 0, fmt.Errorf("dovecot: %w", err)
		}
		n += len(des)
	}
	return n, nil
}

// Deliver adds a message to the end of user's mailbox.
func (s *Server) Deliver(user string, msg []byte) error {
	md := s.Maildir(user)
	if err := s.makeMaildir(user); err != nil {
		return err
	}
	var rnd [8]byte
	rand.Read(rnd[:])
	// Names sort in delivery order, so Dovecot numbers the messages in that order.
	name := fmt.Sprintf("%d.%s.poplar-rig", time.Now().UnixNano(), hex.EncodeToString(rnd[:]))
	p := filepath.Join(md, "new", name)
	if err := os.WriteFile(p, msg, 0o600); err != nil {
		return fmt.Errorf("dovecot: %w", err)
	}
	s.chown(p)
	return nil
}

func (s *Server) makeMaildir(user string) error {
	for _, sub := range []string{"", "new", "cur", "tmp"} {
		p := filepath.Join(s.Maildir(user), sub)
		if err := os.MkdirAll(p, 0o700); err != nil {
			return fmt.Errorf("dovecot: %w", err)
		}
		s.chown(p)
	}
	return nil
}

// MailOwner returns the uid and gid that own the mail, or -1, -1 when it is the current user.
func (s *Server) MailOwner() (uid, gid int) { return s.uid, s.gid }

func (s *Server) chown(p string) {
	if s.uid >= 0 {
		os.Chown(p, s.uid, s.gid)
	}
}

// FreePort asks the kernel for an unused port on 127.0.0.1. The rig of another server (such as
// internal/postfix) uses it too.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func (s *Server) setup(opts Options) error {
	cert, err := popserver.GenerateCert("localhost", "127.0.0.1")
	if err != nil {
		return err
	}
	s.CAFile = filepath.Join(s.Dir, "cert.pem")
	s.Fingerprint = pop.CertFingerprint(cert.DER)
	if err := os.WriteFile(s.CAFile, cert.CertPEM, 0o644); err != nil {
		return fmt.Errorf("dovecot: %w", err)
	}
	s.KeyFile = filepath.Join(s.Dir, "key.pem")
	s.AuthSocket = filepath.Join(s.Dir, "run", "auth-postfix")
	if err := os.WriteFile(s.KeyFile, cert.KeyPEM, 0o600); err != nil {
		return fmt.Errorf("dovecot: %w", err)
	}
	p1, err := FreePort()
	if err != nil {
		return fmt.Errorf("dovecot: %w", err)
	}
	p2, err := FreePort()
	if err != nil {
		return fmt.Errorf("dovecot: %w", err)
	}
	s.POP3Addr = "127.0.0.1:" + strconv.Itoa(p1)
	s.POP3SAddr = "127.0.0.1:" + strconv.Itoa(p2)

	me, err := user.Current()
	if err != nil {
		return fmt.Errorf("dovecot: %w", err)
	}
	internal, login := me.Username, me.Username
	uid, gid := os.Getuid(), os.Getgid()
	if os.Getuid() == 0 {
		// Dovecot serves no mail as root: mail belongs to nobody, its helpers run as Debian's users.
		s.uid, s.gid = 65534, 65534
		uid, gid = 65534, 65534
		internal, login = "dovecot", "dovenull"
		if err := os.Chmod(s.Dir, 0o755); err != nil {
			return fmt.Errorf("dovecot: %w", err)
		}
	}
	var pw bytes.Buffer
	for _, u := range opts.Users {
		if strings.ContainsAny(u.Name+u.Password, ":\n") {
			return fmt.Errorf("dovecot: user %q: name and password may not contain ':' or a newline", u.Name)
		}
		fmt.Fprintf(&pw, "%s:{PLAIN}%s:%d:%d::%s::\n", u.Name, u.Password, uid, gid, s.Maildir(u.Name))
		s.Users = append(s.Users, u.Name)
	}
	if err := os.WriteFile(filepath.Join(s.Dir, "passwd"), pw.Bytes(), 0o644); err != nil {
		return fmt.Errorf("dovecot: %w", err)
	}
	mechs, oauthPassdb, err := s.oauth2(opts.OAuth2IntrospectionURL)
	if err != nil {
		return err
	}
	mail := filepath.Join(s.Dir, "mail")
	if err := os.MkdirAll(mail, 0o755); err != nil {
		return fmt.Errorf("dovecot: %w", err)
	}
	s.chown(mail)
	for _, u := range opts.Users {
		for _, m := range u.Messages {
			if err := s.Deliver(u.Name, m); err != nil {
				return err
			}
		}
		if err := s.makeMaildir(u.Name); err != nil {
			return err
		}
	}
	conf := fmt.Sprintf(`# Poplar test rig: a private Dovecot, generated.
base_dir = %[1]s/run
state_dir = %[1]s/state
log_path = %[1]s/dovecot.log
info_log_path = %[1]s/dovecot.log
protocols = pop3
listen = 127.0.0.1
ssl = yes
ssl_cert = <%[1]s/cert.pem
ssl_key = <%[1]s/key.pem
ssl_min_protocol = TLSv1.2
disable_plaintext_auth = no
auth_mechanisms = plain login cram-md5 scram-sha-1 scram-sha-256 apop%[6]s
first_valid_uid = 1
first_valid_gid = 1
default_internal_user = %[2]s
default_login_user = %[3]s
mail_location = maildir:~
pop3_uidl_format = %%08Xu%%08Xv
pop3_no_flag_updates = yes
%[7]spassdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%%u %[1]s/passwd
}
userdb {
  driver = passwd-file
  args = username_format=%%u %[1]s/passwd
}
service pop3-login {
  inet_listener pop3 {
    address = 127.0.0.1
    port = %[4]d
  }
  inet_listener pop3s {
    address = 127.0.0.1
    port = %[5]d
    ssl = yes
  }
}
service anvil {
  chroot =
}
service auth {
  unix_listener auth-postfix {
    mode = 0666
  }
}
`, s.Dir, internal, login, p1, p2, mechs, oauthPassdb)
	if os.Getuid() != 0 {
		conf += "service pop3-login {\n  chroot =\n}\nservice auth {\n  user = $default_internal_user\n}\n"
	}
	if err := os.WriteFile(filepath.Join(s.Dir, "dovecot.conf"), []byte(conf), 0o644); err != nil {
		return fmt.Errorf("dovecot: %w", err)
	}
	return nil
}

// oauth2 writes the oauth2 passdb's settings when introspection is set and returns the extra
// mechanisms and the passdb block for dovecot.conf ("" for both when it is not).
func (s *Server) oauth2(introspection string) (mechs, passdb string, err error) {
	if introspection == "" {
		return "", "", nil
	}
	if strings.ContainsAny(introspection, " \r\n") {
		return "", "", fmt.Errorf("dovecot: introspection URL %q has a space or line break", introspection)
	}
	conf := fmt.Sprintf("introspection_mode = post\nintrospection_url = %s\nusername_attribute = username\n"+
		"active_attribute = active\nactive_value = true\nforce_introspection = yes\ntimeout_msecs = 10000\n", introspection)
	path := filepath.Join(s.Dir, "oauth2.conf")
	if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
		return "", "", fmt.Errorf("dovecot: %w", err)
	}
	return " xoauth2 oauthbearer", fmt.Sprintf("passdb {\n  driver = oauth2\n  mechanisms = xoauth2 oauthbearer\n  args = %s\n}\n", path), nil
}
