package account

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/poplar-mail/poplar/pop"
)

// TestExplain: each kind of failure is told apart and put in plain words with what to do.
func TestExplain(t *testing.T) {
	opErr := func(err error) error { return &net.OpError{Op: "read", Net: "tcp", Err: err} }
	tests := []struct {
		name         string
		err          error
		what, remedy string // substrings
	}{
		{"wrong password", fmt.Errorf("fetch: %w", &pop.Error{Command: "PASS", Text: "invalid"}), "Wrong user name or password for work", "Open Settings"},
		{"wrong password by code", &pop.Error{Command: "AUTH", Code: pop.CodeAuth, Text: "no"}, "Wrong user name or password", "Open Settings"},
		{"mailbox in use", &pop.Error{Command: "PASS", Code: pop.CodeInUse, Text: "locked"}, "in use by another program", "will retry"},
		{"login delay", &pop.Error{Command: "PASS", Code: pop.CodeLoginDelay}, "wait before logging in", "retry later"},
		{"temporary", &pop.Error{Command: "RETR", Code: pop.CodeSysTemp, Text: "disk trouble"}, "temporary problem (disk trouble)", "retry"},
		{"no password", fmt.Errorf("%w for %q", ErrNoSecret, "work"), "No password is stored for work", "Open Settings and enter the password"},
		{"no keyring", fmt.Errorf("x: %w", ErrNoKeyring), "No keyring service", "Start a password keyring"},
		{"not signed in", fmt.Errorf("fetch: %w", &SignInError{Account: "work", Reason: NotSignedIn}), "work has not signed in to its provider yet", "Sign in to the provider in your browser"},
		{"sign-in withdrawn", &SignInError{Account: "work", Reason: "invalid_grant"}, "The sign-in of work has expired or was withdrawn", "Sign in again in your browser"},
		{"certificate", &pop.CertificateError{Fingerprint: "AB:CD", Err: errors.New("unknown authority")}, "not trusted: unknown authority", "AB:CD"},
		{"self-signed", &pop.CertificateError{Reason: pop.CertSelfSigned, Fingerprint: "AB:CD"}, "not trusted: it is self-signed", "trust the certificate only if its fingerprint AB:CD is the one your provider or administrator gives you"},
		{"unknown authority", &pop.CertificateError{Reason: pop.CertUnknownAuthority, Issuer: "CN=Corp CA", Fingerprint: "AB:CD"}, "signed by CN=Corp CA, an authority your system does not know", "CA file"},
		{"wrong host", &pop.CertificateError{Reason: pop.CertWrongHost, Host: "pop.example.org", Names: []string{"a.example", "b.example"}, Fingerprint: "AB:CD"},
			"it is for a.example, b.example, not for pop.example.org", "Check the server name in the account settings; trust the certificate only if its fingerprint AB:CD"},
		{"expired", &pop.CertificateError{Reason: pop.CertExpired, NotAfter: time.Date(2026, 3, 4, 12, 0, 0, 0, time.Local), Fingerprint: "AB:CD"}, "it expired on 4 Mar 2026", "renew"},
		{"not yet valid", &pop.CertificateError{Reason: pop.CertNotYetValid, NotBefore: time.Date(2027, 3, 4, 12, 0, 0, 0, time.Local), Fingerprint: "AB:CD"}, "valid only from 4 Mar 2027", "date and time"},
		{"pin changed", fmt.Errorf("fetch: %w", &pop.CertificateError{Reason: pop.CertPinChanged, Pinned: "11:22", Fingerprint: "AB:CD", Err: pop.ErrPinChanged}),
			"The certificate of work has changed since you trusted it, so no password was sent", "This can mean someone is intercepting the connection. Trust the new certificate only if your provider or administrator confirms that it changed and that its fingerprint is AB:CD"},
		{"pin changed to a valid certificate", &pop.CertificateError{Reason: pop.CertPinChanged, Verifies: true, Fingerprint: "AB:CD", Err: pop.ErrPinChanged},
			"changed since you trusted it", "This can mean someone is intercepting the connection. The new certificate is signed by an authority your system trusts"},
		{"expects starttls", &pop.WrongSecurityError{Addr: "pop.example.org:110", Tried: pop.SecurityTLS, Want: pop.SecuritySTARTTLS},
			"Port 110 of work expects STARTTLS (or no encryption), not TLS; no password was sent", "Switch the security to STARTTLS"},
		{"expects tls", &pop.WrongSecurityError{Addr: "pop.example.org:995", Tried: pop.SecuritySTARTTLS, Want: pop.SecurityTLS},
			"Port 995 of work expects TLS from the start, not STARTTLS", "Switch the security to TLS"},
		{"expects tls, not none", &pop.WrongSecurityError{Addr: "[::1]:995", Tried: pop.SecurityNone, Want: pop.SecurityTLS},
			"Port 995 of work expects TLS from the start, not an unencrypted connection; no password was sent", "Switch the security to TLS"},
		{"nothing detected", &DetectError{Host: "pop.example.org", Attempts: []Attempt{
			{Candidate{995, SecurityTLS}, opErr(syscall.ECONNREFUSED)},
			{Candidate{110, SecuritySTARTTLS}, &pop.WrongSecurityError{Want: pop.SecurityTLS}}}},
			"No POP3 server answered on pop.example.org (port 995 with TLS: refused; port 110 with STARTTLS: expects TLS)", "help pages"},
		{"nothing detected, no such host", &DetectError{Host: "pop.example.invalid", Attempts: []Attempt{
			{Candidate{995, SecurityTLS}, &net.DNSError{Name: "pop.example.invalid", IsNotFound: true}}}}, "port 995 with TLS: name not found", "Check the server name (for example pop.example.org) and your internet connection"},
		{"unknown failure", errors.New("something odd"), "work: something odd", "Try again later"},
		{"not pop3", fmt.Errorf("%w: greeting", pop.ErrProtocol), "not POP3", "account settings"},
		{"stripping", pop.ErrSTARTTLSUnavailable, "did not offer STARTTLS, so no password was sent", "tampering"},
		{"refused", opErr(syscall.ECONNREFUSED), "refused the connection", "port"},
		{"timeout", opErr(os.ErrDeadlineExceeded), "did not answer in time", "internet connection"},
		{"cut", fmt.Errorf("pop: RETR: %w", io.ErrUnexpectedEOF), "connection to work was cut", "nothing was lost"},
		{"disk full", &StoreError{Err: &os.PathError{Op: "write", Path: "/x", Err: syscall.ENOSPC}}, "No room left on the disk to store mail for work", "Free some disk space"},
		{"read-only store", &StoreError{Err: &os.PathError{Op: "open", Path: "/x", Err: syscall.EROFS}}, "could not be stored", "writable"},
		{"store error among others", errors.Join(errors.New("quit: cut"), fmt.Errorf("fetch: %w", &StoreError{Err: &os.PathError{Op: "open", Path: "/x", Err: syscall.EROFS}})),
			"Mail for work could not be stored (open /x: read-only file system)", "writable"},
		{"cancelled", context.Canceled, "Cancelled", ""},
		{"method refused", &pop.MethodRefusedError{Method: pop.AuthUser, Offered: []string{"APOP", "SCRAM-SHA-256"}, Err: &pop.Error{Command: "USER", Text: "not allowed"}},
			"does not accept the sign-in method password (USER/PASS); it offers APOP, SCRAM-SHA-256", "login method"},
		{"stalled", fmt.Errorf("pop: RETR: %w", pop.ErrStalled), "stopped sending", "nothing was lost"},
		{"too slow", fmt.Errorf("pop: RETR: %w", pop.ErrTooSlow), "sending too slowly", "nothing was lost"},
		{"no room", &StoreError{Err: fmt.Errorf("%w: message 3 needs 2 MB", ErrNoSpace)}, "No room left on the disk", "Free some disk space"},
		{"login delay", &LoginDelayError{RetryAt: time.Date(2026, 12, 1, 9, 30, 0, 0, time.Local)}, "next check at Tue 1 Dec 2026 09:30", "checks again then"},
		{"too large", fmt.Errorf("pop: RETR 4: %w", pop.ErrMessageTooLarge), "larger than Poplar accepts", "stays on the server"},
		{"insecure", pop.ErrInsecureAuth, "unencrypted connection", "TLS or STARTTLS"},
		{"stripping is not a wrong port", fmt.Errorf("%w: -ERR no", pop.ErrSTARTTLSUnavailable), "did not offer STARTTLS", "port 995"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			what, remedy := Explain(tt.err, "work")
			if !strings.Contains(what, tt.what) || !strings.Contains(remedy, tt.remedy) {
				t.Fatalf("Explain(%v) = %q / %q, want %q / %q", tt.err, what, remedy, tt.what, tt.remedy)
			}
			// The desktop app shows these: no remedy may send the user to the command line.
			for _, w := range []string{"poplar ", "--", "CLI", "ommand", "terminal"} {
				if strings.Contains(remedy, w) {
					t.Errorf("remedy %q mentions %q", remedy, w)
				}
			}
		})
	}
}

// TestIsAuthFailure: a rejected password is told apart from everything else that stops a login,
// so the app can ask for the password again.
func TestIsAuthFailure(t *testing.T) {
	tests := []struct {
		err  error
		want bool
	}{
		{fmt.Errorf("fetch: %w", &pop.Error{Command: "PASS", Text: "invalid"}), true},
		{&pop.Error{Command: "AUTH", Code: pop.CodeAuth, Text: "no"}, true},
		{&pop.Error{Command: "PASS", Code: pop.CodeInUse, Text: "locked"}, false},
		{&pop.Error{Command: "PASS", Code: pop.CodeLoginDelay}, false},
		{&pop.MethodRefusedError{Method: pop.AuthUser, Err: &pop.Error{Command: "PASS", Code: pop.CodeAuth, Text: "plaintext disallowed"}}, false},
		{&pop.MethodRefusedError{Method: pop.AuthPlain, Err: &pop.Error{Command: "AUTH", Text: "bad"}}, false},
		{fmt.Errorf("%w for %q", ErrNoSecret, "work"), false},
		{&pop.CertificateError{Err: errors.New("x")}, false},
		{pop.ErrInsecureAuth, false},
		{nil, false},
	}
	for _, tt := range tests {
		if got := IsAuthFailure(tt.err); got != tt.want {
			t.Errorf("IsAuthFailure(%v) = %v, want %v", tt.err, got, tt.want)
		}
	}
}

// TestRetryable: network trouble and temporary server replies are retried; a wrong password,
// an untrusted certificate and a storage failure are not.
func TestRetryable(t *testing.T) {
	tests := []struct {
		err  error
		want bool
	}{
		{&net.OpError{Op: "read", Err: syscall.ECONNRESET}, true},
		{fmt.Errorf("pop: %w", io.ErrUnexpectedEOF), true},
		{&pop.Error{Command: "PASS", Code: pop.CodeInUse}, true},
		{&pop.Error{Command: "RETR", Code: pop.CodeSysTemp}, true},
		{&pop.Error{Command: "PASS", Text: "bad password"}, false},
		{&pop.CertificateError{Err: errors.New("x")}, false},
		{&pop.CertificateError{Reason: pop.CertPinChanged, Err: pop.ErrPinChanged}, false},
		{&pop.WrongSecurityError{Want: pop.SecurityTLS}, false},
		{&StoreError{Err: &os.PathError{Op: "write", Err: syscall.ENOSPC}}, false},
		{syscall.ENOSPC, false}, // an Errno satisfies net.Error, but it is not the network
	}
	for _, tt := range tests {
		if got := retryable(tt.err); got != tt.want {
			t.Errorf("retryable(%v) = %v, want %v", tt.err, got, tt.want)
		}
	}
}
