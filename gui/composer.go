package gui

import (
	"fmt"
	"io"
	netmail "net/mail"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/poplar-mail/poplar/account"
	"github.com/poplar-mail/poplar/account/compose"
)

// The composer: a window with From, To/Cc/Bcc (completed from the addresses in the local store,
// most used first), Subject, the body with the signature, attachments (file picker and
// drag-and-drop), Send (Ctrl+Enter), Save draft and Discard. It builds a compose.Draft; sending
// and saving are the UI's (send.go), so the window never does network or disk work itself.

// composer is one composer window.
type composer struct {
	u          *UI
	win        fyne.Window
	from       *widget.Select
	to, cc     *addressField
	bcc        *addressField
	subject    *keyEntry
	body       *keyEntry
	attList    *fyne.Container
	atts       []compose.Attachment
	status     *widget.Label
	sendBtn    *widget.Button
	base       compose.Draft // what Reply/Forward started from (In-Reply-To, References)
	answered   *answeredRef  // the message answered or forwarded, flagged after sending
	draftKey   string        // the draft's key in .Drafts, "" until saved
	saved      string        // the text of the draft last saved, to save only changes
	closed     bool
	autosave   *time.Ticker
	accountFor map[string]string // From label → account name
}

// answeredRef names the message a reply or forward answers, to flag it Replied/Passed once sent.
type answeredRef struct {
	acct, folder, key string
	forwarded         bool
}

// autosaveEvery is how often a changed draft is saved.
const autosaveEvery = 5 * time.Second

// openComposer opens a composer for d (from the account acct) in its own window.
func (u *UI) openComposer(acct string, d compose.Draft, answered *answeredRef) *composer {
	c := &composer{u: u, base: d, answered: answered, accountFor: map[string]string{}}
	c.win = u.app.NewWindow(firstNonEmpty(d.Subject, "New message"))
	var froms []string
	selected := ""
	for _, a := range u.accounts() {
		if a.Email == "" {
			continue
		}
		label := displayAddress(netmail.Address{Name: a.DisplayName, Address: a.Email})
		label += "  (" + a.Name + ")"
		c.accountFor[label] = a.Name
		froms = append(froms, label)
		if a.Name == acct {
			selected = label
		}
	}
	c.from = widget.NewSelect(froms, nil)
	if selected == "" && len(froms) > 0 {
		selected = froms[0]
	}
	c.from.SetSelected(selected)
	book := u.addressBook()
	c.to, c.cc, c.bcc = newAddressField(book, d.To), newAddressField(book, d.Cc), newAddressField(book, d.Bcc)
	c.subject = newKeyEntry()
	c.subject.SetText(d.Subject)
	c.body = newKeyEntry()
	c.body.MultiLine = true
	c.body.Wrapping = fyne.TextWrapWord
	c.body.SetText(d.Body)
	c.status = widget.NewLabel("")
	c.status.Wrapping = fyne.TextWrapWord
	c.status.Selectable = true
	c.attList = container.NewVBox()
	for _, a := range d.Attachments {
		c.addAttachment(a)
	}
	c.sendBtn = widget.NewButtonWithIcon("Send", theme.MailSendIcon(), c.send)
	c.sendBtn.Importance = widget.HighImportance
	attach := widget.NewButtonWithIcon("Attach…", theme.ContentAddIcon(), c.attachDialog)
	save := widget.NewButtonWithIcon("Save draft", theme.DocumentSaveIcon(), func() { c.saveDraft(true) })
	discard := widget.NewButtonWithIcon("Discard", theme.DeleteIcon(), c.discard)
	form := widget.NewForm(
		widget.NewFormItem("From", c.from),
		widget.NewFormItem("To", c.to.content),
		widget.NewFormItem("Cc", c.cc.content),
		widget.NewFormItem("Bcc", c.bcc.content),
		widget.NewFormItem("Subject", c.subject),
	)
	top := container.NewVBox(container.NewHBox(c.sendBtn, attach, save, layout.NewSpacer(), discard), form)
	bottom := container.NewVBox(c.attList, c.status)
	c.win.SetContent(container.NewBorder(top, bottom, nil, nil, c.body))
	c.win.Resize(fyne.NewSize(720, 620))
	c.win.SetOnDropped(func(_ fyne.Position, uris []fyne.URI) {
		for _, u := range uris {
			if u.Scheme() == "file" {
				c.attachFile(u.Path())
			}
		}
	})
	send := &desktop.CustomShortcut{KeyName: fyne.KeyReturn, Modifier: fyne.KeyModifierShortcutDefault}
	c.win.Canvas().AddShortcut(send, func(fyne.Shortcut) { c.send() })
	for _, e := range []*keyEntry{c.subject, c.body, c.to.entry, c.cc.entry, c.bcc.entry} {
		e.onShortcut = func(s fyne.Shortcut) {
			if cs, ok := s.(*desktop.CustomShortcut); ok && cs.KeyName == fyne.KeyReturn {
				c.send()
			}
		}
	}
	c.win.SetCloseIntercept(func() {
		c.saveDraft(false)
		c.close()
	})
	c.saved = c.snapshot()
	c.autosave = time.NewTicker(autosaveEvery)
	go func(t *time.Ticker) {
		for range t.C {
			u.do(func() {
				if !c.closed {
					c.saveDraft(false)
				}
			})
		}
	}(c.autosave)
	u.composers = append(u.composers, c)
	c.win.Show()
	if len(d.To) == 0 {
		c.win.Canvas().Focus(c.to.entry)
	} else {
		c.win.Canvas().Focus(c.body)
	}
	return c
}

// account is the account the From field names.
func (c *composer) account() (account.Account, bool) {
	return c.u.findAccount(c.accountFor[c.from.Selected])
}

// draft reads the window into a Draft; bad addresses are an error naming the field.
func (c *composer) draft() (*compose.Draft, error) {
	a, ok := c.account()
	if !ok {
		return nil, fmt.Errorf("choose the account to send from (an account needs an email address to send)")
	}
	d := c.base
	d.From = netmail.Address{Name: a.DisplayName, Address: a.Email}
	var err error
	for _, f := range []struct {
		name  string
		field *addressField
		dst   *[]netmail.Address
	}{{"To", c.to, &d.To}, {"Cc", c.cc, &d.Cc}, {"Bcc", c.bcc, &d.Bcc}} {
		if *f.dst, err = f.field.addresses(); err != nil {
			return nil, fmt.Errorf("%s: %w", f.name, err)
		}
	}
	d.Subject, d.Body = c.subject.Text, c.body.Text
	d.Attachments = append([]compose.Attachment(nil), c.atts...)
	return &d, nil
}

// snapshot is the window's content as text, to tell whether the draft changed.
func (c *composer) snapshot() string {
	names := make([]string, len(c.atts))
	for i, a := range c.atts {
		names[i] = a.Name
	}
	return strings.Join([]string{c.from.Selected, c.to.entry.Text, c.cc.entry.Text, c.bcc.entry.Text, c.subject.Text, c.body.Text, strings.Join(names, "\x00")}, "\x01")
}

// send validates the message and hands it to the UI, which stores it in the Outbox and sends it
// in the background; the window closes once it is safely in the Outbox.
func (c *composer) send() {
	d, err := c.draft()
	if err == nil {
		err = d.Validate()
	}
	if err != nil {
		c.status.SetText("Cannot send: " + err.Error())
		return
	}
	acct := c.accountFor[c.from.Selected]
	c.sendBtn.Disable()
	c.status.SetText("Putting the message in the Outbox…")
	c.u.sendDraft(acct, d, c.answered, c.draftKey, func(err error) {
		c.sendBtn.Enable()
		if err != nil {
			c.status.SetText("Not sent: " + err.Error())
			return
		}
		c.draftKey = "" // the draft became the Outbox entry
		c.close()
	})
}

// saveDraft saves the draft in .Drafts when it changed (always when force).
func (c *composer) saveDraft(force bool) {
	snap := c.snapshot()
	if !force && snap == c.saved {
		return
	}
	d, err := c.draft()
	if err != nil {
		if force {
			c.status.SetText("Cannot save the draft: " + err.Error())
		}
		return
	}
	c.saved = snap
	acct := c.accountFor[c.from.Selected]
	c.u.saveDraft(acct, d, c.draftKey, func(key string, err error) {
		if err != nil {
			c.status.SetText("Could not save the draft: " + err.Error())
			return
		}
		c.draftKey = key
		c.status.SetText("Draft saved at " + time.Now().Format("15:04:05"))
	})
}

// discard asks, then closes the window and deletes the saved draft.
func (c *composer) discard() {
	dialog.ShowConfirm("Discard this message?", "The message and its saved draft are deleted.", func(ok bool) {
		if !ok {
			return
		}
		if c.draftKey != "" {
			c.u.deleteDraft(c.accountFor[c.from.Selected], c.draftKey)
		}
		c.close()
	}, c.win)
}

func (c *composer) close() {
	if c.closed {
		return
	}
	c.closed = true
	c.autosave.Stop()
	for i, x := range c.u.composers {
		if x == c {
			c.u.composers = append(c.u.composers[:i], c.u.composers[i+1:]...)
			break
		}
	}
	c.win.Close()
}

// attachDialog picks a file to attach.
func (c *composer) attachDialog() {
	d := dialog.NewFileOpen(func(rc fyne.URIReadCloser, err error) {
		if err != nil || rc == nil {
			return
		}
		p := rc.URI().Path()
		rc.Close()
		c.attachFile(p)
	}, c.win)
	d.Show()
}

// attachFile attaches a file from disk; it is read only when the message is written.
func (c *composer) attachFile(path string) {
	st, err := os.Stat(path)
	if err != nil || !st.Mode().IsRegular() {
		c.status.SetText(fmt.Sprintf("Cannot attach %s: not a readable file", filepath.Base(path)))
		return
	}
	c.addAttachment(compose.Attachment{Name: filepath.Base(path), Size: st.Size(),
		Open: func() (io.ReadCloser, error) { return os.Open(path) }})
}

func (c *composer) addAttachment(a compose.Attachment) {
	c.atts = append(c.atts, a)
	c.showAttachments()
}

func (c *composer) showAttachments() {
	c.attList.RemoveAll()
	for i, a := range c.atts {
		i := i
		l := widget.NewLabel(fmt.Sprintf("📎 %s (%s)", a.Name, account.FormatSize(a.Size)))
		l.Truncation = fyne.TextTruncateEllipsis
		rm := widget.NewButtonWithIcon("", theme.CancelIcon(), func() {
			c.atts = append(c.atts[:i], c.atts[i+1:]...)
			c.showAttachments()
		})
		rm.Importance = widget.LowImportance
		c.attList.Add(container.NewBorder(nil, nil, nil, rm, l))
	}
	c.attList.Refresh()
}

// addressField is a To/Cc/Bcc field: comma-separated addresses, with up to five suggestions
// from the address book under it for the address being typed.
type addressField struct {
	entry       *keyEntry
	suggestions *fyne.Container
	content     fyne.CanvasObject
	book        *addressBook
}

func newAddressField(book *addressBook, as []netmail.Address) *addressField {
	f := &addressField{entry: newKeyEntry(), suggestions: container.NewHBox(), book: book}
	parts := make([]string, len(as))
	for i, a := range as {
		parts[i] = displayAddress(a)
	}
	f.entry.SetText(strings.Join(parts, ", "))
	f.entry.OnChanged = func(string) { f.suggest() }
	f.content = container.NewVBox(f.entry, f.suggestions)
	return f
}

// suggest shows the book's matches for the address being typed (the text after the last comma).
func (f *addressField) suggest() {
	f.suggestions.RemoveAll()
	text := f.entry.Text
	cut := strings.LastIndex(text, ",") + 1
	q := strings.TrimSpace(text[cut:])
	if len(q) >= 2 {
		for _, s := range f.book.match(q, 5) {
			s := s
			b := widget.NewButton(s, func() {
				f.entry.SetText(strings.TrimSpace(text[:cut]+" "+s) + ", ")
				f.suggestions.RemoveAll()
			})
			b.Importance = widget.LowImportance
			f.suggestions.Add(b)
		}
	}
	f.suggestions.Refresh()
}

// addresses parses the field.
func (f *addressField) addresses() ([]netmail.Address, error) {
	s := strings.Trim(strings.TrimSpace(f.entry.Text), ",")
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	return compose.ParseAddressList(s)
}

// addressBook is the addresses of the local store, most used first, for completion.
type addressBook struct {
	entries []string // "Name <addr>", most used first
}

// match returns up to n entries containing q (any case), most used first.
func (b *addressBook) match(q string, n int) []string {
	if b == nil {
		return nil
	}
	q = strings.ToLower(q)
	var out []string
	for _, e := range b.entries {
		if strings.Contains(strings.ToLower(e), q) {
			out = append(out, e)
			if len(out) == n {
				break
			}
		}
	}
	return out
}

// newAddressBook ranks addresses by how often they were seen.
func newAddressBook(counts map[string]int) *addressBook {
	b := &addressBook{}
	for e := range counts {
		b.entries = append(b.entries, e)
	}
	sort.Slice(b.entries, func(i, j int) bool {
		ci, cj := counts[b.entries[i]], counts[b.entries[j]]
		if ci != cj {
			return ci > cj
		}
		return b.entries[i] < b.entries[j]
	})
	return b
}

// displayAddress writes an address as people type it, "Name <addr>" in plain Unicode (String
// would give the RFC 2047 encoded form); a name with , ; < > " or @ is quoted.
func displayAddress(a netmail.Address) string {
	if a.Name == "" {
		return a.Address
	}
	name := a.Name
	if strings.ContainsAny(name, `,;<>"@()[]:\`) {
		name = `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(name) + `"`
	}
	return name + " <" + a.Address + ">"
}
