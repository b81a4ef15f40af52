package gui

import (
	"context"
	"fmt"
	"io"
	netmail "net/mail"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/poplar-mail/poplar/account"

	"github.com/poplar-mail/poplar/account/compose"
	"github.com/poplar-mail/poplar/storage"
	"github.com/poplar-mail/poplar/storage/mailview"
)

// Writing mail from the main window: New message, Reply, Reply all, Forward (reader toolbar and
// keys), the address book for completion, and the composer's send and draft actions.

// identity is the account's sending identity, for replies.
func (u *UI) identity(acct string) compose.Identity {
	a, _ := u.findAccount(acct)
	return compose.Identity{Name: a.DisplayName, Email: a.Email, ReplyTo: a.ReplyTo, Signature: a.Signature}
}

// sendingAccount is the account a new message is from: the open one, else the first.
func (u *UI) sendingAccount() string {
	acct := u.acct
	if acct == "" {
		if as := u.accounts(); len(as) > 0 {
			acct = as[0].Name
		}
	}
	return acct
}

// newMessage opens an empty composer from the open account (Ctrl+N).
func (u *UI) newMessage() {
	acct := u.sendingAccount()
	u.openComposer(acct, *compose.NewDraft(u.identity(acct)), nil)
}

// mailto opens a composer for a mailto: link (RFC 6068): one in a message, or one a browser
// handed to Poplar. A malformed link is reported in the status bar.
func (u *UI) mailto(link string) {
	m, err := compose.ParseMailto(link)
	if err != nil {
		u.setStatus(err.Error())
		return
	}
	acct := u.sendingAccount()
	d := compose.NewDraft(u.identity(acct))
	d.To, d.Cc, d.Bcc, d.Subject, d.InReplyTo = m.To, m.Cc, m.Bcc, m.Subject, m.InReplyTo
	d.Body = m.Body + d.Body // the signature stays below the link's text
	u.openComposer(acct, *d, nil)
}

// replyTo opens a composer answering the message at the cursor (all: Reply all).
func (u *UI) replyTo(all bool) {
	u.answer(func(m *mailview.Message, _ opener, id compose.Identity) *compose.Draft {
		return compose.Reply(m, id, all)
	}, false)
}

// forward opens a composer forwarding the message at the cursor, inline.
func (u *UI) forward() {
	u.answer(func(m *mailview.Message, open opener, id compose.Identity) *compose.Draft {
		return compose.Forward(m, open, id, false)
	}, true)
}

// forwardAsAttachment opens a composer forwarding the message at the cursor as a message/rfc822
// attachment.
func (u *UI) forwardAsAttachment() {
	u.answer(func(m *mailview.Message, open opener, id compose.Identity) *compose.Draft {
		return compose.Forward(m, open, id, true)
	}, true)
}

// answer reads the message at the cursor in the background and opens a composer with what make
// builds from it.
func (u *UI) answer(make func(*mailview.Message, opener, compose.Identity) *compose.Draft, forwarded bool) {
	sum := u.list.model.get(u.list.model.cursor)
	if sum == nil {
		return
	}
	acct, folder, key := u.acct, u.folderOf(sum), sum.Key
	open := u.storeOpener(acct, folder, key)
	id := u.identity(acct)
	u.bg(func() {
		rc, err := open()
		var m *mailview.Message
		if err == nil {
			m, err = mailview.Read(rc, mailview.Options{PreferPlain: true})
			rc.Close()
		}
		u.do(func() {
			if err != nil {
				u.setStatus("Cannot read the message to answer: " + err.Error())
				return
			}
			u.openComposer(acct, *make(m, open, id), &answeredRef{acct: acct, folder: folder, key: key, forwarded: forwarded})
		})
	})
}

// addressBook returns the book of addresses for completion; it is filled in the background the
// first time (From of received mail and To/Cc of sent mail, newest first, counted).
func (u *UI) addressBook() *addressBook {
	if u.book != nil {
		return u.book
	}
	u.book = &addressBook{}
	book := u.book
	accts := u.accounts()
	u.bg(func() {
		counts := map[string]int{}
		for _, a := range accts {
			s, err := u.store(a.Name)
			if err != nil {
				continue
			}
			for _, folder := range []string{storage.Inbox, storage.Sent} {
				countAddresses(s, folder, counts)
			}
		}
		b := newAddressBook(counts)
		u.do(func() { book.entries = b.entries })
	})
	return book
}

// addressBookScan bounds how many messages of a folder the address book reads (newest first).
const addressBookScan = 2000

// countAddresses counts the addresses in the headers of a folder's newest messages.
func countAddresses(s *storage.Store, folder string, counts map[string]int) {
	sums, err := s.Summaries(folder)
	if err != nil {
		return
	}
	for i, sum := range sums {
		if i == addressBookScan {
			break
		}
		rc, err := s.OpenMessage(folder, sum.Key)
		if err != nil {
			continue
		}
		m, err := mailview.Read(io.LimitReader(rc, 64<<10), mailview.Options{MaxParts: 1, MaxTextBytes: 1})
		rc.Close()
		if err != nil {
			continue
		}
		add := func(as []mailview.Address) {
			for _, a := range as {
				if strings.Contains(a.Email, "@") {
					counts[a.String()]++
				}
			}
		}
		if folder == storage.Sent {
			add(m.To)
			add(m.Cc)
		} else {
			add(m.From)
		}
	}
}

// draftsFolder is where drafts are saved (Maildir++ .Drafts, as other mail programs use).
const draftsFolder = "Drafts"

// writeDraftFile writes d as a message for the Outbox or Drafts through a pipe (attachments are
// streamed from their files, never held whole). For a draft the Bcc field is kept, so reopening
// it restores every recipient; a message to send never carries it.
func writeDraftFile(d *compose.Draft, keepBcc bool) io.Reader {
	pr, pw := io.Pipe()
	go func() {
		if keepBcc && len(d.Bcc) > 0 {
			parts := make([]string, len(d.Bcc))
			for i, a := range d.Bcc {
				parts[i] = a.String()
			}
			if _, err := io.WriteString(pw, "Bcc: "+strings.Join(parts, ", ")+"\r\n"); err != nil {
				pw.CloseWithError(err)
				return
			}
		}
		_, err := d.WriteTo(pw)
		pw.CloseWithError(err)
	}()
	return pr
}

// sendDraft puts the message in the account's Outbox (durably, before any network I/O), calls
// done on the UI goroutine, and then sends it in the background; the outcome goes to the status
// bar and the Outbox shows a message that could not be sent, with why.
func (u *UI) sendDraft(acct string, d *compose.Draft, answered *answeredRef, draftKey string, done func(error)) {
	a, ok := u.findAccount(acct)
	if !ok {
		done(fmt.Errorf("no account %q", acct))
		return
	}
	if !a.CanSend() {
		done(fmt.Errorf("%s has no outgoing server: set one in the account settings (Outgoing)", acct))
		return
	}
	u.bg(func() {
		s, err := u.store(acct)
		var key string
		if err == nil {
			st := storage.OutboxState{From: d.From.Address, To: d.Recipients()}
			if answered != nil && answered.acct == acct {
				st.AnswersFolder, st.AnswersKey, st.AnswerFlag = answered.folder, answered.key, storage.FlagAnswered
				if answered.forwarded {
					st.AnswerFlag = storage.FlagPassed
				}
			}
			key, err = s.Queue(writeDraftFile(d, false), st)
		}
		if err == nil && draftKey != "" {
			s.Expunge(draftsFolder, []string{draftKey})
		}
		u.do(func() {
			done(err)
			if err == nil {
				u.setStatus("Sending “" + firstNonEmpty(d.Subject, "(no subject)") + "”…")
				u.refreshFolders()
			}
		})
		if err != nil {
			return
		}
		u.sendQueued(a, s, key, false)
	})
}

// sendQueued sends one Outbox entry (off the UI goroutine) and reports the outcome; force sends
// one that may have been sent already (the user said so).
func (u *UI) sendQueued(a account.Account, s *storage.Store, key string, force bool) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	err := account.SendEntry(ctx, a, s, key, account.SendOptions{Secrets: u.secrets(), Force: force})
	u.do(func() {
		if err != nil {
			what, remedy := account.Explain(err, a.Name)
			u.setStatus(what + " — " + remedy)
			if account.IsSMTPAuthFailure(err) {
				u.outgoingPasswordPrompt(a.Name) // the message waits in the Outbox
			}
		} else {
			u.setStatus("Sent")
		}
		u.refreshFolders()
		if u.acct == a.Name { // the Outbox, Sent or the answered message's new mark
			u.loadFolder(u.acct, u.folder)
		}
	})
}

// flushOutbox sends the queued messages of an account (after a good check: the network is back).
func (u *UI) flushOutbox(acct string) {
	a, ok := u.findAccount(acct)
	if !ok || !a.CanSend() {
		return
	}
	u.bg(func() {
		s, err := u.store(acct)
		if err != nil {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
		defer cancel()
		n, err := account.Flush(ctx, a, s, account.SendOptions{Secrets: u.secrets()})
		if n == 0 && err == nil {
			return
		}
		u.do(func() {
			if err != nil {
				what, remedy := account.Explain(err, acct)
				u.setStatus(what + " — " + remedy)
			} else {
				u.setStatus(fmt.Sprintf("%s: sent %s from the Outbox", acct, countText(n)))
			}
			u.refreshFolders()
		})
	})
}

// saveDraft saves d in the account's Drafts (replacing the draft saved before as oldKey) and
// calls done with the new key on the UI goroutine.
func (u *UI) saveDraft(acct string, d *compose.Draft, oldKey string, done func(string, error)) {
	u.bg(func() {
		s, err := u.store(acct)
		var key string
		if err == nil {
			key, err = s.AddToFolder(draftsFolder, writeDraftFile(d, true))
		}
		if err == nil && oldKey != "" {
			s.Expunge(draftsFolder, []string{oldKey})
		}
		u.do(func() {
			done(key, err)
			u.refreshFolders()
		})
	})
}

// deleteDraft deletes a saved draft for good (Discard).
func (u *UI) deleteDraft(acct, key string) {
	u.storeAction(acct, func(s *storage.Store) error { return s.Expunge(draftsFolder, []string{key}) }, "Discarded the draft", nil)
}

// folderActions shows, for a message of the Outbox or Drafts, what can be done with it: an
// Outbox message's state (queued, failed with the server's words, may have been sent) with Edit,
// Retry and Delete; a draft's Edit.
func (u *UI) folderActions(sum storage.Summary) {
	acct, folder, key := u.acct, u.folderOf(&sum), sum.Key
	switch folder {
	case draftsFolder:
		u.reader.actions.Add(container.NewHBox(widget.NewButtonWithIcon("Edit draft", theme.DocumentCreateIcon(), func() {
			u.editStored(acct, folder, key)
		})))
	case storage.Outbox:
		u.bg(func() {
			s, err := u.store(acct)
			var e storage.OutboxEntry
			if err == nil {
				e, err = s.OutboxEntry(key)
			}
			u.do(func() {
				if err != nil || !u.reader.shows(key) {
					return
				}
				u.reader.actions.Add(u.outboxBox(acct, key, e.State))
			})
		})
	}
}

// outboxBox says an Outbox message's state in plain words, with Edit, Retry and Delete.
func (u *UI) outboxBox(acct, key string, st storage.OutboxState) fyne.CanvasObject {
	text := "Waiting to be sent"
	switch st.Status {
	case storage.OutboxFailed:
		text = "Not sent: the server refused it: " + st.Error
	case storage.OutboxMaybeSent:
		text = "This message may have been sent: the connection ended before the server confirmed it. Send it again only if its recipients did not get it."
	case storage.OutboxSending:
		text = "Being sent…"
	default:
		if st.Error != "" {
			text = "Waiting to be sent; the last try failed: " + st.Error
		}
	}
	if st.Attempts > 0 {
		text += fmt.Sprintf(" (%d tries, the last at %s)", st.Attempts, st.LastTry.Local().Format("15:04"))
	}
	l := widget.NewLabel(text)
	l.Wrapping = fyne.TextWrapWord
	l.Selectable = true
	l.Importance = widget.WarningImportance
	retry := widget.NewButtonWithIcon("Retry", theme.MailSendIcon(), func() {
		a, ok := u.findAccount(acct)
		if !ok {
			return
		}
		force := st.Status == storage.OutboxMaybeSent
		send := func() {
			u.setStatus("Sending…")
			u.bg(func() {
				if s, err := u.store(acct); err == nil {
					u.sendQueued(a, s, key, force)
				}
			})
		}
		if force {
			u.confirm("Send it again?", "The server may have accepted this message already. Send it again only if its recipients did not get it.", send)
			return
		}
		send()
	})
	retry.Importance = widget.HighImportance
	edit := widget.NewButtonWithIcon("Edit", theme.DocumentCreateIcon(), func() { u.editStored(acct, storage.Outbox, key) })
	del := widget.NewButtonWithIcon("Delete", theme.DeleteIcon(), func() {
		u.confirm("Delete this message?", "It is deleted from the Outbox and not sent.", func() {
			u.removeFromList([]string{key})
			u.storeAction(acct, func(s *storage.Store) error { return s.Expunge(storage.Outbox, []string{key}) }, "Deleted from the Outbox", nil)
		})
	})
	return container.NewVBox(l, container.NewHBox(retry, edit, del))
}

// editStored opens a stored message (a draft, or an Outbox message not sent) in the composer. An
// Outbox message leaves the Outbox and becomes a draft, so it is not sent while being edited.
func (u *UI) editStored(acct, folder, key string) {
	open := u.storeOpener(acct, folder, key)
	u.bg(func() {
		d, err := draftFromStored(open)
		var draftKey string
		if err == nil {
			var s *storage.Store
			if s, err = u.store(acct); err == nil {
				if folder == draftsFolder {
					draftKey = key
				} else if err = s.Move(folder, draftsFolder, []string{key}); err == nil {
					draftKey = key
				}
			}
		}
		u.do(func() {
			if err != nil {
				u.setStatus("Cannot edit the message: " + err.Error())
				return
			}
			if folder != draftsFolder {
				u.removeFromList([]string{key})
				u.refreshFolders()
			}
			c := u.openComposer(acct, *d, nil)
			c.draftKey = draftKey
		})
	})
}

// draftFromStored reads a stored message (a draft) back into a Draft: addresses (Bcc included),
// subject, text, thread fields and attachments (each streamed from the stored file when written).
func draftFromStored(open opener) (*compose.Draft, error) {
	rc, err := open()
	if err != nil {
		return nil, err
	}
	m, err := mailview.Read(rc, mailview.Options{PreferPlain: true})
	rc.Close()
	if err != nil {
		return nil, err
	}
	d := &compose.Draft{Subject: m.Subject, Body: m.Text(), References: m.References}
	if len(m.InReplyTo) > 0 {
		d.InReplyTo = "<" + m.InReplyTo[0] + ">"
	}
	conv := func(as []mailview.Address) []netmail.Address {
		out := make([]netmail.Address, len(as))
		for i, a := range as {
			out[i] = netmail.Address{Name: a.Name, Address: a.Email}
		}
		return out
	}
	if len(m.From) > 0 {
		d.From = conv(m.From)[0]
	}
	d.To, d.Cc = conv(m.To), conv(m.Cc)
	if rc, err := open(); err == nil {
		if msg, err := netmail.ReadMessage(io.LimitReader(rc, 256<<10)); err == nil {
			if list, err := msg.Header.AddressList("Bcc"); err == nil {
				for _, a := range list {
					d.Bcc = append(d.Bcc, *a)
				}
			}
		}
		rc.Close()
	}
	for _, a := range m.Attachments {
		a := a
		d.Attachments = append(d.Attachments, compose.Attachment{Name: a.Name, ContentType: a.ContentType, Size: a.Size,
			Open: func() (io.ReadCloser, error) {
				src, err := open()
				if err != nil {
					return nil, err
				}
				pr, pw := io.Pipe()
				go func() {
					_, err := mailview.ExtractAttachment(src, a.Index, pw)
					src.Close()
					pw.CloseWithError(err)
				}()
				return pr, nil
			}})
	}
	return d, nil
}

// saveOpenDrafts saves the open composers' drafts (Poplar is quitting); the saving itself runs in
// the background, which Close waits for.
func (u *UI) saveOpenDrafts() {
	for _, c := range append([]*composer(nil), u.composers...) {
		c.saveDraft(false)
	}
}
