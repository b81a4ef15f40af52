// Package search is the full-text index of one account's stored mail: sender and recipient names
// and addresses, subject, the body as text (HTML made into text, as the reader shows it), the
// names of attachments, with the folder, date and flags of each message. It is a cache beside the
// summary index, in DIR/poplar/search: Update brings it in step with the Maildir, whoever changed
// it, and a missing or damaged index is made again, never reported as an error.
//
// Words are found case- and accent-insensitively ("garcia" finds "García"), with Chinese, Japanese
// and Korean text indexed as overlapping pairs of characters so that any word of two or more
// characters is found (analyze.go). A very common word ("the", "of") is also indexed together with
// the word after it, so that a phrase starting with one is not slow (isCommon). Index.Search
// describes the query syntax.
//
// The index is an inverted index of its own, not a library's: immutable segment files of sorted
// terms with delta-coded postings and positions (segment.go), memory-mapped read-only, and a
// document table (docs.go) that is the commit point, replaced atomically. Any number of processes
// may search while one updates (a lock is held only during Update), so the app and `poplar search`
// share an index. It replaced github.com/blevesearch/bleve/v2 (scorch), measured on the same
// 10,000 generated messages on this 2-core machine (docs/benchmarks.md): bleve built 207 messages
// a second (goal 2,000), its CPU going to analysis (26 %), segment building and merging (16 %)
// and garbage collection (11 %); a query listing every hit took 77 ms and a phrase of common words
// 468 ms at 10,000 messages (goal 50 ms at 100,000), since hits are sorted by date, not score. Here
// documents are listed in date order once, at commit, and queries are bitmaps over documents.
package search

import (
	"bufio"
	"context"
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
	"unicode/utf8"
	"unsafe"

	"github.com/poplar-mail/poplar/storage"
	"github.com/poplar-mail/poplar/storage/internal/mmapfile"
	"github.com/poplar-mail/poplar/storage/mailview"
)

// BodyBytes bounds how much of a message's body text is indexed.
const BodyBytes = 64 << 10

// readBytes bounds how much of a message file is read for indexing.
const readBytes = 8 << 20

// Field bytes: a term's key is its field byte and its text.
const (
	fFrom, fTo, fSubject, fBody, fAttach byte = 'f', 't', 's', 'b', 'a'
)

// textFields are the fields a bare word or phrase is looked for in.
var textFields = []byte{fFrom, fTo, fSubject, fBody, fAttach}

// segmentBytes is about how much postings memory a cold build collects before writing a segment.
const segmentBytes = 96 << 20

// maxSegments is how many segments an index keeps before merging neighbours.
const maxSegments = 8

// Index is the full-text index of one store. Its methods are safe for concurrent use, and other
// processes may use the same index at the same time; Update and Search do I/O. Close it when done.
type Index struct {
	store    *storage.Store
	dir      string
	lockPath string

	mu sync.Mutex // serializes Update and Close

	smu    sync.RWMutex // guards the fields below; Search holds it while it reads segments
	t      *table       // the committed table (never changed once installed)
	segs   map[string]*segment
	stamp  fileStamp // of the document table t was read from
	closed bool

	broken atomic.Bool // damage was found: the next Update starts again

}

// ReleaseMemory gives back to the system the resident pages of the index's segment files, which
// are mapped into memory: a search reads parts of every segment, and they stay counted against
// the process until then. The next search reads them again from the page cache.
func (x *Index) ReleaseMemory() {
	x.smu.RLock()
	defer x.smu.RUnlock()
	for _, s := range x.segs {
		if s.data != nil {
			mmapfile.Release(s.data)
		}
	}
}

// fileStamp tells whether the document table was replaced (by any process).
type fileStamp struct {
	ino, size uint64
	mtime     int64
}

// Open opens the index of store, creating its folder when missing. It does not read messages:
// call Update to bring it in step (a damaged or missing index is made again there). Close it when
// done.
func Open(store *storage.Store) (*Index, error) {
	state := filepath.Join(store.Dir(), "poplar")
	x := &Index{
		store:    store,
		dir:      filepath.Join(state, "search"),
		lockPath: filepath.Join(state, "search.lock"),
		t:        &table{},
		segs:     map[string]*segment{},
	}
	if err := os.MkdirAll(x.dir, 0o700); err != nil {
		return nil, fmt.Errorf("search: %w", err)
	}
	x.smu.Lock()
	defer x.smu.Unlock()
	if err := x.refresh(); err != nil {
		if !errors.Is(err, errDamaged) {
			x.closeSegments(nil)
			return nil, err
		}
		x.broken.Store(true)
	}
	return x, nil
}

// Close closes the index. It waits for a running Update (cancel its context first). It is safe to
// call more than once.
func (x *Index) Close() error {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.smu.Lock()
	defer x.smu.Unlock()
	x.closed = true
	x.closeSegments(nil)
	x.t = &table{}
	return nil
}

// closeSegments unmaps the open segments not in keep. x.smu is held.
func (x *Index) closeSegments(keep map[string]bool) {
	for name, s := range x.segs {
		if !keep[name] {
			s.close()
			delete(x.segs, name)
		}
	}
}

// refresh reads the document table again when another process (or Update) replaced it, and opens
// its segments. x.smu is held.
func (x *Index) refresh() error {
	path := filepath.Join(x.dir, docsFile)
	for try := 0; ; try++ {
		st, ok := stampOf(path)
		if ok && st == x.stamp {
			return nil
		}
		data, err := os.ReadFile(path)
		if errors.Is(err, os.ErrNotExist) {
			x.install(&table{}, fileStamp{})
			return nil
		}
		if err != nil {
			return fmt.Errorf("search: %w", err)
		}
		t, err := decodeTable(data)
		if err != nil {
			return err
		}
		err = x.openSegments(t)
		if errors.Is(err, os.ErrNotExist) && try < 3 {
			continue // replaced by a merge since the table was read
		}
		if err != nil {
			return err
		}
		x.install(t, st)
		return nil
	}
}

// openSegments maps the segments of t that are not open yet. x.smu is held.
func (x *Index) openSegments(t *table) error {
	for _, si := range t.segs {
		if x.segs[si.name] != nil {
			continue
		}
		s, err := openSegment(filepath.Join(x.dir, si.name), si.name)
		if err != nil {
			return err
		}
		x.segs[si.name] = s
	}
	return nil
}

// install makes t (whose segments are open) the table searched, and unmaps segments it does
// not use. x.smu is held.
func (x *Index) install(t *table, st fileStamp) {
	snap := *t // Update goes on appending to t's slices, past the lengths copied here
	keep := map[string]bool{}
	for _, s := range t.segs {
		keep[s.name] = true
	}
	x.closeSegments(keep)
	x.t, x.stamp = &snap, st
}

// commit writes t as the index's table and installs it.
func (x *Index) commit(t *table) error {
	t.sortOrder()
	if err := writeTable(x.dir, t); err != nil {
		return err
	}
	st, _ := stampOf(filepath.Join(x.dir, docsFile))
	x.smu.Lock()
	defer x.smu.Unlock()
	if err := x.openSegments(t); err != nil {
		return err
	}
	x.install(t, st)
	return nil
}

// lockWriter takes the lock that lets one process at a time update the index, waiting for another
// one's Update to end (or ctx).
func (x *Index) lockWriter(ctx context.Context) (func(), error) {
	f, err := os.OpenFile(x.lockPath, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("search: %w", err)
	}
	for {
		held, err := tryLock(f)
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("search: locking the index: %w", err)
		}
		if !held {
			return func() { f.Close() }, nil
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// want is what the store has of a message.
type want struct {
	folder, key string
	flags       storage.Flags
	size        int64
	date        int64
	attach      bool
}

// docID names a message: the same key may be in two folders (copied by another program).
func docID(folder, key string) string { return folder + "\x00" + key }

// Update brings the index in step with the store: it adds messages it has not indexed, removes
// those gone, follows moves and flag changes, and indexes again those whose size changed (the rest
// downloaded), whoever made the change. A damaged index is made again. progress, when not nil, is
// called from Update's goroutine with the messages indexed so far and the number to index, at
// most a few times a second and once at the end. Cancelling ctx stops it; what was indexed is
// kept. Only one process updates an index at a time: Update waits for another one's to end.
func (x *Index) Update(ctx context.Context, progress func(done, total int)) error {
	x.mu.Lock()
	defer x.mu.Unlock()
	unlock, err := x.lockWriter(ctx)
	if err != nil {
		return err
	}
	defer unlock()
	x.smu.Lock()
	if x.closed {
		x.smu.Unlock()
		return errors.New("search: index closed")
	}
	err = x.refresh()
	if err != nil && !errors.Is(err, errDamaged) {
		x.smu.Unlock()
		return err
	}
	if err != nil || x.broken.Load() {
		x.install(&table{}, fileStamp{})
		x.broken.Store(false)
	}
	cur := x.t
	x.smu.Unlock()
	// Nothing changed in the Maildir since the last Update: nothing to do.
	stamp, trusty := maildirStamp(x.store.Dir())
	if cur.stamp != "" && cur.stamp == stamp {
		return nil
	}
	if !trusty {
		stamp = ""
	}
	x.removeStray(cur)

	wants, err := x.wanted()
	if err != nil {
		return err
	}
	t := cur.clone()
	have := make(map[string]uint32, len(t.order))
	for _, i := range cur.order {
		d := cur.docs[i]
		have[docID(t.folders[d.folder], d.key)] = i
	}
	changed := false
	var todo []want
	var news []want
	for id, w := range wants {
		i, ok := have[id]
		if !ok {
			news = append(news, w)
			continue
		}
		delete(have, id)
		d := &t.docs[i]
		if d.size != w.size {
			d.live, changed = false, true
			todo = append(todo, w)
		} else if d.flags != w.flags {
			d.flags, changed = w.flags, true
		}
	}
	// What is left in have is gone from where it was: moved, when a new one has its key and size.
	moved := map[string][]uint32{}
	for _, i := range have {
		moved[t.docs[i].key] = append(moved[t.docs[i].key], i)
	}
	for _, w := range news {
		found := false
		for k, i := range moved[w.key] {
			if d := &t.docs[i]; d.live && d.size == w.size {
				d.folder, d.flags = t.folderIndex(w.folder), w.flags
				moved[w.key] = append(moved[w.key][:k], moved[w.key][k+1:]...)
				found, changed = true, true
				break
			}
		}
		if !found {
			todo = append(todo, w)
		}
	}
	for _, is := range moved {
		for _, i := range is {
			t.docs[i].live, changed = false, true
		}
	}
	if changed {
		if err := x.commit(t); err != nil {
			return err
		}
	}
	if len(todo) > 0 {
		if err := x.index(ctx, t, todo, progress); err != nil {
			return err
		}
	}
	if err := x.merge(t); err != nil {
		return err
	}
	if t.stamp != stamp {
		t.stamp = stamp
		return x.commit(t)
	}
	return nil
}

// wanted lists the messages of the store by docID.
func (x *Index) wanted() (map[string]want, error) {
	folders, err := x.store.Folders()
	if err != nil {
		return nil, err
	}
	out := map[string]want{}
	for _, f := range folders {
		sums, err := x.store.Summaries(f.Name)
		if errors.Is(err, storage.ErrNoFolder) {
			continue
		}
		if err != nil {
			return nil, err
		}
		for _, s := range sums {
			out[docID(f.Name, s.Key)] = want{folder: f.Name, key: s.Key, flags: s.Flags, size: s.Size, date: docDate(s), attach: s.HasAttachments}
		}
	}
	return out, nil
}

// removeStray removes what the index folder holds besides t's table and segments: files of an
// interrupted Update, or of an index of another kind.
func (x *Index) removeStray(t *table) {
	names, err := os.ReadDir(x.dir)
	if err != nil {
		return
	}
	keep := map[string]bool{docsFile: true}
	for _, s := range t.segs {
		keep[s.name] = true
	}
	for _, e := range names {
		if !keep[e.Name()] {
			os.RemoveAll(filepath.Join(x.dir, e.Name()))
		}
	}
}

// newSegmentPath returns an unused segment file name in the index folder.
func (x *Index) newSegmentPath() (string, error) {
	f, err := os.CreateTemp(x.dir, "seg-*")
	if err != nil {
		return "", fmt.Errorf("search: %w", err)
	}
	f.Close()
	os.Remove(f.Name())
	return f.Name(), nil
}

// index reads, analyzes (in parallel) and writes the messages todo, committing a segment each
// segmentBytes of postings and at the end.
func (x *Index) index(ctx context.Context, t *table, todo []want, progress func(done, total int)) error {
	type result struct {
		w *want
		d *docTerms
	}
	ictx, cancel := context.WithCancel(ctx)
	defer cancel()
	jobs := make(chan *want)
	results := make(chan result, 64)
	// The builder hands the documents it has added back to the analyzers, to be used again.
	spare := make(chan *docTerms, cap(results)+2*runtime.GOMAXPROCS(0))
	var wg sync.WaitGroup
	for range runtime.GOMAXPROCS(0) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			da := newDocAnalyzer()
			da.spare = spare
			for w := range jobs {
				d, err := x.analyzeMessage(da, w)
				if err != nil {
					d = nil // gone since it was listed: the next Update sees where it went
				}
				results <- result{w, d}
			}
		}()
	}
	go func() {
		defer close(jobs)
		for i := range todo {
			select {
			case jobs <- &todo[i]:
			case <-ictx.Done():
				return
			}
		}
	}()
	go func() { wg.Wait(); close(results) }()

	b := newBuilder()
	lo := uint32(len(t.docs))
	var werr error
	flush := func() error {
		if b.docs == 0 {
			return nil
		}
		path, err := x.newSegmentPath()
		if err == nil {
			err = writeSegment(path, b)
		}
		if err == nil {
			hi := uint32(len(t.docs))
			t.segs = append(t.segs, segInfo{name: filepath.Base(path), lo: lo, hi: hi, n: uint32(b.docs)})
			err = x.commit(t)
			lo = hi
		}
		b = newBuilder()
		return err
	}
	done, last := 0, time.Now()
	for r := range results {
		if werr != nil {
			continue // draining
		}
		done++
		if r.d != nil {
			doc := uint32(len(t.docs))
			t.docs = append(t.docs, docInfo{key: r.w.key, folder: t.folderIndex(r.w.folder), flags: r.w.flags,
				size: r.w.size, date: r.w.date, attach: r.w.attach, live: true})
			b.add(doc, r.d)
			select {
			case spare <- r.d: // b keeps nothing of it
			default:
			}
		}
		if b.bytes >= segmentBytes {
			if werr = flush(); werr != nil {
				cancel()
			}
		}
		if progress != nil && time.Since(last) > 250*time.Millisecond {
			progress(done, len(todo))
			last = time.Now()
		}
	}
	if werr != nil {
		return werr
	}
	if err := flush(); err != nil {
		return err
	}
	if progress != nil {
		progress(done, len(todo))
	}
	return ctx.Err()
}

// merge merges neighbouring segments while there are more than maxSegments, the smallest pair
// first, and rewrites a segment of which most documents were deleted.
func (x *Index) merge(t *table) error {
	live := func(doc uint32) bool { return int(doc) < len(t.docs) && t.docs[doc].live }
	size := func(si segInfo) int {
		x.smu.RLock()
		defer x.smu.RUnlock()
		if s := x.segs[si.name]; s != nil {
			return len(s.data)
		}
		return 0
	}
	for {
		from, to := -1, -1
		if len(t.segs) > maxSegments {
			best := 0
			for i := 0; i+1 < len(t.segs); i++ {
				if n := size(t.segs[i]) + size(t.segs[i+1]); from < 0 || n < best {
					from, to, best = i, i+2, n
				}
			}
		} else {
			for i, si := range t.segs {
				if live := t.liveIn(si); 2*(int(si.n)-live) > int(si.n) {
					from, to = i, i+1
					break
				}
			}
		}
		if from < 0 {
			return nil
		}
		x.smu.RLock()
		var segs []*segment
		for _, si := range t.segs[from:to] {
			segs = append(segs, x.segs[si.name])
		}
		x.smu.RUnlock()
		path, err := x.newSegmentPath()
		if err == nil {
			err = mergeSegments(path, segs, live)
		}
		if err != nil {
			return err
		}
		old := append([]segInfo(nil), t.segs[from:to]...)
		merged := segInfo{name: filepath.Base(path), lo: old[0].lo, hi: old[len(old)-1].hi}
		merged.n = uint32(t.liveIn(merged))
		t.segs = append(append([]segInfo(nil), t.segs[:from]...), t.segs[to:]...)
		if merged.n > 0 {
			t.segs = slices.Insert(t.segs, from, merged)
		} else {
			os.Remove(path)
		}
		if err := x.commit(t); err != nil {
			return err
		}
		for _, si := range old {
			os.Remove(filepath.Join(x.dir, si.name))
		}
	}
}

// docTerms is the postings of one document: its distinct term keys (which share one array: keep
// a copy of one, not the key), and for each the encoded positions pos[ends[i]:ends[i+1]].
type docTerms struct {
	keys  []string
	ends  []int
	pos   []byte
	arena []byte // the bytes of keys
}

// docAnalyzer turns a message's fields into docTerms; one per goroutine.
type docAnalyzer struct {
	a     *analyzer
	idx   map[string]int
	keys  []string
	lists [][]uint32
	key   []byte

	arena []byte // the bytes of the document's keys: one allocation for all of them

	prev       []byte // the field's last term, its position, and whether it is common
	prevPos    int
	prevCommon bool
	gram       []byte // a pair's term

	br *bufio.Reader // what extract reads a message through

	// cur is the docTerms the document's terms go into: one the builder is done with, from
	// spare, when one came back (its slices are used again: a document's keys, positions and
	// key bytes were a quarter of the bytes an index build allocated), else a new one.
	cur   *docTerms
	spare <-chan *docTerms
}

func newDocAnalyzer() *docAnalyzer {
	return &docAnalyzer{a: newAnalyzer(), idx: map[string]int{}, br: newExtractReader()}
}

// field adds the terms of one field's text, and each pair of neighbouring words whose first is
// common (isCommon), as a term of gramField(f) at the first word's position.
func (da *docAnalyzer) field(f byte, text string) {
	da.prevPos, da.prevCommon = -2, false
	da.a.analyze(text, 0, func(term []byte, p int) {
		da.add(f, term, p)
		if p == da.prevPos+1 && da.prevCommon {
			da.gram = appendGram(da.gram[:0], da.prev, term)
			da.add(gramField(f), da.gram, da.prevPos)
		}
		da.prev = append(da.prev[:0], term...)
		da.prevPos, da.prevCommon = p, isCommon(term)
	})
}

// add adds one position of the term of field f.
func (da *docAnalyzer) add(f byte, term []byte, p int) {
	da.key = append(append(da.key[:0], f), term...)
	i, ok := da.idx[string(da.key)]
	if !ok {
		i = len(da.keys)
		if da.arena == nil {
			da.start()
		}
		// Appending never changes the bytes already in the arena (a full one is copied), so
		// the keys made from them stay as they are.
		start := len(da.arena)
		da.arena = append(da.arena, da.key...)
		k := unsafe.String(&da.arena[start], len(da.key))
		da.idx[k] = i
		da.keys = append(da.keys, k)
		if len(da.lists) <= i {
			da.lists = append(da.lists, nil)
		}
		da.lists[i] = da.lists[i][:0]
	}
	da.lists[i] = append(da.lists[i], uint32(p))
}

// arenaBytes is the size of a document's first key arena: the keys of most messages.
const arenaBytes = 8 << 10

// start takes the docTerms of a new document: a used one from spare, else a new one.
func (da *docAnalyzer) start() {
	select {
	case da.cur = <-da.spare:
	default:
		da.cur = &docTerms{arena: make([]byte, 0, arenaBytes)}
	}
	da.keys, da.arena = da.cur.keys[:0], da.cur.arena[:0]
}

// finish returns the document's postings and readies da for the next one.
func (da *docAnalyzer) finish() *docTerms {
	if da.cur == nil { // no terms
		da.start()
	}
	d := da.cur
	d.keys, d.arena = da.keys, da.arena
	d.ends = append(d.ends[:0], make([]int, len(da.keys)+1)...)
	n := 0
	for i := range da.keys {
		n += len(da.lists[i]) + 1
	}
	d.pos = slices.Grow(d.pos[:0], n*2)
	for i := range da.keys {
		prev := uint32(0)
		for _, p := range da.lists[i] {
			d.pos = appendUvarint(d.pos, p-prev)
			prev = p
		}
		d.ends[i+1] = len(d.pos)
	}
	da.keys, da.arena, da.cur = nil, nil, nil // d keeps them
	clear(da.idx)
	return d
}

// appendUvarint appends v as a uvarint.
func appendUvarint(b []byte, v uint32) []byte {
	for v >= 0x80 {
		b = append(b, byte(v)|0x80)
		v >>= 7
	}
	return append(b, byte(v))
}

// analyzeMessage reads one message and returns its postings.
func (x *Index) analyzeMessage(da *docAnalyzer, w *want) (*docTerms, error) {
	m, err := extract(func() (io.ReadCloser, error) { return x.store.OpenMessage(w.folder, w.key) }, da.br)
	if err != nil {
		return nil, err
	}
	da.field(fFrom, m.from)
	da.field(fTo, m.to)
	da.field(fSubject, m.subject)
	da.field(fBody, m.body)
	da.field(fAttach, strings.Join(m.attach, "\n"))
	return da.finish(), nil
}

// addresses joins the names and addresses of a list, one a line.
func addresses(as []mailview.Address) string {
	var b strings.Builder
	for _, a := range as {
		b.WriteString(a.String())
		b.WriteByte('\n')
	}
	return b.String()
}

// truncate cuts s to at most n bytes, at a rune boundary.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// Options narrow a search.
type Options struct {
	Folder string // only this folder ("" = all)
	Limit  int    // at most this many hits (0 = all)
}

// Search returns the messages that match query, newest first (by Date, else arrival),
// at most opts.Limit of them, and how many match in all. It searches the index as the last Update
// (of any process) left it; messages gone from the store since are left out. A query that does not
// parse gives a *SyntaxError.
//
// The query syntax: parts are separated by spaces and must all match (AND); a part starting with
// '-' must not match.
//
//	word                 a word in the sender, recipients, subject, body or attachment names;
//	                     the last bare word also matches as a prefix ("lov" finds "lovelace")
//	"exact phrase"       these words next to each other, in this order
//	from:X  to:X         sender; recipients (To and Cc): names and addresses (to:"Ada L" quotes)
//	subject:X            the subject
//	has:attachment       has an attachment (inline images referenced by the HTML do not count)
//	is:unread is:read is:flagged is:unflagged
//	before:YYYY-MM-DD    dated before that day (local time); after:YYYY-MM-DD: on or after it
//	folder:NAME          in that folder (exactly: folder:Work does not include Work.Sub)
//
// A field name is matched case-insensitively; other text containing ':' ("re:", a URL) is a word.
func (x *Index) Search(query string, opts Options) ([]storage.Summary, int, error) {
	hits, total, err := x.find(query, opts)
	if err != nil {
		return nil, 0, err
	}
	return x.summaries(hits), total, nil
}

// SearchListing is Search as a storage.Listing, as the app lists hits: it holds where each hit's
// summary is, and decodes one when asked for it, so that listing every one of 100,000 hits costs
// a walk along the folder, not 25 MB of summaries. The hits gone since the last Update are left
// out.
func (x *Index) SearchListing(query string, opts Options) (*storage.Listing, int, error) {
	hits, total, err := x.find(query, opts)
	if err != nil {
		return nil, 0, err
	}
	l, err := x.store.ListingOf(hits)
	return l, total, err
}

// find runs query and returns the hits (at most opts.Limit), newest first, and how many there
// are in all.
func (x *Index) find(query string, opts Options) ([]storage.Hit, int, error) {
	q, err := parse(query)
	if err != nil {
		return nil, 0, err
	}
	if opts.Folder != "" {
		q = &boolNode{must: []node{q, folderNode(opts.Folder)}}
	}
	if err := x.refreshIfReplaced(); err != nil {
		return nil, 0, err
	}
	var hits []storage.Hit
	total, err := func() (int, error) {
		x.smu.RLock()
		defer x.smu.RUnlock()
		if x.closed {
			return 0, errors.New("search: index closed")
		}
		t := x.t
		c := &evalCtx{t: t}
		for _, si := range t.segs {
			c.segs = append(c.segs, x.segs[si.name])
		}
		bm, err := q.eval(c)
		if err != nil {
			return 0, err
		}
		n := bm.count() // as many as the hits or more (bm may hold deleted documents)
		if opts.Limit > 0 {
			n = min(n, opts.Limit)
		}
		hits = make([]storage.Hit, 0, n)
		total := 0
		for _, i := range t.order {
			if bm.has(i) {
				total++
				if opts.Limit <= 0 || len(hits) < opts.Limit {
					d := &t.docs[i]
					hits = append(hits, storage.Hit{Folder: t.folders[d.folder], Key: d.key})
				}
			}
		}
		return total, nil
	}()
	if errors.Is(err, errDamaged) {
		x.broken.Store(true)
		return nil, 0, fmt.Errorf("%w (it is made again at the next update)", err)
	}
	if err != nil {
		return nil, 0, err
	}
	return hits, total, nil
}

// summaries returns the summaries of hits, in their order, leaving out those gone since the last
// Update: one SummariesOf a folder, which in a process that has not loaded the folder reads its
// index file only as far as the hits (the newest are near its start).
func (x *Index) summaries(hits []storage.Hit) []storage.Summary {
	if len(hits) == 0 {
		return nil
	}
	if one := hits[0].Folder; !slices.ContainsFunc(hits, func(h storage.Hit) bool { return h.Folder != one }) {
		// The usual case: one folder, whose summaries come in the hits' order.
		keys := make([]string, len(hits))
		for i, h := range hits {
			keys[i] = h.Key
		}
		sums, err := x.store.SummariesOf(one, keys)
		if err != nil {
			return nil // the folder is gone since the last Update
		}
		return slices.DeleteFunc(sums, gone)
	}
	type group struct {
		keys []string
		at   []int // the hits' numbers
	}
	var order []string
	groups := map[string]*group{}
	for i, h := range hits {
		g := groups[h.Folder]
		if g == nil {
			g = &group{}
			groups[h.Folder] = g
			order = append(order, h.Folder)
		}
		g.keys = append(g.keys, h.Key)
		g.at = append(g.at, i)
	}
	all := make([]storage.Summary, len(hits))
	for _, f := range order {
		g := groups[f]
		sums, err := x.store.SummariesOf(f, g.keys)
		if err != nil {
			continue // the folder is gone since the last Update
		}
		for j := range sums {
			all[g.at[j]] = sums[j]
		}
	}
	return slices.DeleteFunc(all, gone)
}

// gone reports a message gone from the store (SummariesOf gave a zero summary).
func gone(s storage.Summary) bool { return s.Key == "" }

// refreshIfReplaced reads the document table again when another process's Update replaced it.
func (x *Index) refreshIfReplaced() error {
	st, _ := stampOf(filepath.Join(x.dir, docsFile))
	x.smu.RLock()
	same := st == x.stamp || x.closed
	x.smu.RUnlock()
	if same {
		return nil
	}
	x.smu.Lock()
	defer x.smu.Unlock()
	err := x.refresh()
	if errors.Is(err, errDamaged) {
		x.broken.Store(true)
		return fmt.Errorf("%w (it is made again at the next update)", err)
	}
	return err
}
