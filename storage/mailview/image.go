package mailview

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"image"
	_ "image/gif" // the inline image formats Poplar shows
	_ "image/jpeg"
	_ "image/png"
	"io"
)

// ImageStatus says whether an inline image can be shown.
type ImageStatus int

const (
	ImageUnchecked   ImageStatus = iota // not an image part, or its header was not read (Summarize)
	ImageOK                             // a PNG, JPEG or GIF whose size is within the budget
	ImageTooLarge                       // its dimensions or encoded bytes exceed the budget
	ImageUnsupported                    // not a PNG, JPEG or GIF, or its header cannot be read
	ImageDamaged                        // its transfer encoding is damaged (see Attachment.Damaged)
	ImageMissing                        // Block only: no part of the message has the Content-ID
)

// String returns the status in the words the reader shows in place of the image.
func (s ImageStatus) String() string {
	switch s {
	case ImageUnchecked:
		return "image not checked"
	case ImageOK:
		return "image"
	case ImageTooLarge:
		return "image too large to show"
	case ImageUnsupported:
		return "image in a format Poplar does not show"
	case ImageDamaged:
		return "image is damaged"
	case ImageMissing:
		return "image missing from the message"
	}
	return fmt.Sprintf("ImageStatus(%d)", int(s))
}

// ErrImageTooLarge means an image exceeds the budget of ImageLimits; it is never decoded.
var ErrImageTooLarge = errors.New("mailview: image too large to show")

// ErrImageFormat means an image is not a PNG, JPEG or GIF, or its header cannot be read.
var ErrImageFormat = errors.New("mailview: not an image Poplar shows")

// ImageLimits is the budget for showing one inline image. Zero fields take the defaults.
type ImageLimits struct {
	MaxBytes  int64 // encoded bytes; default 10 MB
	MaxPixels int64 // width × height; default 16 Mpixel (4096 × 4096)
}

func (l ImageLimits) withDefaults() ImageLimits {
	if l.MaxBytes <= 0 {
		l.MaxBytes = 10 << 20
	}
	if l.MaxPixels <= 0 {
		l.MaxPixels = 16 << 20
	}
	return l
}

// shownFormats are the formats Poplar decodes; whatever else a program registers with package
// image (Fyne adds more) is never decoded from mail.
var shownFormats = map[string]bool{"png": true, "jpeg": true, "gif": true}

// CheckImage reads only the header of the encoded image in r (image.DecodeConfig, at most
// lim.MaxBytes of it) and returns its configuration and format. It returns an error wrapping
// ErrImageTooLarge when the image has more than lim.MaxPixels pixels, and ErrImageFormat when it
// is not a PNG, JPEG or GIF or its header is unreadable. It decodes no pixels.
func CheckImage(r io.Reader, lim ImageLimits) (image.Config, string, error) {
	lim = lim.withDefaults()
	lr := &io.LimitedReader{R: r, N: lim.MaxBytes}
	cfg, format, err := image.DecodeConfig(bufio.NewReader(lr))
	if err != nil {
		if lr.N <= 0 {
			return image.Config{}, format, fmt.Errorf("%w: no image header in the first %d bytes", ErrImageTooLarge, lim.MaxBytes)
		}
		return image.Config{}, format, fmt.Errorf("%w: %v", ErrImageFormat, err)
	}
	if !shownFormats[format] {
		return cfg, format, fmt.Errorf("%w: %s", ErrImageFormat, format)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 {
		return cfg, format, fmt.Errorf("%w: %s of %d×%d pixels", ErrImageFormat, format, cfg.Width, cfg.Height)
	}
	if int64(cfg.Width)*int64(cfg.Height) > lim.MaxPixels {
		return cfg, format, fmt.Errorf("%w: %s of %d×%d pixels (at most %d)", ErrImageTooLarge, format, cfg.Width, cfg.Height, lim.MaxPixels)
	}
	return cfg, format, nil
}

// DecodeImage decodes an inline image only after CheckImage accepts it: data longer than
// lim.MaxBytes or an image over lim.MaxPixels returns an error wrapping ErrImageTooLarge and no
// pixel is decoded. This is the one place Poplar decodes an image from mail.
func DecodeImage(data []byte, lim ImageLimits) (image.Image, error) {
	lim = lim.withDefaults()
	if int64(len(data)) > lim.MaxBytes {
		return nil, fmt.Errorf("%w: %d bytes (at most %d)", ErrImageTooLarge, len(data), lim.MaxBytes)
	}
	cfg, want, err := CheckImage(bytes.NewReader(data), lim)
	if err != nil {
		return nil, err
	}
	img, format, err := image.Decode(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("mailview: decoding %s image: %w", want, err)
	}
	// The same bytes must decode as the format and size that were checked.
	if format != want || img.Bounds().Dx() != cfg.Width || img.Bounds().Dy() != cfg.Height {
		return nil, fmt.Errorf("%w: decoded as %s %v, checked as %s %d×%d", ErrImageFormat, format, img.Bounds(), want, cfg.Width, cfg.Height)
	}
	return img, nil
}

// InlineImage decodes the part of message m with Content-ID cid within lim (see DecodeImage). m
// is the display model Read made of the message that open reads again: the part is looked up in
// it, so the message is parsed once more, to extract the part, and the reader is closed. At most
// lim.MaxBytes are read into memory: a larger part returns an error wrapping ErrImageTooLarge.
func InlineImage(open func() (io.ReadCloser, error), m *Message, cid string, lim ImageLimits) (image.Image, error) {
	lim = lim.withDefaults()
	var part *Attachment
	for i := range m.Attachments {
		if m.Attachments[i].ContentID == cid {
			part = &m.Attachments[i]
			break
		}
	}
	switch {
	case part == nil:
		return nil, fmt.Errorf("%w: Content-ID %q", ErrNoPart, cid)
	case part.Size > lim.MaxBytes:
		return nil, fmt.Errorf("%w: inline image %q has %d bytes (at most %d)", ErrImageTooLarge, cid, part.Size, lim.MaxBytes)
	case part.ImageStatus == ImageTooLarge:
		return nil, fmt.Errorf("%w: inline image %q is %d×%d pixels", ErrImageTooLarge, cid, part.Width, part.Height)
	}
	rc, err := open()
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	buf := limitedBuffer{max: lim.MaxBytes}
	if _, err := ExtractAttachment(rc, part.Index, &buf); err != nil {
		return nil, err
	}
	return DecodeImage(buf.b, lim)
}

type limitedBuffer struct {
	b   []byte
	max int64
}

func (l *limitedBuffer) Write(p []byte) (int, error) {
	if int64(len(l.b)+len(p)) > l.max {
		return 0, ErrImageTooLarge
	}
	l.b = append(l.b, p...)
	return len(p), nil
}

// checkImagePart reads the header of an image part as its body streams past and sets a.Image,
// a.Width and a.Height. It reads nothing beyond what image.DecodeConfig needs; the caller drains
// the rest.
func checkImagePart(a *Attachment, body io.Reader, lim ImageLimits) {
	cfg, _, err := CheckImage(body, lim)
	a.Width, a.Height = cfg.Width, cfg.Height
	switch {
	case err == nil:
		a.ImageStatus = ImageOK
	case errors.Is(err, ErrImageTooLarge):
		a.ImageStatus = ImageTooLarge
	default:
		a.ImageStatus = ImageUnsupported
	}
}
