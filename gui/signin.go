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

// signIn signs a in with its provider in the browser, storing the refresh token in the keyring,
// and then calls done on the UI goroutine (nil once signed in; context.Canceled after Cancel).
func (u *UI) signIn(a account.Account, done func(error)) {
	ctx, cancel := context.WithCancel(context.Background())
	text := widget.NewLabel("Sign in to " + providerName(a) + " in your browser to let Poplar read and send the mail of " + a.Email +
		". If the browser did not open, open this address:")
	text.Wrapping = fyne.TextWrapWord
	link := widget.NewLabel("…")
	link.Wrapping = fyne.TextWrapBreak
	link.Selectable = true
	copyBtn := widget.NewButtonWithIcon("Copy address", theme.ContentCopyIcon(), func() {
		u.app.Clipboard().SetContent(link.Text)
	})
	copyBtn.Disable()
	bar := widget.NewProgressBarInfinite()
	d := dialog.NewCustom("Sign in to "+a.Name, "Cancel", container.NewVBox(text, link, copyBtn, bar), u.win)
	d.SetOnClosed(cancel)
	d.Resize(fyne.NewSize(520, 280))
	u.showDialog(d)
	secrets := u.secrets()
	u.bg(func() {
		err := account.SignIn(ctx, a, secrets, account.SignInOptions{
			ShowURL: func(url string) {
				u.do(func() {
					link.SetText(url)
					copyBtn.Enable()
				})
			},
			OpenBrowser: u.openURL,
		})
		u.do(func() {
			bar.Stop()
			if ctx.Err() == nil {
				d.Hide()
			}
			cancel()
			done(err)
		})
	})
}

// signInAndCheck signs a in and, once signed in, checks it; a failure goes to the status bar.
func (u *UI) signInAndCheck(a account.Account) {
	u.signIn(a, func(err error) {
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

// signInAgainPrompt says that name must sign in again and offers to.
func (u *UI) signInAgainPrompt(name string, err error) {
	a, ok := u.findAccount(name)
	if !ok {
		return
	}
	what, _ := account.Explain(err, name)
	u.confirm("Sign in again", what+".\nSign in to "+providerName(a)+" again in your browser?", func() { u.signInAndCheck(a) })
}
