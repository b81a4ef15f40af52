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
	"time"

	"github.com/poplar-mail/poplar/pop"
)

// Explain turns an error from connecting, logging in, fetching or Detect into plain words for a
// user of the desktop app: what happened and what to do about it there (a remedy never points to
// the command line). name is the account (or host) the error is about. Callers that act on the
// error rather than show it use errors.As: *pop.CertificateError (offer TrustCertificate, with
// the warning Explain gives when Reason is pop.CertPinChanged), *pop.WrongSecurityError (offer to
// switch to its Want), IsAuthFailure (ask for the password again).
func Explain(err error, name string) (what, remedy string) {
	var pe *pop.Error
	var ce *pop.CertificateError
	var we *pop.WrongSecurityError
	var de *DetectError
	var ne net.Error
	var dnsErr *net.DNSError
	var le *LoginDelayError
	var re *pop.MethodRefusedError
	switch {
	case err == nil:
		return "", ""
	case errors.Is(err, context.Canceled):
		return "Cancelled", ""
	case errors.As(err, &de): // first: it holds the errors of every attempt
		return explainDetect(de)
	case errors.As(err, &ce):
		return explainCert(ce, name)
	case errors.As(err, &we):
		return explainSecurity(we, name)
	case errors.Is(err, pop.ErrSTARTTLSUnavailable):
		return fmt.Sprintf("%s did not offer STARTTLS, so no password was sent", name),
			"Use the security TLS on port 995; if this server offered STARTTLS before, someone may be tampering with the connection"
	case errors.Is(err, pop.ErrInsecureAuth):
		return fmt.Sprintf("Refused to send the password for %s over an unencrypted connection", name),
			"Choose the security TLS or STARTTLS in the account settings"
	case errors.Is(err, pop.ErrServerAuth):
		return fmt.Sprintf("The server of %s could not prove it knows your password", name),
			"The server may be an impostor; check the host name"
	case errors.Is(err, pop.ErrNoMechanism):
		return fmt.Sprintf("%s offers no login method Poplar can use with these credentials", name),
			"Choose another authentication method in the account settings"
	case errors.As(err, &le):
		return fmt.Sprintf("The server of %s allows the next check at %s", name, le.When()),
			"Poplar checks again then; checking earlier would be refused (the server's LOGIN-DELAY)"
	case errors.As(err, &re):
		return fmt.Sprintf("The server of %s does not accept the sign-in method %s; it offers %s", name, methodName(re.Method), offered(re.Offered)),
			"Choose one of those as the login method in the account settings (\"auto\" picks one when the connection is encrypted)"
	case errors.Is(err, pop.ErrStalled):
		return fmt.Sprintf("The server of %s stopped sending", name),
			"Try again later; nothing was lost, and messages already stored will not be fetched twice"
	case errors.Is(err, pop.ErrTooSlow):
		return fmt.Sprintf("The server of %s is sending too slowly", name),
			"Try again later or on a better connection; nothing was lost, and messages already stored will not be fetched twice"
	case errors.Is(err, pop.ErrMessageTooLarge):
		return fmt.Sprintf("A message on %s is larger than Poplar accepts (%v)", name, err),
			"It stays on the server; read it in webmail or with another program"
	case errors.As(err, new(*StoreError)):
		if errors.Is(err, ErrNoSpace) || errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT) || errors.Is(err, syscall.EFBIG) {
			return fmt.Sprintf("No room left on the disk to store mail for %s", name),
				"Free some disk space, then get mail again; nothing was deleted from the server that is not stored here"
		}
		return fmt.Sprintf("Mail for %s could not be stored (%v)", name, errors.Unwrap(err)),
			"Check that Poplar's data folder exists and is writable, then get mail again; nothing was deleted from the server that is not stored here"
	case errors.Is(err, ErrNoKeyring):
		return "No keyring service is running to hold the password",
			"Start a password keyring (Secret Service, such as GNOME Keyring or KWallet) in your desktop session, then try again"
	case errors.Is(err, ErrNoSecret):
		return fmt.Sprintf("No password is stored for %s", name),
			"Open Settings and enter the password"
	case errors.As(err, &pe):
		return explainReply(pe, name)
	case errors.As(err, &dnsErr):
		return fmt.Sprintf("The server name of %s could not be found (%s)", name, dnsErr.Name),
			"Check the host name in the account settings and your internet connection"
	case errors.Is(err, syscall.ECONNREFUSED):
		return fmt.Sprintf("The server of %s refused the connection", name),
			"Check the host and port in the account settings (995 for TLS, 110 for STARTTLS)"
	case errors.Is(err, os.ErrDeadlineExceeded) || errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()):
		return fmt.Sprintf("The server of %s did not answer in time", name),
			"Check your internet connection, the host and the port; try again later"
	case errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, net.ErrClosed):
		return fmt.Sprintf("The connection to %s was cut", name),
			"Try again; nothing was lost, and messages already stored will not be fetched twice"
	case errors.Is(err, pop.ErrProtocol) || errors.Is(err, pop.ErrLineTooLong):
		return fmt.Sprintf("The server of %s sent something that is not POP3 (%v)", name, err),
			"Check that the port in the account settings is a POP3 port (995 for TLS, 110 for STARTTLS)"
	}
	return fmt.Sprintf("%s: %v", name, err), "Try again later; if it keeps failing, check the account settings against what your mail provider gives"
}

// IsAuthFailure reports whether err is the server rejecting the user name and password (or the
// token): the caller should ask for them again. A locked mailbox, a LOGIN-DELAY, a sign-in method
// the server refuses (pop.ErrMethodRefused) and a password that is not stored (ErrNoSecret) are
// not authentication failures.
func IsAuthFailure(err error) bool {
	var pe *pop.Error
	return errors.As(err, &pe) && pe.IsAuthFailure() && !errors.Is(err, pop.ErrMethodRefused)
}

// explainCert words an untrusted or changed certificate. The remedy never suggests trusting it
// without saying how to check it first.
func explainCert(ce *pop.CertificateError, name string) (what, remedy string) {
	day := func(t time.Time) string { return t.Local().Format("2 Jan 2006") }
	if ce.Reason == pop.CertPinChanged {
		what = fmt.Sprintf("The certificate of %s has changed since you trusted it, so no password was sent", name)
		if ce.Verifies {
			return what, "This can mean someone is intercepting the connection. The new certificate is signed by an authority your system trusts, " +
				"so the server may just have renewed it: only if your provider or administrator confirms the change, remove the trusted fingerprint in the account settings"
		}
		return what, fmt.Sprintf("This can mean someone is intercepting the connection. Trust the new certificate only if your provider or "+
			"administrator confirms that it changed and that its fingerprint is %s", ce.Fingerprint)
	}
	check := fmt.Sprintf("trust the certificate only if its fingerprint %s is the one your provider or administrator gives you", ce.Fingerprint)
	var why string
	switch ce.Reason {
	case pop.CertSelfSigned:
		why, remedy = "it is self-signed (no authority vouches for it)",
			"If you expected this, as with your own server, "+check+"; or give the CA file that signed it in the account settings"
	case pop.CertUnknownAuthority:
		why, remedy = fmt.Sprintf("it is signed by %s, an authority your system does not know", orUnknown(ce.Issuer)),
			"If you expected this, as with a company server, give the CA file of that authority in the account settings, or "+check
	case pop.CertWrongHost:
		why, remedy = fmt.Sprintf("it is for %s, not for %s", orUnknown(strings.Join(ce.Names, ", ")), ce.Host),
			"Check the server name in the account settings; "+check
	case pop.CertExpired:
		why, remedy = fmt.Sprintf("it expired on %s", day(ce.NotAfter)),
			"Ask your provider or administrator to renew it; until then, "+check
	case pop.CertNotYetValid:
		why, remedy = fmt.Sprintf("it is valid only from %s", day(ce.NotBefore)),
			"Check that your computer's date and time are right; otherwise "+check
	default:
		why, remedy = "it could not be verified", "If you expected this, "+check+"; or give the CA file that signed it in the account settings"
		if ce.Err != nil {
			why = pop.CleanText(ce.Err.Error())
		}
	}
	return fmt.Sprintf("The server certificate of %s is not trusted: %s", name, why), remedy
}

func orUnknown(s string) string {
	if s == "" {
		return "an unnamed party"
	}
	return s
}

// explainSecurity words a port that speaks the other security.
func explainSecurity(we *pop.WrongSecurityError, name string) (what, remedy string) {
	port := we.Addr
	if _, p, err := net.SplitHostPort(we.Addr); err == nil {
		port = p
	}
	if we.Want == pop.SecurityTLS {
		tried := securityName(we.Tried.String())
		if we.Tried == pop.SecurityNone {
			tried = "an unencrypted connection"
		}
		return fmt.Sprintf("Port %s of %s expects TLS from the start, not %s; no password was sent", port, name, tried),
			"Switch the security to TLS in the account settings"
	}
	return fmt.Sprintf("Port %s of %s expects STARTTLS (or no encryption), not TLS; no password was sent", port, name),
		"Switch the security to STARTTLS in the account settings, or use port 995 for TLS"
}

// explainDetect words a Detect that found nothing.
func explainDetect(de *DetectError) (what, remedy string) {
	var tried []string
	allDNS := len(de.Attempts) > 0
	for _, a := range de.Attempts {
		tried = append(tried, a.Candidate.String()+": "+shortReason(a.Err))
		allDNS = allDNS && errors.As(a.Err, new(*net.DNSError))
	}
	what = fmt.Sprintf("No POP3 server answered on %s (%s)", de.Host, strings.Join(tried, "; "))
	if allDNS {
		return what, "Check the server name (for example pop.example.org) and your internet connection"
	}
	return what, "Check the server name; your mail provider's help pages give the POP3 server, port and security to enter in the account settings"
}

// shortReason says in a few words why one attempt of Detect failed.
func shortReason(err error) string {
	var we *pop.WrongSecurityError
	var ne net.Error
	switch {
	case errors.As(err, &we) && we.Want == pop.SecurityTLS:
		return "expects TLS"
	case errors.As(err, &we):
		return "expects STARTTLS"
	case errors.As(err, new(*net.DNSError)):
		return "name not found"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "refused"
	case errors.Is(err, pop.ErrSTARTTLSUnavailable):
		return "no STARTTLS"
	case errors.Is(err, pop.ErrStalled) || errors.Is(err, os.ErrDeadlineExceeded) || errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()):
		return "no answer"
	case errors.Is(err, pop.ErrProtocol):
		return "not POP3"
	}
	return "failed"
}

func explainReply(pe *pop.Error, name string) (what, remedy string) {
	switch {
	case pe.Code == pop.CodeInUse:
		return fmt.Sprintf("The mailbox of %s is in use by another program", name),
			"Close other mail programs reading this mailbox; Poplar will retry"
	case pe.Code == pop.CodeLoginDelay:
		return fmt.Sprintf("The server of %s asks to wait before logging in again", name),
			"Check less often (the server announces its minimum interval); Poplar will retry later"
	case pe.Code == pop.CodeSysTemp:
		return fmt.Sprintf("The server of %s has a temporary problem (%s)", name, pe.Text), "Poplar will retry later"
	case pe.Code == pop.CodeSysPerm:
		return fmt.Sprintf("The server of %s has a permanent problem (%s)", name, pe.Text), "Contact your mail provider"
	case pe.IsAuthFailure():
		return fmt.Sprintf("Wrong user name or password for %s", name), "Open Settings and check the user name and password"
	}
	return fmt.Sprintf("The server of %s said no to %s: %s", name, pe.Command, pe.Text), "Try again later"
}

// offered lists the sign-in methods a server offers, for a user.
func offered(methods []string) string {
	if len(methods) == 0 {
		return "none that Poplar knows"
	}
	return strings.Join(methods, ", ")
}

// methodName names a sign-in method as the account editor does.
func methodName(m pop.AuthMethod) string {
	switch m {
	case pop.AuthUser:
		return "password (USER/PASS)"
	case pop.AuthAuto:
		return "auto"
	}
	return strings.ToUpper(m.String())
}
