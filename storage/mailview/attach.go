package mailview

import (
	"encoding/base64"
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

// DamagedError reports an attachment whose encoded data is damaged (bad base64, a part the
// message ends inside...): only the first Decoded bytes could be decoded.
type DamagedError struct {
	Index   int    // the part number (see Attachment.Index)
	Name    string // its sanitized file name
	Reason  string // in plain words, e.g. "bad base64"
	Decoded int64  // bytes decoded before the damage
	Err     error  // what the decoder reported
}

func (e *DamagedError) Error() string {
	return fmt.Sprintf("mailview: %s (part %d) is damaged (%s)", e.Name, e.Index, e.Reason)
}

func (e *DamagedError) Unwrap() error { return e.Err }

// damageReason describes in plain words why reading a part's body failed.
func damageReason(err error) string {
	var corrupt base64.CorruptInputError
	switch {
	case errors.As(err, &corrupt):
		return "bad base64"
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "truncated"
	case strings.HasPrefix(err.Error(), "quotedprintable:"):
		return "bad quoted-printable"
	}
	return err.Error()
}

// isDamage reports whether err, from reading a part's body, means its data is damaged. An unknown
// transfer encoding or charset is not damage: the part is kept undecoded.
func isDamage(err error) bool {
	return err != nil && !message.IsUnknownEncoding(err) && !message.IsUnknownCharset(err)
}

// ExtractAttachment writes the decoded content of part index (see Attachment.Index) to w and
// returns its description. When the part's data is damaged, what could be decoded has been written
// to w and the error is a *DamagedError; an error writing to w is returned wrapped.
func ExtractAttachment(r io.Reader, index int, w io.Writer) (Attachment, error) {
	var got Attachment
	wk := &walker{opts: Options{}.withDefaults(), msg: &Message{}, extract: index}
	var copyErr error
	wk.onPart = func(e *message.Entity, a Attachment) error {
		src := &errRecorder{r: e.Body}
		n, err := io.Copy(w, src)
		a.Size = n
		switch {
		case isDamage(src.err):
			a.Damaged = damageReason(src.err)
			copyErr = &DamagedError{Index: index, Name: a.Name, Reason: a.Damaged, Decoded: n, Err: src.err}
		case err != nil && src.err == nil:
			copyErr = fmt.Errorf("mailview: extracting part %d: %w", index, err)
		}
		got = a
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

// PartialSuffix ends the name under which SaveAttachment keeps what could be decoded of a damaged
// attachment, so that an incomplete file never passes for the real one.
const PartialSuffix = ".partial"

// SaveAttachment writes part index of the message into dir, under its sanitized name. It never
// overwrites a file: when the name is taken it adds " (2)", " (3)"... It writes a temporary file
// in dir, syncs it and only then gives it its name, 0600; the path returned is always directly
// inside dir.
//
// A damaged part is never saved under its name: what could be decoded is saved as the name plus
// PartialSuffix, the path returned names that file ("" when nothing could be decoded) and the
// error is a *DamagedError. On any other error nothing is left in dir.
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
	var damaged *DamagedError
	if errors.As(err, &damaged) {
		if damaged.Decoded == 0 {
			tmp.Close()
			return "", err
		}
	} else if err != nil {
		tmp.Close()
		return "", err
	}
	if serr := tmp.Sync(); serr != nil {
		tmp.Close()
		return "", fmt.Errorf("mailview: saving %s: %w", a.Name, serr)
	}
	if cerr := tmp.Close(); cerr != nil {
		return "", fmt.Errorf("mailview: saving %s: %w", a.Name, cerr)
	}
	name := a.Name
	if damaged != nil {
		name += PartialSuffix
	}
	p, lerr := linkFree(tmp.Name(), absDir, name)
	if lerr != nil {
		return "", lerr
	}
	if damaged != nil {
		return p, damaged
	}
	return p, nil
}

// linkFree gives the file at tmp the first free name in dir: name, "stem (2).ext", ... A hard link
// fails when the name exists, so no file is ever replaced.
func linkFree(tmp, dir, name string) (string, error) {
	ext := filepath.Ext(name)
	stem := strings.TrimSuffix(name, ext)
	for i := 1; i < 10000; i++ {
		cand := name
		if i > 1 {
			cand = fmt.Sprintf("%s (%d)%s", stem, i, ext)
		}
		p := filepath.Join(dir, cand)
		if filepath.Dir(p) != dir {
			return "", fmt.Errorf("mailview: refusing to save %q outside %s", cand, dir)
		}
		if err := os.Link(tmp, p); err == nil {
			os.Chmod(p, 0o600)
			syncDir(dir)
			return p, nil
		} else if !errors.Is(err, os.ErrExist) {
			return "", fmt.Errorf("mailview: saving %s: %w", cand, err)
		}
	}
	return "", fmt.Errorf("mailview: no free name for %q in %s", name, dir)
}

// syncDir makes a new name in dir durable; a failure only weakens durability, so it is ignored.
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
}
