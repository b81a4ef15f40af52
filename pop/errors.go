package pop

import (
	"errors"
	"fmt"
	"strings"
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
// login command (PASS, APOP, AUTH) without a code saying the failure was something else.
func (e *Error) IsAuthFailure() bool {
	if e.Code == CodeAuth {
		return true
	}
	if e.Code != "" {
		return false
	}
	switch e.Command {
	case "PASS", "APOP", "AUTH", "USER":
		return true
	}
	return false
}

// parseErr builds an Error from the text after "-ERR".
func parseErr(cmd, text string) *Error {
	text = strings.TrimSpace(text)
	e := &Error{Command: cmd, Text: text}
	if strings.HasPrefix(text, "[") {
		if i := strings.IndexByte(text, ']'); i > 0 {
			e.Code = strings.ToUpper(text[1:i])
			e.Text = strings.TrimSpace(text[i+1:])
		}
	}
	return e
}

// CertificateError says the server's certificate was not trusted. Fingerprint is the SHA-256 of the
// leaf certificate as CertFingerprint formats it, so a user can check it and pin it.
type CertificateError struct {
	Host        string
	Subject     string
	Fingerprint string
	Err         error
}

func (e *CertificateError) Error() string {
	return fmt.Sprintf("pop: certificate of %s (%s) is not trusted: %v; its SHA-256 fingerprint is %s",
		e.Host, e.Subject, e.Err, e.Fingerprint)
}

func (e *CertificateError) Unwrap() error { return e.Err }

var (
	// ErrSTARTTLSUnavailable means SecuritySTARTTLS was asked for but the server did not offer or
	// complete STLS. No credential has been sent. A server that normally offers STLS and now does
	// not may be under a stripping attack.
	ErrSTARTTLSUnavailable = errors.New("pop: the server did not offer STARTTLS (STLS); no password was sent")
	// ErrInsecureAuth means a cleartext password or token would have gone over an unencrypted
	// connection and Options.AllowInsecureAuth was not set.
	ErrInsecureAuth = errors.New("pop: refusing to send a password over an unencrypted connection")
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
)
