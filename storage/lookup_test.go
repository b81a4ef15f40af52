package storage

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// pick returns, for each key, its summary in all (a zero Summary when all has none).
func pick(all []Summary, keys []string) []Summary {
	byKey := map[string]Summary{}
	for _, s := range all {
		byKey[s.Key] = s
	}
	out := make([]Summary, len(keys))
	for i, k := range keys {
		out[i] = byKey[k]
	}
	return out
}

// TestSummariesOfIsSummaries: SummariesOf gives the summaries of its keys in their order, from
// the index file in a fresh Store (which then has not loaded the folder, unless it was given many
// keys) and from memory in one that has, for keys in several blocks, a key given twice and one
// the folder lacks.
func TestSummariesOfIsSummaries(t *testing.T) {
	dir := openStore(t).Dir()
	foreignFolder(t, dir, 300)
	all := summariesOf(t, dir) // writes the index at Close
	key := func(i int) string { return all[i].Key }
	// Many keys (a quarter of the folder or more) are found by a walk along the folder's order
	// in a loaded Store: in that order, against it, with gaps, twice and missing.
	var every, reversed, sparse []string
	for i := range all {
		every = append(every, key(i))
		reversed = append(reversed, key(len(all)-1-i))
		if i%(findAhead+3) != 0 {
			sparse = append(sparse, key(i))
		}
	}
	sparse = append(sparse[:40:40], append([]string{"1600000000.M1P1.nowhere", key(7)}, sparse[40:]...)...)
	tests := []struct {
		name string
		keys []string
	}{
		{"none", nil},
		{"the newest", []string{key(0)}},
		{"the oldest", []string{key(299)}},
		{"across blocks, out of order", []string{key(200), key(3), key(indexBlockRecords), key(indexBlockRecords - 1), key(150)}},
		{"a key twice", []string{key(5), key(140), key(5)}},
		{"a key the folder lacks", []string{key(1), "1600000000.M1P1.nowhere", key(2)}},
		{"every key, newest first", every},
		{"every key, oldest first", reversed},
		{"most keys with gaps wider than the walk looks, one missing, one twice", sparse},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := pick(all, tt.keys)
			if len(tt.keys) == 0 {
				want = nil
			}
			fresh, err := Open(dir)
			if err != nil {
				t.Fatal(err)
			}
			defer fresh.Close()
			got, err := fresh.SummariesOf(Inbox, tt.keys)
			if err != nil || !reflect.DeepEqual(norm(got), norm(want)) {
				t.Fatalf("SummariesOf in a fresh Store = %v, %v\nwant %v", got, err, want)
			}
			fresh.mu.Lock()
			loaded := len(fresh.folders) != 0
			fresh.mu.Unlock()
			// A quarter of the folder's keys or more: it loads the folder, for the next call too.
			if many := len(tt.keys) >= len(all)/walkShare; loaded != many {
				t.Errorf("SummariesOf of %d keys of %d loaded the folder: %v, want %v", len(tt.keys), len(all), loaded, many)
			}
			if _, err := fresh.Summaries(Inbox); err != nil {
				t.Fatal(err)
			}
			got, err = fresh.SummariesOf("", tt.keys) // now loaded
			if err != nil || !reflect.DeepEqual(norm(got), norm(want)) {
				t.Fatalf("SummariesOf in a loaded Store = %v, %v\nwant %v", got, err, want)
			}
		})
	}
}

// TestReadIndexKeysStopsEarly: the newest 20 of 5,000 are found without reading the whole file.
func TestReadIndexKeysStopsEarly(t *testing.T) {
	s := changedStore(t, 5000, func(*testing.T, string) {})
	s.Close()
	all := summariesOf(t, s.Dir())
	data, err := os.ReadFile(indexFile(s.Dir()))
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, s := range all[:20] {
		keys = append(keys, s.Key)
	}
	r := bytes.NewReader(data)
	h, got, err := readIndexKeys(r, Inbox, keys)
	if err != nil || h.count != 5000 || !reflect.DeepEqual(got, all[:20]) {
		t.Fatalf("readIndexKeys(the newest 20) = %d of %d, %v; want the first 20 of 5000", len(got), h.count, err)
	}
	if r.Len() == 0 {
		t.Errorf("readIndexKeys(the newest 20) read the whole %d-byte file", len(data))
	}
}

// TestSummariesOfInStep: after another program changed the folder, or with the index file damaged
// or missing, SummariesOf gives what the files say.
func TestSummariesOfInStep(t *testing.T) {
	name := func(i int) string { return fmt.Sprintf("%d.M%dP1.other", 1700000000+i, i) }
	key := func(i int) string { return name(i) }
	inNew := func(dir string, i int) string { return filepath.Join(dir, "Maildir", "new", name(i)) }
	keys := []string{key(299), key(150), key(10), key(0)}
	tests := []struct {
		name   string
		change func(t *testing.T, dir string)
	}{
		{"nothing changed", func(*testing.T, string) {}},
		{"a message was read and flagged", func(t *testing.T, dir string) {
			if err := os.Rename(inNew(dir, 299), filepath.Join(dir, "Maildir", "cur", name(299)+":2,FS")); err != nil {
				t.Fatal(err)
			}
		}},
		{"a message was deleted", func(t *testing.T, dir string) {
			if err := os.Remove(filepath.Join(dir, "Maildir", "cur", name(150)+":2,S")); err != nil {
				t.Fatal(err)
			}
		}},
		{"a record's byte flipped", func(t *testing.T, dir string) {
			changeIndex(t, dir, func(data []byte) []byte {
				i := bytes.Index(data, []byte("message 10"))
				data[i] = 'M'
				return data
			})
		}},
		{"the index cut short", func(t *testing.T, dir string) {
			changeIndex(t, dir, func(data []byte) []byte { return data[:len(data)/2] })
		}},
		{"no index", func(t *testing.T, dir string) {
			if err := os.Remove(indexFile(dir)); err != nil {
				t.Fatal(err)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := changedStore(t, 300, tt.change)
			dir := s.Dir()
			got, err := s.SummariesOf(Inbox, keys)
			s.Close()
			if err != nil {
				t.Fatal(err)
			}
			if want := pick(summariesOf(t, dir), keys); !reflect.DeepEqual(norm(got), norm(want)) {
				t.Errorf("SummariesOf = %v\nwant %v", norm(got), norm(want))
			}
		})
	}
}

// changedStore writes n messages as another program would, has a Store write their index, lets
// change alter the folder or the index, and opens a fresh Store on it.
func changedStore(t *testing.T, n int, change func(t *testing.T, dir string)) *Store {
	t.Helper()
	dir := openStore(t).Dir()
	foreignFolder(t, dir, n)
	summariesOf(t, dir)
	change(t, dir)
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestListingNeverChanges: a Listing made before a flag change keeps what it had, read meanwhile
// on another goroutine (go test -race finds a change in place), and a new one has the new flags.
func TestListingNeverChanges(t *testing.T) {
	s := changedStore(t, 50, func(*testing.T, string) {})
	defer s.Close()
	l, err := s.Listing(Inbox)
	if err != nil {
		t.Fatal(err)
	}
	old := l.Summary(0)
	done := make(chan Flags)
	go func() {
		var f Flags
		for i := range 1000 {
			f |= l.Flags(i % l.Len())
			f |= l.Summary(0).Flags
		}
		done <- f
	}()
	if err := s.SetFlags(Inbox, []string{old.Key}, FlagFlagged|FlagSeen, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Summaries(Inbox); err != nil { // the folder takes the new name
		t.Fatal(err)
	}
	<-done
	if got := l.Summary(0); !reflect.DeepEqual(got, old) {
		t.Errorf("the Listing changed: %+v, was %+v", got, old)
	}
	now, err := s.Listing(Inbox)
	if err != nil {
		t.Fatal(err)
	}
	if now.Key(0) != old.Key || now.Flags(0) != FlagFlagged|FlagSeen {
		t.Errorf("after SetFlags, a new Listing has %s %v first, want %s FS", now.Key(0), now.Flags(0), old.Key)
	}
}
