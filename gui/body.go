package gui

import (
	"net/url"
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
