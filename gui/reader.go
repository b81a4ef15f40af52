package gui

import (
	"errors"
	"fmt"
	"image"
	"io"
	"path/filepath"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/widget"

	"github.com/poplar-mail/poplar/storage/mailview"
)

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

// humanSize formats a byte count for the list and the attachments.
func humanSize(n int64) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%d KB", (n+512)>>10)
	}
	return fmt.Sprintf("%d B", n)
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
			a.Name, damaged.Reason, humanSize(damaged.Decoded), filepath.Base(p))
	case errors.As(err, &damaged):
		return fmt.Sprintf("%s is damaged (%s) and could not be saved: nothing in it could be decoded.", a.Name, damaged.Reason)
	case err != nil:
		return fmt.Sprintf("Could not save %s: %v", a.Name, err)
	}
	return "Saved " + p
}
