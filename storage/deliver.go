package storage

import (
	"bufio"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

// DeliverInfo describes a message being delivered.
type DeliverInfo struct {
	UIDL     string    // the server's unique id; recorded in the ledger and the X-Poplar-UIDL header
	Partial  bool      // only the header was downloaded
	Received time.Time // zero means now
}

// Batch is a group of deliveries made durable together (group commit): Deliver streams each message
// into tmp/; Commit makes them all durable with a few syncs, moves them into new/ and appends their
// ledger records. A Batch is not safe for concurrent use.
type Batch struct {
	s       *Store
	pending []pendingMsg
	done    bool
	buf     []byte // Deliver's copy buffer, reused for every message of the batch
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
	host, _ := os.Hostname()
	host = strings.NewReplacer("/", `\057`, ":", `\072`, ".", "_").Replace(host)
	if host == "" {
		host = "localhost"
	}
	return strconv.FormatInt(t.Unix(), 10) + ".M" + strconv.Itoa(t.Nanosecond()/1000) + "P" + strconv.Itoa(os.Getpid()) +
		"Q" + strconv.FormatUint(keySeq.Add(1), 10) + "R" + hex.EncodeToString(rnd[:]) + "." + host
}

// validUIDL reports whether a UIDL can be stored: not empty, at most 512 bytes, no line breaks.
func validUIDL(u string) error {
	if u == "" || len(u) > 512 || strings.ContainsAny(u, "\r\n\x00") {
		return fmt.Errorf("storage: unusable UIDL %q", u)
	}
	return nil
}

// Deliver streams r into a new file in tmp/ with an X-Poplar-UIDL header in front, and returns the
// message's key. The message is not yet visible or durable: Commit makes it so. r is read to its end.
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
	var head []byte
	if info.UIDL != "" {
		head = append(head, "X-Poplar-UIDL: "+escapeUIDL(info.UIDL)+"\n"...)
	}
	if info.Partial {
		head = append(head, "X-Poplar-Partial: yes\n"...)
	}
	if err := copyFull(f, r, b.buf, head); err != nil {
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
// The batch can be used again after Commit.
func (b *Batch) Commit() ([]Summary, error) {
	if b.done {
		return nil, errors.New("storage: batch already aborted")
	}
	if len(b.pending) == 0 {
		return nil, nil
	}
	pend := b.pending
	b.pending = nil
	if err := syncFiles(filepath.Join(b.s.maildir, "tmp"), pend); err != nil {
		removeTmp(pend)
		return nil, err
	}
	newDir := filepath.Join(b.s.maildir, "new")
	for i, p := range pend {
		if err := os.Rename(p.tmp, filepath.Join(newDir, p.key)); err != nil {
			removeTmp(pend[i:])
			return nil, fmt.Errorf("storage: %w", err)
		}
	}
	if err := syncDir(newDir); err != nil {
		return nil, err
	}
	var recs []string
	for _, p := range pend {
		if p.info.UIDL != "" {
			recs = append(recs, fetchedRecord(p.info.UIDL, p.key, p.info.Received))
		}
	}
	if err := b.s.ledger.appendRecords(recs); err != nil {
		return nil, err
	}
	f, err := b.s.folder(Inbox)
	if err != nil {
		return nil, err
	}
	out := make([]Summary, 0, len(pend))
	for _, p := range pend {
		if e, ok := f.lookup(p.key); ok {
			out = append(out, e.sum)
		}
	}
	return out, nil
}

// syncFiles makes the data of the pending files durable. Several files are flushed with one
// syncfs(2) of their file system, which costs about one fsync instead of one per message; a single
// file gets an fsync.
func syncFiles(tmpDir string, pend []pendingMsg) error {
	if len(pend) == 1 {
		f, err := os.Open(pend[0].tmp)
		if err != nil {
			return fmt.Errorf("storage: %w", err)
		}
		defer f.Close()
		if err := f.Sync(); err != nil {
			return fmt.Errorf("storage: syncing message: %w", err)
		}
		return nil
	}
	d, err := os.Open(tmpDir)
	if err != nil {
		return fmt.Errorf("storage: %w", err)
	}
	defer d.Close()
	if err := unix.Syncfs(int(d.Fd())); err != nil {
		return fmt.Errorf("storage: syncing messages: %w", err)
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
// whole message read from r, in place: the new file takes the old one's key, folder and flags.
func (s *Store) ReplacePartial(uidl string, r io.Reader) (Summary, error) {
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

func (s *Store) replace(folderName string, m Summary, r io.Reader) (Summary, error) {
	f, err := s.folder(folderName)
	if err != nil {
		return Summary{}, err
	}
	old, ok := f.lookup(m.Key)
	if !ok {
		return Summary{}, fmt.Errorf("%w: %s", ErrNotFound, m.Key)
	}
	tmp := filepath.Join(f.path, "tmp", m.Key+".full")
	fh, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return Summary{}, fmt.Errorf("storage: %w", err)
	}
	w := bufio.NewWriterSize(fh, 64<<10)
	w.WriteString("X-Poplar-UIDL: " + escapeUIDL(m.UIDL) + "\n")
	_, err = w.ReadFrom(r)
	if err == nil {
		err = w.Flush()
	}
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
	unlock, err := s.lock()
	if err != nil {
		os.Remove(tmp)
		return Summary{}, err
	}
	// Give the new file a changed name (the new file's size is part of a reader's cache key) that
	// keeps the key and flags: rename over the old name is atomic.
	dst := filepath.Join(f.path, old.sub, old.name)
	err = os.Rename(tmp, dst)
	if err == nil {
		err = syncDir(filepath.Join(f.path, old.sub))
	}
	unlock()
	if err != nil {
		os.Remove(tmp)
		return Summary{}, fmt.Errorf("storage: %w", err)
	}
	// The folder's mtime does not change on a rename over an existing name: re-read this entry.
	buf := make([]byte, ingestBytes)
	e, err := ingest(dst, buf)
	if err != nil {
		return Summary{}, fmt.Errorf("storage: %w", err)
	}
	f.mu.Lock()
	if cur, ok := f.byKey[m.Key]; ok {
		e.name, e.sub = cur.name, cur.sub
		e.sum.Key, e.sum.Folder, e.sum.Flags = cur.sum.Key, cur.sum.Folder, cur.sum.Flags
		f.byKey[m.Key] = e
		f.resort()
		f.dirty = true
		f.saveIndex()
	}
	f.mu.Unlock()
	return e.sum, nil
}
