package mailview

import (
	"strings"
	"testing"
)

// TestSafeMailto: a mailto link keeps its address, subject and body and nothing else, however
// the other fields are spelled.
func TestSafeMailto(t *testing.T) {
	tests := []struct{ in, want string }{
		{"mailto:a@b", "mailto:a@b"},
		{"MAILTO:a@b", "mailto:a@b"},
		{"mailto:a@b?subject=hi%20there&body=line1%0Aline2", "mailto:a@b?subject=hi%20there&body=line1%0Aline2"},
		{"mailto:a@b?attach=/etc/passwd", "mailto:a@b"},
		{"mailto:a@b?subject=x&body=y&attachment=~/.ssh/id_rsa", "mailto:a@b?subject=x&body=y"},
		{"mailto:a@b?%61ttach=/etc/passwd", "mailto:a@b"},
		{"mailto:a@b?%41TTACH=/etc/passwd&subject=x", "mailto:a@b?subject=x"},
		{"mailto:a@b?ATTACH=/etc/passwd", "mailto:a@b"},
		{"mailto:a@b?Attachment=file:///etc/passwd", "mailto:a@b"},
		{"mailto:a@b?subject=x?attach=/etc/passwd", "mailto:a@b?subject=x"},
		{"mailto:a@b??attach=/etc/passwd", "mailto:a@b"},
		{"mailto:a@b?subject=x;attach=/etc/passwd", "mailto:a@b?subject=x"},
		{"mailto:a@b?+attach=/etc/passwd", "mailto:a@b"},
		{"mailto:a@b?%20attach%20=/etc/passwd", "mailto:a@b"},
		{"mailto:a@b?subject=x%26attach%3D%2Fetc%2Fpasswd", "mailto:a@b?subject=x%26attach%3D%2Fetc%2Fpasswd"},
		{"mailto:a@b%3Fattach%3D/etc/passwd", "mailto:a@b%3Fattach%3D%2Fetc%2Fpasswd"},
		{"mailto:a@b?cc=c@d&bcc=e@f&subject=s", "mailto:a@b?subject=s"},
		{"mailto:a@b?X-Mailer=evil&In-Reply-To=%3Cx@y%3E&References=r&from=f@g", "mailto:a@b"},
		{"mailto:?to=a@b&attach=x", "mailto:?to=a@b"},
		{"mailto:a@b?subject=one&subject=two", "mailto:a@b?subject=one"},
		{"mailto:a@b?SUBJECT=Hi", "mailto:a@b?subject=Hi"},
		{"mailto:a@b#attach=/etc/passwd", "mailto:a@b"},
		{"mailto:a@b?subject=%zz&body=ok", "mailto:a@b?body=ok"},
		{"mailto:a@b?body=a+b", "mailto:a@b?body=a%2Bb"},
		{"mailto:a%zz@b", ""},
		{"mailto:a@b%0Aattach", ""},
		{"https://example.org/?attach=x", "https://example.org/?attach=x"},
		{"javascript:alert(1)", ""},
	}
	for _, tt := range tests {
		got := safeLink(tt.in)
		if got != tt.want {
			t.Errorf("safeLink(%q) = %q, want %q", tt.in, got, tt.want)
		}
		if got != "" && safeLink(got) != got {
			t.Errorf("safeLink(%q) = %q is not stable: %q", tt.in, got, safeLink(got))
		}
		if strings.HasPrefix(got, "mailto:") && strings.Contains(strings.ToLower(got), "attach=") {
			t.Errorf("safeLink(%q) = %q still carries an attachment", tt.in, got)
		}
	}
}

// TestMailtoLinksInBodies: links from HTML and from plain text both pass through safeLink.
func TestMailtoLinksInBodies(t *testing.T) {
	tests := []struct{ name, raw string }{
		{"html", "Content-Type: text/html\n\n<a href=\"mailto:a@b?subject=x&amp;attach=/etc/passwd\">write to us</a>\n"},
		{"html entity", "Content-Type: text/html\n\n<a href=\"mailto:a@b?subject=x&amp;&#97;ttach=/etc/passwd\">write</a>\n"},
		{"plain text", "Content-Type: text/plain\n\nWrite to mailto:a@b?subject=x&attach=/etc/passwd today\n"},
		{"plain text, encoded", "Content-Type: text/plain\n\nWrite to mailto:a@b?subject=x&%61ttachment=~/.ssh/id_rsa\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := Read(strings.NewReader(tt.raw), Options{})
			if err != nil {
				t.Fatal(err)
			}
			var links []string
			for _, b := range m.Body {
				for _, s := range b.Spans {
					if s.Link != "" {
						links = append(links, s.Link)
					}
				}
			}
			if len(links) != 1 || links[0] != "mailto:a@b?subject=x" {
				t.Errorf("links = %q, want [mailto:a@b?subject=x]", links)
			}
		})
	}
}
