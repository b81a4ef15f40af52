package storage

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// datedMsg is message i of a test mailbox, dated day days into 2020 (out of order on purpose).
func datedMsg(i, day int) string {
	return fmt.Sprintf("From: Sender %d <s%d@example.org>\nTo: bob@example.org\nSubject: m%d\nMessage-ID: <%d@x>\nDate: %02d Jan 2020 10:00:00 +0100\n\nbody of %d\n", i, i, i, i, day, i)
}

// commitBatch delivers the messages numbered from first, one a day of days, in one batch, and
// returns the keys Deliver gave and the summaries Commit returned.
func commitBatch(t *testing.T, s *Store, first int, days []int) (keys []string, sums []Summary) {
	t.Helper()
	b := s.NewBatch()
	for j, d := range days {
		k, err := b.Deliver(strings.NewReader(datedMsg(first+j, d)), DeliverInfo{UIDL: fmt.Sprintf("u%d", first+j)})
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, k)
	}
	sums, err := b.Commit()
	if err != nil {
		t.Fatal(err)
	}
	return keys, sums
}

// inboxKeys returns the keys the Store's in-memory Inbox index holds, as they are (no refresh).
func inboxKeys(s *Store) []string {
	s.mu.Lock()
	f := s.folders[Inbox]
	s.mu.Unlock()
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, e := range f.sorted {
		out = append(out, e.key())
	}
	slices.Sort(out)
	return out
}

// TestCommitAddsDelivered: a commit into an Inbox this Store has read adds exactly the delivered
// messages to its index, with the summaries Commit returns, in delivery order; a file another
// program dropped into new/ meanwhile is not taken for one of them, and the next read finds it,
// even when new/'s time says nothing changed (a change within the clock tick of the commit or of
// the last listing).
func TestCommitAddsDelivered(t *testing.T) {
	for _, tick := range []string{"time of the commit", "time of the last listing"} {
		t.Run(tick, func(t *testing.T) {
			s := openStore(t)
			newDir := filepath.Join(s.Dir(), "Maildir", "new")
			commitBatch(t, s, 0, []int{3, 1})
			before, err := s.Summaries(Inbox) // read: the commit below adds to a loaded index
			if err != nil {
				t.Fatal(err)
			}
			listed, _ := os.Stat(newDir)
			foreign := "1600000000.M1P1.other"
			if err := os.WriteFile(filepath.Join(newDir, foreign), []byte(datedMsg(99, 9)), 0o600); err != nil {
				t.Fatal(err)
			}
			keys, sums := commitBatch(t, s, 2, []int{5, 2, 4})
			var got []string
			for _, m := range sums {
				got = append(got, m.Key)
			}
			if !slices.Equal(got, keys) {
				t.Fatalf("Commit returned the summaries of %v, want the delivered %v", got, keys)
			}
			for i, m := range sums {
				if m.Subject != fmt.Sprintf("m%d", 2+i) || m.UIDL != fmt.Sprintf("u%d", 2+i) || m.Folder != Inbox || m.Size == 0 {
					t.Errorf("summary %d = %+v", i, m)
				}
			}
			want := slices.Clone(keys)
			for _, m := range before {
				want = append(want, m.Key)
			}
			slices.Sort(want)
			if idx := inboxKeys(s); !slices.Equal(idx, want) {
				t.Fatalf("index after the commit holds %v, want the earlier and the delivered messages %v", idx, want)
			}
			// Another program's file, its change hidden in one clock tick.
			fi := listed
			if tick == "time of the commit" {
				fi, _ = os.Stat(newDir)
			}
			if err := os.Chtimes(newDir, fi.ModTime(), fi.ModTime()); err != nil {
				t.Fatal(err)
			}
			all, err := s.Summaries(Inbox)
			if err != nil {
				t.Fatal(err)
			}
			if len(all) != 6 || !slices.ContainsFunc(all, func(m Summary) bool { return m.Key == foreign }) {
				t.Fatalf("after the commit a read finds %d messages (want 6), the foreign %s among them: %v", len(all), foreign, norm(all))
			}
		})
	}
}

// TestFetchIndexEqualsScan: the Inbox index after batches committed into a loaded folder (with
// dates out of order, another program's files arriving between two commits, and an index save in
// the middle) equals the index a fresh scan builds, in memory after Close and in the index file
// Close writes; that file is in step with the folder, so the next Store trusts it as it is.
func TestFetchIndexEqualsScan(t *testing.T) {
	s := openStore(t)
	md := filepath.Join(s.Dir(), "Maildir")
	if _, err := s.Summaries(Inbox); err != nil {
		t.Fatal(err)
	}
	commitBatch(t, s, 0, []int{5, 1, 9})
	os.WriteFile(filepath.Join(md, "new", "1600000001.M1P1.other"), []byte(datedMsg(100, 4)), 0o600)
	os.WriteFile(filepath.Join(md, "cur", "1600000002.M1P1.other:2,S"), []byte(datedMsg(101, 6)), 0o600)
	commitBatch(t, s, 3, []int{3, 3, 7, 2})
	s.mu.Lock()
	s.folders[Inbox].written = time.Time{} // the next commit saves the index file
	s.mu.Unlock()
	commitBatch(t, s, 7, []int{8, 6})
	if err := s.Close(); err != nil { // with no read since the commits: Close lists what changed
		t.Fatal(err)
	}
	s.mu.Lock()
	f := s.folders[Inbox]
	s.mu.Unlock()
	var got []Summary
	for _, e := range f.sorted { // as it is, without a refresh
		got = append(got, f.summary(e))
	}
	// The index file Close wrote, in step with new/ and cur/.
	data, err := os.ReadFile(indexFile(s.Dir()))
	if err != nil {
		t.Fatal(err)
	}
	ents, sn, sc, err := decodeIndex(data, Inbox)
	if err != nil {
		t.Fatal(err)
	}
	mn, _ := mtime(filepath.Join(md, "new"))
	mc, _ := mtime(filepath.Join(md, "cur"))
	if sn != mn || sc != mc {
		t.Errorf("index file stamps %d, %d; the folder's times are %d, %d", sn, sc, mn, mc)
	}
	var saved []Summary
	for _, e := range ents {
		saved = append(saved, decodeSummary(&recordDecoder{}, data, Inbox, e))
	}
	os.Remove(indexFile(s.Dir()))
	want := summariesOf(t, s.Dir()) // no index file: a full scan
	if len(want) != 11 {
		t.Fatalf("a scan finds %d messages, want 11", len(want))
	}
	for name, sums := range map[string][]Summary{"in memory": got, "in the index file": saved} {
		if g, w := norm(sums), norm(want); !slices.Equal(g, w) {
			t.Errorf("index %s differs from a scan's:\n got %q\nwant %q", name, g, w)
		}
	}
}
