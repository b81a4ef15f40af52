package storage

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// LedgerEntry is what the ledger knows about one server message.
type LedgerEntry struct {
	UIDL          string
	Key           string    // the local message it became
	Fetched       time.Time // when it was first stored
	ServerDeleted bool      // a QUIT after its DELE succeeded: the server no longer has it
	Expunged      bool      // its last local copy was deleted for good
}

// The ledger is a text file of records, one per line, appended and fsynced as a group:
//
//	F <unix-seconds> <uidl> <key>   fetched and durable locally
//	D <uidl>                        deleted on the server (QUIT succeeded)
//	X <uidl>                        last local copy expunged
//
// UIDLs are escaped (escapeUIDL) so a record is always one line of printable ASCII. A torn last line
// (a crash mid-append) is cut off at open; any other malformed line makes the ledger corrupt, and
// it is rebuilt from the stored messages' own X-Poplar-UIDL lines (ownFields).
type ledger struct {
	path string

	mu      sync.Mutex
	entries map[string]*LedgerEntry
	size    int64 // bytes of the file already applied
	ino     uint64
	corrupt bool
}

var errCorruptLedger = errors.New("storage: corrupt ledger")

func openLedger(path string) (*ledger, error) {
	l := &ledger{path: path, entries: map[string]*LedgerEntry{}}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("storage: %w", err)
	}
	f.Close()
	if err := l.repairTail(); err != nil {
		return nil, err
	}
	// The records are read when first needed (catchUp), so opening a store stays cheap.
	return l, nil
}

// repairTail cuts a torn last record off the file.
func (l *ledger) repairTail() error {
	unlock, err := flock(l.path+".lock", true)
	if err != nil {
		return err
	}
	defer unlock()
	f, err := os.OpenFile(l.path, os.O_RDWR, 0o600)
	if err != nil {
		return fmt.Errorf("storage: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil || fi.Size() == 0 {
		return err
	}
	start := max(0, fi.Size()-4096)
	buf := make([]byte, fi.Size()-start)
	if _, err := f.ReadAt(buf, start); err != nil {
		return fmt.Errorf("storage: reading ledger: %w", err)
	}
	if buf[len(buf)-1] == '\n' {
		return nil
	}
	cut := start + int64(bytes.LastIndexByte(buf, '\n')+1)
	if err := f.Truncate(cut); err != nil {
		return fmt.Errorf("storage: repairing ledger: %w", err)
	}
	return f.Sync()
}

// catchUp applies records appended since the last look (by this or another process), or reloads
// the whole file when it was replaced by a compaction. l.mu must be held.
func (l *ledger) catchUp() error {
	f, err := os.Open(l.path)
	if err != nil {
		return fmt.Errorf("storage: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return fmt.Errorf("storage: %w", err)
	}
	ino := fileID(fi)
	if ino != l.ino || fi.Size() < l.size {
		l.entries, l.size, l.ino, l.corrupt = map[string]*LedgerEntry{}, 0, ino, false
	}
	if fi.Size() == l.size {
		if l.corrupt {
			return errCorruptLedger
		}
		return nil
	}
	data := make([]byte, fi.Size()-l.size)
	if _, err := f.ReadAt(data, l.size); err != nil && err != io.EOF {
		return fmt.Errorf("storage: reading ledger: %w", err)
	}
	// Apply only whole lines; a partial one is still being written by another process.
	end := bytes.LastIndexByte(data, '\n') + 1
	for text := string(data[:end]); text != ""; {
		var line string
		line, text, _ = strings.Cut(text, "\n")
		if line == "" {
			continue
		}
		if err := l.apply(line); err != nil {
			l.corrupt = true
		}
	}
	l.size += int64(end)
	if l.corrupt {
		return errCorruptLedger
	}
	return nil
}

// apply interprets one record. It is called for every line of the ledger at each open, so it
// splits the line in place and makes an error only for a bad record.
func (l *ledger) apply(line string) error {
	kind, rest, ok := strings.Cut(line, " ")
	var sec int64
	var key string
	switch {
	case !ok:
		return badRecord(line)
	case kind == "F":
		var secS string
		if secS, rest, ok = strings.Cut(rest, " "); !ok {
			return badRecord(line)
		}
		if rest, key, ok = strings.Cut(rest, " "); !ok || key == "" || strings.IndexByte(key, ' ') >= 0 {
			return badRecord(line)
		}
		var err error
		if sec, err = strconv.ParseInt(secS, 10, 64); err != nil {
			return badRecord(line)
		}
	case kind != "D" && kind != "X", strings.IndexByte(rest, ' ') >= 0:
		return badRecord(line)
	}
	uidl, err := unescapeUIDL(rest)
	if err != nil {
		return badRecord(line)
	}
	e := l.entries[uidl]
	if e == nil {
		e = &LedgerEntry{UIDL: uidl}
		l.entries[uidl] = e
	}
	switch kind {
	case "F":
		e.Key, e.Fetched, e.Expunged = key, time.Unix(sec, 0), false
	case "D":
		e.ServerDeleted = true
	default:
		e.Expunged = true
	}
	return nil
}

// badRecord is the error for a malformed ledger line.
func badRecord(line string) error { return fmt.Errorf("%w: record %q", errCorruptLedger, line) }

// appendRecords writes records and fsyncs them before returning. It takes the ledger's file lock.
func (l *ledger) appendRecords(recs []string) error {
	if len(recs) == 0 {
		return nil
	}
	unlock, err := flock(l.path+".lock", true)
	if err != nil {
		return err
	}
	defer unlock()
	l.mu.Lock()
	defer l.mu.Unlock()
	f, err := os.OpenFile(l.path, os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("storage: %w", err)
	}
	var b strings.Builder
	for _, r := range recs {
		b.WriteString(r)
		b.WriteByte('\n')
	}
	if _, err := f.WriteString(b.String()); err != nil {
		f.Close()
		return fmt.Errorf("storage: writing ledger: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("storage: syncing ledger: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("storage: %w", err)
	}
	if err := l.catchUp(); err != nil && !errors.Is(err, errCorruptLedger) {
		return err
	}
	return nil
}

func fetchedRecord(uidl, key string, t time.Time) string {
	return "F " + strconv.FormatInt(t.Unix(), 10) + " " + escapeUIDL(uidl) + " " + key
}

// adopt records messages found in the Maildir whose UIDL the ledger lacks (delivered just before a
// crash, or the ledger was lost).
func (l *ledger) adopt(found []*entry) {
	l.mu.Lock()
	l.catchUp()
	var recs []string
	for _, e := range found {
		if le, ok := l.entries[e.uidl]; !ok || le.Expunged {
			recs = append(recs, fetchedRecord(e.uidl, e.key(), keyTime(e.key(), e.received())))
		}
	}
	l.mu.Unlock()
	l.appendRecords(recs)
}

// keyTime is the delivery time encoded at the start of a key Poplar made, else fallback.
func keyTime(key string, fallback time.Time) time.Time {
	return receivedTime(key, fallback)
}

// escapeUIDL makes a UIDL safe as one field of a line: bytes outside '!'..'~' and '%' become %XX.
func escapeUIDL(u string) string {
	var b strings.Builder
	for i := 0; i < len(u); i++ {
		c := u[i]
		if c < 0x21 || c > 0x7e || c == '%' {
			fmt.Fprintf(&b, "%%%02X", c)
		} else {
			b.WriteByte(c)
		}
	}
	return b.String()
}

func unescapeUIDL(s string) (string, error) {
	if s == "" {
		return "", errors.New("storage: empty UIDL")
	}
	if !strings.Contains(s, "%") {
		return s, nil
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '%' {
			b.WriteByte(s[i])
			continue
		}
		if i+2 >= len(s) {
			return "", errors.New("storage: bad UIDL escape")
		}
		v, err := strconv.ParseUint(s[i+1:i+3], 16, 8)
		if err != nil {
			return "", errors.New("storage: bad UIDL escape")
		}
		b.WriteByte(byte(v))
		i += 2
	}
	return b.String(), nil
}

// reconcile records in the ledger every stored message whose UIDL it lacks: a message renamed
// into place just before a crash, before its record was appended. It reads every folder's
// index (refreshed from disk), so it costs a few stat calls and a map lookup per message and per
// ledger record.
//
// It also drops, by rebuilding the ledger, any record of a UIDL the server still has whose key
// names a stored message that carries another UIDL (or none): versions before index format 2 took
// a UIDL from anywhere in a message's header, so a sender could make Poplar record a later
// message as fetched; the message itself now says otherwise (ownFields), and the record goes.
func (s *Store) reconcile() error {
	folders, err := s.Folders()
	if err != nil {
		return err
	}
	l := s.ledger
	var missing []*entry
	bogus := false
	for _, fi := range folders {
		f, err := s.folder(fi.Name)
		if err != nil {
			return err
		}
		f.mu.Lock()
		l.mu.Lock()
		for _, e := range f.byKey {
			if e.uidl == "" {
				continue
			}
			if le, ok := l.entries[e.uidl]; !ok || le.Expunged {
				c := *e
				missing = append(missing, &c)
			}
		}
		for u, le := range l.entries {
			if le.Key == "" || le.Expunged || le.ServerDeleted {
				continue
			}
			if e, ok := f.byKey[le.Key]; ok && e.uidl != u {
				bogus = true
			}
		}
		l.mu.Unlock()
		f.mu.Unlock()
	}
	if bogus {
		return s.RebuildLedger()
	}
	if len(missing) > 0 {
		l.adopt(missing)
	}
	return nil
}

// ledgerView returns the current ledger, catching up with other processes first and reconciling
// it with the stored messages. A corrupt ledger is rebuilt from the store.
func (s *Store) ledgerView() (map[string]*LedgerEntry, error) {
	l := s.ledger
	l.mu.Lock()
	cerr := l.catchUp()
	l.mu.Unlock()
	if cerr == nil {
		if err := s.reconcile(); err != nil {
			return nil, err
		}
	}
	l.mu.Lock()
	err := l.catchUp()
	l.mu.Unlock()
	if errors.Is(err, errCorruptLedger) {
		if err := s.RebuildLedger(); err != nil {
			return nil, err
		}
		l.mu.Lock()
		err = l.catchUp()
		l.mu.Unlock()
	}
	if err != nil {
		return nil, err
	}
	return l.entries, nil
}

// Fetched reports whether the message with this UIDL was ever stored (even if since deleted here).
func (s *Store) Fetched(uidl string) bool {
	m, err := s.Ledger()
	if err != nil {
		return false
	}
	_, ok := m[uidl]
	return ok
}

// Ledger returns a copy of the ledger, keyed by UIDL.
func (s *Store) Ledger() (map[string]LedgerEntry, error) {
	entries, err := s.ledgerView()
	if err != nil {
		return nil, err
	}
	s.ledger.mu.Lock()
	defer s.ledger.mu.Unlock()
	out := make(map[string]LedgerEntry, len(entries))
	for k, v := range entries {
		out[k] = *v
	}
	return out, nil
}

// LedgerLookup returns what the ledger knows of each of uidls, in their order: an entry with an
// empty UIDL for one never stored. It reads the ledger as Ledger does, without copying it.
func (s *Store) LedgerLookup(uidls []string) ([]LedgerEntry, error) {
	lookup, err := s.LedgerSnapshot()
	if err != nil {
		return nil, err
	}
	return lookup(uidls), nil
}

// LedgerSnapshot brings the ledger up to date with other processes and with the stored messages
// (the work of LedgerLookup, which reads every folder's index: most of the CPU of a check with
// nothing new) and returns a lookup that answers as LedgerLookup would, from the records this
// Store holds then and appends after, without doing that work again. A fetch, which holds the
// account's fetch lock, makes it while the server is dialled and looks the server's UIDLs up once
// they are listed: no other delivery can record a UIDL in between.
func (s *Store) LedgerSnapshot() (func(uidls []string) []LedgerEntry, error) {
	if _, err := s.ledgerView(); err != nil {
		return nil, err
	}
	l := s.ledger
	return func(uidls []string) []LedgerEntry {
		l.mu.Lock()
		defer l.mu.Unlock()
		out := make([]LedgerEntry, len(uidls))
		for i, u := range uidls {
			if e := l.entries[u]; e != nil {
				out[i] = *e
			}
		}
		return out
	}, nil
}

// MarkServerDeleted records that the server deleted these messages (after a successful QUIT).
func (s *Store) MarkServerDeleted(uidls []string) error {
	recs := make([]string, 0, len(uidls))
	for _, u := range uidls {
		recs = append(recs, "D "+escapeUIDL(u))
	}
	return s.ledger.appendRecords(recs)
}

// ExpungedUIDLs returns the UIDLs whose last local copy was deleted for good while the server may
// still hold them: candidates for "delete from server when deleted here". A move between folders
// never puts a UIDL here.
func (s *Store) ExpungedUIDLs() ([]string, error) {
	m, err := s.Ledger()
	if err != nil {
		return nil, err
	}
	var out []string
	for u, e := range m {
		if e.Expunged && !e.ServerDeleted {
			out = append(out, u)
		}
	}
	sort.Strings(out)
	return out, nil
}

// RebuildLedger replaces the ledger with one made from the UIDL line Poplar wrote on line 1 of
// every stored message (see ownFields), keeping what the old ledger knew of server deletions and
// expunged messages when it can be read. It is what happens automatically when the ledger is
// corrupt. Ledger records no stored message vouches for (and not deleted or expunged) are dropped.
func (s *Store) RebuildLedger() error {
	folders, err := s.Folders()
	if err != nil {
		return err
	}
	fresh := map[string]*LedgerEntry{}
	for _, fi := range folders {
		sums, err := s.Summaries(fi.Name)
		if err != nil {
			return err
		}
		for _, m := range sums {
			if m.UIDL == "" {
				continue
			}
			if _, dup := fresh[m.UIDL]; !dup {
				fresh[m.UIDL] = &LedgerEntry{UIDL: m.UIDL, Key: m.Key, Fetched: keyTime(m.Key, m.Received)}
			}
		}
	}
	old := readLedgerLenient(s.ledger.path)
	for u, o := range old {
		if e, ok := fresh[u]; ok {
			e.ServerDeleted = o.ServerDeleted
			if o.Key == e.Key {
				e.Fetched = o.Fetched
			}
		} else if o.Expunged || o.ServerDeleted {
			c := *o
			fresh[u] = &c
		}
	}
	return s.ledger.replace(fresh)
}

// CompactLedger rewrites the ledger with one record per message it still needs: UIDLs gone both
// from the server and from here can never come back and are dropped.
func (s *Store) CompactLedger() error {
	m, err := s.ledgerView()
	if err != nil {
		return err
	}
	s.ledger.mu.Lock()
	keep := map[string]*LedgerEntry{}
	for u, e := range m {
		if e.ServerDeleted && e.Expunged {
			continue
		}
		c := *e
		keep[u] = &c
	}
	s.ledger.mu.Unlock()
	return s.ledger.replace(keep)
}

// readLedgerLenient reads whatever records of a ledger file parse, skipping bad lines.
func readLedgerLenient(path string) map[string]*LedgerEntry {
	l := &ledger{entries: map[string]*LedgerEntry{}}
	data, _ := os.ReadFile(path)
	for _, line := range strings.Split(string(data), "\n") {
		if line != "" {
			l.apply(line)
		}
	}
	return l.entries
}

// replace atomically writes a new ledger holding entries.
func (l *ledger) replace(entries map[string]*LedgerEntry) error {
	unlock, err := flock(l.path+".lock", true)
	if err != nil {
		return err
	}
	defer unlock()
	uidls := make([]string, 0, len(entries))
	for u := range entries {
		uidls = append(uidls, u)
	}
	sort.Strings(uidls)
	var b strings.Builder
	for _, u := range uidls {
		e := entries[u]
		if e.Key != "" {
			b.WriteString(fetchedRecord(u, e.Key, e.Fetched) + "\n")
		}
		if e.ServerDeleted {
			b.WriteString("D " + escapeUIDL(u) + "\n")
		}
		if e.Expunged {
			b.WriteString("X " + escapeUIDL(u) + "\n")
		}
	}
	if err := writeFileAtomic(l.path, []byte(b.String())); err != nil {
		return err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.ino = 0 // force a reload
	return l.catchUp()
}
