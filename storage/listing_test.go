package storage

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"
)

// TestListing: a Listing gives the folder's summaries in the order of Summaries, finds each key,
// and stays as it was made while the folder changes (a flag, a new message); a new one sees the
// changes. Half the messages share one Date, so arrival and key decide their order.
func TestListing(t *testing.T) {
	s := openStore(t)
	b := s.NewBatch()
	for i := range 200 {
		date := "Mon, 5 Jan 2026 10:00:00 +0000"
		if i%2 == 0 {
			date = fmt.Sprintf("Mon, 5 Jan 2026 %02d:%02d:00 +0000", i/60, i%60)
		}
		m := fmt.Sprintf("From: s%d@example.org\nSubject: subject %d\nDate: %s\n\nbody %d\n", i, i, date, i)
		if _, err := b.Deliver(strings.NewReader(m), DeliverInfo{UIDL: fmt.Sprintf("u%d", i), Received: time.Unix(1767000000+int64(i%7), 0)}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := b.Commit(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil { // the next Store reads the index file: records, not summaries
		t.Fatal(err)
	}
	s, err := Open(s.Dir())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	check := func(when string, l *Listing) []Summary {
		t.Helper()
		want, err := s.Summaries(Inbox)
		if err != nil {
			t.Fatal(err)
		}
		if l.Len() != len(want) {
			t.Fatalf("%s: %d messages listed, %d in the folder", when, l.Len(), len(want))
		}
		if all := l.Summaries(); !reflect.DeepEqual(all, want) {
			t.Fatalf("%s: Summaries of the Listing differ from the folder's", when)
		}
		for i := range want {
			if got := l.Summary(i); !reflect.DeepEqual(got, want[i]) {
				t.Fatalf("%s: Summary(%d) = %+v, want %+v", when, i, got, want[i])
			}
			if l.Key(i) != want[i].Key || l.Flags(i) != want[i].Flags {
				t.Fatalf("%s: message %d is %s %v, want %s %v", when, i, l.Key(i), l.Flags(i), want[i].Key, want[i].Flags)
			}
			if j, ok := l.Index(want[i].Key); !ok || j != i {
				t.Fatalf("%s: Index(%s) = %d, %v; want %d", when, want[i].Key, j, ok, i)
			}
		}
		if j, ok := l.Index("no-such-key"); ok {
			t.Errorf("%s: Index of a key not there = %d", when, j)
		}
		return want
	}
	l, err := s.Listing(Inbox)
	if err != nil {
		t.Fatal(err)
	}
	before := check("read from the index file", l)

	// Changes after the Listing was made leave it as it was.
	if err := s.SetFlags(Inbox, []string{before[3].Key}, FlagFlagged, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Summaries(Inbox); err != nil { // the folder sees the new name
		t.Fatal(err)
	}
	deliver(t, s, map[string]string{"late": msg("late", "arrived after")})
	if l.Len() != len(before) || l.Flags(3) != before[3].Flags {
		t.Errorf("the Listing changed with the folder: %d messages, flags %v", l.Len(), l.Flags(3))
	}
	if all := l.Summaries(); !reflect.DeepEqual(all, before) {
		t.Error("the Listing's summaries changed with the folder")
	}
	l2, err := s.Listing(Inbox)
	if err != nil {
		t.Fatal(err)
	}
	after := check("after a flag and a new message", l2)
	if len(after) != len(before)+1 {
		t.Errorf("a new Listing has %d messages, want %d", len(after), len(before)+1)
	}
}

// TestListingOf: a Listing of hits keeps their order across folders and leaves out a key no
// longer there and the hits of a folder that is gone.
func TestListingOf(t *testing.T) {
	s := openStore(t)
	keys := deliver(t, s, map[string]string{"a": msg("a", "x"), "b": msg("b", "y"), "c": msg("c", "z")})
	if err := s.CreateFolder("Work"); err != nil {
		t.Fatal(err)
	}
	if err := s.Move(Inbox, "Work", []string{keys["b"]}); err != nil {
		t.Fatal(err)
	}
	hits := []Hit{{Inbox, keys["c"]}, {"Work", keys["b"]}, {"Gone", "k1"}, {Inbox, "no-such-key"}, {Inbox, keys["a"]}}
	l, err := s.ListingOf(hits)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for i := range l.Len() {
		sum := l.Summary(i)
		got = append(got, sum.Folder+"/"+sum.Subject)
		if sum.Key != l.Key(i) {
			t.Errorf("message %d: Summary has key %s, Key %s", i, sum.Key, l.Key(i))
		}
	}
	if want := []string{Inbox + "/c", "Work/b", Inbox + "/a"}; !reflect.DeepEqual(got, want) {
		t.Errorf("ListingOf lists %v, want %v", got, want)
	}
	if i, ok := l.Index(keys["b"]); !ok || i != 1 {
		t.Errorf("Index of the Work hit = %d, %v; want 1", i, ok)
	}
}
