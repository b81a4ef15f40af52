package mailview

import (
	"fmt"
	"strings"
	"testing"
)

// newsletterHTML is a newsletter as mailing tools send it: a layout table of nested tables,
// remote images, links, and a data table of 60 rows × 4 columns.
func newsletterHTML() string {
	var b strings.Builder
	b.WriteString(`<html><head><style>body{background:url(http://t.example/bg.png)}</style></head><body>`)
	b.WriteString(`<table role="presentation" width="600"><tr><td><table><tr><td><img src="http://t.example/logo.png" alt="Logo"></td><td><h1>Monthly news</h1></td></tr></table>`)
	for i := range 40 {
		fmt.Fprintf(&b, `<table><tr><td><p>Story %d: <b>something happened</b> and <a href="https://example.com/s/%d">you can read more</a> about it, <i>if you like</i>.</p>`+
			`<img src="http://t.example/p%d.png" width=1 height=1></td></tr></table>`, i, i, i)
	}
	b.WriteString(`<table border=1><thead><tr><th>Item</th><th>Qty</th><th>Price</th><th>Link</th></tr></thead><tbody>`)
	for i := range 60 {
		fmt.Fprintf(&b, `<tr><td>Item number %d</td><td>%d</td><td>%d.%02d €</td><td><a href="https://shop.example/i/%d">buy</a></td></tr>`, i, i%7+1, i*3, i%100, i)
	}
	b.WriteString(`</tbody></table></td></tr></table><p>Unsubscribe <a href="https://example.com/u">here</a>.</p></body></html>`)
	return b.String()
}

// BenchmarkReadHTML reads an HTML-only newsletter (newsletterHTML): the path from MIME part to
// the safe block model.
func BenchmarkReadHTML(b *testing.B) {
	msg := "Subject: news\nMIME-Version: 1.0\nContent-Type: text/html; charset=utf-8\n\n" + newsletterHTML()
	b.SetBytes(int64(len(msg)))
	for range b.N {
		if _, err := Read(strings.NewReader(msg), Options{}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkReadAlternative reads the same newsletter sent as multipart/alternative with a
// plain-text part first, as mailing tools send it.
func BenchmarkReadAlternative(b *testing.B) {
	plain := strings.Repeat("Story: something happened, read more at https://example.com/s/1\n\n", 40)
	msg := "Subject: news\nMIME-Version: 1.0\nContent-Type: multipart/alternative; boundary=alt\n\n" +
		"--alt\nContent-Type: text/plain; charset=utf-8\n\n" + plain +
		"--alt\nContent-Type: text/html; charset=utf-8\n\n" + newsletterHTML() + "\n--alt--\n"
	b.SetBytes(int64(len(msg)))
	for range b.N {
		if _, err := Read(strings.NewReader(msg), Options{}); err != nil {
			b.Fatal(err)
		}
	}
}
