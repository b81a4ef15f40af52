package mailview

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/poplar-mail/poplar/storage/mailview/mailviewtest"
)

// TestDamagedParts: Read names each damaged attachment with the reason, keeps the body, and
// leaves intact ones alone.
func TestDamagedParts(t *testing.T) {
	m, err := Read(strings.NewReader(mailviewtest.DamagedMessage()), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(m.Text(), "The report is attached.") {
		t.Errorf("body not shown: %q", m.Text())
	}
	want := map[string]string{
		"good.bin": "",
		"bad.doc":  "bad base64",
		"cut.pdf":  "truncated",
	}
	got := map[string]string{}
	for _, a := range m.Attachments {
		got[a.Name] = a.Damaged
	}
	for name, reason := range want {
		if r, ok := got[name]; !ok || r != reason {
			t.Errorf("attachment %s: Damaged = %q (listed %v), want %q", name, r, ok, reason)
		}
	}
	for _, name := range []string{"bad.doc", "cut.pdf"} {
		found := false
		for _, w := range m.Warnings {
			found = found || strings.Contains(w, name)
		}
		if !found {
			t.Errorf("no warning names %s: %q", name, m.Warnings)
		}
	}
}

func TestDamageReasons(t *testing.T) {
	part := func(enc, body string) string {
		return "Content-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: application/octet-stream\n" +
			"Content-Transfer-Encoding: " + enc + "\nContent-Disposition: attachment; filename=a.bin\n\n" + body
	}
	tests := []struct {
		name, raw, reason string
		decoded           int64
	}{
		{"intact base64", part("base64", "aGVsbG8=\n--b--\n"), "", 5},
		{"bad character", part("base64", "aGVs*bG8=\n--b--\n"), "bad base64", 3},
		{"data after padding", part("base64", "aGVsbG8=aGVsbG8=\n--b--\n"), "bad base64", 5},
		{"cut in a group, closed", part("base64", "aGVsbG\n--b--\n"), "truncated", 3},
		{"no closing boundary", part("base64", "aGVsbG8=\n"), "truncated", 5},
		{"cut in a group, message ends", part("base64", "aGVsbG"), "truncated", 3},
		{"bad quoted-printable", part("quoted-printable", "abc\x01def\n--b--\n"), "bad quoted-printable", 3},
		{"unknown encoding is not damage", part("x-unknown", "raw\n--b--\n"), "", 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := Read(strings.NewReader(tt.raw), Options{})
			if err != nil || len(m.Attachments) != 1 {
				t.Fatalf("Read: %v, %d attachments", err, len(m.Attachments))
			}
			a := m.Attachments[0]
			if a.Damaged != tt.reason {
				t.Errorf("Read(%q): Damaged = %q, want %q", tt.raw, a.Damaged, tt.reason)
			}
			var buf bytes.Buffer
			_, err = ExtractAttachment(strings.NewReader(tt.raw), a.Index, &buf)
			var de *DamagedError
			switch {
			case tt.reason == "" && err != nil:
				t.Errorf("ExtractAttachment: %v, want no error", err)
			case tt.reason != "" && (!errors.As(err, &de) || de.Reason != tt.reason || de.Decoded != int64(buf.Len())):
				t.Errorf("ExtractAttachment: %#v, want a DamagedError %q with Decoded %d", err, tt.reason, buf.Len())
			}
			if int64(buf.Len()) != tt.decoded {
				t.Errorf("decoded %d bytes (%q), want %d", buf.Len(), buf.Bytes(), tt.decoded)
			}
		})
	}
}

// TestSaveDamaged: an intact attachment is saved byte-exact under its name; a damaged one never
// is: what could be decoded goes to NAME.partial, with a DamagedError; no temporary file stays.
func TestSaveDamaged(t *testing.T) {
	raw := mailviewtest.DamagedMessage()
	m, err := Read(strings.NewReader(raw), Options{})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for _, a := range m.Attachments {
		p, err := SaveAttachment(strings.NewReader(raw), a.Index, dir)
		var de *DamagedError
		switch a.Name {
		case "good.bin":
			if err != nil || p != filepath.Join(dir, "good.bin") {
				t.Fatalf("SaveAttachment(good.bin) = %q, %v", p, err)
			}
			if b, _ := os.ReadFile(p); !bytes.Equal(b, mailviewtest.GoodAttachment()) {
				t.Errorf("good.bin saved as %d bytes, not byte-exact", len(b))
			}
		case "bad.doc", "cut.pdf":
			if !errors.As(err, &de) || de.Name != a.Name || de.Reason != a.Damaged {
				t.Fatalf("SaveAttachment(%s) error = %v, want a DamagedError", a.Name, err)
			}
			if p != filepath.Join(dir, a.Name+PartialSuffix) {
				t.Errorf("SaveAttachment(%s) saved %q, want %s%s", a.Name, p, a.Name, PartialSuffix)
			}
			if fi, err := os.Stat(p); err != nil || fi.Size() != de.Decoded || de.Decoded == 0 {
				t.Errorf("partial file: %v, %v; decoded %d", fi, err, de.Decoded)
			}
		}
	}
	var names []string
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		names = append(names, e.Name())
	}
	sort.Strings(names)
	if want := "bad.doc.partial cut.pdf.partial good.bin"; strings.Join(names, " ") != want {
		t.Errorf("folder holds %q, want %q", names, want)
	}
	// Nothing decodable: no file at all.
	nothing := "Content-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: application/pdf\n" +
		"Content-Transfer-Encoding: base64\nContent-Disposition: attachment; filename=x.pdf\n\n*!!*\n--b--\n"
	empty := t.TempDir()
	p, err := SaveAttachment(strings.NewReader(nothing), 1, empty)
	var de *DamagedError
	if p != "" || !errors.As(err, &de) || de.Decoded != 0 {
		t.Errorf("SaveAttachment(undecodable) = %q, %v", p, err)
	}
	if entries, _ := os.ReadDir(empty); len(entries) != 0 {
		t.Errorf("undecodable attachment left %v", entries)
	}
}
