package pop

import (
	"crypto/x509"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Response codes of RFC 2449, RFC 3206 and RFC 6856, as carried by Error.Code.
const (
	CodeInUse      = "IN-USE"      // the mailbox is locked by another session
	CodeLoginDelay = "LOGIN-DELAY" // logged in too recently
	CodeSysTemp    = "SYS/TEMP"    // a temporary server failure
	CodeSysPerm    = "SYS/PERM"    // a permanent server failure
	CodeAuth       = "AUTH"        // the credentials are wrong
	CodeUTF8       = "UTF8"        // UTF-8 is required
)

// Error is a -ERR reply. Code is the RFC 2449 response code in brackets (upper case), if any.
type Error struct {
	Command string // the command verb that failed, e.g. "PASS" or "RETR"
	Code    string
	Text    string
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("pop: ")
	b.WriteString(e.Command)
	b.WriteString(" failed: ")
	if e.Code != "" {
		b.WriteString("[" + e.Code + "] ")
	}
	if e.Text == "" {
		b.WriteString("(no reason given)")
	} else {
		b.WriteString(e.Text)
	}
	return b.String()
}

// Temporary reports whether trying again later may succeed: IN-USE, LOGIN-DELAY and SYS/TEMP.
func (e *Error) Temporary() bool {
	switch e.Code {
	case CodeInUse, CodeLoginDelay, CodeSysTemp:
		return true
	}
	return false
}

// IsAuthFailure reports whether the server rejected the credentials: the AUTH code, or a failed
// login command (PASS, APOP, AUTH) without a code saying the failure was something else. A
// refusal of the login method itself is not an authentication failure: an -ERR to USER (no
// password has been sent yet), or a reply whose text says the command is not allowed, disabled,
// not supported or unknown. Auth returns those as a *MethodRefusedError.
func (e *Error) IsAuthFailure() bool {
	if e.refusesMethod() {
		return false
	}
	if e.Code == CodeAuth {
		return true
	}
	if e.Code != "" {
		return false
	}
	switch e.Command {
	case "PASS", "APOP", "AUTH":
		return true
	}
	return false
}

// refusalWords are what servers say when they refuse a login method rather than the credentials,
// e.g. Dovecot's "[AUTH] Plaintext authentication disallowed on non-secure connections".
var refusalWords = []string{"not allowed", "disallowed", "disabled", "not supported", "unsupported",
	"unknown command", "not available", "not enabled", "not implemented", "unrecognized command"}

// refusesMethod reports whether e is the server refusing a login method, not the credentials.
func (e *Error) refusesMethod() bool {
	if e.Code != "" && e.Code != CodeAuth {
		return false
	}
	switch e.Command {
	case "USER":
		return true // no password was sent: whatever the reason, it was not a wrong one
	case "PASS", "APOP", "AUTH":
		t := strings.ToLower(e.Text)
		if strings.Contains(t, "account") {
			return false // "account disabled" is about the user, not the method
		}
		for _, w := range refusalWords {
			if strings.Contains(t, w) {
				return true
			}
		}
	}
	return false
}

// MethodRefusedError means the server refused the login method itself, not the credentials (see
// Error.IsAuthFailure), or does not offer it. It satisfies errors.Is(err, ErrMethodRefused).
type MethodRefusedError struct {
	Method AuthMethod // the method refused (with AuthAuto, the last one tried)
	// Offered is what the server offers, as a user would choose it: its SASL mechanisms (upper
	// case), "USER" when CAPA lists it, and "APOP" when the greeting has a timestamp. It may be empty.
	Offered []string
	Err     error // the server's reply (an *Error), or why the method cannot be used; may be nil
}

func (e *MethodRefusedError) Error() string {
	var b strings.Builder
	b.WriteString("pop: the server does not accept the sign-in method " + e.Method.String())
	if e.Err != nil {
		b.WriteString(" (" + strings.TrimPrefix(e.Err.Error(), "pop: ") + ")")
	}
	if len(e.Offered) > 0 {
		b.WriteString("; it offers " + strings.Join(e.Offered, ", "))
	}
	return b.String()
}

// Unwrap returns Err.
func (e *MethodRefusedError) Unwrap() error { return e.Err }

// Is reports whether target is ErrMethodRefused.
func (e *MethodRefusedError) Is(target error) bool { return target == ErrMethodRefused }

// parseErr builds an Error from the text after "-ERR"; the text is cleaned (CleanText).
func parseErr(cmd, text string) *Error {
	text = strings.TrimSpace(CleanText(text))
	e := &Error{Command: cmd, Text: text}
	if strings.HasPrefix(text, "[") {
		if i := strings.IndexByte(text, ']'); i > 0 {
			e.Code = strings.ToUpper(text[1:i])
			e.Text = strings.TrimSpace(text[i+1:])
		}
	}
	return e
}

// CertReason says why a server certificate was not trusted.
type CertReason int

const (
	// CertUntrusted is any other failure of verification (Err says which).
	CertUntrusted CertReason = iota
	// CertSelfSigned: the certificate is signed by its own key, not by an authority (as home
	// servers' and test servers' certificates are).
	CertSelfSigned
	// CertUnknownAuthority: the certificate is signed by an authority the system does not trust.
	CertUnknownAuthority
	// CertWrongHost: the certificate is not valid for the host name connected to.
	CertWrongHost
	// CertExpired: the certificate's validity ended before now (NotAfter).
	CertExpired
	// CertNotYetValid: the certificate's validity begins after now (NotBefore).
	CertNotYetValid
	// CertPinChanged: a fingerprint was pinned (Options.Fingerprint) and the server presented
	// another certificate. This can mean someone is intercepting the connection.
	CertPinChanged
)

var certReasonNames = [...]string{"untrusted", "self-signed", "unknown authority", "wrong host name", "expired", "not yet valid", "pin changed"}

// String returns a short lower-case name: "self-signed", "unknown authority", "wrong host name",
// "expired", "not yet valid", "pin changed" or "untrusted".
func (r CertReason) String() string {
	if r >= 0 && int(r) < len(certReasonNames) {
		return certReasonNames[r]
	}
	return fmt.Sprintf("CertReason(%d)", int(r))
}

// CertificateError says the server's certificate was not trusted, with what a user needs to decide
// whether to trust it. Every string comes from the certificate, which the server controls, and is
// cleaned (CleanText). Pinning Fingerprint (Options.Fingerprint) trusts exactly the certificate
// described: it is the SHA-256 of Leaf.Raw.
//
// With Reason CertPinChanged the certificate is not the pinned one: Pinned is the fingerprint that
// was pinned, Fingerprint and the other fields describe the new certificate, and the error also
// matches ErrPinChanged.
type CertificateError struct {
	Host   string // the name the certificate was checked for (Options.ServerName or the dialled host)
	Reason CertReason
	// Subject and Issuer are the certificate's distinguished names, e.g. "CN=mail.example.org,O=Example".
	Subject, Issuer string
	// SelfSigned reports whether the certificate is signed by its own key, whatever the Reason.
	SelfSigned bool
	// NotBefore and NotAfter bound the certificate's validity.
	NotBefore, NotAfter time.Time
	// Names are the DNS names and IP addresses the certificate is valid for (its subject
	// alternative names), as the certificate lists them.
	Names []string
	// Fingerprint is the SHA-256 of the certificate as CertFingerprint formats it.
	Fingerprint string
	// Pinned, with CertPinChanged, is the fingerprint that was pinned (as CertFingerprint formats
	// it); "" otherwise.
	Pinned string
	// Verifies, with CertPinChanged, reports whether the new certificate is valid for Host by the
	// trusted authorities (the system's and Options.CAFile): a connection without the pin would
	// accept it. It is false otherwise.
	Verifies bool
	// Leaf is the certificate as the server sent it (Leaf.Raw is its DER); nil only in a
	// CertificateError not made by this package.
	Leaf *x509.Certificate
	Err  error // why verification failed (ErrPinChanged with CertPinChanged)
}

func (e *CertificateError) Error() string {
	if e.Reason == CertPinChanged {
		return fmt.Sprintf("pop: the certificate of %s changed since it was pinned (pinned %s, now %s, %s)",
			e.Host, e.Pinned, e.Fingerprint, e.Subject)
	}
	return fmt.Sprintf("pop: certificate of %s (%s) is not trusted: %v; its SHA-256 fingerprint is %s",
		e.Host, e.Subject, e.Err, e.Fingerprint)
}

// Unwrap returns Err.
func (e *CertificateError) Unwrap() error { return e.Err }

// WrongSecurityError means the port speaks another security than the one asked for, which Dial
// finds out before any credential is sent:
//   - Tried SecurityTLS, Want SecuritySTARTTLS: the TLS handshake was answered by a POP3 greeting
//     ("+OK ..." or "-ERR ..."), so the port takes STARTTLS, or no encryption at all.
//   - Tried SecuritySTARTTLS or SecurityNone, Want SecurityTLS: no greeting came, and a second
//     connection to the port completed a TLS handshake, so the port expects TLS from the first
//     byte.
type WrongSecurityError struct {
	Addr  string   // the address dialled, "host:port"
	Tried Security // the security asked for (Options.Security)
	Want  Security // what the port expects: SecurityTLS, or SecuritySTARTTLS for a plain POP3 port
}

func (e *WrongSecurityError) Error() string {
	if e.Want == SecurityTLS {
		return fmt.Sprintf("pop: %s expects TLS from the start, not %s (no greeting; a TLS handshake succeeded)", e.Addr, e.Tried)
	}
	return fmt.Sprintf("pop: %s speaks plain POP3 (STARTTLS or none), not %s: it sent a POP3 greeting instead of a TLS handshake", e.Addr, e.Tried)
}

var (
	// ErrSTARTTLSUnavailable means SecuritySTARTTLS was asked for but the server did not offer or
	// complete STLS. No credential has been sent. A server that normally offers STLS and now does
	// not may be under a stripping attack.
	ErrSTARTTLSUnavailable = errors.New("pop: the server did not offer STARTTLS (STLS); no password was sent")
	// ErrInsecureAuth means a cleartext password or token, or a CRAM-MD5 or APOP digest, would
	// have gone over an unencrypted connection and Options.AllowInsecureAuth was not set. Nothing
	// was sent.
	ErrInsecureAuth = errors.New("pop: refusing to send a password over an unencrypted connection")
	// ErrMethodRefused matches every *MethodRefusedError.
	ErrMethodRefused = errors.New("pop: the server does not accept this sign-in method")
	// ErrStalled means the server sent nothing for Options.Timeout while a reply was due. It is
	// also an os.ErrDeadlineExceeded. The connection is closed.
	ErrStalled = errors.New("pop: the server stopped sending")
	// ErrTooSlow means a status line did not arrive whole within Options.Timeout, or a multi-line
	// reply arrived slower than Options.MinRate. It is also an os.ErrDeadlineExceeded. The
	// connection is closed.
	ErrTooSlow = errors.New("pop: the server is sending too slowly")
	// ErrMessageTooLarge means a RETR or TOP reply exceeded Options.MaxMessageSize. The
	// connection is closed (the rest of the reply was not read).
	ErrMessageTooLarge = errors.New("pop: message too large")
	// ErrReplyTooLarge means a CAPA, LIST or UIDL reply had more lines or bytes than the client
	// accepts (see the package documentation). It is also an ErrProtocol. The connection is closed.
	ErrReplyTooLarge = fmt.Errorf("%w: reply too large", ErrProtocol)
	// ErrNoMechanism means no authentication mechanism both sides support works with the credentials.
	ErrNoMechanism = errors.New("pop: no usable authentication mechanism")
	// ErrProtocol marks a reply that breaks RFC 1939; the connection cannot be used further.
	ErrProtocol = errors.New("pop: protocol error")
	// ErrLineTooLong means a status or list line exceeded MaxLineLength.
	ErrLineTooLong = errors.New("pop: line too long")
	// ErrClosed is returned by commands on a client whose connection is closed or broken.
	ErrClosed = errors.New("pop: connection closed")
	// ErrServerAuth means the server's SCRAM signature did not verify: it does not know the password.
	ErrServerAuth = errors.New("pop: the server failed to prove it knows the password (SCRAM)")
	// ErrPinChanged matches a *CertificateError whose Reason is CertPinChanged: the server did
	// not present the pinned certificate.
	ErrPinChanged = errors.New("pop: the certificate is not the one pinned")
)
