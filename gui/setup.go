package gui

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/poplar-mail/poplar/account"
	"github.com/poplar-mail/poplar/account/autoconfig"
	"github.com/poplar-mail/poplar/pop"
)

// setupWizard is "Add account…": the user gives a name, an address and a password; Poplar finds
// the servers (autoconfig.Finder: presets, the domain's file, the ISPDB, SRV, MX, guesses), shows
// each step as it runs, then the servers it found and checked. "Add account" signs in once and
// saves; "Edit settings…" opens the found settings in the account editor (with Test connection);
// "Configure manually" is there on every page. An unchecked server is never saved without the
// user opening it in the editor.
type setupWizard struct {
	u    *UI
	d    dialog.Dialog
	page *fyne.Container // the page shown, replaced as the wizard moves on

	display, email, password *keyEntry
	message                  *widget.Label // what went wrong, or what happens next

	cancel context.CancelFunc // stops a running Find
	steps  *fyne.Container    // one label per step, in the order they started
	lines  map[int]*widget.Label
	result *autoconfig.Result
	in     *widget.Select // the incoming server chosen among the checked ones
	out    *widget.Select // the outgoing one, or "None"
	addBtn *widget.Button
}

// The setup wizard's size.
const wizardWidth, wizardHeight = 680, 540

// addAccount opens the setup wizard.
func (u *UI) addAccount() *setupWizard {
	w := &setupWizard{u: u, page: container.NewStack()}
	w.display, w.email, w.password = newKeyEntry(), newKeyEntry(), newPasswordEntry()
	w.display.SetPlaceHolder("Your Name")
	w.email.SetPlaceHolder("you@example.org")
	w.password.SetPlaceHolder("kept in the system keyring")
	for _, e := range []*keyEntry{w.display, w.email, w.password} {
		e.onEscape = u.closeTopDialog
		e.onShortcut = nil
	}
	w.email.OnSubmitted = func(string) { w.find() }
	w.password.OnSubmitted = func(string) { w.find() }
	w.message = widget.NewLabel("")
	w.message.Wrapping = fyne.TextWrapWord
	w.message.Selectable = true
	w.d = dialog.NewCustomWithoutButtons("Add account", w.page, u.win)
	w.d.SetOnClosed(w.stop)
	w.d.Resize(fyne.NewSize(wizardWidth, wizardHeight))
	w.askPage()
	u.showDialog(w.d)
	u.win.Canvas().Focus(w.email)
	return w
}

// show makes content the wizard's page, with buttons at the bottom.
func (w *setupWizard) show(content fyne.CanvasObject, buttons ...fyne.CanvasObject) {
	bar := container.NewHBox(append([]fyne.CanvasObject{layout.NewSpacer()}, buttons...)...)
	w.page.Objects = []fyne.CanvasObject{container.NewBorder(nil, container.NewVBox(w.message, bar), nil, nil, content)}
	w.page.Refresh()
	if w.d != nil {
		// A dialog shown on a real screen draws replaced content only after a layout of its own.
		w.d.Resize(fyne.NewSize(wizardWidth, wizardHeight))
	}
}

// manualButton is "Configure manually", on every page.
func (w *setupWizard) manualButton() *widget.Button {
	return widget.NewButtonWithIcon("Configure manually", theme.SettingsIcon(), func() { w.manual() })
}

// backButton returns to the first page (stopping a running lookup).
func (w *setupWizard) backButton() *widget.Button {
	return widget.NewButtonWithIcon("Back", theme.NavigateBackIcon(), w.askPage)
}

// askPage asks for the name, the address and the password.
func (w *setupWizard) askPage() {
	w.stop()
	w.result = nil // what was found was for the address as it was
	w.message.SetText("")
	intro := widget.NewLabel("Poplar finds your provider's POP3 and outgoing servers from your address and checks them before using them.")
	intro.Wrapping = fyne.TextWrapWord
	form := widget.NewForm(
		widget.NewFormItem("Your name", w.display),
		widget.NewFormItem("Email address", w.email),
		&widget.FormItem{Text: "Password", Widget: w.password,
			HintText: "Leave it empty for a provider that signs in in your browser (Gmail, Microsoft 365)."},
	)
	next := widget.NewButtonWithIcon("Continue", theme.NavigateNextIcon(), w.find)
	next.Importance = widget.HighImportance
	w.show(container.NewVBox(intro, form), w.manualButton(),
		widget.NewButtonWithIcon("Cancel", theme.CancelIcon(), w.d.Hide), next)
}

// find runs the Finder in the background; its steps appear as they start and end.
func (w *setupWizard) find() {
	email := strings.TrimSpace(w.email.Text)
	if !strings.Contains(email, "@") {
		w.message.SetText("Enter your whole email address, such as you@example.org.")
		return
	}
	w.stop()
	w.result = nil
	ctx, cancel := context.WithCancel(w.u.life)
	w.cancel = cancel
	w.lines = map[int]*widget.Label{}
	w.steps = container.NewVBox()
	w.message.SetText("")
	title := widget.NewLabelWithStyle("Finding the settings for "+email, fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	bar := widget.NewProgressBarInfinite()
	w.show(container.NewBorder(container.NewVBox(title, bar), nil, nil, nil, container.NewVScroll(w.steps)),
		w.manualButton(), w.backButton())
	finder := w.u.finder()
	w.u.bg(func() {
		res, err := finder.Find(ctx, email, func(st autoconfig.Step) { w.u.do(func() { w.step(st) }) })
		w.u.do(func() {
			if ctx.Err() != nil {
				return // stopped: the user went back or closed the wizard
			}
			bar.Stop()
			w.found(res, err)
		})
	})
}

// stop cancels a running Find.
func (w *setupWizard) stop() {
	if w.cancel != nil {
		w.cancel()
		w.cancel = nil
	}
}

// step shows one step's start or outcome.
func (w *setupWizard) step(st autoconfig.Step) {
	l := w.lines[st.ID]
	if l == nil {
		l = widget.NewLabel("")
		l.Wrapping = fyne.TextWrapWord
		w.lines[st.ID] = l
		w.steps.Add(l)
	}
	l.SetText(stepText(st))
}

// stepText says a step for the list: "Looking up example.org in the ISP database… found".
func stepText(st autoconfig.Step) string {
	if st.State == autoconfig.StepRunning {
		return st.Text
	}
	return st.Text + " " + st.Outcome
}

// sourceName says where a candidate came from, for a user.
func sourceName(s autoconfig.Source) string {
	switch s {
	case autoconfig.SourcePreset:
		return "Poplar's list of providers"
	case autoconfig.SourceAutoconfig:
		return "your provider's configuration file"
	case autoconfig.SourceISPDB:
		return "Thunderbird's ISP database"
	case autoconfig.SourceSRV:
		return "your domain's DNS (SRV records)"
	case autoconfig.SourceMX:
		return "your domain's mail host (MX)"
	case autoconfig.SourceGuess:
		return "a guess"
	}
	return string(s)
}

// candidateText says a candidate with its source: "pop.example.org port 995 (TLS), from …".
func candidateText(c autoconfig.Candidate) string {
	return c.String() + ", from " + sourceName(c.Source)
}

// found shows what Find found: the checked servers to choose from, the unchecked ones and why.
func (w *setupWizard) found(res *autoconfig.Result, err error) {
	w.result = res
	if res == nil {
		res = &autoconfig.Result{}
	}
	verified := func(cs []autoconfig.Candidate) (ok []string, bad []string) {
		for _, c := range cs {
			if c.Verified {
				ok = append(ok, candidateText(c))
			} else {
				bad = append(bad, c.String()+": "+c.Problem)
			}
		}
		return ok, bad
	}
	ins, badIns := verified(res.Incoming)
	outs, badOuts := verified(res.Outgoing)
	steps := container.NewVScroll(w.steps)
	steps.SetMinSize(fyne.NewSize(0, 140))
	if len(ins) == 0 {
		text := "No working POP3 server was found for this address."
		if err != nil && !errors.Is(err, autoconfig.ErrNotFound) {
			what, _ := account.Explain(err, "")
			text = what + "."
		}
		if len(badIns) > 0 {
			text += "\nFound but not usable as it is:\n" + strings.Join(badIns, "\n")
			if hasCertificateProblem(res.Incoming) {
				text += "\nConfigure manually to look at it: Test connection shows the certificate."
			} else {
				text += "\nTry again once the server can be reached, or Configure manually."
			}
		}
		w.message.SetText(text)
		retry := widget.NewButtonWithIcon("Try again", theme.ViewRefreshIcon(), w.find)
		w.show(container.NewBorder(nil, nil, nil, nil, steps), w.manualButton(), w.backButton(), retry)
		return
	}
	w.in = widget.NewSelect(ins, nil)
	w.in.SetSelectedIndex(0)
	w.out = widget.NewSelect(append(outs, "None: this account does not send mail"), nil)
	w.out.SetSelectedIndex(0)
	items := []*widget.FormItem{
		{Text: "Incoming (POP3)", Widget: w.in},
		{Text: "Outgoing (SMTP)", Widget: w.out},
	}
	var notes []string
	if len(badIns)+len(badOuts) > 0 {
		notes = append(notes, "Not used (could not be checked): "+strings.Join(append(badIns, badOuts...), "; ")+".")
	}
	w.message.SetText(strings.Join(notes, "\n"))
	head := widget.NewLabelWithStyle("Found and checked:", fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	w.addBtn = widget.NewButtonWithIcon("Add account", theme.ConfirmIcon(), w.add)
	w.addBtn.Importance = widget.HighImportance
	w.show(container.NewBorder(container.NewVBox(head, widget.NewForm(items...), widget.NewSeparator()), nil, nil, nil, steps),
		w.manualButton(), widget.NewButtonWithIcon("Edit settings…", theme.DocumentCreateIcon(), w.edit), w.backButton(), w.addBtn)
}

// chosen returns the account made of the chosen servers.
func (w *setupWizard) chosen() account.Account {
	email := strings.TrimSpace(w.email.Text)
	pick := func(cs []autoconfig.Candidate, sel *widget.Select) *autoconfig.Candidate {
		for i := range cs {
			if cs[i].Verified && candidateText(cs[i]) == sel.Selected {
				return &cs[i]
			}
		}
		return nil
	}
	in := pick(w.result.Incoming, w.in)
	a := autoconfig.NewAccount(w.u.freeName(email), email, *in, pick(w.result.Outgoing, w.out))
	a.DisplayName = strings.TrimSpace(w.display.Text)
	return a
}

// add signs in to the chosen incoming server with the password and saves the account.
func (w *setupWizard) add() {
	a := w.chosen()
	pw := w.password.Text
	if a.Auth == "oauth2" {
		// Signing in needs the client the user registered with the provider: the editor's
		// Sign-in page asks for it, and saving signs in.
		w.stop()
		w.d.Hide()
		f := w.u.editNewAccount(a, "")
		f.tabs.SelectIndex(signInPage)
		f.testResult.SetText(a.Host + " signs in in your browser (OAuth2). Enter the client ID (and secret) of the app you " +
			"registered with " + providerName(a) + " (docs/oauth2.md), then Save: Poplar opens the sign-in page.")
		return
	}
	if pw == "" {
		w.message.SetText("Enter the password (Back), or Edit settings… to add the account without one.")
		return
	}
	w.addBtn.Disable()
	w.message.SetText("Signing in to " + a.Addr() + "…")
	w.u.bg(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_, _, err := account.TestConnection(ctx, a, pw)
		w.u.do(func() {
			if err != nil {
				w.addBtn.Enable()
				what, remedy := account.Explain(err, a.Name)
				w.message.SetText(what + ". " + remedy + ".")
				return
			}
			w.message.SetText("Signed in. Saving…")
			w.u.saveAccount(a, pw, true, func(err error) {
				w.addBtn.Enable()
				if err != nil {
					w.message.SetText("Cannot save: " + err.Error())
					return
				}
				w.d.Hide()
				w.u.setStatus("Added " + a.Name + "; checking for mail")
			})
		})
	})
}

// edit opens the chosen servers in the account editor.
func (w *setupWizard) edit() {
	w.stop()
	w.d.Hide()
	w.u.editNewAccount(w.chosen(), w.password.Text)
}

// manual opens the account editor with what the user typed and the servers found (the checked
// ones, else the first found even though it could not be checked) and returns it.
func (w *setupWizard) manual() *accountForm {
	w.stop()
	w.d.Hide()
	email := strings.TrimSpace(w.email.Text)
	a := account.New(w.u.freeName(email), "", email)
	if r := w.result; r != nil && len(r.Incoming) > 0 {
		in, ok := r.BestIncoming()
		if !ok {
			in = r.Incoming[0]
		}
		out, ok := r.BestOutgoing()
		if !ok && len(r.Outgoing) > 0 {
			out, ok = r.Outgoing[0], true
		}
		var outp *autoconfig.Candidate
		if ok {
			outp = &out
		}
		a = autoconfig.NewAccount(a.Name, email, in, outp)
	}
	a.Email, a.DisplayName = email, strings.TrimSpace(w.display.Text)
	return w.u.editNewAccount(a, w.password.Text)
}

// hasCertificateProblem reports whether a candidate failed its check on its certificate.
func hasCertificateProblem(cs []autoconfig.Candidate) bool {
	for _, c := range cs {
		var ce *pop.CertificateError
		if errors.As(c.Err, &ce) {
			return true
		}
	}
	return false
}

// freeName returns an account name for email that no account has yet: the address itself (or
// "mail" when it is not a valid name), then with -2, -3…
func (u *UI) freeName(email string) string {
	base := email
	if !account.ValidName(base) {
		base = "mail"
	}
	name := base
	for i := 2; ; i++ {
		if _, taken := u.findAccount(name); !taken {
			return name
		}
		name = fmt.Sprintf("%s-%d", base, i)
	}
}

// finder is the Finder the wizard uses: Env.Finder, else the zero (production) one.
func (u *UI) finder() *autoconfig.Finder {
	if u.env.Finder != nil {
		return u.env.Finder
	}
	return &autoconfig.Finder{}
}
