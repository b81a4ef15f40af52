package mailview

import (
	"bytes"
	"net/mail"
	"reflect"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

// mixed returns a multipart/mixed message of a text/plain part and the given parts, each
// "header lines\n\nbody".
func mixed(text string, parts ...string) string {
	var b strings.Builder
	b.WriteString("Subject: mixed\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=mix\n\n--mix\nContent-Type: text/plain; charset=utf-8\n\n")
	b.WriteString(text + "\n")
	for _, p := range parts {
		b.WriteString("--mix\n" + p + "\n")
	}
	b.WriteString("--mix--\n")
	return b.String()
}

// TestSummarizePreview: the preview comes from as much of the first text part as it needs, so a
// long quote, a long style sheet or a cut through a character does not spoil it; the attachment
// mark comes from the part headers, wherever the attachment is.
func TestSummarizePreview(t *testing.T) {
	quote := strings.Repeat("> an old line of the message this answers\n", 200)                   // 8.6 KB
	style := "<style>" + strings.Repeat("p.x{margin:0;padding:0;color:#333}\n", 200) + "</style>" // 7 KB
	cjk := strings.Repeat("会議", 1000)                                                             // 6 KB, a cut falls inside a character
	pdf := "Content-Type: application/pdf\nContent-Disposition: attachment; filename=a.pdf\nContent-Transfer-Encoding: base64\n\nJVBERi0K"
	cidImage := "Content-Type: image/png\nContent-Disposition: inline\nContent-ID: <logo@x>\nContent-Transfer-Encoding: base64\n\niVBORw0K"
	long := strings.Repeat("Twenty-two bytes long\n", 1000) // 22 KB, more than Summarize reads of a part
	uu := strings.Repeat("filler text before the file\n", 30) + "begin 644 file.bin\n" + strings.Repeat("M"+strings.Repeat("A", 60)+"\n", 40) + "`\nend\n"
	tests := []struct {
		name, raw, want string
		wantAttach      bool
	}{
		{"plain", "Subject: x\n\nHello   there,\n\n  see you.\n", "Hello there, see you.", false},
		{"quoted lines skipped past the first read", "Subject: x\n\n" + quote + "My answer.\n", "My answer.", false},
		{"html after a long style sheet", "Content-Type: text/html\n\n<html><head>" + style + "</head><body><p>Hello <b>you</b></p>", "Hello you", false},
		{"cut inside a character", "Content-Type: text/plain; charset=utf-8\n\n" + cjk, strings.Repeat("会議", PreviewLength/2) + "…", false},
		{"attachment", mixed("Text.", pdf), "Text.", true},
		{"inline image is no attachment", mixed("Text.", cidImage), "Text.", false},
		{"attachment after a long text", mixed(long, pdf), previewText(long), true},
		{"uuencoded file across the first read", "Subject: x\n\n" + uu, previewText(strings.Repeat("filler text before the file\n", 30)), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Summarize(strings.NewReader(tt.raw))
			if err != nil {
				t.Fatal(err)
			}
			if s.Preview != tt.want || s.HasAttachments != tt.wantAttach {
				t.Errorf("Summarize(%q...) = Preview %q, HasAttachments %v; want %q, %v", clipQ(tt.raw), s.Preview, s.HasAttachments, tt.want, tt.wantAttach)
			}
			if !utf8.ValidString(s.Preview) || strings.ContainsRune(s.Preview, utf8.RuneError) {
				t.Errorf("Preview %q is not clean UTF-8", s.Preview)
			}
		})
	}
}

// TestSummarizeReadsOnlyWhatItNeeds: Summarize reads a long text part only as far as its preview
// needs, and a message only until it has the text and an attachment.
func TestSummarizeReadsOnlyWhatItNeeds(t *testing.T) {
	text := strings.Repeat("Words of a long message, more than a preview holds.\n", 600) // 31 KB
	blob := strings.Repeat(strings.Repeat("QUJD", 19)+"\n", 2000)                        // 154 KB of base64
	pdf := "Content-Type: application/pdf\nContent-Disposition: attachment; filename=a.pdf\nContent-Transfer-Encoding: base64\n\n"
	tests := []struct {
		name, raw  string
		wantAttach bool
	}{
		{"long plain text", "Subject: x\n\n" + text, false},
		// The preview is cut right after a word, so the space before "…" is dropped: the preview
		// is still whole (it read 40 % more CPU on the first open when it was not taken so).
		{"long plain text, cut after a word", "Subject: x\n\n" + strings.Repeat("x", PreviewLength-1) + " " + text, false},
		{"attachment", mixed("Short text.", pdf+blob, pdf+blob), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &countingReader{r: strings.NewReader(tt.raw)}
			s, err := Summarize(r)
			if err != nil || s.Preview == "" || s.HasAttachments != tt.wantAttach {
				t.Fatalf("Summarize = Preview %q, HasAttachments %v, %v; want a preview, %v", s.Preview, s.HasAttachments, err, tt.wantAttach)
			}
			if r.n > maxRead {
				t.Errorf("Summarize read %d bytes of a %d-byte message, want at most %d", r.n, len(tt.raw), maxRead)
			}
		})
	}
}

// previewText is the preview of text.
func previewText(text string) string {
	p, _ := preview(text)
	return p
}

// maxRead is the most TestSummarizeReadsOnlyWhatItNeeds lets Summarize read: the first read of a
// text part and what the readers under it buffer ahead.
const maxRead = 12 << 10

// TestReadCutKeepsCharacters: a text part cut at Options.MaxTextBytes inside a UTF-8 character
// is still read as UTF-8, without the broken character.
func TestReadCutKeepsCharacters(t *testing.T) {
	m, err := Read(strings.NewReader("Content-Type: text/plain; charset=utf-8\n\nééééé\n"), Options{MaxTextBytes: 5})
	if err != nil {
		t.Fatal(err)
	}
	if got := m.Text(); got != "éé\n" {
		t.Errorf("Read cut at 5 bytes: Text %q, want %q", got, "éé\n")
	}
}

// TestDateAsParseDate: the Date of a message is what mail.ParseDate makes of the field, in the
// common form Read parses first as in any other.
func TestDateAsParseDate(t *testing.T) {
	for _, d := range []string{
		"Mon, 2 Jan 2006 15:04:05 -0700",
		"Mon, 02 Jan 2006 15:04:05 +0100",
		"Tue, 2 Jan 2006 15:04:05 -0700", // the wrong day of the week
		"Mon, 2 Jan 2006 15:04:05 -0700 (PDT)",
		"2 Jan 2006 15:04:05 -0700",
		"Mon, 2 Jan 06 15:04 GMT",
	} {
		want, err := mail.ParseDate(d)
		if err != nil {
			t.Fatalf("mail.ParseDate(%q): %v", d, err)
		}
		m, err := Read(strings.NewReader("Date: "+d+"\n\nx\n"), Options{})
		if err != nil || !m.Date.Equal(want) || m.Date.Location().String() != want.Location().String() {
			t.Errorf("Read(Date: %q) = %v, %v; want %v", d, m.Date, err, want)
		}
	}
}

// TestSummarizeHeaderAmongOtherFields: Summarize parses only the header fields it reads and
// leaves the rest (Received, DKIM-Signature...) out first; what it reads is what Read reads,
// whatever the case of a field's name, spaces before its colon, a broken line or a field that
// comes twice.
func TestSummarizeHeaderAmongOtherFields(t *testing.T) {
	received := strings.Repeat("Received: from a.example by b.example;\n\tMon, 2 Jan 2006 15:04:05 -0700\n", 8)
	tests := []struct{ name, raw string }{
		{"among Received lines", received + "From: Ann <ann@example.org>\nTo: bob@example.org, Cy <cy@example.org>\nSubject: Hello\n" +
			"Date: Mon, 2 Jan 2006 15:04:05 -0700\nMessage-ID: <m1@example.org>\nIn-Reply-To: <m0@example.org>\n" +
			"References: <r1@example.org>\n <m0@example.org>\nDKIM-Signature: v=1; a=rsa-sha256;\n b=AAAA\n\nThe text.\n"},
		{"names in any case, spaces before the colon", "FROM : =?utf-8?q?J=C3=BCrgen?= <j@example.org>\nsubject:\tcase\nmessage-id: <x@y>\n" +
			"CONTENT-TYPE: text/plain; charset=iso-8859-1\ncontent-transfer-encoding: quoted-printable\n\nCaf=E9 ouvert.\n"},
		{"a broken line and a field twice", "X-Junk: 1\nnot a field\nSubject: first\nSubject: second\nX-Other: 2\n\tcontinued\n" +
			"Content-Type: text/html\n\n<p>Hi <b>there</b></p>\n"},
		{"raw 8-bit name in the body's charset", "From: J\xfcrgen <j@example.org>\nContent-Type: text/plain; charset=iso-8859-1\n\nText.\n"},
		{"multipart with a Subject of 5 KB", "X-Long: " + strings.Repeat("b", 5000) + "\nSubject: " + strings.Repeat("a", 5000) + "\n" + strings.TrimPrefix(mixed("Text.",
			"Content-Type: application/pdf\nContent-Disposition: attachment; filename=a.pdf\n\nJVBERi0K"), "Subject: mixed\n")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Summarize(strings.NewReader(tt.raw))
			if err != nil {
				t.Fatal(err)
			}
			m, err := Read(strings.NewReader(tt.raw), Options{PreferPlain: true})
			if err != nil {
				t.Fatal(err)
			}
			want := Summary{Subject: m.Subject, Date: m.Date, MessageID: m.MessageID, References: m.References,
				HasAttachments: hasRealAttachment(m.Attachments), Preview: previewText(m.Text())}
			if len(m.From) > 0 {
				want.From = displayName(m.From[0])
			}
			var to []string
			for _, a := range m.To {
				to = append(to, displayName(a))
			}
			want.To = strings.Join(to, ", ")
			if len(m.InReplyTo) > 0 {
				want.InReplyTo = m.InReplyTo[0]
			}
			if !reflect.DeepEqual(s, want) {
				t.Errorf("Summarize(%q...) =\n%#v\nwant (from Read)\n%#v", clipQ(tt.raw), s, want)
			}
			if s.Preview == "" {
				t.Errorf("Summarize(%q...) lost the Preview: %#v", clipQ(tt.raw), s)
			}
		})
	}
}

// TestSummarizerReuse: a Summarizer that summarizes one message after another gives each the
// Summary a fresh one gives, so nothing of a message is left in the buffers it keeps.
func TestSummarizerReuse(t *testing.T) {
	msgs := []string{
		"From: Ann <ann@example.org>\nSubject: " + strings.Repeat("long subject ", 400) + "\nReferences: <a@b> <c@d>\n\n" +
			strings.Repeat("The first message has a long text. ", 600),
		"Subject: short\n\nHi.\n",
		mixed("Text.", "Content-Type: application/pdf\nContent-Disposition: attachment; filename=a.pdf\n\nJVBERi0K"),
		"Content-Type: text/html; charset=utf-8\n\n<p>" + strings.Repeat("Gr\xc3\xbc\xc3\x9fe ", 3000) + "</p>",
		"Subject: =?iso-8859-1?q?Caf=E9?=\nContent-Type: text/plain; charset=iso-8859-1\n\nCaf\xe9.\n",
		"not a header at all\n",
		"",
		"Subject: last\n\nBye.\n",
	}
	var z Summarizer
	for round := range 2 {
		for i, raw := range msgs {
			want, err := Summarize(strings.NewReader(raw))
			if err != nil {
				t.Fatal(err)
			}
			got, err := z.Summarize(strings.NewReader(raw))
			if err != nil || !reflect.DeepEqual(got, want) {
				t.Errorf("round %d, message %d: reused Summarizer gave\n%#v, %v\nwant\n%#v", round, i, got, err, want)
			}
		}
	}
}

// FuzzSummarize: Summarize never fails on a message held in memory, its Preview is valid UTF-8,
// and a reused Summarizer gives the same Summary.
func FuzzSummarize(f *testing.F) {
	f.Add([]byte("Subject: x\nFrom: a@b\n\nHello.\n"))
	f.Add([]byte(mixed("Text.", "Content-Type: application/pdf\nContent-Disposition: attachment; filename=a.pdf\n\nJVBERi0K")))
	f.Add([]byte("Content-Type: multipart/alternative; boundary=b\n\n--b\nContent-Type: text/html\n\n<p>x</p>\n--b--\n"))
	var z Summarizer
	f.Fuzz(func(t *testing.T, raw []byte) {
		want, err := Summarize(bytes.NewReader(raw))
		if err != nil {
			t.Fatalf("Summarize: %v", err)
		}
		if !utf8.ValidString(want.Preview) {
			t.Errorf("Preview %q is not valid UTF-8", want.Preview)
		}
		got, err := z.Summarize(bytes.NewReader(raw))
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("reused Summarizer gave\n%#v, %v\nwant\n%#v", got, err, want)
		}
	})
}

// previewByRune is preview as it was written first, a rune at a time: the reference FuzzPreview
// holds preview to.
func previewByRune(text string) (string, bool) {
	var b strings.Builder
	n := 0
	for text != "" {
		line := text
		if i := strings.IndexByte(text, '\n'); i >= 0 {
			line, text = text[:i], text[i+1:]
		} else {
			text = ""
		}
		t := strings.TrimSpace(line)
		if t == "" || t[0] == '>' {
			continue
		}
		for t != "" {
			f := t
			if i := strings.IndexFunc(t, unicode.IsSpace); i >= 0 {
				f, t = t[:i], strings.TrimLeftFunc(t[i:], unicode.IsSpace)
			} else {
				t = ""
			}
			if b.Len() > 0 {
				b.WriteByte(' ')
				n++
			}
			for _, r := range f {
				if n >= PreviewLength { // full, maybe after a space: none before the ellipsis
					return strings.TrimSuffix(b.String(), " ") + "…", true
				}
				b.WriteRune(r)
				n++
			}
		}
	}
	return b.String(), false
}

// FuzzPreview: preview, which copies a word of ASCII that fits at once, gives what the preview of
// a rune at a time gives, for any text (spaces of every kind, invalid UTF-8, cuts inside words).
func FuzzPreview(f *testing.F) {
	word := strings.Repeat("x", PreviewLength-1)
	for _, s := range []string{"", "Hello   there,\n\n  see you.", "> quoted\nanswer", word + " yz", word + "x yz", word + "é more", "a\u00a0b\u0085c\u2003d\x0be\ff",
		strings.Repeat("word ", 40), "\xff\xfe bad", "x " + strings.Repeat("é", 200), strings.Repeat("ab\t", 80)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, full := preview(s)
		want, wantFull := previewByRune(s)
		if got != want || full != wantFull {
			t.Errorf("preview(%q) = %q, %v; want %q, %v", s, got, full, want, wantFull)
		}
		if n := utf8.RuneCountInString(strings.TrimSuffix(got, "…")); n > PreviewLength || strings.HasSuffix(got, " …") {
			t.Errorf("preview(%q) = %q: %d runes before the ellipsis (at most %d), or a space before it", s, got, n, PreviewLength)
		}
	})
}
