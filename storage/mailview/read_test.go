package mailview

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/poplar-mail/poplar/storage/mailview/mailviewtest"
)

// alternative returns a multipart/alternative message of the given parts, each "type\n\nbody".
func alternative(parts ...string) string {
	var b strings.Builder
	b.WriteString("Subject: alt\nMIME-Version: 1.0\nContent-Type: multipart/alternative; boundary=alt\n\n")
	for _, p := range parts {
		typ, body, _ := strings.Cut(p, "\n\n")
		fmt.Fprintf(&b, "--alt\nContent-Type: %s; charset=utf-8\n\n%s\n", typ, body)
	}
	b.WriteString("--alt--\n")
	return b.String()
}

func TestChooseAlternative(t *testing.T) {
	const (
		plain = "text/plain\n\nPlain words"
		html  = "text/html\n\n<p>HTML <b>words</b></p>"
	)
	tests := []struct {
		name        string
		raw         string
		preferPlain bool
		want        string // Text() of the body
		wantHTML    bool   // BodyIsHTML
		wantAlt     bool   // Alternatives
	}{
		{"plain then html: html", alternative(plain, html), false, "HTML words\n", true, true},
		{"plain then html, plain preferred", alternative(plain, html), true, "Plain words\n", false, true},
		{"html then plain: still html", alternative(html, plain), false, "HTML words\n", true, true},
		{"html then plain, plain preferred", alternative(html, plain), true, "Plain words\n", false, true},
		{"blank plain", alternative("text/plain\n\n  \n\t\n", html), true, "HTML words\n", true, false},
		{"html that shows nothing", alternative(plain, "text/html\n\n<html><head><title>x</title></head><body> &#32; <p>\n</p></body></html>"), false, "Plain words\n", false, false},
		{"html of a remote image only", alternative(plain, `text/html`+"\n\n"+`<img src="http://127.0.0.1:47124/pixel.gif">`), false, "Plain words\n", false, false},
		{"html only", alternative(html), false, "HTML words\n", true, false},
		{"html only, plain preferred", alternative(html), true, "HTML words\n", true, false},
		{"plain only", alternative(plain), false, "Plain words\n", false, false},
		{"plain only, plain preferred", alternative(plain), true, "Plain words\n", false, false},
		{"two html: the last", alternative(plain, "text/html\n\n<p>first</p>", "text/html\n\n<p>second</p>"), false, "second\n", true, true},
		{"two plain: the first", alternative(plain, "text/plain\n\nother", html), true, "Plain words\n", false, true},
		{"nothing real", alternative("text/plain\n\n ", "text/html\n\n<p> </p>"), false, "", true, false},
		{"not alternative: both shown", "Content-Type: multipart/mixed; boundary=alt\n\n--alt\nContent-Type: text/plain\n\nPlain words\n--alt\nContent-Type: text/html\n\n<p>HTML</p>\n--alt--\n",
			true, "Plain words\n\n----------------------------------------\n\nHTML\n", true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := Read(strings.NewReader(tt.raw), Options{PreferPlain: tt.preferPlain})
			if err != nil {
				t.Fatal(err)
			}
			if got := m.Text(); got != tt.want || m.BodyIsHTML != tt.wantHTML || m.Alternatives != tt.wantAlt {
				t.Errorf("Read(%q, PreferPlain %v): Text %q, BodyIsHTML %v, Alternatives %v; want %q, %v, %v",
					tt.name, tt.preferPlain, got, m.BodyIsHTML, m.Alternatives, tt.want, tt.wantHTML, tt.wantAlt)
			}
		})
	}
}

// TestAlternativeRemoteBlocked: the HTML shown is made safe as before; the HTML not shown
// counts no blocked reference.
func TestAlternativeRemoteBlocked(t *testing.T) {
	raw := alternative("text/plain\n\nHello", `text/html`+"\n\n"+`<p style="background:url(http://127.0.0.1:47124/bg)">Hello <img src="http://127.0.0.1:47124/p.gif"><script>alert(1)</script></p>`)
	m, err := Read(strings.NewReader(raw), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if m.RemoteBlocked != 2 || m.Text() != "Hello\n" {
		t.Errorf("HTML: RemoteBlocked %d, Text %q; want 2, %q", m.RemoteBlocked, m.Text(), "Hello\n")
	}
	m, err = Read(strings.NewReader(raw), Options{PreferPlain: true})
	if err != nil {
		t.Fatal(err)
	}
	if m.RemoteBlocked != 0 || m.Text() != "Hello\n" {
		t.Errorf("plain: RemoteBlocked %d, Text %q; want 0, %q", m.RemoteBlocked, m.Text(), "Hello\n")
	}
}

// TestSummarizePrefersPlain: the list's preview comes from the plain alternative.
func TestSummarizePrefersPlain(t *testing.T) {
	s, err := Summarize(strings.NewReader(alternative("text/plain\n\nPlain words", "text/html\n\n<p>HTML words</p>")))
	if err != nil || s.Preview != "Plain words" {
		t.Errorf("Summarize: Preview %q, %v; want %q", s.Preview, err, "Plain words")
	}
}

// TestRelatedImageInPlace: a message as Apple Mail and Outlook send it,
// alternative(plain, related(html, image/png)), shows the HTML with the image where the HTML puts
// it, between the paragraphs around it; with PreferPlain, the plain text and no image.
func TestRelatedImageInPlace(t *testing.T) {
	raw := "From: Ann <ann@example.org>\nSubject: Our logo\nMIME-Version: 1.0\n" +
		"Content-Type: multipart/alternative; boundary=\"Apple-Mail=_A\"\n\n" +
		"--Apple-Mail=_A\nContent-Transfer-Encoding: 7bit\nContent-Type: text/plain; charset=us-ascii\n\nBefore the logo.\n\nAfter the logo.\n\n" +
		"--Apple-Mail=_A\nContent-Type: multipart/related; type=\"text/html\"; boundary=\"Apple-Mail=_B\"\n\n" +
		"--Apple-Mail=_B\nContent-Transfer-Encoding: 7bit\nContent-Type: text/html; charset=us-ascii\n\n" +
		"<html><body><div>Before the logo.</div><div><img apple-inline=\"yes\" src=\"cid:logo@example.org\" alt=\"Logo\"></div><div>After the logo.</div></body></html>\n" +
		"--Apple-Mail=_B\nContent-Transfer-Encoding: base64\nContent-Disposition: inline; filename=logo.png\n" +
		"Content-Type: image/png; name=\"logo.png\"\nContent-Id: <logo@example.org>\n\n" +
		mailviewtest.Base64Lines(mailviewtest.SmallPNG(4, 3)) +
		"--Apple-Mail=_B--\n\n--Apple-Mail=_A--\n"
	m, err := Read(strings.NewReader(raw), Options{})
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, b := range m.Body {
		kinds = append(kinds, b.Kind.String()+":"+firstNonEmpty(spanText(b.Spans), b.ImageCID))
	}
	want := "Paragraph:Before the logo. Image:logo@example.org Paragraph:After the logo."
	if got := strings.Join(kinds, " "); got != want {
		t.Fatalf("Body = %s, want %s", got, want)
	}
	if img := m.Body[1]; img.ImageStatus != ImageOK || img.Alt != "Logo" {
		t.Errorf("image block %+v, want status OK and alt Logo", img)
	}
	if !m.Alternatives || !m.BodyIsHTML || len(m.Attachments) != 1 || m.Attachments[0].ContentID != "logo@example.org" {
		t.Errorf("Alternatives %v, BodyIsHTML %v, attachments %+v", m.Alternatives, m.BodyIsHTML, m.Attachments)
	}
	m, err = Read(strings.NewReader(raw), Options{PreferPlain: true})
	if err != nil {
		t.Fatal(err)
	}
	if got := m.Text(); got != "Before the logo.\n\nAfter the logo.\n" || m.BodyIsHTML {
		t.Errorf("PreferPlain: Text %q, BodyIsHTML %v", got, m.BodyIsHTML)
	}
}

func TestThreadFields(t *testing.T) {
	tests := []struct {
		name           string
		header         string
		wantIRT, wantR []string
	}{
		{"none", "Subject: x\n", nil, nil},
		{"both", "In-Reply-To: <b@x>\nReferences: <a@x>\n <b@x>\n", []string{"b@x"}, []string{"a@x", "b@x"}},
		{"comment and junk", "In-Reply-To: your message <b@x> of today\nReferences: <a@x> <b@x\n", []string{"b@x"}, []string{"a@x"}},
		{"empty brackets", "References: <> \n", nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := Read(strings.NewReader(tt.header+"\nbody\n"), Options{})
			if err != nil {
				t.Fatal(err)
			}
			if fmt.Sprint(m.InReplyTo) != fmt.Sprint(tt.wantIRT) || fmt.Sprint(m.References) != fmt.Sprint(tt.wantR) {
				t.Errorf("Read(%q): InReplyTo %q, References %q; want %q, %q", tt.header, m.InReplyTo, m.References, tt.wantIRT, tt.wantR)
			}
		})
	}
}

// TestSummarizeThreadFields: a Summary carries the first In-Reply-To identifier and the
// References, without brackets, as Read gives them; a long References list keeps its first and
// its last MaxReferences-1 identifiers.
func TestSummarizeThreadFields(t *testing.T) {
	var long []string
	var longField strings.Builder
	for i := 0; i < 50; i++ {
		id := fmt.Sprintf("r%d@example.org", i)
		long = append(long, id)
		fmt.Fprintf(&longField, " <%s>", id)
	}
	tests := []struct {
		name, header  string
		wantInReplyTo string
		wantRefs      []string
	}{
		{"none", "Subject: x\n", "", nil},
		{"reply", "In-Reply-To: <a@x> <b@x>\nReferences: <r@x>\n\t<a@x>\n", "a@x", []string{"r@x", "a@x"}},
		{"unparseable field", "In-Reply-To: your message <a@x> of Monday\nReferences: junk <r@x> (c) <a@x>\n", "a@x", []string{"r@x", "a@x"}},
		{"empty field", "In-Reply-To:\nReferences: \n", "", nil},
		{"long references", "References:" + longField.String() + "\n", "", append([]string{long[0]}, long[len(long)-MaxReferences+1:]...)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			raw := "From: a@example.org\n" + tt.header + "\nbody\n"
			s, err := Summarize(strings.NewReader(raw))
			if err != nil {
				t.Fatal(err)
			}
			if s.InReplyTo != tt.wantInReplyTo || !slices.Equal(s.References, tt.wantRefs) {
				t.Errorf("Summarize(%q) = InReplyTo %q, References %q; want %q, %q", raw, s.InReplyTo, s.References, tt.wantInReplyTo, tt.wantRefs)
			}
			if len(s.References) > MaxReferences {
				t.Errorf("%d references, more than %d", len(s.References), MaxReferences)
			}
		})
	}
}
