package storage

import (
	"bufio"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"io"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/poplar-mail/poplar/storage/mailview"
)

// The index file of a folder, format 5: a header, then the records newest first in blocks of
// indexBlockRecords (the last block holds the rest), each block checked by its own CRC-32, so
// that the newest messages can be read and checked without reading the whole file (Newest).
//
//	header: magic, varint stampNew, varint stampCur, uvarint count, CRC-32 (4 bytes, big-endian)
//	        of the header's bytes before it
//	block:  uvarint records, uvarint length L, L bytes of records, CRC-32 of the block's bytes
//	        before it (from its record count on)
//
// The file ends with the last block; a block's record count is min(indexBlockRecords, records
// left). Strings are a uvarint length and bytes; times are varint Unix seconds (Date also has its
// zone offset in minutes). A record is: the file name; a uvarint of bits (1 in cur/, 2 has
// attachments, 4 partial, 8 has a Date, 16 a server size follows Size, 32 References follow,
// 64 In-Reply-To follows, 128 In-Reply-To is the last of References and takes no bytes); From,
// To, Subject, Message-ID, Preview, UIDL; with bit 32 a uvarint count (1 to
// mailview.MaxReferences) and the References; with bit 64 In-Reply-To; with bit 8 the Date and
// its offset; Received; Size; with bit 16 ServerSize (only for a partial message, 1 to
// maxServerSize).
//
// History: version 2 took UIDL and Partial from Poplar's own lines only (ownFields); version 3
// added ServerSize; version 4 In-Reply-To and References; version 5 has the records of version
// 4 in checked blocks instead of one CRC at the end. An index of an older version is rebuilt
// from the files, which fills every field.
const indexMagic = "POPLAR-INDEX 5\n"

// indexBlockRecords is the number of records of a block of the index file: about 36 KB of a
// typical folder, enough for a screenful or `poplar list --limit 20` in one read.
const indexBlockRecords = 128

// errCorruptIndex means an index file failed to decode; the folder is rescanned.
var errCorruptIndex = errors.New("storage: corrupt index")

// writeIndex writes the folder's index file (f.mu held): a temporary file renamed over the old
// one, so a reader sees the old index or the new one. It is a cache and is not fsynced: after a
// crash a damaged file fails its checks and the folder is read again. The file is written as it is
// encoded, a block at a time, so writing it costs a block's memory, not the file's.
func (f *folder) writeIndex() error {
	tf, err := os.CreateTemp(filepath.Dir(f.idx), ".idx-*")
	if err != nil {
		return err
	}
	defer os.Remove(tf.Name())
	w := bufio.NewWriterSize(tf, indexHeadRead)
	err = encodeIndex(w, f.stampNew, f.stampCur, f.sorted, f.data)
	if err == nil {
		err = w.Flush()
	}
	if cerr := tf.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	return os.Rename(tf.Name(), f.idx)
}

// encodeIndex writes to w the index file (see indexMagic) of the entries sorted, newest first;
// data is the index file the records of entries without a summary of their own are in.
func encodeIndex(w io.Writer, stampNew, stampCur int64, sorted []*entry, data []byte) error {
	b := []byte(indexMagic)
	b = binary.AppendVarint(b, stampNew)
	b = binary.AppendVarint(b, stampCur)
	b = binary.AppendUvarint(b, uint64(len(sorted)))
	b = binary.BigEndian.AppendUint32(b, crc32.ChecksumIEEE(b))
	if _, err := w.Write(b); err != nil {
		return err
	}
	var recs []byte
	for i := 0; i < len(sorted); i += indexBlockRecords {
		blk := sorted[i:min(i+indexBlockRecords, len(sorted))]
		recs = recs[:0]
		for _, e := range blk {
			recs = appendRecord(recs, e, data)
		}
		b = binary.AppendUvarint(b[:0], uint64(len(blk)))
		b = binary.AppendUvarint(b, uint64(len(recs)))
		sum := crc32.Update(crc32.ChecksumIEEE(b), crc32.IEEETable, recs)
		if _, err := w.Write(b); err != nil {
			return err
		}
		if _, err := w.Write(recs); err != nil {
			return err
		}
		if _, err := w.Write(binary.BigEndian.AppendUint32(b[:0], sum)); err != nil {
			return err
		}
	}
	return nil
}

// appendRecord appends e's record (see indexMagic) to b; data is the index file its record is in
// when it has no summary of its own.
func appendRecord(b []byte, e *entry, data []byte) []byte {
	putS := func(s string) { b = binary.AppendUvarint(b, uint64(len(s))); b = append(b, s...) }
	putS(e.name)
	var bits uint64
	if e.cur {
		bits |= 1
	}
	if e.full == nil {
		// The record as it was read, under the name the message has now: its name and bit 1
		// are the only fields that change without the message being read again.
		d := recordDecoder{data: data, str: unsafe.String(unsafe.SliceData(data), len(data)), p: int(e.off), end: int(e.off) + int(e.n)}
		d.string()
		old := d.uint()
		b = binary.AppendUvarint(b, old&^1|bits)
		return append(b, data[d.p:d.end]...)
	}
	s := e.full
	if s.HasAttachments {
		bits |= 2
	}
	if s.Partial {
		bits |= 4
	}
	if !s.Date.IsZero() {
		bits |= 8
	}
	hasServerSize := s.Partial && validServerSize(s.ServerSize) // what the decoder accepts
	if hasServerSize {
		bits |= 16
	}
	refs := s.References
	if len(refs) > mailview.MaxReferences { // never from Summarize; keep what it would
		refs = append(refs[:1:1], refs[len(refs)-(mailview.MaxReferences-1):]...)
	}
	if len(refs) > 0 {
		bits |= 32
	}
	switch {
	case s.InReplyTo == "":
	case len(refs) > 0 && refs[len(refs)-1] == s.InReplyTo:
		bits |= 128
	default:
		bits |= 64
	}
	b = binary.AppendUvarint(b, bits)
	putS(s.From)
	putS(s.To)
	putS(s.Subject)
	putS(s.MessageID)
	putS(s.Preview)
	putS(s.UIDL)
	if len(refs) > 0 {
		b = binary.AppendUvarint(b, uint64(len(refs)))
		for _, id := range refs {
			putS(id)
		}
	}
	if bits&64 != 0 {
		putS(s.InReplyTo)
	}
	if !s.Date.IsZero() {
		_, off := s.Date.Zone()
		b = binary.AppendVarint(b, s.Date.Unix())
		b = binary.AppendVarint(b, int64(off/60))
	}
	b = binary.AppendVarint(b, s.Received.Unix())
	b = binary.AppendUvarint(b, uint64(s.Size))
	if hasServerSize {
		b = binary.AppendUvarint(b, uint64(s.ServerSize))
	}
	return b
}

// readIndex loads the folder's index file into f (f.mu held). The file is mapped into memory where
// the system allows (readIndexFile), and the pages its decoding read are given back at once: a
// 100,000-message folder's strings, about 29 MB, then take memory only for the messages in use.
func (f *folder) readIndex() error {
	data, mapped, err := readIndexFile(f.idx)
	if err != nil {
		return err
	}
	entries, sn, sc, err := decodeIndex(data, f.name)
	if err != nil {
		if mapped {
			unmapIndexFile(data)
		}
		return err
	}
	if mapped {
		f.s.addMapping(data)
		defer releasePages(data) // after the map below has read every key
	}
	f.data = data
	f.stampNew, f.stampCur = sn, sc
	f.byKey = make(map[string]*entry, len(entries))
	f.unread = 0
	for _, e := range entries {
		f.byKey[e.key()] = e
		if e.flags&FlagSeen == 0 {
			f.unread++
		}
	}
	f.sorted = entries // written newest first
	return nil
}

// indexHeader is the header of an index file.
type indexHeader struct {
	stampNew, stampCur int64
	count              int
	size               int // bytes
}

// decodeIndexHeader parses the header at the start of data, which may be only the start of the
// file.
func decodeIndexHeader(data []byte) (indexHeader, error) {
	if len(data) < len(indexMagic) || string(data[:len(indexMagic)]) != indexMagic {
		return indexHeader{}, errCorruptIndex
	}
	d := recordDecoder{data: data, p: len(indexMagic)}
	h := indexHeader{stampNew: d.int(), stampCur: d.int()}
	count := d.uint()
	if d.bad || count > 1<<40 || d.p+4 > len(data) ||
		crc32.ChecksumIEEE(data[:d.p]) != binary.BigEndian.Uint32(data[d.p:]) {
		return indexHeader{}, errCorruptIndex
	}
	h.count, h.size = int(count), d.p+4
	return h, nil
}

// indexBlock is one block of an index file: its records' bytes, and the number of the first.
type indexBlock struct {
	start, end int // of the records in the file's bytes
	first, n   int
}

// nextBlock checks the block at data[p:] and returns it and the offset after it; first is the
// number of its first record and count the records in the file. ok is false when data ends
// before the block does; err is errCorruptIndex when the block is damaged.
func nextBlock(data []byte, p, first, count int) (blk indexBlock, next int, ok bool, err error) {
	d := recordDecoder{data: data, p: p}
	n, l := d.uint(), d.uint()
	if d.bad {
		if len(data)-p > 2*binary.MaxVarintLen64 {
			return blk, 0, false, errCorruptIndex
		}
		return blk, 0, false, nil // the two uvarints are cut off
	}
	if n != uint64(min(indexBlockRecords, count-first)) || l > 1<<40 {
		return blk, 0, false, errCorruptIndex
	}
	end := d.p + int(l)
	if end+4 > len(data) || end < d.p {
		return blk, 0, false, nil
	}
	if crc32.ChecksumIEEE(data[p:end]) != binary.BigEndian.Uint32(data[end:]) {
		return blk, 0, false, errCorruptIndex
	}
	return indexBlock{start: d.p, end: end, first: first, n: int(n)}, end + 4, true, nil
}

// decodeIndex parses a whole index file, decoding its blocks on every core. Any inconsistency
// is errCorruptIndex, never a panic.
func decodeIndex(data []byte, folderName string) (entries []*entry, stampNew, stampCur int64, err error) {
	h, err := decodeIndexHeader(data)
	if err != nil {
		return nil, 0, 0, err
	}
	if uint64(len(data)) > math.MaxUint32 { // an entry keeps its record's place in 32 bits
		return nil, 0, 0, errCorruptIndex
	}
	if h.count > len(data) {
		return nil, 0, 0, errCorruptIndex // a record takes more than a byte
	}
	var blocks []indexBlock
	p := h.size
	for first := 0; first < h.count; first += indexBlockRecords {
		blk, next, ok, err := nextBlock(data, p, first, h.count)
		if err != nil || !ok {
			return nil, 0, 0, errCorruptIndex
		}
		blocks = append(blocks, blk)
		p = next
	}
	if p != len(data) {
		return nil, 0, 0, errCorruptIndex
	}
	// Every string field is a substring of the file's bytes, which nothing modifies after this
	// point: one allocation for all of them instead of one per field.
	str := unsafe.String(unsafe.SliceData(data), len(data))
	all := make([]entry, h.count)
	var next atomic.Int64
	var failed atomic.Bool
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), len(blocks)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			d := recordDecoder{data: data, str: str, folder: folderName, refChunk: 4096}
			for {
				i := int(next.Add(1)) - 1
				if i >= len(blocks) || failed.Load() {
					return
				}
				if !d.block(blocks[i], all) {
					failed.Store(true)
					return
				}
			}
		}()
	}
	wg.Wait()
	if failed.Load() {
		return nil, 0, 0, errCorruptIndex
	}
	entries = make([]*entry, h.count)
	for i := range all {
		entries[i] = &all[i]
	}
	return entries, h.stampNew, h.stampCur, nil
}

// recordDecoder reads the varints, strings and records of an index file's bytes. A read past
// the end or a malformed value sets bad and returns zero.
type recordDecoder struct {
	data    []byte
	str     string // data as a string, whose substrings the decoded strings are
	p, end  int    // the next byte; the end of the current block (0: the end of data)
	bad     bool
	folder  string
	zones   map[int64]*time.Location
	refPool []string // References of many records share one allocation
	// refChunk is how many References refPool is made room for at once (0: a record's own).
	refChunk int
	scratch  Summary // what entry decodes a record into
}

func (d *recordDecoder) limit() int {
	if d.end > 0 {
		return d.end
	}
	return len(d.data)
}

func (d *recordDecoder) uint() uint64 {
	v, n := binary.Uvarint(d.data[d.p:d.limit()])
	if n <= 0 {
		d.bad = true
		return 0
	}
	d.p += n
	return v
}

// int reads a varint: a uvarint holding the value zig-zag encoded, as binary.AppendVarint writes.
func (d *recordDecoder) int() int64 {
	u := d.uint()
	v := int64(u >> 1)
	if u&1 != 0 {
		v = ^v
	}
	return v
}

func (d *recordDecoder) string() string {
	l := d.uint()
	if d.bad || l > uint64(d.limit()-d.p) {
		d.bad = true
		return ""
	}
	s := d.str[d.p : d.p+int(l)]
	d.p += int(l)
	return s
}

// block decodes the records of blk into all[blk.first:], and reports whether they were whole.
func (d *recordDecoder) block(blk indexBlock, all []entry) bool {
	d.p, d.end = blk.start, blk.end
	for i := range blk.n {
		if !d.entry(&all[blk.first+i]) {
			return false
		}
	}
	return d.p == d.end
}

// entry decodes one record, checking all of it, into e, which keeps the record's place instead of
// its summary, and reports whether it was whole and consistent.
func (d *recordDecoder) entry(e *entry) bool {
	start := d.p
	d.refPool = d.refPool[:0] // the summary is dropped: the next one reuses its References' room
	name, sub, ok := d.record(&d.scratch)
	if !ok {
		return false
	}
	s := &d.scratch
	*e = entry{name: name, cur: sub == "cur", uidl: s.UIDL, date: s.Date.Unix(), recv: s.Received.Unix(),
		off: uint32(start), n: uint32(d.p - start), flags: s.Flags}
	return true
}

// record decodes one record into s, Key, Flags and Folder included, and returns the message's
// file name and subfolder; ok reports whether the record was whole and consistent.
func (d *recordDecoder) record(s *Summary) (name, sub string, ok bool) {
	*s = Summary{}
	name = d.string()
	bits := d.uint()
	sub = "new"
	if bits&1 != 0 {
		sub = "cur"
	}
	s.HasAttachments = bits&2 != 0
	s.Partial = bits&4 != 0
	s.From, s.To, s.Subject, s.MessageID, s.Preview, s.UIDL = d.string(), d.string(), d.string(), d.string(), d.string(), d.string()
	if bits&32 != 0 {
		n := d.uint()
		if n == 0 || n > mailview.MaxReferences {
			return "", "", false
		}
		if cap(d.refPool)-len(d.refPool) < int(n) {
			d.refPool = make([]string, 0, max(int(n), d.refChunk))
		}
		start := len(d.refPool)
		for range n {
			d.refPool = append(d.refPool, d.string())
		}
		s.References = d.refPool[start:len(d.refPool):len(d.refPool)]
	}
	switch bits & (64 | 128) {
	case 64:
		s.InReplyTo = d.string()
	case 128:
		if len(s.References) == 0 {
			return "", "", false
		}
		s.InReplyTo = s.References[len(s.References)-1]
	case 64 | 128:
		return "", "", false
	}
	if bits&8 != 0 {
		sec, off := d.int(), d.int()
		if d.zones == nil {
			d.zones = map[int64]*time.Location{}
		}
		loc, ok := d.zones[off]
		if !ok {
			loc = time.FixedZone("", int(off)*60)
			d.zones[off] = loc
		}
		s.Date = time.Unix(sec, 0).In(loc)
	}
	s.Received = time.Unix(d.int(), 0)
	s.Size = int64(d.uint())
	if bits&16 != 0 {
		n := d.uint()
		if !s.Partial || n == 0 || n > maxServerSize {
			return "", "", false // written only for a partial message, with a size the files can say
		}
		s.ServerSize = int64(n)
	}
	if d.bad || name == "" || strings.ContainsAny(name, "/\x00") {
		return "", "", false
	}
	s.Key, s.Flags = parseName(name)
	if sub == "new" {
		s.Flags = 0
	}
	s.Folder = d.folder
	return name, sub, true
}

// Newest returns the n newest summaries of a folder, in the order of Summaries (all of them when
// n <= 0 or the folder holds fewer). When this Store has not loaded the folder and its index file
// is in step with the folder (neither new/ nor cur/ changed since it was written), Newest reads
// and checks only the start of the index file: what `poplar list --limit N` prints. Otherwise it
// is Summaries cut to n, which reads the folder and brings the index file up to date.
func (s *Store) Newest(folderName string, n int) ([]Summary, error) {
	if n > 0 {
		if sums, ok := s.newestFromIndex(folderName, n); ok {
			return sums, nil
		}
	}
	sums, err := s.Summaries(folderName)
	if err != nil {
		return nil, err
	}
	if n > 0 && len(sums) > n {
		sums = sums[:n:n]
	}
	return sums, nil
}

// indexHeadRead is how much of an index file readIndexHead reads at a time.
const indexHeadRead = 64 << 10

// newestFromIndex is Newest from the start of the index file; ok is false when that cannot be
// trusted or does not apply (the folder is loaded here, the file is missing, damaged or behind
// the folder), and Newest takes the long way.
func (s *Store) newestFromIndex(folderName string, n int) (sums []Summary, ok bool) {
	if folderName == "" {
		folderName = Inbox
	}
	ok = s.readInStepIndex(folderName, func(fh *os.File) (h indexHeader, err error) {
		h, sums, err = readIndexHead(fh, folderName, n)
		return h, err
	})
	return sums, ok
}

// readIndexHead reads the header and the first n summaries (fewer when the file holds fewer) of
// the index file r, checking the header and every block it reads, but reading no further block.
func readIndexHead(r io.ReaderAt, folderName string, n int) (indexHeader, []Summary, error) {
	data := make([]byte, 0, indexHeadRead)
	// more reads the next part of the file into data; false at the end of the file or on an
	// error. It writes only past the bytes read so far (into a new array when data grows), so
	// strings that share them stay as they are.
	more := func() bool {
		if cap(data)-len(data) < indexHeadRead/2 {
			data = append(data[:cap(data)], make([]byte, cap(data))...)[:len(data)]
		}
		k, err := r.ReadAt(data[len(data):cap(data)], int64(len(data)))
		data = data[:len(data)+k]
		return k > 0 && (err == nil || err == io.EOF)
	}
	if !more() {
		return indexHeader{}, nil, errCorruptIndex
	}
	h, err := decodeIndexHeader(data)
	if err != nil {
		return indexHeader{}, nil, err
	}
	want := min(max(n, 0), h.count)
	all := make([]Summary, want)
	pos := h.size
	for first := 0; first < want; {
		blk, next, whole, err := nextBlock(data, pos, first, h.count)
		if err != nil {
			return indexHeader{}, nil, err
		}
		if !whole {
			if !more() {
				return indexHeader{}, nil, errCorruptIndex
			}
			continue
		}
		d := recordDecoder{data: data, str: unsafe.String(unsafe.SliceData(data), len(data)), folder: folderName}
		d.p, d.end = blk.start, blk.end
		for i := range min(blk.n, want-first) {
			if _, _, ok := d.record(&all[first+i]); !ok {
				return indexHeader{}, nil, errCorruptIndex
			}
		}
		first += blk.n
		pos = next
	}
	return h, all, nil
}

// summary returns the summary of e, one of f's entries: its own, or its record decoded from the
// folder's index file, with its key, flags and folder now. It reads e, so f.mu is held.
func (f *folder) summary(e *entry) Summary {
	return decodeSummary(&recordDecoder{}, f.data, f.name, e)
}

// summaries returns the summaries of es, entries of f, in their order (a zero Summary for nil),
// decoding them on every core when they are many. f.mu is held.
func (f *folder) summaries(es []*entry) []Summary {
	in := listed{f.name, f.data}
	return decodeSummaries(len(es), func(i int) (*listed, *entry) { return &in, es[i] })
}

// decodeSummaries returns the summaries of n entries (a zero Summary for nil), each with the
// folder it is in as at gives them, decoding them on every core when they are many.
func decodeSummaries(n int, at func(i int) (*listed, *entry)) []Summary {
	out := make([]Summary, n)
	parts := 1
	if n >= parallelSortMin {
		parts = runtime.GOMAXPROCS(0)
	}
	var wg sync.WaitGroup
	for p := range parts {
		wg.Go(func() {
			d := recordDecoder{refChunk: 4096}
			for i := p * n / parts; i < (p+1)*n/parts; i++ {
				if f, e := at(i); e != nil {
					out[i] = decodeSummary(&d, f.data, f.name, e)
				}
			}
		})
	}
	wg.Wait()
	return out
}

// decodeSummary is folder.summary for a folder called folderName whose index file was data,
// decoding through d (whose References room and time zones it reuses).
func decodeSummary(d *recordDecoder, data []byte, folderName string, e *entry) Summary {
	var s Summary
	if e.full != nil {
		s = *e.full
	} else {
		d.data, d.str, d.folder = data, unsafe.String(unsafe.SliceData(data), len(data)), folderName
		d.p, d.end, d.bad = int(e.off), int(e.off)+int(e.n), false
		if _, _, ok := d.record(&s); !ok {
			// Checked when the file was read, and the file is never written in place: only
			// another program writing into it could do this. Keep what the entry knows.
			s = Summary{UIDL: e.uidl, Received: e.received()}
			if e.date != (time.Time{}).Unix() {
				s.Date = time.Unix(e.date, 0)
			}
		}
	}
	s.Key, s.Flags, s.Folder = e.key(), e.flags, folderName
	return s
}
