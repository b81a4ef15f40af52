package storage

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// The Trash remembers where each of its messages came from in DIR/poplar/trash-origins, a text
// file of records, one per line:
//
//	T <key> <folder>   the message key was moved to the Trash from folder
//	R <old> <new>      folder old was renamed new (RenameFolder)
//
// Keys and folder names are escaped as ledger UIDLs are (escapeUIDL), so a record is one line of
// printable ASCII. Records are appended and fsynced under the store lock, a message's before it
// is moved, and the later record of a key wins. Lines that do not parse (a torn last line) are
// skipped, and a name read from the file is checked like any other before it becomes a path: a
// lost or damaged record only sends Restore to the Inbox. Once the file passes
// originsCompactSize it is rewritten atomically with the records of the messages still in the
// Trash.
const originsFile = "trash-origins"

// originsCompactSize is the size from which recordOrigins tries to compact the file.
const originsCompactSize = 256 << 10

func (s *Store) originsPath() string { return filepath.Join(s.state, originsFile) }

// recordOrigins records that the messages keys are being moved to the Trash from folder. The
// store lock is held.
func (s *Store) recordOrigins(folder string, keys []string) error {
	if len(keys) == 0 {
		return nil
	}
	if fi, err := os.Stat(s.originsPath()); err == nil && fi.Size() > originsCompactSize {
		s.compactOrigins(fi.Size()) // failing costs only room on the disk
	}
	lines := make([]string, len(keys))
	for i, k := range keys {
		lines[i] = "T " + escapeUIDL(k) + " " + escapeUIDL(folder)
	}
	return s.appendOrigins(lines)
}

// recordRenames records folders renamed, each pair old and new. The store lock is held.
func (s *Store) recordRenames(renamed [][2]string) error {
	lines := make([]string, len(renamed))
	for i, r := range renamed {
		lines[i] = "R " + escapeUIDL(r[0]) + " " + escapeUIDL(r[1])
	}
	return s.appendOrigins(lines)
}

// appendOrigins appends lines to the origins file and fsyncs it (and the folder, when it makes the
// file). A torn last line is cut off first.
func (s *Store) appendOrigins(lines []string) error {
	if err := appendRecordLines(s.originsPath(), s.state, lines); err != nil {
		return fmt.Errorf("storage: recording where messages came from: %w", err)
	}
	return nil
}

// appendRecordLines appends lines, each with a newline, to the record file path in folder dir and
// fsyncs it, and dir too when it makes the file: the one path of Poplar's append-only state files
// (trash-origins, outbox). A last line a crash cut short is cut off first, so that the next record
// does not complete it. The caller holds the store lock.
func appendRecordLines(path, dir string, lines []string) error {
	if len(lines) == 0 {
		return nil
	}
	_, statErr := os.Stat(path)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	defer f.Close()
	if fi, err := f.Stat(); err == nil && fi.Size() > 0 {
		start := max(0, fi.Size()-4096)
		tail := make([]byte, fi.Size()-start)
		if _, err := f.ReadAt(tail, start); err == nil && tail[len(tail)-1] != '\n' {
			f.Truncate(start + int64(bytes.LastIndexByte(tail, '\n')+1))
		}
	}
	var b strings.Builder
	for _, l := range lines {
		b.WriteString(l)
		b.WriteByte('\n')
	}
	if _, err := f.WriteString(b.String()); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	if errors.Is(statErr, os.ErrNotExist) {
		return syncDir(dir)
	}
	return nil
}

// readOrigins returns the folder each key was moved to the Trash from, as recorded; renames are
// applied. Keys of messages no longer in the Trash may be there too.
func (s *Store) readOrigins() map[string]string {
	data, _ := os.ReadFile(s.originsPath())
	return parseOrigins(data)
}

// parseOrigins reads the records of an origins file, skipping the lines that do not parse.
func parseOrigins(data []byte) map[string]string {
	m := map[string]string{}
	for line := range bytes.Lines(data) {
		f := strings.Fields(string(line))
		if len(f) != 3 || !bytes.HasSuffix(line, []byte("\n")) {
			continue
		}
		a, err1 := unescapeUIDL(f[1])
		b, err2 := unescapeUIDL(f[2])
		if err1 != nil || err2 != nil {
			continue
		}
		switch f[0] {
		case "T":
			m[a] = b
		case "R":
			for k, o := range m {
				if o == a {
					m[k] = b
				}
			}
		}
	}
	return m
}

// compactOrigins rewrites the origins file (size bytes) with the records of the messages in the
// Trash, when that halves it at least. The store lock is held.
func (s *Store) compactOrigins(size int64) error {
	trash, err := s.folder(Trash)
	if err != nil {
		return err
	}
	origins := s.readOrigins()
	var b strings.Builder
	trash.mu.Lock()
	for _, e := range trash.sorted {
		if o, ok := origins[e.key()]; ok {
			b.WriteString("T " + escapeUIDL(e.key()) + " " + escapeUIDL(o) + "\n")
		}
	}
	trash.mu.Unlock()
	if int64(b.Len()) > size/2 {
		return nil
	}
	return writeFileAtomic(s.originsPath(), []byte(b.String()))
}
