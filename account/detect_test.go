package account

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/poplar-mail/poplar/pop"
	"github.com/poplar-mail/poplar/pop/popserver"
)

// detectRig is one popserver listening with implicit TLS and, on another port, plain with STLS,
// recording every command verb it receives.
type detectRig struct {
	host              string
	tlsPort, plainPrt int
	cert              *popserver.Cert
	mu                sync.Mutex
	verbs             []string
}

func startDetectRig(t *testing.T) *detectRig {
	t.Helper()
	r := &detectRig{}
	cfg := popserver.Config{
		Password: popserver.Users(map[string]string{"dana": "s3cret pw"}),
		Faults: &popserver.Faults{Reply: func(verb, _ string) string {
			r.mu.Lock()
			r.verbs = append(r.verbs, verb)
			r.mu.Unlock()
			return ""
		}},
	}
	srv, err := popserver.Start(cfg, true)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	plain, err := srv.Listen("127.0.0.1:0", false)
	if err != nil {
		t.Fatal(err)
	}
	r.host, r.tlsPort, r.cert = srv.Host, srv.Port, srv.Cert
	r.plainPrt = plain.(*net.TCPAddr).Port
	return r
}

// freePort returns a loopback port nothing listens on (connections are refused).
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := l.Addr().(*net.TCPAddr).Port
	l.Close()
	return p
}

// TestDetect: Detect finds port and security on arbitrary ports, reports the certificate and
// the sign-in methods, recovers from a security mix-up, and never sends a user name or password.
func TestDetect(t *testing.T) {
	r := startDetectRig(t)
	refused := freePort(t)
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, r.cert.CertPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	fp := pop.CertFingerprint(r.cert.DER)
	tests := []struct {
		name     string
		cands    []Candidate
		edit     func(a *Account)
		port     int
		security string
		attempts int
		certOK   bool // the certificate is trusted (no Certificate)
		login    error
	}{
		{"tls first", []Candidate{{r.tlsPort, SecurityTLS}, {r.plainPrt, SecuritySTARTTLS}}, nil, r.tlsPort, SecurityTLS, 1, false, nil},
		{"tls refused, starttls", []Candidate{{refused, SecurityTLS}, {r.plainPrt, SecuritySTARTTLS}}, nil, r.plainPrt, SecuritySTARTTLS, 2, false, nil},
		{"tls on the plain port", []Candidate{{r.plainPrt, SecurityTLS}}, nil, r.plainPrt, SecuritySTARTTLS, 2, false, nil},
		{"starttls on the tls port", []Candidate{{r.tlsPort, SecuritySTARTTLS}}, nil, r.tlsPort, SecurityTLS, 2, false, nil},
		{"pinned", []Candidate{{r.tlsPort, SecurityTLS}}, func(a *Account) { a.Fingerprint = fp }, r.tlsPort, SecurityTLS, 1, true, nil},
		{"ca file", []Candidate{{r.plainPrt, SecuritySTARTTLS}}, func(a *Account) { a.CAFile = caFile }, r.plainPrt, SecuritySTARTTLS, 1, true, nil},
		{"method not offered", []Candidate{{r.tlsPort, SecurityTLS}}, func(a *Account) { a.Auth = "cram-md5" }, r.tlsPort, SecurityTLS, 1, false, pop.ErrMethodRefused},
		{"none needs the opt-in", []Candidate{{r.plainPrt, SecurityNone}}, nil, r.plainPrt, SecurityNone, 1, true, pop.ErrInsecureAuth},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := New("work", r.host, "dana")
			if tt.edit != nil {
				tt.edit(&a)
			}
			d, err := Detect(context.Background(), a, DetectOptions{Candidates: tt.cands, Timeout: 10 * time.Second})
			if err != nil {
				t.Fatalf("Detect: %v", err)
			}
			if d.Account.Port != tt.port || d.Account.Security != tt.security || len(d.Attempts) != tt.attempts {
				t.Fatalf("Detect found port %d %s after %d attempts (%+v), want %d %s after %d", d.Account.Port, d.Account.Security, len(d.Attempts), d.Attempts,
					tt.port, tt.security, tt.attempts)
			}
			if d.Account.Fingerprint != a.Fingerprint || d.Account.Host != a.Host || d.Account.Username != "dana" {
				t.Errorf("Detect changed more than port and security: %+v", d.Account)
			}
			if tt.certOK != (d.Certificate == nil) {
				t.Errorf("Certificate = %v, want trusted %v", d.Certificate, tt.certOK)
			}
			if d.Certificate != nil && (d.Certificate.Reason != pop.CertSelfSigned || d.Certificate.Fingerprint != fp) {
				t.Errorf("Certificate = %+v, want the self-signed one", d.Certificate)
			}
			if !d.Capabilities.Known || !slices.Contains(d.Methods, "USER") || !slices.Contains(d.Methods, "PLAIN") || !strings.Contains(d.Greeting, "<") {
				t.Errorf("Greeting %q, Methods %q, Capabilities %+v", d.Greeting, d.Methods, d.Capabilities)
			}
			if tt.security == SecuritySTARTTLS && d.Capabilities.STLS {
				t.Errorf("capabilities are those from before STLS")
			}
			if !errors.Is(d.LoginProblem, tt.login) && d.LoginProblem != tt.login {
				t.Errorf("LoginProblem = %v, want %v", d.LoginProblem, tt.login)
			}
		})
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, v := range r.verbs { // (a TLS ClientHello on the plain port arrives as garbage verbs)
		if v == "USER" || v == "PASS" || v == "APOP" || v == "AUTH" {
			t.Errorf("Detect sent %s", v)
		}
	}
	if !slices.Contains(r.verbs, "CAPA") {
		t.Errorf("the server saw no CAPA: the recorder does not work")
	}
}

// TestDetectNothing: when no candidate answers, Detect says so for each and Explain words it.
func TestDetectNothing(t *testing.T) {
	p := freePort(t)
	a := New("work", "127.0.0.1", "dana")
	d, err := Detect(context.Background(), a, DetectOptions{Candidates: []Candidate{{p, SecurityTLS}, {p, SecuritySTARTTLS}}})
	var de *DetectError
	if !errors.As(err, &de) || len(de.Attempts) != 2 || len(d.Attempts) != 2 || d.Account.Port != a.Port {
		t.Fatalf("Detect = %+v, %v; want a DetectError with two attempts", d, err)
	}
	what, remedy := Explain(err, "work")
	want := "No POP3 server answered on 127.0.0.1 (port " + strconv.Itoa(p) + " with TLS: refused; port " + strconv.Itoa(p) + " with STARTTLS: refused)"
	if what != want || !strings.Contains(remedy, "account settings") {
		t.Errorf("Explain = %q / %q, want %q", what, remedy, want)
	}
}

// TestDetectBounded: a port that accepts and never speaks costs each attempt its timeout, no
// more, and cancelling the context ends Detect at once.
func TestDetectBounded(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var held []net.Conn
	t.Cleanup(func() {
		l.Close()
		mu.Lock()
		for _, c := range held {
			c.Close()
		}
		mu.Unlock()
	})
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			held = append(held, c)
			mu.Unlock()
		}
	}()
	port := l.Addr().(*net.TCPAddr).Port
	cands := []Candidate{{port, SecurityTLS}, {port, SecuritySTARTTLS}}
	a := New("work", "127.0.0.1", "dana")

	start := time.Now()
	_, err = Detect(context.Background(), a, DetectOptions{Candidates: cands, Timeout: 400 * time.Millisecond})
	if took := time.Since(start); !errors.As(err, new(*DetectError)) || took > 2*time.Second {
		t.Fatalf("Detect on a silent port = %v after %v, want a DetectError within 2 s", err, took)
	}
	if what, _ := Explain(err, "work"); !strings.Contains(what, "with TLS: no answer; port "+strconv.Itoa(port)+" with STARTTLS: no answer") {
		t.Errorf("Explain = %q", what)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start = time.Now()
	_, err = Detect(ctx, a, DetectOptions{Candidates: cands, Timeout: time.Minute})
	if took := time.Since(start); !errors.Is(err, context.DeadlineExceeded) || took > 2*time.Second {
		t.Fatalf("Detect with a context ending = %v after %v", err, took)
	}
}

func TestDefaultCandidates(t *testing.T) {
	want := []Candidate{{995, SecurityTLS}, {110, SecuritySTARTTLS}}
	if !slices.Equal(DefaultCandidates, want) {
		t.Errorf("DefaultCandidates = %v, want %v", DefaultCandidates, want)
	}
	if s := DefaultCandidates[1].String(); s != "port 110 with STARTTLS" {
		t.Errorf("String() = %q", s)
	}
}

// TestDetectDovecot: against a real Dovecot, TLS asked on its plain port is recovered as STARTTLS,
// with its CA file trusted, and its sign-in methods reported.
func TestDetectDovecot(t *testing.T) {
	r := startDovecot(t, nil)
	_, plain, _ := strings.Cut(r.srv.POP3Addr, ":")
	p, _ := strconv.Atoi(plain)
	d, err := Detect(context.Background(), r.acct, DetectOptions{Candidates: []Candidate{{p, SecurityTLS}}})
	if err != nil {
		t.Fatalf("Detect: %v", err)
	}
	if d.Account.Port != p || d.Account.Security != SecuritySTARTTLS || d.Certificate != nil || d.LoginProblem != nil ||
		!slices.Contains(d.Methods, "PLAIN") || !strings.Contains(d.Greeting, "Dovecot") {
		t.Fatalf("Detect = %+v", d)
	}
	var we *pop.WrongSecurityError
	if !errors.As(d.Attempts[0].Err, &we) || we.Want != pop.SecuritySTARTTLS {
		t.Errorf("first attempt: %v, want a WrongSecurityError", d.Attempts[0].Err)
	}
}
