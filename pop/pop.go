// Package pop is a POP3 client: RFC 1939 (POP3), RFC 2449 (CAPA and response codes), RFC 2595
// (STLS), RFC 3206 (SYS and AUTH response codes), RFC 5034 (SASL: PLAIN, LOGIN, CRAM-MD5,
// SCRAM-SHA-1, SCRAM-SHA-256, XOAUTH2, OAUTHBEARER), RFC 6856 (UTF8) and APOP.
//
// A Client wraps one connection. NewClient reads the greeting and does nothing else; Dial connects,
// negotiates TLS (implicit or STLS) and asks for the capabilities. Every command takes a context:
// cancelling it closes the connection. Every read and write has a deadline (Options.Timeout), and
// every read is bounded: a status or list line longer than MaxLineLength is an error, while message
// bodies are streamed and may have lines of any length.
//
// Retr and Top return a stream of the message, dot-unstuffed and with CRLF line ends turned into LF
// (as mail is stored in a Maildir); it is valid until the next command. Batch sends many RETR, TOP
// and DELE commands ahead when the server offers PIPELINING and hands each reply to a callback in
// order; this is where a download's speed comes from.
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
	// SecurityNone is an unencrypted connection; passwords are refused on it unless
	// Options.AllowInsecureAuth is set.
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

// DefaultTimeout is the deadline for each read and write when Options.Timeout is zero.
const DefaultTimeout = 60 * time.Second

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
	// CAFile is an optional PEM bundle of extra trusted certificates, added to the system roots.
	CAFile string
	// Fingerprint pins the server's leaf certificate by its SHA-256 (hex, colons and case ignored).
	// When set it replaces chain verification: the connection is accepted exactly when the pin matches.
	Fingerprint string
	// AllowInsecureAuth allows a cleartext password (USER/PASS, PLAIN, LOGIN) or a token over an
	// unencrypted connection. Off by default.
	AllowInsecureAuth bool
	// Timeout is the deadline for each read and each write; 0 means DefaultTimeout.
	Timeout time.Duration
	// Window is how many pipelined commands Batch keeps in flight; 0 means DefaultWindow.
	Window int
	// Trace, when set, receives the protocol dialogue (commands and status lines, not message bodies).
	// Passwords, SASL responses and tokens are replaced by "<redacted>".
	Trace io.Writer
}

func (o *Options) timeout() time.Duration {
	if o.Timeout <= 0 {
		return DefaultTimeout
	}
	return o.Timeout
}

func (o *Options) window() int {
	if o.Window <= 0 {
		return DefaultWindow
	}
	return o.Window
}
