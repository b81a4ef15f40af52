package popserver

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
)

// Entry is one message of a mailbox as a session sees it.
type Entry struct {
	UID  string // the unique id UIDL reports: 1-70 printable ASCII characters, no space
	Size int64  // octets as sent on the wire (with CRLF line ends), before dot-stuffing
}

// Mailbox is the message store a Server serves for one user. Implementations must be safe for
// concurrent use; the Server never runs two sessions on one mailbox at once.
type Mailbox interface {
	// List returns the messages present at the start of a session, in order (message 1 first).
	List() ([]Entry, error)
	// Open returns the content of message uid; the caller closes it.
	Open(uid string) (io.ReadCloser, error)
	// Delete removes messages for good. It is called only by a successful QUIT.
	Delete(uids []string) error
}

// wireSize is the size of data once every bare LF is sent as CRLF.
func wireSize(r io.Reader) (int64, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	var n int64
	var prev byte
	for {
		b, err := br.ReadSlice('\n')
		n += int64(len(b))
		if len(b) > 0 && b[len(b)-1] == '\n' {
			if len(b) >= 2 {
				prev = b[len(b)-2]
			}
			if prev != '\r' {
				n++
			}
			prev = '\n'
		} else if len(b) > 0 {
			prev = b[len(b)-1]
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		if err == io.EOF {
			return n, nil
		}
		if err != nil {
			return 0, err
		}
	}
}

// MemMailbox is a Mailbox held in memory, for tests and generated demo mail.
type MemMailbox struct {
	mu    sync.Mutex
	uids  []string
	data  map[string][]byte
	nextN int
}

// NewMemMailbox returns an empty in-memory mailbox.
func NewMemMailbox() *MemMailbox { return &MemMailbox{data: map[string][]byte{}} }

// Add appends a message and returns its UID (uid, or a generated one when uid is "").
func (m *MemMailbox) Add(uid string, msg []byte) string {
	m.mu.Lock()
	defer m.mu.Unlock()
	if uid == "" {
		m.nextN++
		uid = fmt.Sprintf("m%06d", m.nextN)
	}
	if _, ok := m.data[uid]; !ok {
		m.uids = append(m.uids, uid)
	}
	m.data[uid] = append([]byte(nil), msg...)
	return uid
}

// Len returns how many messages the mailbox holds.
func (m *MemMailbox) Len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.uids)
}

// UIDs returns the UIDs in order.
func (m *MemMailbox) UIDs() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]string(nil), m.uids...)
}

// List implements Mailbox.
func (m *MemMailbox) List() ([]Entry, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]Entry, len(m.uids))
	for i, u := range m.uids {
		n, _ := wireSize(bytes.NewReader(m.data[u]))
		out[i] = Entry{UID: u, Size: n}
	}
	return out, nil
}

// Open implements Mailbox.
func (m *MemMailbox) Open(uid string) (io.ReadCloser, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	d, ok := m.data[uid]
	if !ok {
		return nil, fmt.Errorf("popserver: no message %q", uid)
	}
	return io.NopCloser(bytes.NewReader(d)), nil
}

// Delete implements Mailbox.
func (m *MemMailbox) Delete(uids []string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	gone := map[string]bool{}
	for _, u := range uids {
		gone[u] = true
		delete(m.data, u)
	}
	kept := m.uids[:0]
	for _, u := range m.uids {
		if !gone[u] {
			kept = append(kept, u)
		}
	}
	m.uids = kept
	return nil
}

// DirMailbox serves the regular files of a folder, in name order; a file's name is its UID, so
// names must be 1-70 printable ASCII characters without spaces (others are skipped).
type DirMailbox struct {
	Dir string

	mu    sync.Mutex
	sizes map[string]sizeCache
}

type sizeCache struct {
	mtime, size int64
	wire        int64
}

// List implements Mailbox.
func (d *DirMailbox) List() ([]Entry, error) {
	des, err := os.ReadDir(d.Dir)
	if err != nil {
		return nil, fmt.Errorf("popserver: %w", err)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.sizes == nil {
		d.sizes = map[string]sizeCache{}
	}
	var out []Entry
	for _, de := range des {
		if !de.Type().IsRegular() || !validUID(de.Name()) {
			continue
		}
		fi, err := de.Info()
		if err != nil {
			continue
		}
		c, ok := d.sizes[de.Name()]
		if !ok || c.mtime != fi.ModTime().UnixNano() || c.size != fi.Size() {
			f, err := os.Open(filepath.Join(d.Dir, de.Name()))
			if err != nil {
				return nil, fmt.Errorf("popserver: %w", err)
			}
			w, err := wireSize(f)
			f.Close()
			if err != nil {
				return nil, fmt.Errorf("popserver: %w", err)
			}
			c = sizeCache{mtime: fi.ModTime().UnixNano(), size: fi.Size(), wire: w}
			d.sizes[de.Name()] = c
		}
		out = append(out, Entry{UID: de.Name(), Size: c.wire})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].UID < out[j].UID })
	return out, nil
}

// Open implements Mailbox.
func (d *DirMailbox) Open(uid string) (io.ReadCloser, error) {
	if !validUID(uid) {
		return nil, fmt.Errorf("popserver: bad uid %q", uid)
	}
	return os.Open(filepath.Join(d.Dir, uid))
}

// Delete implements Mailbox.
func (d *DirMailbox) Delete(uids []string) error {
	var errs []error
	for _, u := range uids {
		if !validUID(u) {
			continue
		}
		if err := os.Remove(filepath.Join(d.Dir, u)); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// validUID reports whether s may be sent as a UIDL (RFC 1939: 0x21-0x7E, 1-70 characters) and is
// safe as a file name.
func validUID(s string) bool {
	if s == "" || len(s) > 70 || s == "." || s == ".." || strings.HasPrefix(s, ".") {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 0x21 || s[i] > 0x7e || s[i] == '/' {
			return false
		}
	}
	return true
}
