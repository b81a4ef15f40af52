// Package mailgen generates deterministic mailboxes for Poplar's benchmarks (internal/bench,
// storage/search, storage/thread): the same messages on every run, in one of two mixes.
package mailgen

import (
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/poplar-mail/poplar/storage/mailview/mailviewtest"
)

// Mix is a kind of generated mailbox.
type Mix int

const (
	// Fetch is the mailbox `make bench` serves over POP3 (about 240 MB for 2000 messages): 2-20 KB
	// of text and HTML in several charsets from a 14-word vocabulary, 30 % with a 20-150 KB base64
	// attachment, one in a hundred of 3-7 MB. Every message has the same date.
	Fetch Mix = iota
	// Archive is years of mail to search and thread (about 58 KB a message): words from a
	// 20,000-word vocabulary, Zipf-distributed, with a few accented and CJK ones; 30 % with a
	// 20-150 KB attachment, 1 % with 1 MB, 25 % HTML, 10 % quoted-printable Latin-1; dates ten
	// minutes apart; a third are replies (In-Reply-To and References, "Re: " subject) to one of
	// the 50 messages before.
	Archive
)

// Generator makes the messages of a mix one at a time, so that a large mailbox need not be held
// in memory. It is not safe for concurrent use.
type Generator struct {
	mix      Mix
	rng      *rand.Rand
	vocab    []string
	zipf     *rand.Zipf
	i        int
	subjects []string // Archive: each message's subject, for replies
}

// New returns a generator of mix, starting at the first message.
func New(mix Mix) *Generator {
	g := &Generator{mix: mix, rng: rand.New(rand.NewSource(2026))}
	if mix == Fetch {
		g.vocab = []string{"mail", "poplar", "tree", "server", "message", "über", "café", "naïve", "日本", "письмо", "the", "and", "of", "to"}
		return g
	}
	syll := []string{"ka", "lo", "mi", "ne", "ru", "sa", "to", "vi", "ber", "con", "dor", "fel", "gan", "hus", "ent", "ion"}
	g.vocab = make([]string, 20000)
	for i := range g.vocab {
		var b strings.Builder
		for k := 0; k < 2+g.rng.Intn(3); k++ {
			b.WriteString(syll[g.rng.Intn(len(syll))])
		}
		g.vocab[i] = b.String()
	}
	copy(g.vocab, []string{"the", "and", "of", "to", "mail", "poplar", "über", "café", "naïve"})
	copy(g.vocab[5000:], []string{"会議", "письмо", "García"}) // rarer words
	g.zipf = rand.NewZipf(g.rng, 1.1, 2, uint64(len(g.vocab)-1))
	return g
}

// Messages returns the first n messages of mix.
func Messages(n int, mix Mix) [][]byte {
	g := New(mix)
	out := make([][]byte, n)
	for i := range out {
		out[i] = g.Next()
	}
	return out
}

// Date is the Date of message i of the Archive mix.
func Date(i int) time.Time { return time.Unix(1600000000+int64(i)*600, 0).UTC() }

func (g *Generator) word() string {
	if g.zipf == nil {
		return g.vocab[g.rng.Intn(len(g.vocab))]
	}
	return g.vocab[g.zipf.Uint64()]
}

func (g *Generator) text(size int) string {
	var b strings.Builder
	for b.Len() < size {
		line := 0
		for line < 70 {
			w := g.word()
			b.WriteString(w + " ")
			line += len(w) + 1
		}
		b.WriteString("\n")
	}
	return b.String()
}

func (g *Generator) blob(size int) string {
	raw := make([]byte, size)
	g.rng.Read(raw)
	return mailviewtest.Base64Lines(raw)
}

// Next returns the next message.
func (g *Generator) Next() []byte {
	i := g.i
	g.i++
	if g.mix == Fetch {
		return g.nextFetch(i)
	}
	return g.nextArchive(i)
}

func (g *Generator) nextFetch(i int) []byte {
	hdr := fmt.Sprintf("From: Sender %d <s%d@example.org>\nTo: me@example.org\nSubject: Benchmark message %d\nDate: Mon, 2 Jan 2006 15:04:05 +0000\nMessage-ID: <b%d@example.org>\nMIME-Version: 1.0\n", i, i%97, i, i)
	var body string
	switch r := g.rng.Intn(100); {
	case i%100 == 49: // a few of several MB
		body = "Content-Type: multipart/mixed; boundary=BB\n\n--BB\nContent-Type: text/plain; charset=utf-8\n\n" + g.text(2000) +
			"--BB\nContent-Type: application/octet-stream\nContent-Transfer-Encoding: base64\nContent-Disposition: attachment; filename=big.bin\n\n" + g.blob(3<<20+g.rng.Intn(4<<20)) + "--BB--\n"
	case r < 30: // with an attachment
		body = "Content-Type: multipart/mixed; boundary=BB\n\n--BB\nContent-Type: text/plain; charset=utf-8\n\n" + g.text(2000+g.rng.Intn(8000)) +
			"--BB\nContent-Type: application/pdf\nContent-Transfer-Encoding: base64\nContent-Disposition: attachment; filename=doc.pdf\n\n" + g.blob(20<<10+g.rng.Intn(130<<10)) + "--BB--\n"
	case r < 55:
		body = "Content-Type: text/html; charset=utf-8\n\n<html><body><p>" + strings.ReplaceAll(g.text(2000+g.rng.Intn(18000)), "\n", "</p>\n<p>") + "</p></body></html>\n"
	case r < 65:
		body = "Content-Type: text/plain; charset=iso-8859-1\nContent-Transfer-Encoding: quoted-printable\n\n" + strings.ReplaceAll(g.text(2000+g.rng.Intn(18000)), "ü", "=FC") + "\n"
	default:
		body = "Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\n" + g.text(2000+g.rng.Intn(18000))
	}
	return []byte(hdr + body)
}

func (g *Generator) nextArchive(i int) []byte {
	v := g.vocab
	subject := fmt.Sprintf("%s %s %s %d", g.word(), g.word(), g.word(), i)
	reply := ""
	if i > 0 && i%3 == 1 {
		parent := i - 1 - g.rng.Intn(min(i, 50))
		subject = "Re: " + strings.TrimPrefix(g.subjects[parent], "Re: ")
		reply = fmt.Sprintf("In-Reply-To: <b%d@example.org>\nReferences: <b%d@example.org>\n", parent, parent)
	}
	g.subjects = append(g.subjects, subject)
	hdr := fmt.Sprintf("From: %s %s <s%d@example.org>\nTo: me@example.org, %s <o%d@example.net>\nSubject: %s\nDate: %s\nMessage-ID: <b%d@example.org>\n%sMIME-Version: 1.0\n",
		v[g.rng.Intn(2000)], v[g.rng.Intn(2000)], i%997, v[g.rng.Intn(2000)], i%89, subject, Date(i).Format(time.RFC1123Z), i, reply)
	var body string
	switch r := g.rng.Intn(100); {
	case r == 0:
		body = "Content-Type: multipart/mixed; boundary=BB\n\n--BB\nContent-Type: text/plain; charset=utf-8\n\n" + g.text(2000) +
			"--BB\nContent-Type: application/octet-stream\nContent-Transfer-Encoding: base64\nContent-Disposition: attachment; filename=big.bin\n\n" + g.blob(1<<20) + "--BB--\n"
	case r < 30:
		body = "Content-Type: multipart/mixed; boundary=BB\n\n--BB\nContent-Type: text/plain; charset=utf-8\n\n" + g.text(2000+g.rng.Intn(8000)) +
			"--BB\nContent-Type: application/pdf\nContent-Transfer-Encoding: base64\nContent-Disposition: attachment; filename=" + v[g.rng.Intn(5000)] + ".pdf\n\n" + g.blob(20<<10+g.rng.Intn(130<<10)) + "--BB--\n"
	case r < 55:
		body = "Content-Type: text/html; charset=utf-8\n\n<html><body><p>" + strings.ReplaceAll(g.text(2000+g.rng.Intn(18000)), "\n", "</p>\n<p>") + "</p></body></html>\n"
	case r < 65:
		body = "Content-Type: text/plain; charset=iso-8859-1\nContent-Transfer-Encoding: quoted-printable\n\n" + strings.NewReplacer("ü", "=FC", "é", "=E9", "ï", "=EF", "会議", "", "письмо", "").Replace(g.text(2000+g.rng.Intn(18000))) + "\n"
	default:
		body = "Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\n" + g.text(2000+g.rng.Intn(18000))
	}
	return []byte(hdr + body)
}

// WriteMaildir writes the first n messages of mix into DIR/Maildir/cur (which must exist), named
// as a Maildir delivery at their date, every tenth unread and the rest seen. It returns the bytes
// written.
func WriteMaildir(dir string, n int, mix Mix) (int64, error) {
	g := New(mix)
	cur := filepath.Join(dir, "Maildir", "cur")
	var total int64
	for i := 0; i < n; i++ {
		m := g.Next()
		flags := "S"
		if i%10 == 0 {
			flags = ""
		}
		name := fmt.Sprintf("%d.M%dP1.bench:2,%s", Date(i).Unix(), i, flags)
		if err := os.WriteFile(filepath.Join(cur, name), m, 0o600); err != nil {
			return total, fmt.Errorf("mailgen: %w", err)
		}
		total += int64(len(m))
	}
	return total, nil
}

// DirBytes is the size of the regular files below dir (a mailbox, an index), for figures.
func DirBytes(dir string) int64 {
	var n int64
	filepath.Walk(dir, func(_ string, fi os.FileInfo, err error) error {
		if err == nil && fi.Mode().IsRegular() {
			n += fi.Size()
		}
		return nil
	})
	return n
}
