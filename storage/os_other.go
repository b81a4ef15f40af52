//go:build !windows

package storage

import (
	"errors"
	"fmt"
	"math"
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// infoSep separates a Maildir file name's unique part from its info ("2," and the flag letters):
// the standard ':' here; see os_windows.go.
const infoSep = ':'

// errLockHeld is the error flock returns when another process holds the lock.
const errLockHeld = unix.EWOULDBLOCK

// canSyncFS reports whether syncFileSystem flushes a whole file system at once (syncfs(2)).
const canSyncFS = true

// syncFileSystem makes the data of every file on dir's file system durable: one syncfs(2).
func syncFileSystem(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("storage: %w", err)
	}
	defer d.Close()
	if err := unix.Syncfs(int(d.Fd())); err != nil {
		return fmt.Errorf("storage: syncing messages: %w", err)
	}
	return nil
}

// syncDir fsyncs a folder so renames and new names in it are durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("storage: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("storage: syncing %s: %w", dir, err)
	}
	return nil
}

// renameDurable renames src to dst (replacing it); the caller's syncDir of dst's folder makes the
// new name durable.
func renameDurable(src, dst string) error { return os.Rename(src, dst) }

// renameOver puts the file src in the place of the existing file dst and removes the old dst. It
// fails with an error satisfying errors.Is(err, fs.ErrNotExist) when dst does not exist, where
// the file system can exchange two names atomically (renameat2 RENAME_EXCHANGE); elsewhere it is
// a plain rename.
func renameOver(src, dst string) error {
	err := unix.Renameat2(unix.AT_FDCWD, src, unix.AT_FDCWD, dst, unix.RENAME_EXCHANGE)
	switch {
	case err == nil:
		os.Remove(src) // now the old file
		return nil
	case renameFlagUnsupported(err):
		return os.Rename(src, dst)
	default:
		return &os.LinkError{Op: "rename", Old: src, New: dst, Err: err}
	}
}

// renameNoReplace renames src to dst and fails, with an error satisfying
// errors.Is(err, fs.ErrExist), when dst exists (renameat2 RENAME_NOREPLACE). Where the file system
// cannot do that, it looks first and renames, which leaves a short window.
func renameNoReplace(src, dst string) error {
	err := unix.Renameat2(unix.AT_FDCWD, src, unix.AT_FDCWD, dst, unix.RENAME_NOREPLACE)
	if renameFlagUnsupported(err) {
		if _, lerr := os.Lstat(dst); lerr == nil {
			err = unix.EEXIST
		} else {
			return os.Rename(src, dst)
		}
	}
	if err != nil {
		return &os.LinkError{Op: "rename", Old: src, New: dst, Err: err}
	}
	return nil
}

// renameFlagUnsupported reports whether renameat2 failed because the file system (or kernel) does
// not have the flag asked for.
func renameFlagUnsupported(err error) bool {
	return errors.Is(err, unix.EINVAL) || errors.Is(err, unix.ENOSYS) || errors.Is(err, unix.EOPNOTSUPP)
}

// rmdir removes the empty folder d, and fails on anything else.
func rmdir(d string) error { return unix.Rmdir(d) }

// fileID returns the inode number of the file fi describes (0 when unknown), to notice a file
// replaced under the same name.
func fileID(fi os.FileInfo) uint64 {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return st.Ino
	}
	return 0
}

// freeSpace returns the bytes available to this (unprivileged) user on the file system that
// holds path: statfs(2)'s available blocks times its block size.
func freeSpace(path string) (int64, error) {
	var st unix.Statfs_t
	if err := unix.Statfs(path, &st); err != nil {
		return 0, err
	}
	// Bavail counts fragments of Frsize bytes (as statvfs(3) says); Frsize is 0 on old kernels.
	size := uint64(st.Frsize)
	if size == 0 {
		size = uint64(st.Bsize)
	}
	if size != 0 && st.Bavail > math.MaxInt64/size {
		return math.MaxInt64, nil
	}
	return int64(st.Bavail * size), nil
}

// flock opens path and takes an exclusive flock on it, waiting when wait is set. When it does not
// wait and another process holds the lock, the error is errLockHeld.
func flock(path string, wait bool) (func(), error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("storage: %w", err)
	}
	how := unix.LOCK_EX
	if !wait {
		how |= unix.LOCK_NB
	}
	for {
		err = unix.Flock(int(f.Fd()), how)
		if err != unix.EINTR {
			break
		}
	}
	if err != nil {
		f.Close()
		if errors.Is(err, errLockHeld) {
			return nil, err
		}
		return nil, fmt.Errorf("storage: locking %s: %w", path, err)
	}
	return func() { f.Close() }, nil
}
