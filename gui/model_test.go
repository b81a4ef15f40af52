package gui

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/poplar-mail/poplar/storage"
	"github.com/poplar-mail/poplar/storage/mailview"
)

func sums(n int) []storage.Summary {
	out := make([]storage.Summary, n)
	for i := range out {
		out[i] = storage.Summary{Key: fmt.Sprintf("k%d", i), Summary: mailview.Summary{
			From: fmt.Sprintf("Sender %d", i%1000), Subject: fmt.Sprintf("Subject number %d about poplar trees", i),
			Date: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).Add(-time.Duration(i) * time.Minute)}} // newest first
	}
	return out
}

func TestListModelFilter(t *testing.T) {
	tests := []struct {
		query string
		want  int
	}{
		{"", 1000},
		{"sender 7", 271},         // every word anywhere: the numbers 0-999 with a 7 in them
		{"SUBJECT NUMBER 99", 19}, // 99, x99 (9 more), 990-998
		{"sender 7 about 7", 271}, // repeated words change nothing
		{"poplar sender 999", 1},
		{"nothing", 0},
	}
	var m listModel
	m.set(sums(1000))
	for _, tc := range tests {
		m.filter(tc.query)
		if m.len() != tc.want {
			t.Errorf("filter(%q) = %d rows, want %d", tc.query, m.len(), tc.want)
		}
	}
	m.filter("number 5")
	if r := m.row("k5"); r != 0 || m.at(r).Key != "k5" {
		t.Errorf("row(k5) = %d", r)
	}
	if m.row("k6") != -1 || m.at(-1) != nil {
		t.Error("rows outside the view")
	}
}

// TestListModelFilterSeesChanges: the filter's text is made when it is first needed, and then
// follows messages that arrive or change, whichever comes first.
func TestListModelFilterSeesChanges(t *testing.T) {
	changed := dated("k1", "Sender 1", "Renamed subject", 2, 1)
	for _, filterFirst := range []bool{false, true} {
		var m listModel
		m.set(sums(10))
		if filterFirst {
			m.filter("arrived")
		}
		m.insert(dated("new", "Someone", "Arrived today", 3, 1), changed)
		m.filter("arrived")
		if m.len() != 1 || m.at(0).Key != "new" {
			t.Errorf("filter first %v: filter(arrived) after insert shows %d rows", filterFirst, m.len())
		}
		m.filter("renamed")
		if m.len() != 1 || m.at(0).Key != "k1" {
			t.Errorf("filter first %v: filter(renamed) after an update in place shows %d rows", filterFirst, m.len())
		}
		if m.filter("number"); m.len() != 9 {
			t.Errorf("filter first %v: filter(number) shows %d rows, want the 9 unchanged", filterFirst, m.len())
		}
	}
}

// TestListModelSharesSummaries: the model keeps the summaries it is given (not copies) and
// never changes them: new flags and an updated message take a copy's place.
func TestListModelSharesSummaries(t *testing.T) {
	shared := sums(3)
	var m listModel
	m.setRefs(refsOf(shared))
	if m.get("k1") != &shared[1] {
		t.Fatal("setRefs copied the summaries")
	}
	m.setFlags("k1", storage.FlagSeen|storage.FlagFlagged)
	changed := shared[2]
	changed.Subject = "Changed"
	m.insert(changed)
	if shared[1].Flags != 0 || shared[2].Subject == "Changed" {
		t.Errorf("the model changed a summary it was given: %+v, %+v", shared[1], shared[2])
	}
	if f := m.get("k1").Flags; f != storage.FlagSeen|storage.FlagFlagged {
		t.Errorf("after setFlags the model shows flags %v", f)
	}
	if s := m.get("k2").Subject; s != "Changed" {
		t.Errorf("after insert of a changed message the model shows %q", s)
	}
}

// BenchmarkListModelOpen100k measures loading a 100,000-message folder into the list model.
func BenchmarkListModelOpen100k(b *testing.B) {
	s := sums(100000)
	b.ReportAllocs()
	for b.Loop() {
		var m listModel
		m.set(s)
	}
}

// BenchmarkListModelFilter100k measures one keystroke of search in a 100,000-message folder.
func BenchmarkListModelFilter100k(b *testing.B) {
	var m listModel
	m.set(sums(100000))
	qs := []string{"s", "se", "sender 4", "sender 42"}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		m.filter(qs[i%len(qs)])
		i++
	}
}

func dated(key, from, subject string, day int, size int64) storage.Summary {
	return storage.Summary{Key: key, Size: size, Summary: mailview.Summary{From: from, Subject: subject,
		Date: time.Date(2026, 1, day, 10, 0, 0, 0, time.UTC)}}
}

func keys(m *listModel) string {
	var out []string
	for i := 0; i < m.len(); i++ {
		out = append(out, m.at(i).Key)
	}
	return strings.Join(out, " ")
}

func TestListModelSort(t *testing.T) {
	base := []storage.Summary{dated("a", "Zoe", "Re: beta", 1, 300), dated("b", "adam", "alpha", 3, 100), dated("c", "Mia", "Fwd: gamma", 2, 200)}
	tests := []struct {
		order sortOrder
		want  string
	}{
		{sortOrder{key: byDate}, "b c a"},
		{sortOrder{key: byDate, ascending: true}, "a c b"},
		{sortOrder{key: bySender, ascending: true}, "b c a"},
		{sortOrder{key: bySubject, ascending: true}, "b a c"}, // Re:/Fwd: ignored
		{sortOrder{key: bySize}, "a c b"},
		{parseSortOrder("size-asc"), "b c a"},
		{parseSortOrder("nonsense"), "b c a"},
	}
	for _, tc := range tests {
		var m listModel
		m.sortBy = tc.order
		m.set(append([]storage.Summary(nil), base...))
		if got := keys(&m); got != tc.want {
			t.Errorf("%v: %s, want %s", tc.order, got, tc.want)
		}
		if parseSortOrder(tc.order.String()) != tc.order {
			t.Errorf("%v does not survive String/parse", tc.order)
		}
	}
}

// TestListModelInsert: messages that arrive go to their sorted place; the selection and the
// cursor stay; a filtered view only shows matching ones.
func TestListModelInsert(t *testing.T) {
	var m listModel
	m.set([]storage.Summary{dated("a", "Ann", "one", 1, 1), dated("c", "Cy", "three", 3, 1)})
	m.selectOnly(m.row("a"))
	m.insert(dated("d", "Di", "four", 4, 1), dated("b", "Bo", "two", 2, 1))
	if got := keys(&m); got != "d c b a" {
		t.Fatalf("after insert: %s", got)
	}
	if m.cursor != "a" || !m.isSelected("a") || len(m.selected()) != 1 {
		t.Fatalf("insert moved the selection: cursor %q, %v", m.cursor, m.selected())
	}
	m.filter("e") // Ann/one and Cy/three match
	m.insert(dated("e", "Eve", "five", 5, 1), dated("x", "Xi", "six", 6, 1))
	if got := keys(&m); got != "e c a" {
		t.Fatalf("filtered insert: %s", got)
	}
	m.insert(dated("c", "Cy", "three again", 3, 1)) // a key already there is updated in place
	if m.filter(""); keys(&m) != "x e d c b a" || m.get("c").Subject != "three again" {
		t.Fatalf("update in place: %s, %q", keys(&m), m.get("c").Subject)
	}
}

func TestListModelRemoveSelectsNext(t *testing.T) {
	tests := []struct {
		cursor, remove, next string
	}{
		{"c", "c", "b"},      // the one below
		{"a", "a", "b"},      // the last: the one above
		{"c", "c b", "a"},    // several: the first remaining below
		{"b", "d", "b"},      // the cursor stays when it is not removed
		{"a", "a b c d", ""}, // nothing left
	}
	for _, tc := range tests {
		var m listModel
		m.set([]storage.Summary{dated("a", "A", "a", 1, 1), dated("b", "B", "b", 2, 1), dated("c", "C", "c", 3, 1), dated("d", "D", "d", 4, 1)})
		m.selectOnly(m.row(tc.cursor))
		if got := m.remove(strings.Fields(tc.remove)); got != tc.next {
			t.Errorf("cursor %s, remove %s: next %q, want %q", tc.cursor, tc.remove, got, tc.next)
		}
		if m.len() != 4-len(strings.Fields(tc.remove)) {
			t.Errorf("remove %s left %d rows", tc.remove, m.len())
		}
	}
}

func TestListModelSelection(t *testing.T) {
	var m listModel
	m.set(sums(10))
	m.selectOnly(2)
	m.extend(5)
	if got := len(m.selected()); got != 4 {
		t.Fatalf("extend 2..5 selected %d", got)
	}
	m.extend(0) // from the same anchor, the other way
	if got := m.selected(); len(got) != 3 || got[0] != m.at(0).Key {
		t.Fatalf("extend 2..0 selected %v", got)
	}
	m.toggle(7)
	m.toggle(1)
	if got := len(m.selected()); got != 3 || m.isSelected(m.at(1).Key) || !m.isSelected(m.at(7).Key) {
		t.Fatalf("toggles: %v", m.selected())
	}
	m.selectAll()
	if len(m.selected()) != 10 {
		t.Fatal("select all")
	}
	m.filter("number 3")
	if got := m.selected(); len(got) != 1 {
		t.Fatalf("selected rows shown under a filter: %v", got)
	}
}

// BenchmarkListModelInsert100k measures one new message arriving in a 100,000-message folder.
func BenchmarkListModelInsert100k(b *testing.B) {
	var m listModel
	m.set(sums(100000))
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		m.insert(dated(fmt.Sprintf("new%d", i), "New sender", "New subject", 1+i%28, 1))
		i++
	}
}

// TestListModelConversations: grouped by conversation, a reply comes under what it answers, one
// level deeper, and threads are ordered by their newest message; a new reply joins its thread.
func TestListModelConversations(t *testing.T) {
	a := dated("a", "Ann", "Plans", 1, 1)
	a.MessageID = "a@x"
	b := dated("b", "Bo", "Re: Plans", 3, 1)
	b.MessageID, b.InReplyTo, b.References = "b@x", "a@x", []string{"a@x"}
	c := dated("c", "Cy", "Other", 2, 1)
	c.MessageID = "c@x"
	var m listModel
	m.set([]storage.Summary{a, b, c})
	if got := keys(&m); got != "b c a" {
		t.Fatalf("by date: %s", got)
	}
	m.setThreaded(true)
	if got := keys(&m); got != "a b c" || m.depthOf(0) != 0 || m.depthOf(1) != 1 || m.depthOf(2) != 0 {
		t.Fatalf("conversations: %s, depths %d %d %d", got, m.depthOf(0), m.depthOf(1), m.depthOf(2))
	}
	d := dated("d", "Di", "Re: Other", 4, 1)
	d.MessageID, d.InReplyTo, d.References = "d@x", "c@x", []string{"c@x"}
	m.insert(d)
	if got := keys(&m); got != "c d a b" || m.depthOf(1) != 1 {
		t.Fatalf("after a reply arrived: %s (depth %d)", got, m.depthOf(1))
	}
	m.setThreaded(false)
	if got := keys(&m); got != "d b c a" || m.depthOf(1) != 0 {
		t.Fatalf("ungrouped again: %s", got)
	}
}

// TestListModelFromListing: a folder's list read through its storage.Listing (summaries decoded
// when asked for) shows the rows, in every order, that the same summaries given in memory show,
// and finds, selects, removes and adds messages by key the same way. Many messages share a Date,
// so the default order's ties are decided as a full sort decides them.
func TestListModelFromListing(t *testing.T) {
	s, err := storage.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	b := s.NewBatch()
	for i := range 120 {
		m := fmt.Sprintf("From: Sender %d <s%d@example.org>\nSubject: Re: subject %d\nDate: Mon, 5 Jan 2026 %02d:00:00 +0000\n\nbody\n", i%9, i, i%13, i%5)
		if _, err := b.Deliver(strings.NewReader(m), storage.DeliverInfo{UIDL: fmt.Sprint(i), Received: time.Unix(1767000000+int64(i%3), 0)}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := b.Commit(); err != nil {
		t.Fatal(err)
	}
	// Mail another program wrote, under names that do not start with the time: its arrival is
	// the file's time, which runs against the names' order.
	for i := range 30 {
		p := filepath.Join(s.Dir(), "Maildir", "cur", fmt.Sprintf("other%02d:2,S", i))
		m := fmt.Sprintf("From: Other <o@example.org>\nSubject: other %d\nDate: Mon, 5 Jan 2026 %02d:00:00 +0000\n\nbody\n", i, i%5)
		if err := os.WriteFile(p, []byte(m), 0o600); err != nil {
			t.Fatal(err)
		}
		mt := time.Unix(1767000100-int64(i), 0)
		if err := os.Chtimes(p, mt, mt); err != nil {
			t.Fatal(err)
		}
	}
	l, err := s.Listing(storage.Inbox)
	if err != nil {
		t.Fatal(err)
	}
	all := l.Summaries()
	shuffled := make([]storage.Summary, len(all))
	for i := range all {
		shuffled[(i*37)%len(all)] = all[i]
	}
	var lm, rm listModel
	lm.setSource(listingSource{l, true})
	rm.set(shuffled)
	for _, o := range []sortOrder{{key: byDate}, {key: byDate, ascending: true}, {key: bySender}, {key: bySubject, ascending: true}, {key: bySize}} {
		lm.setSort(o)
		rm.setSort(o)
		if got, want := keys(&lm), keys(&rm); got != want {
			t.Errorf("sorted by %v: from the Listing\n%s\nin memory\n%s", o, got, want)
		}
	}
	lm.setSort(sortOrder{key: byDate})
	rm.setSort(sortOrder{key: byDate})
	lm.setThreaded(true)
	rm.setThreaded(true)
	if got, want := keys(&lm), keys(&rm); got != want {
		t.Errorf("grouped by conversation: from the Listing\n%s\nin memory\n%s", got, want)
	}
	lm.setThreaded(false)
	rm.setThreaded(false)
	for _, m := range []*listModel{&lm, &rm} {
		m.selectOnly(4)
		k := m.at(4).Key
		if r := m.row(k); r != 4 || m.get(k) == nil || m.get(k).Key != k {
			t.Fatalf("row of %s = %d, get %v", k, r, m.get(k))
		}
		next := m.remove([]string{k})
		if m.row(k) != -1 || m.get(k) != nil || next != m.at(4).Key {
			t.Errorf("after removing %s: row %d, next %q, at 4 %s", k, m.row(k), next, m.at(4).Key)
		}
		back := all[0]
		for _, s := range all {
			if s.Key == k {
				back = s
			}
		}
		m.insert(back) // undone: it comes back in its place
		if m.row(k) != 4 {
			t.Errorf("re-inserted %s at row %d, want 4", k, m.row(k))
		}
		m.setFlags(k, storage.FlagSeen|storage.FlagFlagged)
		if f := m.get(k).Flags; f != storage.FlagSeen|storage.FlagFlagged {
			t.Errorf("flags of %s after setFlags: %v", k, f)
		}
	}
	if got, want := keys(&lm), keys(&rm); got != want {
		t.Errorf("after remove and insert: from the Listing\n%s\nin memory\n%s", got, want)
	}
}
