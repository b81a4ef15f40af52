package gui

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/poplar-mail/poplar/account"
	"github.com/poplar-mail/poplar/storage"
	"github.com/poplar-mail/poplar/storage/mailview"
)

// Env is what the app takes from outside.
type Env struct {
	ConfigDir string
	DataDir   string
	Secrets   account.SecretStore // nil means the OS keyring
	// Logf receives one line per notable event ("listed 200 messages"); nil discards them.
	Logf func(format string, args ...any)
}

// UI is the main window's controller. Fields below "UI goroutine" are touched only on the Fyne
// UI goroutine (callbacks and fyne.Do); background work goes through bg.
type UI struct {
	app fyne.App
	win fyne.Window
	env Env

	uiMu    sync.Mutex // see do
	mu      sync.Mutex // guards cfg, stores and fetches, shared with background work
	cfg     *account.Config
	stores  map[string]*storage.Store
	fetches map[string]context.CancelFunc
	timers  []*time.Ticker
	jobs    sync.WaitGroup
	closed  bool

	// UI goroutine.
	acct, folder  string
	model         listModel
	selected      string
	current       *mailview.Message
	currentSum    storage.Summary
	folderInfo    map[string][]storage.FolderInfo
	lastCheck     map[string]time.Time
	tree          *widget.Tree
	list          *widget.List
	search        *widget.Entry
	header        *widget.Label
	subject       *widget.Label
	note          *widget.Label
	body          *widget.RichText
	attachments   *fyne.Container
	images        *fyne.Container
	partialBtn    *widget.Button
	sourceBtn     *widget.Button
	progress      *widget.ProgressBar
	progressLabel *widget.Label
	cancelBtn     *widget.Button
	status        *widget.Label
	hsplit        *container.Split
	vsplit        *container.Split
	main          fyne.CanvasObject

	// demo starts the demo mailbox from the welcome screen (set by Run).
	demo func()
	// lastForm is the account editor last opened (tests drive it).
	lastForm       *accountForm
	lastFormDialog dialog.Dialog
}

// New builds the app's window content for env: the welcome screen when there is no account, the
// main window otherwise. It does no network work; loading runs in the background.
func New(a fyne.App, w fyne.Window, env Env) (*UI, error) {
	if env.Secrets == nil {
		env.Secrets = account.Keyring()
	}
	if env.Logf == nil {
		env.Logf = func(string, ...any) {}
	}
	cfg, err := account.LoadConfig(env.ConfigDir)
	if err != nil {
		return nil, err
	}
	u := &UI{app: a, win: w, env: env, cfg: cfg, stores: map[string]*storage.Store{}, fetches: map[string]context.CancelFunc{},
		folderInfo: map[string][]storage.FolderInfo{}, lastCheck: map[string]time.Time{}}
	u.uiMu.Lock() // background work started below waits until the window is built
	defer u.uiMu.Unlock()
	u.build()
	if len(cfg.Accounts) == 0 {
		w.SetContent(u.welcome())
	} else {
		w.SetContent(u.main)
		u.start()
	}
	u.shortcuts()
	return u, nil
}

// bg runs work off the UI goroutine; wait blocks until all of it is done (tests use it).
func (u *UI) bg(work func()) {
	u.jobs.Add(1)
	go func() {
		defer u.jobs.Done()
		work()
	}()
}

func (u *UI) wait() { u.jobs.Wait() }

// do applies fn to the widgets on the UI goroutine. The lock serialises updates where the
// driver runs fyne.Do inline (Fyne's test driver), so background jobs never touch widgets at once.
func (u *UI) do(fn func()) {
	fyne.Do(func() {
		u.uiMu.Lock()
		defer u.uiMu.Unlock()
		fn()
	})
}

// store opens (once) the store of an account. Safe from any goroutine.
func (u *UI) store(name string) (*storage.Store, error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if s, ok := u.stores[name]; ok {
		return s, nil
	}
	s, err := storage.Open(account.DataDir(u.env.DataDir, name)) // env changes only under u.mu
	if err != nil {
		return nil, err
	}
	u.stores[name] = s
	return s, nil
}

func (u *UI) accounts() []account.Account {
	u.mu.Lock()
	defer u.mu.Unlock()
	return append([]account.Account(nil), u.cfg.Accounts...)
}

func (u *UI) findAccount(name string) (account.Account, bool) {
	u.mu.Lock()
	defer u.mu.Unlock()
	a, ok := u.cfg.Find(name)
	if !ok {
		return account.Account{}, false
	}
	return *a, true
}

// build creates the main window's widgets.
func (u *UI) build() {
	u.tree = widget.NewTree(u.treeChildren, u.treeIsBranch, func(branch bool) fyne.CanvasObject {
		return widget.NewLabel("Account name (000)")
	}, u.treeUpdate)
	u.tree.OnSelected = func(id widget.TreeNodeID) {
		name, folder, ok := strings.Cut(id, "\x00")
		if !ok {
			folder = storage.Inbox
			u.tree.OpenBranch(id)
		}
		u.openFolder(name, folder)
	}

	u.search = widget.NewEntry()
	u.search.SetPlaceHolder("Search sender and subject")
	u.search.OnChanged = func(q string) {
		u.model.filter(q)
		u.list.UnselectAll()
		u.list.Refresh()
	}
	u.list = widget.NewList(u.model.len, newRow, func(id widget.ListItemID, o fyne.CanvasObject) {
		if m := u.model.at(id); m != nil {
			updateRow(o, m)
		}
	})
	u.list.OnSelected = func(id widget.ListItemID) {
		if m := u.model.at(id); m != nil {
			u.openMessage(*m)
		}
	}

	u.header = widget.NewLabel("")
	u.header.Wrapping = fyne.TextWrapWord
	u.subject = widget.NewLabelWithStyle("", fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	u.subject.Wrapping = fyne.TextWrapWord
	u.note = widget.NewLabel("")
	u.note.Importance = widget.WarningImportance
	u.note.Wrapping = fyne.TextWrapWord
	u.note.Hide()
	u.body = widget.NewRichText()
	u.body.Wrapping = fyne.TextWrapWord
	u.attachments = container.NewVBox()
	u.images = container.NewVBox()
	u.partialBtn = widget.NewButtonWithIcon("Download the rest", theme.DownloadIcon(), u.downloadRest)
	u.sourceBtn = widget.NewButtonWithIcon("View source", theme.DocumentIcon(), u.viewSource)
	u.clearReader() // the empty state: no message selected
	readerTop := container.NewVBox(u.subject, u.header, u.note, container.NewHBox(u.sourceBtn, u.partialBtn), widget.NewSeparator())
	reader := container.NewBorder(readerTop, nil, nil, nil,
		container.NewVScroll(container.NewVBox(u.body, u.images, u.attachments)))

	u.progress = widget.NewProgressBar()
	u.progressLabel = widget.NewLabel("")
	u.cancelBtn = widget.NewButtonWithIcon("Cancel", theme.CancelIcon(), u.cancelFetches)
	u.status = widget.NewLabel("Ready")
	u.status.Truncation = fyne.TextTruncateEllipsis
	u.progress.Hide()
	u.progressLabel.Hide()
	u.cancelBtn.Hide()
	statusBar := container.NewBorder(nil, nil, nil, container.NewHBox(u.progressLabel, container.NewGridWrap(fyne.NewSize(160, 24), u.progress), u.cancelBtn), u.status)

	toolbar := widget.NewToolbar(
		widget.NewToolbarAction(theme.MailComposeIcon(), u.getMail),
		widget.NewToolbarSeparator(),
		widget.NewToolbarAction(theme.DeleteIcon(), u.deleteSelected),
		widget.NewToolbarAction(theme.VisibilityIcon(), u.toggleRead),
		widget.NewToolbarSpacer(),
		widget.NewToolbarAction(theme.SettingsIcon(), u.showSettings),
	)
	getMail := widget.NewButtonWithIcon("Get Mail", theme.DownloadIcon(), u.getMail)
	getMail.Importance = widget.HighImportance
	top := container.NewBorder(nil, nil, getMail, nil, toolbar)

	listPane := container.NewBorder(u.search, nil, nil, nil, u.list)
	u.vsplit = container.NewHSplit(listPane, reader)
	u.vsplit.Offset = u.app.Preferences().FloatWithFallback("split.list", 0.45)
	u.hsplit = container.NewHSplit(u.tree, u.vsplit)
	u.hsplit.Offset = u.app.Preferences().FloatWithFallback("split.folders", 0.18)
	u.main = container.NewBorder(top, statusBar, nil, nil, u.hsplit)
}

// newRow makes a message list row of two lines: markers, sender and date; subject and size.
func newRow() fyne.CanvasObject {
	from := widget.NewLabel("Sender name here")
	from.Truncation = fyne.TextTruncateEllipsis
	subject := widget.NewLabel("Subject")
	subject.Truncation = fyne.TextTruncateEllipsis
	marks := widget.NewLabel("")
	date := widget.NewLabel("2006-01-02")
	size := widget.NewLabel("999 KB")
	size.Importance = widget.LowImportance
	line1 := container.NewBorder(nil, nil, marks, date, from)
	line2 := container.NewBorder(nil, nil, nil, size, subject)
	return container.New(&tightVBox{}, line1, line2)
}

// rowParts returns the labels of a row made by newRow.
func rowParts(o fyne.CanvasObject) (marks, from, date, subject, size *widget.Label) {
	c := o.(*fyne.Container)
	l1, l2 := c.Objects[0].(*fyne.Container), c.Objects[1].(*fyne.Container)
	// Border keeps the centre object first, then the edges in the order given.
	return l1.Objects[1].(*widget.Label), l1.Objects[0].(*widget.Label), l1.Objects[2].(*widget.Label),
		l2.Objects[0].(*widget.Label), l2.Objects[1].(*widget.Label)
}

func updateRow(o fyne.CanvasObject, m *storage.Summary) {
	marks, from, date, subject, size := rowParts(o)
	from.TextStyle = fyne.TextStyle{Bold: m.Unread()}
	from.SetText(firstNonEmpty(m.From, "(no sender)"))
	subject.TextStyle = fyne.TextStyle{Bold: m.Unread()}
	subject.SetText(firstNonEmpty(m.Subject, "(no subject)"))
	mk := ""
	if m.Unread() {
		mk += "●"
	}
	if m.HasAttachments {
		mk += "📎"
	}
	if m.Partial {
		mk += "⤓"
	}
	if m.Flags&storage.FlagFlagged != 0 {
		mk += "★"
	}
	marks.SetText(mk)
	d := "—"
	if !m.Date.IsZero() {
		t := m.Date.Local()
		if y, mo, dd := time.Now().Date(); t.Year() == y && t.Month() == mo && t.Day() == dd {
			d = t.Format("15:04")
		} else {
			d = t.Format("2006-01-02")
		}
	}
	date.SetText(d)
	size.SetText(humanSize(m.Size))
}

// tightVBox stacks objects with no padding between them (two lines of one row).
type tightVBox struct{}

func (tightVBox) MinSize(objs []fyne.CanvasObject) fyne.Size {
	var s fyne.Size
	for _, o := range objs {
		m := o.MinSize()
		s.Width = max(s.Width, m.Width)
		s.Height += m.Height - theme.Padding()*2
	}
	return s
}

func (tightVBox) Layout(objs []fyne.CanvasObject, size fyne.Size) {
	y := float32(0)
	for _, o := range objs {
		h := o.MinSize().Height - theme.Padding()*2
		o.Move(fyne.NewPos(0, y-theme.Padding()))
		o.Resize(fyne.NewSize(size.Width, h+theme.Padding()*2))
		y += h
	}
}

// Tree of accounts and their folders: ids are "account" and "account\x00Folder".
func (u *UI) treeChildren(id widget.TreeNodeID) []widget.TreeNodeID {
	if id == "" {
		var ids []string
		for _, a := range u.accounts() {
			ids = append(ids, a.Name)
		}
		return ids
	}
	if strings.Contains(id, "\x00") {
		return nil
	}
	var ids []string
	for _, f := range u.folderInfo[id] {
		ids = append(ids, id+"\x00"+f.Name)
	}
	return ids
}

func (u *UI) treeIsBranch(id widget.TreeNodeID) bool {
	return id == "" || !strings.Contains(id, "\x00")
}

func (u *UI) treeUpdate(id widget.TreeNodeID, branch bool, o fyne.CanvasObject) {
	l := o.(*widget.Label)
	name, folder, ok := strings.Cut(id, "\x00")
	if !ok {
		unread := 0
		for _, f := range u.folderInfo[name] {
			if f.Name == storage.Inbox {
				unread = f.Unread
			}
		}
		l.TextStyle = fyne.TextStyle{Bold: true}
		l.SetText(withCount(name, unread))
		return
	}
	for _, f := range u.folderInfo[name] {
		if f.Name == folder {
			l.TextStyle = fyne.TextStyle{Bold: f.Unread > 0}
			l.SetText(withCount(folder, f.Unread))
			return
		}
	}
	l.SetText(folder)
}

func withCount(s string, n int) string {
	if n == 0 {
		return s
	}
	return fmt.Sprintf("%s (%d)", s, n)
}

// start loads the folders, opens the first Inbox and starts the checks the settings ask for.
func (u *UI) start() {
	accts := u.accounts()
	u.refreshFolders()
	if len(accts) > 0 {
		u.tree.OpenBranch(accts[0].Name)
		u.tree.Select(accts[0].Name + "\x00" + storage.Inbox)
	}
	for _, a := range accts {
		if !a.Enabled {
			continue
		}
		if a.CheckAtStartup {
			u.startFetch(a.Name)
		}
		if a.CheckEveryMinutes > 0 {
			u.schedule(a.Name, time.Duration(a.CheckEveryMinutes)*time.Minute)
		}
	}
}

// schedule checks an account every interval until the app closes.
func (u *UI) schedule(name string, every time.Duration) {
	t := time.NewTicker(every)
	u.mu.Lock()
	u.timers = append(u.timers, t)
	u.mu.Unlock()
	go func() {
		for range t.C {
			u.do(func() { u.startFetch(name) })
		}
	}()
}

// refreshFolders reloads every account's folder list and counts in the background.
func (u *UI) refreshFolders() {
	accts := u.accounts()
	u.bg(func() {
		infos := map[string][]storage.FolderInfo{}
		for _, a := range accts {
			s, err := u.store(a.Name)
			if err != nil {
				u.env.Logf("opening %s: %v", a.Name, err)
				continue
			}
			fi, err := s.Folders()
			if err != nil {
				u.env.Logf("folders of %s: %v", a.Name, err)
				continue
			}
			infos[a.Name] = fi
		}
		u.do(func() {
			u.folderInfo = infos
			u.tree.Refresh()
		})
	})
}

// openFolder shows a folder's messages (loaded in the background).
func (u *UI) openFolder(name, folder string) {
	u.acct, u.folder = name, folder
	u.clearReader()
	u.bg(func() {
		s, err := u.store(name)
		var sums []storage.Summary
		if err == nil {
			sums, err = s.Summaries(folder)
		}
		u.do(func() {
			if u.acct != name || u.folder != folder {
				return
			}
			if err != nil {
				u.setStatus(fmt.Sprintf("Cannot read %s/%s: %v", name, folder, err))
				return
			}
			u.model.set(sums)
			u.list.UnselectAll()
			u.list.Refresh()
			u.env.Logf("listed %d messages in %s/%s", len(sums), name, folder)
			if r := u.model.row(u.selected); r >= 0 {
				u.list.Select(r)
			}
		})
	})
}

// reloadFolder refreshes the open folder, keeping the selection.
func (u *UI) reloadFolder() {
	if u.acct != "" {
		keep := u.selected
		u.openFolder(u.acct, u.folder)
		u.selected = keep
	}
	u.refreshFolders()
}

func (u *UI) clearReader() {
	u.selected = ""
	u.current = nil
	u.subject.SetText("")
	u.header.SetText(noMessageText)
	u.note.Hide()
	u.body.Segments = nil
	u.body.Refresh()
	u.attachments.RemoveAll()
	u.images.RemoveAll()
	u.partialBtn.Hide()
	u.sourceBtn.Hide()
}

// noMessageText fills the reader pane while no message is selected.
const noMessageText = "Select a message to read it."

// openMessage reads a message in the background, shows it and marks it read.
func (u *UI) openMessage(sum storage.Summary) {
	name, folder := u.acct, u.folder
	u.selected = sum.Key
	u.bg(func() {
		s, err := u.store(name)
		if err != nil {
			u.do(func() { u.setStatus(err.Error()) })
			return
		}
		rc, err := s.OpenMessage(folder, sum.Key)
		var m *mailview.Message
		if err == nil {
			m, err = mailview.Read(rc, mailview.Options{})
			rc.Close()
		}
		if err != nil {
			u.do(func() { u.setStatus(fmt.Sprintf("Cannot open the message: %v", err)) })
			return
		}
		m.Partial = sum.Partial
		images := u.inlineImages(s, folder, sum.Key, m)
		if sum.Unread() {
			if err := s.SetFlags(folder, []string{sum.Key}, storage.FlagSeen, 0); err == nil {
				sum.Flags |= storage.FlagSeen
			}
		}
		u.do(func() {
			if u.selected != sum.Key {
				return
			}
			u.showMessage(sum, m, images)
			u.model.setFlags(sum.Key, sum.Flags)
			if r := u.model.row(sum.Key); r >= 0 {
				u.list.RefreshItem(r)
			}
			u.refreshFolders()
		})
	})
}

// inlineImages reads the images the body shows by Content-ID, each decoded only within
// mailview's budget (see loadInlineImages); the others come back with the reason.
func (u *UI) inlineImages(s *storage.Store, folder, key string, m *mailview.Message) []inlineImage {
	return loadInlineImages(func() (io.ReadCloser, error) { return s.OpenMessage(folder, key) }, m)
}

func (u *UI) showMessage(sum storage.Summary, m *mailview.Message, images []inlineImage) {
	u.current, u.currentSum = m, sum
	u.subject.SetText(firstNonEmpty(m.Subject, "(no subject)"))
	var h strings.Builder
	fmt.Fprintf(&h, "From: %s\nTo: %s", addressLine(m.From), addressLine(m.To))
	if len(m.Cc) > 0 {
		fmt.Fprintf(&h, "\nCc: %s", addressLine(m.Cc))
	}
	switch {
	case !m.Date.IsZero():
		fmt.Fprintf(&h, "\nDate: %s", m.Date.Local().Format("Mon, 2 Jan 2006 15:04"))
	case m.DateText != "":
		fmt.Fprintf(&h, "\nDate: %s (not a valid date)", m.DateText)
	}
	u.header.SetText(h.String())
	var notes []string
	if m.RemoteBlocked > 0 {
		what := "1 remote reference was"
		if m.RemoteBlocked > 1 {
			what = fmt.Sprintf("%d remote references were", m.RemoteBlocked)
		}
		notes = append(notes, "Remote content blocked: "+what+" not loaded, to protect your privacy.")
	}
	if m.Partial {
		notes = append(notes, "Only the header of this message was downloaded (size limit).")
	}
	if len(notes) > 0 {
		u.note.SetText(strings.Join(notes, "\n"))
		u.note.Show()
	} else {
		u.note.Hide()
	}
	u.body.Segments = bodySegments(m.Body)
	u.body.Refresh()
	u.images.RemoveAll()
	for _, im := range images {
		if im.img == nil {
			u.images.Add(imagePlaceholder(im)) // never decoded: too large, damaged...
			continue
		}
		img := canvas.NewImageFromImage(im.img)
		img.FillMode = canvas.ImageFillContain
		img.SetMinSize(fyne.NewSize(320, 200))
		u.images.Add(img)
	}
	u.attachments.RemoveAll()
	if len(m.Attachments) > 0 {
		u.attachments.Add(widget.NewLabelWithStyle("Attachments", fyne.TextAlignLeading, fyne.TextStyle{Bold: true}))
		for _, a := range m.Attachments {
			a := a
			u.attachments.Add(widget.NewButtonWithIcon(fmt.Sprintf("Save %s (%s, %s)…", a.Name, a.ContentType, humanSize(a.Size)), theme.DocumentSaveIcon(),
				func() { u.saveAttachment(a) }))
		}
	}
	u.sourceBtn.Show()
	if m.Partial {
		u.partialBtn.Show()
	} else {
		u.partialBtn.Hide()
	}
}

// saveAttachment asks for a folder and saves the attachment inside it, never overwriting.
func (u *UI) saveAttachment(a mailview.Attachment) {
	name, folder, key := u.acct, u.folder, u.selected
	d := dialog.NewFolderOpen(func(dir fyne.ListableURI, err error) {
		if err != nil || dir == nil {
			return
		}
		u.bg(func() {
			s, err := u.store(name)
			text := fmt.Sprintf("Could not save %s: %v", a.Name, err)
			if err == nil {
				text = saveAttachmentTo(func() (io.ReadCloser, error) { return s.OpenMessage(folder, key) }, a, dir.Path())
			}
			u.do(func() { u.setStatus(text) })
		})
	}, u.win)
	d.Show()
}

// viewSource shows the raw message (at most 2 MB) in a read-only text window.
func (u *UI) viewSource() {
	name, folder, key := u.acct, u.folder, u.selected
	if key == "" {
		return
	}
	u.bg(func() {
		s, err := u.store(name)
		var data []byte
		if err == nil {
			var rc io.ReadCloser
			if rc, err = s.OpenMessage(folder, key); err == nil {
				data, err = io.ReadAll(io.LimitReader(rc, 2<<20))
				rc.Close()
			}
		}
		u.do(func() {
			if err != nil {
				u.setStatus(err.Error())
				return
			}
			e := widget.NewMultiLineEntry()
			e.SetText(strings.ToValidUTF8(string(data), "\uFFFD"))
			e.TextStyle = fyne.TextStyle{Monospace: true}
			e.Wrapping = fyne.TextWrapOff
			e.Disable()
			w := u.app.NewWindow("Source — " + u.currentSum.Subject)
			w.SetContent(e)
			w.Resize(fyne.NewSize(800, 600))
			w.Show()
		})
	})
}

// deleteSelected moves the selected message to the Trash (deletes it for good in the Trash).
func (u *UI) deleteSelected() {
	name, folder, key := u.acct, u.folder, u.selected
	if key == "" {
		return
	}
	row := u.model.row(key)
	u.bg(func() {
		s, err := u.store(name)
		if err == nil {
			err = s.Delete(folder, []string{key})
		}
		u.do(func() {
			if err != nil {
				u.setStatus(fmt.Sprintf("Could not delete: %v", err))
				return
			}
			u.setStatus("Moved to Trash")
			if folder == storage.Trash {
				u.setStatus("Deleted for good")
			}
			u.selected = ""
			// Select the next message, as mail readers do.
			if next := u.model.at(row + 1); next != nil {
				u.selected = next.Key
			}
			u.openFolder(name, folder)
			u.refreshFolders()
		})
	})
}

// toggleRead marks the selected message read or unread.
func (u *UI) toggleRead() {
	name, folder, key := u.acct, u.folder, u.selected
	r := u.model.row(key)
	m := u.model.at(r)
	if m == nil {
		return
	}
	add, remove := storage.FlagSeen, storage.Flags(0)
	if !m.Unread() {
		add, remove = 0, storage.FlagSeen
	}
	flags := (m.Flags | add) &^ remove
	u.bg(func() {
		s, err := u.store(name)
		if err == nil {
			err = s.SetFlags(folder, []string{key}, add, remove)
		}
		u.do(func() {
			if err != nil {
				u.setStatus(err.Error())
				return
			}
			u.model.setFlags(key, flags)
			u.list.RefreshItem(r)
			u.refreshFolders()
		})
	})
}

// downloadRest fetches the whole of a partial message.
func (u *UI) downloadRest() {
	name, sum := u.acct, u.currentSum
	a, ok := u.findAccount(name)
	if !ok || !sum.Partial {
		return
	}
	u.setStatus("Downloading the rest of the message…")
	u.bg(func() {
		s, err := u.store(name)
		if err == nil {
			_, err = account.FetchRest(context.Background(), a, s, sum.UIDL, u.env.Secrets)
		}
		u.do(func() {
			if err != nil {
				what, remedy := account.Explain(err, name)
				u.setStatus(what + " — " + remedy)
				return
			}
			u.setStatus("Downloaded the whole message")
			u.selected = sum.Key
			u.reloadFolder()
		})
	})
}

func (u *UI) setStatus(s string) {
	u.status.SetText(s)
	u.env.Logf("status: %s", s)
}

// shortcuts: arrows and j/k move, Delete deletes, Ctrl+F search, Ctrl+R or F5 get mail,
// Ctrl+, settings.
func (u *UI) shortcuts() {
	c := u.win.Canvas()
	ctrl := func(k fyne.KeyName, f func()) {
		c.AddShortcut(&desktop.CustomShortcut{KeyName: k, Modifier: fyne.KeyModifierShortcutDefault}, func(fyne.Shortcut) { f() })
	}
	ctrl(fyne.KeyF, func() { c.Focus(u.search) })
	ctrl(fyne.KeyR, u.getMail)
	ctrl(fyne.KeyComma, u.showSettings)
	c.SetOnTypedKey(func(e *fyne.KeyEvent) {
		switch e.Name {
		case fyne.KeyDown, fyne.KeyJ:
			u.move(1)
		case fyne.KeyUp, fyne.KeyK:
			u.move(-1)
		case fyne.KeyDelete:
			u.deleteSelected()
		case fyne.KeyF5:
			u.getMail()
		}
	})
}

func (u *UI) move(d int) {
	r := u.model.row(u.selected) + d
	if u.selected == "" {
		r = 0
	}
	if r >= 0 && r < u.model.len() {
		u.list.Select(r)
		u.list.ScrollTo(r)
	}
}

// getMail checks every enabled account.
func (u *UI) getMail() {
	for _, a := range u.accounts() {
		if a.Enabled {
			u.startFetch(a.Name)
		}
	}
}

// startFetch fetches one account in the background (unless it is already fetching).
func (u *UI) startFetch(name string) {
	a, ok := u.findAccount(name)
	if !ok {
		return
	}
	u.mu.Lock()
	if _, running := u.fetches[name]; running || u.closed {
		u.mu.Unlock()
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	u.fetches[name] = cancel
	u.mu.Unlock()
	u.progress.SetValue(0)
	u.progress.Show()
	u.progressLabel.SetText("Checking " + name + "…")
	u.progressLabel.Show()
	u.cancelBtn.Show()
	u.bg(func() {
		defer func() {
			u.mu.Lock()
			delete(u.fetches, name)
			u.mu.Unlock()
		}()
		s, err := u.store(name)
		if err != nil {
			u.do(func() { u.fetchDone(name, account.Result{}, err, time.Now()) })
			return
		}
		var first *storage.Summary
		lastReload := time.Now()
		res, err := account.Fetch(ctx, a, s, account.FetchOptions{Secrets: u.env.Secrets, Events: func(ev account.Event) {
			switch ev.Kind {
			case account.Progress:
				u.do(func() { u.showProgress(name, ev) })
			case account.MessageStored:
				if first == nil {
					sum := ev.Summary
					first = &sum
				}
				if time.Since(lastReload) > time.Second {
					lastReload = time.Now()
					u.do(func() {
						if u.acct == name && u.folder == storage.Inbox {
							u.reloadFolder()
						}
					})
				}
			case account.Note:
				u.do(func() { u.setStatus(name + ": " + ev.Text) })
			}
		}})
		if err == nil && res.New > 0 && first != nil {
			u.notify(name, res.New, *first)
		}
		u.do(func() { u.fetchDone(name, res, err, time.Now()) })
	})
}

func (u *UI) showProgress(name string, ev account.Event) {
	if ev.TotalBytes > 0 {
		u.progress.SetValue(float64(ev.Bytes) / float64(ev.TotalBytes))
	} else if ev.TotalMessages > 0 {
		u.progress.SetValue(float64(ev.Messages) / float64(ev.TotalMessages))
	}
	u.progressLabel.SetText(fmt.Sprintf("%s: %d/%d messages, %s/%s", name, ev.Messages, ev.TotalMessages, humanSize(ev.Bytes), humanSize(ev.TotalBytes)))
}

// fetchDone shows a fetch's outcome in plain words.
func (u *UI) fetchDone(name string, res account.Result, err error, at time.Time) {
	u.mu.Lock()
	running := len(u.fetches)
	u.mu.Unlock()
	if running <= 1 {
		u.progress.Hide()
		u.progressLabel.Hide()
		u.cancelBtn.Hide()
	}
	var pe interface{ Temporary() bool }
	switch {
	case err == nil:
		u.lastCheck[name] = at
		msg := fmt.Sprintf("%s: %d new", name, res.New)
		if res.DeletedOnServer > 0 {
			msg += fmt.Sprintf(", %d removed from the server", res.DeletedOnServer)
		}
		u.setStatus(msg + " — last check " + at.Format("15:04"))
		u.env.Logf("fetch of %s finished: %d new", name, res.New)
	case errors.Is(err, context.Canceled):
		u.setStatus(fmt.Sprintf("%s: cancelled (%d messages kept)", name, res.New))
	default:
		what, remedy := account.Explain(err, name)
		var le *account.LoginDelayError
		if errors.As(err, &le) {
			u.retryLater(name, time.Until(le.RetryAt))
		} else if errors.As(err, &pe) && pe.Temporary() {
			remedy = "will retry at " + at.Add(5*time.Minute).Format("15:04")
			u.retryLater(name, 5*time.Minute)
		}
		u.setStatus(what + " — " + remedy)
		u.env.Logf("fetch of %s failed: %v", name, err)
	}
	if u.acct == name {
		u.reloadFolder()
	} else {
		u.refreshFolders()
	}
}

func (u *UI) retryLater(name string, d time.Duration) {
	time.AfterFunc(d, func() { u.do(func() { u.startFetch(name) }) })
}

func (u *UI) cancelFetches() {
	u.mu.Lock()
	for _, c := range u.fetches {
		c()
	}
	u.mu.Unlock()
}

// notify sends a desktop notification for new mail.
func (u *UI) notify(name string, n int, first storage.Summary) {
	title := fmt.Sprintf("%d new messages in %s", n, name)
	if n == 1 {
		title = "New message in " + name
	}
	u.app.SendNotification(fyne.NewNotification(title, firstNonEmpty(first.From, "?")+": "+firstNonEmpty(first.Subject, "(no subject)")))
}

// Close stops timers and fetches, saves the window layout and the indexes.
func (u *UI) Close() {
	u.mu.Lock()
	u.closed = true
	for _, t := range u.timers {
		t.Stop()
	}
	for _, c := range u.fetches {
		c()
	}
	u.mu.Unlock()
	p := u.app.Preferences()
	p.SetFloat("split.list", u.vsplit.Offset)
	p.SetFloat("split.folders", u.hsplit.Offset)
	sz := u.win.Canvas().Size()
	p.SetFloat("window.width", float64(sz.Width))
	p.SetFloat("window.height", float64(sz.Height))
	u.wait()
	u.mu.Lock()
	names := make([]string, 0, len(u.stores))
	for n := range u.stores {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		u.stores[n].Close()
	}
	u.mu.Unlock()
}
