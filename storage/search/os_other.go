//go:build !windows

package search

import (
	"errors"
	"os"

	"golang.org/x/sys/unix"
)

// stampOf returns what tells a replaced file at path apart: inode, size and modification time.
func stampOf(path string) (fileStamp, bool) {
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		return fileStamp{}, false
	}
	return fileStamp{ino: st.Ino, size: uint64(st.Size), mtime: st.Mtim.Nano()}, true
}

// tryLock takes an exclusive lock on f without waiting: held is true when another process has it.
func tryLock(f *os.File) (held bool, err error) {
	err = unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
	if err == unix.EINTR || errors.Is(err, unix.EWOULDBLOCK) {
		return true, nil
	}
	return false, err
}
