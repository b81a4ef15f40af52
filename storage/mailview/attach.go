package mailview

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"unicode"

	"github.com/emersion/go-message"
)

// ErrNoPart means the message has no part with the asked-for index or Content-ID.
var ErrNoPart = errors.New("mailview: no such part")

var windowsReserved = map[string]bool{"CON": true, "PRN": true, "AUX": true, "NUL": true,
	"COM1": true, "COM2": true, "COM3": true, "COM4": true, "COM5": true, "COM6": true, "COM7": true, "COM8": true, "COM9": true,
	"LPT1": true, "LPT2": true, "LPT3": true, "LPT4": true, "LPT5": true, "LPT6": true, "LPT7": true, "LPT8": true, "LPT9": true}

// SanitizeFilename makes an attachment name safe to create in a folder: the last path element
// only, no ".." or leading dots, no control, bidi-override or path characters, not a Windows
// reserved name, at most 200 bytes. An empty result becomes "attachment-N" with an extension for
// mediaType.
func SanitizeFilename(name, mediaType string, index int) string {
	name = cleanText(name)
	// Keep only the last element of any path, in either convention.
	if i := strings.LastIndexAny(name, `/\`); i >= 0 {
		name = name[i+1:]
	}
	var b strings.Builder
	for _, r := range name {
		switch {
		case r < 0x20, r == 0x7f, isBidiControl(r), r == 0xfeff:
		case strings.ContainsRune(`<>:"|?*`, r):
			b.WriteRune('_')
		case unicode.IsSpace(r):
			b.WriteRune(' ')
		default:
			b.WriteRune(r)
		}
	}
	name = strings.TrimSpace(b.String())
	name = strings.TrimLeft(name, ". ")
	name = strings.TrimRight(name, ". ")
	for strings.Contains(name, "..") {
		name = strings.ReplaceAll(name, "..", ".")
	}
	base := strings.ToUpper(name)
	if i := strings.IndexByte(base, '.'); i >= 0 {
		base = base[:i]
	}
	if windowsReserved[base] {
		name = "_" + name
	}
	if len(name) > 200 {
		ext := filepath.Ext(name)
		if len(ext) > 20 {
			ext = ""
		}
		cut := 200 - len(ext)
		for cut > 0 && !utf8RuneStart(name[cut]) {
			cut--
		}
		name = name[:cut] + ext
	}
	if name == "" {
		name = "attachment-" + strconv.Itoa(index) + mediaTypeExt(mediaType)
	}
	return name
}

func utf8RuneStart(b byte) bool { return b&0xc0 != 0x80 }

// ExtractAttachment writes the decoded content of part index (see Attachment.Index) to w and
// returns its description.
func ExtractAttachment(r io.Reader, index int, w io.Writer) (Attachment, error) {
	var got Attachment
	wk := &walker{opts: Options{}.withDefaults(), msg: &Message{}, extract: index}
	var copyErr error
	wk.onPart = func(e *message.Entity, a Attachment) error {
		n, err := io.Copy(w, e.Body)
		a.Size = n
		got = a
		if err != nil && !message.IsUnknownEncoding(err) && !message.IsUnknownCharset(err) {
			copyErr = fmt.Errorf("mailview: extracting part %d: %w", index, err)
		}
		return nil
	}
	if _, err := wk.top(r); err != nil {
		return Attachment{}, err
	}
	if !wk.found {
		return Attachment{}, fmt.Errorf("%w: %d", ErrNoPart, index)
	}
	return got, copyErr
}

// InlineImage returns the bytes and media type of the part with Content-ID cid, at most max
// bytes. open is called twice: once to find the part, once to extract it.
func InlineImage(open func() (io.ReadCloser, error), cid string, max int64) ([]byte, string, error) {
	rc, err := open()
	if err != nil {
		return nil, "", err
	}
	m, err := Read(rc, Options{})
	rc.Close()
	if err != nil {
		return nil, "", err
	}
	var part *Attachment
	for i := range m.Attachments {
		if m.Attachments[i].ContentID == cid {
			part = &m.Attachments[i]
			break
		}
	}
	if part == nil {
		return nil, "", fmt.Errorf("%w: Content-ID %q", ErrNoPart, cid)
	}
	if part.Size > max {
		return nil, "", fmt.Errorf("mailview: inline image %q is larger than %d bytes", cid, max)
	}
	rc, err = open()
	if err != nil {
		return nil, "", err
	}
	defer rc.Close()
	buf := limitedBuffer{max: max}
	if _, err := ExtractAttachment(rc, part.Index, &buf); err != nil {
		return nil, "", err
	}
	return buf.b, part.ContentType, nil
}

type limitedBuffer struct {
	b   []byte
	max int64
}

func (l *limitedBuffer) Write(p []byte) (int, error) {
	if int64(len(l.b)+len(p)) > l.max {
		return 0, errors.New("mailview: image too large")
	}
	l.b = append(l.b, p...)
	return len(p), nil
}

// SaveAttachment writes part index of the message into dir, under its sanitized name. It never
// overwrites a file: when the name is taken it adds " (2)", " (3)"... It creates the file 0600 and
// returns its path, which is always directly inside dir.
func SaveAttachment(r io.Reader, index int, dir string) (string, error) {
	absDir, err := filepath.Abs(dir)
	if err != nil {
		return "", fmt.Errorf("mailview: %w", err)
	}
	tmp, err := os.CreateTemp(absDir, ".poplar-save-*")
	if err != nil {
		return "", fmt.Errorf("mailview: %w", err)
	}
	defer os.Remove(tmp.Name())
	a, err := ExtractAttachment(r, index, tmp)
	if cerr := tmp.Close(); err == nil && cerr != nil {
		err = cerr
	}
	if err != nil {
		return "", err
	}
	name := a.Name
	ext := filepath.Ext(name)
	stem := strings.TrimSuffix(name, ext)
	for i := 1; i < 10000; i++ {
		cand := name
		if i > 1 {
			cand = fmt.Sprintf("%s (%d)%s", stem, i, ext)
		}
		p := filepath.Join(absDir, cand)
		if filepath.Dir(p) != absDir {
			return "", fmt.Errorf("mailview: refusing to save %q outside %s", cand, absDir)
		}
		// A hard link fails when the name exists: no file is ever replaced.
		if err := os.Link(tmp.Name(), p); err == nil {
			os.Chmod(p, 0o600)
			return p, nil
		} else if !errors.Is(err, os.ErrExist) {
			return "", fmt.Errorf("mailview: saving %s: %w", cand, err)
		}
	}
	return "", fmt.Errorf("mailview: no free name for %q in %s", name, absDir)
}
