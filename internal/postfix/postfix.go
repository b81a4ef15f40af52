// Package postfix starts a private, real Postfix on 127.0.0.1 for the tests of sending mail (SMTP
// submission, RFC 6409, with STARTTLS, RFC 3207, or implicit TLS, RFC 8314, and AUTH, RFC 4954).
// It runs beside a private Dovecot (internal/dovecot) and shares its certificate, its users and
// its mail: a message submitted to Postfix can be fetched from Dovecot over POP3.
//
// The instance is Postfix's own master(8) started as a child process with its own
// config_directory, queue_directory and data_directory in a new temporary folder, listening only
// on two free ports of 127.0.0.1. It never reads /etc/postfix/main.cf, never touches the system's
// queue, and is not the system service (Debian's package may have started one; the rig neither
// relies on it nor stops it). Its log goes to a file in its folder (maillog_file, postlogd).
//
// Submission: one listener with implicit TLS (smtpd_tls_wrappermode, "submissions") and one that
// requires STARTTLS (smtpd_tls_security_level = encrypt) and offers AUTH only after it
// (smtpd_tls_auth_only). Both accept mail only from a client that has authenticated; Postfix asks
// Dovecot's auth service (smtpd_sasl_type = dovecot, smtpd_sasl_path = Dovecot's AuthSocket), so
// the users and passwords are Dovecot's.
//
// Delivery: Postfix's own virtual(8) delivery agent writes each message for user@Domain straight
// into the Maildir that Dovecot serves for user (virtual_mailbox_base = Dovecot's mail folder),
// as the owner of that mail ("nobody" when the rig runs as root, see internal/dovecot). That needs
// no extra Dovecot service or package, and delivery is Postfix's ordinary Maildir delivery
// (tmp/, then rename into new/). An address of Domain that is not a user is refused at RCPT
// (550 5.1.1); mail for any other domain is accepted, as a real submission server does, and then
// dropped (discard(8)): nothing leaves the machine.
//
// Postfix's master must run as root, so the rig needs root (CI and the development machines run the
// tests as root); without it, or without Postfix, StartT skips the test, except under CI=true.
package postfix

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/poplar-mail/poplar/internal/dovecot"
)

// Where Debian installs Postfix.
const (
	Binary = "/usr/sbin/postfix"
	Master = "/usr/lib/postfix/sbin/master"
)

// DefaultDomain is the mail domain of the users when Options.Domain is empty.
const DefaultDomain = "poplar.test"

// Options configure Start.
type Options struct {
	// Domain is the mail domain of Dovecot's users: user@Domain is delivered to user's Maildir.
	// Empty means DefaultDomain.
	Domain string
	// Refused lists addresses (user@domain) refused at RCPT TO with 550 5.7.1, a permanent error,
	// whether or not they are users.
	Refused []string
	// Deferred lists addresses refused at RCPT TO with 450 4.2.0, a temporary error (a client
	// should keep the message and try again later).
	Deferred []string
	// MessageSizeLimit is Postfix's message_size_limit in bytes (announced in EHLO SIZE; a
	// larger message is refused with 552 5.3.4). 0 means Postfix's default, 10240000.
	MessageSizeLimit int64
}

// Server is a running private Postfix. Its certificate names localhost and 127.0.0.1. A client
// signs in with a Dovecot user's name (not the address) and password, by any mechanism Dovecot
// offers (PLAIN, LOGIN, CRAM-MD5, SCRAM-SHA-1, SCRAM-SHA-256); from any address to any address.
// Its methods are not safe for concurrent use.
type Server struct {
	Dir                    string          // the rig's private folder (config, queue, log)
	SubmissionTLSAddr      string          // submission with implicit TLS ("submissions"), 127.0.0.1:port
	SubmissionSTARTTLSAddr string          // submission that requires STARTTLS, 127.0.0.1:port
	Domain                 string          // the users' mail domain
	CAFile                 string          // the certificate Dovecot uses too: PEM file, to trust it
	Fingerprint            string          // SHA-256 of the certificate, as pop.CertFingerprint formats it
	Dovecot                *dovecot.Server // where the mail goes, and who may sign in

	cmd    *exec.Cmd
	exited chan struct{}
}

// Available reports why Postfix cannot run here, or nil.
func Available() error {
	for _, p := range []string{Binary, Master, "/usr/lib/postfix/sbin/virtual", "/usr/lib/postfix/sbin/postlogd"} {
		if _, err := os.Stat(p); err != nil {
			return fmt.Errorf("postfix: %s not found (install postfix: make test does)", p)
		}
	}
	if os.Getuid() != 0 {
		return errors.New("postfix: the rig must run as root (Postfix's master runs as root)")
	}
	return nil
}

// StartT starts Postfix beside dv for a test and stops it at cleanup (before dv stops, as StartT
// must be called after dovecot.StartT). When Postfix cannot run here the test is skipped, except
// under CI=true, where it fails: CI must never skip the real server.
func StartT(t testing.TB, dv *dovecot.Server, opts Options) *Server {
	t.Helper()
	dovecot.Need(t, Available())
	s, err := Start(dv, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("stopping postfix: %v", err)
		}
	})
	return s
}

// Start writes a configuration under a new temporary folder and starts Postfix's master in the
// foreground as a child process, delivering to dv's Maildirs; it returns once both submission
// ports accept connections. Call Close to end it and remove the folder.
func Start(dv *dovecot.Server, opts Options) (*Server, error) {
	if err := Available(); err != nil {
		return nil, err
	}
	if dv == nil || dv.AuthSocket == "" {
		return nil, errors.New("postfix: a running internal/dovecot server is needed")
	}
	dir, err := os.MkdirTemp("", "poplar-postfix-")
	if err != nil {
		return nil, fmt.Errorf("postfix: %w", err)
	}
	s := &Server{Dir: dir, Dovecot: dv, CAFile: dv.CAFile, Fingerprint: dv.Fingerprint, Domain: opts.Domain}
	if s.Domain == "" {
		s.Domain = DefaultDomain
	}
	if err := s.setup(opts); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	if err := s.Restart(); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

func (s *Server) confDir() string { return filepath.Join(s.Dir, "etc") }

// Running reports whether the master process runs.
func (s *Server) Running() bool {
	if s.cmd == nil {
		return false
	}
	select {
	case <-s.exited:
		return false
	default:
		return true
	}
}

// Restart starts Postfix again after Stop, on the same ports, with the same queue (mail queued
// before Stop is delivered). It returns once both ports accept connections. It does nothing
// when Postfix runs.
func (s *Server) Restart() error {
	if s.Running() {
		return nil
	}
	cmd := exec.Command(Master, "-c", s.confDir(), "-s")
	logf, err := os.OpenFile(filepath.Join(s.Dir, "stdout.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("postfix: %w", err)
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	// The master leads its own session (its children are in its process group, which Stop ends);
	// if the test binary dies, the kernel ends the master.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Pdeathsig: syscall.SIGKILL}
	err = cmd.Start()
	logf.Close()
	if err != nil {
		return fmt.Errorf("postfix: starting master: %w", err)
	}
	exited := make(chan struct{})
	s.cmd, s.exited = cmd, exited
	go func() { cmd.Wait(); close(exited) }()
	if err := dovecot.WaitListening([]string{s.SubmissionTLSAddr, s.SubmissionSTARTTLSAddr}, exited, 20*time.Second); err != nil {
		s.Stop()
		return fmt.Errorf("postfix: master: %w:\n%s", err, s.Log())
	}
	return nil
}

// Stop ends Postfix (the master and every process it started) and waits until they are gone;
// the folder and the queue stay, for Restart. Afterwards both ports refuse connections.
func (s *Server) Stop() error {
	if !s.Running() {
		return nil
	}
	pid := s.cmd.Process.Pid
	start := time.Now()
	// SIGTERM, as "postfix stop" sends: the master passes it on to its children and exits.
	syscall.Kill(pid, syscall.SIGTERM)
	select {
	case <-s.exited:
	case <-time.After(10 * time.Second):
		syscall.Kill(-pid, syscall.SIGKILL)
		<-s.exited
	}
	// Wait for the last child too (about 1 s at most), so none outlives the rig. Once the master
	// is gone init reaps them, which may be slow: a zombie counts as gone.
	for groupAlive(pid) {
		switch d := time.Since(start); {
		case d > 30*time.Second:
			return fmt.Errorf("postfix: processes of group %d outlive the master", pid)
		case d > 20*time.Second:
			syscall.Kill(-pid, syscall.SIGKILL)
		}
		time.Sleep(10 * time.Millisecond)
	}
	return nil
}

// groupAlive reports whether a process of process group pgid runs (zombies do not count).
func groupAlive(pgid int) bool {
	if syscall.Kill(-pgid, 0) != nil {
		return false
	}
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	for _, f := range stats {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		// pid (comm) state ppid pgrp ...; comm may hold anything, so look after the last ')'.
		i := bytes.LastIndexByte(b, ')')
		if i < 0 {
			continue
		}
		fields := strings.Fields(string(b[i+1:]))
		if len(fields) >= 3 && fields[0] != "Z" && fields[2] == strconv.Itoa(pgid) {
			return true
		}
	}
	return false
}

// Close stops Postfix and removes the rig's folder. Dovecot is not stopped.
func (s *Server) Close() error {
	err := s.Stop()
	if rerr := os.RemoveAll(s.Dir); err == nil {
		err = rerr
	}
	return err
}

// Log returns what Postfix logged, for a failure message.
func (s *Server) Log() string {
	var b strings.Builder
	for _, f := range []string{"postfix.log", "stdout.log"} {
		d, _ := os.ReadFile(filepath.Join(s.Dir, f))
		b.Write(d)
	}
	return b.String()
}

// Address returns user's mail address, user@Domain.
func (s *Server) Address(user string) string { return user + "@" + s.Domain }

// WaitDelivered waits until user's Maildir (the one Dovecot serves over POP3) holds at least n
// messages, polling every 20 ms, and fails after timeout with Postfix's log. Delivery is
// asynchronous: an SMTP "250 queued" reply means only that Postfix took the message. Dovecot
// numbers messages delivered in the same second in no set order, so a test that fetches message
// n by number waits for each delivery before it sends the next message.
func (s *Server) WaitDelivered(user string, n int, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		got, err := s.Dovecot.Count(user)
		if err != nil {
			return err
		}
		if got >= n {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("postfix: %s has %d messages after %v, want %d; postfix log:\n%s", user, got, timeout, n, s.Log())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// makeDirs creates the configuration folder, the data folder and the queue with the owners and
// modes /etc/postfix/postfix-files gives them, as "postfix check" would (it takes 3 s; this, 1 ms).
func makeDirs(dir string) error {
	owner, err := user.Lookup("postfix")
	if err != nil {
		return fmt.Errorf("postfix: the mail_owner: %w", err)
	}
	drop, err := user.LookupGroup("postdrop")
	if err != nil {
		return fmt.Errorf("postfix: the setgid_group: %w", err)
	}
	pf, _ := strconv.Atoi(owner.Uid)
	pd, _ := strconv.Atoi(drop.Gid)
	type entry struct {
		path     string
		uid, gid int
		mode     os.FileMode
	}
	entries := []entry{{"etc", 0, 0, 0o755}, {"data", pf, 0, 0o700}, {"spool", 0, 0, 0o755}, {"spool/pid", 0, 0, 0o755},
		{"spool/maildrop", pf, pd, 0o730}, {"spool/public", pf, pd, 0o710}}
	for _, q := range []string{"active", "bounce", "corrupt", "defer", "deferred", "flush", "hold", "incoming",
		"private", "saved", "trace"} {
		entries = append(entries, entry{"spool/" + q, pf, 0, 0o700})
	}
	for _, e := range entries {
		p := filepath.Join(dir, e.path)
		if err := os.Mkdir(p, e.mode); err != nil {
			return fmt.Errorf("postfix: %w", err)
		}
		// Mkdir applies the umask; Chmod sets the mode exactly.
		if err := os.Chown(p, e.uid, e.gid); err != nil {
			return fmt.Errorf("postfix: %w", err)
		}
		if err := os.Chmod(p, e.mode); err != nil {
			return fmt.Errorf("postfix: %w", err)
		}
	}
	return nil
}

// bad reports whether v cannot go into a Postfix configuration or lookup table line.
func bad(v string) bool { return v == "" || strings.ContainsAny(v, " \t\r\n,#{}=\\$") }

func (s *Server) setup(opts Options) error {
	dv := s.Dovecot
	uid, gid := dv.MailOwner()
	if uid < 0 {
		return errors.New("postfix: Dovecot's mail belongs to the current user; the rig needs root")
	}
	if bad(s.Domain) {
		return fmt.Errorf("postfix: bad domain %q", s.Domain)
	}
	if opts.MessageSizeLimit < 0 {
		return fmt.Errorf("postfix: negative MessageSizeLimit %d", opts.MessageSizeLimit)
	}
	// Daemons that run as "postfix" or "nobody" must reach the folder (and Dovecot's).
	if err := os.Chmod(s.Dir, 0o755); err != nil {
		return fmt.Errorf("postfix: %w", err)
	}
	if err := makeDirs(s.Dir); err != nil {
		return err
	}
	p1, err := dovecot.FreePort()
	if err != nil {
		return fmt.Errorf("postfix: %w", err)
	}
	p2, err := dovecot.FreePort()
	for err == nil && p2 == p1 {
		p2, err = dovecot.FreePort()
	}
	if err != nil {
		return fmt.Errorf("postfix: %w", err)
	}
	s.SubmissionTLSAddr = "127.0.0.1:" + strconv.Itoa(p1)
	s.SubmissionSTARTTLSAddr = "127.0.0.1:" + strconv.Itoa(p2)

	var mailboxes, refused bytes.Buffer
	for _, u := range dv.Users {
		if bad(u) || strings.Contains(u, "/") {
			return fmt.Errorf("postfix: user name %q cannot be a mailbox", u)
		}
		fmt.Fprintf(&mailboxes, "%s %s/\n", s.Address(u), u) // the trailing "/" means Maildir
	}
	for _, a := range opts.Refused {
		if bad(a) {
			return fmt.Errorf("postfix: bad refused address %q", a)
		}
		fmt.Fprintf(&refused, "%s 550 5.7.1 <%s>: recipient refused by the test rig\n", strings.ToLower(a), a)
	}
	for _, a := range opts.Deferred {
		if bad(a) {
			return fmt.Errorf("postfix: bad deferred address %q", a)
		}
		fmt.Fprintf(&refused, "%s 450 4.2.0 <%s>: recipient deferred by the test rig, try again later\n", strings.ToLower(a), a)
	}
	etc := s.confDir()
	files := map[string][]byte{"mailboxes": mailboxes.Bytes(), "refused": refused.Bytes()}
	size := ""
	if opts.MessageSizeLimit > 0 {
		size = "message_size_limit = " + strconv.FormatInt(opts.MessageSizeLimit, 10)
	}
	files["main.cf"] = fmt.Appendf(nil, `# Poplar test rig: a private Postfix, generated.
compatibility_level = 3.6
queue_directory = %[1]s/spool
data_directory = %[1]s/data
meta_directory = /etc/postfix
command_directory = /usr/sbin
daemon_directory = /usr/lib/postfix/sbin
shlib_directory = /usr/lib/postfix
mail_owner = postfix
setgid_group = postdrop
maillog_file = %[1]s/postfix.log
maillog_file_prefixes = %[1]s
syslog_name = postfix-poplar-rig

myhostname = mail.%[2]s
mydomain = %[2]s
myorigin = $mydomain
mydestination =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
alias_maps =
alias_database =
local_recipient_maps =
biff = no
smtp_dns_support_level = disabled
smtpd_peername_lookup = no
smtpd_banner = $myhostname ESMTP Postfix (Poplar test rig)
queue_run_delay = 1s
minimal_backoff_time = 1s
maximal_backoff_time = 5s

# Delivery: user@domain into the Maildir Dovecot serves; nothing leaves the machine.
virtual_mailbox_domains = %[2]s
virtual_mailbox_base = %[3]s
virtual_mailbox_maps = texthash:%[4]s/mailboxes
virtual_uid_maps = static:%[5]d
virtual_gid_maps = static:%[6]d
virtual_minimum_uid = 1
virtual_mailbox_limit = 0
mailbox_size_limit = 0
%[7]s
local_transport = error:5.1.1 local delivery is off in the Poplar test rig
# Like a real submission server, it accepts mail for any domain; the rig then drops it.
default_transport = discard:the Poplar test rig delivers only to %[2]s
relay_transport = $default_transport

# Submission: TLS always, then AUTH (Dovecot's users), then mail.
smtpd_tls_cert_file = %[8]s
smtpd_tls_key_file = %[9]s
smtpd_tls_security_level = encrypt
smtpd_tls_auth_only = yes
smtpd_tls_mandatory_protocols = >=TLSv1.2
smtpd_tls_protocols = >=TLSv1.2
smtpd_tls_session_cache_database =
smtpd_tls_received_header = yes
smtpd_sasl_auth_enable = yes
smtpd_sasl_type = dovecot
smtpd_sasl_path = %[10]s
smtpd_sasl_security_options = noanonymous
smtpd_sasl_tls_security_options = noanonymous
smtpd_sasl_authenticated_header = yes
smtpd_client_restrictions =
smtpd_helo_restrictions =
smtpd_sender_restrictions =
smtpd_relay_restrictions = permit_sasl_authenticated, reject
smtpd_recipient_restrictions = check_recipient_access texthash:%[4]s/refused, permit_sasl_authenticated, reject
`, s.Dir, s.Domain, filepath.Dir(dv.Maildir("x")), etc, uid, gid, size, dv.CAFile, dv.KeyFile, dv.AuthSocket)
	files["master.cf"] = fmt.Appendf(nil, `# Poplar test rig: a private Postfix, generated. Nothing is chrooted.
# service type  private unpriv  chroot  wakeup  maxproc command + args
%[1]s inet n - n - - smtpd
  -o syslog_name=postfix-poplar-rig/submissions
  -o smtpd_tls_wrappermode=yes
%[2]s inet n - n - - smtpd
  -o syslog_name=postfix-poplar-rig/submission
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
tlsmgr    unix  -       -       n       1000?   1       tlsmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
proxywrite unix -       -       n       -       1       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
local     unix  -       n       n       -       -       local
virtual   unix  -       n       n       -       -       virtual
lmtp      unix  -       -       n       -       -       lmtp
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
`, s.SubmissionTLSAddr, s.SubmissionSTARTTLSAddr)
	// Postfix waits (up to 2 s, in 300 ms steps) for a main.cf changed in the last seconds to
	// settle: an hour-old time makes it start at once.
	old := time.Now().Add(-time.Hour)
	for name, data := range files {
		p := filepath.Join(etc, name)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			return fmt.Errorf("postfix: %w", err)
		}
		if err := os.Chtimes(p, old, old); err != nil {
			return fmt.Errorf("postfix: %w", err)
		}
	}
	return nil
}
