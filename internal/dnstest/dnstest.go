// Package dnstest is a test rig: a private DNS server (Debian's dnsmasq, started in the foreground
// on a free port of 127.0.0.1) that answers only from the records a test gives it: SRV (RFC 2782,
// RFC 6186), MX and A records. Every other name under the test's domains is NXDOMAIN, and any
// name outside them is refused, so nothing a test does reaches the real DNS.
package dnstest

import (
	"context"
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

// Binary is the dnsmasq executable the rig runs.
const Binary = "/usr/sbin/dnsmasq"

// SRV is one SRV record. An empty Target is the record with target "." (RFC 2782: the service
// is decidedly not offered at this domain).
type SRV struct {
	Name     string // e.g. "_pop3s._tcp.example.test"
	Target   string // e.g. "localhost"; "" for "."
	Port     int
	Priority int
	Weight   int
}

// MX is one MX record.
type MX struct {
	Domain     string
	Host       string
	Preference int
}

// Host is an A record (dnsmasq's --host-record: this exact name, not its subdomains).
type Host struct {
	Name string
	IP   string // e.g. "127.0.0.1"
}

// Options are the records the server answers with.
type Options struct {
	// Domains are answered from these records only: any other name under them is NXDOMAIN.
	// Names outside them get REFUSED (the server has no upstream).
	Domains []string
	SRV     []SRV
	MX      []MX
	Hosts   []Host
}

// Server is a running dnsmasq.
type Server struct {
	Addr string // 127.0.0.1:port, UDP and TCP
	Dir  string // the rig's private folder (pid file, log)

	stop   context.CancelFunc // ends dnsmasq
	exited chan struct{}
}

// Available reports why dnsmasq cannot run here, or nil.
func Available() error {
	if _, err := os.Stat(Binary); err != nil {
		return fmt.Errorf("dnstest: %s not found (install dnsmasq-base: .ci/install-deps test does)", Binary)
	}
	return nil
}

// StartT starts a server for a test and stops it at cleanup. When dnsmasq is not installed the
// test is skipped, except under CI=true, where it fails.
func StartT(t testing.TB, opts Options) *Server {
	t.Helper()
	dovecot.Need(t, Available())
	s, err := Start(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Stop(); err != nil {
			t.Errorf("stopping dnsmasq: %v", err)
		}
	})
	return s
}

// args returns dnsmasq's command line for opts, or an error naming a record it cannot express.
func (opts Options) args() ([]string, error) {
	var a []string
	bad := func(s string) bool { return s == "" || strings.ContainsAny(s, ",/ \t\r\n") }
	for _, d := range opts.Domains {
		if bad(d) {
			return nil, fmt.Errorf("dnstest: bad domain %q", d)
		}
		a = append(a, "--local=/"+d+"/")
	}
	for _, r := range opts.SRV {
		if bad(r.Name) || (r.Target != "" && bad(r.Target)) {
			return nil, fmt.Errorf("dnstest: bad SRV record %+v", r)
		}
		if r.Target == "" {
			a = append(a, "--srv-host="+r.Name) // no target: ".", not offered
			continue
		}
		a = append(a, fmt.Sprintf("--srv-host=%s,%s,%d,%d,%d", r.Name, r.Target, r.Port, r.Priority, r.Weight))
	}
	for _, r := range opts.MX {
		if bad(r.Domain) || bad(r.Host) {
			return nil, fmt.Errorf("dnstest: bad MX record %+v", r)
		}
		a = append(a, fmt.Sprintf("--mx-host=%s,%s,%d", r.Domain, r.Host, r.Preference))
	}
	for _, h := range opts.Hosts {
		if bad(h.Name) || bad(h.IP) {
			return nil, fmt.Errorf("dnstest: bad host record %+v", h)
		}
		a = append(a, "--host-record="+h.Name+","+h.IP)
	}
	return a, nil
}

// Start starts dnsmasq with opts' records on a free port of 127.0.0.1 and returns once it
// accepts connections. Call Stop to end it.
func Start(opts Options) (*Server, error) {
	if err := Available(); err != nil {
		return nil, err
	}
	records, err := opts.args()
	if err != nil {
		return nil, err
	}
	port, err := dovecot.FreePort()
	if err != nil {
		return nil, fmt.Errorf("dnstest: %w", err)
	}
	dir, err := os.MkdirTemp("", "poplar-dnsmasq-")
	if err != nil {
		return nil, fmt.Errorf("dnstest: %w", err)
	}
	s := &Server{Addr: "127.0.0.1:" + strconv.Itoa(port), Dir: dir, exited: make(chan struct{})}
	args := []string{
		"--keep-in-foreground", "--conf-file=/dev/null", "--port=" + strconv.Itoa(port),
		"--listen-address=127.0.0.1", "--bind-interfaces", "--no-resolv", "--no-hosts",
		"--pid-file=" + filepath.Join(dir, "dnsmasq.pid"), "--log-facility=-", "--log-queries",
		"--cache-size=0",
	}
	if u, err := user.Current(); err == nil {
		args = append(args, "--user="+u.Username) // stay the same user: nothing to drop to
	}
	logf, err := os.Create(filepath.Join(dir, "dnsmasq.log"))
	if err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("dnstest: %w", err)
	}
	defer logf.Close() // the child has its own copy
	ctx, stop := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, Binary, append(args, records...)...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	// Stop asks dnsmasq to end (SIGTERM), and kills it if it has not within 10 s.
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = 10 * time.Second
	if err := cmd.Start(); err != nil {
		stop()
		os.RemoveAll(dir)
		return nil, fmt.Errorf("dnstest: starting dnsmasq: %w", err)
	}
	s.stop = stop
	go func() { cmd.Wait(); close(s.exited) }()
	if err := dovecot.WaitListening([]string{s.Addr}, s.exited, 20*time.Second); err != nil {
		log := s.Log()
		s.Stop()
		return nil, fmt.Errorf("dnstest: dnsmasq: %w:\n%s", err, log)
	}
	return s, nil
}

// Log returns what dnsmasq logged (every query), for a failure message.
func (s *Server) Log() string {
	b, err := os.ReadFile(filepath.Join(s.Dir, "dnsmasq.log"))
	if err != nil {
		return err.Error()
	}
	return string(b)
}

// Stop ends dnsmasq and removes the rig's folder.
func (s *Server) Stop() error {
	s.stop()
	<-s.exited
	return os.RemoveAll(s.Dir)
}
