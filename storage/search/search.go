// Package search is the full-text index of one account's stored mail: sender and recipient names
// and addresses, subject, the body as text (HTML made into text, as the reader shows it), the
// names of attachments, with the folder, date and flags of each message. It is a cache beside the
// summary index, in DIR/poplar/search (a bleve index, github.com/blevesearch/bleve/v2): Update
// brings it in step with the Maildir, whoever changed it, and a missing or damaged index is
// rebuilt, never reported as an error.
//
// Words are found case- and accent-insensitively ("garcia" finds "García"), broken as Unicode
// (UAX #29) says, with Chinese, Japanese and Korean text indexed as overlapping pairs of characters
// so that any word of two or more characters is found. Index.Search describes the query syntax.
package search

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/analysis"
	"github.com/blevesearch/bleve/v2/analysis/analyzer/custom"
	"github.com/blevesearch/bleve/v2/analysis/char/asciifolding"
	"github.com/blevesearch/bleve/v2/analysis/lang/cjk"
	"github.com/blevesearch/bleve/v2/analysis/token/lowercase"
	"github.com/blevesearch/bleve/v2/analysis/tokenizer/unicode"
	"github.com/blevesearch/bleve/v2/mapping"
	"github.com/blevesearch/bleve/v2/registry"
	"golang.org/x/sys/unix"

	"github.com/poplar-mail/poplar/storage"
	"github.com/poplar-mail/poplar/storage/mailview"
)

// ErrBusy means another process (the app or another command) has the account's index open.
var ErrBusy = errors.New("search: the index is in use by another Poplar process")

// BodyBytes bounds how much of a message's body text is indexed.
const BodyBytes = 64 << 10

// readBytes bounds how much of a message file is read for indexing.
const readBytes = 8 << 20

// version names the mapping and the manifest format; an index of another version is rebuilt.
const version = "poplar-search 1"

// analyzerName is the analyzer of every text field.
const analyzerName = "poplar"

// Field names.
const (
	fFrom, fTo, fSubject, fBody, fAttach = "from", "to", "subject", "body", "attach"
	fFolder, fDate, fUnread, fFlagged    = "folder", "date", "unread", "flagged"
	fHasAttach, fKey                     = "has_attachment", "key"
)

// textFields are the fields a bare word or phrase is looked for in.
var textFields = []string{fFrom, fTo, fSubject, fBody, fAttach}

// Index is the full-text index of one store. Its methods are safe for concurrent use; Update and
// Search do I/O. Close it when done.
type Index struct {
	store *storage.Store
	dir   string

	mu       sync.Mutex       // serializes Update and Close; guards manifest, broken
	manifest map[string]state // doc id -> what was indexed
	broken   bool             // a write failed: the next Update starts a new index
	unlock   func()

	imu sync.RWMutex // guards idx: Search runs while Update writes
	idx bleve.Index
}

// bleve returns the bleve index, nil once closed.
func (x *Index) bleve() bleve.Index {
	x.imu.RLock()
	defer x.imu.RUnlock()
	return x.idx
}

// state is what an indexed message looked like: a change means the document is written again.
type state struct {
	flags storage.Flags
	size  int64
}

// Open opens the index of store, creating it (empty) when missing and recreating it when it is
// damaged or of another version. Call Update to fill it. Only one process may have it open:
// Open returns ErrBusy when another one has. Close it when done.
func Open(store *storage.Store) (*Index, error) {
	state := filepath.Join(store.Dir(), "poplar")
	dir := filepath.Join(state, "search")
	unlock, err := flock(filepath.Join(state, "search.lock"))
	if err != nil {
		return nil, err
	}
	x := &Index{store: store, dir: dir, unlock: unlock}
	if err := x.open(); err != nil {
		unlock()
		return nil, err
	}
	return x, nil
}

// open opens or makes the bleve index and reads the manifest; anything wrong makes a new index.
func (x *Index) open() error {
	idx, err := bleve.OpenUsing(x.dir, runtimeConfig())
	if err == nil {
		if m, err := readManifest(idx); err == nil {
			x.setIndex(idx)
			x.manifest = m
			return nil
		}
		idx.Close()
	}
	return x.create()
}

// create removes whatever is at x.dir and makes a new, empty index.
func (x *Index) create() error {
	if err := os.RemoveAll(x.dir); err != nil {
		return fmt.Errorf("search: removing the old index: %w", err)
	}
	m, err := newMapping()
	if err != nil {
		return err
	}
	idx, err := bleve.NewUsing(x.dir, m, bleve.Config.DefaultIndexType, bleve.Config.DefaultKVStore, runtimeConfig())
	if err != nil {
		return fmt.Errorf("search: creating the index: %w", err)
	}
	if err := idx.SetInternal([]byte("manifest"), encodeManifest(nil)); err != nil {
		idx.Close()
		return fmt.Errorf("search: %w", err)
	}
	x.setIndex(idx)
	x.manifest, x.broken = map[string]state{}, false
	return nil
}

func (x *Index) setIndex(idx bleve.Index) {
	x.imu.Lock()
	x.idx = idx
	x.imu.Unlock()
}

// Close closes the index and releases it for other processes. It waits for a running Update
// (cancel its context first). It is safe to call more than once.
func (x *Index) Close() error {
	x.mu.Lock()
	defer x.mu.Unlock()
	idx := x.bleve()
	if idx == nil {
		return nil
	}
	x.setIndex(nil)
	err := idx.Close()
	x.unlock()
	if err != nil {
		return fmt.Errorf("search: %w", err)
	}
	return nil
}

// flock takes an exclusive lock on path without waiting.
func flock(path string) (func(), error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("search: %w", err)
	}
	for {
		err = unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
		if err != unix.EINTR {
			break
		}
	}
	if err != nil {
		f.Close()
		if errors.Is(err, unix.EWOULDBLOCK) {
			return nil, ErrBusy
		}
		return nil, fmt.Errorf("search: locking the index: %w", err)
	}
	return func() { f.Close() }, nil
}

// newMapping describes the documents: text fields with the poplar analyzer and term vectors
// (phrases need positions), keyword, date and boolean fields for the filters. Nothing is stored:
// hits are joined with the store's summaries.
func newMapping() (*mapping.IndexMappingImpl, error) {
	m := bleve.NewIndexMapping()
	// "l'école" is two words: Unicode word breaking keeps it one.
	err := m.AddCustomAnalyzer(analyzerName, map[string]interface{}{
		"type":          custom.Name,
		"char_filters":  []string{asciifolding.Name, apostropheName},
		"tokenizer":     unicode.Name,
		"token_filters": []string{cjk.WidthName, lowercase.Name, cjk.BigramName},
	})
	if err != nil {
		return nil, fmt.Errorf("search: %w", err)
	}
	doc := bleve.NewDocumentStaticMapping()
	text := func() *mapping.FieldMapping {
		f := bleve.NewTextFieldMapping()
		f.Analyzer = analyzerName
		f.Store = false
		f.IncludeInAll = false
		f.IncludeTermVectors = true
		f.DocValues = false
		return f
	}
	for _, n := range textFields {
		doc.AddFieldMappingsAt(n, text())
	}
	kw := bleve.NewKeywordFieldMapping()
	kw.Store, kw.IncludeInAll, kw.IncludeTermVectors, kw.DocValues = false, false, false, false
	doc.AddFieldMappingsAt(fFolder, kw)
	doc.AddFieldMappingsAt(fKey, kw)
	date := bleve.NewDateTimeFieldMapping()
	date.Store, date.IncludeInAll = false, false
	doc.AddFieldMappingsAt(fDate, date)
	for _, n := range []string{fUnread, fFlagged, fHasAttach} {
		b := bleve.NewBooleanFieldMapping()
		b.Store, b.IncludeInAll, b.DocValues = false, false, false
		doc.AddFieldMappingsAt(n, b)
	}
	m.DefaultMapping = doc
	m.DefaultAnalyzer = analyzerName
	m.StoreDynamic = false
	m.IndexDynamic = false
	m.DocValuesDynamic = false
	return m, nil
}

// apostropheName is a char filter that makes apostrophes spaces: "l'école" is two words, which
// Unicode word breaking keeps as one. (A regexp char filter did the same at 4 % of a build's CPU.)
const apostropheName = "poplar_apostrophe"

type apostropheFilter struct{}

// Filter replaces ' and ’ (after ASCII folding, only ') with spaces, in place.
func (apostropheFilter) Filter(input []byte) []byte {
	for i, c := range input {
		if c == '\'' {
			input[i] = ' '
		}
	}
	return input
}

func init() {
	registry.RegisterCharFilter(apostropheName, func(map[string]interface{}, *registry.Cache) (analysis.CharFilter, error) {
		return apostropheFilter{}, nil
	})
}

// docID names a message in the index: the same key may be in two folders (copied by another
// program).
func docID(folder, key string) string { return folder + "\x00" + key }

func splitID(id string) (folder, key string) {
	folder, key, _ = strings.Cut(id, "\x00")
	return folder, key
}

// Manifest format: version line, then per document its id, flags and size as uvarints.
func encodeManifest(m map[string]state) []byte {
	b := make([]byte, 0, len(version)+1+len(m)*64)
	b = append(b, version+"\n"...)
	for id, st := range m {
		b = binary.AppendUvarint(b, uint64(len(id)))
		b = append(b, id...)
		b = binary.AppendUvarint(b, uint64(st.flags))
		b = binary.AppendUvarint(b, uint64(st.size))
	}
	return b
}

var errDamaged = errors.New("search: damaged manifest")

func readManifest(idx bleve.Index) (map[string]state, error) {
	data, err := idx.GetInternal([]byte("manifest"))
	if err != nil {
		return nil, err
	}
	return decodeManifest(data)
}

func decodeManifest(data []byte) (map[string]state, error) {
	rest, ok := strings.CutPrefix(string(data), version+"\n")
	if !ok {
		return nil, errDamaged
	}
	b := []byte(rest)
	m := map[string]state{}
	get := func() (uint64, bool) {
		v, n := binary.Uvarint(b)
		if n <= 0 {
			return 0, false
		}
		b = b[n:]
		return v, true
	}
	for len(b) > 0 {
		l, ok := get()
		if !ok || l > uint64(len(b)) {
			return nil, errDamaged
		}
		id := string(b[:l])
		b = b[l:]
		fl, ok1 := get()
		sz, ok2 := get()
		if !ok1 || !ok2 {
			return nil, errDamaged
		}
		m[id] = state{storage.Flags(fl), int64(sz)}
	}
	return m, nil
}

// Update brings the index in step with the store: it adds messages it has not indexed, removes
// those gone, and writes again those whose folder, flags or size changed (moved, flagged, read,
// the rest downloaded), by this program or any other. progress, when not nil, is called from
// Update's goroutine with the messages written so far and the number to write, at most a few
// times a second and once at the end. Cancelling ctx stops it between batches; what was written
// is kept.
func (x *Index) Update(ctx context.Context, progress func(done, total int)) error {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.bleve() == nil {
		return errors.New("search: index closed")
	}
	if x.broken {
		old := x.bleve()
		x.setIndex(nil)
		old.Close()
		if err := x.create(); err != nil {
			return err
		}
	}
	folders, err := x.store.Folders()
	if err != nil {
		return err
	}
	want := map[string]state{}
	for _, f := range folders {
		sums, err := x.store.Summaries(f.Name)
		if errors.Is(err, storage.ErrNoFolder) {
			continue
		}
		if err != nil {
			return err
		}
		for _, s := range sums {
			want[docID(f.Name, s.Key)] = state{s.Flags, s.Size}
		}
	}
	var gone []string
	for id := range x.manifest {
		if _, ok := want[id]; !ok {
			gone = append(gone, id)
		}
	}
	var todo []string
	for id, st := range want {
		if old, ok := x.manifest[id]; !ok || old != st {
			todo = append(todo, id)
		}
	}
	if len(gone) == 0 && len(todo) == 0 {
		return nil
	}
	b := x.idx.NewBatch()
	for _, id := range gone {
		b.Delete(id)
	}
	if err := x.idx.Batch(b); err != nil {
		return x.failed(err)
	}
	for _, id := range gone {
		delete(x.manifest, id)
	}
	err = x.index(ctx, todo, want, progress)
	if x.broken {
		return err
	}
	if serr := x.idx.SetInternal([]byte("manifest"), encodeManifest(x.manifest)); err == nil && serr != nil {
		err = x.failed(serr)
	}
	return err
}

// failed turns a write error of the index into an error, and starts a new index next time
// (here, or at the next Open: the manifest is marked damaged).
func (x *Index) failed(err error) error {
	x.broken = true
	x.idx.SetInternal([]byte("manifest"), []byte("damaged"))
	return fmt.Errorf("search: writing the index: %w", err)
}

// batchSize is how many documents go into one bleve batch.
const batchSize = 500

// index reads and writes the documents todo, in parallel batches.
func (x *Index) index(ctx context.Context, todo []string, want map[string]state, progress func(done, total int)) error {
	type result struct {
		id  string
		doc map[string]interface{}
	}
	jobs := make(chan string)
	results := make(chan result, batchSize)
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for w := 0; w < runtime.GOMAXPROCS(0); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for id := range jobs {
				folder, key := splitID(id)
				doc, err := x.document(folder, key)
				if err != nil {
					doc = nil // gone since it was listed: the next Update sees where it went
				}
				select {
				case results <- result{id, doc}:
				case <-stop:
					return
				}
			}
		}()
	}
	go func() {
		defer close(jobs)
		for _, id := range todo {
			select {
			case jobs <- id:
			case <-stop:
				return
			}
		}
	}()
	go func() { wg.Wait(); close(results) }()
	defer close(stop)

	b := x.idx.NewBatch()
	var pending []string
	done, last := 0, time.Now()
	flush := func() error {
		if b.Size() > 0 {
			if err := x.idx.Batch(b); err != nil {
				return x.failed(err)
			}
		}
		for _, id := range pending {
			x.manifest[id] = want[id]
		}
		pending = pending[:0]
		b.Reset()
		return nil
	}
	for r := range results {
		done++
		if r.doc != nil {
			if err := b.Index(r.id, r.doc); err != nil {
				return fmt.Errorf("search: %w", err)
			}
			pending = append(pending, r.id)
		}
		if len(pending) >= batchSize {
			if err := flush(); err != nil {
				return err
			}
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		if progress != nil && time.Since(last) > 250*time.Millisecond {
			progress(done, len(todo))
			last = time.Now()
		}
	}
	if err := flush(); err != nil {
		return err
	}
	if progress != nil {
		progress(done, len(todo))
	}
	return nil
}

// document reads one message and returns what is indexed of it.
func (x *Index) document(folder, key string) (map[string]interface{}, error) {
	sum, err := x.store.Summary(folder, key)
	if err != nil {
		return nil, err
	}
	rc, err := x.store.OpenMessage(folder, key)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	m, err := mailview.Read(io.LimitReader(rc, readBytes), mailview.Options{MaxParts: 500, MaxDepth: 20, MaxTextBytes: BodyBytes, PreferPlain: true})
	if err != nil {
		return nil, err
	}
	return buildDoc(sum, m), nil
}

// buildDoc is the document of a message.
func buildDoc(sum storage.Summary, m *mailview.Message) map[string]interface{} {
	date := sum.Date
	if date.IsZero() {
		date = sum.Received
	}
	var names []string
	for _, a := range m.Attachments {
		if a.OrigName != "" {
			names = append(names, a.OrigName)
		} else if a.Name != "" {
			names = append(names, a.Name)
		}
	}
	return map[string]interface{}{
		fFrom:      addresses(m.From),
		fTo:        addresses(append(append([]mailview.Address{}, m.To...), m.Cc...)),
		fSubject:   m.Subject,
		fBody:      truncate(m.Text(), BodyBytes),
		fAttach:    strings.Join(names, "\n"),
		fFolder:    sum.Folder,
		fKey:       sum.Key,
		fDate:      date,
		fUnread:    sum.Unread(),
		fFlagged:   sum.Flags&storage.FlagFlagged != 0,
		fHasAttach: sum.HasAttachments,
	}
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
// at most opts.Limit of them, and how many match in all. Messages gone from the store since the
// last Update are left out. A query that does not parse gives a *SyntaxError.
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
	q, err := parse(query)
	if err != nil {
		return nil, 0, err
	}
	if opts.Folder != "" {
		q = bleve.NewConjunctionQuery(q, folderQuery(opts.Folder))
	}
	idx := x.bleve()
	if idx == nil {
		return nil, 0, errors.New("search: index closed")
	}
	size := opts.Limit
	if size <= 0 {
		size = 1000
	}
	var res *bleve.SearchResult
	for {
		req := bleve.NewSearchRequestOptions(q, size, 0, false)
		req.SortBy([]string{"-" + fDate, "-_id"})
		if res, err = idx.Search(req); err != nil {
			return nil, 0, fmt.Errorf("search: %w", err)
		}
		if opts.Limit > 0 || int(res.Total) <= size {
			break
		}
		size = int(res.Total)
	}
	out := make([]storage.Summary, 0, len(res.Hits))
	for _, h := range res.Hits {
		folder, key := splitID(h.ID)
		s, err := x.store.Summary(folder, key)
		if err != nil {
			continue // gone since the last Update
		}
		out = append(out, s)
	}
	return out, int(res.Total), nil
}

// runtimeConfig is the scorch configuration. A batch returns once it is searchable, without
// waiting for its fsync (unsafe_batch): fsyncs made a cold build ten times slower (4-5 s per batch
// of 500 on this machine). The index stays a consistent snapshot: scorch persists snapshots in
// order, and the manifest is written after the documents it lists, so after a crash the manifest
// lists nothing the index lacks, and Update writes again what it does not list.
func runtimeConfig() map[string]interface{} {
	return map[string]interface{}{"bolt_timeout": "2s", "unsafe_batch": true}
}
