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
		{"no password", fmt.Errorf("%w for %q", ErrNoSecret, "work"), "No password is stored for work", "--password-stdin"},
		{"no keyring", fmt.Errorf("x: %w", ErrNoKeyring), "No keyring service", "--password-stdin"},
		{"certificate", &pop.CertificateError{Fingerprint: "AB:CD", Err: errors.New("unknown authority")}, "not trusted", "AB:CD"},
		{"stripping", pop.ErrSTARTTLSUnavailable, "did not offer STARTTLS, so no password was sent", "tampering"},
		{"refused", opErr(syscall.ECONNREFUSED), "refused the connection", "port"},
		{"timeout", opErr(os.ErrDeadlineExceeded), "did not answer in time", "internet connection"},
		{"cut", fmt.Errorf("pop: RETR: %w", io.ErrUnexpectedEOF), "connection to work was cut", "nothing was lost"},
		{"disk full", &StoreError{Err: &os.PathError{Op: "write", Path: "/x", Err: syscall.ENOSPC}}, "No room left on the disk to store mail for work", "Free some disk space"},
		{"read-only store", &StoreError{Err: &os.PathError{Op: "open", Path: "/x", Err: syscall.EROFS}}, "could not be stored", "writable"},
		{"cancelled", context.Canceled, "Cancelled", ""},
		{"method refused", &pop.MethodRefusedError{Method: pop.AuthUser, Offered: []string{"APOP", "SCRAM-SHA-256"}, Err: &pop.Error{Command: "USER", Text: "not allowed"}},
			"does not accept the sign-in method password (USER/PASS); it offers APOP, SCRAM-SHA-256", "login method"},
		{"stalled", fmt.Errorf("pop: RETR: %w", pop.ErrStalled), "stopped sending", "nothing was lost"},
		{"too slow", fmt.Errorf("pop: RETR: %w", pop.ErrTooSlow), "sending too slowly", "nothing was lost"},
		{"no room", &StoreError{Err: fmt.Errorf("%w: message 3 needs 2 MB", ErrNoSpace)}, "No room left on the disk", "Free some disk space"},
		{"login delay", &LoginDelayError{RetryAt: time.Date(2026, 12, 1, 9, 30, 0, 0, time.Local)}, "next check at Tue 1 Dec 2026 09:30", "checks again then"},
		{"too large", fmt.Errorf("pop: RETR 4: %w", pop.ErrMessageTooLarge), "larger than Poplar accepts", "stays on the server"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			what, remedy := Explain(tt.err, "work")
			if !strings.Contains(what, tt.what) || !strings.Contains(remedy, tt.remedy) {
				t.Fatalf("Explain(%v) = %q / %q, want %q / %q", tt.err, what, remedy, tt.what, tt.remedy)
			}
		})
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
		{&StoreError{Err: &os.PathError{Op: "write", Err: syscall.ENOSPC}}, false},
		{syscall.ENOSPC, false}, // an Errno satisfies net.Error, but it is not the network
	}
	for _, tt := range tests {
		if got := retryable(tt.err); got != tt.want {
			t.Errorf("retryable(%v) = %v, want %v", tt.err, got, tt.want)
		}
	}
}
