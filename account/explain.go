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

	"github.com/poplar-mail/poplar/pop"
)

// Explain turns an error from connecting, logging in or fetching into plain words for a user:
// what happened and what to do about it. name is the account (or host) the error is about.
func Explain(err error, name string) (what, remedy string) {
	var pe *pop.Error
	var ce *pop.CertificateError
	var ne net.Error
	var dnsErr *net.DNSError
	var le *LoginDelayError
	var re *pop.MethodRefusedError
	switch {
	case err == nil:
		return "", ""
	case errors.Is(err, context.Canceled):
		return "Cancelled", ""
	case errors.As(err, &ce):
		return fmt.Sprintf("The server certificate of %s is not trusted (%s)", name, pop.CleanText(ce.Err.Error())),
			fmt.Sprintf("If you trust this server, pin its SHA-256 fingerprint %s in the account settings, or give the CA file that signed it", ce.Fingerprint)
	case errors.Is(err, pop.ErrSTARTTLSUnavailable):
		return fmt.Sprintf("%s did not offer STARTTLS, so no password was sent", name),
			"Use security \"tls\" on port 995; if this server offered STARTTLS before, someone may be tampering with the connection"
	case errors.Is(err, pop.ErrInsecureAuth):
		return fmt.Sprintf("Refused to send the password for %s over an unencrypted connection", name),
			"Choose security \"tls\" or \"starttls\" in the account settings"
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
		return "No keyring service is running to hold the password", keyringRemedy
	case errors.Is(err, ErrNoSecret):
		return fmt.Sprintf("No password is stored for %s", name),
			"Open Settings and enter the password, or run 'poplar fetch --password-stdin'"
	case errors.As(err, &pe):
		return explainReply(pe, name)
	case errors.As(err, &dnsErr):
		return fmt.Sprintf("The server name of %s could not be found (%s)", name, dnsErr.Name),
			"Check the host name in the account settings and your internet connection"
	case errors.Is(err, syscall.ECONNREFUSED):
		return fmt.Sprintf("The server of %s refused the connection", name),
			"Check the host and port (995 for tls, 110 for starttls)"
	case errors.Is(err, os.ErrDeadlineExceeded) || errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()):
		return fmt.Sprintf("The server of %s did not answer in time", name),
			"Check your internet connection, the host and the port; try again later"
	case errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, net.ErrClosed):
		return fmt.Sprintf("The connection to %s was cut", name),
			"Try again; nothing was lost, and messages already stored will not be fetched twice"
	case errors.Is(err, pop.ErrProtocol) || errors.Is(err, pop.ErrLineTooLong):
		return fmt.Sprintf("The server of %s sent something that is not POP3 (%v)", name, err),
			"Check that the port is a POP3 port (995 for tls, 110 for starttls)"
	}
	return fmt.Sprintf("%s: %v", name, err), "Try again; if it keeps failing, run 'poplar serverinfo' on the host to see what the server says"
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
