package compose

import (
	"net/mail"
	"strings"
	"testing"
)

func TestParseMailto(t *testing.T) {
	for _, tc := range []struct {
		name, uri                       string
		to, cc, bcc, subject, body, irt string
		err                             string
	}{
		{name: "one address", uri: "mailto:ann@example.org", to: "ann@example.org"},
		{name: "several and fields", uri: "mailto:ann@example.org,bob@example.org?cc=cy@example.org&bcc=di@example.org&subject=Tea%20at%203&body=Bring%0D%0Acake",
			to: "ann@example.org bob@example.org", cc: "cy@example.org", bcc: "di@example.org", subject: "Tea at 3", body: "Bring\r\ncake"},
		{name: "case of scheme and field", uri: "MAILTO:ann@example.org?SUBJECT=Hi", to: "ann@example.org", subject: "Hi"},
		{name: "UTF-8 and plus", uri: "mailto:?to=ann@example.org&subject=Caf%C3%A9+1%2B1", to: "ann@example.org", subject: "Café+1+1"},
		{name: "no address", uri: "mailto:?subject=x", subject: "x"},
		{name: "a line break cannot reach a header", uri: "mailto:ann@example.org?subject=a%0D%0ABcc:%20eve@example.org", to: "ann@example.org", subject: "a Bcc: eve@example.org"},
		{name: "other headers are ignored", uri: "mailto:ann@example.org?from=eve@example.org&x-attach=/etc/passwd&in-reply-to=%3Cid@x%3E", to: "ann@example.org", irt: "<id@x>"},
		{name: "encoded address", uri: "mailto:%22Ann%20B%22%20%3Cann@example.org%3E", to: "ann@example.org"},
		{name: "not mailto", uri: "https://example.org", err: "not a mailto: link"},
		{name: "bad escape", uri: "mailto:ann@example.org?subject=%zz", err: "subject field is not percent-encoded"},
		{name: "bad address", uri: "mailto:not-an-address", err: "to:"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, err := ParseMailto(tc.uri)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want one saying %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			list := func(as []mail.Address) string {
				var s []string
				for _, a := range as {
					s = append(s, a.Address)
				}
				return strings.Join(s, " ")
			}
			if got := list(d.To); got != tc.to {
				t.Errorf("to %q, want %q", got, tc.to)
			}
			if got := list(d.Cc); got != tc.cc {
				t.Errorf("cc %q, want %q", got, tc.cc)
			}
			if got := list(d.Bcc); got != tc.bcc {
				t.Errorf("bcc %q, want %q", got, tc.bcc)
			}
			if d.Subject != tc.subject || d.Body != tc.body || d.InReplyTo != tc.irt {
				t.Errorf("subject %q body %q in-reply-to %q", d.Subject, d.Body, d.InReplyTo)
			}
			if d.From.Address != "" || len(d.Attachments) != 0 {
				t.Error("a link set From or an attachment")
			}
		})
	}
}

func FuzzParseMailto(f *testing.F) {
	for _, s := range []string{"mailto:a@b.c", "mailto:a@b.c?subject=x&body=y", "mailto:?to=%zz", "mailto:\"x,y\"@b.c"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := ParseMailto(s)
		if err != nil {
			return
		}
		if strings.ContainsAny(d.Subject, "\r\n") {
			t.Fatalf("subject %q has a line break", d.Subject)
		}
	})
}
