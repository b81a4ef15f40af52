package pop_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/poplar-mail/poplar/pop"
	"github.com/poplar-mail/poplar/pop/popserver"
)

// testCert is a certificate made for one test, with its key.
type testCert struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
}

// makeCert makes a certificate from tmpl, signed by parent (self-signed when parent is nil).
func makeCert(t *testing.T, tmpl *x509.Certificate, parent *testCert) *testCert {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl.SerialNumber = big.NewInt(time.Now().UnixNano())
	signer, issuer := key, tmpl
	if parent != nil {
		signer, issuer = parent.key, parent.cert
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, issuer, &key.PublicKey, signer)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return &testCert{cert: c, key: key}
}

// serveCert starts an implicit-TLS popserver presenting chain (leaf first) and returns its address.
func serveCert(t *testing.T, chain ...*testCert) string {
	t.Helper()
	tc := tls.Certificate{PrivateKey: chain[0].key}
	for _, c := range chain {
		tc.Certificate = append(tc.Certificate, c.cert.Raw)
	}
	srv := popserver.New(popserver.Config{TLSConfig: &tls.Config{Certificates: []tls.Certificate{tc}}, Password: popserver.Users(nil)})
	t.Cleanup(func() { srv.Close() })
	addr, err := srv.Listen("127.0.0.1:0", true)
	if err != nil {
		t.Fatal(err)
	}
	return addr.String()
}

// TestCertificateDetails: an untrusted certificate is reported with what a user needs to decide
// (subject, issuer, validity, names, fingerprint, the reason), with server text cleaned, and with
// the certificate itself so that exactly what was shown can be pinned.
func TestCertificateDetails(t *testing.T) {
	now := time.Now()
	leafTmpl := func(cn string, names ...string) *x509.Certificate {
		return &x509.Certificate{Subject: pkix.Name{CommonName: cn, Organization: []string{"Example"}}, DNSNames: names,
			NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour), KeyUsage: x509.KeyUsageDigitalSignature,
			ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	}
	ca := makeCert(t, &x509.Certificate{Subject: pkix.Name{CommonName: "Example CA"}, NotBefore: now.Add(-time.Hour), NotAfter: now.Add(48 * time.Hour),
		KeyUsage: x509.KeyUsageCertSign, BasicConstraintsValid: true, IsCA: true}, nil)
	expired := leafTmpl("localhost", "localhost")
	expired.NotBefore, expired.NotAfter = now.Add(-48*time.Hour), now.Add(-24*time.Hour)
	future := leafTmpl("localhost", "localhost")
	future.NotBefore, future.NotAfter = now.Add(24*time.Hour), now.Add(48*time.Hour)
	hostile := leafTmpl("evil\x1b[31m\u202eName<b>bold</b>", "localhost", "x\x1b[2Jy.example")

	tests := []struct {
		name       string
		leaf       *testCert
		parent     *testCert // also sent by the server, and trusted when trustCA
		trustCA    bool
		want       pop.CertReason
		selfSigned bool
		subject    string
	}{
		{"self-signed", makeCert(t, leafTmpl("localhost", "localhost"), nil), nil, false, pop.CertSelfSigned, true, "CN=localhost,O=Example"},
		{"unknown authority", makeCert(t, leafTmpl("localhost", "localhost"), ca), ca, false, pop.CertUnknownAuthority, false, "CN=localhost,O=Example"},
		{"wrong host", makeCert(t, leafTmpl("other.example", "other.example", "www.other.example"), ca), ca, true, pop.CertWrongHost, false, "CN=other.example,O=Example"},
		{"expired", makeCert(t, expired, ca), ca, true, pop.CertExpired, false, "CN=localhost,O=Example"},
		{"not yet valid", makeCert(t, future, ca), ca, true, pop.CertNotYetValid, false, "CN=localhost,O=Example"},
		{"hostile subject", makeCert(t, hostile, nil), nil, false, pop.CertSelfSigned, true, `CN=evilName\<b\>bold\</b\>,O=Example`}, // escaped by pkix, so no tag
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			chain := []*testCert{tt.leaf}
			if tt.parent != nil {
				chain = append(chain, tt.parent)
			}
			addr := serveCert(t, chain...)
			o := pop.Options{ServerName: "localhost", Timeout: 5 * time.Second}
			if tt.trustCA {
				pool := x509.NewCertPool()
				pool.AddCert(ca.cert)
				o.TLSConfig = &tls.Config{RootCAs: pool}
			}
			_, err := pop.Dial(context.Background(), addr, o)
			var ce *pop.CertificateError
			if !errors.As(err, &ce) {
				t.Fatalf("Dial = %v, want a *CertificateError", err)
			}
			leaf := tt.leaf.cert
			if ce.Reason != tt.want || ce.SelfSigned != tt.selfSigned || ce.Host != "localhost" {
				t.Errorf("Reason, SelfSigned, Host = %v, %v, %q; want %v, %v, localhost", ce.Reason, ce.SelfSigned, ce.Host, tt.want, tt.selfSigned)
			}
			if !strings.EqualFold(ce.Subject, tt.subject) {
				t.Errorf("Subject = %q, want %q", ce.Subject, tt.subject)
			}
			if want := pop.CleanText(leaf.Issuer.String()); ce.Issuer != want || ce.Issuer == "" {
				t.Errorf("Issuer = %q, want %q", ce.Issuer, want)
			}
			if !ce.NotBefore.Equal(leaf.NotBefore) || !ce.NotAfter.Equal(leaf.NotAfter) {
				t.Errorf("validity %v - %v, want %v - %v", ce.NotBefore, ce.NotAfter, leaf.NotBefore, leaf.NotAfter)
			}
			var names []string
			for _, n := range leaf.DNSNames {
				names = append(names, pop.CleanText(n))
			}
			if !slices.Equal(ce.Names, names) {
				t.Errorf("Names = %q, want %q", ce.Names, names)
			}
			if ce.Leaf == nil || !bytes.Equal(ce.Leaf.Raw, leaf.Raw) || ce.Fingerprint != pop.CertFingerprint(leaf.Raw) {
				t.Errorf("Leaf and Fingerprint are not those of the certificate sent")
			}
			for _, s := range append([]string{ce.Subject, ce.Issuer, ce.Error()}, ce.Names...) {
				if s != pop.CleanText(s) || strings.ContainsAny(s, "\x1b\u202e") {
					t.Errorf("server text not cleaned: %q", s)
				}
			}
			if errors.Is(err, pop.ErrPinChanged) {
				t.Errorf("an untrusted certificate matches ErrPinChanged")
			}
			// Pinning what was shown connects.
			o.Fingerprint = ce.Fingerprint
			c, err := pop.Dial(context.Background(), addr, o)
			if err != nil {
				t.Fatalf("Dial with the shown certificate pinned: %v", err)
			}
			c.Close()
		})
	}
}

// TestCAFile: a CA file vouches for the servers it issued, for their names and dates only; a
// certificate it did not issue is checked against the system roots too, so it fails as unknown;
// with a pin, it tells whether a changed certificate would verify.
func TestCAFile(t *testing.T) {
	now := time.Now()
	tmpl := func(name string, from, until time.Duration) *x509.Certificate {
		return &x509.Certificate{Subject: pkix.Name{CommonName: name}, DNSNames: []string{name}, NotBefore: now.Add(from), NotAfter: now.Add(until),
			KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	}
	newCA := func(cn string) *testCert {
		return makeCert(t, &x509.Certificate{Subject: pkix.Name{CommonName: cn}, NotBefore: now.Add(-time.Hour), NotAfter: now.Add(48 * time.Hour),
			KeyUsage: x509.KeyUsageCertSign, BasicConstraintsValid: true, IsCA: true}, nil)
	}
	ca, other := newCA("File CA"), newCA("Other CA")
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.cert.Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		leaf     *testCert
		issuer   *testCert
		pin      bool
		want     pop.CertReason // -1: connects
		verifies bool
	}{
		{"issued by the file", makeCert(t, tmpl("localhost", -time.Hour, time.Hour), ca), ca, false, -1, false},
		{"wrong host", makeCert(t, tmpl("other.example", -time.Hour, time.Hour), ca), ca, false, pop.CertWrongHost, false},
		{"expired", makeCert(t, tmpl("localhost", -2*time.Hour, -time.Hour), ca), ca, false, pop.CertExpired, false},
		{"another issuer", makeCert(t, tmpl("localhost", -time.Hour, time.Hour), other), other, false, pop.CertUnknownAuthority, false},
		{"pin changed, verifies", makeCert(t, tmpl("localhost", -time.Hour, time.Hour), ca), ca, true, pop.CertPinChanged, true},
		{"pin changed, another issuer", makeCert(t, tmpl("localhost", -time.Hour, time.Hour), other), other, true, pop.CertPinChanged, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := pop.Options{ServerName: "localhost", CAFile: caFile, Timeout: 5 * time.Second}
			if tt.pin {
				o.Fingerprint = pop.CertFingerprint(other.cert.Raw) // never the leaf's
			}
			c, err := pop.Dial(context.Background(), serveCert(t, tt.leaf, tt.issuer), o)
			if tt.want < 0 {
				if err != nil {
					t.Fatalf("Dial = %v, want a connection", err)
				}
				c.Close()
				return
			}
			var ce *pop.CertificateError
			if !errors.As(err, &ce) || ce.Reason != tt.want || ce.Verifies != tt.verifies {
				t.Fatalf("Dial = %v (%#v), want a CertificateError with %v, Verifies %v", err, ce, tt.want, tt.verifies)
			}
		})
	}
}

// TestPinChanged: a pinned certificate that changed is its own error, with the pinned and the new
// fingerprints and the new certificate's details, and says whether the new one would verify
// without the pin.
func TestPinChanged(t *testing.T) {
	r := startRig(t, popserver.Config{}, nil)
	old, err := popserver.GenerateCert()
	if err != nil {
		t.Fatal(err)
	}
	for _, trusted := range []bool{false, true} {
		o := pop.Options{Fingerprint: strings.ToLower(pop.CertFingerprint(old.DER)), Timeout: 5 * time.Second}
		if trusted {
			o.TLSConfig = &tls.Config{RootCAs: r.cert.Pool()}
		}
		for _, mode := range []struct {
			sec  pop.Security
			addr string
		}{{pop.SecurityTLS, r.tls}, {pop.SecuritySTARTTLS, r.sw}} {
			o.Security = mode.sec
			_, err := pop.Dial(context.Background(), mode.addr, o)
			var ce *pop.CertificateError
			if !errors.As(err, &ce) || !errors.Is(err, pop.ErrPinChanged) || ce.Reason != pop.CertPinChanged {
				t.Fatalf("%v, trusted %v: Dial = %v, want a CertificateError with CertPinChanged", mode.sec, trusted, err)
			}
			if ce.Pinned != pop.CertFingerprint(old.DER) || ce.Fingerprint != pop.CertFingerprint(r.cert.DER) ||
				!bytes.Equal(ce.Leaf.Raw, r.cert.DER) || !strings.Contains(ce.Subject, "localhost") || !ce.SelfSigned {
				t.Errorf("%v: Pinned %s, Fingerprint %s, Subject %q; want %s, %s, localhost", mode.sec, ce.Pinned, ce.Fingerprint, ce.Subject,
					pop.CertFingerprint(old.DER), pop.CertFingerprint(r.cert.DER))
			}
			if ce.Verifies != trusted {
				t.Errorf("%v: Verifies = %v, want %v", mode.sec, ce.Verifies, trusted)
			}
			if !strings.Contains(err.Error(), "changed") {
				t.Errorf("Error() = %q", err)
			}
		}
	}
}

// TestWrongSecurity: TLS against a plain POP3 port, and STARTTLS or none against an implicit-TLS
// port, are named as such, quickly, before anything is sent.
func TestWrongSecurity(t *testing.T) {
	r := startRig(t, popserver.Config{}, nil)
	tests := []struct {
		name  string
		addr  string
		sec   pop.Security
		want  pop.Security
		bound time.Duration
	}{
		{"tls on the plain port", r.sw, pop.SecurityTLS, pop.SecuritySTARTTLS, time.Second},
		{"starttls on the tls port", r.tls, pop.SecuritySTARTTLS, pop.SecurityTLS, 4 * time.Second},
		{"none on the tls port", r.tls, pop.SecurityNone, pop.SecurityTLS, 4 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start := time.Now()
			_, err := pop.Dial(context.Background(), tt.addr, pop.Options{Security: tt.sec, Timeout: 30 * time.Second})
			took := time.Since(start)
			var we *pop.WrongSecurityError
			if !errors.As(err, &we) || we.Want != tt.want || we.Tried != tt.sec || we.Addr != tt.addr {
				t.Fatalf("Dial %v = %v, want a WrongSecurityError wanting %v", tt.sec, err, tt.want)
			}
			if took > tt.bound {
				t.Errorf("took %v, want at most %v", took, tt.bound)
			}
		})
	}
}

// fakeServer listens on loopback and runs handle on each connection (n counts them from 1), which
// it closes after; it returns the address and how many connections came.
func fakeServer(t *testing.T, handle func(c net.Conn, n int)) (string, *atomic.Int32) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var count atomic.Int32
	var wg sync.WaitGroup
	t.Cleanup(func() {
		l.Close()
		wg.Wait()
	})
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			n := int(count.Add(1))
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				c.SetDeadline(time.Now().Add(10 * time.Second))
				handle(c, n)
			}()
		}
	}()
	return l.Addr().String(), &count
}

// TestSlowGreetingIsNotTLS: a plain server that greets late is probed, answers the probe's
// ClientHello with text, and the session on the first connection goes on undisturbed.
func TestSlowGreetingIsNotTLS(t *testing.T) {
	addr, conns := fakeServer(t, func(c net.Conn, n int) {
		if n > 1 { // the probe
			c.Write([]byte("+OK probe\r\n"))
			return
		}
		time.Sleep(2500 * time.Millisecond)
		c.Write([]byte("+OK slow but fine\r\n"))
		buf := make([]byte, 100)
		for {
			k, err := c.Read(buf)
			if err != nil {
				return
			}
			if bytes.HasPrefix(buf[:k], []byte("CAPA")) {
				c.Write([]byte("+OK\r\nUSER\r\n.\r\n"))
			}
		}
	})
	c, err := pop.Dial(context.Background(), addr, pop.Options{Security: pop.SecurityNone, Timeout: 10 * time.Second})
	if err != nil {
		t.Fatalf("Dial a slow plain server: %v", err)
	}
	defer c.Close()
	if c.Greeting() != "slow but fine" || !c.Capabilities().User {
		t.Errorf("Greeting %q, capabilities %+v", c.Greeting(), c.Capabilities())
	}
	if n := conns.Load(); n != 2 {
		t.Errorf("%d connections, want 2 (the session and the TLS probe)", n)
	}
}

// TestTLSAgainstOtherProtocol: a TLS handshake answered by something neither TLS nor POP3 is a
// protocol error, not a certificate or handshake mystery.
func TestTLSAgainstOtherProtocol(t *testing.T) {
	addr, _ := fakeServer(t, func(c net.Conn, _ int) { c.Write([]byte("220 smtp.example ESMTP\r\n")) })
	_, err := pop.Dial(context.Background(), addr, pop.Options{Timeout: 5 * time.Second})
	if !errors.Is(err, pop.ErrProtocol) || errors.As(err, new(*pop.WrongSecurityError)) {
		t.Fatalf("Dial TLS to an SMTP port = %v, want ErrProtocol", err)
	}
}

// TestCheckAuth: what the server offers is reported without sending anything.
func TestCheckAuth(t *testing.T) {
	r := startRig(t, popserver.Config{DisableAPOP: true}, nil)
	c, err := pop.Dial(context.Background(), r.tls, r.opts())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if got := c.Offered(); !slices.Contains(got, "USER") || !slices.Contains(got, "PLAIN") || slices.Contains(got, "APOP") {
		t.Errorf("Offered() = %q", got)
	}
	tests := []struct {
		cr   pop.Credentials
		want error
	}{
		{pop.Credentials{Method: pop.AuthAuto, Password: "x"}, nil},
		{pop.Credentials{Method: pop.AuthUser, Password: "x"}, nil},
		{pop.Credentials{Method: pop.AuthPlain, Password: "x"}, nil},
		{pop.Credentials{Method: pop.AuthCRAMMD5, Password: "x"}, pop.ErrMethodRefused},
		{pop.Credentials{Method: pop.AuthAPOP, Password: "x"}, pop.ErrMethodRefused},
		{pop.Credentials{Method: pop.AuthAuto, Token: "t"}, pop.ErrNoMechanism},
	}
	for _, tt := range tests {
		if err := c.CheckAuth(tt.cr); !errors.Is(err, tt.want) && err != tt.want {
			t.Errorf("CheckAuth(%v) = %v, want %v", tt.cr.Method, err, tt.want)
		}
	}
	p, err := pop.Dial(context.Background(), r.sw, pop.Options{Security: pop.SecurityNone, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if err := p.CheckAuth(pop.Credentials{Password: "x"}); !errors.Is(err, pop.ErrInsecureAuth) {
		t.Errorf("CheckAuth on a plain connection = %v, want ErrInsecureAuth", err)
	}
}

func TestCertReasonString(t *testing.T) {
	for r, want := range map[pop.CertReason]string{pop.CertSelfSigned: "self-signed", pop.CertPinChanged: "pin changed", pop.CertReason(99): "CertReason(99)"} {
		if got := r.String(); got != want {
			t.Errorf("CertReason(%d).String() = %q, want %q", int(r), got, want)
		}
	}
}
