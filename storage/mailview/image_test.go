package mailview

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/png"
	"io"
	"math/rand"
	"strings"
	"testing"

	"github.com/poplar-mail/poplar/storage/mailview/mailviewtest"
)

func TestCheckImage(t *testing.T) {
	bomb := mailviewtest.BombPNG(20000, 20000)
	if len(bomb) > 1<<20 {
		t.Fatalf("the crafted PNG has %d bytes; it should be under 1 MB", len(bomb))
	}
	tests := []struct {
		name    string
		data    []byte
		lim     ImageLimits
		wantErr error
	}{
		{"small png", mailviewtest.SmallPNG(4, 3), ImageLimits{}, nil},
		{"20000x20000 png of 392 KB", bomb, ImageLimits{}, ErrImageTooLarge},
		{"just over the pixel budget", mailviewtest.BombPNG(4097, 4096), ImageLimits{}, ErrImageTooLarge},
		{"exactly the pixel budget", mailviewtest.BombPNG(4096, 4096), ImageLimits{}, nil},
		{"over a smaller byte cap", mailviewtest.SmallPNG(40, 40), ImageLimits{MaxBytes: 20}, ErrImageTooLarge},
		{"svg", []byte(`<svg xmlns="http://www.w3.org/2000/svg" width="99999" height="99999"/>`), ImageLimits{}, ErrImageFormat},
		{"not an image", []byte("hello"), ImageLimits{}, ErrImageFormat},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := CheckImage(bytes.NewReader(tt.data), tt.lim)
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil && err != nil) {
				t.Errorf("CheckImage = %v, want %v", err, tt.wantErr)
			}
			img, err := DecodeImage(tt.data, tt.lim)
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil && err != nil) {
				t.Errorf("DecodeImage = %v, want %v", err, tt.wantErr)
			}
			if tt.wantErr != nil && img != nil {
				t.Errorf("DecodeImage decoded an image that failed the check")
			}
		})
	}
}

// TestReadMarksLargeImage: the display model says which inline images are too large to show,
// and InlineImage never decodes them.
func TestReadMarksLargeImage(t *testing.T) {
	raw := mailviewtest.InlineImagesMessage()
	m, err := Read(strings.NewReader(raw), Options{})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]ImageStatus{"bomb@test": ImageTooLarge, "small@test": ImageOK}
	got := map[string]ImageStatus{}
	for _, b := range m.Body {
		if b.Kind == Image {
			got[b.ImageCID] = b.ImageStatus
		}
	}
	for cid, st := range want {
		if got[cid] != st {
			t.Errorf("image %s: status %v, want %v", cid, got[cid], st)
		}
	}
	for _, a := range m.Attachments {
		if a.ContentID == "bomb@test" && (a.Width != 20000 || a.Height != 20000) {
			t.Errorf("bomb size %d×%d, want 20000×20000", a.Width, a.Height)
		}
	}
	if text := m.Text(); !strings.Contains(text, "[image: big — image too large to show]") || !strings.Contains(text, "[image: small]") {
		t.Errorf("Text() = %q", text)
	}
	open := func() (io.ReadCloser, error) { return io.NopCloser(strings.NewReader(raw)), nil }
	if img, err := InlineImage(open, m, "bomb@test", ImageLimits{}); !errors.Is(err, ErrImageTooLarge) || img != nil {
		t.Errorf("InlineImage(bomb) = %v, %v; want ErrImageTooLarge", img, err)
	}
	img, err := InlineImage(open, m, "small@test", ImageLimits{})
	if err != nil || img.Bounds().Dx() != 4 || img.Bounds().Dy() != 3 {
		t.Errorf("InlineImage(small) = %v, %v", img, err)
	}
	if _, err := InlineImage(open, m, "nosuch@test", ImageLimits{}); !errors.Is(err, ErrNoPart) {
		t.Errorf("InlineImage(missing) = %v, want ErrNoPart", err)
	}
}

func TestImageStatusOfBlocks(t *testing.T) {
	msg := func(parts string) string {
		return "Content-Type: multipart/related; boundary=b\n\n--b\nContent-Type: text/html\n\n<img src=cid:x@y>\n" + parts + "--b--\n"
	}
	tests := []struct {
		name string
		raw  string
		want ImageStatus
	}{
		{"no such part", msg(""), ImageMissing},
		{"not an image part", msg("--b\nContent-Type: application/pdf\nContent-ID: <x@y>\n\n%PDF\n"), ImageUnsupported},
		{"svg", msg("--b\nContent-Type: image/svg+xml\nContent-ID: <x@y>\n\n<svg/>\n"), ImageUnsupported},
		{"bad base64", msg("--b\nContent-Type: image/png\nContent-Transfer-Encoding: base64\nContent-ID: <x@y>\n\niVBO*w0KGgo=\n"), ImageDamaged},
		{"fine", msg("--b\nContent-Type: image/png\nContent-Transfer-Encoding: base64\nContent-ID: <x@y>\n\n" + mailviewtest.Base64Lines(mailviewtest.SmallPNG(2, 2))), ImageOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := Read(strings.NewReader(tt.raw), Options{})
			if err != nil {
				t.Fatal(err)
			}
			if len(m.Body) == 0 || m.Body[0].Kind != Image || m.Body[0].ImageStatus != tt.want {
				t.Fatalf("Read(%q).Body = %+v, want one image %v", tt.name, m.Body, tt.want)
			}
		})
	}
}

// BenchmarkInlineImages loads every inline image of a message with ten photo-like PNGs (400×300
// of noise, ~470 KB each), as the reader does when it opens the message (the display model
// already made).
func BenchmarkInlineImages(b *testing.B) {
	var raw strings.Builder
	raw.WriteString("Subject: photos\nMIME-Version: 1.0\nContent-Type: multipart/related; boundary=rel\n\n--rel\nContent-Type: text/html\n\n")
	for i := range 10 {
		fmt.Fprintf(&raw, "<img src=\"cid:p%d@test\">", i)
	}
	raw.WriteString("\n")
	pic := image.NewRGBA(image.Rect(0, 0, 400, 300))
	rand.New(rand.NewSource(1)).Read(pic.Pix)
	var enc bytes.Buffer
	if err := png.Encode(&enc, pic); err != nil {
		b.Fatal(err)
	}
	for i := range 10 {
		fmt.Fprintf(&raw, "--rel\nContent-Type: image/png\nContent-Transfer-Encoding: base64\nContent-ID: <p%d@test>\n\n%s", i, mailviewtest.Base64Lines(enc.Bytes()))
	}
	raw.WriteString("--rel--\n")
	msg := raw.String()
	open := func() (io.ReadCloser, error) { return io.NopCloser(strings.NewReader(msg)), nil }
	m, err := Read(strings.NewReader(msg), Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(msg)))
	b.ResetTimer()
	for range b.N {
		for i := range 10 {
			if _, err := InlineImage(open, m, fmt.Sprintf("p%d@test", i), ImageLimits{}); err != nil {
				b.Fatal(err)
			}
		}
	}
}
