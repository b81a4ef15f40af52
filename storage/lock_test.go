package storage

import (
	"errors"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// hookReader runs hook once, at its first Read.
type hookReader struct {
	r    io.Reader
	hook func()
	once sync.Once
}

func (h *hookReader) Read(p []byte) (int, error) {
	h.once.Do(h.hook)
	return h.r.Read(p)
}

// during runs op on another goroutine while the caller is inside ReplacePartial, and gives op
// up to 300 ms: enough to finish when nothing holds it back. It returns a channel that yields
// op's error.
func during(op func() error) (start func(), done <-chan error) {
	ch := make(chan error, 1)
	return func() {
		go func() { ch <- op() }()
		select {
		case err := <-ch:
			ch <- err
		case <-time.After(300 * time.Millisecond):
		}
	}, ch
}

// TestReplacePartialRace: a move, a deletion or RemoveTmp that another Store (as another process
// would) starts while ReplacePartial is under way happens wholly after it: the message is never
// stored twice, never brought back, and its replacement is never lost.
func TestReplacePartialRace(t *testing.T) {
	head := "From: a@example.org\nSubject: big\n\n"
	full := head + strings.Repeat("body line\n", 1000)
	tests := []struct {
		name   string
		op     func(s2 *Store, key string) error
		folder string // where the whole message must end up; "" for nowhere
	}{
		{"move", func(s2 *Store, key string) error { return s2.Move(Inbox, "Work", []string{key}) }, "Work"},
		{"delete", func(s2 *Store, key string) error { return s2.Delete(Inbox, []string{key}) }, Trash},
		{"expunge", func(s2 *Store, key string) error { return s2.Expunge(Inbox, []string{key}) }, ""},
		{"set flags", func(s2 *Store, key string) error { return s2.SetFlags(Inbox, []string{key}, FlagSeen, 0) }, Inbox},
		{"remove tmp", func(s2 *Store, key string) error {
			unlock, err := s2.LockFetch()
			if err != nil {
				return err
			}
			defer unlock()
			_, err = s2.RemoveTmp()
			return err
		}, Inbox},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := openStore(t)
			if err := s.CreateFolder("Work"); err != nil {
				t.Fatal(err)
			}
			b := s.NewBatch()
			key, err := b.Deliver(strings.NewReader(head), DeliverInfo{UIDL: "big", Partial: true})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := b.Commit(); err != nil {
				t.Fatal(err)
			}
			s2, err := Open(s.Dir())
			if err != nil {
				t.Fatal(err)
			}
			s2.Summaries(Inbox)
			start, done := during(func() error { return tt.op(s2, key) })
			if _, err := s.ReplacePartial("big", &hookReader{r: strings.NewReader(full), hook: start}); err != nil {
				t.Fatalf("ReplacePartial: %v", err)
			}
			if err := <-done; err != nil {
				t.Fatalf("%s: %v", tt.name, err)
			}
			// What is on disk, read by a third Store.
			s3, err := Open(s.Dir())
			if err != nil {
				t.Fatal(err)
			}
			folders, _ := s3.Folders()
			var where []string
			for _, fi := range folders {
				sums, _ := s3.Summaries(fi.Name)
				for _, m := range sums {
					if m.UIDL != "big" {
						continue
					}
					where = append(where, fi.Name)
					if m.Partial || m.Size < int64(len(full)) {
						t.Errorf("the copy in %s is the partial one (%d bytes)", fi.Name, m.Size)
					}
				}
			}
			want := []string{tt.folder}
			if tt.folder == "" {
				want = nil
			}
			if strings.Join(where, ",") != strings.Join(want, ",") {
				t.Errorf("after ReplacePartial and a concurrent %s: message in %q, want %q", tt.name, where, want)
			}
		})
	}
}

// TestRenameOver: the new file takes the old one's place; when the old one is gone (moved or
// deleted by a program that does not take Poplar's lock), nothing is created.
func TestRenameOver(t *testing.T) {
	dir := t.TempDir()
	src, dst := filepath.Join(dir, "new"), filepath.Join(dir, "old")
	os.WriteFile(src, []byte("whole"), 0o600)
	os.WriteFile(dst, []byte("partial"), 0o600)
	if err := renameOver(src, dst); err != nil {
		t.Fatal(err)
	}
	if data, err := os.ReadFile(dst); string(data) != "whole" {
		t.Errorf("after renameOver: %q, %v", data, err)
	}
	if _, err := os.Stat(src); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("renameOver left %s (%v)", src, err)
	}
	os.WriteFile(src, []byte("whole"), 0o600)
	gone := filepath.Join(dir, "gone")
	err := renameOver(src, gone)
	if _, serr := os.Stat(gone); serr == nil && errors.Is(err, fs.ErrNotExist) {
		t.Errorf("renameOver onto a missing file failed and created it")
	}
	if err == nil {
		t.Log("this file system cannot exchange names: renameOver is a plain rename")
	} else if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("renameOver onto a missing file = %v, want ErrNotExist", err)
	}
}

func TestRemoveTmp(t *testing.T) {
	s := openStore(t)
	if err := s.CreateFolder("Work"); err != nil {
		t.Fatal(err)
	}
	md := filepath.Join(s.Dir(), "Maildir")
	old := time.Now().Add(-time.Minute)
	poplars := []string{
		filepath.Join(md, "tmp", newKey(time.Now())),              // a killed fetch's message, just now
		filepath.Join(md, "tmp", newKey(old)),                     // and an older one
		filepath.Join(md, ".Work", "tmp", newKey(old)),            // a killed ReplacePartial's message
		filepath.Join(md, ".Trash", "tmp", "1.M2P3Q4Rabcdef01.h"), // shortest shape
	}
	others := []string{
		filepath.Join(md, "tmp", "1700000000.M12P34.mutt-host"), // another program's delivery
		filepath.Join(md, "tmp", "1700000000.12345_1.host"),
		filepath.Join(md, "tmp", "1.M2P3Q4RABCDEF01.h"), // not Poplar's hex
		filepath.Join(md, "tmp", "1.M2P3Q4Rabcdef01."),  // no host
		filepath.Join(md, ".Work", "tmp", ".hidden"),
		filepath.Join(md, ".Work", "tmp", "1.M2P3Q4Rabcdef0.h"),
	}
	for _, p := range append(poplars, others...) {
		if err := os.WriteFile(p, []byte("partial message"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	// A folder with a Poplar name is not a file Poplar left.
	dirName := filepath.Join(md, "tmp", newKey(old))
	os.Mkdir(dirName, 0o700)

	if n, err := s.RemoveTmp(); err == nil || n != 0 {
		t.Errorf("RemoveTmp without the fetch lock = %d, %v; want an error", n, err)
	}
	unlock, err := s.LockFetch()
	if err != nil {
		t.Fatal(err)
	}
	n, err := s.RemoveTmp()
	unlock()
	unlock() // a second call does nothing
	if err != nil || n != len(poplars) {
		t.Errorf("RemoveTmp = %d, %v; want %d, nil", n, err, len(poplars))
	}
	for _, p := range poplars {
		if _, err := os.Stat(p); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("%s kept (%v)", p, err)
		}
	}
	for _, p := range append(others, dirName) {
		if _, err := os.Stat(p); err != nil {
			t.Errorf("%s removed (%v)", p, err)
		}
	}
	if _, err := s.RemoveTmp(); err == nil {
		t.Error("RemoveTmp after the fetch lock was released succeeded")
	}
}

func TestPoplarKey(t *testing.T) {
	for i := 0; i < 100; i++ {
		if k := newKey(time.Unix(int64(i)*1e7, int64(i)*1e5)); !poplarKey(k) {
			t.Errorf("poplarKey(%q) = false for a key newKey made", k)
		}
	}
	for _, name := range []string{"", "1", "1.M2P3Q4R", "1.M2P3Q4Rabcdef01", "x.M2P3Q4Rabcdef01.h", "1.MP3Q4Rabcdef01.h",
		"1.M2P3Q4Rabcdef01h", "1.M2P3Q4Rabcdefg1.h", "1.M2P3R4Rabcdef01.h", "1700000000.foreign.host"} {
		if poplarKey(name) {
			t.Errorf("poplarKey(%q) = true", name)
		}
	}
}

func TestFreeSpace(t *testing.T) {
	s := openStore(t)
	got, err := s.FreeSpace()
	if err != nil {
		t.Fatal(err)
	}
	var st unix.Statfs_t
	if err := unix.Statfs(s.Dir(), &st); err != nil {
		t.Fatal(err)
	}
	want := float64(st.Bavail) * float64(st.Frsize)
	if got <= 0 || math.Abs(float64(got)-want) > want/100+64<<20 {
		t.Errorf("FreeSpace = %d, statfs says %.0f", got, want)
	}
	os.RemoveAll(filepath.Join(s.Dir(), "Maildir"))
	if _, err := s.FreeSpace(); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("FreeSpace without a Maildir = %v, want ErrNotExist", err)
	}
}
