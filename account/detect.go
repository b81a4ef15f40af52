package account

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/poplar-mail/poplar/pop"
)

// Candidate is one port and security that Detect tries.
type Candidate struct {
	Port     int
	Security string // SecurityTLS, SecuritySTARTTLS or SecurityNone
}

// String says it for a user, e.g. "port 995 with TLS".
func (c Candidate) String() string {
	return "port " + strconv.Itoa(c.Port) + " with " + securityName(c.Security)
}

// DefaultCandidates are what Detect tries when DetectOptions.Candidates is nil: POP3 over TLS on
// 995, then STARTTLS on 110. Unencrypted POP3 is never tried unless asked for.
var DefaultCandidates = []Candidate{{995, SecurityTLS}, {110, SecuritySTARTTLS}}

// DefaultDetectTimeout bounds each attempt of Detect when DetectOptions.Timeout is zero.
const DefaultDetectTimeout = 10 * time.Second

// DetectOptions configure Detect. The zero value tries DefaultCandidates.
type DetectOptions struct {
	// Candidates are tried in order; nil means DefaultCandidates.
	Candidates []Candidate
	// Timeout bounds each attempt (connect, TLS, greeting, CAPA); 0 means DefaultDetectTimeout.
	Timeout time.Duration
}

// Attempt is one candidate Detect tried and what came of it.
type Attempt struct {
	Candidate
	// Err is nil when a POP3 server answered with this security, a *pop.CertificateError when it
	// did but its certificate is not trusted, and otherwise why it did not (refused, timed out,
	// a *pop.WrongSecurityError, pop.ErrSTARTTLSUnavailable...).
	Err error
}

// Detection is what Detect found.
type Detection struct {
	// Account is the account Detect was given with Port and Security set to what was found
	// (unchanged when nothing was). Fingerprint is never set: trusting a certificate is the
	// user's decision (TrustCertificate).
	Account Account
	// Certificate, when not nil, is the found server's certificate, which is not trusted (or, with a
	// pinned Fingerprint, is not the one pinned: Reason pop.CertPinChanged). The server can be
	// used only once the user trusts it (TrustCertificate) or gives a CA file.
	Certificate *pop.CertificateError
	// Greeting is the server's greeting, cleaned.
	Greeting string
	// Capabilities are what CAPA said before login (after STLS with STARTTLS).
	Capabilities pop.Capabilities
	// Methods are the sign-in methods the server offers (pop.Client.Offered): SASL mechanisms,
	// "USER", "APOP".
	Methods []string
	// LoginProblem, when not nil, says why the account's sign-in method (Account.Auth) cannot
	// work on this server, as Explain words it (pop.ErrInsecureAuth, pop.ErrNoMechanism, a
	// *pop.MethodRefusedError); nil when the server offers it.
	LoginProblem error
	// Attempts lists every candidate tried, in order, the found one last.
	Attempts []Attempt
}

// DetectError says that no candidate answered as a POP3 server. Unwrap gives each attempt's error.
type DetectError struct {
	Host     string
	Attempts []Attempt
}

func (e *DetectError) Error() string {
	var b strings.Builder
	b.WriteString("account: no POP3 server found on " + e.Host)
	for i, a := range e.Attempts {
		if i == 0 {
			b.WriteString(": ")
		} else {
			b.WriteString("; ")
		}
		b.WriteString(a.Candidate.String() + ": " + strings.TrimPrefix(a.Err.Error(), "pop: "))
	}
	return b.String()
}

// Unwrap returns the attempts' errors.
func (e *DetectError) Unwrap() []error {
	out := make([]error, 0, len(e.Attempts))
	for _, a := range e.Attempts {
		out = append(out, a.Err)
	}
	return out
}

// Detect finds how to reach the POP3 server of a (its Host; its CAFile, Fingerprint, Auth and
// AllowInsecureAuth are used as the account would use them). It tries the candidates in order and
// stops at the first where a POP3 server answers with that security, with a trusted certificate
// or not. It reads the greeting and the capabilities and sends no user name, password or token.
// When a port answers with the other security (a *pop.WrongSecurityError), that port is tried
// next with the security it wants. A server whose certificate is not trusted is connected to again
// with that exact certificate pinned, only to read its capabilities.
//
// Each attempt is bounded by opts.Timeout, and the whole by ctx. It returns a *DetectError when no
// candidate answered, and ctx's error when ctx ends first.
func Detect(ctx context.Context, a Account, opts DetectOptions) (*Detection, error) {
	cands := opts.Candidates
	if cands == nil {
		cands = DefaultCandidates
	}
	cands = append([]Candidate(nil), cands...)
	timeout := opts.Timeout
	if timeout <= 0 {
		timeout = DefaultDetectTimeout
	}
	d := &Detection{Account: a}
	for i := 0; i < len(cands); i++ {
		cand := cands[i]
		try := a
		try.Port, try.Security = cand.Port, cand.Security
		c, err := detectDial(ctx, try, timeout)
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		d.Attempts = append(d.Attempts, Attempt{Candidate: cand, Err: err})
		var ce *pop.CertificateError
		if errors.As(err, &ce) {
			// Read the capabilities over exactly the certificate the user will be shown.
			pinned := try
			pinned.Fingerprint = ce.Fingerprint
			if c, err = detectDial(ctx, pinned, timeout); err != nil {
				if ctx.Err() != nil {
					return nil, ctx.Err()
				}
				c = nil // found, but what it offers is unknown
			}
			d.Certificate = ce
		} else if err != nil {
			var we *pop.WrongSecurityError
			if errors.As(err, &we) {
				next := Candidate{Port: cand.Port, Security: we.Want.String()}
				if !containsCandidate(cands, next) {
					cands = append(cands[:i+1], append([]Candidate{next}, cands[i+1:]...)...)
				}
			}
			continue
		}
		d.Account.Port, d.Account.Security = cand.Port, cand.Security
		if c != nil {
			d.Greeting, d.Capabilities, d.Methods = c.Greeting(), c.Capabilities(), c.Offered()
			// CheckAuth only looks at which kind of secret there is; nothing is sent.
			d.LoginProblem = c.CheckAuth(try.Credentials("placeholder"))
			qctx, cancel := context.WithTimeout(ctx, timeout)
			c.Quit(qctx)
			cancel()
		}
		return d, nil
	}
	return d, &DetectError{Host: a.Host, Attempts: d.Attempts}
}

// detectDial connects as a would, within timeout, and reads the greeting and capabilities.
func detectDial(ctx context.Context, a Account, timeout time.Duration) (*pop.Client, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	po := a.PopOptions()
	po.Timeout = timeout
	return pop.Dial(ctx, a.Addr(), po)
}

func containsCandidate(list []Candidate, c Candidate) bool {
	for _, x := range list {
		if x == c {
			return true
		}
	}
	return false
}

// securityName names a security setting for a user.
func securityName(s string) string {
	switch s {
	case SecurityTLS:
		return "TLS"
	case SecuritySTARTTLS:
		return "STARTTLS"
	case SecurityNone:
		return "no encryption"
	}
	return fmt.Sprintf("%q", s)
}
