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
	return ingestFile(fh, filepath.Base(path), buf, z)
}
