package gui

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"github.com/poplar-mail/poplar/storage"
	"github.com/poplar-mail/poplar/storage/mailview"
	"github.com/poplar-mail/poplar/storage/mailview/mailviewtest"
)

// TestReaderImageTooLarge: an inline PNG of 20000×20000 pixels (392 KB on the wire, 400 MB
// decoded) shows as a placeholder and is never decoded; a small one next to it still shows.
func TestReaderImageTooLarge(t *testing.T) {
	u, _ := newTestUI(t, map[string]string{"u1": mailviewtest.InlineImagesMessage()})
	u.ui(func() { u.list.tap(0, 0) })
	u.wait()
	var placeholders []string
	var shown []*canvas.Image
	u.ui(func() {
		for _, o := range u.reader.images.Objects {
			switch o := o.(type) {
			case *widget.Label:
				placeholders = append(placeholders, o.Text)
			case *canvas.Image:
				shown = append(shown, o)
			default:
				t.Errorf("unexpected %T among the images", o)
			}
		}
	})
	if len(placeholders) != 1 || placeholders[0] != "[big: image too large to show]" {
		t.Errorf("placeholders %q, want [\"[big: image too large to show]\"]", placeholders)
	}
	if len(shown) != 1 || shown[0].Image == nil || shown[0].Resource != nil || shown[0].Image.Bounds().Dx() != 4 || shown[0].Image.Bounds().Dy() != 3 {
		t.Errorf("shown images %v, want the 4×3 image, decoded by Poplar (no resource for Fyne to decode)", shown)
	}
	if body := richText(u.reader.body); !strings.Contains(body, "[inline image: big — image too large to show]") || !strings.Contains(body, "[inline image: small — shown below]") {
		t.Errorf("body %q", body)
	}
}

func TestLoadInlineImagesNeverDecodesRejected(t *testing.T) {
	raw := mailviewtest.InlineImagesMessage()
	m, err := mailview.Read(strings.NewReader(raw), mailview.Options{})
	if err != nil {
		t.Fatal(err)
	}
	// Even if the display model wrongly said the big image was fine, the decode path refuses it.
	for i := range m.Body {
		m.Body[i].ImageStatus = mailview.ImageOK
	}
	open := func() (io.ReadCloser, error) { return io.NopCloser(strings.NewReader(raw)), nil }
	got := loadInlineImages(open, m)
	if len(got) != 2 || got[0].img != nil || got[0].problem != "image too large to show" || got[1].img == nil {
		t.Errorf("loadInlineImages = %+v", got)
	}
}

// TestSaveDamagedAttachmentText: Save… says in plain words what was saved of a damaged attachment.
func TestSaveDamagedAttachmentText(t *testing.T) {
	raw := mailviewtest.DamagedMessage()
	m, err := mailview.Read(strings.NewReader(raw), mailview.Options{})
	if err != nil {
		t.Fatal(err)
	}
	open := func() (io.ReadCloser, error) { return io.NopCloser(strings.NewReader(raw)), nil }
	dir := t.TempDir()
	want := map[string]string{
		"good.bin": "Saved " + filepath.Join(dir, "good.bin"),
		"bad.doc":  "bad.doc is damaged (bad base64): saved the 12 bytes that could be decoded as bad.doc.partial — the file is incomplete.",
		"cut.pdf":  "cut.pdf is damaged (truncated): saved the 189 bytes that could be decoded as cut.pdf.partial — the file is incomplete.",
	}
	for _, a := range m.Attachments {
		if got := saveAttachmentTo(open, a, dir); got != want[a.Name] {
			t.Errorf("saving %s says %q, want %q", a.Name, got, want[a.Name])
		}
	}
	if b, err := os.ReadFile(filepath.Join(dir, "good.bin")); err != nil || !bytes.Equal(b, mailviewtest.GoodAttachment()) {
		t.Errorf("good.bin not saved byte-exact: %v", err)
	}
	for _, name := range []string{"bad.doc", "cut.pdf"} {
		if _, err := os.Stat(filepath.Join(dir, name)); !os.IsNotExist(err) {
			t.Errorf("damaged %s saved under its own name (%v)", name, err)
		}
	}
	nothing := "Content-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: application/pdf\n" +
		"Content-Transfer-Encoding: base64\nContent-Disposition: attachment; filename=x.pdf\n\n*!!*\n--b--\n"
	got := saveAttachmentTo(func() (io.ReadCloser, error) { return io.NopCloser(strings.NewReader(nothing)), nil },
		mailview.Attachment{Index: 1, Name: "x.pdf"}, t.TempDir())
	if want := "x.pdf is damaged (bad base64) and could not be saved: nothing in it could be decoded."; got != want {
		t.Errorf("saving an undecodable attachment says %q, want %q", got, want)
	}
}

// TestReaderMailtoLinks: the links the reader hands to the system keep only address, subject
// and body.
func TestReaderMailtoLinks(t *testing.T) {
	raw := "Content-Type: text/html\n\n<a href=\"mailto:a@b?subject=x&amp;body=y&amp;attach=/etc/passwd&amp;%61ttachment=~/.ssh/id_rsa\">mail us</a>\n"
	m, err := mailview.Read(strings.NewReader(raw), mailview.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var urls []string
	for _, s := range bodySegments(m.Body) {
		if h, ok := s.(*widget.HyperlinkSegment); ok {
			urls = append(urls, h.URL.String())
		}
	}
	if got := strings.Join(urls, " "); got != "mailto:a@b?subject=x&body=y" {
		t.Errorf("links %q, want only mailto:a@b?subject=x&body=y", got)
	}
}

// TestPlainHTMLSwitch: a multipart/alternative shows its HTML by default, with a switch to the
// plain text and back; a plain-only message has no switch.
func TestPlainHTMLSwitch(t *testing.T) {
	alt := "From: a@example.org\nSubject: Both\nDate: Mon, 5 Jan 2026 10:00:00 +0000\nMIME-Version: 1.0\n" +
		"Content-Type: multipart/alternative; boundary=B\n\n--B\nContent-Type: text/plain\n\nPLAIN VERSION\n" +
		"--B\nContent-Type: text/html\n\n<p><b>HTML</b> version</p>\n--B--\n"
	u, _ := newTestUI(t, map[string]string{"u1": alt, "u2": mail("b@example.org", "Plain only", "just text", 1)})
	click(u, 0, 0)
	if body := richText(u.reader.body); !strings.Contains(body, "HTML version") || !u.reader.format.Visible() || u.reader.format.Selected != formatHTML {
		t.Fatalf("default: body %q, switch visible %v, selected %q", body, u.reader.format.Visible(), u.reader.format.Selected)
	}
	u.ui(func() { u.reader.format.SetSelected(formatPlain) })
	u.wait()
	if body := richText(u.reader.body); !strings.Contains(body, "PLAIN VERSION") {
		t.Fatalf("after the switch the body is %q", body)
	}
	u.ui(func() { u.reader.format.SetSelected(formatHTML) })
	u.wait()
	if body := richText(u.reader.body); !strings.Contains(body, "HTML version") {
		t.Fatalf("after switching back the body is %q", body)
	}
	click(u, 1, 0)
	if shown(u) != "Plain only" || u.reader.format.Visible() {
		t.Errorf("a plain-only message shows the switch (%q)", shown(u))
	}
}

// TestSelectAndCopyBody: Select text shows the body in a field where it can be selected and
// copied, and typing does not change it; the view stays for the next message until Formatted.
func TestSelectAndCopyBody(t *testing.T) {
	u, _ := newTestUI(t, threeMessages)
	click(u, 1, 0)
	u.ui(func() { test.Tap(u.reader.selectBtn) })
	e := u.reader.selectText
	if !e.Visible() || !strings.Contains(e.Text, "The analytical engine weaves patterns.") {
		t.Fatalf("select view visible %v, text %q", e.Visible(), e.Text)
	}
	clip := u.app.Clipboard()
	u.ui(func() {
		u.win.Canvas().Focus(e)
		test.Type(e, "typed over")
		e.TypedShortcut(&fyne.ShortcutSelectAll{})
		e.TypedShortcut(&fyne.ShortcutCopy{Clipboard: clip})
	})
	if got := clip.Content(); !strings.Contains(got, "The analytical engine weaves patterns.") || strings.Contains(got, "typed over") {
		t.Fatalf("copied %q", got)
	}
	click(u, 0, 0) // the view stays, with the next message's text
	if !u.reader.selectText.Visible() || !strings.Contains(u.reader.selectText.Text, "Nanoseconds") {
		t.Fatalf("the select view shows %q (visible %v)", u.reader.selectText.Text, u.reader.selectText.Visible())
	}
	u.ui(func() { test.Tap(u.reader.selectBtn) })
	if u.reader.selectText.Visible() || !u.reader.scroll.Visible() {
		t.Fatal("Formatted did not bring the formatted body back")
	}
}

// TestAttachmentsOpenAndSaveAll: Open saves the attachment in a private folder (0700) that closing
// Poplar removes; Save all saves every attachment, byte-exact, never overwriting.
func TestAttachmentsOpenAndSaveAll(t *testing.T) {
	raw := "From: a@example.org\nSubject: Files\nDate: Mon, 5 Jan 2026 10:00:00 +0000\nMIME-Version: 1.0\n" +
		"Content-Type: multipart/mixed; boundary=B\n\n--B\nContent-Type: text/plain\n\nTwo files.\n" +
		"--B\nContent-Type: text/csv\nContent-Disposition: attachment; filename=\"a.csv\"\n\nx,y\n1,2\n" +
		"--B\nContent-Type: text/plain\nContent-Disposition: attachment; filename=\"../../notes.txt\"\n\nnotes\n--B--\n"
	u, _ := newTestUI(t, map[string]string{"u1": raw})
	click(u, 0, 0)
	var as []mailview.Attachment
	var open opener
	u.ui(func() { as, open = u.reader.cur.msg.Attachments, u.reader.cur.open })
	if len(as) != 2 {
		t.Fatalf("%d attachments", len(as))
	}
	u.ui(func() { u.reader.openAttachment(as[0]) })
	u.wait()
	if !strings.HasPrefix(u.status.text.Text, "Opened a.csv") {
		t.Fatalf("status %q", u.status.text.Text)
	}
	tmp := u.temp
	st, err := os.Stat(tmp)
	if err != nil || st.Mode().Perm() != 0o700 {
		t.Fatalf("private folder %s: %v, %v", tmp, st.Mode(), err)
	}
	dir := t.TempDir()
	if got := saveAttachmentsTo(open, as, dir); got != "Saved 2 attachments in "+dir {
		t.Errorf("Save all says %q", got)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "a.csv")); string(b) != "x,y\n1,2" { // the last line break belongs to the boundary
		t.Errorf("a.csv holds %q", b)
	}
	if got := saveAttachmentsTo(open, as[:1], dir); got == "Saved "+filepath.Join(dir, "a.csv") {
		t.Errorf("saving again overwrote a.csv: %q", got)
	}
	if files, _ := os.ReadDir(dir); len(files) != 3 {
		t.Errorf("after saving a.csv twice the folder holds %d files, want 3 (nothing overwritten, nothing outside)", len(files))
	}
	u.Close()
	if _, err := os.Stat(tmp); !os.IsNotExist(err) {
		t.Errorf("closing Poplar left the private folder (%v)", err)
	}
}

// TestHeaderOnlyMessage: a message of which only the header was downloaded shows its size on the
// server in the list and a prominent "Download the rest (3.2 MB)".
func TestHeaderOnlyMessage(t *testing.T) {
	u, s := newTestUI(t, nil)
	b := s.NewBatch()
	if _, err := b.Deliver(strings.NewReader("From: a@example.org\nSubject: Big\nDate: Mon, 5 Jan 2026 10:00:00 +0000\n\n"),
		storage.DeliverInfo{UIDL: "big", Partial: true, ServerSize: 3355443}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Commit(); err != nil {
		t.Fatal(err)
	}
	u.ui(func() { u.loadFolder("work", storage.Inbox) })
	u.wait()
	click(u, 0, 0)
	r := newMessageRow()
	u.ui(func() { r.set(u.list.model.at(0), false, 0) })
	if r.size.Text != "3.2 MB" || !strings.Contains(r.marks.Text, "⤓") {
		t.Errorf("the row shows size %q, marks %q", r.size.Text, r.marks.Text)
	}
	if !u.reader.partial.Visible() || u.reader.partialBtn.Text != "Download the rest (3.2 MB)" || u.reader.partialBtn.Importance != widget.HighImportance {
		t.Errorf("reader: partial box visible %v, button %q", u.reader.partial.Visible(), u.reader.partialBtn.Text)
	}
}
