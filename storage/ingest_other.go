//go:build !windows

package storage

import (
	"io"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/sys/unix"

	"github.com/poplar-mail/poplar/storage/mailview"
)

// ingestWith is ingest with z's buffers for the summary: a reader of many files keeps one z. It
// opens, reads and closes the file with the system calls alone (open, fstat, read, close):
// an os.File would also try to add the file to the runtime's poller (one more call, which fails
// for a file) and set a cleanup, for each of the folder's files.
func ingestWith(path string, buf []byte, z *mailview.Summarizer) (*entry, error) {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	for err == unix.EINTR {
		fd, err = unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	}
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: path, Err: err}
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return nil, &os.PathError{Op: "fstat", Path: path, Err: err}
	}
	return summarizeFile(fdReader(fd), st.Size, time.Unix(st.Mtim.Unix()), filepath.Base(path), buf, z)
}

// fdReader reads an open file descriptor as an os.File would.
type fdReader int

func (r fdReader) Read(p []byte) (int, error) {
	for {
		n, err := unix.Read(int(r), p)
		switch {
		case err == unix.EINTR:
			continue
		case err != nil:
			return 0, err
		case n == 0 && len(p) > 0:
			return 0, io.EOF
		}
		return n, nil
	}
}
