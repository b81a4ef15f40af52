package search

import (
	"path/filepath"
	"slices"
	"testing"

	"github.com/poplar-mail/poplar/internal/procmem"
)

// TestReleaseMemory checks that ReleaseMemory takes the pages a search read out of the segments'
// mappings, and that searches after it find what they found before.
func TestReleaseMemory(t *testing.T) {
	x := openIndex(t, newStore(t))
	queries := []string{"garcia", "ecole", "from:charles", "invoice"}
	before := map[string][]int{}
	for _, q := range queries {
		before[q] = found(t, x, q, Options{})
	}
	resident := func() (kib int64) {
		t.Helper()
		x.smu.RLock()
		defer x.smu.RUnlock()
		if len(x.segs) == 0 {
			t.Fatal("the index has no segments")
		}
		for name := range x.segs {
			k, n, err := procmem.MappedRSS(filepath.Join(x.dir, name))
			if err != nil || n != 1 {
				t.Fatalf("mappings of segment %s: %d, %v; want 1", name, n, err)
			}
			kib += k
		}
		return kib
	}
	if kib := resident(); kib == 0 {
		t.Fatal("after searches no page of any segment is resident: are the segments mapped?")
	}
	x.ReleaseMemory()
	if kib := resident(); kib != 0 {
		t.Errorf("after ReleaseMemory %d KiB of the segments are resident; want 0", kib)
	}
	for _, q := range queries {
		if got := found(t, x, q, Options{}); !slices.Equal(got, before[q]) {
			t.Errorf("after ReleaseMemory, %q finds %v; before, %v", q, got, before[q])
		}
	}
}
