package storage

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// indexFile is the path of the Inbox's index file in the store at dir.
func indexFile(dir string) string { return filepath.Join(dir, "poplar", "index", "Inbox.idx") }

// checkServerSize checks that the Inbox message key of the store at dir reads as partial
// wantPartial with server size wantSize everywhere the store says it: Summary and Summaries, the
// index file written at Close, a reopened store (which reads that index), a store whose index
// file was deleted (a rebuild from the files), and after RebuildLedger. It returns an open store.
func checkServerSize(t *testing.T, s *Store, key string, wantPartial bool, wantSize int64) *Store {
	t.Helper()
	dir := s.Dir()
	check := func(step string, m Summary, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", step, err)
		}
		if m.Partial != wantPartial || m.ServerSize != wantSize {
			t.Errorf("%s: Partial %v, ServerSize %d; want %v, %d", step, m.Partial, m.ServerSize, wantPartial, wantSize)
		}
	}
	m, err := s.Summary(Inbox, key)
	check("Summary", m, err)
	sums, err := s.Summaries(Inbox)
	if err != nil || len(sums) != 1 || sums[0].Key != key {
		t.Fatalf("Summaries = %+v, %v; want the one message", sums, err)
	}
	check("Summaries", sums[0], nil)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(indexFile(dir))
	if err != nil {
		t.Fatal(err)
	}
	entries, _, _, err := decodeIndex(data, Inbox)
	if err != nil || len(entries) != 1 {
		t.Fatalf("decodeIndex of the index file: %d entries, %v", len(entries), err)
	}
	check("in the index file", decodeSummary(&recordDecoder{}, data, Inbox, entries[0]), nil)
	s, err = Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	m, err = s.Summary(Inbox, key)
	check("after reopening the store", m, err)
	s.Close()
	if err := os.Remove(indexFile(dir)); err != nil {
		t.Fatal(err)
	}
	s, err = Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	m, err = s.Summary(Inbox, key)
	check("after deleting the index file", m, err)
	if err := s.RebuildLedger(); err != nil {
		t.Fatal(err)
	}
	m, err = s.Summary(Inbox, key)
	check("after RebuildLedger", m, err)
	if m.UIDL != "" {
		if l, err := s.Ledger(); err != nil || l[m.UIDL].Key != key {
			t.Errorf("after RebuildLedger: ledger %+v, %v; want %s -> %s", l, err, m.UIDL, key)
		}
	}
	return s
}

// TestServerSize: the server size given at delivery of a partial message is on its partial line
// and in its Summary, through the index, a rebuild and RebuildLedger; a size that cannot be
// recorded is unknown (0), and a whole message has none. ReplacePartial clears it.
func TestServerSize(t *testing.T) {
	tests := []struct {
		name     string
		info     DeliverInfo
		line2    string // the stored file's line after X-Poplar-UIDL ("" when none is wanted)
		wantSize int64
	}{
		{"known", DeliverInfo{UIDL: "u1", Partial: true, ServerSize: 3355443}, "X-Poplar-Partial: yes; size=3355443", 3355443},
		{"unknown", DeliverInfo{UIDL: "u1", Partial: true}, "X-Poplar-Partial: yes", 0},
		{"negative", DeliverInfo{UIDL: "u1", Partial: true, ServerSize: -1}, "X-Poplar-Partial: yes", 0},
		{"1 TiB", DeliverInfo{UIDL: "u1", Partial: true, ServerSize: 1 << 40}, "X-Poplar-Partial: yes; size=1099511627776", 1 << 40},
		{"over 1 TiB", DeliverInfo{UIDL: "u1", Partial: true, ServerSize: 1<<40 + 1}, "X-Poplar-Partial: yes", 0},
		{"whole message", DeliverInfo{UIDL: "u1", ServerSize: 3355443}, "", 0},
		{"no UIDL", DeliverInfo{Partial: true, ServerSize: 77}, "X-Poplar-Partial: yes; size=77", 77},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := openStore(t)
			head := "From: a@example.org\nSubject: big\n\n"
			b := s.NewBatch()
			key, err := b.Deliver(strings.NewReader(head), tt.info)
			if err != nil {
				t.Fatal(err)
			}
			sums, err := b.Commit()
			if err != nil || len(sums) != 1 || sums[0].ServerSize != tt.wantSize {
				t.Fatalf("Commit = %+v, %v; want ServerSize %d", sums, err, tt.wantSize)
			}
			data, err := os.ReadFile(mustPath(t, s, key))
			if err != nil {
				t.Fatal(err)
			}
			first, rest, _ := strings.Cut(string(data), "\n")
			if tt.info.UIDL == "" {
				rest = string(data)
			} else if first != "X-Poplar-UIDL: "+tt.info.UIDL {
				t.Errorf("line 1 = %q", first)
			}
			if line2, _, _ := strings.Cut(rest, "\n"); (tt.line2 != "" && line2 != tt.line2) || (tt.line2 == "" && rest != head) {
				t.Errorf("stored message %q; want line %q, then the message", data, tt.line2)
			}
			s = checkServerSize(t, s, key, tt.info.Partial, tt.wantSize)
			if !tt.info.Partial || tt.info.UIDL == "" {
				return
			}
			full := head + strings.Repeat("body line\n", 1000)
			got, err := s.ReplacePartial(tt.info.UIDL, strings.NewReader(full))
			if err != nil {
				t.Fatal(err)
			}
			if got.Partial || got.ServerSize != 0 || got.Key != key {
				t.Errorf("ReplacePartial = %+v; want the whole message with ServerSize 0", got)
			}
			data, _ = os.ReadFile(mustPath(t, s, key))
			if string(data) != "X-Poplar-UIDL: "+tt.info.UIDL+"\n"+full {
				t.Errorf("after ReplacePartial the file starts %.80q", data)
			}
			checkServerSize(t, s, key, false, 0)
		})
	}
}

// TestForgedServerSize: a server size a sender writes into a message's own header is never
// believed, whether Poplar stores the message whole or partial, with or without a size of its own.
func TestForgedServerSize(t *testing.T) {
	forged := []struct{ name, header string }{
		{"first line", "X-Poplar-Partial: yes; size=999999\nFrom: a@example.org\n"},
		{"after a forged UIDL", "X-Poplar-UIDL: u2\nX-Poplar-Partial: yes; size=999999\nFrom: a@example.org\n"},
		{"below", "From: a@example.org\nX-Poplar-Partial: yes; size=999999\n"},
		{"other case", "x-poplar-partial: YES; SIZE=999999\nFrom: a@example.org\n"},
		{"crlf", "X-Poplar-Partial: yes; size=999999\r\nFrom: a@example.org\r\n"},
	}
	infos := []DeliverInfo{
		{UIDL: "u1"},
		{},
		{UIDL: "u1", Partial: true},
		{Partial: true},
		{UIDL: "u1", Partial: true, ServerSize: 5000},
		{Partial: true, ServerSize: 5000},
	}
	for _, fc := range forged {
		for _, info := range infos {
			t.Run(fmt.Sprintf("%s/uidl=%q,partial=%v,size=%d", fc.name, info.UIDL, info.Partial, info.ServerSize), func(t *testing.T) {
				s := openStore(t)
				nl := "\n"
				if strings.HasSuffix(fc.header, "\r\n") {
					nl = "\r\n"
				}
				b := s.NewBatch()
				key, err := b.Deliver(strings.NewReader(fc.header+nl), info)
				if err != nil {
					t.Fatal(err)
				}
				if _, err := b.Commit(); err != nil {
					t.Fatal(err)
				}
				data, _ := os.ReadFile(mustPath(t, s, key))
				if !bytes.Contains(bytes.ToLower(data), []byte("x-original-poplar-partial: yes; size=999999")) {
					t.Errorf("stored message lost the sender's field:\n%s", data)
				}
				checkServerSize(t, s, key, info.Partial, info.ServerSize)
			})
		}
	}
}

// TestOldIndexRebuilt: an index of an older format is not trusted; the folder is read again. A
// version 1 index may hold a UIDL the old rule took from a sender's field; a version 2 index has
// no server sizes; a version 3 index has no In-Reply-To or References. Each is rebuilt from the
// files, which fills them all.
func TestOldIndexRebuilt(t *testing.T) {
	for _, magic := range []string{"POPLAR-INDEX 1\n", "POPLAR-INDEX 2\n", "POPLAR-INDEX 3\n"} {
		t.Run(strings.TrimSpace(magic), func(t *testing.T) {
			s := openStore(t)
			b := s.NewBatch()
			threaded := "In-Reply-To: <p@x>\nReferences: <r@x> <p@x>\n" + msg("a", "")
			key, err := b.Deliver(strings.NewReader(threaded), DeliverInfo{UIDL: "u1", Partial: true, ServerSize: 4242})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := b.Commit(); err != nil {
				t.Fatal(err)
			}
			f, err := s.folder(Inbox)
			if err != nil {
				t.Fatal(err)
			}
			// What an older version may have recorded: a UIDL from a forged field (version 1),
			// no server size (versions 1 and 2), no threading fields (versions 1 to 3). With
			// none of those a record has their layout.
			f.mu.Lock()
			e := f.byKey[key]
			e.full.UIDL, e.uidl = "u2", "u2"
			e.full.ServerSize = 0
			e.full.InReplyTo, e.full.References = "", nil
			err = f.writeIndex()
			f.mu.Unlock()
			if err != nil {
				t.Fatal(err)
			}
			data, err := os.ReadFile(indexFile(s.Dir()))
			if err != nil {
				t.Fatal(err)
			}
			old := append([]byte(magic), data[len(indexMagic):len(data)-4]...)
			old = binary.BigEndian.AppendUint32(old, crc32.ChecksumIEEE(old))
			if err := os.WriteFile(indexFile(s.Dir()), old, 0o600); err != nil {
				t.Fatal(err)
			}
			if _, _, _, err := decodeIndex(old, Inbox); err == nil {
				t.Fatalf("an index of %q decodes", magic)
			}
			s2, err := Open(s.Dir())
			if err != nil {
				t.Fatal(err)
			}
			m, err := s2.Summary(Inbox, key)
			if err != nil || m.UIDL != "u1" || !m.Partial || m.ServerSize != 4242 {
				t.Errorf("after an index of %q: UIDL %q, partial %v, ServerSize %d, %v; want u1, true, 4242", magic, m.UIDL, m.Partial, m.ServerSize, err)
			}
			if m.InReplyTo != "p@x" || !slices.Equal(m.References, []string{"r@x", "p@x"}) {
				t.Errorf("after an index of %q: InReplyTo %q, References %q; want p@x, [r@x p@x]", magic, m.InReplyTo, m.References)
			}
			s2.Close()
			data, err = os.ReadFile(indexFile(s.Dir()))
			if err != nil || !bytes.HasPrefix(data, []byte(indexMagic)) {
				t.Errorf("the index was not rewritten in the current format: %.20q, %v", data, err)
			}
		})
	}
}
