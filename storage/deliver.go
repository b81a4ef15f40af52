package storage

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/poplar-mail/poplar/storage/mailview"
)

// DeliverInfo describes a message being delivered.
type DeliverInfo struct {
	UIDL    string // the server's id as StorableUIDL maps it; recorded in the ledger and the X-Poplar-UIDL line
	Partial bool   // only the header was downloaded
	// ServerSize is the message's size on the server in octets, as LIST reported it; 0 means
	// unknown. It is recorded (X-Poplar-Partial: yes; size=N) only for a partial message, and
	// only when it is 1 to 1 TiB; any other value is stored as unknown.
	ServerSize int64
	Received   time.Time // zero means now
}

// Batch is a group of deliveries made durable together (group commit): Deliver streams each message
// into tmp/; Commit makes them all durable with a few syncs, moves them into new/ and appends their
// ledger records. A Batch is not safe for concurrent use. Use it only while holding LockFetch: the
// fetch lock is what keeps RemoveTmp away from its files in tmp/.
type Batch struct {
	s       *Store
	pending []pendingMsg
	done    bool
	buf     []byte        // Deliver's copy buffer, reused for every message of the batch
	nr      neutralReader // Deliver's header filter, reused likewise
}

// deliverBuffer is the size of Deliver's copy buffer: each write(2) moves up to this much.
const deliverBuffer = 128 << 10

type pendingMsg struct {
	tmp  string
	key  string
	info DeliverInfo
}

// NewBatch starts a group of deliveries into the Inbox.
func (s *Store) NewBatch() *Batch { return &Batch{s: s} }

var keySeq atomic.Uint64

// newKey makes a Maildir unique name: time, microseconds, process, sequence and randomness, host.
func newKey(t time.Time) string {
	var rnd [4]byte
	rand.Read(rnd[:])
	return strconv.FormatInt(t.Unix(), 10) + ".M" + strconv.Itoa(t.Nanosecond()/1000) + "P" + strconv.Itoa(os.Getpid()) +
		"Q" + strconv.FormatUint(keySeq.Add(1), 10) + "R" + hex.EncodeToString(rnd[:]) + "." + maildirHost()
}

// maildirHost is the host part of the names newKey makes: the host name with '/', ':' and '.'
// replaced as the Maildir specification says. It is read once, not for every message.
var maildirHost = sync.OnceValue(func() string {
	host, _ := os.Hostname()
	host = strings.NewReplacer("/", `\057`, ":", `\072`, ".", "_").Replace(host)
	if host == "" {
		host = "localhost"
	}
	return host
})

// Deliver streams r into a new file in tmp/ with Poplar's own lines in front (X-Poplar-UIDL when
// info.UIDL is set, X-Poplar-Partial with info.ServerSize when info.Partial is), and returns the
// message's key. The message's own X-Poplar-* header fields are renamed X-Original-Poplar-* (see
// neutralReader); its other bytes are stored as they are. info.UIDL must be "" or satisfy
// StorableUIDL unchanged. The message is not yet visible or durable: Commit makes it so. r is read
// to its end.
func (b *Batch) Deliver(r io.Reader, info DeliverInfo) (key string, err error) {
	if b.done {
		return "", errors.New("storage: batch already committed or aborted")
	}
	if info.UIDL != "" {
		if err := validUIDL(info.UIDL); err != nil {
			return "", err
		}
	}
	if info.Received.IsZero() {
		info.Received = time.Now()
	}
	key = newKey(info.Received)
	tmp := filepath.Join(b.s.maildir, "tmp", key)
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return "", fmt.Errorf("storage: %w", err)
	}
	if b.buf == nil {
		b.buf = make([]byte, deliverBuffer)
	}
	own := ownInfo{uidl: info.UIDL, partial: info.Partial, serverSize: info.ServerSize}
	if err := writeMessage(f, r, b.buf, &b.nr, own); err != nil {
		f.Close()
		os.Remove(tmp)
		return "", fmt.Errorf("storage: delivering message: %w", err)
	}
	if err := f.Close(); err != nil {
		os.Remove(tmp)
		return "", fmt.Errorf("storage: delivering message: %w", err)
	}
	b.pending = append(b.pending, pendingMsg{tmp: tmp, key: key, info: info})
	return key, nil
}

// writeMessage writes to w Poplar's own lines for own and then the message read from r with its
// X-Poplar-* header fields neutralised, in large writes through buf. Deliver and ReplacePartial
// both store messages through it.
func writeMessage(w io.Writer, r io.Reader, buf []byte, nr *neutralReader, own ownInfo) error {
	nr.reset(r)
	defer nr.reset(nil) // do not keep the caller's reader
	return copyFull(w, nr, buf, ownLines(own))
}

// copyFull writes head and then all of r to w, filling buf before each write so a message goes to
// disk in a few large writes whatever sizes the reader returns.
func copyFull(w io.Writer, r io.Reader, buf, head []byte) error {
	n := copy(buf, head)
	for {
		m, err := r.Read(buf[n:])
		n += m
		if n == len(buf) || (err != nil && n > 0) {
			if _, werr := w.Write(buf[:n]); werr != nil {
				return werr
			}
			n = 0
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// Len returns how many messages wait for Commit.
func (b *Batch) Len() int { return len(b.pending) }

// Commit makes every delivered message durable and visible: their data is synced, they are
// renamed into new/, the folder is synced, and their ledger records are appended and synced.
// When Commit returns nil every message of the batch survives a crash. On error nothing is
// recorded in the ledger; messages already renamed are picked up (and recorded) at the next read.
// It returns the summaries of the messages, which it adds to the Inbox's index itself (addDelivered)
// rather than listing new/ again. The batch can be used again after Commit.
func (b *Batch) Commit() ([]Summary, error) {
	if b.done {
		return nil, errors.New("storage: batch already aborted")
	}
	if len(b.pending) == 0 {
		return nil, nil
	}
	pend := b.pending
	b.pending = nil
	// The messages are summarised while their data is synced: the CPU's work beside the disk's.
	// Their files are opened here, before they are renamed.
	summaries := make(chan []*entry, 1)
	if summarizeWhileSyncing {
		files := make([]*os.File, len(pend))
		for i, p := range pend {
			files[i], _ = os.Open(p.tmp) // nil on failure (too many open files?): read in new/ below
		}
		go func() { summaries <- summarize(pend, files) }()
	} else {
		summaries <- make([]*entry, len(pend))
	}
	if err := b.makeDurable(pend); err != nil {
		<-summaries // done reading the files before the caller may remove them
		return nil, err
	}
	// What was not read while syncing (all of it on Windows; elsewhere a file that could not be
	// opened) is read in new/ now.
	ents := <-summaries
	late := make([]*os.File, len(pend))
	for i, e := range ents {
		if e == nil {
			late[i], _ = os.Open(filepath.Join(b.s.maildir, "new", pend[i].key)) // nil: the next listing finds it
		}
	}
	for i, e := range summarize(pend, late) {
		if e != nil {
			ents[i] = e
		}
	}
	return b.s.addDelivered(pend, ents)
}

// summarizeWhileSyncing says whether Commit reads the summaries of its messages from their open
// files while it makes them durable. Not on Windows, where a file that is open (os.Open does not
// share deletion) cannot be renamed: there they are read in new/ after the rename.
const summarizeWhileSyncing = runtime.GOOS != "windows"

// makeDurable syncs the pending messages' data, renames them into new/, syncs new/ and appends
// their ledger records; on failure it removes those not yet renamed.
func (b *Batch) makeDurable(pend []pendingMsg) error {
	if err := syncFiles(filepath.Join(b.s.maildir, "tmp"), pend); err != nil {
		removeTmp(pend)
		return err
	}
	newDir := filepath.Join(b.s.maildir, "new")
	for i, p := range pend {
		if err := renameDurable(p.tmp, filepath.Join(newDir, p.key)); err != nil {
			removeTmp(pend[i:])
			return fmt.Errorf("storage: %w", err)
		}
	}
	if err := syncDir(newDir); err != nil {
		return err
	}
	var recs []string
	for _, p := range pend {
		if p.info.UIDL != "" {
			recs = append(recs, fetchedRecord(p.info.UIDL, p.key, p.info.Received))
		}
	}
	return b.s.ledger.appendRecords(recs)
}

// summarize reads the summary of each pending message from its open file (nil: not opened) and
// closes the file; an entry is nil where a summary could not be read.
func summarize(pend []pendingMsg, files []*os.File) []*entry {
	out := make([]*entry, len(pend))
	var buf []byte
	var z mailview.Summarizer
	for i, p := range pend {
		if files[i] == nil {
			continue
		}
		if buf == nil {
			buf = make([]byte, ingestBytes)
		}
		out[i] = summarizeOne(p, files[i], buf, &z)
	}
	return out
}

// summarizeOne reads the summary of the pending message p from its open file fh, in tmp/ or
// new/ (the key is its name in both, and all a summary takes from the name), and closes fh. It
// returns nil when the file cannot be read.
func summarizeOne(p pendingMsg, fh *os.File, buf []byte, z *mailview.Summarizer) *entry {
	defer fh.Close()
	e, err := ingestFile(fh, p.key, buf, z)
	if err != nil {
		return nil
	}
	e.name, e.cur = p.key, false
	return e
}

// addDelivered puts the messages of pend, just renamed into new/ with the summaries ents (nil
// where one could not be read), into the Inbox's index and returns their summaries in order.
// Listing new/ to find them would cost a listing of the whole new/ per commit. Instead the
// folder's stamp of new/ is cleared: other programs may have changed new/ too since it was last
// listed, so the next refresh other than a commit's (a reader's, or Close's) lists new/ once and
// finds anything else, and an index file saved meanwhile is not in step with the folder. A
// message whose summary could not be read (ents[i] nil) is found by that listing too.
func (s *Store) addDelivered(pend []pendingMsg, ents []*entry) ([]Summary, error) {
	s.mu.Lock()
	f := s.folders[Inbox]
	s.mu.Unlock()
	if f != nil {
		if out, ok := f.add(pend, ents); ok {
			return out, nil
		}
	}
	// Not read yet in this Store: reading it lists new/, which holds the messages.
	return s.lookupDelivered(pend)
}

// add is addDelivered for a folder already read; ok is false when it was not.
func (f *folder) add(pend []pendingMsg, ents []*entry) (out []Summary, ok bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.loaded {
		return nil, false
	}
	out = make([]Summary, 0, len(pend))
	var added []*entry
	for i, e := range ents {
		if cur, ok := f.byKey[pend[i].key]; ok {
			out = append(out, f.summary(cur)) // listed meanwhile by a reader's refresh
			continue
		}
		if e != nil {
			f.byKey[e.key()] = e
			added = append(added, e)
			out = append(out, f.summary(e))
		}
	}
	f.merge(added)
	f.unread += len(added) // in new/: no flags
	f.stampNew = 0
	f.dirty = true
	if time.Since(f.written) > indexWriteInterval {
		f.saveIndex()
	}
	return out, true
}

// lookupDelivered reads the Inbox (listing its folders) and returns the summaries of pend.
func (s *Store) lookupDelivered(pend []pendingMsg) ([]Summary, error) {
	f, err := s.folder(Inbox)
	if err != nil {
		return nil, err
	}
	out := make([]Summary, 0, len(pend))
	for _, p := range pend {
		if e, ok := f.lookup(p.key); ok {
			out = append(out, f.summary(e))
		}
	}
	return out, nil
}

// syncFiles makes the data of the pending files durable. Several files are flushed with one
// syncfs(2) of their file system where there is one (canSyncFS), which costs about one fsync
// instead of one per message; otherwise each file gets an fsync.
func syncFiles(tmpDir string, pend []pendingMsg) error {
	if len(pend) > 1 && canSyncFS {
		return syncFileSystem(tmpDir)
	}
	for _, p := range pend {
		if err := syncFile(p.tmp); err != nil {
			return err
		}
	}
	return nil
}

// syncFile fsyncs the file at path. It opens it for writing: Windows flushes only such handles.
func syncFile(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return fmt.Errorf("storage: %w", err)
	}
	defer f.Close()
	if err := f.Sync(); err != nil {
		return fmt.Errorf("storage: syncing message: %w", err)
	}
	return nil
}

func removeTmp(pend []pendingMsg) {
	for _, p := range pend {
		os.Remove(p.tmp)
	}
}

// Abort discards every message delivered since the last Commit.
func (b *Batch) Abort() {
	removeTmp(b.pending)
	b.pending = nil
	b.done = true
}

// ReplacePartial replaces the partial (headers-only) copy of the message with this UIDL by the
// whole message read from r, in place: the new file takes the old one's key, folder and flags, and
// Poplar's own UIDL line (no partial mark), so the Summary it returns has Partial false and
// ServerSize 0. It holds the store's write lock from the lookup of the old file to the rename over
// it, so a move, flag change or deletion by Poplar (in this process or another) happens wholly
// before or wholly after it; the rename also fails, rather than make a second copy, when another
// program moved or deleted the old file meanwhile. r is read to its end while the lock is held.
// It returns ErrNotFound when no partial message has this UIDL.
func (s *Store) ReplacePartial(uidl string, r io.Reader) (Summary, error) {
	unlock, err := s.lock()
	if err != nil {
		return Summary{}, err
	}
	defer unlock()
	folders, err := s.Folders()
	if err != nil {
		return Summary{}, err
	}
	for _, fi := range folders {
		sums, err := s.Summaries(fi.Name)
		if err != nil {
			return Summary{}, err
		}
		for _, m := range sums {
			if m.UIDL != uidl || !m.Partial {
				continue
			}
			return s.replace(fi.Name, m, r)
		}
	}
	return Summary{}, fmt.Errorf("%w: no partial message with UIDL %q", ErrNotFound, uidl)
}

// replace writes the whole message r over the partial message m of folderName. s.lock is held.
func (s *Store) replace(folderName string, m Summary, r io.Reader) (Summary, error) {
	f, err := s.folder(folderName)
	if err != nil {
		return Summary{}, err
	}
	old, ok := f.lookup(m.Key)
	if !ok {
		return Summary{}, fmt.Errorf("%w: %s", ErrNotFound, m.Key)
	}
	dst := filepath.Join(f.path, old.subdir(), old.name)
	if _, err := os.Lstat(dst); err != nil {
		// Changed by another program since the folder was last listed.
		return Summary{}, fmt.Errorf("%w: %s/%s: %w", ErrNotFound, folderName, m.Key, err)
	}
	// A fresh Poplar key in tmp/: RemoveTmp knows the name (and waits for the store lock).
	tmp := filepath.Join(f.path, "tmp", newKey(time.Now()))
	fh, err := os.OpenFile(tmp, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return Summary{}, fmt.Errorf("storage: %w", err)
	}
	var nr neutralReader
	err = writeMessage(fh, r, make([]byte, deliverBuffer), &nr, ownInfo{uidl: m.UIDL}) // whole: no partial mark, no server size
	if err == nil {
		err = fh.Sync()
	}
	if cerr := fh.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(tmp)
		return Summary{}, fmt.Errorf("storage: replacing partial message: %w", err)
	}
	// The new file takes the old name (key and flags). Exchanging the two names, where the file
	// system can, fails when the old name is gone instead of creating the message a second time.
	if err := renameOver(tmp, dst); err != nil {
		os.Remove(tmp)
		return Summary{}, fmt.Errorf("storage: replacing partial message: %w", err)
	}
	if err := syncDir(filepath.Join(f.path, old.subdir())); err != nil {
		return Summary{}, err
	}
	// The folder's mtime does not change on a rename over an existing name: re-read this entry.
	buf := make([]byte, ingestBytes)
	e, err := ingest(dst, buf)
	if err != nil {
		return Summary{}, fmt.Errorf("storage: %w", err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if cur, ok := f.byKey[m.Key]; ok {
		e.name, e.cur, e.flags = cur.name, cur.cur, cur.flags
		f.byKey[m.Key] = e
		f.resort()
		f.dirty = true
		f.saveIndex()
	} else {
		e.name, e.cur, e.flags = old.name, old.cur, old.flags
	}
	return f.summary(e), nil
}
