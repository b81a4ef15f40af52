package gui

import (
	"context"
	"errors"
	"fmt"
	"time"

	"fyne.io/fyne/v2"

	"github.com/poplar-mail/poplar/account"
	"github.com/poplar-mail/poplar/storage"
)

// The checks are run by account.Runner (schedule, retries, cancel); the window only observes its
// events. New messages go into the open list as they are stored, without touching the reader or
// the selection.

func (u *UI) newRunner() *account.Runner {
	return account.NewRunner(account.RunnerConfig{
		Store:   u.store,
		Secrets: u.secrets(),
		Observe: func(ev account.RunEvent) { u.do(func() { u.runEvent(ev) }) },
	})
}

// secrets is the secret store; it changes only with the demo (switchEnv).
func (u *UI) secrets() account.SecretStore {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.env.Secrets
}

// getMail checks every enabled account now.
func (u *UI) getMail() { u.runner.CheckAll() }

// runEvent applies one of the runner's events to the window (UI goroutine).
func (u *UI) runEvent(ev account.RunEvent) {
	name := ev.Account
	switch ev.Kind {
	case account.RunStarted:
		u.status.started(name)
	case account.RunProgress:
		switch ev.Event.Kind {
		case account.Progress:
			u.status.update(ev.Event)
		case account.MessageStored:
			if f := firstNonEmpty(ev.Event.Summary.Folder, storage.Inbox); u.acct == name && u.folder == f && u.searchSt.query == "" {
				u.queueInsert(ev.Event.Summary) // a filter may have put it in another folder
			}
		case account.Note:
			u.setStatus(name + ": " + ev.Event.Text)
		}
	case account.RunFinished:
		u.status.finished(name)
		u.fetchDone(name, ev)
	}
}

// insertEvery bounds how often arriving messages are put into the list: they are inserted in
// groups, so a fetch of many messages costs one regrouping of a Conversations list per group, not
// one per message.
const insertEvery = 250 * time.Millisecond

// arrivals are new messages of one folder waiting to be put into its list.
type arrivals struct {
	acct, folder string
	sums         []storage.Summary
}

// queueInsert puts a message that arrived into the open list (of folder acct/folder) with the
// next group.
func (u *UI) queueInsert(sum storage.Summary) {
	a := &u.arriving
	if a.acct != u.acct || a.folder != u.folder {
		*a = arrivals{acct: u.acct, folder: u.folder} // the list shows another folder now
	}
	if len(a.sums) == 0 {
		time.AfterFunc(insertEvery, func() { u.do(u.insertArrived) })
	}
	a.sums = append(a.sums, sum)
}

// insertArrived puts the messages that arrived into the list, if it still shows their folder.
func (u *UI) insertArrived() {
	a := &u.arriving
	if len(a.sums) > 0 && u.acct == a.acct && u.folder == a.folder && u.searchSt.query == "" {
		u.list.model.insert(a.sums...)
		u.list.list.Refresh()
	}
	a.sums = nil
}

// fetchDone shows a check's outcome in plain words and marks a failing account.
func (u *UI) fetchDone(name string, ev account.RunEvent) {
	res, err := ev.Result, ev.Err
	u.insertArrived() // the last group, now: the check is over
	switch {
	case err == nil:
		u.tree.setError(name, "")
		u.checkSucceeded(name)
		u.flushOutbox(name) // the network is there: send what waits in the Outbox
		msg := fmt.Sprintf("%s: %d new", name, res.New)
		if res.DeletedOnServer > 0 {
			msg += fmt.Sprintf(", %d removed from the server", res.DeletedOnServer)
		}
		u.setStatus(msg + " — last check " + ev.At.Format("15:04"))
		u.env.Logf("fetch of %s finished: %d new", name, res.New)
		if u.acct == name {
			u.env.Logf("the list shows %d messages in %s/%s", u.list.model.len(), name, u.folder)
		}
		if res.New > 0 {
			u.notify(name, res.New)
		}
	case errors.Is(err, context.Canceled):
		u.setStatus(fmt.Sprintf("%s: cancelled (%d messages kept)", name, res.New))
	default:
		what, remedy := account.Explain(err, name)
		if !ev.RetryAt.IsZero() {
			remedy = "Poplar tries again at " + ev.RetryAt.Local().Format("15:04")
		}
		u.tree.setError(name, what)
		u.setStatus(what + " — " + remedy)
		u.checkFailed(name, err)
		u.env.Logf("fetch of %s failed: %v", name, err)
	}
	u.refreshFolders()
}

// notify sends a desktop notification for new mail.
func (u *UI) notify(name string, n int) {
	title := fmt.Sprintf("%d new messages in %s", n, name)
	if n == 1 {
		title = "New message in " + name
	}
	body := "Poplar"
	if u.acct == name && u.folder == storage.Inbox {
		if m := u.list.model.at(0); m != nil && m.Unread() {
			body = firstNonEmpty(m.From, "?") + ": " + firstNonEmpty(m.Subject, "(no subject)")
		}
	}
	u.app.SendNotification(fyne.NewNotification(title, body))
}

// downloadRest fetches the whole of a partial message and shows it where it was.
func (u *UI) downloadRest(sm *shownMessage) {
	sum := u.list.model.get(sm.key)
	a, ok := u.findAccount(u.acct)
	if !ok || sum == nil || !sum.Partial {
		return
	}
	name, folder := u.acct, u.folderOf(sum)
	uidl := sum.UIDL
	u.setStatus("Downloading the rest of the message…")
	u.bg(func() {
		s, err := u.store(name)
		var full storage.Summary
		if err == nil {
			full, err = account.FetchRest(context.Background(), a, s, uidl, u.secrets())
		}
		u.do(func() {
			if err != nil {
				what, remedy := account.Explain(err, name)
				u.setStatus(what + " — " + remedy)
				u.checkFailed(name, err)
				return
			}
			u.setStatus("Downloaded the whole message")
			if u.acct != name || u.folder != folder {
				return
			}
			u.list.model.remove([]string{sm.key})
			u.list.model.insert(full)
			u.list.selectKey(full.Key)
			if u.reader.shows(sm.key) || u.reader.shows(full.Key) {
				u.reader.load(shownMessage{key: full.Key, title: full.Subject, open: u.storeOpener(name, folder, full.Key)}, true)
			}
		})
	})
}
