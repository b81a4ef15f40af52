package storage

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"testing"

	"github.com/poplar-mail/poplar/internal/mailgen"
)

// TestScanManyFiles: the first open of a Maildir another program filled, with more files than
// the listing hands over at once (scanBatchFiles) in cur/ and some in new/, gives every message
// once (one left under two names by a crash shows once, a dot file is no message) with the
// summary its file alone gives, its key and its flags.
func TestScanManyFiles(t *testing.T) {
	dir := t.TempDir()
	md := filepath.Join(dir, "Maildir")
	for _, sub := range []string{"cur", "new", "tmp"} {
		if err := os.MkdirAll(filepath.Join(md, sub), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	msgs := mailgen.Messages(2*scanBatchFiles+90, mailgen.Archive)
	want := map[string]Summary{}
	buf := make([]byte, ingestBytes)
	for i, m := range msgs {
		key := fmt.Sprintf("%d.M%dP1.scan", 1700000000+i, i)
		sub, name, flags := "cur", key+":2,S", FlagSeen
		switch {
		case i%10 == 0:
			sub, name, flags = "new", key, 0
		case i%7 == 0:
			name, flags = key+":2,FS", FlagSeen|FlagFlagged
		}
		p := filepath.Join(md, sub, name)
		if err := os.WriteFile(p, m, 0o600); err != nil {
			t.Fatal(err)
		}
		e, err := ingest(p, buf)
		if err != nil {
			t.Fatal(err)
		}
		e.name, e.flags = name, flags
		want[key] = decodeSummary(&recordDecoder{}, nil, Inbox, e)
	}
	// A crash between link and unlink left message 1 in new/ too; a dot file is no message.
	if err := os.WriteFile(filepath.Join(md, "new", "1700000001.M1P1.scan"), msgs[1], 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(md, "cur", ".hidden"), msgs[2], 0o600); err != nil {
		t.Fatal(err)
	}
	sums := summariesOf(t, dir)
	if len(sums) != len(msgs) {
		t.Errorf("%d summaries of %d messages", len(sums), len(msgs))
	}
	for _, got := range sums {
		w, ok := want[got.Key]
		if got.Key == "1700000001.M1P1.scan" && got.Flags == 0 {
			w.Flags = 0 // either name may show: this is the one in new/
		}
		if !ok || !reflect.DeepEqual(got, w) {
			t.Errorf("summary of %q:\n%+v\nwant\n%+v", got.Key, got, w)
		}
	}
}

// TestSortEntries: the folder order sorted on several cores is the order one sort gives, for any
// number of cores, with Dates and arrival times that repeat (the key decides).
func TestSortEntries(t *testing.T) {
	for _, n := range []int{0, 1, 100, parallelSortMin - 1, parallelSortMin, 3*parallelSortMin + 7} {
		for _, cores := range []int{1, 2, 3, 4} {
			es := make([]*entry, n)
			for i := range es {
				es[i] = &entry{name: fmt.Sprintf("k%06d", (i*7919)%max(n, 1)), date: int64(i * 31 % 97), recv: int64(i % 5)}
			}
			want := slices.Clone(es)
			sort.Slice(want, func(i, j int) bool { return newer(want[i], want[j]) })
			sortEntries(es, cores)
			if !slices.Equal(es, want) {
				t.Errorf("%d entries on %d cores: not in the order of one sort", n, cores)
			}
		}
	}
}
