package pop

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
)

// CertFingerprint returns the SHA-256 of a DER certificate as upper-case hex pairs joined by colons,
// the form Options.Fingerprint accepts and CertificateError reports.
func CertFingerprint(der []byte) string {
	sum := sha256.Sum256(der)
	h := strings.ToUpper(hex.EncodeToString(sum[:]))
	var b strings.Builder
	for i := 0; i < len(h); i += 2 {
		if i > 0 {
			b.WriteByte(':')
		}
		b.WriteString(h[i : i+2])
	}
	return b.String()
}

// ParseFingerprint turns a SHA-256 fingerprint in hex (colons, spaces and case ignored, an optional
// "sha256:" prefix) into its 32 bytes.
func ParseFingerprint(s string) ([]byte, error) {
	t := strings.ToLower(strings.TrimSpace(s))
	t = strings.TrimPrefix(t, "sha256:")
	t = strings.NewReplacer(":", "", " ", "", "-", "").Replace(t)
	b, err := hex.DecodeString(t)
	if err != nil || len(b) != sha256.Size {
		return nil, fmt.Errorf("pop: fingerprint %q is not a SHA-256 in hex (64 hex digits)", s)
	}
	return b, nil
}

// tlsConfig builds the client TLS configuration for opts.
func tlsConfig(opts *Options) (*tls.Config, error) {
	var cfg *tls.Config
	if opts.TLSConfig != nil {
		cfg = opts.TLSConfig.Clone()
	} else {
		cfg = &tls.Config{}
	}
	if cfg.MinVersion < tls.VersionTLS12 {
		cfg.MinVersion = tls.VersionTLS12
	}
	if cfg.ServerName == "" {
		cfg.ServerName = opts.ServerName
	}
	if opts.CAFile != "" {
		pem, err := os.ReadFile(opts.CAFile)
		if err != nil {
			return nil, fmt.Errorf("pop: reading CA file: %w", err)
		}
		pool := cfg.RootCAs
		if pool == nil {
			if pool, err = x509.SystemCertPool(); err != nil || pool == nil {
				pool = x509.NewCertPool()
			}
		}
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("pop: CA file %s holds no PEM certificate", opts.CAFile)
		}
		cfg.RootCAs = pool
	}
	if opts.Fingerprint != "" {
		want, err := ParseFingerprint(opts.Fingerprint)
		if err != nil {
			return nil, err
		}
		// The pin replaces chain and name verification, so a self-signed certificate works.
		cfg.InsecureSkipVerify = true
		cfg.VerifyConnection = func(cs tls.ConnectionState) error {
			if len(cs.PeerCertificates) == 0 {
				return errors.New("no certificate")
			}
			got := sha256.Sum256(cs.PeerCertificates[0].Raw)
			if !bytes.Equal(got[:], want) {
				return &pinError{got: CertFingerprint(cs.PeerCertificates[0].Raw), subject: CleanText(cs.PeerCertificates[0].Subject.String())}
			}
			return nil
		}
	}
	return cfg, nil
}

type pinError struct{ got, subject string }

func (e *pinError) Error() string { return "the certificate does not match the pinned fingerprint" }

// handshake runs a TLS client handshake over conn; conn is closed on failure.
func handshake(ctx context.Context, conn net.Conn, opts *Options) (*tls.Conn, error) {
	cfg, err := tlsConfig(opts)
	if err != nil {
		conn.Close()
		return nil, err
	}
	tc := tls.Client(conn, cfg)
	if err := tc.HandshakeContext(ctx); err != nil {
		conn.Close()
		return nil, certError(cfg.ServerName, err)
	}
	return tc, nil
}

// certError gives a certificate failure its fingerprint; other errors are wrapped as handshake errors.
func certError(host string, err error) error {
	var ve *tls.CertificateVerificationError
	if errors.As(err, &ve) && len(ve.UnverifiedCertificates) > 0 {
		leaf := ve.UnverifiedCertificates[0]
		return &CertificateError{Host: host, Subject: CleanText(leaf.Subject.String()), Fingerprint: CertFingerprint(leaf.Raw), Err: ve.Err}
	}
	var pe *pinError
	if errors.As(err, &pe) {
		return &CertificateError{Host: host, Subject: pe.subject, Fingerprint: pe.got, Err: pe}
	}
	return fmt.Errorf("pop: TLS handshake with %s: %w", host, err)
}
