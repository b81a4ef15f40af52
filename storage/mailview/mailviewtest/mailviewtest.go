// Package mailviewtest builds hostile messages for tests of the reader, the way net/http/httptest
// serves net/http's tests: a PNG that is small on the wire and gigabytes once decoded, and a
// message whose attachments are damaged. It uses only the standard library.
package mailviewtest

import (
	"bytes"
	"compress/flate"
	"encoding/base64"
	"encoding/binary"
	"hash/crc32"
	"image"
	"image/color"
	"image/png"
	"strings"
)

// BombPNG returns a valid 8-bit grayscale PNG of width × height black pixels. Its size is about
// width × height / 1000 bytes (20000 × 20000: under 400 KB), while decoding it takes
// width × height bytes and showing it four times that. It is built without ever holding the
// pixels: one compressed run of rows is repeated, so it costs little even under -race.
func BombPNG(width, height int) []byte {
	const rowsPerChunk = 100
	rowLen := 1 + width // the filter byte, then one byte per pixel
	var z bytes.Buffer
	z.Write([]byte{0x78, 0xda}) // zlib header: deflate, 32 KB window, best compression
	fw, _ := flate.NewWriter(&z, flate.BestCompression)
	chunk := make([]byte, rowsPerChunk*rowLen)
	if height <= rowsPerChunk || height%rowsPerChunk != 0 {
		for i := 0; i < height; i++ {
			fw.Write(chunk[:rowLen])
		}
	} else {
		// Once the window holds only zeros, every further chunk of zero rows compresses to the
		// same bytes: compress two chunks, then repeat the second.
		fw.Write(chunk)
		fw.Flush()
		n := z.Len()
		fw.Write(chunk)
		fw.Flush()
		repeat := append([]byte(nil), z.Bytes()[n:]...)
		for i := 2; i < height/rowsPerChunk; i++ {
			z.Write(repeat)
		}
	}
	fw.Close() // the final empty block
	// Adler-32 of all-zero data: A stays 1, B grows by 1 per byte.
	total := uint64(height) * uint64(rowLen)
	adler := uint32(total%65521)<<16 | 1
	binary.Write(&z, binary.BigEndian, adler)

	var out bytes.Buffer
	out.WriteString("\x89PNG\r\n\x1a\n")
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr[0:], uint32(width))
	binary.BigEndian.PutUint32(ihdr[4:], uint32(height))
	ihdr[8], ihdr[9] = 8, 0 // 8 bits, grayscale
	pngChunk(&out, "IHDR", ihdr)
	pngChunk(&out, "IDAT", z.Bytes())
	pngChunk(&out, "IEND", nil)
	return out.Bytes()
}

func pngChunk(w *bytes.Buffer, typ string, data []byte) {
	binary.Write(w, binary.BigEndian, uint32(len(data)))
	crc := crc32.NewIEEE()
	crc.Write([]byte(typ))
	crc.Write(data)
	w.WriteString(typ)
	w.Write(data)
	binary.Write(w, binary.BigEndian, crc.Sum32())
}

// SmallPNG returns a real w × h PNG that any reader shows.
func SmallPNG(w, h int) []byte {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			img.Set(x, y, color.RGBA{R: uint8(x * 40), G: 120, B: uint8(y * 40), A: 255})
		}
	}
	var b bytes.Buffer
	png.Encode(&b, img)
	return b.Bytes()
}

// Base64Lines encodes data as base64 in lines of 76 characters, as mail carries it.
func Base64Lines(data []byte) string {
	s := base64.StdEncoding.EncodeToString(data)
	var b strings.Builder
	for len(s) > 76 {
		b.WriteString(s[:76] + "\n")
		s = s[76:]
	}
	b.WriteString(s + "\n")
	return b.String()
}

// InlineImagesMessage returns an HTML message that shows two inline images by Content-ID: a
// 20000 × 20000 BombPNG as cid:bomb@test and a SmallPNG as cid:small@test.
func InlineImagesMessage() string {
	return "From: Mallory <mallory@example.net>\nTo: me@example.org\nSubject: Pictures\n" +
		"Date: Mon, 5 Jan 2026 10:00:00 +0000\nMIME-Version: 1.0\n" +
		"Content-Type: multipart/related; boundary=rel\n\n" +
		"--rel\nContent-Type: text/html; charset=utf-8\n\n" +
		"<p>Look at these.</p><img src=\"cid:bomb@test\" alt=\"big\"><img src=\"cid:small@test\" alt=\"small\">\n" +
		"--rel\nContent-Type: image/png\nContent-Transfer-Encoding: base64\nContent-ID: <bomb@test>\n\n" +
		Base64Lines(BombPNG(20000, 20000)) +
		"--rel\nContent-Type: image/png\nContent-Transfer-Encoding: base64\nContent-ID: <small@test>\n\n" +
		Base64Lines(SmallPNG(4, 3)) +
		"--rel--\n"
}

// GoodAttachment is the content of good.bin in DamagedMessage: every byte value, so that a
// decoding or line-ending mistake shows.
func GoodAttachment() []byte {
	b := make([]byte, 1000)
	for i := range b {
		b[i] = byte(i * 7)
	}
	return b
}

// DamagedMessage returns a message whose body reads "The report is attached." with three
// attachments: good.bin (GoodAttachment, intact), bad.doc (base64 with a '*' in it: bad
// base64) and cut.pdf, inside which the message ends (no closing boundary, base64 cut in the
// middle of a group): truncated.
func DamagedMessage() string {
	cut := Base64Lines(bytes.Repeat([]byte("%PDF-1.4 cut short "), 20))
	cut = cut[:len(cut)/2-1] + "\n"
	return "From: Trent <trent@example.com>\nTo: me@example.org\nSubject: Damaged parts\n" +
		"Date: Tue, 6 Jan 2026 09:30:00 +0000\nMIME-Version: 1.0\n" +
		"Content-Type: multipart/mixed; boundary=mix\n\n" +
		"--mix\nContent-Type: text/plain; charset=utf-8\n\nThe report is attached.\n" +
		"--mix\nContent-Type: application/octet-stream\nContent-Transfer-Encoding: base64\n" +
		"Content-Disposition: attachment; filename=good.bin\n\n" +
		Base64Lines(GoodAttachment()) +
		"--mix\nContent-Type: application/msword\nContent-Transfer-Encoding: base64\n" +
		"Content-Disposition: attachment; filename=bad.doc\n\n" +
		"PGh0bWw+CjxwPkhp*PC9wPgo8L2h0bWw+Cg==\n" +
		"--mix\nContent-Type: application/pdf\nContent-Transfer-Encoding: base64\n" +
		"Content-Disposition: attachment; filename=cut.pdf\n\n" +
		cut
}
