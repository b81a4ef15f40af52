package storage

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestLedgerSnapshot: the snapshot's lookup answers as LedgerLookup does, in the order asked,
// including what this Store records after the snapshot (a fetch's own deliveries), and a message
// stored before the snapshot without a ledger record (a crash between its rename and its record)
// is known to it: the snapshot does reconcile.
func TestLedgerSnapshot(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	b := s.NewBatch()
	if _, err := b.Deliver(strings.NewReader(msg("first", "x")), DeliverInfo{UIDL: "a"}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Commit(); err != nil {
		t.Fatal(err)
	}
	// Another program's copy of a Poplar message whose ledger record was lost.
	orphan := filepath.Join(dir, "Maildir", "new", "1700000000.orphan.host")
	if err := os.WriteFile(orphan, []byte("X-Poplar-UIDL: orphan\n"+msg("orphan", "y")), 0o600); err != nil {
		t.Fatal(err)
	}

	lookup, err := s.LedgerSnapshot()
	if err != nil {
		t.Fatal(err)
	}
	b = s.NewBatch()
	if _, err := b.Deliver(strings.NewReader(msg("later", "z")), DeliverInfo{UIDL: "c"}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Commit(); err != nil {
		t.Fatal(err)
	}
	uidls := []string{"c", "nope", "orphan", "a"}
	got := lookup(uidls)
	want, err := s.LedgerLookup(uidls)
	if err != nil {
		t.Fatal(err)
	}
	for i, u := range uidls {
		known := u != "nope"
		if (got[i].UIDL != "") != known || got[i].UIDL != want[i].UIDL || got[i].Key != want[i].Key {
			t.Errorf("lookup of %q: %+v, LedgerLookup says %+v (known: %v)", u, got[i], want[i], known)
		}
	}
}
