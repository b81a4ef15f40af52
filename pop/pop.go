// Package pop is a POP3 client: RFC 1939 (POP3), RFC 2449 (CAPA and response codes), RFC 2595
// (STLS), RFC 3206 (SYS and AUTH response codes), RFC 5034 (SASL: PLAIN, LOGIN, CRAM-MD5,
// SCRAM-SHA-1, SCRAM-SHA-256, XOAUTH2, OAUTHBEARER), RFC 6856 (UTF8) and APOP.
//
// A Client wraps one connection. NewClient reads the greeting and does nothing else; Dial connects,
// negotiates TLS (implicit or STLS) and asks for the capabilities. Every command takes a context:
// cancelling it closes the connection.
//
// Every read is bounded in time and in size, so a broken or hostile server cannot hold a session
// for ever or fill memory:
//   - A status line (and the greeting, and each SASL challenge) must arrive whole within
//     Options.Timeout, however the server spreads its bytes. A multi-line reply (CAPA, LIST, UIDL,
//     RETR, TOP) must keep up Options.MinRate: in every Timeout at least MinRate×Timeout bytes.
//     A server that sends nothing for Timeout fails with ErrStalled, one that trickles with
//     ErrTooSlow. Time the caller spends between reads of a message stream does not count.
//     Every write has a deadline of Timeout.
//   - A status or list line longer than MaxLineLength is ErrLineTooLong. A CAPA reply may have at
//     most 1000 lines and 1 MiB (this includes the CAPA before STLS, which anyone on the path can
//     forge); a LIST or UIDL reply at most 64 lines more than the message count of STAT, which
//     List and UIDL issue first when this session has not; more is ErrReplyTooLarge. A RETR or
//     TOP reply larger than Options.MaxMessageSize is ErrMessageTooLarge. Message bodies are
//     streamed and may have lines of any length.
//
// Retr and Top return a stream of the message, dot-unstuffed and with CRLF line ends turned into LF
// (as mail is stored in a Maildir); it is valid until the next command. Batch sends many RETR, TOP
// and DELE commands ahead when the server offers PIPELINING and hands each reply to a callback in
// order; this is where a download's speed comes from.
//
// Auth sends UTF8 (RFC 6856) whenever the server offers it, so servers that rewrite messages with
// raw UTF-8 headers for older clients (Courier) send them as they are. AuthAuto logs in with the
// strongest method the server offers and falls back to the next when the server refuses a method
// (not the password); on an unencrypted connection it sends no password, CRAM-MD5 or APOP digest
// (all crackable from a capture) without Options.AllowInsecureAuth. A refused method is a
// *MethodRefusedError, never an authentication failure.
//
// A certificate that does not verify is a *CertificateError carrying what a user needs to decide
// whether to trust it (subject, issuer, validity, names, SHA-256 fingerprint, the reason, and the
// certificate itself); pinning its Fingerprint (Options.Fingerprint) trusts exactly that
// certificate, and a pinned server that presents another is a CertificateError with Reason
// CertPinChanged (errors.Is ErrPinChanged). Dial names a port that speaks the other security, TLS
// from the first byte or plain POP3, as a *WrongSecurityError within seconds rather than a
// timeout (see Dial for how).
//
// Text from the server that a user may see — the greeting, -ERR text, capabilities, the trace —
// is passed through CleanText, which removes control characters, terminal escapes, bidirectional
// overrides and markup.
//
// The package is written on the standard library alone: the POP3 clients available as modules either
// buffer whole messages, corrupt dot-stuffed lines or lack pipelining and SASL, and net/textproto's
// DotReader reads byte by byte, several times slower than the line scanner here.
package pop

import (
	"crypto/tls"
	"fmt"
	"io"
	"strings"
	"time"
)

// Security is how a connection is protected.
type Security int

const (
	// SecurityTLS is implicit TLS from the first byte (POP3S, port 995). It is the default.
	SecurityTLS Security = iota
	// SecuritySTARTTLS is a plain connection upgraded with STLS before any credential is sent (port 110).
	SecuritySTARTTLS
	// SecurityNone is an unencrypted connection; passwords, tokens, CRAM-MD5 and APOP are
	// refused on it unless Options.AllowInsecureAuth is set (SCRAM is allowed).
	SecurityNone
)

// String returns "tls", "starttls" or "none".
func (s Security) String() string {
	switch s {
	case SecurityTLS:
		return "tls"
	case SecuritySTARTTLS:
		return "starttls"
	case SecurityNone:
		return "none"
	}
	return fmt.Sprintf("Security(%d)", int(s))
}

// ParseSecurity parses "tls", "starttls" or "none" (case-insensitive; "ssl" and "pop3s" mean tls).
func ParseSecurity(s string) (Security, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "tls", "ssl", "pop3s", "":
		return SecurityTLS, nil
	case "starttls", "stls":
		return SecuritySTARTTLS, nil
	case "none", "plain":
		return SecurityNone, nil
	}
	return 0, fmt.Errorf("pop: unknown security %q (want tls, starttls or none)", s)
}

// DefaultPort is the usual port for the mode: 995 for TLS, 110 otherwise.
func (s Security) DefaultPort() int {
	if s == SecurityTLS {
		return 995
	}
	return 110
}

// DefaultTimeout is the network timeout when Options.Timeout is zero.
const DefaultTimeout = 60 * time.Second

// DefaultMinRate is the slowest a multi-line reply may arrive, in bytes per second, when
// Options.MinRate is zero: 1 KiB/s, 60 KiB in each default Timeout.
const DefaultMinRate = 1 << 10

// DefaultMaxMessageSize bounds a RETR or TOP reply when Options.MaxMessageSize is zero: 1 GiB.
const DefaultMaxMessageSize = 1 << 30

// MaxLineLength bounds a status line and each line of a CAPA, LIST or UIDL reply, in bytes.
const MaxLineLength = 64 << 10

// DefaultWindow is how many commands Batch keeps in flight when the server offers PIPELINING.
const DefaultWindow = 64

// Options configure a connection. The zero value is implicit TLS with system roots and a 60 s deadline.
type Options struct {
	Security Security
	// TLSConfig is an optional base configuration; it is cloned, and MinVersion is raised to TLS 1.2.
	TLSConfig *tls.Config
	// ServerName is the name the certificate must carry; the default is the host part of the address.
	ServerName string
	// CAFile is an optional PEM bundle of extra trusted certificates, added to the system roots
	// (which are read only when the bundle does not vouch for the server).
	CAFile string
	// Fingerprint pins the server's leaf certificate by its SHA-256 (hex, colons and case ignored).
	// When set it replaces chain verification: the connection is accepted exactly when the pin
	// matches; another certificate is a *CertificateError with Reason CertPinChanged.
	Fingerprint string
	// AllowInsecureAuth allows a cleartext password (USER/PASS, PLAIN, LOGIN), a token, or a
	// CRAM-MD5 or APOP digest (which a capture lets anyone crack offline) over an unencrypted
	// connection. Off by default.
	AllowInsecureAuth bool
	// Timeout is the network timeout; 0 means DefaultTimeout. A status line must arrive whole
	// within it, a multi-line reply must bring MinRate×Timeout bytes in each Timeout, and each
	// write must finish within it.
	Timeout time.Duration
	// MinRate is the slowest, in bytes per second, a multi-line reply (CAPA, LIST, UIDL, RETR,
	// TOP) may arrive; slower is ErrTooSlow. 0 means DefaultMinRate; a negative value only
	// requires some byte in each Timeout.
	MinRate int
	// MaxMessageSize bounds a RETR or TOP reply, in bytes as LIST counts them (with the line ends
	// as sent, CRLF, and without dot-stuffing); a larger one is ErrMessageTooLarge. 0 means
	// DefaultMaxMessageSize.
	MaxMessageSize int64
	// Window is how many pipelined commands Batch keeps in flight; 0 means DefaultWindow.
	Window int
	// Trace, when set, receives the protocol dialogue (commands and status lines, not message bodies).
	// Passwords, SASL responses and tokens are replaced by "<redacted>"; server lines pass
	// through CleanText.
	Trace io.Writer
}

func (o *Options) timeout() time.Duration {
	if o.Timeout <= 0 {
		return DefaultTimeout
	}
	return o.Timeout
}

// windowBytes is how many bytes a multi-line reply must bring in each Timeout.
func (o *Options) windowBytes() int64 {
	rate := o.MinRate
	if rate == 0 {
		rate = DefaultMinRate
	}
	return max(1, int64(float64(rate)*o.timeout().Seconds()))
}

func (o *Options) maxMessageSize() int64 {
	if o.MaxMessageSize <= 0 {
		return DefaultMaxMessageSize
	}
	return o.MaxMessageSize
}

func (o *Options) window() int {
	if o.Window <= 0 {
		return DefaultWindow
	}
	return o.Window
}
