package compose

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// FileAttachment describes the file at path as an attachment: its base name, its size now
// (Stat, the only I/O here) and an Open that opens the file when the message is written, so
// the file must still be there then. The type is left to be sniffed. A folder or other
// non-regular file is an error.
func FileAttachment(path string) (Attachment, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return Attachment{}, fmt.Errorf("compose: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return Attachment{}, fmt.Errorf("compose: %s is not a regular file", path)
	}
	return Attachment{Name: filepath.Base(path), Size: fi.Size(), Open: func() (io.ReadCloser, error) {
		f, err := os.Open(path)
		if err != nil {
			return nil, fmt.Errorf("compose: %w", err)
		}
		return f, nil
	}}, nil
}
