package autoconfig

import (
	"fmt"
	"strings"
	"testing"

	"github.com/miekg/dns"
)

func TestParseConfig(t *testing.T) {
	tests := []struct {
		name     string
		xml      string
		in, out  []string // "host:port security user auth"
		imapOnly bool
		err      string
	}{
		{name: "placeholders and order: the first pop3 wins",
			xml: clientConfigXML(
				server("incomingServer", "imap", "imap.%EMAILDOMAIN%", 993, "SSL", "%EMAILADDRESS%"),
				server("incomingServer", "pop3", "pop.%EMAILDOMAIN%", 995, "SSL", "%EMAILLOCALPART%"),
				server("incomingServer", "pop3", "pop.%EMAILDOMAIN%", 110, "STARTTLS", "%EMAILADDRESS%"),
				server("outgoingServer", "smtp", "smtp.example.org", 587, "STARTTLS", "%EMAILADDRESS%")),
			in:  []string{"pop.example.org:995 tls dana password", "pop.example.org:110 starttls dana@example.org password"},
			out: []string{"smtp.example.org:587 starttls dana@example.org password"}},
		{name: "IMAP only", xml: clientConfigXML(server("incomingServer", "imap", "imap.example.org", 993, "SSL", "x")),
			imapOnly: true},
		{name: "OAuth2 only",
			xml: `<clientConfig version="1.1"><emailProvider id="p"><incomingServer type="pop3"><hostname>pop.example.org</hostname>` +
				`<port>995</port><socketType>SSL</socketType><username>%EMAILADDRESS%</username>` +
				`<authentication>OAuth2</authentication></incomingServer></emailProvider></clientConfig>`,
			in: []string{"pop.example.org:995 tls dana@example.org oauth2"}},
		{name: "plain socket", xml: clientConfigXML(server("incomingServer", "pop3", "pop.example.org", 110, "plain", "u")),
			in: []string{"pop.example.org:110 none u password"}},
		{name: "malformed servers left out",
			xml: clientConfigXML(
				server("incomingServer", "pop3", "bad host", 995, "SSL", "u"),
				server("incomingServer", "pop3", "pop.example.org", 0, "SSL", "u"),
				server("incomingServer", "pop3", "pop.example.org", 70000, "SSL", "u"),
				server("incomingServer", "pop3", "pop.example.org", 995, "QUIC", "u"),
				server("incomingServer", "pop3", "pop/evil", 995, "SSL", "u"),
				server("incomingServer", "pop3", "pop.example.org", 995, "SSL", "u")),
			in: []string{"pop.example.org:995 tls u password"}},
		{name: "unclosed tags, as in some ISPDB files",
			xml: `<clientConfig version="1.1"><emailProvider id="g">` + server("incomingServer", "pop3", "pop.example.org", 995, "SSL", "u") +
				`<addressBook><serverURL>https://x/<serverURL></addressBook></emailProvider></clientConfig>`,
			in: []string{"pop.example.org:995 tls u password"}},
		{name: "not XML", xml: "<html><body>Not found</body></html>", err: "not a configuration file"},
		{name: "no provider", xml: `<clientConfig version="1.1"></clientConfig>`, err: "no emailProvider"},
		{name: "other encoding", xml: `<?xml version="1.0" encoding="ISO-8859-1"?><clientConfig/>`, err: "not UTF-8"},
		{name: "too large", xml: "<clientConfig>" + strings.Repeat(" ", maxConfigSize) + "</clientConfig>", err: "larger than"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := ParseConfig(strings.NewReader(tc.xml), "dana@example.org")
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("ParseConfig = %v, want an error with %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			show := func(cs []Candidate) string {
				var s []string
				for _, x := range cs {
					s = append(s, fmt.Sprintf("%s %s %s %s", x.Addr(), x.Security, x.Username, x.Auth))
				}
				return strings.Join(s, "\n")
			}
			if got, want := show(c.Incoming), strings.Join(tc.in, "\n"); got != want {
				t.Errorf("incoming =\n%s\nwant\n%s", got, want)
			}
			if got, want := show(c.Outgoing), strings.Join(tc.out, "\n"); got != want {
				t.Errorf("outgoing =\n%s\nwant\n%s", got, want)
			}
			if c.IMAPOnly != tc.imapOnly {
				t.Errorf("IMAPOnly = %v, want %v", c.IMAPOnly, tc.imapOnly)
			}
		})
	}
}

// FuzzParseConfig: any input gives an error or candidates that are safe to connect to.
func FuzzParseConfig(f *testing.F) {
	f.Add(clientConfigXML(server("incomingServer", "pop3", "pop.%EMAILDOMAIN%", 995, "SSL", "%EMAILLOCALPART%"),
		server("outgoingServer", "smtp", "smtp.example.org", 465, "SSL", "%EMAILADDRESS%")), "dana@example.org")
	f.Add(`<clientConfig><emailProvider><incomingServer type="pop3"><hostname>%EMAILLOCALPART%</hostname><port>1</port>`+
		`<socketType>STARTTLS</socketType></incomingServer></emailProvider></clientConfig>`, "a/b\r\n@example.org")
	f.Add(`<clientConfig><emailProvider><outgoingServer type="smtp"><port>-1`, "x@y.z")
	f.Fuzz(func(t *testing.T, doc, email string) {
		c, err := ParseConfig(strings.NewReader(doc), email)
		if err != nil {
			return
		}
		for _, x := range append(c.Incoming, c.Outgoing...) {
			if !validHost(x.Host) || x.Port < 1 || x.Port > 65535 || strings.ContainsAny(x.Username, "\r\n\x00") ||
				(x.Security != securityTLS && x.Security != securitySTARTTLS && x.Security != securityNone) ||
				(x.Auth != AuthPassword && x.Auth != AuthOAuth2) {
				t.Fatalf("ParseConfig(%q, %q) gave an unsafe candidate %+v", doc, email, x)
			}
		}
	})
}

// TestOrderSRV: priority first; within a priority RFC 2782's running-sum draw.
func TestOrderSRV(t *testing.T) {
	rec := func(prio, weight uint16, target string) *dns.SRV {
		return &dns.SRV{Priority: prio, Weight: weight, Target: target}
	}
	tests := []struct {
		name  string
		draw  func(n int) int
		recs  []*dns.SRV
		order string
	}{
		{"priority wins over weight", func(n int) int { return n - 1 },
			[]*dns.SRV{rec(20, 0, "b."), rec(10, 1000, "a.")}, "a. b."},
		{"the highest draw picks the last of the running sum", func(n int) int { return n - 1 },
			[]*dns.SRV{rec(0, 10, "ten."), rec(0, 0, "zero."), rec(0, 30, "thirty.")}, "thirty. ten. zero."},
		{"a zero draw picks a weight-0 record first", func(int) int { return 0 },
			[]*dns.SRV{rec(0, 10, "ten."), rec(0, 0, "zero.")}, "zero. ten."},
		{"a draw within the first weight picks it", func(n int) int { return min(5, n-1) },
			[]*dns.SRV{rec(0, 30, "thirty."), rec(0, 10, "ten.")}, "ten. thirty."},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := Finder{randN: tc.draw}
			var got []string
			for _, r := range f.orderSRV(tc.recs) {
				got = append(got, r.Target)
			}
			if strings.Join(got, " ") != tc.order {
				t.Errorf("orderSRV = %v, want %s", got, tc.order)
			}
		})
	}
}
