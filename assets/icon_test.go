package assets

import (
	"bytes"
	"image"
	"image/draw"
	"image/png"
	"testing"
)

// TestTrayIconIsIconShrunk checks that the tray icon is 64 pixels square and is the application
// icon made 8 times smaller (each pixel the mean of an 8×8 block, within rounding): it cannot
// drift from the icon when one of them is drawn again without the other.
func TestTrayIconIsIconShrunk(t *testing.T) {
	decode := func(name string, b []byte) *image.RGBA {
		t.Helper()
		img, err := png.Decode(bytes.NewReader(b))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		rgba := image.NewRGBA(img.Bounds())
		draw.Draw(rgba, rgba.Bounds(), img, img.Bounds().Min, draw.Src)
		return rgba
	}
	icon, tray := decode("icon", Icon.Content()), decode("tray icon", TrayIcon.Content())
	if tray.Bounds().Dx() != 64 || tray.Bounds().Dy() != 64 || icon.Bounds().Dx() != 512 {
		t.Fatalf("tray icon %v, icon %v; want 64 and 512 pixels square", tray.Bounds(), icon.Bounds())
	}
	for y := range 64 {
		for x := range 64 {
			var sum [4]int
			for dy := range 8 {
				for dx := range 8 {
					p := icon.PixOffset(x*8+dx, y*8+dy)
					for c := range 4 {
						sum[c] += int(icon.Pix[p+c])
					}
				}
			}
			p := tray.PixOffset(x, y)
			for c := range 4 {
				if d := int(tray.Pix[p+c]) - (sum[c]+32)/64; d < -1 || d > 1 {
					t.Fatalf("tray icon pixel (%d,%d) channel %d is %d, the icon's 8×8 block averages %d", x, y, c, tray.Pix[p+c], (sum[c]+32)/64)
				}
			}
		}
	}
}
