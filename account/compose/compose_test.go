package compose

import (
	"bytes"
	"errors"
	"io"
	"net/mail"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	_ "github.com/emersion/go-message/charset"
	gomail "github.com/emersion/go-message/mail"

	"github.com/poplar-mail/poplar/storage/mailview"
)

// parsed is a written message read back with go-message.
type parsed struct {
	header      gomail.Header
	body        string // the text part, decoded, CRLF made LF
	bodyEnc     string // its Content-Transfer-Encoding
	attachments []parsedAttachment
}

type parsedAttachment struct {
	name, ctype, enc string
	data             []byte
}

func readBack(t *testing.T, raw []byte) parsed {
	t.Helper()
	mr, err := gomail.CreateReader(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("go-message cannot read %q: %v", raw, err)
	}
	p := parsed{header: mr.Header}
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("NextPart: %v", err)
		}
		data, err := io.ReadAll(part.Body)
		if err != nil {
			t.Fatalf("reading a part: %v", err)
		}
		switch h := part.Header.(type) {
		case *gomail.InlineHeader:
			p.body = strings.ReplaceAll(string(data), "\r\n", "\n")
			p.bodyEnc = h.Get("Content-Transfer-Encoding")
		case *gomail.AttachmentHeader:
			name, _ := h.Filename()
			ct, _, _ := h.ContentType()
			p.attachments = append(p.attachments, parsedAttachment{name, ct, h.Get("Content-Transfer-Encoding"), data})
		}
	}
	return p
}

func write(t *testing.T, d *Draft, opts WriteOptions) []byte {
	t.Helper()
	var b bytes.Buffer
	n, err := d.WriteWith(&b, opts)
	if err != nil {
		t.Fatalf("WriteWith: %v", err)
	}
	if n != int64(b.Len()) {
		t.Errorf("WriteWith returned %d bytes, wrote %d", n, b.Len())
	}
	return b.Bytes()
}

func bytesAttachment(name, ctype string, data []byte) Attachment {
	return Attachment{Name: name, ContentType: ctype, Size: int64(len(data)),
		Open: func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil }}
}

var (
	ada   = mail.Address{Name: "Ada Lovelace", Address: "ada@example.org"}
	bob   = mail.Address{Name: "Bób Ünicode 😀", Address: "bob@example.net"}
	carol = mail.Address{Address: "carol@example.com"}
)

func TestWriteRoundTrip(t *testing.T) {
	long := strings.Repeat("abcdefghij", 100) // a 1000-char line
	binary := make([]byte, 70000)
	for i := range binary {
		binary[i] = byte(i * 7)
	}
	tests := []struct {
		name        string
		subject     string
		body        string
		wantBody    string // "" = body
		attachments []Attachment
		eightBit    bool
		wantEnc     string
	}{
		{"plain ascii", "Hello", "Hi Bob,\nsee you.\n", "", nil, false, "7bit"},
		{"no final newline", "Hello", "Hi", "Hi\n", nil, false, "7bit"},
		{"CRLF and CR", "Hello", "a\r\nb\rc\n", "a\nb\nc\n", nil, false, "7bit"},
		{"dot lines", "Dots", ".\n..\n.hidden\nend\n", "", nil, false, "quoted-printable"},
		{"From lines", "From", "From here\nFrom\nFromage\n", "", nil, false, "quoted-printable"},
		{"trailing spaces", "Spaces", "a  \nb\t\n-- \nsig\n", "", nil, false, "quoted-printable"},
		{"1000-char line", "Long", long + "\nshort\n", "", nil, false, "quoted-printable"},
		{"1000-char line 8bit", "Long", long + "\n", "", nil, true, "quoted-printable"},
		{"non-ASCII", "Grüße aus Köln — 你好 😀", "Grüße, 你好 😀\n", "", nil, false, "quoted-printable"},
		{"non-ASCII 8bit", "Grüße", "Grüße, 你好 😀\n", "", nil, true, "8bit"},
		{"long non-ASCII line", "x", strings.Repeat("é", 300) + "\n", "", nil, false, "quoted-printable"},
		{"equals and control", "x", "a=b\x1b[0m\x00\n", "", nil, false, "quoted-printable"},
		{"long subject", strings.Repeat("Ünïcödé wörds ", 20) + "end", "x\n", "", nil, false, "7bit"},
		{"attachments", "Files", "See attached.\n", "", []Attachment{
			bytesAttachment("report.pdf", "application/pdf", []byte("%PDF-1.4 fake")),
			bytesAttachment("Grüße 你好 😀.txt", "", []byte("text file\n")),
			bytesAttachment(strings.Repeat("ünicode-name-", 30)+".bin", "application/octet-stream", binary),
			bytesAttachment("empty", "", nil),
		}, false, "7bit"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			date := time.Date(2026, 1, 2, 10, 0, 0, 0, time.FixedZone("", 3600))
			d := &Draft{From: ada, To: []mail.Address{bob, carol}, Cc: []mail.Address{{Name: "Zoë", Address: "zoe@example.com"}},
				Bcc: []mail.Address{{Address: "secret@example.com"}}, ReplyTo: []mail.Address{carol},
				Subject: tt.subject, Body: tt.body, Attachments: tt.attachments, Date: date,
				InReplyTo: "<parent@example.org>", References: []string{"<root@example.org>", "parent@example.org"}}
			raw := write(t, d, WriteOptions{EightBit: tt.eightBit})
			checkWire(t, raw, tt.eightBit)
			p := readBack(t, raw)
			want := tt.wantBody
			if want == "" {
				want = tt.body
			}
			if p.body != want {
				t.Errorf("body = %q, want %q", p.body, want)
			}
			if p.bodyEnc != tt.wantEnc {
				t.Errorf("Content-Transfer-Encoding = %q, want %q", p.bodyEnc, tt.wantEnc)
			}
			if s, _ := p.header.Subject(); s != tt.subject {
				t.Errorf("Subject = %q, want %q", s, tt.subject)
			}
			for key, want := range map[string][]mail.Address{"From": {ada}, "To": {bob, carol}, "Cc": d.Cc, "Reply-To": {carol}} {
				got, err := p.header.AddressList(key)
				if err != nil || len(got) != len(want) {
					t.Fatalf("%s = %v, %v; want %v", key, got, err, want)
				}
				for i := range want {
					if *got[i] != want[i] {
						t.Errorf("%s[%d] = %v, want %v", key, i, *got[i], want[i])
					}
				}
			}
			if p.header.Has("Bcc") || bytes.Contains(raw, []byte("secret@")) {
				t.Errorf("the Bcc address is written:\n%s", raw)
			}
			if got, _ := p.header.Date(); !got.Equal(date) {
				t.Errorf("Date = %v, want %v", got, date)
			}
			if got, _ := p.header.MsgIDList("References"); strings.Join(got, " ") != "root@example.org parent@example.org" {
				t.Errorf("References = %q", got)
			}
			if got, _ := p.header.MsgIDList("In-Reply-To"); len(got) != 1 || got[0] != "parent@example.org" {
				t.Errorf("In-Reply-To = %q", got)
			}
			if p.header.Get("Mime-Version") != "1.0" {
				t.Errorf("MIME-Version = %q", p.header.Get("Mime-Version"))
			}
			if len(p.attachments) != len(tt.attachments) {
				t.Fatalf("%d attachments read back, want %d", len(p.attachments), len(tt.attachments))
			}
			ct, _, _ := p.header.ContentType()
			if wantCT := map[bool]string{true: "multipart/mixed", false: "text/plain"}[len(tt.attachments) > 0]; ct != wantCT {
				t.Errorf("Content-Type = %q, want %q", ct, wantCT)
			}
			for i, a := range tt.attachments {
				rc, _ := a.Open()
				data, _ := io.ReadAll(rc)
				got := p.attachments[i]
				if got.name != a.Name || !bytes.Equal(got.data, data) || got.enc != "base64" {
					t.Errorf("attachment %d = %q (%d bytes, %s), want %q (%d bytes, base64)", i, got.name, len(got.data), got.enc, a.Name, len(data))
				}
				if a.ContentType != "" && got.ctype != a.ContentType {
					t.Errorf("attachment %d type %q, want %q", i, got.ctype, a.ContentType)
				}
			}
			// The reader pane's parser sees the same.
			m, err := mailview.Read(bytes.NewReader(raw), mailview.Options{})
			if err != nil {
				t.Fatal(err)
			}
			if m.Subject != tt.subject || len(m.From) != 1 || m.From[0].Name != ada.Name || len(m.To) != 2 || m.To[0].Name != bob.Name {
				t.Errorf("mailview.Read: Subject %q, From %v, To %v", m.Subject, m.From, m.To)
			}
			if len(m.Warnings) > 0 {
				t.Errorf("mailview.Read warnings: %q", m.Warnings)
			}
			if len(m.Attachments) != len(tt.attachments) {
				t.Fatalf("mailview.Read: %d attachments, want %d", len(m.Attachments), len(tt.attachments))
			}
			for i, a := range tt.attachments {
				if m.Attachments[i].OrigName != a.Name {
					t.Errorf("mailview attachment %d name %q, want %q", i, m.Attachments[i].OrigName, a.Name)
				}
			}
			if len(m.References) != 2 || m.InReplyTo[0] != "parent@example.org" {
				t.Errorf("mailview.Read: InReplyTo %q, References %q", m.InReplyTo, m.References)
			}
		})
	}
}

// checkWire checks the raw form: CRLF line ends, lines at most 78 octets (998 in 8bit), only
// ASCII unless eightBit, no line starting with "." or "From " or ending in white space outside
// the header.
func checkWire(t *testing.T, raw []byte, eightBit bool) {
	t.Helper()
	if !bytes.HasSuffix(raw, []byte("\r\n")) {
		t.Errorf("the message does not end with CRLF")
	}
	inHeader := true
	for i, line := range bytes.Split(bytes.TrimSuffix(raw, []byte("\r\n")), []byte("\r\n")) {
		if bytes.ContainsAny(line, "\r\n") {
			t.Errorf("line %d has a bare CR or LF: %q", i+1, line)
		}
		if len(line) == 0 {
			inHeader = false
		}
		limit := 78
		if eightBit && !inHeader {
			limit = 998
		}
		if len(line) > limit {
			t.Errorf("line %d is %d octets: %q", i+1, len(line), line)
		}
		for _, c := range line {
			if c >= 0x80 && (!eightBit || inHeader) {
				t.Errorf("line %d has 8-bit data: %q", i+1, line)
				break
			}
		}
		if !inHeader && (bytes.HasPrefix(line, []byte(".")) || bytes.HasPrefix(line, []byte("From ")) ||
			bytes.HasSuffix(line, []byte(" ")) || bytes.HasSuffix(line, []byte("\t"))) {
			t.Errorf("line %d is unsafe: %q", i+1, line)
		}
	}
}

func TestMessageID(t *testing.T) {
	wellFormed := regexp.MustCompile(`^<[A-Za-z0-9.]+@[A-Za-z0-9.-]+>$`)
	seen := map[string]bool{}
	for i := 0; i < 200; i++ {
		d := &Draft{From: ada, To: []mail.Address{bob}, Subject: "x", Body: "x"}
		p := readBack(t, write(t, d, WriteOptions{}))
		id := p.header.Get("Message-Id")
		if !wellFormed.MatchString(id) || !strings.HasSuffix(id, "@example.org>") {
			t.Fatalf("Message-ID %q is not well-formed at the From domain", id)
		}
		if seen[id] {
			t.Fatalf("Message-ID %q repeats", id)
		}
		seen[id] = true
		if p.header.Get("Date") == "" {
			t.Fatalf("no Date")
		}
		if d.MessageID != "" || !d.Date.IsZero() {
			t.Fatalf("WriteTo changed the draft")
		}
	}
	for from, want := range map[string]string{"a@bücher.example": "@xn--bcher-kva.example", "a@[127.0.0.1]": "@poplar.invalid"} {
		if got := NewMessageID(from); !strings.HasSuffix(got, want) {
			t.Errorf("NewMessageID(%q) = %q, want ...%s", from, got, want)
		}
	}
	d := &Draft{From: ada, MessageID: "<given@example.org>", Body: "x"}
	if p := readBack(t, write(t, d, WriteOptions{})); p.header.Get("Message-Id") != "<given@example.org>" {
		t.Errorf("Message-ID = %q, want the given one", p.header.Get("Message-Id"))
	}
}

func TestRecipients(t *testing.T) {
	d := &Draft{From: ada, To: []mail.Address{bob, carol}, Cc: []mail.Address{{Address: "BOB@example.net"}, {Address: "dan@x.org"}},
		Bcc: []mail.Address{{Address: "eve@x.org"}, {Address: "Carol@Example.com"}}}
	want := "bob@example.net carol@example.com dan@x.org eve@x.org"
	if got := strings.Join(d.Recipients(), " "); got != want {
		t.Errorf("Recipients() = %q, want %q", got, want)
	}
}

func TestValidate(t *testing.T) {
	ok := func() *Draft { return &Draft{From: ada, To: []mail.Address{bob}, Subject: "s", Body: "b"} }
	tests := []struct {
		name      string
		change    func(d *Draft)
		wantErr   error
		wantField string // of an *AddressError
		wantAddr  string
	}{
		{"ok", func(d *Draft) {}, nil, "", ""},
		{"Bcc only", func(d *Draft) { d.To = nil; d.Bcc = []mail.Address{carol} }, nil, "", ""},
		{"no From", func(d *Draft) { d.From = mail.Address{} }, ErrNoFrom, "", ""},
		{"no recipient", func(d *Draft) { d.To = nil }, ErrNoRecipient, "", ""},
		{"bad To", func(d *Draft) { d.To = append(d.To, mail.Address{Address: "bob.example.net"}) }, nil, "To", "bob.example.net"},
		{"bad Cc", func(d *Draft) { d.Cc = []mail.Address{{Address: "a@b@"}} }, nil, "Cc", "a@b@"},
		{"bad Bcc", func(d *Draft) { d.Bcc = []mail.Address{{Address: "x y@z"}} }, nil, "Bcc", "x y@z"},
		{"bad From", func(d *Draft) { d.From.Address = "@x" }, nil, "From", "@x"},
		{"bad Reply-To", func(d *Draft) { d.ReplyTo = []mail.Address{{Address: "a@b>"}} }, nil, "Reply-To", "a@b>"},
		{"subject injection", func(d *Draft) { d.Subject = "hi\r\nBcc: x@y" }, ErrLineBreak, "", ""},
		{"name injection", func(d *Draft) { d.To[0].Name = "x\nBcc: a@b" }, ErrLineBreak, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := ok()
			tt.change(d)
			err := d.Validate()
			var ae *AddressError
			switch {
			case tt.wantField != "":
				if !errors.As(err, &ae) || ae.Field != tt.wantField || ae.Address != tt.wantAddr || !strings.Contains(err.Error(), tt.wantAddr) {
					t.Errorf("Validate() = %v, want an AddressError for %s %q", err, tt.wantField, tt.wantAddr)
				}
			case !errors.Is(err, tt.wantErr) || (tt.wantErr == nil) != (err == nil):
				t.Errorf("Validate() = %v, want %v", err, tt.wantErr)
			}
			if tt.wantErr == ErrLineBreak {
				if _, werr := d.WriteTo(io.Discard); !errors.Is(werr, ErrLineBreak) {
					t.Errorf("WriteTo() = %v, want %v", werr, ErrLineBreak)
				}
			}
		})
	}
}

func TestParseAddressList(t *testing.T) {
	tests := []struct {
		in      string
		want    []mail.Address
		wantBad string // the part an error names
	}{
		{"", nil, ""},
		{"  ,  ", nil, ""},
		{"a@x.org", []mail.Address{{Address: "a@x.org"}}, ""},
		{"A <a@x.org>, b@y.org", []mail.Address{{Name: "A", Address: "a@x.org"}, {Address: "b@y.org"}}, ""},
		{`"Last, First" <f@x.org>; <g@y.org>,`, []mail.Address{{Name: "Last, First", Address: "f@x.org"}, {Address: "g@y.org"}}, ""},
		{"=?utf-8?q?Gr=C3=BC=C3=9Fe?= <g@x.org>", []mail.Address{{Name: "Grüße", Address: "g@x.org"}}, ""},
		{"=?utf-8?q?a=0D=0Ab=09_c?= <a@x.org>", []mail.Address{{Name: "a b c", Address: "a@x.org"}}, ""},
		{"Zoë Ünicode <z@x.org>", []mail.Address{{Name: "Zoë Ünicode", Address: "z@x.org"}}, ""},
		{"a@x.org (comment, with comma)", []mail.Address{{Name: "comment, with comma", Address: "a@x.org"}}, ""},
		{"a@x.org, not an address, b@y.org", nil, "not an address"},
		{"a@x.org, bob", nil, "bob"},
		{"A <a@x.org", nil, "A <a@x.org"},
		{"@x.org", nil, "@x.org"},
		{`b@y.org, "a b"@x.org`, nil, `"a b"@x.org`},
	}
	for _, tt := range tests {
		got, err := ParseAddressList(tt.in)
		if tt.wantBad != "" {
			var ae *AddressError
			if !errors.As(err, &ae) || ae.Address != tt.wantBad || !strings.Contains(err.Error(), strconv.Quote(tt.wantBad)) {
				t.Errorf("ParseAddressList(%q) = %v, %v; want an error naming %q", tt.in, got, err, tt.wantBad)
			}
			continue
		}
		if err != nil || len(got) != len(tt.want) {
			t.Errorf("ParseAddressList(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
			continue
		}
		for i := range got {
			if got[i] != tt.want[i] {
				t.Errorf("ParseAddressList(%q)[%d] = %v, want %v", tt.in, i, got[i], tt.want[i])
			}
		}
	}
}

func TestWriteErrors(t *testing.T) {
	boom := errors.New("boom")
	d := &Draft{From: ada, To: []mail.Address{bob}, Body: "x", Attachments: []Attachment{{Name: "a", Open: func() (io.ReadCloser, error) { return nil, boom }}}}
	if _, err := d.WriteTo(io.Discard); !errors.Is(err, boom) {
		t.Errorf("WriteTo with a failing Open = %v, want %v", err, boom)
	}
	d.Attachments = []Attachment{{Name: "a"}}
	if err := d.Validate(); err == nil {
		t.Errorf("Validate() with a nil Open = nil")
	}
	if _, err := (&Draft{To: []mail.Address{bob}}).WriteTo(io.Discard); !errors.Is(err, ErrNoFrom) {
		t.Errorf("WriteTo without From = %v, want %v", err, ErrNoFrom)
	}
}

func TestSniffedType(t *testing.T) {
	d := &Draft{From: ada, To: []mail.Address{bob}, Body: "x", Attachments: []Attachment{
		bytesAttachment("noext", "", []byte("\x89PNG\r\n\x1a\n0000")),
		bytesAttachment("page.html", "", []byte("<p>x")),
		bytesAttachment("bad type", "not a type\r\nBcc: x@y", []byte("x")),
		bytesAttachment("crlf", "application/pdf; a=b\r\n\r\n; c=d", []byte("x")),
	}}
	p := readBack(t, write(t, d, WriteOptions{}))
	if len(p.attachments) != len(d.Attachments) {
		t.Fatalf("%d attachments read back, want %d", len(p.attachments), len(d.Attachments))
	}
	for i, want := range []string{"image/png", "text/html", "text/plain", "text/plain"} {
		if p.attachments[i].ctype != want {
			t.Errorf("attachment %d type %q, want %q", i, p.attachments[i].ctype, want)
		}
	}
}

func TestNeedsSMTPUTF8(t *testing.T) {
	d := &Draft{From: ada, To: []mail.Address{bob}}
	if d.NeedsSMTPUTF8() {
		t.Errorf("NeedsSMTPUTF8() = true for ASCII addresses (and a non-ASCII name)")
	}
	d.Bcc = []mail.Address{{Address: "jörg@bücher.example"}}
	if !d.NeedsSMTPUTF8() {
		t.Errorf("NeedsSMTPUTF8() = false with %q", d.Bcc[0].Address)
	}
}

func TestFileAttachment(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "notes ü.txt")
	if err := os.WriteFile(path, []byte("file content\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	a, err := FileAttachment(path)
	if err != nil || a.Name != "notes ü.txt" || a.Size != 13 {
		t.Fatalf("FileAttachment(%q) = %+v, %v", path, a, err)
	}
	p := readBack(t, write(t, &Draft{From: ada, To: []mail.Address{bob}, Body: "x", Attachments: []Attachment{a}}, WriteOptions{}))
	if len(p.attachments) != 1 || string(p.attachments[0].data) != "file content\n" || p.attachments[0].name != a.Name {
		t.Errorf("the file read back as %+v", p.attachments)
	}
	if _, err := FileAttachment(dir); err == nil {
		t.Errorf("FileAttachment(a folder) = nil error")
	}
	if _, err := FileAttachment(filepath.Join(dir, "missing")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("FileAttachment(missing) = %v, want %v", err, os.ErrNotExist)
	}
	os.Remove(path)
	if _, err := a.Open(); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Open of a removed file = %v, want %v", err, os.ErrNotExist)
	}
}
