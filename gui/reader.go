package gui

import (
	"errors"
	"fmt"
	"image"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/poplar-mail/poplar/account"
	"github.com/poplar-mail/poplar/storage/mailview"
)

// opener opens a message's raw bytes (from the store or a .eml file); each reader is closed.
type opener func() (io.ReadCloser, error)

// shownMessage is what the reader shows: which message, how to read it again, and its display
// model.
type shownMessage struct {
	key      string // the store key, or the file path of a .eml
	title    string
	open     opener
	partial  bool  // only the header was downloaded
	fullSize int64 // the size on the server, for "Download the rest (3.2 MB)"
	msg      *mailview.Message
}

// readerPane shows one message: subject and header (selectable), notes, the Plain text / HTML
// switch, the body, inline images and attachments. It reads messages in the background through
// the app's bg/do; it is used in the main window and in message windows (Enter, .eml files).
type readerPane struct {
	bg func(func())
	do func(func())
	// onStatus reports an outcome in plain words (the status bar).
	onStatus func(string)
	// onDownloadRest fetches the whole of the shown partial message.
	onDownloadRest func(*shownMessage)
	// onSource shows the raw message.
	onSource func(*shownMessage)
	// onMailto writes to a mailto: link in the body; nil leaves it to the desktop.
	onMailto func(link string)
	win      fyne.Window // dialogs (save) open over it
	tempDir  func() (string, error)

	subject, header, note *widget.Label
	body                  *widget.RichText
	images, attachments   *fyne.Container
	partial               *fyne.Container
	partialBtn, sourceBtn *widget.Button
	format                *widget.RadioGroup
	scroll                *container.Scroll
	content               fyne.CanvasObject
	// selectBtn switches the body between the formatted view and selectText, the same text in a
	// field where it can be selected with the mouse or keyboard and copied (Fyne's rich text
	// cannot be selected).
	selectBtn  *widget.Button
	selectText *readOnlyEntry
	bodyStack  *fyne.Container
	// actions holds what the open folder adds for the message: an Outbox message's state with
	// Edit, Retry and Delete, a draft's Edit (see send.go). Empty otherwise.
	actions *fyne.Container

	cur       *shownMessage
	loading   string   // the key being read
	highlight []string // words to mark in the body (the search's)
	showPlain bool     // the switch: plain text instead of HTML, for the shown message
}

// Labels of the Plain text / HTML switch.
const (
	formatHTML  = "HTML"
	formatPlain = "Plain text"
)

func newReaderPane(win fyne.Window, bg, do func(func())) *readerPane {
	r := &readerPane{win: win, bg: bg, do: do, onStatus: func(string) {}}
	r.subject = widget.NewLabelWithStyle("", fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	r.subject.Wrapping = fyne.TextWrapWord
	r.subject.Selectable = true
	r.subject.SizeName = theme.SizeNameSubHeadingText
	r.header = widget.NewLabel("")
	r.header.Wrapping = fyne.TextWrapWord
	r.header.Selectable = true
	r.note = widget.NewLabel("")
	r.note.Importance = widget.WarningImportance
	r.note.Wrapping = fyne.TextWrapWord
	r.body = widget.NewRichText()
	r.body.Wrapping = fyne.TextWrapWord
	r.images = container.NewVBox()
	r.attachments = container.NewVBox()
	r.partialBtn = widget.NewButtonWithIcon("Download the rest", theme.DownloadIcon(), func() {
		if r.cur != nil && r.onDownloadRest != nil {
			r.onDownloadRest(r.cur)
		}
	})
	r.partialBtn.Importance = widget.HighImportance
	partialText := widget.NewLabel("Only the header of this message was downloaded (size limit).")
	partialText.Wrapping = fyne.TextWrapWord
	r.partial = container.NewVBox(partialText, container.NewHBox(r.partialBtn))
	r.sourceBtn = widget.NewButtonWithIcon("View source", theme.DocumentIcon(), func() {
		if r.cur != nil && r.onSource != nil {
			r.onSource(r.cur)
		}
	})
	r.format = widget.NewRadioGroup([]string{formatHTML, formatPlain}, nil)
	r.format.Horizontal = true
	r.format.Required = true
	r.format.OnChanged = r.formatChanged
	r.selectText = newReadOnlyEntry("")
	r.selectText.Wrapping = fyne.TextWrapWord
	r.selectText.Hide()
	r.selectBtn = widget.NewButtonWithIcon("Select text", theme.ContentCopyIcon(), r.toggleSelect)
	r.actions = container.NewVBox()
	top := container.NewVBox(r.subject, r.header, r.note, r.partial, r.actions, container.NewHBox(r.sourceBtn, r.selectBtn, r.format), widget.NewSeparator())
	r.scroll = container.NewVScroll(container.NewVBox(r.body, r.images, r.attachments))
	r.bodyStack = container.NewStack(r.scroll, r.selectText)
	r.content = container.NewBorder(top, nil, nil, nil, r.bodyStack)
	r.clear()
	return r
}

// noMessageText fills the reader pane while no message is selected.
const noMessageText = "Select a message to read it."

// clear empties the reader (no message selected).
func (r *readerPane) clear() {
	r.cur, r.loading = nil, ""
	r.subject.SetText("")
	r.header.SetText(noMessageText)
	r.note.Hide()
	r.body.Segments = nil
	r.body.Refresh()
	r.attachments.RemoveAll()
	r.images.RemoveAll()
	r.partial.Hide()
	r.actions.RemoveAll()
	r.sourceBtn.Hide()
	r.selectBtn.Hide()
	r.format.Hide()
	r.showFormatted()
}

// toggleSelect switches between the formatted body and its selectable text.
func (r *readerPane) toggleSelect() {
	if r.selectText.Visible() {
		r.showFormatted()
		return
	}
	if r.cur == nil || r.cur.msg == nil {
		return
	}
	r.selectText.set(r.cur.msg.Text())
	r.scroll.Hide()
	r.selectText.Show()
	r.selectBtn.SetText("Formatted")
	r.selectBtn.SetIcon(theme.DocumentIcon())
}

// showFormatted shows the formatted body (the default for every message).
func (r *readerPane) showFormatted() {
	r.selectText.Hide()
	r.scroll.Show()
	r.selectBtn.SetText("Select text")
	r.selectBtn.SetIcon(theme.ContentCopyIcon())
}

// shows reports whether the reader shows (or is loading) key.
func (r *readerPane) shows(key string) bool {
	return r.loading == key || (r.cur != nil && r.cur.key == key)
}

// load reads the message in the background and shows it. With keep (the format switch, the rest
// downloaded) the switch stays as it is; otherwise a new message starts in its default format.
// A load for a message no longer wanted when it finishes is dropped.
func (r *readerPane) load(sm shownMessage, keep bool) {
	if !keep {
		r.showPlain = false
	}
	r.loading = sm.key
	plain := r.showPlain
	r.bg(func() {
		m, images, err := readForDisplay(sm.open, plain)
		r.do(func() {
			if r.loading != sm.key {
				return
			}
			r.loading = ""
			if err != nil {
				r.onStatus(fmt.Sprintf("Cannot open the message: %v", err))
				return
			}
			sm.msg = m
			r.show(&sm, images, keep)
		})
	})
}

// readForDisplay parses a message into the display model and decodes its inline images. It does
// I/O: call it off the UI goroutine.
func readForDisplay(open opener, plain bool) (*mailview.Message, []inlineImage, error) {
	rc, err := open()
	if err != nil {
		return nil, nil, err
	}
	m, err := mailview.Read(rc, mailview.Options{PreferPlain: plain})
	rc.Close()
	if err != nil {
		return nil, nil, err
	}
	return m, loadInlineImages(open, m), nil
}

// show fills the reader with a message read by load. keep keeps the scroll position.
func (r *readerPane) show(sm *shownMessage, images []inlineImage, keep bool) {
	m := sm.msg
	m.Partial = sm.partial
	r.cur = sm
	r.subject.SetText(firstNonEmpty(m.Subject, "(no subject)"))
	r.header.SetText(headerText(m))
	var notes []string
	if m.RemoteBlocked > 0 {
		what := "1 remote reference was"
		if m.RemoteBlocked > 1 {
			what = fmt.Sprintf("%d remote references were", m.RemoteBlocked)
		}
		notes = append(notes, "Remote content blocked: "+what+" not loaded, to protect your privacy.")
	}
	if len(notes) > 0 {
		r.note.SetText(strings.Join(notes, "\n"))
		r.note.Show()
	} else {
		r.note.Hide()
	}
	if sm.partial {
		r.partialBtn.SetText("Download the rest")
		if sm.fullSize > 0 {
			r.partialBtn.SetText(fmt.Sprintf("Download the rest (%s)", account.FormatSize(sm.fullSize)))
		}
		r.partial.Show()
	} else {
		r.partial.Hide()
	}
	if m.Alternatives {
		r.format.OnChanged, r.format.Selected = nil, map[bool]string{false: formatHTML, true: formatPlain}[r.showPlain]
		r.format.Refresh()
		r.format.OnChanged = r.formatChanged
		r.format.Show()
	} else {
		r.format.Hide()
	}
	r.body.Segments = highlightSegments(bodySegments(m.Body), r.highlight)
	if r.onMailto != nil {
		for _, seg := range r.body.Segments {
			if h, ok := seg.(*widget.HyperlinkSegment); ok && h.URL != nil && strings.EqualFold(h.URL.Scheme, "mailto") {
				link := h.URL.String()
				h.OnTapped = func() { r.onMailto(link) }
			}
		}
	}
	r.body.Refresh()
	r.images.RemoveAll()
	for _, im := range images {
		if im.img == nil {
			r.images.Add(imagePlaceholder(im)) // never decoded: too large, damaged...
			continue
		}
		img := canvas.NewImageFromImage(im.img)
		img.FillMode = canvas.ImageFillContain
		b := im.img.Bounds()
		w := min(float32(b.Dx()), 640)
		img.SetMinSize(fyne.NewSize(w, w*float32(b.Dy())/float32(max(b.Dx(), 1))))
		r.images.Add(img)
	}
	r.showAttachments(m.Attachments)
	r.sourceBtn.Show()
	r.selectBtn.Show()
	if r.selectText.Visible() {
		r.selectText.set(m.Text())
	}
	if !keep {
		r.scroll.ScrollToTop()
	}
}

func (r *readerPane) formatChanged(s string) {
	if r.cur == nil || (s == formatPlain) == r.showPlain {
		return
	}
	r.showPlain = s == formatPlain
	r.load(*r.cur, true)
}

// headerText is the From/To/Cc/Date block of the reader.
func headerText(m *mailview.Message) string {
	var h strings.Builder
	fmt.Fprintf(&h, "From: %s\nTo: %s", addressLine(m.From), addressLine(m.To))
	if len(m.Cc) > 0 {
		fmt.Fprintf(&h, "\nCc: %s", addressLine(m.Cc))
	}
	switch {
	case !m.Date.IsZero():
		fmt.Fprintf(&h, "\nDate: %s", m.Date.Local().Format("Mon, 2 Jan 2006 15:04"))
	case m.DateText != "":
		fmt.Fprintf(&h, "\nDate: %s (not a valid date)", m.DateText)
	}
	return h.String()
}

// showAttachments lists the attachments, each with Open and Save…, and Save all… for several.
func (r *readerPane) showAttachments(as []mailview.Attachment) {
	r.attachments.RemoveAll()
	if len(as) == 0 {
		return
	}
	head := widget.NewLabelWithStyle("Attachments", fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	if len(as) > 1 {
		r.attachments.Add(container.NewBorder(nil, nil, nil, widget.NewButtonWithIcon("Save all…", theme.DocumentSaveIcon(), func() { r.saveAttachments(as) }), head))
	} else {
		r.attachments.Add(head)
	}
	for _, a := range as {
		what := fmt.Sprintf("%s (%s, %s)", a.Name, a.ContentType, account.FormatSize(a.Size))
		if a.Damaged != "" {
			what += " — damaged: " + a.Damaged
		}
		l := widget.NewLabel(what)
		l.Truncation = fyne.TextTruncateEllipsis
		open := widget.NewButtonWithIcon("Open", theme.FileIcon(), func() { r.openAttachment(a) })
		save := widget.NewButtonWithIcon("Save…", theme.DocumentSaveIcon(), func() { r.saveAttachments([]mailview.Attachment{a}) })
		r.attachments.Add(container.NewBorder(nil, nil, nil, container.NewHBox(open, save), l))
	}
}

// saveAttachments asks for a folder and saves the attachments inside it, never overwriting.
func (r *readerPane) saveAttachments(as []mailview.Attachment) {
	sm := r.cur
	if sm == nil {
		return
	}
	d := dialog.NewFolderOpen(func(dir fyne.ListableURI, err error) {
		if err != nil || dir == nil {
			return
		}
		r.bg(func() {
			text := saveAttachmentsTo(sm.open, as, dir.Path())
			r.do(func() { r.onStatus(text) })
		})
	}, r.win)
	d.Show()
}

// saveAttachmentsTo saves attachments of the message open reads into dir and says what happened
// in plain words: one line for all when every one was saved, else each one's outcome.
func saveAttachmentsTo(open opener, as []mailview.Attachment, dir string) string {
	var texts []string
	ok := true
	for _, a := range as {
		t := saveAttachmentTo(open, a, dir)
		ok = ok && strings.HasPrefix(t, "Saved ")
		texts = append(texts, t)
	}
	if ok && len(as) > 1 {
		return fmt.Sprintf("Saved %d attachments in %s", len(as), dir)
	}
	return strings.Join(texts, "; ")
}

// openAttachment saves the attachment into a private temporary folder (0700, removed when Poplar
// closes) and opens it with the desktop's default application.
func (r *readerPane) openAttachment(a mailview.Attachment) {
	sm := r.cur
	if sm == nil || r.tempDir == nil {
		return
	}
	r.bg(func() {
		dir, err := r.tempDir()
		if err == nil {
			dir, err = os.MkdirTemp(dir, "att-")
		}
		if err != nil {
			r.do(func() { r.onStatus(fmt.Sprintf("Could not open %s: %v", a.Name, err)) })
			return
		}
		rc, err := sm.open()
		var p string
		if err == nil {
			p, err = mailview.SaveAttachment(rc, a.Index, dir)
			rc.Close()
		}
		r.do(func() {
			var damaged *mailview.DamagedError
			if err != nil && !errors.As(err, &damaged) || p == "" {
				r.onStatus(fmt.Sprintf("Could not open %s: %v", a.Name, err))
				return
			}
			if err := fyne.CurrentApp().OpenURL(&url.URL{Scheme: "file", Path: p}); err != nil {
				r.onStatus(fmt.Sprintf("Could not open %s: %v", a.Name, err))
				return
			}
			r.onStatus("Opened " + filepath.Base(p))
		})
	})
}

func firstNonEmpty(s ...string) string {
	for _, x := range s {
		if x != "" {
			return x
		}
	}
	return ""
}

// addressLine formats addresses for the reader header.
func addressLine(as []mailview.Address) string {
	parts := make([]string, len(as))
	for i, a := range as {
		parts[i] = a.String()
	}
	return strings.Join(parts, ", ")
}

// maxInlineImages bounds how many inline images the reader shows of one message.
const maxInlineImages = 20

// inlineImage is one inline image of the open message: its pixels, decoded within mailview's
// budget, or why it is not shown.
type inlineImage struct {
	name    string      // its alternative text or Content-ID
	img     image.Image // nil when it is not shown
	problem string      // shown in its place, e.g. "image too large to show"
}

// loadInlineImages decodes the images the body shows by Content-ID, at most maxInlineImages. An
// image the display model marks as not showable is never read; the others are decoded only by
// mailview.InlineImage, which checks the size before decoding. It does I/O through open (each
// reader is closed): call it off the UI goroutine.
func loadInlineImages(open func() (io.ReadCloser, error), m *mailview.Message) []inlineImage {
	var out []inlineImage
	for _, b := range m.Body {
		if b.Kind != mailview.Image || b.ImageCID == "" {
			continue
		}
		if len(out) >= maxInlineImages {
			break
		}
		im := inlineImage{name: firstNonEmpty(b.Alt, b.ImageCID)}
		if b.ImageStatus != mailview.ImageOK {
			im.problem = b.ImageStatus.String()
		} else if img, err := mailview.InlineImage(open, m, b.ImageCID, mailview.ImageLimits{}); err != nil {
			im.problem = imageProblem(err)
		} else {
			im.img = img
		}
		out = append(out, im)
	}
	return out
}

// imageProblem says in the reader's words why an image could not be shown.
func imageProblem(err error) string {
	switch {
	case errors.Is(err, mailview.ErrImageTooLarge):
		return mailview.ImageTooLarge.String()
	case errors.Is(err, mailview.ErrImageFormat):
		return mailview.ImageUnsupported.String()
	case errors.Is(err, mailview.ErrNoPart):
		return mailview.ImageMissing.String()
	}
	var damaged *mailview.DamagedError
	if errors.As(err, &damaged) {
		return mailview.ImageDamaged.String()
	}
	return "image could not be shown"
}

// imagePlaceholder is what the reader shows in place of an image it does not decode.
func imagePlaceholder(im inlineImage) *widget.Label {
	return widget.NewLabelWithStyle("["+im.name+": "+im.problem+"]", fyne.TextAlignLeading, fyne.TextStyle{Italic: true})
}

// saveAttachmentTo saves attachment a of the message open reads into dir and returns what the
// status bar says about it, in plain words. A damaged attachment is saved only in part, under
// its name plus mailview.PartialSuffix, and the text says that the file is incomplete.
func saveAttachmentTo(open func() (io.ReadCloser, error), a mailview.Attachment, dir string) string {
	rc, err := open()
	if err != nil {
		return fmt.Sprintf("Could not save %s: %v", a.Name, err)
	}
	p, err := mailview.SaveAttachment(rc, a.Index, dir)
	rc.Close()
	var damaged *mailview.DamagedError
	switch {
	case errors.As(err, &damaged) && p != "":
		return fmt.Sprintf("%s is damaged (%s): saved the %s that could be decoded as %s — the file is incomplete.",
			a.Name, damaged.Reason, account.FormatSize(damaged.Decoded), filepath.Base(p))
	case errors.As(err, &damaged):
		return fmt.Sprintf("%s is damaged (%s) and could not be saved: nothing in it could be decoded.", a.Name, damaged.Reason)
	case err != nil:
		return fmt.Sprintf("Could not save %s: %v", a.Name, err)
	}
	return "Saved " + p
}
