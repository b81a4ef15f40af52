package search

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"slices"
	"sort"
	"strings"

	"github.com/poplar-mail/poplar/storage/internal/mmapfile"
)

// A segment is an immutable file of postings: for each term (a field byte and the term's text),
// the documents it occurs in and its positions there. Documents are numbered across the index;
// a segment holds the postings of the documents added when it was written (or of the segments
// merged into it), in document order. Deleted documents stay in a segment's postings until it is
// merged; the document table (docs.go) says which are live.
//
// File layout:
//
//	magic "PSEG1\n\x00\x00"
//	postings: per term, its document list then its positions
//	dictionary: per term in byte order: uvarint key length, key, uvarint offset of its postings,
//	            uvarint document count, uvarint document list bytes, uvarint position bytes
//	index: per term a uint32 (little-endian): offset of its dictionary entry from the dictionary
//	footer: uint64 dictionary offset, uint64 index offset, uint64 term count, uint32 CRC-32 of
//	        those 24 bytes, "PEND"
//
// A document list is, per document, a uvarint of its number (the first) or of the difference
// from the one before, then a uvarint of the bytes of its positions. Positions are uvarints of
// the difference from the one before (the first from 0).
const segMagic = "PSEG1\n\x00\x00"

const footerLen = 32

// errDamaged is a damaged index file: the index is made again.
var errDamaged = errors.New("search: the index is damaged")

// plist is the postings of one term being built.
type plist struct {
	docs, pos []byte
	last      uint32
	n         uint32
}

// builder collects the postings of documents in memory until they are written as a segment.
type builder struct {
	terms map[string]*plist
	bytes int // about how much memory the postings take
	docs  int
}

func newBuilder() *builder { return &builder{terms: map[string]*plist{}} }

// add adds the postings of document doc; documents must come in increasing order.
func (b *builder) add(doc uint32, d *docTerms) {
	for i, k := range d.keys {
		p := b.terms[k]
		if p == nil {
			p = &plist{}
			b.terms[strings.Clone(k)] = p // k shares its array with the document's other keys
			b.bytes += len(k) + 64
		}
		pos := d.pos[d.ends[i]:d.ends[i+1]]
		delta := doc
		if p.n > 0 {
			delta = doc - p.last
		}
		l0 := len(p.docs) + len(p.pos)
		p.docs = binary.AppendUvarint(p.docs, uint64(delta))
		p.docs = binary.AppendUvarint(p.docs, uint64(len(pos)))
		p.pos = append(p.pos, pos...)
		p.last = doc
		p.n++
		b.bytes += len(p.docs) + len(p.pos) - l0
	}
	b.docs++
}

// dictEntry is a term's entry in a segment's dictionary.
type dictEntry struct {
	key                    []byte
	off, n, docLen, posLen uint64
}

// segWriter writes a segment file.
type segWriter struct {
	f    *os.File
	w    *bufio.Writer
	off  uint64
	dict []byte
	idx  []byte
	n    uint64
	err  error
}

func createSegment(path string) (*segWriter, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return nil, fmt.Errorf("search: %w", err)
	}
	w := &segWriter{f: f, w: bufio.NewWriterSize(f, 256<<10)}
	w.write([]byte(segMagic))
	return w, nil
}

func (w *segWriter) write(b []byte) {
	if w.err == nil {
		_, w.err = w.w.Write(b)
		w.off += uint64(len(b))
	}
}

// term writes one term's postings (documents, then positions).
func (w *segWriter) term(key []byte, n uint64, docs, pos []byte) {
	w.idx = binary.LittleEndian.AppendUint32(w.idx, uint32(len(w.dict)))
	w.dict = binary.AppendUvarint(w.dict, uint64(len(key)))
	w.dict = append(w.dict, key...)
	w.dict = binary.AppendUvarint(w.dict, w.off)
	w.dict = binary.AppendUvarint(w.dict, n)
	w.dict = binary.AppendUvarint(w.dict, uint64(len(docs)))
	w.dict = binary.AppendUvarint(w.dict, uint64(len(pos)))
	w.write(docs)
	w.write(pos)
	w.n++
}

// finish writes the dictionary, index and footer, and syncs and closes the file.
func (w *segWriter) finish() error {
	dictOff := w.off
	w.write(w.dict)
	idxOff := w.off
	w.write(w.idx)
	var foot []byte
	foot = binary.LittleEndian.AppendUint64(foot, dictOff)
	foot = binary.LittleEndian.AppendUint64(foot, idxOff)
	foot = binary.LittleEndian.AppendUint64(foot, w.n)
	foot = binary.LittleEndian.AppendUint32(foot, crc32.ChecksumIEEE(foot))
	foot = append(foot, "PEND"...)
	w.write(foot)
	if w.err == nil && len(w.dict) > 1<<32-1 {
		w.err = errors.New("search: segment too large")
	}
	if w.err == nil {
		w.err = w.w.Flush()
	}
	if w.err == nil {
		w.err = w.f.Sync()
	}
	if err := w.f.Close(); w.err == nil {
		w.err = err
	}
	if w.err != nil {
		os.Remove(w.f.Name())
		return fmt.Errorf("search: writing %s: %w", w.f.Name(), w.err)
	}
	return nil
}

// writeSegment writes the postings of b to a new file at path.
func writeSegment(path string, b *builder) error {
	keys := make([]string, 0, len(b.terms))
	for k := range b.terms {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	w, err := createSegment(path)
	if err != nil {
		return err
	}
	for _, k := range keys {
		p := b.terms[k]
		w.term([]byte(k), uint64(p.n), p.docs, p.pos)
	}
	return w.finish()
}

// segment is an open (memory-mapped, read-only) segment file.
type segment struct {
	name    string
	data    []byte
	dict    []byte
	idx     []byte
	nTerms  int
	dictOff uint64
}

// openSegment maps a segment file and checks its frame; entries are checked as they are read.
func openSegment(path, name string) (*segment, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	size := fi.Size()
	if size < int64(len(segMagic)+footerLen) || size > 1<<40 {
		return nil, errDamaged
	}
	data, err := mmapfile.Map(f, size)
	if err != nil {
		return nil, fmt.Errorf("search: mapping %s: %w", name, err)
	}
	s := &segment{name: name, data: data}
	if err := s.check(); err != nil {
		s.close()
		return nil, err
	}
	return s, nil
}

func (s *segment) check() error {
	d := s.data
	foot := d[len(d)-footerLen:]
	if string(d[:len(segMagic)]) != segMagic || string(foot[28:]) != "PEND" ||
		binary.LittleEndian.Uint32(foot[24:]) != crc32.ChecksumIEEE(foot[:24]) {
		return errDamaged
	}
	dictOff := binary.LittleEndian.Uint64(foot)
	idxOff := binary.LittleEndian.Uint64(foot[8:])
	n := binary.LittleEndian.Uint64(foot[16:])
	end := uint64(len(d) - footerLen)
	if dictOff < uint64(len(segMagic)) || dictOff > idxOff || idxOff > end || (end-idxOff) != 4*n {
		return errDamaged
	}
	s.dict, s.idx, s.nTerms, s.dictOff = d[dictOff:idxOff], d[idxOff:end], int(n), dictOff
	return nil
}

func (s *segment) close() {
	if s.data != nil {
		mmapfile.Unmap(s.data)
		s.data = nil
	}
}

// entry decodes the dictionary entry of term i.
func (s *segment) entry(i int) (dictEntry, error) {
	off := uint64(binary.LittleEndian.Uint32(s.idx[4*i:]))
	if off >= uint64(len(s.dict)) {
		return dictEntry{}, errDamaged
	}
	b := s.dict[off:]
	var e dictEntry
	l, n := binary.Uvarint(b)
	if n <= 0 || l > uint64(len(b)-n) {
		return e, errDamaged
	}
	e.key, b = b[n:n+int(l)], b[n+int(l):]
	for _, v := range []*uint64{&e.off, &e.n, &e.docLen, &e.posLen} {
		x, n := binary.Uvarint(b)
		if n <= 0 {
			return e, errDamaged
		}
		*v, b = x, b[n:]
	}
	if e.off < uint64(len(segMagic)) || e.docLen > s.dictOff || e.posLen > s.dictOff || e.off+e.docLen+e.posLen > s.dictOff {
		return e, errDamaged
	}
	return e, nil
}

// postings returns the document list and positions of an entry.
func (s *segment) postings(e dictEntry) (docs, pos []byte) {
	return s.data[e.off : e.off+e.docLen], s.data[e.off+e.docLen : e.off+e.docLen+e.posLen]
}

// search returns the index of the first term >= key.
func (s *segment) search(key []byte) (int, error) {
	var err error
	i := sort.Search(s.nTerms, func(i int) bool {
		e, eerr := s.entry(i)
		if eerr != nil {
			err = eerr
			return true
		}
		return bytes.Compare(e.key, key) >= 0
	})
	return i, err
}

// lookup returns the entry of key, ok false when the segment does not have it.
func (s *segment) lookup(key []byte) (dictEntry, bool, error) {
	i, err := s.search(key)
	if err != nil || i >= s.nTerms {
		return dictEntry{}, false, err
	}
	e, err := s.entry(i)
	if err != nil {
		return e, false, err
	}
	return e, bytes.Equal(e.key, key), nil
}

// docIter walks a document list.
type docIter struct {
	b      []byte
	doc    uint32
	posLen uint64
	posOff uint64 // offset of this document's positions
	first  bool
	err    error
}

func newDocIter(b []byte) docIter { return docIter{b: b, first: true} }

// next moves to the next document; false at the end or on damage (err set).
func (it *docIter) next() bool {
	if len(it.b) == 0 {
		return false
	}
	d, n := binary.Uvarint(it.b)
	if n <= 0 {
		it.err = errDamaged
		return false
	}
	pl, m := binary.Uvarint(it.b[n:])
	if m <= 0 {
		it.err = errDamaged
		return false
	}
	it.b = it.b[n+m:]
	it.posOff += it.posLen
	if it.first {
		it.doc, it.first = uint32(d), false
	} else {
		it.doc += uint32(d)
	}
	it.posLen = pl
	return true
}

// positions decodes a document's positions into dst.
func positions(dst []uint32, b []byte) ([]uint32, error) {
	dst = dst[:0]
	var p uint32
	var err error
	for len(b) > 0 {
		if b, p, err = nextPos(b, p); err != nil {
			return dst, err
		}
		dst = append(dst, p)
	}
	return dst, nil
}

// nextPos reads from b the position after p (positions are differences from the one before,
// the first from 0) and returns the rest of b.
func nextPos(b []byte, p uint32) ([]byte, uint32, error) {
	v, n := binary.Uvarint(b)
	if n <= 0 {
		return b, p, errDamaged
	}
	return b[n:], p + uint32(v), nil
}

// mergeSegments writes the live postings of segs (in document order) into a new segment at path.
func mergeSegments(path string, segs []*segment, live func(doc uint32) bool) error {
	w, err := createSegment(path)
	if err != nil {
		return err
	}
	next := make([]int, len(segs))
	entries := make([]dictEntry, len(segs))
	has := make([]bool, len(segs))
	load := func(i int) error {
		has[i] = next[i] < segs[i].nTerms
		if has[i] {
			entries[i], err = segs[i].entry(next[i])
		}
		return err
	}
	for i := range segs {
		if err := load(i); err != nil {
			w.err = err
			return w.finish()
		}
	}
	var docs, pos []byte
	for {
		var key []byte
		for i := range segs {
			if has[i] && (key == nil || bytes.Compare(entries[i].key, key) < 0) {
				key = entries[i].key
			}
		}
		if key == nil {
			break
		}
		key = bytes.Clone(key)
		docs, pos = docs[:0], pos[:0]
		var n uint64
		var last uint32
		for i, s := range segs {
			if !has[i] || !bytes.Equal(entries[i].key, key) {
				continue
			}
			d, p := s.postings(entries[i])
			it := newDocIter(d)
			for it.next() {
				if it.posOff+it.posLen > uint64(len(p)) {
					it.err = errDamaged
					break
				}
				if !live(it.doc) {
					continue
				}
				delta := it.doc
				if n > 0 {
					delta = it.doc - last
				}
				docs = binary.AppendUvarint(docs, uint64(delta))
				docs = binary.AppendUvarint(docs, it.posLen)
				pos = append(pos, p[it.posOff:it.posOff+it.posLen]...)
				last = it.doc
				n++
			}
			if it.err != nil {
				w.err = it.err
				return w.finish()
			}
			next[i]++
			if err := load(i); err != nil {
				w.err = err
				return w.finish()
			}
		}
		if n > 0 {
			w.term(key, n, docs, pos)
		}
	}
	return w.finish()
}
