package pop

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// trickle sends s a byte at a time, pausing d after each, until s is sent or the client is gone.
func (p *peer) trickle(s string, d time.Duration) {
	for i := 0; i < len(s); i++ {
		p.conn.SetWriteDeadline(time.Now().Add(5 * time.Second))
		if _, err := p.conn.Write([]byte{s[i]}); err != nil {
			return
		}
		time.Sleep(d)
	}
}

// TestUTF8SentWhenOffered: UTF8 goes out before login whenever CAPA lists it, and a -ERR to it
// does not stop the login.
func TestUTF8SentWhenOffered(t *testing.T) {
	tests := []struct {
		name, user, reply string
	}{
		{"ascii credentials", "alice", "+OK UTF8 enabled"},
		{"refused", "jörg", "-ERR not now"},
		{"refused, ascii", "alice", "-ERR [SYS/PERM] no"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := client(t, Options{AllowInsecureAuth: true}, func(p *peer) {
				p.send("+OK\r\n")
				p.expect("CAPA")
				p.send("+OK\r\nUTF8\r\nUSER\r\n.\r\n")
				p.expect("UTF8")
				p.send(tc.reply + "\r\n")
				p.expect("USER " + tc.user)
				p.send("+OK\r\n")
				p.expect("PASS pw")
				p.send("+OK\r\n")
				p.expect("CAPA")
				p.send("+OK\r\n.\r\n")
			})
			ctx := context.Background()
			if err := c.Capa(ctx); err != nil {
				t.Fatal(err)
			}
			if err := c.Auth(ctx, Credentials{Username: tc.user, Password: "pw"}); err != nil {
				t.Fatalf("Auth after UTF8 %q = %v, want nil", tc.reply, err)
			}
		})
	}
}

// TestNoExposedSecretOnPlainConnections: on an unencrypted connection without AllowInsecureAuth,
// neither auto nor an explicit method sends a password, a token or a CRAM-MD5 or APOP digest;
// SCRAM is still used.
func TestNoExposedSecretOnPlainConnections(t *testing.T) {
	tests := []struct {
		name   string
		method AuthMethod
		caps   string
		want   string // the first command the server must see; "" for none (ErrInsecureAuth)
	}{
		{"auto, CRAM-MD5 and APOP offered", AuthAuto, "SASL CRAM-MD5 PLAIN", ""},
		{"explicit CRAM-MD5", AuthCRAMMD5, "SASL CRAM-MD5", ""},
		{"explicit APOP", AuthAPOP, "USER", ""},
		{"auto, SCRAM offered", AuthAuto, "SASL CRAM-MD5 SCRAM-SHA-256", "AUTH SCRAM-SHA-256"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := make(chan string, 1)
			c := client(t, Options{}, func(p *peer) {
				p.send("+OK ready <1896.697170952@dbc.mtview.ca.us>\r\n")
				got <- p.read() // "" when the client hangs up without a word
				p.send("-ERR [AUTH] no\r\n")
			})
			c.caps = parseCapabilities([]string{tc.caps})
			err := c.Auth(context.Background(), Credentials{Method: tc.method, Username: "u", Password: "secret"})
			if tc.want == "" && !errors.Is(err, ErrInsecureAuth) {
				t.Errorf("Auth(%v) over plain = %v, want ErrInsecureAuth", tc.method, err)
			}
			c.Close()
			if l := <-got; !strings.HasPrefix(l, tc.want) || (tc.want == "" && l != "") {
				t.Errorf("server received %q, want %q", l, tc.want)
			}
		})
	}
}

// TestStalledAndTricklingServers: a server that stops or sends a byte now and then ends the
// command within about Options.Timeout, with ErrStalled or ErrTooSlow.
func TestStalledAndTricklingServers(t *testing.T) {
	const tick = 15 * time.Millisecond // 66 bytes/s: far below DefaultMinRate
	tests := []struct {
		name   string
		script func(p *peer) // after the greeting and the command
		run    func(c *Client) error
		want   error
	}{
		{"silent status", func(p *peer) {}, func(c *Client) error { return c.Noop(context.Background()) }, ErrStalled},
		{"trickled status", func(p *peer) { p.trickle("+OK "+strings.Repeat("x", 200)+"\r\n", tick) },
			func(c *Client) error { return c.Noop(context.Background()) }, ErrTooSlow},
		{"trickled list", func(p *peer) {
			p.send("+OK\r\n")
			p.trickle(strings.Repeat("TOP\r\n", 60)+".\r\n", tick)
		}, func(c *Client) error { return c.Capa(context.Background()) }, ErrTooSlow},
		{"silent message", func(p *peer) { p.send("+OK\r\nhalf a line") }, readRetr, ErrStalled},
		{"trickled message", func(p *peer) {
			p.send("+OK\r\n")
			p.trickle(strings.Repeat("a line of the message\r\n", 10)+".\r\n", tick)
		}, readRetr, ErrTooSlow},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := client(t, Options{Timeout: 300 * time.Millisecond}, func(p *peer) {
				p.send("+OK\r\n")
				p.read()
				tc.script(p)
				p.read() // wait for the client to hang up
			})
			err := tc.run(c)
			if !errors.Is(err, tc.want) || !errors.Is(err, os.ErrDeadlineExceeded) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
			if err := c.Noop(context.Background()); err == nil {
				t.Fatal("command after a timed-out reply succeeded, want an error")
			}
		})
	}
}

func readRetr(c *Client) error {
	r, err := c.Retr(context.Background(), 1)
	if err != nil {
		return err
	}
	_, err = io.ReadAll(r)
	return err
}

// TestTrickledGreeting: the greeting, too, must arrive whole within the timeout.
func TestTrickledGreeting(t *testing.T) {
	_, err := scripted(t, Options{Timeout: 300 * time.Millisecond}, func(p *peer) {
		p.trickle("+OK POP3 server ready "+strings.Repeat(".", 100)+"\r\n", 15*time.Millisecond)
	})
	if !errors.Is(err, ErrTooSlow) {
		t.Fatalf("NewClient with a trickled greeting = %v, want ErrTooSlow", err)
	}
}

// TestReplyBounds: CAPA, LIST and UIDL replies are bounded in lines, whatever each line's length.
func TestReplyBounds(t *testing.T) {
	many := func(n int, line string) string { return strings.Repeat(line+"\r\n", n) }
	tests := []struct {
		name   string
		script func(p *peer)
		run    func(c *Client) error
	}{
		{"CAPA lines", func(p *peer) {
			p.expect("CAPA")
			p.send("+OK\r\n" + many(1001, "X") + ".\r\n")
		}, func(c *Client) error { return c.Capa(context.Background()) }},
		{"CAPA bytes", func(p *peer) {
			p.expect("CAPA")
			p.send("+OK\r\n" + many(20, strings.Repeat("X", 60<<10)) + ".\r\n")
		}, func(c *Client) error { return c.Capa(context.Background()) }},
		{"LIST beyond STAT", func(p *peer) {
			p.expect("STAT")
			p.send("+OK 2 200\r\n")
			p.expect("LIST")
			p.send("+OK\r\n" + many(67, "1 100") + ".\r\n")
		}, func(c *Client) error { _, err := c.List(context.Background()); return err }},
		{"UIDL beyond STAT", func(p *peer) {
			p.expect("STAT")
			p.send("+OK 0 0\r\n")
			p.expect("UIDL")
			p.send("+OK\r\n" + many(65, "1 abc") + ".\r\n")
		}, func(c *Client) error { _, err := c.UIDL(context.Background()); return err }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := client(t, Options{}, func(p *peer) {
				p.send("+OK\r\n")
				tc.script(p)
			})
			err := tc.run(c)
			if !errors.Is(err, ErrReplyTooLarge) || !errors.Is(err, ErrProtocol) {
				t.Fatalf("got %v, want ErrReplyTooLarge", err)
			}
		})
	}
}

// TestListWithinSTAT: a LIST of exactly the STAT count plus the slack is accepted, and the
// largest count of the session is the bound (RSET brings deleted messages back).
func TestListWithinSTAT(t *testing.T) {
	c := client(t, Options{}, func(p *peer) {
		p.send("+OK\r\n")
		p.expect("STAT")
		p.send("+OK 3 300\r\n")
		p.expect("STAT")
		p.send("+OK 1 100\r\n")
		p.expect("LIST")
		p.send("+OK\r\n" + strings.Repeat("1 100\r\n", 3+listSlack) + ".\r\n")
	})
	ctx := context.Background()
	c.Stat(ctx)
	c.Stat(ctx)
	if l, err := c.List(ctx); err != nil || len(l) != 3+listSlack {
		t.Fatalf("List = %d entries, %v; want %d, nil", len(l), err, 3+listSlack)
	}
}

// TestLongUIDs: unique ids longer than RFC 1939's 70 characters are kept; control characters and
// spaces are still refused.
func TestLongUIDs(t *testing.T) {
	tests := []struct {
		line, uid string // uid "" means an error is wanted
	}{
		{"1 " + strings.Repeat("u", 71), strings.Repeat("u", 71)},
		{"2 " + strings.Repeat("0123456789", 6000), strings.Repeat("0123456789", 6000)},
		{"3 gmail:\xe4bc", "gmail:\xe4bc"},
		{"4 a b", ""},
		{"5 a\x01b", ""},
		{"6 a\x7fb", ""},
		{"7 a\u0085b", ""},
	}
	for _, tc := range tests {
		u, err := parseUIDLLine(tc.line)
		if tc.uid == "" {
			if !errors.Is(err, ErrProtocol) {
				t.Errorf("parseUIDLLine(%q) = %+v, %v; want ErrProtocol", clip(tc.line), u, err)
			}
		} else if err != nil || u.UID != tc.uid {
			t.Errorf("parseUIDLLine(%q) = %q, %v; want %q", clip(tc.line), clip(u.UID), err, clip(tc.uid))
		}
	}
}

func TestCleanText(t *testing.T) {
	tests := []struct{ in, want string }{
		{"POP3 ready", "POP3 ready"},
		{"ready <1896.697170952@dbc.mtview.ca.us>", "ready <1896.697170952@dbc.mtview.ca.us>"},
		{"from <user@example.org>", "from <user@example.org>"},
		{"a < b > c", "a < b > c"},
		{"<b>bold</b> and <a href=\"http://evil.example/\">link</a>", "bold and link"},
		{"line<br/>break <!-- hidden --> end", "linebreak  end"},
		{"<<b>b>x", "x"},
		{"<\x1b[0mb>x", "x"},
		{"\x1b[31mred\x1b[0m", "red"},
		{"title\x1b]0;pwned\x07 after", "title after"},
		{"osc\x1b]8;;http://x\x1b\\link\x1b]8;;\x1b\\", "osclink"},
		{"bell\x07 nul\x00 del\x7f", "bell nul del"},
		{"tab\there\r\nnext", "tab here  next"},
		{"c1\u0085\u009b31mx", "c1x"},
		{"bidi \u202eevil\u202c \u2066iso\u2069 \u200fmark", "bidi evil iso mark"},
		{"bad \xff byte", "bad \ufffd byte"},
		{"Grüße, 日本", "Grüße, 日本"},
	}
	for _, tc := range tests {
		if got := CleanText(tc.in); got != tc.want {
			t.Errorf("CleanText(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// TestServerTextCleaned: the greeting, -ERR text, capabilities and the trace are cleaned at the
// source.
func TestServerTextCleaned(t *testing.T) {
	const dirty = "\x1b[2J\x1b]0;owned\x07<b>x</b>\u202e\u009b1m"
	var trace bytes.Buffer
	c := client(t, Options{Trace: &trace}, func(p *peer) {
		p.send("+OK hello " + dirty + " <1.2@host>\r\n")
		p.expect("CAPA")
		p.send("+OK\r\nIMPLEMENTATION " + dirty + "\r\nSASL PLAIN" + dirty + "\r\nX-" + dirty + "\r\n.\r\n")
		p.expect("NOOP")
		p.send("-ERR [SYS/TEMP] " + dirty + "\r\n")
	})
	ctx := context.Background()
	if err := c.Capa(ctx); err != nil {
		t.Fatal(err)
	}
	err := c.Noop(ctx)
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("Noop = %v, want an *Error", err)
	}
	caps := c.Capabilities()
	shown := []string{c.Greeting(), e.Text, err.Error(), caps.Implementation, strings.Join(caps.SASL, " "),
		strings.Join(caps.Raw, "\n"), trace.String()}
	for _, s := range shown {
		if bad := uncleanRE.FindString(s); bad != "" {
			t.Errorf("%q holds %q", s, bad)
		}
	}
	if c.Greeting() != "hello x <1.2@host>" || c.stamp != "<1.2@host>" {
		t.Errorf("Greeting() = %q, stamp %q", c.Greeting(), c.stamp)
	}
}

// uncleanRE matches what CleanText removes.
var uncleanRE = regexp.MustCompile("[\x00-\x08\x0b-\x1f\x7f\u0080-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]|" +
	`<(/?[A-Za-z][A-Za-z0-9:-]*([ /][^<>]*)?|[!?][^<>]*)>`)

func FuzzCleanText(f *testing.F) {
	for _, s := range []string{"<b>x</b>", "<1.2@host>", "\x1b[1m\x1b]0;t\x07", "<<b>b>", "<a <b@c> >", "\u202e\x9b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := CleanText(s)
		if !utf8.ValidString(got) {
			t.Fatalf("CleanText(%q) = %q, not UTF-8", s, got)
		}
		if bad := uncleanRE.FindString(got); bad != "" || strings.ContainsAny(got, "\t\r\n") {
			t.Fatalf("CleanText(%q) = %q, holds %q", s, got, bad)
		}
		if again := CleanText(got); again != got {
			t.Fatalf("CleanText(%q) = %q, but CleanText of that = %q", s, got, again)
		}
		if len(got) > len(s)*3 {
			t.Fatalf("CleanText(%q) = %q grew", s, got)
		}
	})
}

// FuzzStatusLine feeds arbitrary greetings: the result is a clean greeting or an error whose
// text is clean.
func FuzzStatusLine(f *testing.F) {
	f.Add("+OK ready <1.2@x>")
	f.Add("-ERR [AUTH] <b>no</b>\x1b[1m")
	f.Add("+OK\t\x00\u202e")
	f.Fuzz(func(t *testing.T, line string) {
		if strings.ContainsAny(line, "\r\n") {
			return
		}
		c, err := scripted(t, Options{Timeout: time.Second}, func(p *peer) { p.send(line + "\r\n") })
		shown := ""
		if err == nil {
			shown = c.Greeting()
			c.Close()
		} else if e := (*Error)(nil); errors.As(err, &e) {
			shown = e.Text
		}
		if bad := uncleanRE.FindString(shown); bad != "" {
			t.Fatalf("greeting %q shown as %q, holding %q", line, shown, bad)
		}
	})
}

func ExampleCleanText() {
	fmt.Println(CleanText("+OK \x1b[31mPOP3\x1b[0m <b>ready</b> <1896.697170952@dbc.mtview.ca.us>"))
	// Output: +OK POP3 ready <1896.697170952@dbc.mtview.ca.us>
}

// TestReplyWithinTimeoutAfterEarlyDeadline: the connection's deadline is moved only when near, so
// it may fire before the one wanted; a reply that comes within the timeout still succeeds. Here
// the second NOOP starts 0.4 timeouts after the first, and its reply takes 0.8 timeouts: the
// deadline left from the first NOOP fires first.
func TestReplyWithinTimeoutAfterEarlyDeadline(t *testing.T) {
	const timeout = 2 * time.Second
	c := client(t, Options{Timeout: timeout}, func(p *peer) {
		p.send("+OK\r\n")
		p.expect("NOOP")
		p.send("+OK\r\n")
		p.expect("NOOP")
		time.Sleep(timeout * 8 / 10)
		p.send("+OK\r\n")
	})
	ctx := context.Background()
	if err := c.Noop(ctx); err != nil {
		t.Fatal(err)
	}
	time.Sleep(timeout * 4 / 10)
	if err := c.Noop(ctx); err != nil {
		t.Fatalf("Noop answered within the timeout = %v, want nil", err)
	}
}
