package compose_test

import (
	"fmt"
	"io"
	"net/mail"
	"os"
	"strings"
	"time"

	"github.com/poplar-mail/poplar/account/compose"
	"github.com/poplar-mail/poplar/storage/mailview"
)

func ExampleDraft_WriteTo() {
	to, err := compose.ParseAddressList("Bob <bob@example.net>, carol@example.com")
	if err != nil {
		fmt.Println(err)
		return
	}
	d := &compose.Draft{
		From:      mail.Address{Name: "Ada", Address: "ada@example.org"},
		To:        to,
		Bcc:       []mail.Address{{Address: "archive@example.org"}},
		Subject:   "Grüße",
		Body:      "Hello.\n",
		Date:      time.Date(2026, 1, 2, 10, 0, 0, 0, time.UTC),
		MessageID: "<1@example.org>",
	}
	if err := d.Validate(); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("envelope:", d.Recipients())
	var b strings.Builder
	d.WriteTo(&b)
	fmt.Print(strings.ReplaceAll(b.String(), "\r\n", "\n"))
	// Output:
	// envelope: [bob@example.net carol@example.com archive@example.org]
	// Date: Fri, 02 Jan 2026 10:00:00 +0000
	// From: "Ada" <ada@example.org>
	// To: "Bob" <bob@example.net>, <carol@example.com>
	// Subject: =?utf-8?q?Gr=C3=BC=C3=9Fe?=
	// Message-ID: <1@example.org>
	// MIME-Version: 1.0
	// Content-Type: text/plain; charset=utf-8
	// Content-Transfer-Encoding: 7bit
	//
	// Hello.
}

func ExampleReply() {
	orig, _ := mailview.Read(strings.NewReader("From: Ada <ada@example.org>\nTo: me@example.net, bob@example.net\n"+
		"Date: Fri, 2 Jan 2026 10:00:00 +0100\nSubject: Re: Plans\nMessage-ID: <2@example.org>\nReferences: <1@example.org>\n\nShall we?\n"), mailview.Options{})
	me := compose.Identity{Name: "Me", Email: "me@example.net", Signature: "Me"}
	d := compose.Reply(orig, me, true)
	fmt.Println(d.Subject)
	fmt.Println(d.To)
	fmt.Println(d.InReplyTo, d.References)
	fmt.Printf("%q\n", d.Body)
	// Output:
	// Re: Plans
	// [{Ada ada@example.org} { bob@example.net}]
	// <2@example.org> [<1@example.org> <2@example.org>]
	// "On Fri, 2 Jan 2026 at 10:00, Ada <ada@example.org> wrote:\n> Shall we?\n\n\n-- \nMe\n"
}

func ExamplePrepareRaw() {
	raw := "From: ada@example.org\nTo: bob@example.net\nBcc: carol@example.com\nSubject: s\n\nbody\n"
	from, rcpts, msg, err := compose.PrepareRaw(strings.NewReader(raw))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(from, rcpts)
	io.Copy(os.Stdout, msg)
	// Output:
	// ada@example.org [bob@example.net carol@example.com]
	// From: ada@example.org
	// To: bob@example.net
	// Subject: s
	//
	// body
}
