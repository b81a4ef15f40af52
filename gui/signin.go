package gui

import (
	"context"
	"errors"
	"os"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/poplar-mail/poplar/account"
)

// OAuth2 sign-in (account.SignIn): the browser flow with the address also shown, selectable and
// copyable, while Poplar waits for the provider's answer on 127.0.0.1; Cancel stops the wait. A
// check whose sign-in was revoked or has expired (account.ErrSignInAgain) offers "Sign in again".

// providerName names an account's sign-in provider for a user.
func providerName(a account.Account) string {
	switch a.OAuth.Provider {
	case account.ProviderGoogle:
		return "Google"
	case account.ProviderMicrosoft:
		return "Microsoft"
	}
	return "your provider"
}

// openURL opens a sign-in address: Env.OpenURL, else the user's browser ($BROWSER, xdg-open).
func (u *UI) openURL(url string) error {
	if u.env.OpenURL != nil {
		return u.env.OpenURL(url)
	}
	return account.OpenBrowser(url, os.Getenv)
}

// signInView is an open sign-in dialog.
type signInView struct {
	d    dialog.Dialog
	link *widget.Label // the address to open (browser) or where to enter the code (device)
	code *widget.Label // the device flow's code; empty in the browser flow
}

// signIn signs a in with its provider and stores the refresh token in the keyring, then calls
// done on the UI goroutine (nil once signed in; context.Canceled after Cancel). In the browser
// flow the dialog shows the address too and offers a code instead (the device flow, RFC 8628) when
// the provider has one: for a browser on another device.
func (u *UI) signIn(a account.Account, device bool, done func(error)) *signInView {
	ctx, cancel := context.WithCancel(u.life)
	v := &signInView{link: widget.NewLabel("…"), code: widget.NewLabelWithStyle("", fyne.TextAlignCenter, fyne.TextStyle{Monospace: true})}
	v.link.Wrapping = fyne.TextWrapBreak
	v.link.Selectable = true
	v.code.Selectable = true
	v.code.SizeName = theme.SizeNameHeadingText
	what := "Sign in to " + providerName(a) + " in your browser to let Poplar read and send the mail of " + a.Email +
		". If the browser did not open, open this address:"
	if device {
		what = "On any device with a browser, open this address and enter the code below to let Poplar read and send the mail of " + a.Email + ":"
	}
	copyBtn := widget.NewButtonWithIcon("Copy address", theme.ContentCopyIcon(), func() {
		u.app.Clipboard().SetContent(v.link.Text)
	})
	copyBtn.Disable()
	bar := widget.NewProgressBarInfinite()
	switched := false // the user chose the code instead: this flow's end is not the sign-in's
	box := container.NewVBox(wrapped(what), v.link, container.NewHBox(copyBtn), v.code, bar)
	if !device && a.OAuth.Endpoints().DeviceURL != "" {
		box.Add(widget.NewButton("Sign in with a code on another device instead", func() {
			switched = true
			v.d.Hide() // cancels this flow
			u.signIn(a, true, done)
		}))
	}
	v.d = dialog.NewCustom("Sign in to "+a.Name, "Cancel", box, u.win)
	v.d.SetOnClosed(cancel)
	v.d.Resize(fyne.NewSize(540, 320))
	u.showDialog(v.d)
	secrets := u.secrets()
	show := func(link, code string) {
		u.do(func() {
			v.link.SetText(link)
			v.code.SetText(code)
			copyBtn.Enable()
		})
	}
	u.bg(func() {
		err := account.SignIn(ctx, a, secrets, account.SignInOptions{
			Device:         device,
			ShowURL:        func(url string) { show(url, "") },
			OpenBrowser:    u.openURL,
			ShowDeviceCode: func(dc account.DeviceCode) { show(dc.VerificationURI, dc.UserCode) },
		})
		u.do(func() {
			bar.Stop()
			if ctx.Err() == nil {
				v.d.Hide()
			}
			cancel()
			if !switched {
				done(err)
			}
		})
	})
	return v
}

// signInAndCheck signs a in and, once signed in, checks it; a failure goes to the status bar.
func (u *UI) signInAndCheck(a account.Account) {
	u.signIn(a, false, func(err error) {
		switch {
		case err == nil:
			u.checkSucceeded(a.Name)
			u.setStatus("Signed in to " + a.Name)
			u.runner.Check(a.Name)
		case errors.Is(err, context.Canceled):
			u.setStatus("Sign-in to " + a.Name + " cancelled")
		default:
			what, remedy := account.Explain(err, a.Name)
			u.setStatus(what + " — " + remedy)
		}
	})
}

// signInAgainPrompt says that name must sign in (again, or for the first time) and offers to.
func (u *UI) signInAgainPrompt(name string, err error) {
	a, ok := u.findAccount(name)
	if !ok {
		return
	}
	what, _ := account.Explain(err, name)
	u.confirm("Sign in", what+".\nSign in to "+providerName(a)+" in your browser?", func() { u.signInAndCheck(a) })
}
