package gui

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/widget"

	"github.com/poplar-mail/poplar/account"
	"github.com/poplar-mail/poplar/pop"
)

// Trust and plain-word recovery: after a failed check the window offers what helps — the
// password prompt after a wrong password, the certificate dialog for an untrusted certificate
// (Trust this certificate pins it), a warning when a trusted certificate changed, and the switch
// for a port that expects the other security. Each is offered once per account until a check
// succeeds, so a scheduled check does not pile up dialogs.

// checkFailed offers the remedy for a failed check of name.
func (u *UI) checkFailed(name string, err error) {
	if u.prompted == nil {
		u.prompted = map[string]bool{}
	}
	if u.prompted[name] {
		return
	}
	var ce *pop.CertificateError
	var we *pop.WrongSecurityError
	switch {
	case account.IsAuthFailure(err):
		u.prompted[name] = true
		u.passwordPrompt(name)
	case errors.As(err, &ce):
		u.prompted[name] = true
		u.certificateDialog(name, ce, func() { u.trustAndCheck(name, ce) })
	case errors.As(err, &we):
		u.prompted[name] = true
		u.switchSecurityDialog(name, we)
	case errors.Is(err, account.ErrSignInAgain):
		u.prompted[name] = true
		u.signInAgainPrompt(name, err)
	}
}

// checkSucceeded forgets the prompts shown for name.
func (u *UI) checkSucceeded(name string) { delete(u.prompted, name) }

// passwordPrompt asks for the password of name, stores it in the keyring and checks again.
func (u *UI) passwordPrompt(name string) {
	u.askPassword(name, "The server of "+name+" did not accept the password.", func(secret string) error {
		return u.secrets().Set(name, secret)
	}, func() { u.runner.Check(name) })
}

// outgoingPasswordPrompt asks for the outgoing server's password of name (its own keyring entry
// when its user differs), stores it and sends what waits in the Outbox.
func (u *UI) outgoingPasswordPrompt(name string) {
	a, ok := u.findAccount(name)
	if !ok {
		return
	}
	u.askPassword(name, "The outgoing server of "+name+" did not accept the password for "+a.SMTPUser()+".", func(secret string) error {
		return account.SetSMTPPassword(a, u.secrets(), secret)
	}, func() { u.flushOutbox(name) })
}

// askPassword asks for a password with why as the reason, stores it with store (off the UI
// goroutine) and then runs then.
func (u *UI) askPassword(name, why string, store func(string) error, then func()) {
	pw := newPasswordEntry()
	pw.onEscape = u.closeTopDialog
	text := widget.NewLabel(why + "\nEnter the password; Poplar keeps it in the system keyring.")
	text.Wrapping = fyne.TextWrapWord
	d := dialog.NewForm("Password for "+name, "Save and check", "Cancel",
		[]*widget.FormItem{widget.NewFormItem("", text), widget.NewFormItem("Password", pw)}, func(ok bool) {
			if !ok || pw.Text == "" {
				return
			}
			secret := pw.Text
			u.bg(func() {
				err := store(secret)
				u.do(func() {
					if err != nil {
						what, remedy := account.Explain(err, name)
						u.setStatus(what + " — " + remedy)
						return
					}
					u.checkSucceeded(name)
					then()
				})
			})
		}, u.win)
	d.Resize(fyne.NewSize(460, 240))
	u.showDialog(d)
	u.win.Canvas().Focus(pw)
}

// certificateText describes a certificate for a person deciding whether to trust it.
func certificateText(ce *pop.CertificateError) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Server: %s\nSubject: %s\nIssuer: %s\n", ce.Host, ce.Subject, ce.Issuer)
	if len(ce.Names) > 0 {
		fmt.Fprintf(&b, "Valid for: %s\n", strings.Join(ce.Names, ", "))
	}
	if !ce.NotBefore.IsZero() {
		fmt.Fprintf(&b, "Valid from %s to %s\n", ce.NotBefore.Local().Format("2 Jan 2006"), ce.NotAfter.Local().Format("2 Jan 2006"))
	}
	fmt.Fprintf(&b, "SHA-256 fingerprint:\n%s", ce.Fingerprint)
	if ce.Reason == pop.CertPinChanged {
		fmt.Fprintf(&b, "\nTrusted before:\n%s", ce.Pinned)
	}
	return b.String()
}

// certificateDialog shows an untrusted certificate with its details and, when the user may trust
// it, a "Trust this certificate" button that runs trust. A certificate that changed since it was
// trusted gets a warning first.
func (u *UI) certificateDialog(name string, ce *pop.CertificateError, trust func()) {
	what, remedy := account.Explain(ce, name)
	head := widget.NewLabel(what + ".")
	head.Wrapping = fyne.TextWrapWord
	head.Importance = widget.WarningImportance
	details := widget.NewLabel(certificateText(ce))
	details.Selectable = true
	details.Wrapping = fyne.TextWrapBreak
	details.TextStyle = fyne.TextStyle{Monospace: true}
	meaning := widget.NewLabel("Trusting pins this exact certificate for " + name + ": Poplar then accepts it and refuses any other, " +
		"and warns you if the server's certificate ever changes. Compare the fingerprint with the one your provider or server administrator gives you first.")
	if ce.Reason == pop.CertPinChanged {
		head.Importance = widget.DangerImportance
		meaning.SetText(remedy + ". Trust the new certificate only after your provider confirmed that it changed.")
	}
	meaning.Wrapping = fyne.TextWrapWord
	var d dialog.Dialog
	trustBtn := widget.NewButton("Trust this certificate", func() {
		d.Hide()
		trust()
	})
	if ce.Reason == pop.CertPinChanged {
		trustBtn.SetText("Trust the new certificate")
		trustBtn.Importance = widget.DangerImportance
	} else {
		trustBtn.Importance = widget.HighImportance
	}
	cancel := widget.NewButton("Do not trust", func() { d.Hide() })
	content := container.NewBorder(container.NewVBox(head, meaning), container.NewHBox(layout.NewSpacer(), cancel, trustBtn), nil, nil,
		container.NewVScroll(details))
	d = dialog.NewCustomWithoutButtons("Certificate of "+name, content, u.win)
	d.Resize(fyne.NewSize(560, 480))
	u.showDialog(d)
}

// trustAndCheck pins the certificate for the account, saves it and checks again.
func (u *UI) trustAndCheck(name string, ce *pop.CertificateError) {
	a, ok := u.findAccount(name)
	if !ok {
		return
	}
	if err := account.TrustCertificate(&a, ce); err != nil {
		u.setStatus(err.Error())
		return
	}
	u.saveAccount(a, "", false, func(err error) {
		if err != nil {
			u.setStatus("Could not save the trusted certificate: " + err.Error())
			return
		}
		u.checkSucceeded(name)
		u.setStatus("Trusted the certificate of " + name)
		u.runner.Check(name)
	})
}

// switchSecurityDialog offers to use the security the port expects.
func (u *UI) switchSecurityDialog(name string, we *pop.WrongSecurityError) {
	what, _ := account.Explain(we, name)
	want := securityName(we.Want)
	u.confirm("Switch to "+want+"?", what+".\nSwitch the account to "+want+"?", func() {
		a, ok := u.findAccount(name)
		if !ok {
			return
		}
		a.Security = we.Want.String()
		u.saveAccount(a, "", false, func(err error) {
			if err != nil {
				u.setStatus("Could not save: " + err.Error())
				return
			}
			u.checkSucceeded(name)
			u.runner.Check(name)
		})
	})
}

func securityName(s pop.Security) string {
	switch s {
	case pop.SecurityTLS:
		return "TLS"
	case pop.SecuritySTARTTLS:
		return "STARTTLS"
	}
	return "no encryption"
}

// formFailure offers, inside the account editor, what helps after a failed Test connection or
// Detect: trusting the certificate fills the form's fingerprint, a wrong port switches the
// form's security. Nothing is saved until the user saves.
func (u *UI) formFailure(f *accountForm, err error) {
	var ce *pop.CertificateError
	var we *pop.WrongSecurityError
	switch {
	case errors.As(err, &ce):
		name := strings.TrimSpace(f.name.Text)
		u.certificateDialog(firstNonEmpty(name, ce.Host), ce, func() {
			f.fingerprint.SetText(ce.Fingerprint)
			f.testResult.SetText("The certificate will be trusted when you save. Test connection again to check.")
		})
	case errors.As(err, &we):
		what, _ := account.Explain(we, f.host.Text)
		want := securityName(we.Want)
		u.confirm("Switch to "+want+"?", what+".\nSwitch to "+want+"?", func() {
			port := f.port.Text
			f.security.SetSelected(we.Want.String())
			f.port.SetText(port) // the same port, the security it expects
		})
	}
}

// detectServer finds the security and port the form's host answers on (995 with TLS, then 110
// with STARTTLS), without sending any password, and fills them in.
func (u *UI) detectServer(f *accountForm, btn *widget.Button) {
	host := strings.TrimSpace(f.host.Text)
	if host == "" {
		f.testResult.SetText("Enter the server's name first.")
		return
	}
	a := account.New(firstNonEmpty(strings.TrimSpace(f.name.Text), "new"), host, strings.TrimSpace(f.user.Text))
	a.CAFile, a.Fingerprint, a.Auth = strings.TrimSpace(f.caFile.Text), strings.TrimSpace(f.fingerprint.Text), f.auth.Selected
	btn.Disable()
	f.testResult.SetText("Looking for a POP3 server on " + host + "…")
	u.bg(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 45*time.Second)
		defer cancel()
		det, err := account.Detect(ctx, a, account.DetectOptions{})
		u.do(func() {
			btn.Enable()
			if err != nil {
				what, remedy := account.Explain(err, host)
				f.testResult.SetText(what + ". " + remedy + ".")
				return
			}
			f.security.SetSelected(det.Account.Security)
			f.port.SetText(strconv.Itoa(det.Account.Port))
			text := fmt.Sprintf("Found a POP3 server on port %d with %s.", det.Account.Port, strings.ToUpper(det.Account.Security))
			if len(det.Methods) > 0 {
				text += " It offers sign-in with " + strings.Join(det.Methods, ", ") + "."
			}
			if det.LoginProblem != nil {
				what, remedy := account.Explain(det.LoginProblem, host)
				text += "\n" + what + ". " + remedy + "."
			}
			f.testResult.SetText(text)
			if det.Certificate != nil {
				u.formFailure(f, det.Certificate)
			}
		})
	})
}
