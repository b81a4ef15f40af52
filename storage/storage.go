// Package storage owns every byte of an account's mail on disk: a Maildir++ (readable by mutt,
// Python's mailbox.Maildir and any other Maildir reader), durable delivery, the UIDL ledger that
// says which server messages were fetched, a summary index per folder, flags, moves and the Trash.
// It knows nothing of the network.
//
// Layout of an account folder DIR:
//
//	DIR/Maildir/{cur,new,tmp}          the Inbox
//	DIR/Maildir/.NAME/{cur,new,tmp}    folder NAME (Maildir++), e.g. .Trash; .Work.Sub is Sub inside Work
//	DIR/poplar/ledger                  UIDL ledger: append-only, an fsync per commit, compacted atomically
//	DIR/poplar/index/NAME.idx          summary index of folder NAME (a cache: rebuilt when corrupt)
//	DIR/poplar/trash-origins           the folder each message in the Trash came from (append-only)
//	DIR/poplar/lock, fetch.lock        flock(2) locks: store writes; one fetch at a time
//
// Delivery writes into tmp/, makes the data durable, renames into new/ and syncs the folder, and
// only then appends the ledger record. Every message Poplar stores starts with its own lines: line 1
// "X-Poplar-UIDL: <server UIDL>", then "X-Poplar-Partial: yes; size=N" when only the header was
// fetched (N, the size on the server, is left out when unknown). So the ledger can be rebuilt from
// the messages, and a crash between the two steps is repaired the next time the folder is read.
// Only those leading lines count: X-Poplar-* fields in a message's own header are renamed
// X-Original-Poplar-* as it is delivered, so a sender cannot make Poplar believe anything about
// this or another message. Folders are 0700 and files 0600.
//
// The package is written on the standard library: the Maildir module available (emersion/go-maildir)
// never fsyncs and fails a whole listing on one stray file name.
package storage

import (
	"cmp"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode"
)

// Folder names as users see them. Inbox is the Maildir root; others are Maildir++ ".Name" folders,
// and '.' separates the levels of nested folders: "Work.Sub" is Sub inside Work. Open makes Inbox
// and Trash; Sent and Outbox are made by whoever first stores mail there (CreateFolder).
const (
	Inbox  = "Inbox"
	Trash  = "Trash"
	Sent   = "Sent"   // mail sent from Poplar
	Outbox = "Outbox" // mail waiting to be sent
)

// Errors callers can test for with errors.Is.
var (
	ErrNotFound        = errors.New("storage: message not found")
	ErrNoFolder        = errors.New("storage: no such folder")
	ErrFolderExists    = errors.New("storage: folder already exists")
	ErrSpecialFolder   = errors.New("storage: special folder") // Inbox and Trash cannot be renamed or deleted
	ErrFetchInProgress = errors.New("storage: another fetch of this account is running")
)

// Store is one account's mail folder. It is safe for concurrent use by several goroutines, and by
// several processes (writes take a file lock).
type Store struct {
	dir     string
	maildir string
	state   string

	mu      sync.Mutex // guards folders and the ledger cache
	folders map[string]*folder
	ledger  *ledger

	fetchHeld atomic.Int32 // fetch locks held through this Store (LockFetch)

	mappedMu sync.Mutex
	mapped   [][]byte // index files mapped into memory (readIndexFile), for ReleaseMemory
}

// addMapping records an index file's mapping for ReleaseMemory.
func (s *Store) addMapping(data []byte) {
	s.mappedMu.Lock()
	s.mapped = append(s.mapped, data)
	s.mappedMu.Unlock()
}

// ReleaseMemory gives back to the system the pages of the index files this Store read that are
// resident: after a whole folder's summaries were read (sorting by sender, threading, a search
// index brought up to date), they are no longer counted against the process, and any summary
// read again comes back from the page cache. It does not change what any summary holds.
func (s *Store) ReleaseMemory() {
	s.mappedMu.Lock()
	defer s.mappedMu.Unlock()
	for _, data := range s.mapped {
		releasePages(data)
	}
}

// Open opens (creating when needed) the account store in dir: the Maildir at dir/Maildir with an
// Inbox and a Trash, and the state folder dir/poplar. It removes stale files from tmp/ (older
// than 36 hours, as the Maildir specification says; a fetch removes Poplar's own at once with
// RemoveTmp) and repairs a torn ledger.
func Open(dir string) (*Store, error) {
	s := &Store{dir: dir, maildir: filepath.Join(dir, "Maildir"), state: filepath.Join(dir, "poplar"), folders: map[string]*folder{}}
	for _, d := range []string{dir, s.state, filepath.Join(s.state, "index")} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, fmt.Errorf("storage: %w", err)
		}
	}
	for _, f := range []string{Inbox, Trash} {
		if err := s.makeFolder(f); err != nil {
			return nil, err
		}
	}
	s.cleanTmp()
	l, err := openLedger(filepath.Join(s.state, "ledger"))
	if err != nil {
		return nil, err
	}
	s.ledger = l
	return s, nil
}

// Close writes the folder indexes that changed since they were last saved. A folder whose new/ or
// cur/ was not listed since it changed (a commit adds its messages without listing new/) is
// refreshed first, so the index file is saved in step with the folder. It is safe to call more
// than once; the Store stays usable.
func (s *Store) Close() error {
	s.mu.Lock()
	folders := make([]*folder, 0, len(s.folders))
	for _, f := range s.folders {
		folders = append(folders, f)
	}
	s.mu.Unlock()
	for _, f := range folders {
		f.mu.Lock()
		unlisted := f.loaded && (f.stampNew == 0 || f.stampCur == 0)
		f.mu.Unlock()
		if unlisted {
			f.refresh() // an error (the folder removed meanwhile) leaves the index file to the next read
		}
		f.mu.Lock()
		f.saveIndex()
		f.mu.Unlock()
	}
	return nil
}

// Dir returns the account folder the store was opened on.
func (s *Store) Dir() string { return s.dir }

// folderPath returns the Maildir path of a folder name as users see it.
func (s *Store) folderPath(name string) (string, error) {
	if name == Inbox || name == "" {
		return s.maildir, nil
	}
	if err := ValidFolderName(name); err != nil {
		return "", err
	}
	return filepath.Join(s.maildir, "."+name), nil
}

// ValidFolderName reports why name cannot name a folder, or nil: no path separators, no control
// characters, at most 100 bytes, not Inbox, and no empty level (no leading or trailing dot, no
// "..": '.' separates nested folders). It does no I/O.
func ValidFolderName(name string) error {
	if name == "" || len(name) > 100 || strings.HasPrefix(name, ".") || strings.ContainsAny(name, "/\\") || name == Inbox {
		return fmt.Errorf("storage: %q is not a valid folder name", name)
	}
	if strings.HasSuffix(name, ".") || strings.Contains(name, "..") {
		return fmt.Errorf("storage: folder name %q has an empty level ('.' separates nested folders)", name)
	}
	for _, r := range name {
		if unicode.IsControl(r) || unicode.Is(unicode.Bidi_Control, r) || r == unicode.ReplacementChar {
			return fmt.Errorf("storage: folder name %q has a control character", name)
		}
	}
	if runtime.GOOS == "windows" {
		return WindowsNameError(name)
	}
	return nil
}

func (s *Store) makeFolder(name string) error {
	p, err := s.folderPath(name)
	if err != nil {
		return err
	}
	for _, sub := range []string{"", "cur", "new", "tmp"} {
		if err := os.MkdirAll(filepath.Join(p, sub), 0o700); err != nil {
			return fmt.Errorf("storage: %w", err)
		}
	}
	if name != Inbox {
		// Maildir++ marks a folder with a maildirfolder file.
		f, err := os.OpenFile(filepath.Join(p, "maildirfolder"), os.O_CREATE|os.O_WRONLY, 0o600)
		if err != nil {
			return fmt.Errorf("storage: %w", err)
		}
		f.Close()
	}
	return nil
}

// CreateFolder makes a folder (a Maildir++ folder), and the folders above it that are missing:
// "Work.Sub" makes Work too. A folder that exists already is left as it is (no error).
func (s *Store) CreateFolder(name string) error {
	if err := ValidFolderName(name); err != nil {
		return err
	}
	return s.makeFolderTree(name)
}

// makeFolderTree makes folder name and every folder above it.
func (s *Store) makeFolderTree(name string) error {
	for i := 0; i < len(name); i++ {
		if name[i] == '.' {
			if err := s.makeFolder(name[:i]); err != nil {
				return err
			}
		}
	}
	return s.makeFolder(name)
}

// FolderInfo describes a folder for the folder list.
type FolderInfo struct {
	Name   string // e.g. "Work.Sub": Sub inside Work
	Total  int
	Unread int
}

// Parent returns the name of the folder that holds this one: "Work" for "Work.Sub", "" for a
// folder at the top level. Folders lists it before this one. It does no I/O.
func (fi FolderInfo) Parent() string { return parentFolder(fi.Name) }

// Depth returns how deep the folder is nested: 0 at the top level, 1 for "Work.Sub".
func (fi FolderInfo) Depth() int { return strings.Count(fi.Name, ".") }

// Base returns the last level of the name, what a folder tree shows: "Sub" for "Work.Sub".
func (fi FolderInfo) Base() string { return fi.Name[strings.LastIndexByte(fi.Name, '.')+1:] }

// parentFolder returns the folder that holds folder name, "" at the top level.
func parentFolder(name string) string {
	i := strings.LastIndexByte(name, '.')
	if i < 0 {
		return ""
	}
	return name[:i]
}

// Folders lists the folders with their counts as a tree in depth-first order, each folder right
// before the folders inside it: Inbox first, then the others sorted, then Trash. Where another
// program made a nested folder without its parent (".A.B" without ".A"), Folders makes the parent,
// an empty folder, so every Parent is listed; it skips that while another Store writes, and does
// no other write. Folders picks up changes made by other programs.
func (s *Store) Folders() ([]FolderInfo, error) {
	names, err := s.folderNames()
	if err != nil {
		return nil, err
	}
	if names, err = s.fillGaps(names); err != nil {
		return nil, err
	}
	slices.SortFunc(names, compareFolders)
	out := make([]FolderInfo, 0, len(names))
	for _, n := range names {
		f, err := s.folder(n)
		if errors.Is(err, ErrNoFolder) && n != Inbox && n != Trash {
			continue // removed since it was listed
		}
		if err != nil {
			return nil, err
		}
		total, unread := f.counts()
		out = append(out, FolderInfo{Name: n, Total: total, Unread: unread})
	}
	return out, nil
}

// folderNames lists the folders on disk, unsorted: Inbox, Trash, and every Maildir++ folder with a
// valid name and a cur/ (a folder whose removal a crash cut short may have none: it is left out).
func (s *Store) folderNames() ([]string, error) {
	des, err := os.ReadDir(s.maildir)
	if err != nil {
		return nil, fmt.Errorf("storage: %w", err)
	}
	names := []string{Inbox, Trash}
	for _, de := range des {
		n, ok := strings.CutPrefix(de.Name(), ".")
		if !ok || !de.IsDir() || n == Trash || ValidFolderName(n) != nil {
			continue
		}
		if _, err := os.Stat(filepath.Join(s.maildir, de.Name(), "cur")); err == nil {
			names = append(names, n)
		}
	}
	return names, nil
}

// fillGaps makes the missing parents of the folders listed in names (made by another program)
// and returns names with them. It does nothing while the store lock is held (by another Store,
// or by this one in a caller: the gap is filled at a later call).
func (s *Store) fillGaps(names []string) ([]string, error) {
	if len(missingParents(names)) == 0 {
		return names, nil
	}
	unlock, err := flock(filepath.Join(s.state, "lock"), false)
	if err != nil {
		return names, nil
	}
	defer unlock()
	if names, err = s.folderNames(); err != nil { // again, under the lock
		return nil, err
	}
	for _, p := range missingParents(names) {
		if s.makeFolder(p) == nil {
			names = append(names, p)
		}
	}
	return names, nil
}

// missingParents returns the folders above those in names that names lacks.
func missingParents(names []string) []string {
	have := make(map[string]bool, len(names))
	for _, n := range names {
		have[n] = true
	}
	var out []string
	for _, n := range names {
		for p := parentFolder(n); p != "" && !have[p]; p = parentFolder(p) {
			have[p] = true
			out = append(out, p)
		}
	}
	return out
}

// compareFolders orders folder names as Folders lists them: Inbox and the folders inside it first,
// Trash and the folders inside it last, the others between, compared level by level so that every
// folder comes right before the folders inside it ("Work", "Work.Sub", "Work-A").
func compareFolders(a, b string) int {
	rank := func(n string) int {
		top, _, _ := strings.Cut(n, ".")
		switch top {
		case Inbox:
			return 0
		case Trash:
			return 2
		}
		return 1
	}
	if c := cmp.Compare(rank(a), rank(b)); c != 0 {
		return c
	}
	for {
		x, restA, moreA := strings.Cut(a, ".")
		y, restB, moreB := strings.Cut(b, ".")
		if c := strings.Compare(x, y); c != 0 {
			return c
		}
		if !moreA || !moreB {
			return cmp.Compare(len(restA), len(restB)) // the parent (no more levels) first
		}
		a, b = restA, restB
	}
}

// tmpDirs lists the tmp/ folders of every Maildir folder.
func (s *Store) tmpDirs() []string {
	dirs := []string{filepath.Join(s.maildir, "tmp")}
	if des, err := os.ReadDir(s.maildir); err == nil {
		for _, de := range des {
			if de.IsDir() && strings.HasPrefix(de.Name(), ".") && de.Name() != "." && de.Name() != ".." {
				dirs = append(dirs, filepath.Join(s.maildir, de.Name(), "tmp"))
			}
		}
	}
	return dirs
}

// cleanTmp removes files in tmp/ folders older than 36 hours (left by a crash mid-delivery), as
// the Maildir specification says, whoever made them.
func (s *Store) cleanTmp() {
	cutoff := time.Now().Add(-36 * time.Hour)
	for _, d := range s.tmpDirs() {
		des, _ := os.ReadDir(d)
		for _, de := range des {
			if fi, err := de.Info(); err == nil && fi.ModTime().Before(cutoff) {
				os.Remove(filepath.Join(d, de.Name()))
			}
		}
	}
}

// RemoveTmp removes every file Poplar left in the tmp/ folder of any Maildir folder, whatever its
// age: the message a killed fetch was writing, or the whole message a killed ReplacePartial was
// writing. It knows Poplar's files by their names (the unique names Poplar makes); files of other
// programs are left to the 36-hour rule applied by Open. It returns how many files it removed.
//
// The caller must hold this Store's fetch lock (LockFetch); RemoveTmp fails otherwise. Then no
// file it removes is in use: Batch.Deliver writes into tmp/ only under the fetch lock (a fetch
// calls RemoveTmp before its first delivery), and ReplacePartial writes there only under the
// store's write lock, which RemoveTmp takes too. Moves, flag changes and deletions rename files
// between new/ and cur/ and never use tmp/; the index and ledger files are written in DIR/poplar.
func (s *Store) RemoveTmp() (removed int, err error) {
	if s.fetchHeld.Load() == 0 {
		return 0, errors.New("storage: RemoveTmp called without the fetch lock")
	}
	unlock, err := s.lock()
	if err != nil {
		return 0, err
	}
	defer unlock()
	var errs []error
	for _, d := range s.tmpDirs() {
		des, err := os.ReadDir(d)
		if err != nil {
			if !errors.Is(err, os.ErrNotExist) {
				errs = append(errs, fmt.Errorf("storage: %w", err))
			}
			continue
		}
		for _, de := range des {
			if !de.Type().IsRegular() || !poplarKey(de.Name()) {
				continue
			}
			err := os.Remove(filepath.Join(d, de.Name()))
			switch {
			case err == nil:
				removed++
			case !errors.Is(err, os.ErrNotExist):
				errs = append(errs, fmt.Errorf("storage: removing a stale temporary file: %w", err))
			}
		}
	}
	return removed, errors.Join(errs...)
}

// poplarKey reports whether name has the shape of the unique names newKey makes:
// SECONDS.M<microseconds>P<pid>Q<sequence>R<8 hex digits>.HOST.
func poplarKey(name string) bool {
	digits := func(s string) (rest string, ok bool) {
		i := 0
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		return s[i:], i > 0
	}
	rest, ok := digits(name)
	for _, sep := range []string{".M", "P", "Q"} {
		if !ok || !strings.HasPrefix(rest, sep) {
			return false
		}
		rest, ok = digits(rest[len(sep):])
	}
	if !ok || len(rest) < 11 || rest[0] != 'R' || rest[9] != '.' {
		return false
	}
	for _, c := range []byte(rest[1:9]) {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

// FreeSpace returns the bytes available to this (unprivileged) user on the file system that
// holds the Maildir: statfs(2)'s available blocks times its block size. It does I/O (one system
// call) and says nothing of quotas.
func (s *Store) FreeSpace() (int64, error) {
	n, err := freeSpace(s.maildir)
	if err != nil {
		return 0, fmt.Errorf("storage: free space of %s: %w", s.maildir, err)
	}
	return n, nil
}

// lock takes the store's cross-process write lock; call the returned function to release it.
func (s *Store) lock() (func(), error) {
	return flock(filepath.Join(s.state, "lock"), true)
}

// LockFetch takes the account's fetch lock without waiting: only one fetch per account runs at a
// time, across processes. It returns ErrFetchInProgress when another holds it. Call unlock once,
// when the fetch is over; RemoveTmp and Batch deliveries belong inside.
func (s *Store) LockFetch() (unlock func(), err error) {
	u, err := flock(filepath.Join(s.state, "fetch.lock"), false)
	if errors.Is(err, errLockHeld) {
		return nil, ErrFetchInProgress
	}
	if err != nil {
		return nil, err
	}
	s.fetchHeld.Add(1)
	var once sync.Once
	return func() {
		once.Do(func() {
			s.fetchHeld.Add(-1)
			u()
		})
	}, nil
}

// OpenMessage opens the raw file of a message; the caller closes it.
func (s *Store) OpenMessage(folder, key string) (io.ReadCloser, error) {
	p, err := s.MessagePath(folder, key)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(p)
	if errors.Is(err, os.ErrNotExist) {
		// Renamed by another program between the lookup and the open: look again once.
		if p, err = s.MessagePath(folder, key); err != nil {
			return nil, err
		}
		f, err = os.Open(p)
	}
	if err != nil {
		return nil, fmt.Errorf("storage: %w", err)
	}
	return f, nil
}

// MessagePath returns the current path of a message file (it changes when flags change).
func (s *Store) MessagePath(folder, key string) (string, error) {
	f, err := s.folder(folder)
	if err != nil {
		return "", err
	}
	e, ok := f.lookup(key)
	if !ok {
		return "", fmt.Errorf("%w: %s/%s", ErrNotFound, folder, key)
	}
	return filepath.Join(f.path, e.subdir(), e.name), nil
}

// NextLogin returns the earliest time the server allows the next login (its LOGIN-DELAY), as
// recorded by SetNextLogin; the zero time when there is no restriction.
func (s *Store) NextLogin() time.Time {
	data, err := os.ReadFile(filepath.Join(s.state, "next-login"))
	if err != nil {
		return time.Time{}
	}
	t, err := time.Parse(time.RFC3339, strings.TrimSpace(string(data)))
	if err != nil {
		return time.Time{}
	}
	return t
}

// SetNextLogin records the earliest time of the next login, so that another process (the app and
// the command line) honours the server's LOGIN-DELAY too.
func (s *Store) SetNextLogin(t time.Time) error {
	return writeFileAtomic(filepath.Join(s.state, "next-login"), []byte(t.UTC().Format(time.RFC3339)+"\n"))
}

// writeFileAtomic replaces the file path by one holding data: a temporary file in the same folder,
// fsynced, renamed over path, and the folder fsynced. A reader sees the old file or the new one,
// whole; after a crash, so does the next Open.
func writeFileAtomic(path string, data []byte) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+"-*")
	if err != nil {
		return fmt.Errorf("storage: %w", err)
	}
	defer os.Remove(f.Name())
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = renameDurable(f.Name(), path)
	}
	if err != nil {
		return fmt.Errorf("storage: writing %s: %w", filepath.Base(path), err)
	}
	return syncDir(dir)
}

// PartialUIDLs returns the UIDLs of messages stored with only their header.
func (s *Store) PartialUIDLs() (map[string]bool, error) {
	folders, err := s.Folders()
	if err != nil {
		return nil, err
	}
	out := map[string]bool{}
	for _, f := range folders {
		sums, err := s.Summaries(f.Name)
		if err != nil {
			return nil, err
		}
		for _, m := range sums {
			if m.Partial && m.UIDL != "" {
				out[m.UIDL] = true
			}
		}
	}
	return out, nil
}
