package gui

import (
	"context"
	"fmt"
	"io"
	"os"
	"sort"
	"sync"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/poplar-mail/poplar/account"
	"github.com/poplar-mail/poplar/account/autoconfig"
	"github.com/poplar-mail/poplar/storage"
	"github.com/poplar-mail/poplar/storage/search"
)

// Env is what the app takes from outside.
type Env struct {
	ConfigDir string
	DataDir   string
	Secrets   account.SecretStore // nil means the OS keyring
	// Finder finds a new account's servers from its address; nil means the system's DNS and
	// Thunderbird's ISP database (autoconfig.Finder's zero value).
	Finder *autoconfig.Finder
	// OpenURL opens an OAuth2 sign-in address; nil means the user's browser ($BROWSER, else
	// xdg-open).
	OpenURL func(url string) error
	// Logf receives one line per notable event ("listed 200 messages"); nil discards them.
	Logf func(format string, args ...any)
}

// UI is the main window's composition root: it builds the parts (folder tree, message list,
// reader pane, status bar, settings) and joins them. The fetch runner (account.Runner) does the
// checks; the UI only observes it. Widgets are touched only on the UI goroutine (callbacks and
// do); file, keyring and network work runs through bg.
type UI struct {
	app fyne.App
	win fyne.Window
	env Env

	uiMu   sync.Mutex // see do
	mu     sync.Mutex // guards cfg, stores, temp and closed, shared with background work
	cfg    *account.Config
	stores map[string]*storage.Store
	temp   string // private folder for attachments being opened
	closed bool
	jobs   jobs
	runner *account.Runner
	// life ends when the app closes (endLife): sign-ins and set-up lookups that wait on the user
	// or the network stop then.
	life    context.Context
	endLife context.CancelFunc

	// UI goroutine.
	acct, folder string
	tree         *folderTree
	list         *messageList
	reader       *readerPane
	status       *statusBar
	search       *searchEntry
	sortBar      *fyne.Container
	hsplit       *container.Split
	vsplit       *container.Split
	main         fyne.CanvasObject
	undo         *undoAction // the last delete or move, for Ctrl+Z
	restoring    string      // the message to select and scroll to when the folder loads (after a restart, an undo, a search)
	dialogs      []dialogCloser
	prompted     map[string]bool          // accounts whose failure already offered a remedy (trust.go)
	book         *addressBook             // addresses for completion, filled in the background (send.go)
	composers    []*composer              // the open composer windows (their drafts are saved when Poplar quits)
	searchSt     searchState              // the search box's search (search.go)
	freeMem      *time.Timer              // gives memory back after a big list changed (setList; UI goroutine)
	arriving     arrivals                 // new messages waiting for the next insert into the list (fetch.go)
	indexes      map[string]*search.Index // full-text indexes by account, under mu (search.go)
	tray         *fyne.Menu               // nil without a system tray
	// shortcutKeys are the window's shortcuts, for widgets that have the focus to pass on.
	shortcutKeys fyne.ShortcutHandler

	// demo starts the demo mailbox from the welcome screen; onQuit ends the app (both set by Run).
	demo   func()
	onQuit func()
}

// New builds the app's window content for env: the welcome screen when there is no account, the
// main window otherwise. It does no network work; loading runs in the background.
func New(a fyne.App, w fyne.Window, env Env) (*UI, error) {
	// One TokenCache for the app: an OAuth2 account's access token is refreshed once per
	// lifetime, however many checks, sends and tests use it.
	env.Secrets = account.NewTokenCache(env.Secrets)
	if env.Logf == nil {
		env.Logf = func(string, ...any) {}
	}
	cfg, err := account.LoadConfig(env.ConfigDir)
	if err != nil {
		return nil, err
	}
	u := &UI{app: a, win: w, env: env, cfg: cfg, stores: map[string]*storage.Store{}}
	u.life, u.endLife = context.WithCancel(context.Background())
	u.uiMu.Lock() // background work started below waits until the window is built
	defer u.uiMu.Unlock()
	u.runner = u.newRunner()
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
func (u *UI) bg(work func()) { u.jobs.run(work) }

func (u *UI) wait() { u.jobs.wait() }

// jobs counts background work. Unlike a sync.WaitGroup, work may start while someone waits
// (a fetch event starts a folder reload at any time).
type jobs struct {
	mu   sync.Mutex
	n    int
	idle sync.Cond
}

func (j *jobs) run(work func()) {
	j.mu.Lock()
	j.n++
	j.mu.Unlock()
	go func() {
		defer func() {
			j.mu.Lock()
			j.n--
			if j.n == 0 && j.idle.L != nil {
				j.idle.Broadcast()
			}
			j.mu.Unlock()
		}()
		work()
	}()
}

func (j *jobs) wait() {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.idle.L == nil {
		j.idle.L = &j.mu
	}
	for j.n > 0 {
		j.idle.Wait()
	}
}

// do applies fn to the widgets on the UI goroutine. The lock serialises updates where the
// driver runs fyne.Do inline (Fyne's test driver), so background jobs never touch widgets at once.
func (u *UI) do(fn func()) {
	fyne.Do(func() {
		u.uiMu.Lock()
		defer u.uiMu.Unlock()
		fn()
	})
}

// store opens (once) the store of an account. Safe from any goroutine; it does disk work, so
// call it off the UI goroutine.
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

// tempDir is the private folder (0700) where attachments are saved to be opened; Close removes it.
func (u *UI) tempDir() (string, error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.temp == "" {
		d, err := os.MkdirTemp("", "poplar-open-")
		if err != nil {
			return "", fmt.Errorf("making a private folder for attachments: %w", err)
		}
		u.temp = d
	}
	return u.temp, nil
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

// build creates the main window's parts and lays them out.
func (u *UI) build() {
	u.status = newStatusBar(func() { u.runner.CancelAll() }, u.env.Logf)
	u.tree = newFolderTree()
	u.tree.onSelect = u.openFolder
	u.tree.onMenu = u.folderMenu

	u.list = newMessageList()
	u.list.onCursor = u.cursorMoved
	u.list.onKey = u.typedKey
	u.list.onMenu = u.messageMenu
	u.list.onShortcut = u.shortcutKeys.TypedShortcut

	u.search = newSearchEntry()
	u.search.SetPlaceHolder("Search all mail: words, \"phrase\", from: to: is:unread… (Ctrl+F)")
	u.search.OnChanged = u.searchChanged
	u.searchSt.count = widget.NewLabel("")
	u.searchSt.count.Importance = widget.LowImportance
	u.searchSt.count.Wrapping = fyne.TextWrapWord
	u.searchSt.count.Hide()
	u.search.onEscape = func() {
		u.search.SetText("")
		u.win.Canvas().Focus(u.list)
	}
	u.search.onDown = func() { u.win.Canvas().Focus(u.list); u.list.move(1) }
	u.search.onShortcut = u.shortcutKeys.TypedShortcut

	u.reader = newReaderPane(u.win, u.bg, u.do)
	u.reader.onStatus = u.setStatus
	u.reader.onDownloadRest = u.downloadRest
	u.reader.onSource = u.viewSource
	u.reader.onMailto = u.mailto
	u.reader.tempDir = u.tempDir

	u.sortBar = container.NewHBox()
	listPane := container.NewBorder(container.NewVBox(u.search, u.searchSt.count, u.sortBar), nil, nil, nil, u.list)
	u.vsplit = container.NewHSplit(listPane, u.reader.content)
	u.vsplit.Offset = u.app.Preferences().FloatWithFallback("split.list", 0.42)
	u.hsplit = container.NewHSplit(u.tree.tree, u.vsplit)
	u.hsplit.Offset = u.app.Preferences().FloatWithFallback("split.folders", 0.18)
	u.main = container.NewBorder(u.toolbar(), u.status.content, nil, nil, u.hsplit)
	u.showSortBar()
}

// toolbar: labelled actions (a mail client's toolbar is read, not guessed); the rarer ones are
// in the ☰ menu.
func (u *UI) toolbar() fyne.CanvasObject {
	getMail := widget.NewButtonWithIcon("Get Mail", theme.DownloadIcon(), u.getMail)
	getMail.Importance = widget.HighImportance
	btn := func(text string, icon fyne.Resource, f func()) *widget.Button {
		b := widget.NewButtonWithIcon(text, icon, f)
		b.Importance = widget.LowImportance
		return b
	}
	var more *widget.Button
	more = btn("", theme.MenuIcon(), func() {
		m := fyne.NewMenu("",
			fyne.NewMenuItem("Flag/unflag (s)", u.toggleFlag),
			fyne.NewMenuItem("Move to…", u.moveDialog),
			fyne.NewMenuItem("Undo (Ctrl+Z)", u.undoLast),
			fyne.NewMenuItemSeparator(),
			fyne.NewMenuItem("Open a message file… (Ctrl+O)", u.openFileDialog),
			fyne.NewMenuItem("Save as .eml… (Ctrl+S)", u.saveMessageDialog),
			fyne.NewMenuItemSeparator(),
			fyne.NewMenuItem("Filters…", func() {
				if u.acct != "" {
					u.showFilters(u.acct)
				}
			}),
			fyne.NewMenuItem("Settings… (Ctrl+,)", u.showSettings),
			fyne.NewMenuItem("Quit (Ctrl+Q)", u.quit),
		)
		c := u.win.Canvas()
		widget.ShowPopUpMenuAtPosition(m, c, fyne.CurrentApp().Driver().AbsolutePositionForObject(more).Add(fyne.NewPos(0, more.Size().Height)))
	})
	return container.NewBorder(nil, nil,
		container.NewHBox(getMail,
			btn("Write", theme.MailComposeIcon(), u.newMessage),
			btn("Reply", theme.MailReplyIcon(), func() { u.replyTo(false) }),
			btn("Reply all", theme.MailReplyAllIcon(), func() { u.replyTo(true) }),
			btn("Forward", theme.MailForwardIcon(), u.forward),
			btn("Delete", theme.DeleteIcon(), u.deleteSelected),
			btn("Read/Unread", theme.VisibilityIcon(), u.toggleRead),
		),
		more)
}

// start loads the folders, opens the last (or first) folder and starts the checks.
func (u *UI) start() {
	accts := u.accounts()
	u.runner.Configure(accts)
	u.refreshFolders()
	if len(accts) > 0 {
		p := u.app.Preferences()
		acct, folder := p.String("last.account"), p.StringWithFallback("last.folder", storage.Inbox)
		if _, ok := u.findAccount(acct); !ok {
			acct, folder = accts[0].Name, storage.Inbox
		}
		u.restoring = p.String("last.message")
		u.tree.tree.OpenBranch(acct)
		u.tree.tree.Select(nodeID(acct, folder))
		if u.acct == "" { // the tree did not know the folder yet
			u.openFolder(acct, folder)
		}
	}
	u.runner.Start()
}

// refreshFolders reloads every account's folder list and counts in the background.
func (u *UI) refreshFolders() {
	accts := u.accounts()
	u.bg(func() {
		names := make([]string, 0, len(accts))
		infos := map[string][]storage.FolderInfo{}
		for _, a := range accts {
			names = append(names, a.Name)
			s, err := u.store(a.Name)
			if err != nil {
				u.env.Logf("opening %s: %v", a.Name, err)
				continue
			}
			if a.CanSend() { // an account that sends shows its Outbox and Sent
				for _, f := range []string{storage.Outbox, storage.Sent} {
					if err := s.CreateFolder(f); err != nil {
						u.env.Logf("making %s of %s: %v", f, a.Name, err)
					}
				}
			}
			fi, err := s.Folders()
			if err != nil {
				u.env.Logf("folders of %s: %v", a.Name, err)
				continue
			}
			infos[a.Name] = fi
		}
		u.do(func() {
			u.tree.setFolders(names, infos)
			u.updateTitle()
		})
	})
}

// updateTitle shows the unread count of the Inboxes in the window title and the tray.
func (u *UI) updateTitle() {
	n := u.tree.unread()
	title := "Poplar"
	if n > 0 {
		title = fmt.Sprintf("Poplar (%d unread)", n)
	}
	u.win.SetTitle(title)
	u.updateTray(n)
}

// openFolder shows a folder's messages (loaded in the background), with its remembered order.
func (u *UI) openFolder(name, folder string) {
	if u.acct == name && u.folder == folder && u.searchSt.query == "" {
		return
	}
	if u.search.Text != "" {
		u.searchSt.query = "" // a folder chosen ends the search
		u.search.SetText("")
	}
	u.acct, u.folder = name, folder
	u.reader.clear()
	u.list.model.clearSelection()
	u.list.model.sortBy = parseSortOrder(u.app.Preferences().String(u.sortPref()))
	u.list.model.threaded = u.app.Preferences().Bool(prefThreads)
	u.showSortBar()
	p := u.app.Preferences()
	p.SetString("last.account", name)
	p.SetString("last.folder", folder)
	u.loadFolder(name, folder)
}

// loadFolder (re)reads the open folder's summaries, keeping the selection and the reader.
func (u *UI) loadFolder(name, folder string) {
	u.bg(func() {
		s, err := u.store(name)
		var l *storage.Listing
		if err == nil {
			l, err = s.Listing(folder)
		}
		u.do(func() {
			if u.acct != name || u.folder != folder {
				return
			}
			if err != nil {
				u.setStatus(fmt.Sprintf("Cannot read %s/%s: %v", name, folder, err))
				return
			}
			u.setList(listingSource{l, true})
			u.env.Logf("listed %d messages in %s/%s", l.Len(), name, folder)
			u.listShown()
		})
	})
}

// reloadList reads the list again from the store: the search's results when the list shows a
// search, else the open folder.
func (u *UI) reloadList() {
	if q := u.searchSt.query; q != "" {
		delete(u.searchSt.updated, u.acct) // the index learns the change first
		u.searchSt.pending = q
		u.runSearch(q)
		return
	}
	u.loadFolder(u.acct, u.folder)
}

// listShown follows a new list (UI goroutine): it selects the message being restored (u.restoring:
// the one read before a search, or moved back by an undo) when there is one.
func (u *UI) listShown() {
	if u.restoring != "" {
		key := u.restoring
		u.restoring = ""
		u.list.selectKey(key)
		return
	}
	u.list.changed()
}

// cursorMoved follows the list's cursor with the reader.
func (u *UI) cursorMoved(sum *storage.Summary) {
	if sum == nil {
		u.reader.clear()
		u.app.Preferences().SetString("last.message", "")
		return
	}
	u.app.Preferences().SetString("last.message", sum.Key)
	u.env.Logf("reading %q", sum.Subject)
	u.openMessage(*sum)
	u.folderActions(*sum)
	if conv := u.list.model.conversation(sum.Key); len(conv) > 1 {
		u.reader.actions.Add(container.NewHBox(widget.NewButtonWithIcon(fmt.Sprintf("Show the conversation (%d messages)", len(conv)),
			theme.ListIcon(), func() { u.conversationWindow(conv) })))
	}
}

// openMessage shows a message in the reader and marks it read.
func (u *UI) openMessage(sum storage.Summary) {
	if u.reader.shows(sum.Key) {
		return
	}
	u.reader.actions.RemoveAll()
	name, folder := u.acct, u.folderOf(&sum)
	u.reader.load(shownMessage{key: sum.Key, title: sum.Subject, partial: sum.Partial, fullSize: sum.ServerSize,
		open: u.storeOpener(name, folder, sum.Key)}, false)
	if sum.Unread() {
		u.setFlags([]string{sum.Key}, storage.FlagSeen, 0)
	}
}

// folderOf is the folder a listed message is in: the open folder, or for a search result its own.
func (u *UI) folderOf(m *storage.Summary) string {
	if m.Folder != "" {
		return m.Folder
	}
	return u.folder
}

// storeOpener opens a stored message (off the UI goroutine).
func (u *UI) storeOpener(name, folder, key string) opener {
	return func() (io.ReadCloser, error) {
		s, err := u.store(name)
		if err != nil {
			return nil, err
		}
		return s.OpenMessage(folder, key)
	}
}

func (u *UI) setStatus(s string) { u.status.set(s) }

// saveLayout keeps the window's size and split positions for the next start (UI goroutine).
func (u *UI) saveLayout() {
	p := u.app.Preferences()
	p.SetFloat("split.list", u.vsplit.Offset)
	p.SetFloat("split.folders", u.hsplit.Offset)
	sz := u.win.Canvas().Size()
	p.SetFloat("window.width", float64(sz.Width))
	p.SetFloat("window.height", float64(sz.Height))
}

// Close stops the checks, waits for background work and closes the stores (their indexes are
// written) and removes the attachments opened. It blocks: call it off the UI goroutine.
func (u *UI) Close() {
	u.mu.Lock()
	u.closed = true
	u.mu.Unlock()
	u.endLife()
	u.runner.Close()
	u.wait()
	u.mu.Lock()
	defer u.mu.Unlock()
	names := make([]string, 0, len(u.stores))
	for n := range u.stores {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, idx := range u.indexes {
		idx.Close()
	}
	u.indexes = nil
	for _, n := range names {
		u.stores[n].Close()
	}
	u.stores = map[string]*storage.Store{}
	if u.temp != "" {
		os.RemoveAll(u.temp)
		u.temp = ""
	}
}
