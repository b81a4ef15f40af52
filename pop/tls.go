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
	"time"
)

// CertFingerprint returns the SHA-256 of a DER certificate as upper-case hex pairs joined by colons,
// the form Options.Fingerprint accepts and CertificateError reports.
func CertFingerprint(der []byte) string {
	sum := sha256.Sum256(der)
	return formatFingerprint(sum[:])
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

// TLSConfig returns the client TLS configuration Poplar uses for any mail server it talks to: TLS
// 1.2 or newer, the system's roots plus the PEM certificates in caFile (when given), and with a
// fingerprint (SHA-256, as ParseFingerprint reads it) exactly that certificate instead of chain
// and name checks. A failed handshake with it gives HandshakeError's details. The SMTP sender
// (package account) shares it, so both servers of an account are trusted by one rule.
func TLSConfig(serverName, caFile, fingerprint string) (*tls.Config, error) {
	return tlsConfig(&Options{ServerName: serverName, CAFile: caFile, Fingerprint: fingerprint})
}

// HandshakeError describes a failed TLS handshake made with TLSConfig: a *CertificateError with
// the certificate's details (CertPinChanged for a pin that does not match) when the certificate
// was the problem, else the error wrapped with the host.
func HandshakeError(host string, err error) error { return certError(host, err) }

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
	// roots vouch for the server; with system set, the system roots are tried when they do not.
	roots, system := cfg.RootCAs, cfg.RootCAs == nil
	if opts.CAFile != "" {
		pem, err := os.ReadFile(opts.CAFile)
		if err != nil {
			return nil, fmt.Errorf("pop: reading CA file: %w", err)
		}
		if roots == nil {
			roots = x509.NewCertPool()
		} else {
			roots = roots.Clone()
		}
		if !roots.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("pop: CA file %s holds no PEM certificate", opts.CAFile)
		}
		cfg.RootCAs = roots
		if system && opts.Fingerprint == "" && cfg.VerifyConnection == nil && !cfg.InsecureSkipVerify {
			// The CA file is tried first and the system roots only when it does not vouch for
			// the server: reading them (hundreds of files) costs more than the rest of a check.
			name := cfg.ServerName
			cfg.InsecureSkipVerify = true
			cfg.VerifyConnection = func(cs tls.ConnectionState) error {
				if err := verifyChain(cs.PeerCertificates, name, roots, true); err != nil {
					return &tls.CertificateVerificationError{UnverifiedCertificates: cs.PeerCertificates, Err: err}
				}
				return nil
			}
		}
	}
	if opts.Fingerprint != "" {
		want, err := ParseFingerprint(opts.Fingerprint)
		if err != nil {
			return nil, err
		}
		name := cfg.ServerName
		// The pin replaces chain and name verification, so a self-signed certificate works.
		cfg.InsecureSkipVerify = true
		cfg.VerifyConnection = func(cs tls.ConnectionState) error {
			if len(cs.PeerCertificates) == 0 {
				return errors.New("no certificate")
			}
			leaf := cs.PeerCertificates[0]
			got := sha256.Sum256(leaf.Raw)
			if bytes.Equal(got[:], want) {
				return nil
			}
			verr := verifyChain(cs.PeerCertificates, name, roots, system)
			return &pinError{leaf: leaf, pinned: formatFingerprint(want), verifies: verr == nil}
		}
	}
	return cfg, nil
}

// verifyChain verifies the server's chain certs (leaf first) for name against roots (nil: the
// system roots) and, when those do not know its issuer and system is set, against the system
// roots too.
func verifyChain(certs []*x509.Certificate, name string, roots *x509.CertPool, system bool) error {
	if len(certs) == 0 {
		return errors.New("no certificate")
	}
	if name == "" {
		return errors.New("no server name to verify the certificate against")
	}
	inter := x509.NewCertPool()
	for _, c := range certs[1:] {
		inter.AddCert(c)
	}
	vo := x509.VerifyOptions{Roots: roots, Intermediates: inter, DNSName: name}
	_, err := certs[0].Verify(vo)
	var ua x509.UnknownAuthorityError
	if err != nil && roots != nil && system && errors.As(err, &ua) {
		vo.Roots = nil
		_, err = certs[0].Verify(vo)
	}
	return err
}

// pinError is what the pin check tells the handshake; certError turns it into a CertificateError.
type pinError struct {
	leaf     *x509.Certificate
	pinned   string
	verifies bool
}

func (e *pinError) Error() string { return "the certificate does not match the pinned fingerprint" }

// handshake runs a TLS client handshake over conn, within ctx and Options.Timeout; conn is
// closed on failure.
func handshake(ctx context.Context, conn net.Conn, opts *Options) (*tls.Conn, error) {
	cfg, err := tlsConfig(opts)
	if err != nil {
		conn.Close()
		return nil, err
	}
	_ = conn.SetDeadline(time.Now().Add(opts.timeout()))
	tc := tls.Client(conn, cfg)
	if err := tc.HandshakeContext(ctx); err != nil {
		conn.Close()
		return nil, certError(cfg.ServerName, err)
	}
	_ = conn.SetDeadline(time.Time{}) // the client's meter sets its own from here
	return tc, nil
}

// certError gives a certificate failure its details; other errors are wrapped as handshake errors.
func certError(host string, err error) error {
	var ve *tls.CertificateVerificationError
	if errors.As(err, &ve) && len(ve.UnverifiedCertificates) > 0 {
		return newCertificateError(host, ve.UnverifiedCertificates[0], ve.Err)
	}
	var pe *pinError
	if errors.As(err, &pe) {
		ce := newCertificateError(host, pe.leaf, ErrPinChanged)
		ce.Reason, ce.Pinned, ce.Verifies = CertPinChanged, pe.pinned, pe.verifies
		return ce
	}
	return fmt.Errorf("pop: TLS handshake with %s: %w", host, err)
}

// newCertificateError describes leaf, which failed verification with err.
func newCertificateError(host string, leaf *x509.Certificate, err error) *CertificateError {
	ce := &CertificateError{
		Host:        host,
		Subject:     CleanText(leaf.Subject.String()),
		Issuer:      CleanText(leaf.Issuer.String()),
		SelfSigned:  selfSigned(leaf),
		NotBefore:   leaf.NotBefore,
		NotAfter:    leaf.NotAfter,
		Fingerprint: CertFingerprint(leaf.Raw),
		Leaf:        leaf,
		Err:         err,
	}
	for _, n := range leaf.DNSNames {
		ce.Names = append(ce.Names, CleanText(n))
	}
	for _, ip := range leaf.IPAddresses {
		ce.Names = append(ce.Names, ip.String())
	}
	var he x509.HostnameError
	var ie x509.CertificateInvalidError
	var ue x509.UnknownAuthorityError
	switch {
	case errors.As(err, &he):
		ce.Reason = CertWrongHost
	case errors.As(err, &ie) && ie.Reason == x509.Expired:
		ce.Reason = CertExpired
		if time.Now().Before(leaf.NotBefore) {
			ce.Reason = CertNotYetValid
		}
	case errors.As(err, &ue) && ce.SelfSigned:
		ce.Reason = CertSelfSigned
	case errors.As(err, &ue):
		ce.Reason = CertUnknownAuthority
	}
	return ce
}

// selfSigned reports whether c names itself as its issuer and is signed by its own key (whether
// or not it is marked as a CA).
func selfSigned(c *x509.Certificate) bool {
	return bytes.Equal(c.RawIssuer, c.RawSubject) && c.CheckSignature(c.SignatureAlgorithm, c.RawTBSCertificate, c.Signature) == nil
}

// formatFingerprint formats a SHA-256 as CertFingerprint does.
func formatFingerprint(sum []byte) string {
	h := strings.ToUpper(hex.EncodeToString(sum))
	var b strings.Builder
	for i := 0; i < len(h); i += 2 {
		if i > 0 {
			b.WriteByte(':')
		}
		b.WriteString(h[i : i+2])
	}
	return b.String()
}

// looksLikePOP3 reports whether the first bytes a server sent are a POP3 status line.
func looksLikePOP3(b []byte) bool {
	return bytes.HasPrefix(b, []byte("+OK")) || bytes.HasPrefix(b, []byte("-ERR"))
}

// notTLS names a TLS handshake that was answered by something other than TLS: a POP3 greeting is
// a *WrongSecurityError (the port wants STARTTLS or nothing), anything else ErrProtocol. It
// returns nil for other handshake failures.
func notTLS(addr string, err error) error {
	var rhe tls.RecordHeaderError
	if !errors.As(err, &rhe) {
		return nil
	}
	if looksLikePOP3(rhe.RecordHeader[:]) {
		return &WrongSecurityError{Addr: addr, Tried: SecurityTLS, Want: SecuritySTARTTLS}
	}
	return fmt.Errorf("%w: %s answered the TLS handshake with %q, which is neither TLS nor POP3", ErrProtocol, addr, clip(string(rhe.RecordHeader[:])))
}

// tlsProbeDelay is how long Dial waits for the greeting on a plain connection (STARTTLS or none)
// before it checks, on a second connection, whether the port expects TLS instead.
const tlsProbeDelay = 2 * time.Second

// speaksTLS reports whether the server at addr answers a TLS ClientHello with a TLS record (a
// ServerHello or an alert). It sends nothing else, checks no certificate and is bounded by ctx
// and timeout; any failure to tell is false.
func speaksTLS(ctx context.Context, addr string, serverName string, timeout time.Duration) bool {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return false
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(timeout))
	rec := &firstBytes{Conn: conn}
	// Only the server's first record matters, so nothing is verified and nothing is sent after it.
	tc := tls.Client(rec, &tls.Config{ServerName: serverName, InsecureSkipVerify: true, MinVersion: tls.VersionTLS10})
	_ = tc.HandshakeContext(ctx)
	b := rec.head
	return len(b) >= 2 && (b[0] == 0x15 || b[0] == 0x16) && b[1] == 0x03 // alert or handshake, TLS 1.x
}

// firstBytes keeps the first bytes read from its connection.
type firstBytes struct {
	net.Conn
	head []byte
}

func (f *firstBytes) Read(p []byte) (int, error) {
	n, err := f.Conn.Read(p)
	if len(f.head) < 5 {
		f.head = append(f.head, p[:min(n, 5-len(f.head))]...)
	}
	return n, err
}
