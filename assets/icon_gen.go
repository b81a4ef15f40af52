//go:build ignore

// icon_gen draws Poplar's icon (a poplar tree over an envelope) into assets/icon.png (512 pixels)
// and assets/tray.png (64 pixels, for the system tray):
// go run assets/icon_gen.go
package main

import (
	"image"
	"image/color"
	"image/png"
	"log"
	"math"
	"os"
)

func main() {
	const n = 512
	img := image.NewRGBA(image.Rect(0, 0, n, n))
	in := func(x, y, cx, cy, rx, ry float64) bool {
		dx, dy := (x-cx)/rx, (y-cy)/ry
		return dx*dx+dy*dy <= 1
	}
	for y := 0; y < n; y++ {
		for x := 0; x < n; x++ {
			fx, fy := float64(x)+0.5, float64(y)+0.5
			// Rounded square with a soft sky gradient.
			r := 96.0
			cx := math.Max(r, math.Min(n-r, fx))
			cy := math.Max(r, math.Min(n-r, fy))
			if math.Hypot(fx-cx, fy-cy) > r {
				continue
			}
			t := fy / n
			c := color.RGBA{uint8(214 - 60*t), uint8(236 - 40*t), uint8(250 - 30*t), 255}
			// Poplar: a tall narrow crown and a trunk.
			if in(fx, fy, 256, 200, 78, 160) {
				shade := uint8(30 * math.Sin(fx/18+fy/40))
				c = color.RGBA{46, 125 + shade, 64, 255}
			}
			if fx > 244 && fx < 268 && fy > 330 && fy < 400 {
				c = color.RGBA{112, 78, 46, 255}
			}
			// Envelope.
			if fx > 120 && fx < 392 && fy > 330 && fy < 470 {
				c = color.RGBA{255, 255, 255, 255}
				// Flap: two diagonals.
				d1 := math.Abs((fy - 330) - (fx-120)*140/272)
				d2 := math.Abs((fy - 330) - (392-fx)*140/272)
				if (d1 < 5 || d2 < 5) && fy < 405 {
					c = color.RGBA{200, 70, 60, 255}
				}
				if fx < 126 || fx > 386 || fy < 336 || fy > 464 {
					c = color.RGBA{200, 70, 60, 255}
				}
			}
			img.Set(x, y, c)
		}
	}
	write("assets/icon.png", img)
	write("assets/tray.png", shrink(img, 8))
}

// shrink makes an image k times smaller, each pixel the mean of a k×k block (colours weighted by
// their alpha, so the transparent corners do not darken the edges).
func shrink(src *image.RGBA, k int) *image.RGBA {
	b := src.Bounds()
	dst := image.NewRGBA(image.Rect(0, 0, b.Dx()/k, b.Dy()/k))
	for y := 0; y < dst.Bounds().Dy(); y++ {
		for x := 0; x < dst.Bounds().Dx(); x++ {
			var r, g, bl, a float64
			for dy := 0; dy < k; dy++ {
				for dx := 0; dx < k; dx++ {
					c := src.RGBAAt(x*k+dx, y*k+dy) // premultiplied
					r, g, bl, a = r+float64(c.R), g+float64(c.G), bl+float64(c.B), a+float64(c.A)
				}
			}
			n := float64(k * k)
			dst.SetRGBA(x, y, color.RGBA{uint8(r/n + 0.5), uint8(g/n + 0.5), uint8(bl/n + 0.5), uint8(a/n + 0.5)})
		}
	}
	return dst
}

// write saves img as a PNG file at path.
func write(path string, img image.Image) {
	f, err := os.Create(path)
	if err != nil {
		log.Fatal(err)
	}
	defer f.Close()
	if err := png.Encode(f, img); err != nil {
		log.Fatal(err)
	}
}
