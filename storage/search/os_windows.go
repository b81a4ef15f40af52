package search

import (
	"errors"
	"os"

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
