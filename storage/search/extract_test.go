package search

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

// TestExtractFastAsCareful: the fast reading of well-formed mail indexes the words mailview's
// reading (the reader's) gives, and hands unusual mail to mailview.
func TestExtractFastAsCareful(t *testing.T) {
	msgs := []struct{ name, msg string }{
		{"alternative", "From: Ada <ada@example.org>\r\nTo: b@example.org\r\nCc: =?UTF-8?Q?Jos=C3=A9?= <j@example.com>\r\nSubject: Plan\r\n" +
			"MIME-Version: 1.0\r\nContent-Type: multipart/alternative; boundary=A\r\n\r\n--A\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n" +
			"Plain words here.\r\n--A\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<p>Rich <b>words</b></p>\r\n--A--\r\n"},
		{"html only", "From: a@example.org\r\nSubject: x\r\nContent-Type: text/html; charset=iso-8859-1\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n" +
			"<html><head><title>T</title><style>p {color: red}</style></head><body><p>Caf=E9 &amp; cr=E8me</p><script>var x;</script></body></html>\r\n"},
		{"encoded name", "Subject: x\r\nContent-Type: multipart/mixed; boundary=B\r\n\r\n--B\r\nContent-Type: text/plain\r\n\r\nsee\r\n" +
			"--B\r\nContent-Type: application/pdf; name=\"=?UTF-8?Q?r=C3=A9sum=C3=A9.pdf?=\"\r\n\r\nxx\r\n--B--\r\n"},
	}
	for _, m := range corpus {
		msgs = append(msgs, struct{ name, msg string }{m.name, m.msg})
	}
	fields := func(in indexed) []string {
		return []string{strings.Join(terms(in.from), " "), strings.Join(terms(in.to), " "), strings.Join(terms(in.subject), " "),
			strings.Join(terms(in.body), " "), strings.Join(terms(strings.Join(in.attach, "\n")), " ")}
	}
	for _, tt := range msgs {
		t.Run(tt.name, func(t *testing.T) {
			fast, err := extractFast(strings.NewReader(tt.msg))
			if err != nil {
				t.Fatalf("extractFast: %v", err)
			}
			careful, err := extractCareful(strings.NewReader(tt.msg))
			if err != nil {
				t.Fatal(err)
			}
			if f, c := fields(fast), fields(careful); !slices.Equal(f, c) {
				t.Errorf("extractFast terms\n%q\nwant (mailview)\n%q", f, c)
			}
		})
	}
	for _, msg := range []string{
		"Subject: x\r\nContent-Type: multipart/mixed; boundary=B\r\n\r\n--B\r\nContent-Type: message/rfc822\r\n\r\nSubject: inner\r\n\r\nhi\r\n--B--\r\n",
		"Subject: x\r\nContent-Type: text/plain; charset=x-unheard-of\r\n\r\nhi\r\n",
		"Subject: x\r\nContent-Transfer-Encoding: x-strange\r\n\r\nhi\r\n",
		"Subject: x\r\n\r\nSee the file:\r\nbegin 644 a.txt\r\n#86)C\r\n`\r\nend\r\n",
	} {
		if _, err := extractFast(strings.NewReader(msg)); !errors.Is(err, errUnusual) {
			t.Errorf("extractFast(%q) = %v, want errUnusual", msg, err)
		}
	}
}
