//go:build !windows

package mmapfile

import (
	"os"

	"golang.org/x/sys/unix"
)

// Map maps the first size bytes of f read-only into memory; Unmap releases them.
func Map(f *os.File, size int64) ([]byte, error) {
	return unix.Mmap(int(f.Fd()), 0, int(size), unix.PROT_READ, unix.MAP_SHARED)
}

// Unmap releases a mapping made by Map.
func Unmap(b []byte) { unix.Munmap(b) }

// Release gives the resident pages of a mapping made by Map back to the system; the bytes stay
// readable and are read again from the page cache (or the file) when next used.
func Release(b []byte) { unix.Madvise(b, unix.MADV_DONTNEED) }
