package gui

import (
	"strings"
	"testing"

	"fyne.io/fyne/v2/widget"
)

// TestMailtoLinks: a mailto: link in a message, and one handed to Poplar by a browser, open a
// composer with the link's recipients, subject and text above the signature (a link in a message
// keeps only to, subject and body: mailview's safe links, so it cannot add a hidden Cc); a
// malformed link says what is wrong and opens nothing.
func TestMailtoLinks(t *testing.T) {
	u, _ := newTestUI(t, map[string]string{"1": "From: ed@example.org\nSubject: Invitation\nContent-Type: text/html\n\n" +
		`<p>Write to <a href="mailto:ann@example.org?subject=Tea%20at%203&amp;cc=bob@example.org">Ann</a>.</p>` + "\n"})
	click(u, 0, 0)
	var link *widget.HyperlinkSegment
	u.ui(func() {
		for _, sg := range u.reader.body.Segments {
			if h, ok := sg.(*widget.HyperlinkSegment); ok && h.URL.Scheme == "mailto" {
				link = h
			}
		}
	})
	if link == nil || link.OnTapped == nil {
		t.Fatalf("the reader shows no mailto link that Poplar answers: %+v", link)
	}
	u.ui(link.OnTapped)
	if len(u.composers) != 1 {
		t.Fatalf("tapping the link opened %d composers", len(u.composers))
	}
	c := u.composers[0]
	if c.to.entry.Text != "ann@example.org" || c.cc.entry.Text != "" || c.subject.Text != "Tea at 3" {
		t.Errorf("composer to %q cc %q subject %q", c.to.entry.Text, c.cc.entry.Text, c.subject.Text)
	}

	u.ui(func() { u.mailto("mailto:cy@example.org?cc=di@example.org&body=Hello%20Cy") }) // from a browser (gui.Run)
	if len(u.composers) != 2 {
		t.Fatalf("a browser's link: %d composers", len(u.composers))
	}
	if c := u.composers[1]; c.to.entry.Text != "cy@example.org" || c.cc.entry.Text != "di@example.org" || !strings.HasPrefix(c.body.Text, "Hello Cy") {
		t.Errorf("a browser's link: to %q cc %q body %q", c.to.entry.Text, c.cc.entry.Text, c.body.Text)
	}
	u.ui(func() { u.mailto("mailto:cy@example.org?subject=%zz") })
	if len(u.composers) != 2 || !strings.Contains(u.status.text.Text, "subject field is not percent-encoded") {
		t.Errorf("a malformed link: %d composers, status %q", len(u.composers), u.status.text.Text)
	}
	for _, c := range u.composers {
		u.ui(c.win.Close)
	}
}

func TestSplitArgs(t *testing.T) {
	files, links := splitArgs([]string{"/tmp/a.eml", "file:///tmp/b%20c.eml", "MAILTO:ann@example.org", "mailto:?subject=x"})
	if strings.Join(files, "|") != "/tmp/a.eml|/tmp/b c.eml" || strings.Join(links, "|") != "MAILTO:ann@example.org|mailto:?subject=x" {
		t.Errorf("files %q links %q", files, links)
	}
}
