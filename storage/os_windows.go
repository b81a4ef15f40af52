package storage

import (
	"errors"
	"fmt"
	"math"
	"os"

	"golang.org/x/sys/windows"
)

// infoSep separates a Maildir file name's unique part from its info ("2," and the flag letters).
// Windows forbids ':' in file names, so Poplar uses ';' there, the convention of other Maildir
// programs on Windows (isync's InfoDelimiter, NeoMutt's maildir_field_delimiter). Poplar reads both
// separators on every system, so a store copied between Windows and Linux keeps its flags.
const infoSep = ';'

// errLockHeld is the error flock returns when another process holds the lock.
const errLockHeld = windows.ERROR_LOCK_VIOLATION

// canSyncFS reports whether syncFileSystem flushes a whole file system at once: Windows has no
// syncfs, so each file is flushed (FlushFileBuffers) on its own.
const canSyncFS = false

// syncFileSystem is never called on Windows (canSyncFS is false).
func syncFileSystem(string) error { return errors.New("storage: no syncfs on Windows") }

// syncDir does nothing on Windows: a folder's handle cannot be flushed there; NTFS journals the
// changes to its names itself.
func syncDir(string) error { return nil }

// renameOver puts the file src in the place of the existing file dst: MoveFileEx with
// MOVEFILE_REPLACE_EXISTING (os.Rename), which replaces dst in one step.
func renameOver(src, dst string) error { return os.Rename(src, dst) }

// renameNoReplace renames src to dst and fails, with an error satisfying
// errors.Is(err, fs.ErrExist), when dst exists: MoveFileEx without MOVEFILE_REPLACE_EXISTING.
func renameNoReplace(src, dst string) error {
	return moveFile(src, dst, windows.MOVEFILE_WRITE_THROUGH)
}

// renameDurable renames src to dst (replacing it) and returns once the new name is on the disk:
// MoveFileEx with MOVEFILE_WRITE_THROUGH, because syncDir cannot flush a folder on Windows.
func renameDurable(src, dst string) error {
	return moveFile(src, dst, windows.MOVEFILE_REPLACE_EXISTING|windows.MOVEFILE_WRITE_THROUGH)
}

// moveFile is MoveFileEx with flags, its error an *os.LinkError.
func moveFile(src, dst string, flags uint32) error {
	from, err := windows.UTF16PtrFromString(src)
	if err == nil {
		var to *uint16
		if to, err = windows.UTF16PtrFromString(dst); err == nil {
			err = windows.MoveFileEx(from, to, flags)
		}
	}
	if err != nil {
		return &os.LinkError{Op: "rename", Old: src, New: dst, Err: err}
	}
	return nil
}

// rmdir removes the empty folder d, and fails on anything else.
func rmdir(d string) error {
	p, err := windows.UTF16PtrFromString(d)
	if err != nil {
		return err
	}
	return windows.RemoveDirectory(p)
}

// fileID returns 0: Windows has no inode number in os.FileInfo, so a replaced file is noticed by
// its size alone.
func fileID(os.FileInfo) uint64 { return 0 }

// freeSpace returns the bytes available to this user on the volume that holds path
// (GetDiskFreeSpaceEx, which counts the user's quota).
func freeSpace(path string) (int64, error) {
	p, err := windows.UTF16PtrFromString(path)
	if err != nil {
		return 0, err
	}
	var avail uint64
	if err := windows.GetDiskFreeSpaceEx(p, &avail, nil, nil); err != nil {
		return 0, err
	}
	if avail > math.MaxInt64 {
		return math.MaxInt64, nil
	}
	return int64(avail), nil
}

// flock opens path and takes an exclusive lock on its first byte (LockFileEx), waiting when wait
// is set. When it does not wait and another process holds the lock, the error is errLockHeld.
// Closing the file releases the lock.
func flock(path string, wait bool) (func(), error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("storage: %w", err)
	}
	how := uint32(windows.LOCKFILE_EXCLUSIVE_LOCK)
	if !wait {
		how |= windows.LOCKFILE_FAIL_IMMEDIATELY
	}
	if err := windows.LockFileEx(windows.Handle(f.Fd()), how, 0, 1, 0, new(windows.Overlapped)); err != nil {
		f.Close()
		if errors.Is(err, errLockHeld) {
			return nil, err
		}
		return nil, fmt.Errorf("storage: locking %s: %w", path, err)
	}
	return func() { f.Close() }, nil
}
