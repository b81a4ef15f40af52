package account

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/poplar-mail/poplar/pop"
	"github.com/poplar-mail/poplar/pop/popserver"
)

// TestTrustCertificate walks what a user does with a self-signed server, over TLS and STARTTLS:
// the first connection fails with the certificate's details; trusting it pins exactly that
// certificate and the connection works (and a wrong password is told apart); when the server
// comes back with another certificate, the connection fails with the pin-changed error, which
// Explain words as a possible interception.
func TestTrustCertificate(t *testing.T) {
	ctx := context.Background()
	for _, implicit := range []bool{true, false} {
		name := map[bool]string{true: "tls", false: "starttls"}[implicit]
		t.Run(name, func(t *testing.T) {
			cfg := popserver.Config{Password: popserver.Users(map[string]string{"dana": "s3cret pw"})}
			srv, err := popserver.Start(cfg, implicit, []byte("Subject: hi\n\nhello\n"))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { srv.Close() })
			a := New("work", srv.Host, "dana")
			a.Port, a.Security = srv.Port, name

			_, _, err = TestConnection(ctx, a, "s3cret pw")
			var ce *pop.CertificateError
			if !errors.As(err, &ce) {
				t.Fatalf("first connection = %v, want a *pop.CertificateError", err)
			}
			now := time.Now()
			if ce.Reason != pop.CertSelfSigned || !ce.SelfSigned || ce.Host != srv.Host ||
				ce.Subject != "CN=localhost,O=Poplar test server" || ce.Issuer != ce.Subject ||
				!slices.Equal(ce.Names, []string{"localhost", "127.0.0.1"}) ||
				!ce.NotBefore.Before(now) || !ce.NotAfter.After(now) ||
				ce.Fingerprint != pop.CertFingerprint(srv.Cert.DER) || ce.Leaf == nil || !bytes.Equal(ce.Leaf.Raw, srv.Cert.DER) {
				t.Fatalf("certificate details: %+v", ce)
			}
			if what, remedy := Explain(err, "work"); !strings.Contains(what, "self-signed") || !strings.Contains(remedy, ce.Fingerprint) {
				t.Errorf("Explain = %q / %q", what, remedy)
			}
			if IsAuthFailure(err) || errors.Is(err, pop.ErrPinChanged) {
				t.Errorf("an untrusted certificate is an auth failure or a changed pin")
			}

			if err := TrustCertificate(&a, ce); err != nil || a.Fingerprint != ce.Fingerprint {
				t.Fatalf("TrustCertificate = %v, Fingerprint %q", err, a.Fingerprint)
			}
			if err := a.Validate(); err != nil {
				t.Fatalf("the trusted account does not validate: %v", err)
			}
			if _, _, err := TestConnection(ctx, a, "s3cret pw"); err != nil {
				t.Fatalf("after trusting the certificate: %v", err)
			}
			_, _, err = TestConnection(ctx, a, "wrong")
			if !IsAuthFailure(err) {
				t.Errorf("wrong password: IsAuthFailure(%v) = false", err)
			}

			// The server comes back on the same port with another certificate.
			srv.Close()
			cert2, err := popserver.GenerateCert()
			if err != nil {
				t.Fatal(err)
			}
			cfg.TLSConfig = cert2.ServerConfig()
			srv2 := popserver.New(cfg)
			t.Cleanup(func() { srv2.Close() })
			if _, err := srv2.Listen(srv.Addr, implicit); err != nil {
				t.Fatal(err)
			}
			_, _, err = TestConnection(ctx, a, "s3cret pw")
			var changed *pop.CertificateError
			if !errors.Is(err, pop.ErrPinChanged) || !errors.As(err, &changed) || changed.Reason != pop.CertPinChanged {
				t.Fatalf("after the certificate changed: %v, want the pin-changed error", err)
			}
			if changed.Pinned != ce.Fingerprint || changed.Fingerprint != pop.CertFingerprint(cert2.DER) || changed.Verifies {
				t.Errorf("pin changed: Pinned %s, now %s, Verifies %v; want %s, %s, false", changed.Pinned, changed.Fingerprint, changed.Verifies,
					ce.Fingerprint, pop.CertFingerprint(cert2.DER))
			}
			what, remedy := Explain(err, "work")
			if !strings.Contains(what, "changed since you trusted it") || !strings.Contains(remedy, "intercepting") ||
				!strings.Contains(remedy, changed.Fingerprint) {
				t.Errorf("Explain = %q / %q", what, remedy)
			}
			if IsAuthFailure(err) || retryable(err) {
				t.Errorf("a changed certificate is an auth failure or retryable")
			}
		})
	}
}

// TestTrustCertificateRefuses: nothing is pinned from an error that is not a usable certificate
// or is about another server.
func TestTrustCertificateRefuses(t *testing.T) {
	fp := strings.Repeat("AB:", 31) + "AB"
	tests := []struct {
		name string
		ce   *pop.CertificateError
	}{
		{"nil", nil},
		{"no fingerprint", &pop.CertificateError{Host: "pop.example.org"}},
		{"bad fingerprint", &pop.CertificateError{Host: "pop.example.org", Fingerprint: "AB:CD"}},
		{"other host", &pop.CertificateError{Host: "evil.example", Fingerprint: fp}},
	}
	for _, tt := range tests {
		a := New("work", "pop.example.org", "dana")
		if err := TrustCertificate(&a, tt.ce); err == nil || a.Fingerprint != "" {
			t.Errorf("%s: TrustCertificate = %v, Fingerprint %q; want an error and no pin", tt.name, err, a.Fingerprint)
		}
	}
	a := New("work", "POP.example.org", "dana")
	if err := TrustCertificate(&a, &pop.CertificateError{Host: "pop.example.org", Fingerprint: fp}); err != nil || a.Fingerprint != fp {
		t.Errorf("TrustCertificate = %v, Fingerprint %q", err, a.Fingerprint)
	}
}
