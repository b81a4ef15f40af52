package gui

import (
	"errors"
	"fmt"
	"image"
	"io"
	"net/url"
	"path/filepath"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/widget"

	"github.com/poplar-mail/poplar/storage/mailview"
)

// bodySegments turns the display model's blocks into RichText segments. It never parses mail
// text as Markdown and never creates an image segment with a URI: inline images are shown from
// the message's own parts (see the reader), and no remote resource can be reached from here.
func bodySegments(blocks []mailview.Block) []widget.RichTextSegment {
	var segs []widget.RichTextSegment
	for _, b := range blocks {
		switch b.Kind {
		case mailview.Rule:
			segs = append(segs, &widget.SeparatorSegment{})
			continue
		case mailview.Image:
			what := "shown below"
			if b.ImageStatus != mailview.ImageOK {
				what = b.ImageStatus.String()
			}
			segs = append(segs, &widget.TextSegment{Text: "[inline image: " + firstNonEmpty(b.Alt, b.ImageCID) + " — " + what + "]",
				Style: widget.RichTextStyle{TextStyle: fyne.TextStyle{Italic: true}, ColorName: "placeholder"}})
			continue
		}
		base := widget.RichTextStyleParagraph
		prefix := ""
		switch b.Kind {
		case mailview.Heading:
			base = widget.RichTextStyleSubHeading
			if b.Level <= 1 {
				base = widget.RichTextStyleHeading
			}
		case mailview.Quote:
			base = widget.RichTextStyleBlockquote
			base.QuotingDepth = max(b.Level, 1)
		case mailview.Preformatted:
			base = widget.RichTextStyleCodeBlock
		case mailview.ListItem:
			prefix = strings.Repeat("    ", max(b.Level-1, 0)) + "• "
		}
		start := len(segs)
		if prefix != "" {
			st := base
			st.Inline = true
			segs = append(segs, &widget.TextSegment{Text: prefix, Style: st})
		}
		for _, sp := range b.Spans {
			st := base
			st.Inline = true
			st.TextStyle.Bold = st.TextStyle.Bold || sp.Bold
			st.TextStyle.Italic = st.TextStyle.Italic || sp.Italic
			st.TextStyle.Monospace = st.TextStyle.Monospace || sp.Mono
			if sp.Link != "" {
				if u, err := url.Parse(sp.Link); err == nil {
					segs = append(segs, &widget.HyperlinkSegment{Text: sp.Text, URL: u, TextStyle: st.TextStyle})
					// The target is always visible, so a link cannot hide where it goes.
					if strings.TrimSpace(sp.Text) != sp.Link && strings.TrimPrefix(sp.Link, "mailto:") != strings.TrimSpace(sp.Text) {
						segs = append(segs, &widget.TextSegment{Text: " <" + sp.Link + ">", Style: widget.RichTextStyle{Inline: true, ColorName: "placeholder"}})
					}
					continue
				}
			}
			segs = append(segs, &widget.TextSegment{Text: sp.Text, Style: st})
		}
		if len(segs) == start {
			continue
		}
		// The last segment of a paragraph ends it.
		if t, ok := segs[len(segs)-1].(*widget.TextSegment); ok {
			t.Style.Inline = false
		} else {
			segs = append(segs, &widget.TextSegment{Style: widget.RichTextStyleParagraph})
		}
	}
	if len(segs) == 0 {
		segs = append(segs, &widget.TextSegment{Text: "(this message has no text)", Style: widget.RichTextStyle{TextStyle: fyne.TextStyle{Italic: true}}})
	}
	return segs
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
