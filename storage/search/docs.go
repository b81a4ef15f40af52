package search

import (
	"cmp"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
	"unsafe"

	"github.com/poplar-mail/poplar/storage"
)

// docsMagic starts the document table; a table of another version is made again.
const docsMagic = "poplar-search 4\n"

// docsFile is the document table's name in the index folder: the index's commit point. It names
// the segments in use; a segment not named is left over and removed by the next Update.
const docsFile = "docs"

// docInfo is what the index knows of a document besides its words. Its fields are in the order
// that packs it into 40 bytes (48 in declaration order by meaning): the table holds one per
// message, 4 MB at 100,000 (TestDocInfoSize).
type docInfo struct {
	key    string
	size   int64
	date   int64  // Unix seconds: Date, else arrival
	folder uint32 // index into table.folders
	flags  storage.Flags
	attach bool
	live   bool
}

// segInfo names a segment and the documents it was written with.
type segInfo struct {
	name   string
	lo, hi uint32 // documents lo to hi-1
	n      uint32 // how many of them it holds (were live when it was written)
}

// table is the document table: every document number given out, which are live, in what
// order they are listed (newest first), and the segments holding their words.
type table struct {
	docs    []docInfo
	folders []string
	segs    []segInfo
	order   []uint32 // live documents, newest first
	stamp   string   // the Maildir's directories when the table was last brought in step ("" = unknown)
}

// folderIndex returns the number of a folder name, adding it when new.
func (t *table) folderIndex(name string) uint32 {
	for i, f := range t.folders {
		if f == name {
			return uint32(i)
		}
	}
	t.folders = append(t.folders, name)
	return uint32(len(t.folders) - 1)
}

// liveIn counts the live documents of a segment.
func (t *table) liveIn(si segInfo) int {
	n := 0
	for d := si.lo; d < si.hi; d++ {
		if t.docs[d].live {
			n++
		}
	}
	return n
}

// clone returns a copy that can be changed without changing t.
func (t *table) clone() *table {
	return &table{
		docs:    append([]docInfo(nil), t.docs...),
		folders: append([]string(nil), t.folders...),
		segs:    append([]segInfo(nil), t.segs...),
		stamp:   t.stamp,
	}
}

// sortOrder lists the live documents newest first (by date, then the later added).
func (t *table) sortOrder() {
	t.order = t.order[:0]
	for i, d := range t.docs {
		if d.live {
			t.order = append(t.order, uint32(i))
		}
	}
	docs := t.docs
	slices.SortFunc(t.order, func(a, b uint32) int {
		if c := cmp.Compare(docs[b].date, docs[a].date); c != 0 {
			return c
		}
		return cmp.Compare(b, a)
	})
}

// encode is the file form of the table: magic, the Maildir stamp, document count, folders,
// segments, the live documents newest first, and a CRC-32 of everything before it.
func (t *table) encode() []byte {
	b := make([]byte, 0, 64+len(t.order)*48)
	b = append(b, docsMagic...)
	putS := func(s string) { b = binary.AppendUvarint(b, uint64(len(s))); b = append(b, s...) }
	putS(t.stamp)
	b = binary.AppendUvarint(b, uint64(len(t.docs)))
	b = binary.AppendUvarint(b, uint64(len(t.folders)))
	for _, f := range t.folders {
		putS(f)
	}
	b = binary.AppendUvarint(b, uint64(len(t.segs)))
	for _, s := range t.segs {
		putS(s.name)
		b = binary.AppendUvarint(b, uint64(s.lo))
		b = binary.AppendUvarint(b, uint64(s.hi))
		b = binary.AppendUvarint(b, uint64(s.n))
	}
	b = binary.AppendUvarint(b, uint64(len(t.order)))
	for _, i := range t.order {
		d := t.docs[i]
		b = binary.AppendUvarint(b, uint64(i))
		b = binary.AppendUvarint(b, uint64(d.folder))
		putS(d.key)
		b = binary.AppendUvarint(b, uint64(d.flags))
		b = binary.AppendUvarint(b, uint64(d.size))
		b = binary.AppendVarint(b, d.date)
		if d.attach {
			b = append(b, 1)
		} else {
			b = append(b, 0)
		}
	}
	return binary.LittleEndian.AppendUint32(b, crc32.ChecksumIEEE(b))
}

// decodeTable reads a table; anything wrong is errDamaged.
func decodeTable(data []byte) (*table, error) {
	if len(data) < len(docsMagic)+4 || string(data[:len(docsMagic)]) != docsMagic {
		return nil, errDamaged
	}
	body := data[:len(data)-4]
	if crc32.ChecksumIEEE(body) != binary.LittleEndian.Uint32(data[len(data)-4:]) {
		return nil, errDamaged
	}
	b := body[len(docsMagic):]
	// Strings are cut from data while it is decoded; the keys are then copied into one buffer of
	// their own (100,000 keys: one allocation, and only the keys' bytes kept).
	str := unsafe.String(unsafe.SliceData(b), len(b))
	bad := false
	getU := func() uint64 {
		v, n := binary.Uvarint(b)
		if n <= 0 {
			bad = true
			return 0
		}
		b = b[n:]
		return v
	}
	getS := func() string {
		l := getU()
		if bad || l > uint64(len(b)) {
			bad = true
			return ""
		}
		off := len(str) - len(b)
		b = b[l:]
		return str[off : off+int(l)]
	}
	stamp := getS()
	nDocs := getU()
	if bad || nDocs > 1<<31 || nDocs > uint64(len(data))*64 {
		return nil, errDamaged
	}
	t := &table{docs: make([]docInfo, nDocs), stamp: stamp}
	nf := getU()
	for i := uint64(0); i < nf && !bad; i++ {
		t.folders = append(t.folders, getS())
	}
	ns := getU()
	for i := uint64(0); i < ns && !bad; i++ {
		s := segInfo{name: getS(), lo: uint32(getU()), hi: uint32(getU()), n: uint32(getU())}
		if s.name == "" || strings.ContainsAny(s.name, `/\`) || s.name == docsFile || s.lo > s.hi || uint64(s.hi) > nDocs || s.n > s.hi-s.lo {
			bad = true
		}
		t.segs = append(t.segs, s)
	}
	nl := getU()
	if nl > nDocs {
		return nil, errDamaged
	}
	t.order = make([]uint32, 0, nl)
	for i := uint64(0); i < nl && !bad; i++ {
		n := getU()
		d := docInfo{folder: uint32(getU()), key: getS(), flags: storage.Flags(getU()), size: int64(getU()), live: true}
		v, k := binary.Varint(b)
		if k <= 0 || len(b) < k+1 || n >= nDocs || uint64(d.folder) >= uint64(len(t.folders)) || t.docs[n].live {
			return nil, errDamaged
		}
		d.date, d.attach, b = v, b[k] == 1, b[k+1:]
		t.docs[n] = d
		t.order = append(t.order, uint32(n))
	}
	if bad || len(b) != 0 {
		return nil, errDamaged
	}
	t.stamp = strings.Clone(t.stamp)
	for i := range t.folders {
		t.folders[i] = strings.Clone(t.folders[i])
	}
	for i := range t.segs {
		t.segs[i].name = strings.Clone(t.segs[i].name)
	}
	n := 0
	for _, d := range t.docs {
		n += len(d.key)
	}
	keys := make([]byte, 0, n)
	for i := range t.docs {
		d := &t.docs[i]
		if d.key == "" {
			continue
		}
		start := len(keys)
		keys = append(keys, d.key...)
		d.key = unsafe.String(unsafe.SliceData(keys[start:]), len(d.key))
	}
	return t, nil
}

// writeTable writes the table into dir atomically (a temporary file, synced, renamed, and the
// folder synced).
func writeTable(dir string, t *table) error {
	tmp, err := os.CreateTemp(dir, ".docs-*")
	if err != nil {
		return fmt.Errorf("search: %w", err)
	}
	_, err = tmp.Write(t.encode())
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), filepath.Join(dir, docsFile))
	}
	if err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("search: writing the document table: %w", err)
	}
	syncDir(dir)
	return nil
}

// syncDir makes a rename in dir durable; a failure only loses the rename after a crash, which
// the next Update repairs.
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
}

// docDate is the date a message is sorted and filtered by.
func docDate(s storage.Summary) int64 {
	if !s.Date.IsZero() {
		return s.Date.Unix()
	}
	if !s.Received.IsZero() {
		return s.Received.Unix()
	}
	return time.Time{}.Unix()
}

// maildirStamp describes the directories of the Maildir at root (the top one, and each folder's
// cur/ and new/): any delivery, move, flag change or deletion, by any program, changes one of
// them. ok is false when a directory changed so recently that a change in the same clock tick
// could follow unseen: then the stamp is not to be trusted next time.
func maildirStamp(root string) (stamp string, ok bool) {
	md := filepath.Join(root, "Maildir")
	var b strings.Builder
	ok = true
	now := time.Now()
	add := func(rel string) {
		st, found := stampOf(filepath.Join(md, rel))
		if !found {
			fmt.Fprintf(&b, "%s -\n", rel)
			return
		}
		if now.Sub(time.Unix(0, st.mtime)) < 2*time.Second {
			ok = false
		}
		fmt.Fprintf(&b, "%s %d %d\n", rel, st.ino, st.mtime)
	}
	add(".")
	add("cur")
	add("new")
	des, err := os.ReadDir(md)
	if err != nil {
		return "", false
	}
	for _, de := range des {
		if strings.HasPrefix(de.Name(), ".") && de.IsDir() {
			add(filepath.Join(de.Name(), "cur"))
			add(filepath.Join(de.Name(), "new"))
		}
	}
	return b.String(), ok
}
