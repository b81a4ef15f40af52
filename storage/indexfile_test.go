package storage

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
	"unsafe"
)

// foreignFolder writes n messages into the Inbox of the store at dir as another program would:
// the newest tenth in new/, the rest read in cur/; message i is dated i minutes after a fixed
// time, so the newest is n-1. Every third is a reply with References.
func foreignFolder(t testing.TB, dir string, n int) {
	t.Helper()
	md := filepath.Join(dir, "Maildir")
	for i := range n {
		refs := ""
		if i%3 == 1 {
			refs = fmt.Sprintf("In-Reply-To: <%d@x>\nReferences: <0@x> <%d@x>\n", i-1, i-1)
		}
		date := time.Date(2024, 1, 1, 0, i, 0, 0, time.FixedZone("", 3600)).Format(time.RFC1123Z)
		m := fmt.Sprintf("From: Sender %d <s@x>\nSubject: message %d\nDate: %s\nMessage-ID: <%d@x>\n%s\nbody %d\n", i, i, date, i, refs, i)
		name := fmt.Sprintf("%d.M%dP1.other", 1700000000+i, i)
		sub := "new"
		if i < n-n/10 {
			sub, name = "cur", name+":2,S"
		}
		if err := os.WriteFile(filepath.Join(md, sub, name), []byte(m), 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

// summariesOf returns the Inbox's summaries as a fresh Store reads them.
func summariesOf(t *testing.T, dir string) []Summary {
	t.Helper()
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	sums, err := s.Summaries(Inbox)
	if err != nil {
		t.Fatal(err)
	}
	return sums
}

// TestNewestIsSummariesCut: Newest(n) is the first n of Summaries, from the start of the index
// file in a fresh Store, and from memory in a Store that has the folder loaded, for n around the
// block size.
func TestNewestIsSummariesCut(t *testing.T) {
	dir := openStore(t).Dir()
	foreignFolder(t, dir, 300)
	all := summariesOf(t, dir) // writes the index at Close
	if len(all) != 300 || all[0].Subject != "message 299" {
		t.Fatalf("Summaries: %d, first %q", len(all), all[0].Subject)
	}
	for _, n := range []int{0, 1, 20, indexBlockRecords - 1, indexBlockRecords, indexBlockRecords + 1, 299, 300, 1000} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			want := all
			if n > 0 && n < len(all) {
				want = all[:n]
			}
			fresh, err := Open(dir)
			if err != nil {
				t.Fatal(err)
			}
			defer fresh.Close()
			got, err := fresh.Newest(Inbox, n)
			if err != nil || !reflect.DeepEqual(got, want) {
				t.Fatalf("Newest(%d) in a fresh Store = %d summaries, %v; want the first %d of Summaries", n, len(got), err, len(want))
			}
			got, err = fresh.Newest("", n) // now loaded
			if err != nil || !reflect.DeepEqual(got, want) {
				t.Fatalf("Newest(%d) in a loaded Store = %d summaries, %v; want the first %d of Summaries", n, len(got), err, len(want))
			}
		})
	}
}

// countingReaderAt records the furthest byte read.
type countingReaderAt struct {
	data []byte
	max  int64
}

func (c *countingReaderAt) ReadAt(p []byte, off int64) (int, error) {
	r := bytes.NewReader(c.data)
	n, err := r.ReadAt(p, off)
	c.max = max(c.max, off+int64(n))
	return n, err
}

// TestReadIndexHeadReadsOnlyTheStart: the newest 20 of 5,000 come from the first read of the
// file, not the whole of it.
func TestReadIndexHeadReadsOnlyTheStart(t *testing.T) {
	dir := openStore(t).Dir()
	foreignFolder(t, dir, 5000)
	all := summariesOf(t, dir)
	data, err := os.ReadFile(indexFile(dir))
	if err != nil {
		t.Fatal(err)
	}
	r := &countingReaderAt{data: data}
	h, got, err := readIndexHead(r, Inbox, 20)
	if err != nil || h.count != 5000 || !reflect.DeepEqual(got, all[:20]) {
		t.Fatalf("readIndexHead(20) = %d of %d, %v; want the first 20 of 5000", len(got), h.count, err)
	}
	if r.max > indexHeadRead || r.max >= int64(len(data)) {
		t.Errorf("readIndexHead(20) read %d bytes of a %d-byte file; want at most %d", r.max, len(data), indexHeadRead)
	}
}

// TestNewestInStep: after another program changed the folder, or with the index file damaged,
// of an older format or missing, Newest gives what the files say, as Summaries does.
func TestNewestInStep(t *testing.T) {
	newest := func(dir string) string { // the file name of the newest message
		return filepath.Join(dir, "Maildir", "new", fmt.Sprintf("%d.M%dP1.other", 1700000000+29, 29))
	}
	tests := []struct {
		name   string
		change func(t *testing.T, dir string)
		check  func(t *testing.T, got []Summary)
	}{
		{"nothing changed", func(*testing.T, string) {}, func(t *testing.T, got []Summary) {
			if got[0].Subject != "message 29" || !got[0].Unread() {
				t.Errorf("newest: %q, unread %v", got[0].Subject, got[0].Unread())
			}
		}},
		{"a message arrived", func(t *testing.T, dir string) {
			m := "From: a@x\nSubject: just now\nDate: Mon, 1 Jan 2029 00:00:00 +0000\n\nhi\n"
			if err := os.WriteFile(filepath.Join(dir, "Maildir", "new", "1800000000.M9P9.other"), []byte(m), 0o600); err != nil {
				t.Fatal(err)
			}
		}, func(t *testing.T, got []Summary) {
			if got[0].Subject != "just now" {
				t.Errorf("newest: %q, want the message that arrived", got[0].Subject)
			}
		}},
		{"the newest was read and flagged", func(t *testing.T, dir string) {
			dst := filepath.Join(dir, "Maildir", "cur", filepath.Base(newest(dir))+":2,FS")
			if err := os.Rename(newest(dir), dst); err != nil {
				t.Fatal(err)
			}
		}, func(t *testing.T, got []Summary) {
			if got[0].Subject != "message 29" || got[0].Flags != FlagSeen|FlagFlagged {
				t.Errorf("newest: %q, flags %v; want message 29 with FS", got[0].Subject, got[0].Flags)
			}
		}},
		{"the newest was deleted", func(t *testing.T, dir string) {
			if err := os.Remove(newest(dir)); err != nil {
				t.Fatal(err)
			}
		}, func(t *testing.T, got []Summary) {
			if got[0].Subject != "message 28" {
				t.Errorf("newest: %q, want message 28", got[0].Subject)
			}
		}},
		{"a byte of the first block flipped", func(t *testing.T, dir string) {
			changeIndex(t, dir, func(data []byte) []byte {
				h, err := decodeIndexHeader(data)
				if err != nil {
					t.Fatal(err)
				}
				i := bytes.Index(data[h.size:], []byte("message 29")) + h.size
				data[i] = 'M'
				return data
			})
		}, func(t *testing.T, got []Summary) {
			if got[0].Subject != "message 29" {
				t.Errorf("newest: %q, want message 29 (the damaged index not trusted)", got[0].Subject)
			}
		}},
		{"the index cut short", func(t *testing.T, dir string) {
			changeIndex(t, dir, func(data []byte) []byte { return data[:len(indexMagic)+3] })
		}, func(*testing.T, []Summary) {}},
		{"an index of format 4", func(t *testing.T, dir string) {
			changeIndex(t, dir, func(data []byte) []byte {
				return bytes.Replace(data, []byte(indexMagic), []byte("POPLAR-INDEX 4\n"), 1)
			})
		}, func(*testing.T, []Summary) {}},
		{"no index", func(t *testing.T, dir string) {
			if err := os.Remove(indexFile(dir)); err != nil {
				t.Fatal(err)
			}
		}, func(*testing.T, []Summary) {}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := openStore(t).Dir()
			foreignFolder(t, dir, 30)
			summariesOf(t, dir)
			tt.change(t, dir)
			s, err := Open(dir)
			if err != nil {
				t.Fatal(err)
			}
			got, err := s.Newest(Inbox, 5)
			s.Close()
			if err != nil || len(got) != 5 {
				t.Fatalf("Newest(5) = %d summaries, %v", len(got), err)
			}
			tt.check(t, got)
			if want := summariesOf(t, dir)[:5]; !reflect.DeepEqual(norm(got), norm(want)) {
				t.Errorf("Newest(5) = %v\nSummaries = %v", got, want)
			}
			// The long way wrote an index that is in step: the next Newest reads it.
			data, err := os.ReadFile(indexFile(dir))
			if err != nil {
				t.Fatal(err)
			}
			h, head, err := readIndexHead(bytes.NewReader(data), Inbox, 5)
			if err != nil || !reflect.DeepEqual(norm(head), norm(got)) {
				t.Errorf("index after Newest: %d of %d, %v", len(head), h.count, err)
			}
		})
	}
}

// norm returns sums as text, with each Date as its instant and offset: a Date read from a message
// may be in time.UTC, one read from the index in a fixed zone of offset 0.
func norm(sums []Summary) []string {
	out := make([]string, len(sums))
	for i, s := range sums {
		date := s.Date.Format(time.RFC3339)
		s.Date = time.Time{}
		out[i] = fmt.Sprintf("%+v %s", s, date)
	}
	return out
}

// changeIndex rewrites the Inbox's index file of the store at dir with change.
func changeIndex(t *testing.T, dir string, change func([]byte) []byte) {
	t.Helper()
	data, err := os.ReadFile(indexFile(dir))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(indexFile(dir), change(data), 0o600); err != nil {
		t.Fatal(err)
	}
}

// fixIndexCRCs recomputes the CRCs of whatever header and blocks data seems to have, so that a
// fuzzed change reaches the decoder instead of failing a checksum.
func fixIndexCRCs(data []byte) []byte {
	data = bytes.Clone(data)
	p := len(indexMagic)
	if len(data) < p {
		return data
	}
	for range 3 {
		_, n := binary.Varint(data[p:])
		if n <= 0 {
			return data
		}
		p += n
	}
	if p+4 > len(data) {
		return data
	}
	binary.BigEndian.PutUint32(data[p:], crc32.ChecksumIEEE(data[:p]))
	p += 4
	for p < len(data) {
		start := p
		_, n := binary.Uvarint(data[p:])
		if n <= 0 {
			return data
		}
		p += n
		l, n := binary.Uvarint(data[p:])
		if n <= 0 || l > uint64(len(data)-p-n) || p+n+int(l)+4 > len(data) {
			return data
		}
		p += n + int(l)
		binary.BigEndian.PutUint32(data[p:], crc32.ChecksumIEEE(data[start:p]))
		p += 4
	}
	return data
}

// FuzzIndexFile: decodeIndex and readIndexHead never panic, and when the whole file decodes,
// the head of it is the same records.
func FuzzIndexFile(f *testing.F) {
	dir := f.TempDir()
	s, err := Open(dir)
	if err != nil {
		f.Fatal(err)
	}
	foreignFolder(f, dir, 150)
	b := s.NewBatch()
	b.Deliver(strings.NewReader(msg("big", "")), DeliverInfo{UIDL: "p", Partial: true, ServerSize: 3355443})
	b.Commit()
	s.Summaries(Inbox)
	s.Close()
	data, err := os.ReadFile(indexFile(dir))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(data, 20)
	f.Add(data[:len(data)/2], 140)
	f.Add([]byte(indexMagic), 1)
	f.Fuzz(func(t *testing.T, data []byte, n int) {
		n = int(uint(n)%200) + 1
		for _, d := range [][]byte{data, fixIndexCRCs(data)} {
			entries, _, _, err := decodeIndex(d, Inbox)
			h, head, herr := readIndexHead(bytes.NewReader(d), Inbox, n)
			if err != nil {
				continue
			}
			if herr != nil || h.count != len(entries) || len(head) != min(n, len(entries)) {
				t.Fatalf("the whole file decodes to %d records, its head to %d of %d, %v", len(entries), len(head), h.count, herr)
			}
			for i := range head {
				if whole := decodeSummary(&recordDecoder{}, d, Inbox, entries[i]); !reflect.DeepEqual(head[i], whole) {
					t.Fatalf("record %d: head %+v, whole %+v", i, head[i], whole)
				}
			}
		}
	})
}

// TestRecordsKeptNotSummaries: a folder read from its index file keeps where each record is, not
// its summary, and gives the same summaries as before; a flag changed there is written back into
// the index file with the rest of the record as it was, and read again as changed.
func TestRecordsKeptNotSummaries(t *testing.T) {
	dir, want := indexedStore(t, 300, func(i int) string { return fmt.Sprintf("body %d", i) })
	reopen := func() *Store {
		t.Helper()
		s, err := Open(dir)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}
	s2 := reopen()
	got, err := s2.Summaries(Inbox)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatal("the summaries decoded from the kept records differ from those before")
	}
	f, err := s2.folder(Inbox)
	if err != nil {
		t.Fatal(err)
	}
	f.mu.Lock()
	for _, e := range f.sorted {
		if e.full != nil {
			t.Fatalf("entry %s read from the index file keeps a summary", e.name)
		}
	}
	f.mu.Unlock()
	key := want[7].Key
	if err := s2.SetFlags(Inbox, []string{key}, FlagFlagged|FlagSeen, 0); err != nil {
		t.Fatal(err)
	}
	if err := s2.Close(); err != nil {
		t.Fatal(err)
	}
	want[7].Flags = FlagFlagged | FlagSeen
	got, err = reopen().Summaries(Inbox)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("after a flag change and a new index file: %+v, want %+v", got[7], want[7])
	}
}

// TestEntrySize keeps a folder's entry small: one per message stays in memory while the folder is
// loaded (100,000 in a large Inbox).
func TestEntrySize(t *testing.T) {
	if n := unsafe.Sizeof(entry{}); n > 72 {
		t.Errorf("an entry takes %d bytes; reorder or narrow its fields to keep it within 72", n)
	}
}
