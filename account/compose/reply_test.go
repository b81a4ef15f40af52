package compose

import (
	"bytes"
	"fmt"
	"io"
	"net/mail"
	"strings"
	"testing"

	"github.com/poplar-mail/poplar/storage/mailview"
)

func readMessage(t *testing.T, raw string) *mailview.Message {
	t.Helper()
	m, err := mailview.Read(strings.NewReader(raw), mailview.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func emails(list []mail.Address) string {
	out := make([]string, len(list))
	for i, a := range list {
		out[i] = a.Address
	}
	return strings.Join(out, " ")
}

var me = Identity{Name: "Me Myself", Email: "me@home.org", Others: []string{"Alias@Work.com"}, Signature: "Me\nhome.org"}

func TestReplyRecipients(t *testing.T) {
	tests := []struct {
		name           string
		header         string
		all            bool
		wantTo, wantCc string
	}{
		{"from", "From: Ada <ada@x.org>\nTo: me@home.org\n", false, "ada@x.org", ""},
		{"reply-to wins", "From: Ada <ada@x.org>\nReply-To: list@x.org\nTo: me@home.org\n", false, "list@x.org", ""},
		{"all: to and cc, me removed", "From: ada@x.org\nTo: ME@home.org, bob@y.org\nCc: alias@work.com, carol@z.org\n", true, "ada@x.org bob@y.org", "carol@z.org"},
		{"all: duplicates removed", "From: ada@x.org\nTo: Ada <ADA@x.org>, bob@y.org, bob@y.org\nCc: bob@y.org, carol@z.org, Carol@z.org\n", true, "ada@x.org bob@y.org", "carol@z.org"},
		{"all with reply-to", "From: ada@x.org\nReply-To: list@x.org\nTo: list@x.org, me@home.org\nCc: ada@x.org\n", true, "list@x.org", "ada@x.org"},
		{"not all ignores cc", "From: ada@x.org\nTo: bob@y.org\nCc: carol@z.org\n", false, "ada@x.org", ""},
		{"own message goes where it went", "From: Me <me@home.org>\nTo: bob@y.org\nCc: carol@z.org\n", true, "bob@y.org", "carol@z.org"},
		{"unparseable from is skipped", "From: nobody at all\nTo: me@home.org\n", false, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			orig := readMessage(t, tt.header+"Subject: s\n\nbody\n")
			d := Reply(orig, me, tt.all)
			if got := emails(d.To); got != tt.wantTo {
				t.Errorf("Reply(all %v) To = %q, want %q", tt.all, got, tt.wantTo)
			}
			if got := emails(d.Cc); got != tt.wantCc {
				t.Errorf("Reply(all %v) Cc = %q, want %q", tt.all, got, tt.wantCc)
			}
			if d.From != me.From() || len(d.Bcc) != 0 {
				t.Errorf("Reply From = %v, Bcc %v", d.From, d.Bcc)
			}
		})
	}
}

func TestSubjects(t *testing.T) {
	tests := []struct{ in, reply, forward string }{
		{"x", "Re: x", "Fwd: x"},
		{"Re: x", "Re: x", "Fwd: Re: x"},
		{"Re: Re: x", "Re: x", "Fwd: Re: Re: x"},
		{"RE: x", "Re: x", "Fwd: RE: x"},
		{"Aw: AW: x", "Re: x", "Fwd: Aw: AW: x"},
		{"re[2]: x", "Re: x", "Fwd: re[2]: x"},
		{"Fwd: x", "Re: Fwd: x", "Fwd: x"},
		{"FW: Fwd: x", "Re: FW: Fwd: x", "Fwd: x"},
		{"WG: x", "Re: WG: x", "Fwd: x"},
		{"", "Re: ", "Fwd: "},
		{"Regarding: x", "Re: Regarding: x", "Fwd: Regarding: x"},
		{"Grüße", "Re: Grüße", "Fwd: Grüße"},
	}
	for _, tt := range tests {
		if got := ReplySubject(tt.in); got != tt.reply {
			t.Errorf("ReplySubject(%q) = %q, want %q", tt.in, got, tt.reply)
		}
		if got := ForwardSubject(tt.in); got != tt.forward {
			t.Errorf("ForwardSubject(%q) = %q, want %q", tt.in, got, tt.forward)
		}
	}
}

func TestReplyReferences(t *testing.T) {
	var many []string
	for i := 1; i <= 30; i++ {
		many = append(many, fmt.Sprintf("<r%d@x>", i))
	}
	tests := []struct {
		name, header string
		wantIRT      string
		wantRefs     string
	}{
		{"first reply", "Message-ID: <m1@x>\n", "<m1@x>", "<m1@x>"},
		{"chain", "Message-ID: <m3@x>\nIn-Reply-To: <m2@x>\nReferences: <m1@x> <m2@x>\n", "<m3@x>", "<m1@x> <m2@x> <m3@x>"},
		{"in-reply-to only", "Message-ID: <m2@x>\nIn-Reply-To: <m1@x>\n", "<m2@x>", "<m1@x> <m2@x>"},
		{"no message-id", "In-Reply-To: <m1@x>\n", "", "<m1@x>"},
		{"bounded", "Message-ID: <m@x>\nReferences: " + strings.Join(many, " ") + "\n", "<m@x>",
			"<r1@x> " + strings.Join(many[12:], " ") + " <m@x>"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := Reply(readMessage(t, "From: ada@x.org\n"+tt.header+"\nbody\n"), me, false)
			if d.InReplyTo != tt.wantIRT || strings.Join(d.References, " ") != tt.wantRefs {
				t.Errorf("Reply: In-Reply-To %q, References %q; want %q, %q", d.InReplyTo, d.References, tt.wantIRT, tt.wantRefs)
			}
			if len(d.References) > maxReferences {
				t.Errorf("%d References, want at most %d", len(d.References), maxReferences)
			}
			// Written and read back, the thread holds.
			p := readBack(t, write(t, d, WriteOptions{}))
			got, _ := p.header.MsgIDList("References")
			if want := strings.Join(d.References, " "); "<"+strings.Join(got, "> <")+">" != want && want != "" {
				t.Errorf("References written %q, want %q", got, want)
			}
		})
	}
}

func TestReplyBody(t *testing.T) {
	tests := []struct {
		name, raw, want string
	}{
		{"plain", "From: Ada <ada@x.org>\nDate: Fri, 2 Jan 2026 10:00:00 +0100\nSubject: Hi\n\nHello,\n\n> earlier\nbye\n",
			"On Fri, 2 Jan 2026 at 10:00, Ada <ada@x.org> wrote:\n> Hello,\n>\n> > earlier\n>\n> bye\n\n\n-- \nMe\nhome.org\n"},
		{"html", "From: ada@x.org\nDate: Fri, 2 Jan 2026 10:00:00 +0000\nContent-Type: text/html\n\n<p>Hello <b>world</b></p><blockquote>quoted</blockquote><script>x()</script>",
			"On Fri, 2 Jan 2026 at 10:00, ada@x.org wrote:\n> Hello world\n>\n> > quoted\n\n\n-- \nMe\nhome.org\n"},
		{"no date", "From: ada@x.org\n\nx\n", "ada@x.org wrote:\n> x\n\n\n-- \nMe\nhome.org\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := Reply(readMessage(t, tt.raw), me, false)
			if d.Body != tt.want {
				t.Errorf("Reply body = %q, want %q", d.Body, tt.want)
			}
		})
	}
	noSig := Reply(readMessage(t, "From: ada@x.org\n\nx\n"), Identity{Email: "me@home.org"}, false)
	if strings.Contains(noSig.Body, "-- ") {
		t.Errorf("Reply without a signature: %q", noSig.Body)
	}
}

const forwardOrig = "X-Poplar-UIDL: secret-uidl\nFrom: Ada <ada@x.org>\nTo: me@home.org\nCc: bob@y.org\n" +
	"Date: Fri, 2 Jan 2026 10:00:00 +0100\nSubject: Re: Plans\nMessage-ID: <m1@x>\nMIME-Version: 1.0\n" +
	"Content-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: text/plain; charset=utf-8\n\nThe plans, attached.\n" +
	"--b\nContent-Type: application/pdf; name=\"plan.pdf\"\nContent-Disposition: attachment; filename=\"plan.pdf\"\n" +
	"Content-Transfer-Encoding: base64\n\nJVBERi0xLjQgcGxhbg==\n--b\nContent-Type: image/png\nContent-Disposition: attachment; filename*=utf-8''%C3%BC.png\n" +
	"Content-Transfer-Encoding: base64\n\niVBORw0KGgo=\n--b--\n"

func rawOpener(s string) func() (io.ReadCloser, error) {
	return func() (io.ReadCloser, error) { return io.NopCloser(strings.NewReader(s)), nil }
}

func TestForwardInline(t *testing.T) {
	orig := readMessage(t, forwardOrig)
	d := Forward(orig, rawOpener(forwardOrig), me, false)
	if d.Subject != "Fwd: Re: Plans" || len(d.To) != 0 || d.InReplyTo != "" {
		t.Errorf("Forward: Subject %q, To %v, In-Reply-To %q", d.Subject, d.To, d.InReplyTo)
	}
	wantBody := "\n\n---------- Forwarded message ---------\nFrom: Ada <ada@x.org>\nDate: Fri, 2 Jan 2026 at 10:00\n" +
		"Subject: Re: Plans\nTo: me@home.org\nCc: bob@y.org\n\nThe plans, attached.\n\n-- \nMe\nhome.org\n"
	if d.Body != wantBody {
		t.Errorf("Forward body = %q, want %q", d.Body, wantBody)
	}
	d.To = []mail.Address{carol}
	p := readBack(t, write(t, d, WriteOptions{}))
	want := []parsedAttachment{{"plan.pdf", "application/pdf", "base64", []byte("%PDF-1.4 plan")}, {"ü.png", "image/png", "base64", []byte("\x89PNG\r\n\x1a\n")}}
	if len(p.attachments) != len(want) {
		t.Fatalf("%d attachments forwarded, want %d", len(p.attachments), len(want))
	}
	for i, w := range want {
		if g := p.attachments[i]; g.name != w.name || g.ctype != w.ctype || !bytes.Equal(g.data, w.data) {
			t.Errorf("attachment %d = %q %q %q, want %q %q %q", i, g.name, g.ctype, g.data, w.name, w.ctype, w.data)
		}
	}
	if p.body != wantBody {
		t.Errorf("body read back %q", p.body)
	}
	// Without raw, nothing can be attached again.
	if d := Forward(orig, nil, me, false); len(d.Attachments) != 0 {
		t.Errorf("Forward without raw attaches %d parts", len(d.Attachments))
	}
}

func TestForwardAsAttachment(t *testing.T) {
	tests := []struct {
		name     string
		raw      string
		eightBit bool
		wantEnc  string
	}{
		{"7bit", forwardOrig, false, "7bit"},
		{"8bit text, no 8BITMIME", strings.Replace(forwardOrig, "The plans", "Die Pläne", 1), false, "base64"},
		{"8bit text, 8BITMIME", strings.Replace(forwardOrig, "The plans", "Die Pläne", 1), true, "8bit"},
		{"long line", strings.Replace(forwardOrig, "The plans", strings.Repeat("x", 1200), 1), true, "base64"},
		{"CRLF stored", strings.ReplaceAll(forwardOrig, "\n", "\r\n"), false, "7bit"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			orig := readMessage(t, tt.raw)
			d := Forward(orig, rawOpener(tt.raw), me, true)
			d.To = []mail.Address{carol}
			if !strings.HasPrefix(d.Body, "\n\n-- \nMe") {
				t.Errorf("Forward as attachment body = %q", d.Body)
			}
			raw := write(t, d, WriteOptions{EightBit: tt.eightBit})
			p := readBack(t, raw)
			if len(p.attachments) != 1 {
				t.Fatalf("%d attachments, want 1", len(p.attachments))
			}
			a := p.attachments[0]
			if a.ctype != "message/rfc822" || a.enc != tt.wantEnc || a.name != "Re_ Plans.eml" {
				t.Errorf("attachment %q %q %q, want message/rfc822 %q", a.name, a.ctype, a.enc, tt.wantEnc)
			}
			want := strings.ReplaceAll(strings.ReplaceAll(tt.raw, "\r\n", "\n"), "\n", "\r\n")
			want = strings.TrimPrefix(want, "X-Poplar-UIDL: secret-uidl\r\n")
			if string(a.data) != want {
				t.Errorf("the forwarded message = %q, want %q", a.data, want)
			}
			if bytes.Contains(raw, []byte("secret-uidl")) {
				t.Errorf("Poplar's own field is forwarded")
			}
			// The reader lists the original as an attachment and reads it back whole.
			m := readMessage(t, string(raw))
			if len(m.Attachments) != 1 || m.Attachments[0].ContentType != "message/rfc822" {
				t.Fatalf("mailview attachments %+v", m.Attachments)
			}
			var got bytes.Buffer
			if _, err := mailview.ExtractAttachment(bytes.NewReader(raw), m.Attachments[0].Index, &got); err != nil || got.String() != want {
				t.Errorf("ExtractAttachment = %q, %v", got.String(), err)
			}
		})
	}
}

func TestSkipOwnFields(t *testing.T) {
	tests := []struct{ in, want string }{
		{"X-Poplar-UIDL: a\nX-Poplar-Partial: yes;\n size=3\nFrom: a@b\n\nx\n", "From: a@b\r\n\r\nx\r\n"},
		{"From a@b Mon Jan 1\nx-poplar-uidl: a\nSubject: s\n\nbody", "Subject: s\r\n\r\nbody\r\n"},
		{"Subject: s\nX-Poplar-UIDL: a\n\n", "Subject: s\r\nX-Poplar-UIDL: a\r\n\r\n"},
		{"", ""},
	}
	for _, tt := range tests {
		var b bytes.Buffer
		if err := copyMessage(&b, strings.NewReader(tt.in)); err != nil || b.String() != tt.want {
			t.Errorf("copyMessage(%q) = %q, %v; want %q", tt.in, b.String(), err, tt.want)
		}
	}
}

func TestNewDraft(t *testing.T) {
	id := Identity{Name: "Me", Email: "me@home.org", ReplyTo: "Team <team@home.org>", Signature: "-- \nMe\n\n"}
	d := NewDraft(id)
	if d.Body != "\n\n-- \nMe\n" || emails(d.ReplyTo) != "team@home.org" || d.From.Address != "me@home.org" {
		t.Errorf("NewDraft = %+v", d)
	}
	if d := NewDraft(Identity{Email: "me@home.org", Signature: " \n"}); d.Body != "" {
		t.Errorf("NewDraft with a blank signature: body %q", d.Body)
	}
}
