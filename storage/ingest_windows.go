package storage

import (
	"os"
	"path/filepath"

	"github.com/poplar-mail/poplar/storage/mailview"
)

// ingestWith is ingest with z's buffers for the summary: a reader of many files keeps one z.
func ingestWith(path string, buf []byte, z *mailview.Summarizer) (*entry, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	fi, err := fh.Stat()
	if err != nil {
		return nil, err
	}
	return summarizeFile(fh, fi.Size(), fi.ModTime(), filepath.Base(path), buf, z)
}
