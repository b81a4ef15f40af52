package storage

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/poplar-mail/poplar/storage/mailview"
)

func msg(subject, body string) string {
	return "From: Ann <ann@example.org>\nTo: bob@example.org\nSubject: " + subject + "\nDate: Mon, 2 Jan 2006 15:04:05 -0700\n\n" + body + "\n"
}

func openStore(t *testing.T) *Store {
	t.Helper()
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// deliver stores messages keyed by UIDL in one batch.
// indexedStore makes a store of n messages (subject i, body(i)), with its index file written, and
// returns its folder and the Inbox's summaries.
func indexedStore(t *testing.T, n int, body func(i int) string) (string, []Summary) {
	t.Helper()
	s := openStore(t)
	msgs := map[string]string{}
	for i := range n {
		msgs[fmt.Sprintf("u%03d", i)] = msg(fmt.Sprintf("subject %d", i), body(i))
	}
	deliver(t, s, msgs)
	want, err := s.Summaries(Inbox)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	return s.Dir(), want
}

func deliver(t *testing.T, s *Store, msgs map[string]string) map[string]string {
	t.Helper()
	b := s.NewBatch()
	keys := map[string]string{}
	uidls := make([]string, 0, len(msgs))
	for u := range msgs {
		uidls = append(uidls, u)
	}
	sort.Strings(uidls)
	for _, u := range uidls {
		k, err := b.Deliver(strings.NewReader(msgs[u]), DeliverInfo{UIDL: u})
		if err != nil {
			t.Fatal(err)
		}
		keys[u] = k
	}
	if _, err := b.Commit(); err != nil {
		t.Fatal(err)
	}
	return keys
}

func TestDeliverCommit(t *testing.T) {
	s := openStore(t)
	keys := deliver(t, s, map[string]string{"u1": msg("one", "first"), "u 2\x7f": msg("two", "second")})
	sums, err := s.Summaries(Inbox)
	if err != nil {
		t.Fatal(err)
	}
	if len(sums) != 2 {
		t.Fatalf("Summaries = %d, want 2", len(sums))
	}
	for _, m := range sums {
		if keys[m.UIDL] != m.Key || !m.Unread() || m.From != "Ann" || m.Size == 0 {
			t.Errorf("summary %+v", m)
		}
		p, err := s.MessagePath(Inbox, m.Key)
		if err != nil {
			t.Fatal(err)
		}
		fi, err := os.Stat(p)
		if err != nil || fi.Mode().Perm() != 0o600 || filepath.Base(filepath.Dir(p)) != "new" {
			t.Errorf("file %s: %v %v", p, fi.Mode(), err)
		}
		data, _ := os.ReadFile(p)
		if !bytes.HasPrefix(data, []byte("X-Poplar-UIDL: ")) {
			t.Errorf("file lacks X-Poplar-UIDL: %q", data[:40])
		}
	}
	for _, d := range []string{"Maildir", "Maildir/new", "Maildir/.Trash", "poplar"} {
		fi, err := os.Stat(filepath.Join(s.Dir(), d))
		if err != nil || fi.Mode().Perm() != 0o700 {
			t.Errorf("%s: mode %v, %v; want 0700", d, fi.Mode().Perm(), err)
		}
	}
	if !s.Fetched("u1") || !s.Fetched("u 2\x7f") || s.Fetched("u3") {
		t.Error("ledger does not match deliveries")
	}
	// A fresh Store on the same folder sees the same ledger (it was fsynced to the file).
	s2, err := Open(s.Dir())
	if err != nil {
		t.Fatal(err)
	}
	l, _ := s2.Ledger()
	if len(l) != 2 || l["u1"].Key != keys["u1"] {
		t.Errorf("reopened ledger = %+v", l)
	}
}

func TestAbortLeavesNothing(t *testing.T) {
	s := openStore(t)
	b := s.NewBatch()
	if _, err := b.Deliver(strings.NewReader(msg("x", "y")), DeliverInfo{UIDL: "a"}); err != nil {
		t.Fatal(err)
	}
	b.Abort()
	sums, _ := s.Summaries(Inbox)
	tmp, _ := os.ReadDir(filepath.Join(s.Dir(), "Maildir", "tmp"))
	if len(sums) != 0 || len(tmp) != 0 || s.Fetched("a") {
		t.Errorf("after Abort: %d messages, %d tmp files, fetched=%v", len(sums), len(tmp), s.Fetched("a"))
	}
}

type failingReader struct{ n int }

func (f *failingReader) Read(p []byte) (int, error) {
	if f.n <= 0 {
		return 0, errors.New("connection cut")
	}
	f.n--
	return copy(p, "Subject: x\n"), nil
}

func TestDeliverErrorCleansUp(t *testing.T) {
	s := openStore(t)
	b := s.NewBatch()
	if _, err := b.Deliver(&failingReader{n: 3}, DeliverInfo{UIDL: "a"}); err == nil {
		t.Fatal("Deliver from a failing reader succeeded")
	}
	tmp, _ := os.ReadDir(filepath.Join(s.Dir(), "Maildir", "tmp"))
	if len(tmp) != 0 {
		t.Errorf("%d files left in tmp/", len(tmp))
	}
}

func TestForeignFilesPickedUp(t *testing.T) {
	s := openStore(t)
	deliver(t, s, map[string]string{"u1": msg("mine", "x")})
	if _, err := s.Summaries(Inbox); err != nil {
		t.Fatal(err)
	}
	// Another program drops a message into new/ and flags one in cur/.
	md := filepath.Join(s.Dir(), "Maildir")
	os.WriteFile(filepath.Join(md, "new", "1700000000.foreign.host"), []byte(msg("foreign", "y")), 0o600)
	os.WriteFile(filepath.Join(md, "cur", "1700000001.other.host:2,FS"), []byte(msg("seen", "z")), 0o600)
	sums, err := s.Summaries(Inbox)
	if err != nil {
		t.Fatal(err)
	}
	bySubj := map[string]Summary{}
	for _, m := range sums {
		bySubj[m.Subject] = m
	}
	if len(sums) != 3 || bySubj["foreign"].Key != "1700000000.foreign.host" || bySubj["seen"].Flags != FlagSeen|FlagFlagged {
		t.Fatalf("summaries after foreign changes: %+v", sums)
	}
	// And removes one.
	os.Remove(filepath.Join(md, "new", "1700000000.foreign.host"))
	if sums, _ = s.Summaries(Inbox); len(sums) != 2 {
		t.Fatalf("after removal: %d messages", len(sums))
	}
}

func TestFlagsMoveTrashExpunge(t *testing.T) {
	s := openStore(t)
	keys := deliver(t, s, map[string]string{"a": msg("a", "1"), "b": msg("b", "2"), "c": msg("c", "3")})
	if err := s.SetFlags(Inbox, []string{keys["a"]}, FlagSeen|FlagFlagged, 0); err != nil {
		t.Fatal(err)
	}
	m, _ := s.Summary(Inbox, keys["a"])
	if m.Flags != FlagSeen|FlagFlagged {
		t.Errorf("flags = %v", m.Flags)
	}
	p, _ := s.MessagePath(Inbox, keys["a"])
	if !strings.HasSuffix(p, ":2,FS") || !strings.Contains(p, "/cur/") {
		t.Errorf("flagged file at %s", p)
	}
	s.SetFlags(Inbox, []string{keys["a"]}, 0, FlagSeen)
	if m, _ = s.Summary(Inbox, keys["a"]); m.Flags != FlagFlagged {
		t.Errorf("after unsetting seen: %v", m.Flags)
	}
	// Move to a folder is not a deletion.
	if err := s.CreateFolder("Work"); err != nil {
		t.Fatal(err)
	}
	if err := s.Move(Inbox, "Work", []string{keys["b"]}); err != nil {
		t.Fatal(err)
	}
	if u, _ := s.ExpungedUIDLs(); len(u) != 0 {
		t.Errorf("a move counted as deletion: %v", u)
	}
	// Delete moves to Trash; restore brings it back; delete again and empty the trash.
	if err := s.Delete(Inbox, []string{keys["c"]}); err != nil {
		t.Fatal(err)
	}
	tr, _ := s.Summaries(Trash)
	if len(tr) != 1 || tr[0].Key != keys["c"] {
		t.Fatalf("Trash = %+v", tr)
	}
	if u, _ := s.ExpungedUIDLs(); len(u) != 0 {
		t.Errorf("moving to Trash counted as deletion: %v", u)
	}
	if err := s.Restore([]string{keys["c"]}); err != nil {
		t.Fatal(err)
	}
	s.Delete(Inbox, []string{keys["c"]})
	if err := s.EmptyTrash(); err != nil {
		t.Fatal(err)
	}
	u, _ := s.ExpungedUIDLs()
	if len(u) != 1 || u[0] != "c" {
		t.Errorf("ExpungedUIDLs = %v, want [c]", u)
	}
	fs, _ := s.Folders()
	var names []string
	for _, f := range fs {
		names = append(names, fmt.Sprintf("%s:%d/%d", f.Name, f.Unread, f.Total))
	}
	if got := strings.Join(names, " "); got != "Inbox:1/1 Work:1/1 Trash:0/0" {
		t.Errorf("Folders = %s", got)
	}
	if err := s.MarkServerDeleted([]string{"c"}); err != nil {
		t.Fatal(err)
	}
	if u, _ := s.ExpungedUIDLs(); len(u) != 0 {
		t.Errorf("after MarkServerDeleted: %v", u)
	}
}

func TestCopyInOtherFolderIsNotExpunged(t *testing.T) {
	s := openStore(t)
	deliver(t, s, map[string]string{"dup": msg("a", "1")})
	// A second local copy of the same server message (e.g. a restored backup).
	s.CreateFolder("Archive")
	os.WriteFile(filepath.Join(s.Dir(), "Maildir", ".Archive", "cur", "1700000000.copy.host:2,S"), []byte("X-Poplar-UIDL: dup\n"+msg("a", "1")), 0o600)
	sums, _ := s.Summaries(Inbox)
	s.Expunge(Inbox, []string{sums[0].Key})
	if u, _ := s.ExpungedUIDLs(); len(u) != 0 {
		t.Errorf("UIDL with a copy left in Archive counted as expunged: %v", u)
	}
}

func TestCorruptIndexRebuilt(t *testing.T) {
	s := openStore(t)
	deliver(t, s, map[string]string{"a": msg("a", "1"), "b": msg("b", "2")})
	s.Summaries(Inbox)
	idx := filepath.Join(s.Dir(), "poplar", "index", "Inbox.idx")
	data, err := os.ReadFile(idx)
	if err != nil {
		t.Fatal(err)
	}
	data[len(data)/2] ^= 0xff
	os.WriteFile(idx, data, 0o600)
	s2, _ := Open(s.Dir())
	sums, err := s2.Summaries(Inbox)
	if err != nil || len(sums) != 2 {
		t.Fatalf("after index corruption: %d, %v", len(sums), err)
	}
}

func TestLedgerRebuildAndRepair(t *testing.T) {
	s := openStore(t)
	deliver(t, s, map[string]string{"a": msg("a", "1"), "b b": msg("b", "2"), "c%": msg("c", "3")})
	before, _ := s.Ledger()
	if err := s.RebuildLedger(); err != nil {
		t.Fatal(err)
	}
	after, _ := s.Ledger()
	if fmt.Sprint(before) != fmt.Sprint(after) {
		t.Errorf("rebuilt ledger differs:\n%v\n%v", before, after)
	}
	// A torn last record is cut off; a garbage line makes the ledger rebuild from the messages.
	lp := filepath.Join(s.Dir(), "poplar", "ledger")
	f, _ := os.OpenFile(lp, os.O_APPEND|os.O_WRONLY, 0o600)
	f.WriteString("F 17000")
	f.Close()
	s2, err := Open(s.Dir())
	if err != nil {
		t.Fatal(err)
	}
	if l, _ := s2.Ledger(); len(l) != 3 {
		t.Errorf("after a torn record: %d entries", len(l))
	}
	os.WriteFile(lp, []byte("garbage line\n"), 0o600)
	s3, _ := Open(s.Dir())
	if l, _ := s3.Ledger(); fmt.Sprint(l) != fmt.Sprint(before) {
		t.Errorf("after garbage, ledger = %v, want %v", l, before)
	}
	// A lost ledger is rebuilt from the store when the folder is read.
	os.Remove(lp)
	s4, _ := Open(s.Dir())
	os.Remove(filepath.Join(s.Dir(), "poplar", "index", "Inbox.idx"))
	s4.Summaries(Inbox)
	if l, _ := s4.Ledger(); len(l) != 3 {
		t.Errorf("after losing the ledger: %d entries", len(l))
	}
}

func TestReplacePartial(t *testing.T) {
	s := openStore(t)
	b := s.NewBatch()
	head := "From: a@example.org\nSubject: big\n\n"
	key, _ := b.Deliver(strings.NewReader(head), DeliverInfo{UIDL: "big", Partial: true})
	b.Commit()
	m, _ := s.Summary(Inbox, key)
	if !m.Partial {
		t.Fatal("partial flag lost")
	}
	s.SetFlags(Inbox, []string{key}, FlagSeen, 0)
	full := head + strings.Repeat("body line\n", 1000)
	got, err := s.ReplacePartial("big", strings.NewReader(full))
	if err != nil {
		t.Fatal(err)
	}
	if got.Partial || got.Key != key || got.Flags != FlagSeen || got.Size < int64(len(full)) {
		t.Errorf("after ReplacePartial: %+v", got)
	}
	rc, _ := s.OpenMessage(Inbox, key)
	data, _ := io.ReadAll(rc)
	rc.Close()
	if !strings.HasSuffix(string(data), full) {
		t.Error("the full message was not stored")
	}
}

func TestFetchLock(t *testing.T) {
	s := openStore(t)
	unlock, err := s.LockFetch()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.LockFetch(); !errors.Is(err, ErrFetchInProgress) {
		t.Fatalf("second LockFetch = %v, want ErrFetchInProgress", err)
	}
	unlock()
	u2, err := s.LockFetch()
	if err != nil {
		t.Fatal(err)
	}
	u2()
}

func TestStaleTmpCleaned(t *testing.T) {
	dir := t.TempDir()
	s, _ := Open(dir)
	old := filepath.Join(dir, "Maildir", "tmp", "stale")
	fresh := filepath.Join(dir, "Maildir", "tmp", "fresh")
	os.WriteFile(old, []byte("x"), 0o600)
	os.WriteFile(fresh, []byte("x"), 0o600)
	os.Chtimes(old, time.Now().Add(-48*time.Hour), time.Now().Add(-48*time.Hour))
	s.Close()
	Open(dir)
	if _, err := os.Stat(old); !errors.Is(err, os.ErrNotExist) {
		t.Error("stale tmp file kept")
	}
	if _, err := os.Stat(fresh); err != nil {
		t.Error("fresh tmp file removed")
	}
}

func TestFolderNames(t *testing.T) {
	for _, bad := range []string{"", "a/b", "..", ".hidden", "x\x00", "Inbox", `a\b`, "bidi\u202e", "a..b", "Work.", "Work.Sub.", "a/../b"} {
		if ValidFolderName(bad) == nil {
			t.Errorf("ValidFolderName(%q) accepted", bad)
		}
	}
	for _, good := range []string{"Work", "Ärger", "a.b", "Trash", "Work.Sub.Deep", "Inbox.Kids", Sent, Outbox} {
		if err := ValidFolderName(good); err != nil {
			t.Errorf("ValidFolderName(%q) = %v", good, err)
		}
	}
}

func FuzzDecodeIndex(f *testing.F) {
	s, err := Open(f.TempDir())
	if err != nil {
		f.Fatal(err)
	}
	b := s.NewBatch()
	b.Deliver(strings.NewReader(msg("a", "b")), DeliverInfo{UIDL: "u"})
	b.Deliver(strings.NewReader(msg("big", "")), DeliverInfo{UIDL: "p", Partial: true, ServerSize: 3355443})
	b.Deliver(strings.NewReader("In-Reply-To: <p@x>\nReferences: <r@x> <p@x>\n"+msg("re", "")), DeliverInfo{UIDL: "r"})
	b.Deliver(strings.NewReader("In-Reply-To: <q@x>\n"+msg("re", "")), DeliverInfo{UIDL: "q"})
	b.Commit()
	s.Summaries(Inbox)
	data, _ := os.ReadFile(filepath.Join(s.Dir(), "poplar", "index", "Inbox.idx"))
	f.Add(data)
	f.Add([]byte(indexMagic))
	f.Fuzz(func(t *testing.T, data []byte) {
		// As it is, and with its last 4 bytes made the right CRC, so that a change to the
		// records reaches the decoder instead of failing the checksum.
		fixed := data
		if len(data) >= 4 {
			fixed = binary.BigEndian.AppendUint32(bytes.Clone(data[:len(data)-4]), crc32.ChecksumIEEE(data[:len(data)-4]))
		}
		for _, d := range [][]byte{data, fixed} {
			entries, _, _, err := decodeIndex(d, Inbox)
			if err == nil && len(entries) > len(d) {
				t.Fatal("more entries than bytes")
			}
			for _, e := range entries {
				s := decodeSummary(&recordDecoder{}, d, Inbox, e)
				if n := s.ServerSize; n != 0 && (!s.Partial || !validServerSize(n)) {
					t.Fatalf("decoded %+v: a server size ownFields could not give", s)
				}
				if len(s.References) > mailview.MaxReferences {
					t.Fatalf("decoded %d references, more than Summarize gives", len(s.References))
				}
			}
			if err != nil {
				continue
			}
			// Written again from the records kept (their bytes copied), it reads the same.
			var again bytes.Buffer
			if err := encodeIndex(&again, 1, 2, entries, d); err != nil {
				t.Fatal(err)
			}
			reread, sn, sc, err := decodeIndex(again.Bytes(), Inbox)
			if err != nil || sn != 1 || sc != 2 || len(reread) != len(entries) {
				t.Fatalf("the index written again from %d records: %d, stamps %d %d, %v", len(entries), len(reread), sn, sc, err)
			}
			for i := range entries {
				was, now := decodeSummary(&recordDecoder{}, d, Inbox, entries[i]), decodeSummary(&recordDecoder{}, again.Bytes(), Inbox, reread[i])
				if !reflect.DeepEqual(was, now) {
					t.Fatalf("record %d written again: %+v, was %+v", i, now, was)
				}
			}
		}
	})
}

func FuzzLedgerApply(f *testing.F) {
	f.Add("F 1700000000 abc 1700000000.M1P2Q3.host")
	f.Add("D abc%20")
	f.Add("X %zz")
	f.Fuzz(func(t *testing.T, line string) {
		l := &ledger{entries: map[string]*LedgerEntry{}}
		if l.apply(line) == nil {
			for u, e := range l.entries {
				if u == "" || e.UIDL != u {
					t.Fatalf("bad entry from %q: %+v", line, e)
				}
			}
		}
	})
}

// TestIncrementalIndexMatchesRebuild: the index kept up to date piece by piece (a merge per
// commit, listing only the subfolders that changed) always equals one rebuilt from scratch, in
// content and order, through deliveries with dates out of order and changes by other programs to
// new/ alone and cur/ alone.
func TestIncrementalIndexMatchesRebuild(t *testing.T) {
	s := openStore(t)
	md := filepath.Join(s.Dir(), "Maildir")
	dated := func(i, day int) string {
		return fmt.Sprintf("From: a@example.org\nSubject: m%d\nDate: %02d Jan 2020 10:00:00 +0000\n\nbody %d\n", i, day, i)
	}
	check := func(step string) {
		t.Helper()
		got, err := s.Summaries(Inbox)
		if err != nil {
			t.Fatal(err)
		}
		// A second store on the same folder, with no index file: a full rebuild.
		os.Remove(filepath.Join(s.Dir(), "poplar", "index", "Inbox.idx"))
		fresh, err := Open(s.Dir())
		if err != nil {
			t.Fatal(err)
		}
		defer fresh.Close()
		want, err := fresh.Summaries(Inbox)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(want) {
			t.Fatalf("%s: %d summaries, a rebuild finds %d", step, len(got), len(want))
		}
		for i := range got {
			if got[i].Key != want[i].Key || got[i].Flags != want[i].Flags || got[i].Subject != want[i].Subject {
				t.Fatalf("%s: position %d is %s (%s, flags %v), a rebuild has %s (%s, flags %v)", step, i,
					got[i].Key, got[i].Subject, got[i].Flags, want[i].Key, want[i].Subject, want[i].Flags)
			}
		}
	}
	n := 0
	for batch, days := range [][]int{{5, 1, 9}, {3, 3, 7, 2}, {8, 6}} {
		b := s.NewBatch()
		for _, d := range days {
			n++
			if _, err := b.Deliver(strings.NewReader(dated(n, d)), DeliverInfo{UIDL: fmt.Sprintf("u%d", n)}); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := b.Commit(); err != nil {
			t.Fatal(err)
		}
		check(fmt.Sprintf("after batch %d", batch))
	}
	// Another program drops a message into cur/ only (new/ unchanged).
	os.WriteFile(filepath.Join(md, "cur", "1600000000.other.host:2,S"), []byte(dated(100, 4)), 0o600)
	check("after a foreign file in cur/")
	// ... and one into new/ only.
	os.WriteFile(filepath.Join(md, "new", "1600000001.other.host"), []byte(dated(101, 10)), 0o600)
	check("after a foreign file in new/")
	// ... and deletes one from cur/ only.
	os.Remove(filepath.Join(md, "cur", "1600000000.other.host:2,S"))
	check("after a foreign removal from cur/")
	// Reading a message moves it from new/ to cur/.
	sums, _ := s.Summaries(Inbox)
	if err := s.SetFlags(Inbox, []string{sums[2].Key}, FlagSeen, 0); err != nil {
		t.Fatal(err)
	}
	check("after marking one read")
	// More mail after all that.
	b := s.NewBatch()
	b.Deliver(strings.NewReader(dated(200, 4)), DeliverInfo{UIDL: "u200"})
	if _, err := b.Commit(); err != nil {
		t.Fatal(err)
	}
	check("after a last batch")
}
