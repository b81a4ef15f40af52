// Package storage owns every byte of an account's mail on disk: a Maildir++ (readable by mutt,
// Python's mailbox.Maildir and any other Maildir reader), durable delivery, the UIDL ledger that
// says which server messages were fetched, a summary index per folder, flags, moves and the Trash.
// It knows nothing of the network.
//
// Layout of an account folder DIR:
//
//	DIR/Maildir/{cur,new,tmp}          the Inbox
//	DIR/Maildir/.NAME/{cur,new,tmp}    folder NAME (Maildir++), e.g. .Trash
//	DIR/poplar/ledger                  UIDL ledger: append-only, an fsync per commit, compacted atomically
//	DIR/poplar/index/NAME.idx          summary index of folder NAME (a cache: rebuilt when corrupt)
//	DIR/poplar/lock, fetch.lock        flock(2) locks: store writes; one fetch at a time
//
// Delivery writes into tmp/, makes the data durable, renames into new/ and syncs the folder, and
// only then appends the ledger record; every message carries its server UIDL in an X-Poplar-UIDL
// header, so the ledger can be rebuilt from the messages and a crash between the two steps is
// repaired the next time the folder is read. Folders are 0700 and files 0600.
//
// The package is written on the standard library: the Maildir module available (emersion/go-maildir)
// never fsyncs and fails a whole listing on one stray file name.
package storage

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"
	"unicode"

	"golang.org/x/sys/unix"
)

// Folder names as users see them. Inbox is the Maildir root; others are Maildir++ ".Name" folders.
const (
	Inbox = "Inbox"
	Trash = "Trash"
)

// Errors callers can test for with errors.Is.
var (
	ErrNotFound        = errors.New("storage: message not found")
	ErrNoFolder        = errors.New("storage: no such folder")
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
}

// Open opens (creating when needed) the account store in dir: the Maildir at dir/Maildir with an
// Inbox and a Trash, and the state folder dir/poplar. It removes stale files from tmp/ (older
// than 36 hours, as the Maildir specification says) and repairs a torn ledger.
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

// Close writes the folder indexes that changed since they were last saved. It is safe to call
// more than once; the Store stays usable.
func (s *Store) Close() error {
	s.mu.Lock()
	folders := make([]*folder, 0, len(s.folders))
	for _, f := range s.folders {
		folders = append(folders, f)
	}
	s.mu.Unlock()
	for _, f := range folders {
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

// ValidFolderName reports why name cannot name a folder, or nil: no path separators, no leading
// dot, no control characters, at most 100 bytes.
func ValidFolderName(name string) error {
	if name == "" || len(name) > 100 || strings.HasPrefix(name, ".") || strings.ContainsAny(name, "/\\") || name == Inbox {
		return fmt.Errorf("storage: %q is not a valid folder name", name)
	}
	for _, r := range name {
		if unicode.IsControl(r) || unicode.Is(unicode.Bidi_Control, r) || r == unicode.ReplacementChar {
			return fmt.Errorf("storage: folder name %q has a control character", name)
		}
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

// CreateFolder makes a new folder (Maildir++ subfolder).
func (s *Store) CreateFolder(name string) error {
	if err := ValidFolderName(name); err != nil {
		return err
	}
	return s.makeFolder(name)
}

// FolderInfo describes a folder for the folder list.
type FolderInfo struct {
	Name   string
	Total  int
	Unread int
}

// Folders lists the folders, Inbox first, Trash last, the others sorted, with their counts.
func (s *Store) Folders() ([]FolderInfo, error) {
	names := []string{Inbox}
	des, err := os.ReadDir(s.maildir)
	if err != nil {
		return nil, fmt.Errorf("storage: %w", err)
	}
	var others []string
	for _, de := range des {
		n := de.Name()
		if de.IsDir() && strings.HasPrefix(n, ".") && n != "." && n != ".." && n != "."+Trash {
			if ValidFolderName(n[1:]) == nil {
				others = append(others, n[1:])
			}
		}
	}
	sort.Strings(others)
	names = append(names, others...)
	names = append(names, Trash)
	out := make([]FolderInfo, 0, len(names))
	for _, n := range names {
		f, err := s.folder(n)
		if err != nil {
			return nil, err
		}
		total, unread := f.counts()
		out = append(out, FolderInfo{Name: n, Total: total, Unread: unread})
	}
	return out, nil
}

// cleanTmp removes files in tmp/ folders older than 36 hours (left by a crash mid-delivery).
func (s *Store) cleanTmp() {
	dirs := []string{filepath.Join(s.maildir, "tmp")}
	if des, err := os.ReadDir(s.maildir); err == nil {
		for _, de := range des {
			if de.IsDir() && strings.HasPrefix(de.Name(), ".") {
				dirs = append(dirs, filepath.Join(s.maildir, de.Name(), "tmp"))
			}
		}
	}
	cutoff := time.Now().Add(-36 * time.Hour)
	for _, d := range dirs {
		des, _ := os.ReadDir(d)
		for _, de := range des {
			if fi, err := de.Info(); err == nil && fi.ModTime().Before(cutoff) {
				os.Remove(filepath.Join(d, de.Name()))
			}
		}
	}
}

// lock takes the store's cross-process write lock; call the returned function to release it.
func (s *Store) lock() (func(), error) {
	return flock(filepath.Join(s.state, "lock"), true)
}

// LockFetch takes the account's fetch lock without waiting: only one fetch per account runs at a
// time, across processes. It returns ErrFetchInProgress when another holds it.
func (s *Store) LockFetch() (unlock func(), err error) {
	u, err := flock(filepath.Join(s.state, "fetch.lock"), false)
	if errors.Is(err, unix.EWOULDBLOCK) {
		return nil, ErrFetchInProgress
	}
	return u, err
}

// flock opens path and takes an exclusive flock on it, waiting when wait is set.
func flock(path string, wait bool) (func(), error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("storage: %w", err)
	}
	how := unix.LOCK_EX
	if !wait {
		how |= unix.LOCK_NB
	}
	for {
		err = unix.Flock(int(f.Fd()), how)
		if err != unix.EINTR {
			break
		}
	}
	if err != nil {
		f.Close()
		if errors.Is(err, unix.EWOULDBLOCK) {
			return nil, err
		}
		return nil, fmt.Errorf("storage: locking %s: %w", path, err)
	}
	return func() { f.Close() }, nil
}

// syncDir fsyncs a folder so renames and new names in it are durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("storage: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("storage: syncing %s: %w", dir, err)
	}
	return nil
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
	return filepath.Join(f.path, e.sub, e.name), nil
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
	p := filepath.Join(s.state, "next-login")
	tmp := p + ".tmp"
	if err := os.WriteFile(tmp, []byte(t.UTC().Format(time.RFC3339)+"\n"), 0o600); err != nil {
		return fmt.Errorf("storage: %w", err)
	}
	if err := os.Rename(tmp, p); err != nil {
		return fmt.Errorf("storage: %w", err)
	}
	return nil
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
