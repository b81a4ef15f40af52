package gui

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math/rand"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/text/encoding/charmap"

	"github.com/poplar-mail/poplar/account"
	"github.com/poplar-mail/poplar/pop"
	"github.com/poplar-mail/poplar/pop/popserver"
)

// Demo is a running demo mailbox: a POP3 server on 127.0.0.1 over TLS with a fresh certificate,
// and a configuration and data folder in a temporary directory, removed by Close.
type Demo struct {
	Dir       string
	ConfigDir string
	DataDir   string
	Secrets   account.SecretStore
	srv       *popserver.Server
}

// demoPassword is the demo account's password; it never leaves this process.
const demoPassword = "demo-password"

// StartDemo generates the demo mailbox (about 200 varied messages), serves it with
// pop/popserver over implicit TLS on 127.0.0.1, and writes an account "demo" that pins the
// server's certificate and checks at startup.
func StartDemo() (*Demo, error) {
	dir, err := os.MkdirTemp("", "poplar-demo-")
	if err != nil {
		return nil, fmt.Errorf("gui: demo: %w", err)
	}
	d := &Demo{Dir: dir, ConfigDir: filepath.Join(dir, "config"), DataDir: filepath.Join(dir, "data"),
		Secrets: account.MemSecrets{"demo": demoPassword}}
	srv, err := popserver.Start(popserver.Config{Password: popserver.Users(map[string]string{"demo": demoPassword}),
		Implementation: "Poplar demo server"}, true, demoMessages(200)...)
	if err != nil {
		d.Close()
		return nil, err
	}
	d.srv = srv.Server
	a := account.New("demo", srv.Host, "demo")
	a.Port = srv.Port
	a.Fingerprint = pop.CertFingerprint(srv.Cert.DER)
	a.Email, a.DisplayName = "demo@example.org", "Demo User"
	a.LeaveOnServer = true
	a.CheckAtStartup = true
	cfg := &account.Config{Accounts: []account.Account{a}}
	if err := cfg.Save(d.ConfigDir); err != nil {
		d.Close()
		return nil, err
	}
	return d, nil
}

// Close stops the server and removes the demo's folder.
func (d *Demo) Close() {
	if d.srv != nil {
		d.srv.Close()
	}
	os.RemoveAll(d.Dir)
}

// demoMessages generates n deterministic, varied messages: plain text, HTML with links and a
// remote image (which the reader blocks), attachments, an inline image, several charsets.
func demoMessages(n int) [][]byte {
	rng := rand.New(rand.NewSource(1939))
	people := []string{"Ada Lovelace <ada@example.org>", "Grace Hopper <grace@example.net>", "Алексей Петров <alexei@example.ru>",
		"José García <jose@example.es>", "田中 花子 <hanako@example.jp>", "Newsletter <news@shop.example.com>", "Ken Thompson <ken@example.com>"}
	subjects := []string{"Meeting notes for Thursday", "Your order has shipped", "Re: holiday plans", "Photos from the trip",
		"Quarterly report", "Invitation: project kickoff", "Lunch?", "Build failed on main", "Welcome to the newsletter"}
	words := strings.Fields("the quick brown fox jumps over the lazy dog while poplar trees sway in the wind and mail arrives home safely offline")
	para := func(k int) string {
		var b strings.Builder
		for i := 0; i < k; i++ {
			b.WriteString(words[rng.Intn(len(words))])
			if i%12 == 11 {
				b.WriteString(".\n")
			} else {
				b.WriteByte(' ')
			}
		}
		return b.String() + "\n"
	}
	now := time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)
	out := make([][]byte, n)
	for i := range out {
		from := people[rng.Intn(len(people))]
		subj := subjects[rng.Intn(len(subjects))]
		date := now.Add(-time.Duration(i) * 7 * time.Hour).Format(time.RFC1123Z)
		hdr := fmt.Sprintf("From: %s\nTo: Demo User <demo@example.org>\nDate: %s\nMessage-ID: <demo%d@poplar.example>\nMIME-Version: 1.0\n", encodeAddr(from), date, i)
		var body string
		switch i % 7 {
		case 0:
			hdr += "Subject: " + subj + "\n"
			body = "Content-Type: text/plain; charset=utf-8\n\nHello,\n\n" + para(60) + "\n> " + strings.TrimSpace(para(12)) + "\n\nSee https://example.org/notes for details.\n\nBest,\n" + strings.Split(from, " <")[0] + "\n"
		case 1:
			hdr += "Subject: " + subj + " (HTML)\n"
			body = "Content-Type: text/html; charset=utf-8\n\n<html><body><h1>" + subj + "</h1><p>" + para(40) +
				"</p><p><b>Important:</b> read the <a href=\"https://example.org/report\">full report</a>.</p>" +
				"<img src=\"https://tracker.example.com/pixel.gif\" width=1 height=1><ul><li>first point</li><li>second point</li></ul></body></html>\n"
		case 2:
			hdr += "Subject: " + subj + " — with attachment\n"
			body = "Content-Type: multipart/mixed; boundary=XX\n\n--XX\nContent-Type: text/plain; charset=utf-8\n\nThe file is attached.\n\n" + para(30) +
				"--XX\nContent-Type: text/csv; name=\"figures.csv\"\nContent-Disposition: attachment; filename=\"figures.csv\"\n\nmonth,value\njan,12\nfeb," + strconv.Itoa(rng.Intn(100)) + "\n" +
				"--XX\nContent-Type: application/octet-stream\nContent-Transfer-Encoding: base64\nContent-Disposition: attachment; filename=\"data-" + strconv.Itoa(i) + ".bin\"\n\n" +
				wrap76(base64.StdEncoding.EncodeToString(randBytes(rng, 2000+rng.Intn(40000)))) + "--XX--\n"
		case 3:
			hdr += "Subject: " + subj + " (inline picture)\n"
			body = "Content-Type: multipart/related; boundary=RR\n\n--RR\nContent-Type: text/html; charset=utf-8\n\n<p>Here is the picture:</p><p><img src=\"cid:pic" + strconv.Itoa(i) + "@demo\" alt=\"a poplar\"></p><p>" + para(20) + "</p>\n" +
				"--RR\nContent-Type: image/png\nContent-Transfer-Encoding: base64\nContent-ID: <pic" + strconv.Itoa(i) + "@demo>\nContent-Disposition: inline; filename=\"poplar.png\"\n\n" +
				wrap76(base64.StdEncoding.EncodeToString(demoPNG(i))) + "--RR--\n"
		case 4:
			hdr += "Subject: =?koi8-r?B?" + base64.StdEncoding.EncodeToString(mustEncode(charmap.KOI8R, "Привет из Москвы")) + "?=\n"
			body = "Content-Type: text/plain; charset=koi8-r\nContent-Transfer-Encoding: 8bit\n\n" + string(mustEncode(charmap.KOI8R, "Здравствуйте!\n\nЭто письмо в кодировке KOI8-R.\n"))
		case 5:
			hdr += "Subject: =?utf-8?B?" + base64.StdEncoding.EncodeToString([]byte("来週の会議について 📅")) + "?=\n"
			body = "Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\n" +
				"皆さま\n\n来週の会議は木曜日の午後三時からです。資料を事前にお読みください。🙂\n\n한국어 팀도 참석합니다. Ελληνικά, עברית, हिन्दी.\n"
		default:
			hdr += "Subject: =?iso-8859-1?Q?Caf=E9_et_cr=E8me_br=FBl=E9e?=\n"
			body = "Content-Type: text/plain; charset=iso-8859-1\nContent-Transfer-Encoding: quoted-printable\n\nBonjour,\n\nle caf=E9 est pr=EAt. =C0 bient=F4t !\n"
		}
		out[i] = []byte(hdr + body)
	}
	return out
}

func encodeAddr(a string) string {
	name, rest, ok := strings.Cut(a, " <")
	if !ok || isASCII(name) {
		return a
	}
	return "=?utf-8?B?" + base64.StdEncoding.EncodeToString([]byte(name)) + "?= <" + rest
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

func mustEncode(cm *charmap.Charmap, s string) []byte {
	b, err := cm.NewEncoder().Bytes([]byte(s))
	if err != nil {
		return []byte(s)
	}
	return b
}

func randBytes(rng *rand.Rand, n int) []byte {
	b := make([]byte, n)
	rng.Read(b)
	return b
}

func wrap76(s string) string {
	var b strings.Builder
	for len(s) > 76 {
		b.WriteString(s[:76] + "\n")
		s = s[76:]
	}
	return b.String() + s + "\n"
}

// demoPNG draws a small picture of a poplar in a field.
func demoPNG(seed int) []byte {
	img := image.NewRGBA(image.Rect(0, 0, 160, 100))
	for y := 0; y < 100; y++ {
		for x := 0; x < 160; x++ {
			c := color.RGBA{180, 215, 240, 255}
			if y > 70 {
				c = color.RGBA{120, 180, 90, 255}
			}
			dx := float64(x-80) / (14 + float64(seed%5))
			dy := float64(y-38) / 32
			if dx*dx+dy*dy < 1 {
				c = color.RGBA{40, 120 + uint8(seed%60), 50, 255}
			}
			if x >= 78 && x <= 82 && y >= 60 && y <= 80 {
				c = color.RGBA{110, 80, 50, 255}
			}
			img.Set(x, y, c)
		}
	}
	var b bytes.Buffer
	png.Encode(&b, img)
	return b.Bytes()
}
