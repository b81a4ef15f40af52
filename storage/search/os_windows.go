package search

import (
	"errors"
	"fmt"
	"os"
	"unsafe"

	"golang.org/x/sys/windows"
)

// stampOf returns what tells a replaced file at path apart: Windows has no inode number in
// os.FileInfo, so size and modification time.
func stampOf(path string) (fileStamp, bool) {
	fi, err := os.Stat(path)
	if err != nil {
		return fileStamp{}, false
	}
	return fileStamp{size: uint64(fi.Size()), mtime: fi.ModTime().UnixNano()}, true
}

// tryLock takes an exclusive lock on f's first byte without waiting (LockFileEx): held is true
// when another process has it. Closing f releases it.
func tryLock(f *os.File) (held bool, err error) {
	err = windows.LockFileEx(windows.Handle(f.Fd()), windows.LOCKFILE_EXCLUSIVE_LOCK|windows.LOCKFILE_FAIL_IMMEDIATELY, 0, 1, 0, new(windows.Overlapped))
	if errors.Is(err, windows.ERROR_LOCK_VIOLATION) {
		return true, nil
	}
	return false, err
}

// mapFile maps the first size bytes of f read-only into memory (CreateFileMapping,
// MapViewOfFile); unmapFile releases them.
func mapFile(f *os.File, size int64) ([]byte, error) {
	m, err := windows.CreateFileMapping(windows.Handle(f.Fd()), nil, windows.PAGE_READONLY, uint32(size>>32), uint32(size), nil)
	if err != nil {
		return nil, fmt.Errorf("CreateFileMapping: %w", err)
	}
	defer windows.CloseHandle(m) // the view keeps the mapping alive
	addr, err := windows.MapViewOfFile(m, windows.FILE_MAP_READ, 0, 0, uintptr(size))
	if err != nil {
		return nil, fmt.Errorf("MapViewOfFile: %w", err)
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(addr)), size), nil
}

// unmapFile releases a mapping made by mapFile.
func unmapFile(b []byte) { windows.UnmapViewOfFile(uintptr(unsafe.Pointer(&b[0]))) }

// releasePages takes the pages of a mapping of mapFile out of the process's working set:
// VirtualUnlock of pages that are not locked does that (and reports ERROR_NOT_LOCKED); they are
// read again from the file cache when next used.
func releasePages(b []byte) { windows.VirtualUnlock(uintptr(unsafe.Pointer(&b[0])), uintptr(len(b))) }
