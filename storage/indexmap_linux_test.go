package storage

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/poplar-mail/poplar/internal/procmem"
	"golang.org/x/sys/unix"
)

// TestIndexMappedAndReleased checks that a folder read from its index file keeps its records in
// the mapped file, not the heap: the pages decoding read are given back at once, decoding the
// summaries brings them back (their strings are in the file), ReleaseMemory gives them back again, and through all of it, and
// after the file is replaced under the mapping, every summary reads as it was written.
func TestIndexMappedAndReleased(t *testing.T) {
	dir, want := indexedStore(t, 600, func(i int) string { return strings.Repeat(fmt.Sprintf("body of message %d ", i), 20) })
	idx := filepath.Join(dir, "poplar", "index", "Inbox.idx")
	var fs unix.Statfs_t
	if err := unix.Statfs(idx, &fs); err != nil {
		t.Fatal(err)
	}
	if !localFileSystems[int64(fs.Type)] {
		t.Skipf("the test folder is on file system type %#x, where index files are read, not mapped", fs.Type)
	}

	s2, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	if _, err := s2.Folders(); err != nil { // reads the index file, and keeps no summary
		t.Fatal(err)
	}
	rss := func() int64 {
		t.Helper()
		kib, n, err := procmem.MappedRSS(idx)
		if err != nil || n != 1 {
			t.Fatalf("mappings of %s: %d, %v; want 1", idx, n, err)
		}
		return kib
	}
	if kib := rss(); kib != 0 {
		t.Errorf("after the folder was read, %d KiB of its index file are resident; want 0 (given back)", kib)
	}
	got, err := s2.Summaries(Inbox) // decoded from the mapped file
	if err != nil {
		t.Fatal(err)
	}
	same := func(when string) {
		t.Helper()
		if len(got) != len(want) {
			t.Fatalf("%s: %d summaries, want %d", when, len(got), len(want))
		}
		for i := range want {
			if fmt.Sprint(got[i]) != fmt.Sprint(want[i]) {
				t.Fatalf("%s: summary %d is %+v, want %+v", when, i, got[i], want[i])
			}
		}
	}
	same("read from the index")
	if kib := rss(); kib == 0 {
		t.Error("reading every summary brought none of the index file's pages in: are the strings in the file?")
	}
	s2.ReleaseMemory()
	if kib := rss(); kib != 0 {
		t.Errorf("after ReleaseMemory, %d KiB of the index file are resident; want 0", kib)
	}
	same("after ReleaseMemory")

	// A flag change rewrites the index file by a rename: the summaries handed out before still
	// point into the old file's mapping.
	if err := s2.SetFlags(Inbox, []string{want[0].Key}, FlagFlagged, 0); err != nil {
		t.Fatal(err)
	}
	if err := s2.Close(); err != nil {
		t.Fatal(err)
	}
	s2.ReleaseMemory()
	same("after the index file was replaced")
}
