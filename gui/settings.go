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
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/poplar-mail/poplar/account"
	"github.com/poplar-mail/poplar/pop"
	"github.com/poplar-mail/poplar/storage"
)

// welcome is the first-run screen: add an account or explore the demo mailbox.
func (u *UI) welcome() fyne.CanvasObject {
	title := widget.NewLabelWithStyle("Welcome to Poplar", fyne.TextAlignCenter, fyne.TextStyle{Bold: true})
	text := widget.NewLabelWithStyle("Poplar brings your mail home over POP3 and keeps it on this computer,\nreadable offline. Add your mail account to begin.",
		fyne.TextAlignCenter, fyne.TextStyle{})
	add := widget.NewButtonWithIcon("Add account…", theme.ContentAddIcon(), func() { u.addAccount() })
	add.Importance = widget.HighImportance
	demo := widget.NewButtonWithIcon("Explore a demo mailbox", theme.MediaPlayIcon(), func() {
		u.setStatus("Starting the demo mailbox…")
		u.startDemo()
	})
	return container.NewCenter(container.NewVBox(title, text, container.NewHBox(layout.NewSpacer(), add, demo, layout.NewSpacer())))
}

// startDemo is replaced by the demo runner (see demo.go); tests may override it.
func (u *UI) startDemo() {
	if u.demo != nil {
		u.demo()
	}
}

// showMain switches from the welcome screen to the main window.
func (u *UI) showMain() {
	u.win.SetContent(u.main)
	u.start()
}

// showSettings lists the accounts with Add, Edit and Remove.
func (u *UI) showSettings() {
	accts := u.accounts()
	names := make([]string, len(accts))
	for i, a := range accts {
		names[i] = a.Name
	}
	selected := -1
	list := widget.NewList(func() int { return len(names) }, func() fyne.CanvasObject { return widget.NewLabel("account name") },
		func(i widget.ListItemID, o fyne.CanvasObject) { o.(*widget.Label).SetText(names[i]) })
	list.OnSelected = func(i widget.ListItemID) { selected = i }
	var d dialog.Dialog
	add := widget.NewButtonWithIcon("Add…", theme.ContentAddIcon(), func() { d.Hide(); u.addAccount() })
	edit := widget.NewButtonWithIcon("Edit…", theme.DocumentCreateIcon(), func() {
		if selected >= 0 {
			a := accts[selected]
			d.Hide()
			u.editAccount(&a)
		}
	})
	remove := widget.NewButtonWithIcon("Remove", theme.DeleteIcon(), func() {
		if selected < 0 {
			return
		}
		name := names[selected]
		u.confirm("Remove account", fmt.Sprintf("Remove %q? Its downloaded mail stays on this computer.", name), func() {
			d.Hide()
			u.removeAccount(name)
		})
	})
	tray := widget.NewCheck("Keep Poplar in the tray when the window is closed (checks go on)", func(on bool) {
		u.app.Preferences().SetBool(prefKeepInTray, on)
	})
	tray.SetChecked(u.app.Preferences().Bool(prefKeepInTray))
	if u.tray == nil {
		tray.Disable()
	}
	content := container.NewBorder(nil, container.NewVBox(container.NewHBox(add, edit, remove), widget.NewSeparator(), tray), nil, nil, list)
	d = dialog.NewCustom("Settings — accounts", "Close", content, u.win)
	d.Resize(fyne.NewSize(480, 380))
	u.showDialog(d)
}

// wrapped is a label whose text wraps at the width it is given.
func wrapped(text string) *widget.Label {
	l := widget.NewLabel(text)
	l.Wrapping = fyne.TextWrapWord
	return l
}

// accountForm is the account editor: every setting, with inline validation.
type accountForm struct {
	name, email, display, host, port, user, caFile, fingerprint *keyEntry
	password                                                    *keyEntry
	security, auth                                              *widget.Select
	leave, deleteHere, startup, enabled, insecure               *widget.Check
	days, every, sizeLimit                                      *keyEntry
	warning, testResult, policyHelp                             *widget.Label
	// Outgoing: the SMTP submission server and the sending identity.
	smtpHost, smtpPort, smtpUser, smtpFingerprint, replyTo *keyEntry
	smtpPassword, signature                                *keyEntry
	smtpSecurity                                           *widget.Select
	smtpTestBtn                                            *widget.Button
	// Sign-in: an OAuth2 account's provider, the client registered with it, and Sign in….
	oauthProvider                                     *widget.Select
	clientID, clientSecret, authURL, tokenURL, scopes *keyEntry
	signInBtn                                         *widget.Button
	oauth                                             account.OAuth // the settings the form does not show (device URL, scopes)
	tabs                                              *container.AppTabs
	saveBtn, testBtn, detectBtn                       *widget.Button
}

// signInPage is the index of the editor's Sign-in page.
const signInPage = 4

// entries are the form's text fields.
func (f *accountForm) entries() []*keyEntry {
	return []*keyEntry{f.name, f.email, f.display, f.host, f.port, f.user, f.caFile, f.fingerprint, f.password, f.days, f.every, f.sizeLimit,
		f.smtpHost, f.smtpPort, f.smtpUser, f.smtpFingerprint, f.replyTo, f.smtpPassword, f.signature,
		f.clientID, f.clientSecret, f.authURL, f.tokenURL, f.scopes}
}

// policySentence says in one plain sentence what the leave-on-server choice does.
func policySentence(leave bool) string {
	if leave {
		return "Poplar downloads a copy and leaves the mail on the server, so webmail and your phone still see it."
	}
	return "Poplar deletes each message from the server as soon as it is safely stored here; webmail and other devices will no longer see it."
}

func intValidator(field string, lo, hi int) fyne.StringValidator {
	return func(s string) error {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < lo || n > hi {
			return fmt.Errorf("%s must be a number from %d to %d", field, lo, hi)
		}
		return nil
	}
}

func newAccountForm(a account.Account, isNew bool) *accountForm {
	f := &accountForm{}
	entry := func(v, placeholder string) *keyEntry {
		e := newKeyEntry()
		e.SetText(v)
		e.SetPlaceHolder(placeholder)
		return e
	}
	f.name = entry(a.Name, "work")
	f.name.Validator = func(s string) error {
		if !account.ValidName(s) {
			return errors.New("letters, digits and . _ @ + - only")
		}
		return nil
	}
	if !isNew {
		f.name.Disable()
	}
	f.email = entry(a.Email, "you@example.org")
	f.display = entry(a.DisplayName, "Your Name")
	f.host = entry(a.Host, "pop.example.org")
	f.host.Validator = func(s string) error {
		if strings.TrimSpace(s) == "" || strings.ContainsAny(s, " /") {
			return errors.New("a host name is needed")
		}
		return nil
	}
	f.port = entry(strconv.Itoa(a.Port), "995")
	f.port.Validator = intValidator("port", 1, 65535)
	f.user = entry(a.Username, "user name")
	f.user.Validator = func(s string) error {
		if strings.TrimSpace(s) == "" {
			return errors.New("a user name is needed")
		}
		return nil
	}
	f.password = newPasswordEntry()
	f.password.SetPlaceHolder("stored in the system keyring")
	f.caFile = entry(a.CAFile, "optional: /path/to/ca.pem")
	f.fingerprint = entry(a.Fingerprint, "optional: SHA-256 of a self-signed certificate")
	f.warning = widget.NewLabel("")
	f.warning.Importance = widget.DangerImportance
	f.warning.Wrapping = fyne.TextWrapWord
	f.security = widget.NewSelect([]string{account.SecurityTLS, account.SecuritySTARTTLS, account.SecurityNone}, func(s string) {
		sec, err := pop.ParseSecurity(s)
		if err == nil {
			f.port.SetText(strconv.Itoa(sec.DefaultPort()))
		}
		if s == account.SecurityNone {
			f.warning.SetText("No encryption: anyone on the network can read your password and mail.")
			f.warning.Show()
		} else {
			f.warning.Hide()
		}
	})
	sec := a.Security
	port := a.Port
	f.security.SetSelected(sec)
	if port != 0 {
		f.port.SetText(strconv.Itoa(port)) // keep a custom port over the default SetSelected chose
	}
	f.oauth = a.OAuth
	f.oauthProvider = widget.NewSelect([]string{account.ProviderGoogle, account.ProviderMicrosoft, account.ProviderCustom}, nil)
	f.oauthProvider.SetSelected(a.OAuth.Provider)
	f.clientID = entry(a.OAuth.ClientID, "from the app you registered (docs/oauth2.md)")
	f.clientSecret = newPasswordEntry()
	f.clientSecret.SetPlaceHolder("only if the provider requires one (Google does)")
	f.authURL = entry(a.OAuth.AuthURL, "the provider's (custom: its authorization URL)")
	f.tokenURL = entry(a.OAuth.TokenURL, "the provider's (custom: its token URL)")
	f.scopes = entry(strings.Join(a.OAuth.Scopes, " "), "the provider's (custom: what to ask for, space-separated)")
	f.signInBtn = widget.NewButtonWithIcon("Sign in…", theme.LoginIcon(), nil)
	f.auth = widget.NewSelect([]string{"auto", "password", "apop", "cram-md5", "scram", "oauth2"}, func(s string) {
		// An OAuth2 account has no password: it signs in in the browser (the Sign-in page).
		if s == "oauth2" {
			f.password.SetText("")
			f.password.SetPlaceHolder("none: signs in in the browser (Sign-in page)")
			f.password.Disable()
		} else {
			f.password.SetPlaceHolder("stored in the system keyring")
			f.password.Enable()
		}
	})
	f.auth.SetSelected(firstNonEmpty(a.Auth, "auto"))
	f.insecure = widget.NewCheck("Allow the password over an unencrypted connection", nil)
	f.insecure.SetChecked(a.AllowInsecureAuth)
	f.days = entry(strconv.Itoa(a.DeleteAfterDays), "0")
	f.days.Validator = intValidator("days", 0, 36500)
	f.policyHelp = widget.NewLabel("")
	f.policyHelp.Wrapping = fyne.TextWrapWord
	f.leave = widget.NewCheck("Leave messages on the server", func(on bool) {
		if on {
			f.days.Enable()
		} else {
			f.days.Disable()
		}
		f.policyHelp.SetText(policySentence(on))
	})
	f.leave.SetChecked(a.LeaveOnServer)
	f.policyHelp.SetText(policySentence(a.LeaveOnServer))
	if !a.LeaveOnServer {
		f.days.Disable()
	}
	f.deleteHere = widget.NewCheck("Delete from the server when deleted here", nil)
	f.deleteHere.SetChecked(a.DeleteWhenDeletedHere)
	f.startup = widget.NewCheck("Check at startup", nil)
	f.startup.SetChecked(a.CheckAtStartup)
	f.every = entry(strconv.Itoa(a.CheckEveryMinutes), "0")
	f.every.Validator = intValidator("minutes", 0, 10080)
	f.sizeLimit = entry(strconv.Itoa(a.SizeLimitKB), "0")
	f.sizeLimit.Validator = intValidator("size limit", 0, 10<<20)
	f.enabled = widget.NewCheck("Enabled", nil)
	f.enabled.SetChecked(a.Enabled)
	f.testResult = widget.NewLabel("")
	f.testResult.Wrapping = fyne.TextWrapWord
	f.testResult.Selectable = true
	f.smtpHost = entry(a.SMTP.Host, "smtp.example.org")
	f.smtpPort = entry("", "465")
	if a.SMTP.Port != 0 {
		f.smtpPort.SetText(strconv.Itoa(a.SMTP.Port))
	}
	f.smtpPort.Validator = func(s string) error {
		if strings.TrimSpace(s) == "" {
			return nil
		}
		return intValidator("outgoing port", 1, 65535)(s)
	}
	f.smtpSecurity = widget.NewSelect([]string{account.SecurityTLS, account.SecuritySTARTTLS, account.SecurityNone}, func(s string) {
		f.smtpPort.SetPlaceHolder(strconv.Itoa(account.SMTPDefaultPort(s)))
	})
	f.smtpSecurity.SetSelected(firstNonEmpty(a.SMTP.Security, account.SecurityTLS))
	f.smtpUser = entry(a.SMTP.Username, "the incoming user name")
	f.smtpPassword = newPasswordEntry()
	f.smtpPassword.SetPlaceHolder("only for another user name")
	f.smtpFingerprint = entry(a.SMTP.Fingerprint, "optional: SHA-256 of a self-signed certificate")
	f.replyTo = entry(a.ReplyTo, "optional: Name <address>")
	f.signature = newKeyEntry()
	f.signature.MultiLine = true
	f.signature.SetMinRowsVisible(3)
	f.signature.SetText(a.Signature)
	f.smtpTestBtn = widget.NewButtonWithIcon("Test outgoing server", theme.ConfirmIcon(), nil)
	// Three pages instead of one long form: each fits the editor without scrolling (a text
	// field under the mouse would take the wheel from a scrolling form).
	f.tabs = container.NewAppTabs(
		container.NewTabItem("Account", widget.NewForm(
			widget.NewFormItem("Account name", f.name),
			widget.NewFormItem("Your name", f.display),
			widget.NewFormItem("Email", f.email),
			widget.NewFormItem("Server", f.host),
			widget.NewFormItem("Security", container.NewVBox(f.security, f.warning)), // a hidden warning takes no room
			widget.NewFormItem("Port", f.port),
			widget.NewFormItem("Login method", f.auth),
			widget.NewFormItem("User name", f.user),
			widget.NewFormItem("Password", f.password),
		)),
		container.NewTabItem("Mail on the server", widget.NewForm(
			widget.NewFormItem("", f.leave),
			widget.NewFormItem("", f.policyHelp),
			&widget.FormItem{Text: "Delete after days", Widget: f.days,
				HintText: "0 keeps them for good; otherwise each is deleted N days after download."},
			&widget.FormItem{Widget: f.deleteHere, HintText: "Emptying the Trash here deletes those messages from the server too."},
			widget.NewFormItem("", f.startup),
			widget.NewFormItem("Check every (min)", f.every),
			&widget.FormItem{Text: "Size limit (KB)", Widget: f.sizeLimit, HintText: "Larger messages: only the header is downloaded. 0: no limit."},
			widget.NewFormItem("", f.enabled),
		)),
		container.NewTabItem("Outgoing", widget.NewForm(
			&widget.FormItem{Text: "SMTP server", Widget: f.smtpHost, HintText: "Empty: this account does not send mail."},
			widget.NewFormItem("Security", f.smtpSecurity),
			widget.NewFormItem("Port", f.smtpPort),
			&widget.FormItem{Text: "User name", Widget: f.smtpUser, HintText: "Empty: the incoming user name and password."},
			&widget.FormItem{Text: "Password", Widget: f.smtpPassword, HintText: "Only when the user name differs (kept in the keyring)."},
			widget.NewFormItem("Fingerprint", f.smtpFingerprint),
			widget.NewFormItem("Reply-To", f.replyTo),
			&widget.FormItem{Text: "Signature", Widget: f.signature},
			widget.NewFormItem("", f.smtpTestBtn),
		)),
		container.NewTabItem("Security", widget.NewForm(
			&widget.FormItem{Text: "CA file", Widget: f.caFile, HintText: "The authority that signed a private server's certificate."},
			&widget.FormItem{Text: "Fingerprint", Widget: f.fingerprint, HintText: "A trusted certificate's SHA-256 (Test connection offers to fill it in)."},
			widget.NewFormItem("", f.insecure),
		)),
		container.NewTabItem("Sign-in", widget.NewForm(
			&widget.FormItem{Widget: wrapped("For the login method oauth2 (Gmail, Microsoft 365): Poplar signs in in your browser " +
				"and keeps only the sign-in in the system keyring. Register an app with the provider first (docs/oauth2.md).")},
			widget.NewFormItem("Provider", f.oauthProvider),
			widget.NewFormItem("Client ID", f.clientID),
			&widget.FormItem{Text: "Client secret", Widget: f.clientSecret, HintText: "Kept in the keyring."},
			widget.NewFormItem("Authorization URL", f.authURL),
			widget.NewFormItem("Token URL", f.tokenURL),
			widget.NewFormItem("Scopes", f.scopes),
			&widget.FormItem{Widget: f.signInBtn, HintText: "Saving a new OAuth2 account signs in too."},
		)),
	)
	if sec != account.SecurityNone {
		f.warning.Hide()
	}
	return f
}

// account reads the form into an Account and validates it.
func (f *accountForm) account() (account.Account, error) {
	num := func(e *keyEntry) int { n, _ := strconv.Atoi(strings.TrimSpace(e.Text)); return n }
	a := account.Account{
		Name: strings.TrimSpace(f.name.Text), Email: strings.TrimSpace(f.email.Text), DisplayName: strings.TrimSpace(f.display.Text),
		Host: strings.TrimSpace(f.host.Text), Security: f.security.Selected, Auth: f.auth.Selected, Username: strings.TrimSpace(f.user.Text),
		CAFile: strings.TrimSpace(f.caFile.Text), Fingerprint: strings.TrimSpace(f.fingerprint.Text), AllowInsecureAuth: f.insecure.Checked,
		LeaveOnServer: f.leave.Checked, DeleteWhenDeletedHere: f.deleteHere.Checked, CheckAtStartup: f.startup.Checked, Enabled: f.enabled.Checked,
	}
	for _, e := range []*keyEntry{f.port, f.days, f.every, f.sizeLimit} {
		if e.Validator != nil {
			if err := e.Validator(e.Text); err != nil && !(e == f.days && !f.leave.Checked) {
				return a, err
			}
		}
	}
	a.Port, a.DeleteAfterDays, a.CheckEveryMinutes, a.SizeLimitKB = num(f.port), num(f.days), num(f.every), num(f.sizeLimit)
	if err := f.smtpPort.Validator(f.smtpPort.Text); err != nil {
		return a, err
	}
	a.SMTP = account.SMTPServer{Host: strings.TrimSpace(f.smtpHost.Text), Security: f.smtpSecurity.Selected, Port: num(f.smtpPort),
		Username: strings.TrimSpace(f.smtpUser.Text), Fingerprint: strings.TrimSpace(f.smtpFingerprint.Text)}
	if a.SMTP.Host == "" {
		a.SMTP = account.SMTPServer{}
	} else if a.SMTP.Port == 0 {
		a.SMTP.Port = account.SMTPDefaultPort(a.SMTP.Security)
	}
	a.ReplyTo, a.Signature = strings.TrimSpace(f.replyTo.Text), strings.TrimRight(f.signature.Text, "\n ")
	if a.Auth == "oauth2" {
		a.OAuth = f.oauth
		a.OAuth.Provider, a.OAuth.ClientID = f.oauthProvider.Selected, strings.TrimSpace(f.clientID.Text)
		a.OAuth.AuthURL, a.OAuth.TokenURL = strings.TrimSpace(f.authURL.Text), strings.TrimSpace(f.tokenURL.Text)
		a.OAuth.Scopes = strings.Fields(f.scopes.Text)
		account.OAuthDefaults(&a)
	}
	if !a.LeaveOnServer {
		a.DeleteAfterDays = 0
	}
	return a, a.Validate()
}

// editAccount opens the account editor (a == nil adds a new account) and returns its form.
func (u *UI) editAccount(a *account.Account) *accountForm {
	if a == nil {
		return u.openEditor(account.New("", "", ""), true, "")
	}
	return u.openEditor(*a, false, "")
}

// editNewAccount opens the editor for a new account filled in with a (and the password typed in
// the setup wizard).
func (u *UI) editNewAccount(a account.Account, password string) *accountForm {
	return u.openEditor(a, true, password)
}

// openEditor opens the account editor on base and returns its form.
func (u *UI) openEditor(base account.Account, isNew bool, typed string) *accountForm {
	f := newAccountForm(base, isNew)
	f.password.SetText(typed)
	var d dialog.Dialog
	test := widget.NewButtonWithIcon("Test connection", theme.ConfirmIcon(), nil)
	test.OnTapped = func() { u.testConnection(f, test) }
	var save *widget.Button
	save = widget.NewButtonWithIcon("Save", theme.DocumentSaveIcon(), func() {
		acct, err := f.account()
		if err != nil {
			f.testResult.SetText("Cannot save: " + err.Error())
			return
		}
		password, smtpPassword, clientSecret := f.password.Text, f.smtpPassword.Text, f.clientSecret.Text
		oauth := acct.Auth == "oauth2" && acct.OAuth.Configured()
		// A new OAuth2 account, or one with another provider or client, signs in once saved.
		signIn := oauth && (isNew || base.Auth != "oauth2" || !sameOAuth(base.OAuth, acct.OAuth) || clientSecret != "")
		commit := func() {
			save.Disable()
			u.saveAccount(acct, password, isNew, func(err error) {
				save.Enable()
				if err != nil {
					f.testResult.SetText("Cannot save: " + err.Error())
					return
				}
				d.Hide()
				secrets := u.secrets()
				u.bg(func() {
					var err error
					if smtpPassword != "" && acct.SMTP.Host != "" && !oauth {
						err = account.SetSMTPPassword(acct, secrets, smtpPassword)
					}
					if err == nil && clientSecret != "" && oauth {
						err = account.SetOAuthClientSecret(acct, secrets, clientSecret)
					}
					u.do(func() {
						if err != nil {
							what, remedy := account.Explain(err, acct.Name)
							u.setStatus(what + " — " + remedy)
							return
						}
						if signIn {
							u.signInAndCheck(acct)
						}
					})
				})
			})
		}
		if isNew || !base.LeaveOnServer || acct.LeaveOnServer {
			commit()
			return
		}
		u.confirmDeleteFromServer(acct.Name, commit)
	})
	save.Importance = widget.HighImportance
	cancel := widget.NewButton("Cancel", func() { d.Hide() })
	f.smtpTestBtn.OnTapped = func() { u.testOutgoing(f) }
	f.signInBtn.OnTapped = func() {
		saved, ok := u.findAccount(base.Name)
		if isNew || !ok || saved.Auth != "oauth2" || !saved.OAuth.Configured() {
			f.testResult.SetText("Save the account with the login method oauth2 and a client ID: saving signs in.")
			return
		}
		u.signInAndCheck(saved)
	}
	detect := widget.NewButtonWithIcon("Detect", theme.SearchIcon(), nil)
	detect.OnTapped = func() { u.detectServer(f, detect) }
	f.saveBtn, f.testBtn, f.detectBtn = save, test, detect
	for _, e := range f.entries() {
		e.onEscape = u.closeTopDialog
		e.onShortcut = nil
		e.OnChanged = func(string) { f.testResult.SetText("") } // an old result no longer applies
	}
	content := container.NewBorder(nil, container.NewVBox(f.testResult, container.NewHBox(test, detect, layout.NewSpacer(), cancel, save)), nil, nil,
		f.tabs)
	title := "Add account"
	if !isNew {
		title = "Edit account " + base.Name
	}
	d = dialog.NewCustomWithoutButtons(title, content, u.win)
	d.Resize(fyne.NewSize(580, 660))
	u.showDialog(d)
	return f
}

// sameOAuth reports whether two OAuth settings sign in to the same provider with the same client.
func sameOAuth(a, b account.OAuth) bool {
	a, b = a.Endpoints(), b.Endpoints()
	return a.Provider == b.Provider && a.ClientID == b.ClientID && a.AuthURL == b.AuthURL && a.TokenURL == b.TokenURL &&
		strings.Join(a.Scopes, " ") == strings.Join(b.Scopes, " ")
}

// confirmDeleteFromServer asks before an existing account switches to deleting mail from the
// server, saying how many messages the next check removes there; yes runs commit.
func (u *UI) confirmDeleteFromServer(name string, commit func()) {
	u.bg(func() {
		n := -1
		if s, err := u.store(name); err == nil {
			if c, err := account.StoredOnServer(s); err == nil {
				n = c
			}
		}
		u.do(func() {
			what := "the messages already downloaded here"
			if n >= 0 {
				what = fmt.Sprintf("the %d messages already downloaded here", n)
			}
			msg := fmt.Sprintf("The next check deletes from the server %s, and every new message once it is stored here.\n"+
				"Webmail, your phone and other programs will no longer see them. Delete from the server?", what)
			dialog.ShowConfirm("Delete mail from the server?", msg, func(ok bool) {
				if ok {
					commit()
				}
			}, u.win)
		})
	})
}

// testConnection logs in with the form's settings off the UI goroutine and shows the result. With
// an empty password field it uses the stored password, but only for the server and user it was
// stored for: after the host, port, security or user name changed it asks for the password.
func (u *UI) testConnection(f *accountForm, btn *widget.Button) {
	acct, err := f.account()
	if err != nil {
		f.testResult.SetText(err.Error())
		return
	}
	pw := f.password.Text
	if pw == "" {
		saved, ok := u.findAccount(acct.Name)
		if !ok {
			f.testResult.SetText("Enter the password to test the connection.")
			return
		}
		if !saved.SameServer(acct) {
			f.testResult.SetText("Enter the password to test the connection: the stored one is sent only to the server and user it was saved for.")
			return
		}
	}
	btn.Disable()
	f.testResult.SetText("Connecting to " + acct.Addr() + "…")
	secrets := u.secrets()
	u.bg(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		secret := pw
		var err error
		if secret == "" {
			// The stored password, or an OAuth2 account's access token (refreshed when due).
			secret, err = account.LoginSecret(ctx, acct, secrets)
		}
		var caps pop.Capabilities
		var greeting string
		if err == nil {
			caps, greeting, err = account.TestConnection(ctx, acct, secret)
		}
		u.do(func() {
			btn.Enable()
			if err != nil {
				what, remedy := account.Explain(err, acct.Name)
				f.testResult.SetText(what + ". " + remedy + ".")
				u.formFailure(f, err)
				return
			}
			var feats []string
			if caps.Pipelining {
				feats = append(feats, "pipelining")
			}
			if caps.UIDL {
				feats = append(feats, "UIDL")
			}
			if caps.Top {
				feats = append(feats, "TOP")
			}
			if len(caps.SASL) > 0 {
				feats = append(feats, "SASL "+strings.Join(caps.SASL, " "))
			}
			f.testResult.SetText(fmt.Sprintf("Connected and logged in. %s\nServer supports: %s", greeting, strings.Join(feats, ", ")))
		})
	})
}

// saveAccount stores the account (the settings file, and the password in the keyring) in the
// background, applies it to the checks at once and calls done on the UI goroutine.
func (u *UI) saveAccount(a account.Account, password string, isNew bool, done func(error)) {
	u.bg(func() {
		u.mu.Lock()
		next := u.cfg.Clone()
		var err error
		if isNew {
			err = next.Add(a)
		} else {
			err = next.Update(a)
		}
		if err == nil {
			err = next.Save(u.env.ConfigDir)
		}
		if err == nil {
			u.cfg = next
		}
		secrets := u.env.Secrets
		u.mu.Unlock()
		var keyErr error
		if err == nil && password != "" {
			keyErr = secrets.Set(a.Name, password)
		}
		u.do(func() {
			if err != nil {
				done(err)
				return
			}
			u.runner.Configure(u.accounts()) // before done, which may check the account
			done(nil)
			if keyErr != nil {
				what, remedy := account.Explain(keyErr, a.Name)
				u.setStatus(what + " — " + remedy)
			}
			if u.win.Content() != u.main {
				u.showMain()
			} else {
				u.refreshFolders()
			}
			if isNew && a.Enabled && !(a.Auth == "oauth2" && a.OAuth.Configured()) { // OAuth2: after the sign-in
				u.runner.Check(a.Name)
			}
		})
	})
}

// removeAccount takes an account out of the settings and its password out of the keyring; its
// mail stays on this computer.
func (u *UI) removeAccount(name string) {
	u.bg(func() {
		u.mu.Lock()
		next := u.cfg.Clone()
		err := next.Remove(name)
		if err == nil {
			err = next.Save(u.env.ConfigDir)
		}
		if err == nil {
			u.cfg = next
		}
		secrets := u.env.Secrets
		u.mu.Unlock()
		if err == nil {
			secrets.Delete(name)
		}
		u.do(func() {
			if err != nil {
				u.setStatus(err.Error())
				return
			}
			u.runner.Configure(u.accounts())
			if u.acct == name {
				u.acct, u.folder = "", ""
				u.list.model.set(nil)
				u.list.selectKey("")
				u.reader.clear()
			}
			u.refreshFolders()
			u.setStatus(fmt.Sprintf("Removed %s; its mail stays on this computer", name))
		})
	})
}

// switchEnv points the app at other folders (the demo mailbox) and shows the main window. It
// reads the settings file: call it off the UI goroutine.
func (u *UI) switchEnv(configDir, dataDir string, secrets account.SecretStore) {
	cfg, err := account.LoadConfig(configDir)
	if err != nil {
		u.do(func() { u.setStatus(err.Error()) })
		return
	}
	u.runner.Close()
	u.mu.Lock()
	u.env.ConfigDir, u.env.DataDir, u.env.Secrets = configDir, dataDir, account.NewTokenCache(secrets)
	u.cfg = cfg
	u.stores = map[string]*storage.Store{}
	u.mu.Unlock()
	u.do(func() {
		u.runner = u.newRunner()
		u.showMain()
	})
}

// testOutgoing signs in to the form's outgoing server (EHLO, STARTTLS, AUTH, QUIT; no mail is
// sent) off the UI goroutine and shows the result. The password is the Outgoing page's, else the
// incoming one typed in the form, else the stored one when the server and user are unchanged.
func (u *UI) testOutgoing(f *accountForm) {
	acct, err := f.account()
	if err == nil && !acct.CanSend() {
		err = errors.New("enter the outgoing (SMTP) server first")
	}
	if err != nil {
		f.testResult.SetText(err.Error())
		return
	}
	pw := firstNonEmpty(f.smtpPassword.Text, map[bool]string{true: f.password.Text}[acct.SMTPUser() == acct.Username])
	saved, known := u.findAccount(acct.Name)
	if pw == "" && (!known || saved.SMTP.Host != acct.SMTP.Host || saved.SMTP.Port != acct.SMTP.Port || saved.SMTPUser() != acct.SMTPUser()) {
		f.testResult.SetText("Enter the password to test the outgoing server: a stored one is sent only to the server and user it was saved for.")
		return
	}
	f.smtpTestBtn.Disable()
	f.testResult.SetText("Connecting to " + acct.SMTPAddr() + "…")
	secrets := u.secrets()
	u.bg(func() {
		secret := pw
		var err error
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if secret == "" {
			secret, err = account.SMTPLoginSecret(ctx, saved, secrets)
		}
		var info account.OutgoingInfo
		if err == nil {
			info, err = account.TestOutgoing(ctx, acct, secret)
		}
		u.do(func() {
			f.smtpTestBtn.Enable()
			if err != nil {
				what, remedy := account.Explain(err, acct.Name)
				f.testResult.SetText(what + ". " + remedy + ".")
				return
			}
			text := "Connected to the outgoing server with " + strings.ToUpper(info.Security)
			if info.SignedIn {
				text += " and signed in"
			}
			text += "."
			if len(info.Auth) > 0 {
				text += " Sign-in methods: " + strings.Join(info.Auth, " ") + "."
			}
			if info.MaxSize > 0 {
				text += " Largest message: " + account.FormatSize(int64(info.MaxSize)) + "."
			}
			f.testResult.SetText(text)
		})
	})
}
