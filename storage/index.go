package storage

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/poplar-mail/poplar/storage/mailview"
)

// Flags are a message's Maildir flags.
type Flags uint8

const (
	FlagSeen     Flags = 1 << iota // S
	FlagFlagged                    // F
	FlagAnswered                   // R
	FlagDraft                      // D
	FlagTrashed                    // T
	FlagPassed                     // P (forwarded)
)

// flagLetters is the Maildir info letter of each flag, in ASCII order as the spec requires.
var flagLetters = []struct {
	f Flags
	c byte
}{{FlagDraft, 'D'}, {FlagFlagged, 'F'}, {FlagPassed, 'P'}, {FlagAnswered, 'R'}, {FlagSeen, 'S'}, {FlagTrashed, 'T'}}

// String returns the Maildir info letters, e.g. "FS".
func (f Flags) String() string {
	var b []byte
	for _, l := range flagLetters {
		if f&l.f != 0 {
			b = append(b, l.c)
		}
	}
	return string(b)
}

// parseName splits a Maildir file name into its key (the unique part) and flags.
func parseName(name string) (key string, flags Flags) {
	i := strings.IndexByte(name, ':')
	if i < 0 {
		// Windows's separator (infoSep there), read everywhere: a store may come from Windows.
		if i = strings.LastIndex(name, ";2,"); i < 0 {
			return name, 0
		}
	}
	key = name[:i]
	info := name[i+1:]
	if strings.HasPrefix(info, "2,") {
		for j := 2; j < len(info); j++ {
			for _, l := range flagLetters {
				if info[j] == l.c {
					flags |= l.f
				}
			}
		}
	}
	return key, flags
}

// fileName returns the cur/ file name of key with flags.
func fileName(key string, flags Flags) string { return key + string(infoSep) + "2," + flags.String() }

// Summary is what the message list shows of a stored message.
type Summary struct {
	Key    string // the Maildir unique name: stable across flag changes and moves
	Folder string
	mailview.Summary
	Size       int64 // bytes stored here: for a partial message, its header only
	Flags      Flags
	Partial    bool   // only the header was downloaded (size limit)
	ServerSize int64  // for a partial message, its size on the server (LIST); 0 when unknown or not partial
	UIDL       string // the server's unique id, "" for mail not fetched by Poplar
	Received   time.Time
}

// Unread reports whether the message has not been seen.
func (s Summary) Unread() bool { return s.Flags&FlagSeen == 0 }

// entry is a message of a folder as the folder keeps it: what its order, its flags and the
// ledger need, and where its summary is. A message listed since the index file was read has its
// summary here (full); one from the index file has only the place of its record in the file's
// bytes (folder.data), which stay mapped, and its summary is decoded from there when asked for
// (folder.summary). At 100,000 messages that keeps 8 MB instead of 28. An entry never changes
// once it is in the folder (a Listing shares it): a message renamed gets a new one.
type entry struct {
	name  string   // file name, with info
	uidl  string   // the server's unique id, "" for mail not fetched by Poplar
	full  *Summary // the summary of a message read from its file; nil when it is in data
	date  int64    // Date in Unix seconds (the zero Date's when it has none): the folder's order
	recv  int64    // Received in Unix seconds
	off   uint32   // the record's place in the folder's data, when full is nil (decodeIndex reads no file of 4 GiB or more)
	n     uint32   // and its length
	recN  int32    // Received's nanoseconds
	flags Flags
	cur   bool // in cur/, not new/
}

// subdir returns the subfolder the message is in: "cur" or "new".
func (e *entry) subdir() string {
	if e.cur {
		return "cur"
	}
	return "new"
}

// key returns the message's key, the unique part of its file name.
func (e *entry) key() string {
	k, _ := parseName(e.name)
	return k
}

// received returns the message's Received time.
func (e *entry) received() time.Time { return time.Unix(e.recv, int64(e.recN)) }

// setFull makes s, read from the message's file, the entry's summary.
func (e *entry) setFull(s *Summary) {
	e.full, e.uidl = s, s.UIDL
	e.date = s.Date.Unix()
	e.recv, e.recN = s.Received.Unix(), int32(s.Received.Nanosecond())
}

// folder is the in-memory index of one folder, kept in step with the files on disk.
type folder struct {
	s    *Store
	name string
	path string
	idx  string // index file

	mu       sync.Mutex
	loaded   bool
	stampNew int64
	stampCur int64
	byKey    map[string]*entry
	sorted   []*entry // newest first
	unread   int
	// data is the index file as it was read when the folder was loaded (mapped into memory where
	// the system allows: readIndexFile), which the records of entries without a summary of their
	// own are in. It never changes.
	data    []byte
	dirty   bool      // the index file is behind
	written time.Time // last write of the index file
}

// folder returns the folder called name, refreshed from disk. A folder renamed or removed since
// it was cached (by this Store or another) is forgotten and reported as ErrNoFolder.
func (s *Store) folder(name string) (*folder, error) {
	if name == "" {
		name = Inbox
	}
	s.mu.Lock()
	f, ok := s.folders[name]
	if !ok {
		p, err := s.folderPath(name)
		if err != nil {
			s.mu.Unlock()
			return nil, err
		}
		if _, err := os.Stat(filepath.Join(p, "cur")); err != nil {
			s.mu.Unlock()
			return nil, fmt.Errorf("%w: %q", ErrNoFolder, name)
		}
		if _, err := os.Stat(filepath.Join(p, "new")); errors.Is(err, os.ErrNotExist) {
			// A crash cut DeleteFolder short between removing new/ and cur/: the folder is
			// still there, and cur/ may hold a message that arrived meanwhile.
			s.makeFolder(name)
		}
		f = &folder{s: s, name: name, path: p, idx: s.indexPath(name)}
		s.folders[name] = f
	}
	s.mu.Unlock()
	if err := f.refresh(); err != nil {
		if errors.Is(err, os.ErrNotExist) {
			s.mu.Lock()
			if s.folders[name] == f {
				delete(s.folders, name)
			}
			s.mu.Unlock()
			return nil, fmt.Errorf("%w: %q: %w", ErrNoFolder, name, err)
		}
		return nil, err
	}
	return f, nil
}

// forget drops folder name from the cache, so that the next look reads the disk, and returns
// it (nil when it was not cached).
func (s *Store) forget(name string) *folder {
	s.mu.Lock()
	defer s.mu.Unlock()
	f := s.folders[name]
	delete(s.folders, name)
	return f
}

// indexPath returns the path of folder name's index file.
func (s *Store) indexPath(name string) string {
	return filepath.Join(s.state, "index", indexFileName(name))
}

// invalidate makes the next refresh list new/ and cur/ again. Call it after renaming files in or
// out of the folder: a rename within the clock tick of the last look may leave a folder's time
// as it was.
func (f *folder) invalidate() {
	f.mu.Lock()
	f.stampNew, f.stampCur = 0, 0
	f.mu.Unlock()
}

// indexFileName maps a folder name to a safe file name.
func indexFileName(name string) string {
	var b strings.Builder
	for _, r := range name {
		if r < 0x80 && (r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			b.WriteRune(r)
		} else {
			fmt.Fprintf(&b, "%%%04X", r)
		}
	}
	return b.String() + ".idx"
}

func (f *folder) lookup(key string) (*entry, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	e, ok := f.byKey[key]
	if !ok {
		return nil, false
	}
	c := *e
	return &c, true
}

func (f *folder) counts() (total, unread int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.sorted), f.unread
}

func mtime(p string) (int64, error) {
	fi, err := os.Stat(p)
	if err != nil {
		return 0, err
	}
	return fi.ModTime().UnixNano(), nil
}

// refresh brings the index in step with the folder: files added, removed or renamed by anyone.
// When neither new/ nor cur/ changed since the last look, it costs two stat calls.
func (f *folder) refresh() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	sn, err1 := mtime(filepath.Join(f.path, "new"))
	sc, err2 := mtime(filepath.Join(f.path, "cur"))
	if err := errors.Join(err1, err2); err != nil {
		return fmt.Errorf("storage: folder %s: %w", f.name, err)
	}
	if f.loaded && sn == f.stampNew && sc == f.stampCur {
		return nil
	}
	if !f.loaded {
		f.byKey = map[string]*entry{}
		if err := f.readIndex(); err == nil && sn == f.stampNew && sc == f.stampCur {
			f.loaded = true // f.sorted came in order from the file
			return nil
		}
	}
	wasLoaded := f.loaded
	// List only the subfolders that changed: while mail arrives only new/ does, and cur/ may hold
	// most of a 100k-message folder.
	added, removed, err := f.scan(!wasLoaded || sn != f.stampNew, !wasLoaded || sc != f.stampCur)
	if err != nil {
		return err
	}
	f.stampNew, f.stampCur = sn, sc
	f.loaded = true
	if wasLoaded && !removed {
		f.merge(added)  // the usual case while mail arrives: no full sort per commit
		f.countUnread() // flags may have changed under new names
	} else {
		f.resort()
	}
	f.dirty = true
	// The index file is a cache: write it at most every few seconds while messages stream in
	// (rewriting it per commit would make a long download quadratic), and at Close.
	if time.Since(f.written) > indexWriteInterval {
		f.saveIndex()
	}
	return nil
}

// indexWriteInterval is the least time between two writes of a folder's index file.
const indexWriteInterval = 5 * time.Second

// saveIndex writes the index file if it changed. f.mu must be held. Failing to save it costs
// time at the next start, never mail, so the error is dropped.
func (f *folder) saveIndex() {
	if !f.dirty {
		return
	}
	if err := f.writeIndex(); err == nil {
		f.dirty = false
		f.written = time.Now()
	}
}

// scan lists new/ (when listNew) and cur/ (when listCur) and updates byKey, reading only files it
// has not seen; entries in a subfolder it does not list are kept as they are. It returns the
// entries it added and whether any entry went away.
//
// The files are read on every core while the listing goes on: the listing hands them over in
// batches (scanBatch), and each reader keeps its buffers from one file to the next.
func (f *folder) scan(listNew, listCur bool) (added []*entry, removed bool, err error) {
	seen := make(map[string]bool, len(f.byKey))
	listed := map[string]bool{"new": listNew, "cur": listCur}
	replaced := false // an entry was replaced by one under its new name
	todo := make(chan *scanBatch, 64)
	var wg sync.WaitGroup
	for range runtime.GOMAXPROCS(0) {
		wg.Go(func() {
			buf := make([]byte, ingestBytes)
			var z mailview.Summarizer
			for b := range todo {
				b.read(f, buf, &z)
			}
		})
	}
	var batches []*scanBatch
	b := &scanBatch{}
	hand := func() { // hand b over to the readers
		if len(b.jobs) > 0 {
			batches = append(batches, b)
			todo <- b
			b = &scanBatch{}
		}
	}
	err = f.list(listed, func(name, sub string) {
		key, flags := parseName(name)
		if sub == "new" {
			flags = 0
		}
		if seen[key] {
			return // the same message under two names (a crash mid-rename): show one
		}
		seen[key] = true
		if e, ok := f.byKey[key]; ok {
			if e.name != name || e.subdir() != sub {
				// A Listing may hold e, and an entry never changes: a copy takes the new
				// name and flags, and the folder's order is pointed to it below.
				c := *e
				c.name, c.cur, c.flags = name, sub == "cur", flags
				f.byKey[key] = &c
				replaced = true
			}
			return
		}
		b.jobs = append(b.jobs, scanJob{key, name, sub})
		if len(b.jobs) == scanBatchFiles {
			hand()
		}
	})
	hand()
	close(todo)
	wg.Wait()
	if err != nil {
		return nil, false, err
	}
	if replaced {
		f.sorted = slices.Clone(f.sorted) // a Listing may share the old one
		for i, e := range f.sorted {
			if n := f.byKey[e.key()]; n != nil {
				f.sorted[i] = n
			}
		}
	}
	for k, e := range f.byKey {
		if !seen[k] && listed[e.subdir()] {
			delete(f.byKey, k)
			removed = true
		}
	}
	var found []*entry
	for _, b := range batches {
		for _, e := range b.out {
			if e != nil {
				f.byKey[e.key()] = e
				added = append(added, e)
				if e.uidl != "" {
					found = append(found, e)
				}
			}
		}
	}
	// Messages that carry a UIDL the ledger lacks were delivered just before a crash: record them.
	if len(found) > 0 && f.s.ledger != nil {
		f.s.ledger.adopt(found)
	}
	return added, removed, nil
}

// list calls each with the name of every message file of the subfolders (new, cur) listed says
// to list, a directory read at a time, so that the files of a big folder are read while it lists
// the rest.
func (f *folder) list(listed map[string]bool, each func(name, sub string)) error {
	for _, sub := range []string{"new", "cur"} {
		if !listed[sub] {
			continue
		}
		d, err := os.Open(filepath.Join(f.path, sub))
		if err != nil {
			return fmt.Errorf("storage: %w", err)
		}
		for {
			names, err := d.Readdirnames(scanBatchFiles)
			for _, name := range names {
				if !strings.HasPrefix(name, ".") {
					each(name, sub)
				}
			}
			if err == io.EOF {
				break
			}
			if err != nil {
				d.Close()
				return fmt.Errorf("storage: %w", err)
			}
		}
		d.Close()
	}
	return nil
}

// scanBatchFiles is how many files the listing of scan hands over at once: few hand-overs
// between goroutines, and the readers start after the first directory read.
const scanBatchFiles = 256

// scanJob is a file scan reads: its key, file name and subfolder.
type scanJob struct{ key, name, sub string }

// scanBatch is files scan hands over to a reader, and their entries (nil for a file that
// vanished) once read.
type scanBatch struct {
	jobs []scanJob
	out  []*entry
}

// read reads the batch's files into b.out with buf and z, a reader's own.
func (b *scanBatch) read(f *folder, buf []byte, z *mailview.Summarizer) {
	b.out = make([]*entry, len(b.jobs))
	for i, j := range b.jobs {
		e, err := ingestWith(filepath.Join(f.path, j.sub, j.name), buf, z)
		if err != nil {
			continue // vanished while we looked: the next refresh sees its new name
		}
		e.name, e.cur = j.name, j.sub == "cur"
		if j.sub == "cur" {
			_, e.flags = parseName(j.name)
		}
		b.out[i] = e
	}
}

// ingestBytes is how much of a message ingest reads at once: the header and the first text of
// most messages, nearly all a summary needs (mailview.Summarize reads on from the file when it
// needs more).
const ingestBytes = 16 << 10

// ingest reads a message file's summary, with buf (ingestBytes long) as its buffer.
func ingest(path string, buf []byte) (*entry, error) {
	return ingestWith(path, buf, &mailview.Summarizer{})
}

// ingestFile reads the summary of the message file fh, whose name (which says when it was
// received) is name, through buf and z's buffers.
func ingestFile(fh *os.File, name string, buf []byte, z *mailview.Summarizer) (*entry, error) {
	fi, err := fh.Stat()
	if err != nil {
		return nil, err
	}
	return summarizeFile(fh, fi.Size(), fi.ModTime(), name, buf, z)
}

// summarizeFile reads the summary of a message file of size bytes, last modified at mod, named
// name, from r (at its start), through buf and z.
func summarizeFile(r io.Reader, size int64, mod time.Time, name string, buf []byte, z *mailview.Summarizer) (*entry, error) {
	// A file that fits is read in one call, without a second one to find its end.
	n, err := io.ReadFull(r, buf[:min(size, int64(len(buf)))])
	if err != nil && err != io.ErrUnexpectedEOF && err != io.EOF {
		return nil, err
	}
	head := buf[:n]
	sum := &Summary{Size: size, Received: receivedTime(name, mod)}
	own := ownFields(head)
	sum.UIDL, sum.Partial, sum.ServerSize = own.uidl, own.partial, own.serverSize
	var rest io.Reader = bytes.NewReader(head)
	if int64(n) < size || n == len(buf) {
		rest = io.MultiReader(bytes.NewReader(head), r)
	}
	s, err := z.Summarize(rest)
	if err != nil {
		return nil, err
	}
	sum.Summary = s
	e := &entry{}
	e.setFull(sum)
	return e, nil
}

// receivedTime takes the delivery time from a Maildir name ("1700000000.…"), else the file time.
func receivedTime(name string, mod time.Time) time.Time {
	if i := strings.IndexByte(name, '.'); i > 0 {
		if sec, err := strconv.ParseInt(name[:i], 10, 64); err == nil && sec > 0 {
			return time.Unix(sec, 0)
		}
	}
	return mod
}

func (f *folder) resort() {
	f.sorted = make([]*entry, 0, len(f.byKey)) // a Listing may share the old one
	for _, e := range f.byKey {
		f.sorted = append(f.sorted, e)
	}
	sortEntries(f.sorted, runtime.GOMAXPROCS(0))
	f.countUnread()
}

// parallelSortMin is the fewest entries sortEntries sorts in pieces on several cores: below it,
// starting a goroutine and merging cost more than they save.
const parallelSortMin = 8192

// sortEntries sorts es newest first (see newer) on as many as cores goroutines: the halves at
// once, each in the same way, then one merge. The order is total (keys are unique), so the result
// is the one a single sort gives.
func sortEntries(es []*entry, cores int) {
	if cores < 2 || len(es) < parallelSortMin {
		sort.Slice(es, func(i, j int) bool { return newer(es[i], es[j]) })
		return
	}
	a, b := es[:len(es)/2:len(es)/2], es[len(es)/2:]
	var wg sync.WaitGroup
	wg.Go(func() { sortEntries(a, cores/2) })
	sortEntries(b, cores-cores/2)
	wg.Wait()
	a = append([]*entry(nil), a...) // es is written over from its start
	i, j, k := 0, 0, 0
	for i < len(a) && j < len(b) {
		if newer(b[j], a[i]) {
			es[k] = b[j]
			j++
		} else {
			es[k] = a[i]
			i++
		}
		k++
	}
	copy(es[k:], a[i:]) // what is left of b is in place already
}

// newer is the folder order: newest first by Date (to the second), then by arrival, then by key.
func newer(x, y *entry) bool {
	switch {
	case x.date != y.date:
		return x.date > y.date
	case x.recv != y.recv:
		return x.recv > y.recv
	case x.recN != y.recN:
		return x.recN > y.recN
	}
	return x.key() > y.key()
}

// merge puts added entries (already in byKey) into the sorted list, which holds every other
// entry of byKey in order: a sort of the few new ones and one linear merge. It leaves the
// unread count to the caller.
func (f *folder) merge(added []*entry) {
	if len(added) > 0 {
		sort.Slice(added, func(i, j int) bool { return newer(added[i], added[j]) })
		out := make([]*entry, 0, len(f.sorted)+len(added))
		i, j := 0, 0
		for i < len(f.sorted) && j < len(added) {
			if newer(added[j], f.sorted[i]) {
				out = append(out, added[j])
				j++
			} else {
				out = append(out, f.sorted[i])
				i++
			}
		}
		out = append(append(out, f.sorted[i:]...), added[j:]...)
		f.sorted = out
	}
}

func (f *folder) countUnread() {
	f.unread = 0
	for _, e := range f.sorted {
		if e.flags&FlagSeen == 0 {
			f.unread++
		}
	}
}

// Summaries returns the summaries of a folder, newest first (by Date, then arrival). It picks up
// changes made by other programs.
func (s *Store) Summaries(folderName string) ([]Summary, error) {
	f, err := s.folder(folderName)
	if err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.summaries(f.sorted), nil
}

// Summary returns one message's summary.
func (s *Store) Summary(folderName, key string) (Summary, error) {
	f, err := s.folder(folderName)
	if err != nil {
		return Summary{}, err
	}
	e, ok := f.lookup(key)
	if !ok {
		return Summary{}, fmt.Errorf("%w: %s/%s", ErrNotFound, folderName, key)
	}
	return f.summary(e), nil
}
