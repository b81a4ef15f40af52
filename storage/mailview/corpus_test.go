package mailview

import (
	"bytes"
	"encoding/csv"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"
)

// corpusDir finds ../shared/corpus beside the repository. The corpus stays there (it is not ours
// to copy); without it the test is skipped, except under CI=true, where it fails.
func corpusDir(t *testing.T) string {
	t.Helper()
	dir, _ := os.Getwd()
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("go.mod not found above the test")
		}
		dir = parent
	}
	c := filepath.Join(filepath.Dir(dir), "shared", "corpus")
	if _, err := os.Stat(filepath.Join(c, "MANIFEST.tsv")); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("the shared corpus is missing at %s; CI must run the corpus test", c)
		}
		t.Skipf("the shared corpus is not at %s", c)
	}
	return c
}

type corpusEntry struct{ file, description, expect string }

func readManifest(t *testing.T, dir string) []corpusEntry {
	f, err := os.Open(filepath.Join(dir, "MANIFEST.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r := csv.NewReader(f)
	r.Comma = '\t'
	r.LazyQuotes = true
	r.FieldsPerRecord = -1
	rows, err := r.ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	var out []corpusEntry
	for _, row := range rows[1:] {
		if len(row) >= 6 {
			out = append(out, corpusEntry{file: row[0], description: row[4], expect: row[5]})
		}
	}
	return out
}

// safeName reports whether an attachment name can be created as-is inside a folder.
func safeName(n string) bool {
	if n == "" || n == "." || n == ".." || strings.ContainsAny(n, `/\`) || strings.Contains(n, "..") || strings.HasPrefix(n, ".") {
		return false
	}
	for _, r := range n {
		if r < 0x20 || r == 0x7f || isBidiControl(r) {
			return false
		}
	}
	return true
}

// TestCorpus reads every message of the shared corpus and checks what its MANIFEST row says a
// reader must show.
func TestCorpus(t *testing.T) {
	dir := corpusDir(t)
	entries := readManifest(t, dir)
	if len(entries) < 100 {
		t.Fatalf("MANIFEST lists %d messages, expected about 105", len(entries))
	}
	for _, c := range entries {
		t.Run(c.file, func(t *testing.T) {
			raw, err := os.ReadFile(filepath.Join(dir, c.file))
			if err != nil {
				t.Fatal(err)
			}
			m, err := Read(bytes.NewReader(raw), Options{})
			if err != nil {
				t.Fatalf("Read: %v", err)
			}
			text := m.Text()
			// Always: valid UTF-8, no control or bidi-override characters in what is shown.
			for what, s := range map[string]string{"subject": m.Subject, "body": text} {
				if !utf8.ValidString(s) {
					t.Errorf("%s is not valid UTF-8", what)
				}
				if strings.ContainsFunc(s, func(r rune) bool { return badRune(r) }) {
					t.Errorf("%s has control or bidi characters: %q", what, clipQ(s))
				}
			}
			for _, b := range m.Body {
				for _, sp := range b.Spans {
					if sp.Link != "" && safeLink(sp.Link) == "" {
						t.Errorf("unsafe link %q", sp.Link)
					}
				}
			}
			for _, a := range m.Attachments {
				if !safeName(a.Name) {
					t.Errorf("attachment name %q is not safe", a.Name)
				}
			}
			sum, err := Summarize(bytes.NewReader(raw))
			if err != nil {
				t.Fatalf("Summarize: %v", err)
			}
			if sum.Subject != m.Subject && len(raw) < summaryBytes {
				t.Errorf("Summarize subject %q differs from Read's %q", sum.Subject, m.Subject)
			}
			// HTML that shows inline images by cid: is shown (HTML is the default), the images in
			// place, each found among the message's parts.
			if strings.Contains(c.description, "cid:") {
				images := 0
				for _, b := range m.Body {
					if b.Kind == Image && b.ImageStatus != ImageMissing {
						images++
					}
				}
				if !m.BodyIsHTML || images == 0 {
					t.Errorf("cid: images not shown: BodyIsHTML %v, %d images found in the body", m.BodyIsHTML, images)
				}
			}
			exp := c.expect
			switch {
			case strings.HasPrefix(exp, "decode headers and body to readable Unicode"):
				if strings.TrimSpace(text) == "" && len(m.Attachments) == 0 {
					t.Errorf("nothing shown for a message with a body")
				}
				if strings.Contains(m.Subject, "=?") {
					t.Errorf("subject still encoded: %q", m.Subject)
				}
			case strings.HasPrefix(exp, "decode as GBK"):
				if strings.ContainsRune(text+m.Subject, utf8.RuneError) || !strings.Contains(m.Subject+text, "镕") {
					t.Errorf("GBK not decoded: subject %q body %q", m.Subject, clipQ(text))
				}
			case strings.HasPrefix(exp, "render without running script"), strings.HasPrefix(exp, "script never runs"):
				if strings.Contains(strings.ToLower(text), "<script") {
					t.Errorf("script source shown as text")
				}
				if strings.Contains(exp, `"Text" visible`) && !strings.Contains(text, "Text") {
					t.Errorf("the text is not shown: %q", clipQ(text))
				}
			case strings.HasPrefix(exp, "no request to 127.0.0.1:47124"):
				if m.RemoteBlocked == 0 {
					t.Errorf("remote references not reported as blocked")
				}
			case strings.HasPrefix(exp, "list attachments with sanitized names"), strings.HasPrefix(exp, "names shown and saved sanitized"):
				if len(m.Attachments) == 0 {
					t.Fatalf("no attachments listed")
				}
				out := t.TempDir()
				for _, a := range m.Attachments {
					p, err := SaveAttachment(bytes.NewReader(raw), a.Index, out)
					if err != nil {
						t.Errorf("saving %q: %v", a.Name, err)
						continue
					}
					if filepath.Dir(p) != out {
						t.Errorf("saved %q outside the folder: %s", a.Name, p)
					}
				}
			case strings.HasPrefix(exp, "reassemble and decode RFC 2231"):
				if len(m.Attachments) == 0 {
					t.Fatalf("no attachments listed")
				}
				for _, a := range m.Attachments {
					if a.OrigName == "" || strings.Contains(a.OrigName, "''") || strings.Contains(a.OrigName, "=?") || strings.Contains(a.OrigName, "%") {
						t.Errorf("file name not decoded: %q", a.OrigName)
					}
				}
			case strings.HasPrefix(exp, "show the raw or"):
				if m.Date.IsZero() && m.DateText == "" && !strings.Contains(string(raw), "Date: \n") && !strings.Contains(string(raw), "Date: \r\n") {
					t.Errorf("neither a date nor its raw text")
				}
			case strings.HasPrefix(exp, "show the headers; empty body"):
				if m.Subject == "" || len(m.From) == 0 {
					t.Errorf("headers not shown: %+v", m)
				}
			case strings.HasPrefix(exp, "list the attachment with size 0"):
				found := false
				for _, a := range m.Attachments {
					if a.Size == 0 {
						found = true
						var buf bytes.Buffer
						if _, err := ExtractAttachment(bytes.NewReader(raw), a.Index, &buf); err != nil || buf.Len() != 0 {
							t.Errorf("extracting the empty attachment: %d bytes, %v", buf.Len(), err)
						}
					}
				}
				if !found {
					t.Errorf("no zero-size attachment among %+v", m.Attachments)
				}
			case strings.HasPrefix(exp, "show every recoverable part"):
				if strings.TrimSpace(text) == "" && len(m.Attachments) == 0 && len(raw) > 400 {
					t.Errorf("nothing recovered from %d bytes", len(raw))
				}
			case strings.HasPrefix(exp, "show structure and cleartext"):
				if strings.TrimSpace(text) == "" && len(m.Attachments) == 0 {
					t.Errorf("neither text nor parts shown")
				}
			}
		})
	}
}

func clipQ(s string) string {
	if len(s) > 200 {
		return s[:200]
	}
	return s
}

// FuzzRead feeds arbitrary bytes to Read, with and without PreferPlain, and Summarize: they must
// return, never panic, and what they return must be valid UTF-8.
func FuzzRead(f *testing.F) {
	f.Add([]byte("Subject: hi\n\nbody\n"))
	f.Add([]byte("Content-Type: multipart/mixed; boundary=x\n\n--x\nContent-Type: text/html\n\n<p>a<img src=http://x/>\n--x--\n"))
	f.Add([]byte("Subject: =?utf-7?Q?+AOQ-?=\nContent-Type: text/plain; charset=utf-7\n\n+AOQ-\n"))
	f.Add([]byte("Content-Type: multipart/alternative; boundary=a\n\n--a\nContent-Type: text/plain\n\nx\n--a\nContent-Type: multipart/related; boundary=r\n\n" +
		"--r\nContent-Type: text/html\n\n<table><tr><th>a<th>b<tr><td>1<td>2</table><img src=cid:i>\n--r\nContent-Type: image/png\nContent-ID: <i>\n\nPNG\n--r--\n--a--\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := Read(bytes.NewReader(data), Options{MaxParts: 100, MaxDepth: 20})
		if err != nil {
			t.Fatalf("Read of in-memory bytes failed: %v", err)
		}
		// The other alternative: Alternatives says the same whichever is shown.
		p, err := Read(bytes.NewReader(data), Options{MaxParts: 100, MaxDepth: 20, PreferPlain: true})
		if err != nil || p.Alternatives != m.Alternatives || !utf8.ValidString(p.Text()) {
			t.Fatalf("Read with PreferPlain: Alternatives %v (HTML: %v), %v", p.Alternatives, m.Alternatives, err)
		}
		if !utf8.ValidString(m.Subject) || !utf8.ValidString(m.Text()) {
			t.Fatal("invalid UTF-8 out")
		}
		if _, err := Summarize(bytes.NewReader(data)); err != nil {
			t.Fatal(err)
		}
		for _, a := range m.Attachments {
			if !safeName(a.Name) {
				t.Fatalf("unsafe name %q", a.Name)
			}
			ExtractAttachment(bytes.NewReader(data), a.Index, io.Discard)
		}
	})
}
