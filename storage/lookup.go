package storage

import (
	"bufio"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"unsafe"
)

// SummariesOf returns the summaries of the messages keys of a folder, in the order of keys: the
// summary of keys[i] is at index i, and a key the folder does not hold gives a zero Summary (Key
// ""). It picks up changes made by other programs, as Summaries does, and costs one look at the
// folder however many keys it is given (Summary looks at it for each).
//
// When this Store has not loaded the folder and its index file is in step with it (neither new/
// nor cur/ changed since the file was written, as Newest checks), SummariesOf reads the index file
// from its start only until it has found every key, decoding only their records: a search's
// newest hits are near the start. Otherwise, and when it is given a quarter of the folder's keys
// or more (their records are all over the file, and the next such call would read it all again),
// it loads the folder, as Summaries does.
func (s *Store) SummariesOf(folderName string, keys []string) ([]Summary, error) {
	if folderName == "" {
		folderName = Inbox
	}
	if len(keys) == 0 {
		return nil, nil
	}
	if sums, ok := s.summariesFromIndex(folderName, keys); ok {
		return sums, nil
	}
	f, err := s.folder(folderName)
	if err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.summaries(f.entriesOf(keys)), nil
}

// walkShare: SummariesOf walks along the folder's order (find) when it is given at least
// 1/walkShare of the folder's keys; fewer keys are far apart in it, and a map lookup each is
// cheaper than walking and finding the place again.
const walkShare = 4

// findAhead is how many entries of the folder's order find looks at before it takes the map.
const findAhead = 8

// find returns the entry of key (nil when the folder lacks it), looking first at the entries
// from *next on in the folder's order (newest first), then in the map, and moves *next past it.
// Keys asked for in about the folder's order, as a search's hits are (newest first, by date),
// are found by a walk along f.sorted, which reads memory in order, instead of a map lookup each
// (a third of SummariesOf's time for 100,000 keys, most of it cache misses). f.mu is held.
func (f *folder) find(key string, next *int) *entry {
	for j := *next; j < min(*next+findAhead, len(f.sorted)); j++ {
		if e := f.sorted[j]; strings.HasPrefix(e.name, key) && e.key() == key { // most differ early
			*next = j + 1
			return e
		}
	}
	e, ok := f.byKey[key]
	if !ok {
		return nil
	}
	// Start the next walk after it: its place in the order, found by binary search.
	if j, found := slices.BinarySearchFunc(f.sorted, e, func(x, y *entry) int {
		switch {
		case x == y:
			return 0
		case newer(x, y):
			return -1
		}
		return 1
	}); found {
		*next = j + 1
	}
	return e
}

// lookupRead is the buffer through which summariesFromIndex reads an index file.
const lookupRead = 256 << 10

// errManyKeys: readIndexKeys was asked for so many of the folder's keys (1/walkShare or more)
// that loading the folder is the better way.
var errManyKeys = errors.New("storage: many keys: load the folder")

// summariesFromIndex is SummariesOf from the index file; ok is false when that cannot be trusted
// or does not apply (the folder is loaded here; the file is missing, damaged or behind the
// folder), and SummariesOf takes the long way.
func (s *Store) summariesFromIndex(folderName string, keys []string) (sums []Summary, ok bool) {
	ok = s.readInStepIndex(folderName, func(fh *os.File) (h indexHeader, err error) {
		h, sums, err = readIndexKeys(fh, folderName, keys)
		return h, err
	})
	return sums, ok
}

// readInStepIndex opens the index file of folder folderName, which this Store has not loaded, and
// passes it to read. It reports whether read succeeded and the file was in step with the folder
// (its stamps, in the header read returns, are the folder's new/ and cur/ times after the read),
// so that what read decoded can be trusted. It is false when the folder is loaded here.
func (s *Store) readInStepIndex(folderName string, read func(fh *os.File) (indexHeader, error)) bool {
	s.mu.Lock()
	_, cached := s.folders[folderName]
	s.mu.Unlock()
	if cached {
		return false
	}
	p, err := s.folderPath(folderName)
	if err != nil {
		return false
	}
	fh, err := os.Open(s.indexPath(folderName))
	if err != nil {
		return false
	}
	defer fh.Close()
	h, err := read(fh)
	if err != nil {
		return false
	}
	// The index is in step when the folder's stamps are those it was written with.
	sn, err1 := mtime(filepath.Join(p, "new"))
	sc, err2 := mtime(filepath.Join(p, "cur"))
	return err1 == nil && err2 == nil && sn == h.stampNew && sc == h.stampCur
}

// readIndexKeys reads the index file r block by block, checking each, until it has the records of
// every key (or to its end), and returns the header and the summaries of keys in their order (a
// zero Summary for a key it does not hold). Only the blocks that hold a key are kept in memory.
func readIndexKeys(r io.Reader, folderName string, keys []string) (indexHeader, []Summary, error) {
	want := make(map[string]int, len(keys)) // key → its first index in keys
	for i, k := range keys {
		if _, ok := want[k]; !ok {
			want[k] = i
		}
	}
	sums := make([]Summary, len(keys))
	br := bufio.NewReaderSize(r, lookupRead)
	head, err := br.Peek(min(br.Size(), len(indexMagic)+3*binary.MaxVarintLen64+4))
	if err != nil && err != io.EOF && err != bufio.ErrBufferFull {
		return indexHeader{}, nil, errCorruptIndex
	}
	h, err := decodeIndexHeader(head)
	if err != nil {
		return indexHeader{}, nil, err
	}
	if len(want) > 1 && len(want) >= h.count/walkShare {
		return indexHeader{}, nil, errManyKeys
	}
	br.Discard(h.size)
	var (
		blk     []byte  // the block being read: its two uvarints, its records and its CRC
		scratch Summary // a record skimmed for its key
		hits    []int   // of the block's records, the numbers of those wanted
	)
	left := len(want)
	for first := 0; first < h.count && left > 0; first += indexBlockRecords {
		n, err1 := binary.ReadUvarint(br)
		l, err2 := binary.ReadUvarint(br)
		if err1 != nil || err2 != nil || n != uint64(min(indexBlockRecords, h.count-first)) || l > 1<<30 {
			return indexHeader{}, nil, errCorruptIndex
		}
		blk = binary.AppendUvarint(binary.AppendUvarint(blk[:0], n), l)
		start := len(blk)
		blk = append(blk, make([]byte, int(l)+4)...)
		if _, err := io.ReadFull(br, blk[start:]); err != nil {
			return indexHeader{}, nil, errCorruptIndex
		}
		end := len(blk) - 4
		if crc32.ChecksumIEEE(blk[:end]) != binary.BigEndian.Uint32(blk[end:]) {
			return indexHeader{}, nil, errCorruptIndex
		}
		// Skim the records for their keys; the strings of scratch point into blk, which is
		// reused, and are dropped.
		d := recordDecoder{data: blk, str: unsafe.String(unsafe.SliceData(blk), len(blk)), folder: folderName, p: start, end: end}
		hits = hits[:0]
		for i := range int(n) {
			d.refPool = d.refPool[:0]
			if _, _, ok := d.record(&scratch); !ok {
				return indexHeader{}, nil, errCorruptIndex
			}
			if _, ok := want[scratch.Key]; ok {
				hits = append(hits, i)
			}
		}
		if d.p != end {
			return indexHeader{}, nil, errCorruptIndex
		}
		if len(hits) == 0 {
			continue
		}
		// Decode the wanted records again from a copy of the block that their strings keep.
		kept := string(blk[:end])
		d = recordDecoder{data: unsafe.Slice(unsafe.StringData(kept), len(kept)), str: kept, folder: folderName, p: start, end: end}
		next := 0
		for i := range int(n) {
			var e Summary
			if _, _, ok := d.record(&e); !ok {
				return indexHeader{}, nil, errCorruptIndex
			}
			if next < len(hits) && hits[next] == i {
				next++
				if k := want[e.Key]; sums[k].Key == "" {
					sums[k] = e
					left--
				}
			}
		}
	}
	for i, k := range keys {
		if j := want[k]; j != i {
			sums[i] = sums[j] // a key given twice
		}
	}
	return h, sums, nil
}
