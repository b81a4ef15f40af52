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

	"github.com/emersion/go-smtp"

	"github.com/poplar-mail/poplar/pop"
	"github.com/poplar-mail/poplar/storage"
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
	var storeErr *StoreError
	var le *LoginDelayError
	var re *pop.MethodRefusedError
	var prov *ProviderError
	var signIn *SignInError
	switch {
	case err == nil:
		return "", ""
	case errors.Is(err, context.Canceled):
		return "Cancelled", ""
	case errors.As(err, &signIn) && signIn.Reason == NotSignedIn:
		return fmt.Sprintf("%s has not signed in to its provider yet", name),
			"Sign in to the provider in your browser (the account's Sign-in page in Settings)"
	case errors.Is(err, ErrSignInAgain):
		return fmt.Sprintf("The sign-in of %s has expired or was withdrawn at the provider", name),
			"Sign in again in your browser (the account's Sign-in page in Settings)"
	case errors.As(err, &prov):
		return fmt.Sprintf("The sign-in provider of %s refused: %s", name, strings.TrimSpace(prov.Code+" "+prov.Description)),
			"Check the account's OAuth client ID and secret against the application you registered with the provider"
	case isSendErr(err):
		return explainSend(err, name)
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
	case errors.As(err, &storeErr):
		if errors.Is(err, ErrNoSpace) || errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT) || errors.Is(err, syscall.EFBIG) {
			return fmt.Sprintf("No room left on the disk to store mail for %s", name),
				"Free some disk space, then get mail again; nothing was deleted from the server that is not stored here"
		}
		return fmt.Sprintf("Mail for %s could not be stored (%v)", name, storeErr.Err),
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

// isSendErr reports whether err is about sending: the outgoing server, the Outbox.
func isSendErr(err error) bool {
	return errors.As(err, new(*SendError)) || errors.As(err, new(*NoOutgoingServerError)) || errors.As(err, new(*SMTPAuthError)) ||
		errors.As(err, new(*RecipientsError)) || errors.As(err, new(*smtp.SMTPError)) || errors.Is(err, storage.ErrSendInProgress) ||
		errors.Is(err, ErrSMTPNoSTARTTLS) || errors.Is(err, ErrSMTPInsecureAuth) || errors.Is(err, ErrSMTPNoMechanism) ||
		errors.Is(err, ErrSMTPInjection) || errors.Is(err, ErrMaybeSent)
}

// explainSend words a failure to send: what became of the message and what to do.
func explainSend(err error, name string) (what, remedy string) {
	var se *SendError
	var nos *NoOutgoingServerError
	var ae *SMTPAuthError
	var re *RecipientsError
	var reply *smtp.SMTPError
	var ce *pop.CertificateError
	var dnsErr *net.DNSError
	var ne net.Error
	var storeErr *StoreError
	const queued = "The message stays in the Outbox and is sent when you try again"
	maybe := errors.As(err, &se) && se.Status == storage.OutboxMaybeSent
	switch {
	case errors.As(err, &nos):
		return fmt.Sprintf("%s has no outgoing server: set one in the account settings", nos.Account),
			"Enter the outgoing (SMTP) server your mail provider gives in the account settings; the message waits in the Outbox"
	case maybe || errors.Is(err, ErrMaybeSent):
		return fmt.Sprintf("The message may have been sent: the connection to the outgoing server of %s ended after the whole message went out and before the server confirmed it", name),
			"Poplar does not send it again by itself. Ask a recipient or look in your provider's Sent folder; send it again from the Outbox only if it did not arrive"
	case errors.Is(err, storage.ErrSendInProgress):
		return fmt.Sprintf("Another Poplar is sending the mail of %s right now", name), "Try again in a moment; the message waits in the Outbox"
	case errors.As(err, &ae):
		return fmt.Sprintf("Wrong user name or password for the outgoing server of %s (the server said: %s)", name, smtpWords(ae.Err)),
			"Open Settings and check the outgoing server's user name and password; " + strings.ToLower(queued[:1]) + queued[1:]
	case errors.As(err, &re):
		return fmt.Sprintf("The outgoing server of %s refused recipients, so the message went to nobody: %s", name, strings.TrimPrefix(re.Error(), "account: recipients refused: ")),
			"Correct or remove those addresses and send again"
	case errors.As(err, &ce):
		what, remedy = explainCert(ce, "the outgoing server of "+name)
		return what, remedy + ". " + queued
	case errors.Is(err, ErrSMTPNoSTARTTLS):
		return fmt.Sprintf("The outgoing server of %s did not offer STARTTLS, so nothing was sent", name),
			"Use the security TLS on port 465; if this server offered STARTTLS before, someone may be tampering with the connection"
	case errors.Is(err, ErrSMTPInjection):
		return fmt.Sprintf("The outgoing server of %s sent data it should not have before encryption began, so nothing was sent", name),
			"Someone may be tampering with the connection; use the security TLS on port 465"
	case errors.Is(err, ErrSMTPInsecureAuth):
		return fmt.Sprintf("Refused to send the password for the outgoing server of %s over an unencrypted connection", name),
			"Choose the security TLS or STARTTLS for the outgoing server in the account settings"
	case errors.Is(err, ErrSMTPNoMechanism):
		return fmt.Sprintf("The outgoing server of %s offers no sign-in method Poplar can use", name),
			"Check the outgoing server and its security in the account settings"
	case errors.As(err, &reply) && reply.Temporary():
		return fmt.Sprintf("The outgoing server of %s cannot take the message now: %s", name, smtpWords(reply)),
			"Poplar tries again later; " + strings.ToLower(queued[:1]) + queued[1:]
	case errors.As(err, &reply) && reply.Code == 552:
		return fmt.Sprintf("The outgoing server of %s refused the message as too large: %s", name, smtpWords(reply)),
			"Send smaller attachments, or a link to the file instead"
	case errors.As(err, &reply):
		return fmt.Sprintf("The outgoing server of %s refused the message: %s", name, smtpWords(reply)),
			"Check the From address (the server may not let this account send as it) and the recipients, then send again"
	case errors.As(err, &dnsErr):
		return fmt.Sprintf("The outgoing server of %s could not be found (%s)", name, dnsErr.Name),
			"Check the outgoing server's name in the account settings and your internet connection. " + queued
	case errors.Is(err, syscall.ECONNREFUSED):
		return fmt.Sprintf("The outgoing server of %s refused the connection", name),
			"Check the outgoing server's host and port (465 for TLS, 587 for STARTTLS). " + queued
	case errors.Is(err, os.ErrDeadlineExceeded) || errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()):
		return fmt.Sprintf("The outgoing server of %s did not answer in time", name), "Check your internet connection; " + strings.ToLower(queued[:1]) + queued[1:]
	case errors.As(err, &storeErr):
		return fmt.Sprintf("The message to send could not be kept on this computer (%v)", storeErr.Err),
			"Check that Poplar's data folder exists, is writable and has room"
	case se != nil && (errors.Is(err, ErrNoKeyring) || errors.Is(err, ErrNoSecret)):
		return Explain(se.Err, name)
	}
	if se != nil {
		return fmt.Sprintf("Sending mail of %s failed: %v", name, pop.CleanText(strings.TrimPrefix(se.Err.Error(), "account: "))), queued
	}
	return fmt.Sprintf("Sending mail of %s failed: %v", name, err), queued
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
