package search

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
	"unsafe"

	"github.com/poplar-mail/poplar/storage"
)

// corpus is the generated mailbox with known answers: file name (key and flags) and message.
var corpus = []struct{ name, msg string }{
	{"1700000001.a.host:2,", "From: =?UTF-8?Q?Jos=C3=A9_Garc=C3=ADa?= <jose@example.com>\r\nTo: Ada <ada@example.org>\r\n" +
		"Subject: =?UTF-8?Q?R=C3=A9union_=C3=A0_l'=C3=89COLE?=\r\nDate: Sun, 10 Mar 2024 10:00:00 +0000\r\n" +
		"Content-Type: text/plain; charset=utf-8\r\n\r\nBonjour, la réunion est demain.\r\n"},
	{"1700000002.b.host:2,FS", "From: Ada Lovelace <ada@example.org>\r\nTo: Charles Babbage <charles@example.net>\r\n" +
		"Cc: grace@example.com\r\nSubject: Analytical engine notes\r\nDate: Wed, 01 May 2024 09:00:00 +0000\r\n\r\n" +
		"The quick brown fox jumps over the lazy dog.\r\n"},
	{"1700000003.c.host:2,", "From: =?UTF-8?B?55Sw5Lit?= <tanaka@example.jp>\r\nTo: team@example.jp\r\n" +
		"Subject: =?UTF-8?B?5piO5pel44Gu5Lya6K2w44Gr44Gk44GE44Gm?=\r\nDate: Sat, 15 Jun 2024 12:00:00 +0900\r\n" +
		"Content-Type: text/plain; charset=utf-8\r\n\r\n明日の会議は十時からです。\r\n"},
	{"1700000004.d.host:2,S", "From: billing@shop.example\r\nTo: ada@example.org\r\nSubject: Your invoice\r\n" +
		"Date: Wed, 20 Dec 2023 08:00:00 +0000\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=XX\r\n\r\n" +
		"--XX\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<p>Invoice <b>attached</b> for the école trip</p>\r\n" +
		"--XX\r\nContent-Type: application/pdf\r\nContent-Disposition: attachment; filename=\"facture-2024.pdf\"\r\n" +
		"Content-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQK\r\n--XX--\r\n"},
	{"1700000005.e.host:2,", "From: Charles Babbage <charles@example.net>\r\nTo: ada@example.org\r\nSubject: Quarterly report\r\n" +
		"Date: Sun, 05 Jan 2025 08:00:00 +0000\r\n\r\nNumbers for the difference engine.\r\n"},
}

func key(n int) string {
	return "17000000" + string(rune('0'+n/10)) + string(rune('0'+n%10)) + "." + string(rune('a'+n-1)) + ".host"
}

// newStore writes the corpus into a new account folder and opens it.
func newStore(t testing.TB) *storage.Store {
	t.Helper()
	dir := t.TempDir()
	s, err := storage.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range corpus {
		if err := os.WriteFile(filepath.Join(dir, "Maildir", "cur", m.name), []byte(m.msg), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func openIndex(t testing.TB, s *storage.Store) *Index {
	t.Helper()
	x, err := Open(s)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { x.Close() })
	if err := x.Update(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	return x
}

// keys runs a query and returns the numbers of the corpus messages found, in order.
func found(t *testing.T, x *Index, q string, opts Options) []int {
	t.Helper()
	sums, total, err := x.Search(q, opts)
	if err != nil {
		t.Fatalf("Search(%q) error: %v", q, err)
	}
	if opts.Limit == 0 && total != len(sums) {
		t.Errorf("Search(%q): total %d, %d hits", q, total, len(sums))
	}
	out := []int{}
	for _, s := range sums {
		n := int(s.Key[8]-'0')*10 + int(s.Key[9]-'0')
		out = append(out, n)
	}
	return out
}

func TestSearch(t *testing.T) {
	x := openIndex(t, newStore(t))
	tests := []struct {
		q    string
		want []int // newest first
	}{
		{"garcia", []int{1}},
		{"GARCÍA", []int{1}},
		{"josé", []int{1}},
		{"ecole", []int{1, 4}},
		{"ÉCOLE", []int{1, 4}},
		{"reunion", []int{1}},
		{"会議", []int{3}},
		{"会議 十時", []int{3}},
		{"田中", []int{3}},
		{"from:ada@example.org", []int{2}},
		{"from:ada", []int{2}},
		{"to:ada@example.org", []int{5, 1, 4}},
		{"to:grace", []int{2}},
		{"to:\"Charles Babbage\"", []int{2}},
		{"from:\"Babbage Charles\"", []int{5}}, // the name, then the address
		{"from:\"Babbage Ada\"", []int{}},
		{"l'école", []int{1}},
		{"l’ecole", []int{1}},
		{"ada@example.org", []int{5, 2, 1, 4}},
		{"\"quick brown fox\"", []int{2}},
		{"\"brown quick fox\"", []int{}},
		{"after:2024-04-01 before:2024-12-31", []int{3, 2}},
		{"before:2024-01-01", []int{4}},
		{"after:2025-01-01", []int{5}},
		{"has:attachment", []int{4}},
		{"facture", []int{4}},
		{"attached", []int{4}},
		{"is:flagged", []int{2}},
		{"is:unread", []int{5, 3, 1}},
		{"is:read engine", []int{2}},
		{"engine", []int{5, 2}},
		{"engine -subject:quarterly", []int{2}},
		{"lovel", []int{2}},
		{"lovel engine", []int{}}, // only the last word is a prefix
		{"engine lovel", []int{2}},
		{"subject:engine", []int{2}},
		{"folder:inbox analytical", []int{2}},
		{"folder:Work", []int{}},
		{"zeppelin", []int{}},
	}
	for _, tt := range tests {
		t.Run(tt.q, func(t *testing.T) {
			if got := found(t, x, tt.q, Options{}); !slices.Equal(got, tt.want) {
				t.Errorf("Search(%q) = %v, want %v", tt.q, got, tt.want)
			}
		})
	}
	if got := found(t, x, "engine", Options{Limit: 1}); !slices.Equal(got, []int{5}) {
		t.Errorf("Search(engine, Limit 1) = %v, want [5]", got)
	}
	if _, total, _ := x.Search("engine", Options{Limit: 1}); total != 2 {
		t.Errorf("Search(engine, Limit 1) total = %d, want 2", total)
	}
	if got := found(t, x, "engine", Options{Folder: "Trash"}); len(got) != 0 {
		t.Errorf("Search(engine, Folder Trash) = %v, want none", got)
	}
}

func TestSyntaxErrors(t *testing.T) {
	x := openIndex(t, newStore(t))
	for _, tt := range []struct{ q, part string }{
		{`"open phrase`, `"open phrase`},
		{`ada before:yesterday`, `before:yesterday`},
		{`is:lost`, `is:lost`},
		{`has:dog`, `has:dog`},
		{`from:`, `from:`},
		{`   `, `   `},
		{`subject:"…"`, `subject:"…"`},
	} {
		_, _, err := x.Search(tt.q, Options{})
		var se *SyntaxError
		if !errors.As(err, &se) || se.Part != tt.part {
			t.Errorf("Search(%q) error = %v, want a SyntaxError naming %q", tt.q, err, tt.part)
		}
	}
}

// updated returns a check that brings x in step with its store, then searches for q and compares
// the corpus numbers found with want.
func updated(t *testing.T, x *Index) func(q string, want []int) {
	return func(q string, want []int) {
		t.Helper()
		if err := x.Update(context.Background(), nil); err != nil {
			t.Fatal(err)
		}
		if got := found(t, x, q, Options{}); !slices.Equal(got, want) {
			t.Errorf("Search(%q) = %v, want %v", q, got, want)
		}
	}
}

// deliverZeppelin writes message 9 into new/, as another program delivers.
func deliverZeppelin(t *testing.T, s *storage.Store) {
	t.Helper()
	msg := "From: Hugo Eckener <hugo@example.de>\r\nSubject: Zeppelin\r\nDate: Mon, 01 Jul 2024 10:00:00 +0000\r\n\r\nAirship.\r\n"
	if err := os.WriteFile(filepath.Join(s.Dir(), "Maildir", "new", key(9)), []byte(msg), 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestUpdate changes the mailbox behind the index's back and checks that Update follows.
func TestUpdate(t *testing.T) {
	s := newStore(t)
	x := openIndex(t, s)
	check := updated(t, x)
	if err := s.SetFlags(storage.Inbox, []string{key(1)}, storage.FlagSeen, 0); err != nil {
		t.Fatal(err)
	}
	check("is:unread", []int{5, 3})
	check("is:read garcia", []int{1})
	if err := s.CreateFolder("Work"); err != nil {
		t.Fatal(err)
	}
	if err := s.Move(storage.Inbox, "Work", []string{key(3)}); err != nil {
		t.Fatal(err)
	}
	check("folder:Work 会議", []int{3})
	check("folder:Inbox 会議", []int{})
	check("is:unread", []int{5, 3}) // hits in two folders, newest first
	if err := s.Expunge(storage.Inbox, []string{key(5)}); err != nil {
		t.Fatal(err)
	}
	check("quarterly", []int{})
	// Another program delivers into new/.
	deliverZeppelin(t, s)
	check("zeppelin is:unread", []int{9})
	check("from:eckener", []int{9})
}

// TestShared: two Index values on one store (as the app and `poplar search` in two processes)
// search while one updates, and each sees the other's updates.
func TestShared(t *testing.T) {
	s := newStore(t)
	a := openIndex(t, s)
	b, err := Open(s)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if got := found(t, b, "garcia", Options{}); !slices.Equal(got, []int{1}) {
		t.Errorf("second index: Search(garcia) = %v, want [1]", got)
	}
	deliverZeppelin(t, s)
	done := make(chan error)
	go func() { done <- b.Update(context.Background(), nil) }()
	for i := 0; i < 20; i++ {
		if _, _, err := a.Search("garcia", Options{}); err != nil {
			t.Errorf("Search during another's Update: %v", err)
		}
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if got := found(t, a, "zeppelin", Options{}); !slices.Equal(got, []int{9}) {
		t.Errorf("after the other's Update: Search(zeppelin) = %v, want [9]", got)
	}
	if err := s.Expunge(storage.Inbox, []string{key(9)}); err != nil {
		t.Fatal(err)
	}
	if err := a.Update(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	if got := found(t, b, "zeppelin", Options{}); len(got) != 0 {
		t.Errorf("after the first's Update: Search(zeppelin) = %v, want none", got)
	}
}

// TestRebuild damages the index files: Open starts again and Update fills it.
func TestRebuild(t *testing.T) {
	s := newStore(t)
	x, err := Open(s)
	if err != nil {
		t.Fatal(err)
	}
	if err := x.Update(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	x.Close()
	dir := filepath.Join(s.Dir(), "poplar", "search")
	filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err == nil && fi.Mode().IsRegular() {
			os.WriteFile(p, []byte(strings.Repeat("garbage", 10)), 0o600)
		}
		return nil
	})
	x = openIndex(t, s)
	if got := found(t, x, "garcia", Options{}); !slices.Equal(got, []int{1}) {
		t.Errorf("after rebuild: Search(garcia) = %v, want [1]", got)
	}
	// A missing index is made again too.
	x.Close()
	os.RemoveAll(dir)
	x = openIndex(t, s)
	if got := found(t, x, "会議", Options{}); !slices.Equal(got, []int{3}) {
		t.Errorf("after removal: Search(会議) = %v, want [3]", got)
	}
}

func FuzzParse(f *testing.F) {
	for _, q := range []string{`garcia`, `"quick brown" from:ada@example.org`, `is:unread -has:attachment`, `before:2024-01-01 after:2023-01-01`,
		`folder:"Work.Sub" 会議`, `"`, `-`, `to:"`, `subject:`} {
		f.Add(q)
	}
	f.Fuzz(func(t *testing.T, q string) {
		qq, err := parse(q)
		if err == nil && qq == nil {
			t.Errorf("parse(%q) = nil, nil", q)
		}
		var se *SyntaxError
		if err != nil && !errors.As(err, &se) {
			t.Errorf("parse(%q) error %v is not a SyntaxError", q, err)
		}
	})
}

// TestCancelAndConcurrentSearch cancels a build, then searches while another Update runs.
func TestCancelAndConcurrentSearch(t *testing.T) {
	s := newStore(t)
	for i := 10; i < 1200; i++ {
		msg := "From: bulk@example.org\r\nSubject: bulk " + strings.Repeat("x", i%7) + "\r\nDate: Mon, 01 Jul 2024 10:00:00 +0000\r\n\r\nfiller text\r\n"
		if err := os.WriteFile(filepath.Join(s.Dir(), "Maildir", "cur", fmt.Sprintf("1700001%04d.bulk:2,S", i)), []byte(msg), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	x, err := Open(s)
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	ctx, cancel := context.WithCancel(context.Background())
	err = x.Update(ctx, func(done, total int) { cancel() })
	cancel()
	if err != nil && !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled Update = %v", err)
	}
	done := make(chan error)
	go func() { done <- x.Update(context.Background(), nil) }()
	for i := 0; i < 20; i++ {
		if _, _, err := x.Search("filler", Options{Limit: 10}); err != nil {
			t.Errorf("Search during Update: %v", err)
		}
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	// Every hit of a folder, looked up at once.
	sums, total, err := x.Search("filler", Options{})
	keys := map[string]bool{}
	for _, s := range sums {
		if strings.HasPrefix(s.Subject, "bulk") {
			keys[s.Key] = true
		}
	}
	if err != nil || total != 1190 || len(sums) != 1190 || len(keys) != 1190 {
		t.Errorf("Search(filler) after Update: %d hits (%d bulk) of total %d, %v; want 1190", len(sums), len(keys), total, err)
	}
	if got := found(t, x, "garcia", Options{}); !slices.Equal(got, []int{1}) {
		t.Errorf("Search(garcia) = %v, want [1]", got)
	}
}

// TestPhrase: phrases whose words repeat, whose rarest word is anywhere in them, and phrases
// found only in some of the fields.
func TestPhrase(t *testing.T) {
	dir := t.TempDir()
	s, err := storage.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	bodies := []string{
		"one two one two three one two",
		"two one two two three",
		"three two one",
		"the mail of the tree grows", // common words ("the", "of", "a") are also indexed in pairs
		"mail the tree of a mail",    // with the word after them
	}
	for i, b := range bodies {
		msg := fmt.Sprintf("From: p%d@example.org\r\nSubject: phrase test\r\nDate: Mon, 0%d Jul 2024 10:00:00 +0000\r\n\r\n%s\r\n", i, i+1, b)
		if err := os.WriteFile(filepath.Join(dir, "Maildir", "cur", fmt.Sprintf("170000100%d.p.host:2,S", i)), []byte(msg), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	x := openIndex(t, s)
	for _, tt := range []struct {
		q    string
		want int // bit i: message i matches
	}{
		{`"one two three"`, 0b001},
		{`"two three"`, 0b011},
		{`"two one two"`, 0b011},
		{`"one two one two three"`, 0b001},
		{`"two two three"`, 0b010},
		{`"three two one"`, 0b100},
		{`"three one"`, 0b001},
		{`"three one one"`, 0b000},
		{`"one one"`, 0b000},
		{`"phrase test"`, 0b11111},
		{`"test phrase"`, 0b000},
		{`"test one"`, 0b000}, // subject then body: two fields
		{`"the mail"`, 0b01000},
		{`"mail the"`, 0b10000},
		{`"the tree"`, 0b11000},
		{`"of the tree"`, 0b01000},
		{`"mail of"`, 0b01000},
		{`"a mail"`, 0b10000},
		{`"of a"`, 0b10000},
		{`"the of"`, 0b00000},
		{`"the mail of the tree"`, 0b01000},
		{`"mail the tree of a mail"`, 0b10000},
		{`"tree of"`, 0b10000},
		{`"mail tree"`, 0b00000},
		{`"the tree grows"`, 0b01000},
		{`"mail of the tree grows"`, 0b01000},
		{`"tree grows"`, 0b01000},
	} {
		sums, _, err := x.Search(tt.q, Options{})
		if err != nil {
			t.Fatal(err)
		}
		got := 0
		for _, s := range sums {
			got |= 1 << int(s.Key[9]-'0')
		}
		if got != tt.want {
			t.Errorf("Search(%s) = %05b, want %05b", tt.q, got, tt.want)
		}
	}
}

// TestUnchangedMaildir: an Update that finds the Maildir's directories as the last one left them
// does nothing; any delivery, flag change or deletion after it is seen.
func TestUnchangedMaildir(t *testing.T) {
	s := newStore(t)
	x := openIndex(t, s)
	md := filepath.Join(s.Dir(), "Maildir")
	age := func() {
		old := time.Now().Add(-time.Hour)
		filepath.Walk(md, func(p string, fi os.FileInfo, err error) error {
			if err == nil && fi.IsDir() {
				err = os.Chtimes(p, old, old)
			}
			return err
		})
	}
	check := updated(t, x)
	age()
	check("garcia", []int{1})
	if x.t.stamp == "" {
		t.Fatal("no stamp kept after an Update of an old Maildir")
	}
	deliverZeppelin(t, s)
	check("zeppelin", []int{9})
	age()
	check("zeppelin", []int{9})
	if err := s.SetFlags(storage.Inbox, []string{key(9)}, storage.FlagFlagged, 0); err != nil {
		t.Fatal(err)
	}
	check("is:flagged zeppelin", []int{9})
	age()
	check("is:flagged", []int{9, 2})
	if err := os.Remove(filepath.Join(md, "cur", key(2)+":2,FS")); err != nil {
		t.Fatal(err)
	}
	check("is:flagged", []int{9})
}

// TestSearchListingIsSearch: SearchListing finds what Search finds, whose summaries are read from
// the index file or, once the store has loaded the folder, decoded from the records it keeps.
func TestSearchListingIsSearch(t *testing.T) {
	s := newStore(t)
	x := openIndex(t, s)
	same := func(when string) {
		for _, q := range []string{"engine", "ada@example.org", "is:unread", "zeppelin"} {
			sums, total, err := x.Search(q, Options{})
			if err != nil {
				t.Fatalf("%s: Search(%q): %v", when, q, err)
			}
			l, ltotal, lerr := x.SearchListing(q, Options{})
			if lerr != nil || ltotal != total || l.Len() != len(sums) {
				t.Fatalf("%s: SearchListing(%q) = %d of %d, %v; Search %d of %d", when, q, l.Len(), ltotal, lerr, len(sums), total)
			}
			if got := l.Summaries(); len(sums) > 0 && !reflect.DeepEqual(got, sums) {
				t.Errorf("%s: SearchListing(%q) lists %+v, Search %+v", when, q, got, sums)
			}
			for i := range sums {
				if j, ok := l.Index(sums[i].Key); !ok || j != i || !reflect.DeepEqual(l.Summary(i), sums[i]) {
					t.Errorf("%s: SearchListing(%q): Index(%s) = %d, %v", when, q, sums[i].Key, j, ok)
				}
			}
		}
	}
	same("folder not loaded")
	if _, err := s.Summaries(storage.Inbox); err != nil {
		t.Fatal(err)
	}
	same("folder loaded")
	// Hits in two folders: the engine messages but one moved away.
	sums, _, err := x.Search("engine", Options{})
	if err != nil || len(sums) < 2 {
		t.Fatalf("Search(engine) = %d hits, %v; want 2 or more", len(sums), err)
	}
	if err := s.CreateFolder("Work"); err != nil {
		t.Fatal(err)
	}
	if err := s.Move(storage.Inbox, "Work", []string{sums[1].Key}); err != nil {
		t.Fatal(err)
	}
	if err := x.Update(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	same("hits in two folders")
}

// TestDocInfoSize keeps the document table's record packed: one per message stays in memory while
// the index is open.
func TestDocInfoSize(t *testing.T) {
	if n := unsafe.Sizeof(docInfo{}); n > 40 {
		t.Errorf("docInfo takes %d bytes; reorder its fields to pack it into 40", n)
	}
}

// TestTableRoundTripKeepsNoFileBytes: a document table decodes to what was encoded, and keeps
// none of the file's bytes (its strings are copies: the file's buffer can go).
func TestTableRoundTripKeepsNoFileBytes(t *testing.T) {
	want := &table{stamp: "stamp", folders: []string{"INBOX", "Work"}, segs: []segInfo{{name: "seg-1", lo: 0, hi: 3, n: 2}}}
	for i, k := range []string{"1767000000.M1P1.host", "", "1767000002.M3P1.host"} {
		if k == "" {
			want.docs = append(want.docs, docInfo{})
			continue
		}
		want.docs = append(want.docs, docInfo{key: k, size: int64(100 * i), date: int64(1767000000 + i), folder: uint32(i % 2), flags: storage.FlagSeen, attach: i == 2, live: true})
		want.order = append(want.order, uint32(i))
	}
	data := want.encode()
	got, err := decodeTable(data)
	if err != nil {
		t.Fatal(err)
	}
	for i := range data {
		data[i] = 'X'
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("decoded, then the file's bytes overwritten: %+v, want %+v", got, want)
	}
}

// FuzzDecodeTable: any bytes decode to a table or errDamaged, never a panic, and a table decoded
// is written again as the same table.
func FuzzDecodeTable(f *testing.F) {
	t := &table{stamp: "s", folders: []string{"INBOX"}, segs: []segInfo{{name: "seg-1", lo: 0, hi: 2, n: 2}},
		docs: []docInfo{{key: "k1", size: 10, date: 1, live: true}, {key: "k2", size: 20, date: 2, flags: storage.FlagSeen, attach: true, live: true}}, order: []uint32{1, 0}}
	f.Add(t.encode())
	f.Add([]byte(docsMagic))
	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := decodeTable(data)
		if err != nil {
			if !errors.Is(err, errDamaged) {
				t.Fatalf("decodeTable: %v, not errDamaged", err)
			}
			return
		}
		again, err := decodeTable(got.encode())
		if err != nil || !reflect.DeepEqual(again, got) {
			t.Fatalf("a decoded table written again reads %+v, %v; was %+v", again, err, got)
		}
	})
}
