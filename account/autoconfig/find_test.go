package autoconfig

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/poplar-mail/poplar/internal/dnstest"
	"github.com/poplar-mail/poplar/internal/dovecot"
	"github.com/poplar-mail/poplar/internal/postfix"
	"github.com/poplar-mail/poplar/internal/smtptest"
	"github.com/poplar-mail/poplar/pop"
	"github.com/poplar-mail/poplar/pop/popserver"
)

// rig is everything detection is tested against: real Dovecot and Postfix (their certificate is
// valid for localhost and 127.0.0.1 only), a POP3 server whose certificate names
// pop.guess.test, a private dnsmasq, an ISPDB over HTTP and an autoconfig file over HTTPS.
type rig struct {
	dvTLS, dvSTARTTLS, pfTLS, pfSTARTTLS, guessPOP, closed, plainSMTP int
	dns                                                               *dnstest.Server
	ispdb                                                             *httptest.Server
	ispdbHits                                                         map[string]*atomic.Int32
	ispdbFiles                                                        map[string]string
	autoconf                                                          *httptest.Server
	autoconfQuery                                                     atomic.Value // the emailaddress the autoconfig file was asked for
	roots                                                             *x509.CertPool
}

// port returns the port of a "127.0.0.1:port" address.
func port(addr string) int { return int(netip.MustParseAddrPort(addr).Port()) }

// clientConfigXML writes a clientConfig file with the given server entries.
func clientConfigXML(servers ...string) string {
	return `<?xml version="1.0" encoding="UTF-8"?>
<clientConfig version="1.1"><emailProvider id="test"><domain>x.test</domain>` + strings.Join(servers, "\n") +
		`</emailProvider></clientConfig>`
}

func server(kind, typ, host string, port int, socket, user string) string {
	return fmt.Sprintf(`<%s type=%q><hostname>%s</hostname><port>%d</port><socketType>%s</socketType>`+
		`<username>%s</username><authentication>password-cleartext</authentication></%s>`, kind, typ, host, port, socket, user, kind)
}

func startRig(t *testing.T) *rig {
	t.Helper()
	dv := dovecot.StartT(t, dovecot.Options{Users: []dovecot.User{{Name: "dana", Password: "s3cret"}}})
	pf := postfix.StartT(t, dv, postfix.Options{})
	r := &rig{dvTLS: port(dv.POP3SAddr), dvSTARTTLS: port(dv.POP3Addr),
		pfTLS: port(pf.SubmissionTLSAddr), pfSTARTTLS: port(pf.SubmissionSTARTTLSAddr)}
	pem, err := os.ReadFile(dv.CAFile)
	if err != nil {
		t.Fatal(err)
	}
	r.plainSMTP = smtptest.Start(t, "none").Port // no STARTTLS offered
	r.roots = x509.NewCertPool()
	r.roots.AppendCertsFromPEM(pem)

	// A POP3 server with a certificate for the guessed name.
	cert, err := popserver.GenerateCert("pop.guess.test")
	if err != nil {
		t.Fatal(err)
	}
	ps := popserver.New(popserver.Config{TLSConfig: cert.ServerConfig(), Password: popserver.Users(map[string]string{"dana": "pw"})})
	t.Cleanup(func() { ps.Close() })
	a, err := ps.Listen("127.0.0.1:0", true)
	if err != nil {
		t.Fatal(err)
	}
	r.guessPOP = a.(*net.TCPAddr).Port
	r.roots.AppendCertsFromPEM(cert.CertPEM)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r.closed = l.Addr().(*net.TCPAddr).Port
	l.Close()

	// The ISPDB: one file per domain, counting requests.
	r.ispdbFiles = map[string]string{
		"ispdb.test": clientConfigXML(
			server("incomingServer", "imap", "localhost", 993, "SSL", "%EMAILADDRESS%"),
			server("incomingServer", "pop3", "localhost", r.dvTLS, "SSL", "%EMAILLOCALPART%"),
			server("incomingServer", "pop3", "localhost", r.dvSTARTTLS, "STARTTLS", "%EMAILLOCALPART%"),
			server("outgoingServer", "smtp", "localhost", r.pfSTARTTLS, "STARTTLS", "%EMAILLOCALPART%"),
			server("outgoingServer", "smtp", "localhost", r.pfTLS, "SSL", "%EMAILLOCALPART%")),
		"imaponly.test": clientConfigXML(
			server("incomingServer", "imap", "localhost", 993, "SSL", "%EMAILADDRESS%"),
			server("outgoingServer", "smtp", "localhost", r.pfTLS, "SSL", "%EMAILADDRESS%")),
		"weak.test": clientConfigXML(
			server("incomingServer", "pop3", "localhost", r.dvSTARTTLS, "plain", "%EMAILADDRESS%"),
			server("outgoingServer", "smtp", "localhost", r.plainSMTP, "STARTTLS", "%EMAILADDRESS%")),
		"mailhost.test": clientConfigXML(
			server("incomingServer", "pop3", "localhost", r.dvTLS, "SSL", "%EMAILADDRESS%"),
			server("outgoingServer", "smtp", "localhost", r.pfTLS, "SSL", "%EMAILADDRESS%")),
	}
	r.ispdbHits = map[string]*atomic.Int32{}
	for _, d := range []string{"ispdb.test", "imaponly.test", "mailhost.test", "preset.test", "srv.test"} {
		r.ispdbHits[d] = new(atomic.Int32)
	}
	r.ispdb = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		d := strings.TrimPrefix(req.URL.Path, "/v1.1/")
		if n := r.ispdbHits[d]; n != nil {
			n.Add(1)
		}
		if f, ok := r.ispdbFiles[d]; ok {
			w.Write([]byte(f))
			return
		}
		http.NotFound(w, req)
	}))
	t.Cleanup(r.ispdb.Close)

	// The domain's own autoconfig file, over HTTPS with a certificate for autoconfig.auto.test.
	acert, err := popserver.GenerateCert("autoconfig.auto.test", "auto.test")
	if err != nil {
		t.Fatal(err)
	}
	r.roots.AppendCertsFromPEM(acert.CertPEM)
	r.autoconf = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if req.Host != "autoconfig.auto.test" || req.URL.Path != "/mail/config-v1.1.xml" {
			http.NotFound(w, req)
			return
		}
		r.autoconfQuery.Store(req.URL.Query().Get("emailaddress"))
		w.Write([]byte(clientConfigXML(
			server("incomingServer", "pop3", "localhost", r.dvTLS, "SSL", "%EMAILADDRESS%"),
			server("outgoingServer", "smtp", "localhost", r.pfTLS, "SSL", "%EMAILADDRESS%"))))
	}))
	r.autoconf.TLS = acert.ServerConfig()
	r.autoconf.StartTLS()
	t.Cleanup(r.autoconf.Close)

	r.dns = dnstest.StartT(t, dnstest.Options{
		Domains: []string{"test"},
		SRV: []dnstest.SRV{
			{Name: "_pop3s._tcp.srv.test", Target: "localhost", Port: r.dvTLS, Priority: 10},
			{Name: "_pop3._tcp.srv.test", Target: "localhost", Port: r.dvSTARTTLS, Priority: 0},
			{Name: "_submissions._tcp.srv.test", Target: "localhost", Port: r.closed, Priority: 5, Weight: 0},
			{Name: "_submissions._tcp.srv.test", Target: "localhost", Port: r.pfTLS, Priority: 5, Weight: 100},
			{Name: "_submission._tcp.srv.test"}, // "."
		},
		MX: []dnstest.MX{
			{Domain: "mx.test", Host: "mx1.hosting.test", Preference: 10},
			{Domain: "mxgoogle.test", Host: "aspmx.l.google.com", Preference: 1},
			{Domain: "mxispdb.test", Host: "mx.mailhost.test", Preference: 5},
		},
		Hosts: []dnstest.Host{
			{Name: "pop.guess.test", IP: "127.0.0.1"}, {Name: "smtp.guess.test", IP: "127.0.0.1"},
			{Name: "pop.badguess.test", IP: "127.0.0.1"},
		},
	})
	return r
}

// finder returns a Finder that uses only the rig: its DNS, ISPDB and roots, and an HTTP client
// that sends *.test to the autoconfig server.
func (r *rig) finder() Finder {
	f := Finder{DNS: r.dns.Addr, ISPDBURL: r.ispdb.URL + "/v1.1/", Roots: r.roots, StepTimeout: 20 * time.Second,
		randN: func(n int) int { return n - 1 }}
	tr := r.autoconf.Client().Transport.(*http.Transport).Clone()
	tr.TLSClientConfig.RootCAs = r.roots
	tr.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		host, _, _ := net.SplitHostPort(addr)
		if strings.HasSuffix(host, ".test") {
			if host != "autoconfig.auto.test" {
				return nil, fmt.Errorf("%s: no such host", host)
			}
			addr = r.autoconf.Listener.Addr().String()
		}
		var d net.Dialer
		return d.DialContext(ctx, network, addr)
	}
	f.HTTPClient = &http.Client{Transport: tr}
	return f
}

// describe formats a candidate for comparison.
func describe(cs []Candidate) []string {
	out := []string{}
	for _, c := range cs {
		s := fmt.Sprintf("%s %s %s %s %s", c.Source, c.Addr(), c.Security, c.Username, c.Auth)
		if c.OAuthProvider != "" {
			s += "/" + c.OAuthProvider
		}
		if c.Verified {
			s += " verified"
		}
		out = append(out, s)
	}
	return out
}

func TestFind(t *testing.T) {
	r := startRig(t)
	lh := func(p int) string { return "localhost:" + strconv.Itoa(p) }
	hostingPreset := []Preset{{Name: "Hosting", MXDomains: []string{"hosting.test"}, Domains: []string{"preset.test"},
		Incoming: []Server{{Host: "localhost", Port: r.dvTLS, Security: "tls", Username: "%EMAILLOCALPART%", Auth: AuthPassword}},
		Outgoing: []Server{{Host: "localhost", Port: r.pfTLS, Security: "tls", Username: "%EMAILADDRESS%", Auth: AuthPassword}}}}
	// viaSystem makes f use the rig's DNS as if it were the system's resolver, on a system whose
	// DNS servers no resolv.conf lists (Windows).
	viaSystem := func(f *Finder) {
		dnsAddr := f.DNS
		f.DNS, f.resolvConf = "", filepath.Join(t.TempDir(), "no-resolv.conf")
		f.system = &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, network, dnsAddr)
		}}
	}
	tests := []struct {
		name     string
		email    string
		finder   func(*Finder)
		in, out  []string
		notFound bool
		steps    []string // step outcomes that must be reported
	}{
		{name: "SRV priorities, weights and .", email: "dana@srv.test",
			in: []string{"srv " + lh(r.dvSTARTTLS) + " starttls dana@srv.test password verified",
				"srv " + lh(r.dvTLS) + " tls dana@srv.test password verified"},
			out: []string{"srv " + lh(r.pfTLS) + " tls dana@srv.test password verified",
				"srv " + lh(r.closed) + " tls dana@srv.test password"},
			steps: []string{"found (_submission._tcp: not offered)"}},
		{name: "SRV through the system's resolver, where no resolv.conf lists it (Windows)", email: "dana@srv.test",
			finder: viaSystem,
			in: []string{"srv " + lh(r.dvSTARTTLS) + " starttls dana@srv.test password verified",
				"srv " + lh(r.dvTLS) + " tls dana@srv.test password verified"},
			out: []string{"srv " + lh(r.pfTLS) + " tls dana@srv.test password verified",
				"srv " + lh(r.closed) + " tls dana@srv.test password"},
			steps: []string{"found (_submission._tcp: not offered)"}},
		{name: "ISPDB entry with several servers", email: "dana@ispdb.test",
			in:  []string{"ispdb " + lh(r.dvTLS) + " tls dana password verified", "ispdb " + lh(r.dvSTARTTLS) + " starttls dana password verified"},
			out: []string{"ispdb " + lh(r.pfSTARTTLS) + " starttls dana password verified", "ispdb " + lh(r.pfTLS) + " tls dana password verified"}},
		{name: "ISPDB with IMAP only", email: "dana@imaponly.test", notFound: true,
			in:    []string{},
			out:   []string{"ispdb " + lh(r.pfTLS) + " tls dana@imaponly.test password verified"},
			steps: []string{"found an outgoing server only (only IMAP is offered for incoming mail; Poplar needs POP3)"}},
		{name: "no encryption, and STARTTLS not offered", email: "dana@weak.test", notFound: true,
			in:    []string{"ispdb " + lh(r.dvSTARTTLS) + " none dana@weak.test password"},
			out:   []string{"ispdb " + lh(r.plainSMTP) + " starttls dana@weak.test password"},
			steps: []string{errNoEncryption.Error(), "the server does not offer STARTTLS"}},
		{name: "autoconfig file", email: "dana@auto.test",
			in:  []string{"autoconfig " + lh(r.dvTLS) + " tls dana@auto.test password verified"},
			out: []string{"autoconfig " + lh(r.pfTLS) + " tls dana@auto.test password verified"}},
		{name: "preset", email: "dana@preset.test", finder: func(f *Finder) { f.Presets = hostingPreset },
			in:  []string{"preset " + lh(r.dvTLS) + " tls dana password verified"},
			out: []string{"preset " + lh(r.pfTLS) + " tls dana@preset.test password verified"}},
		{name: "MX to a preset", email: "dana@mx.test", finder: func(f *Finder) { f.Presets = hostingPreset },
			in:  []string{"mx " + lh(r.dvTLS) + " tls dana password verified"},
			out: []string{"mx " + lh(r.pfTLS) + " tls dana@mx.test password verified"}},
		{name: "MX to a preset through the system's resolver", email: "dana@mx.test",
			finder: func(f *Finder) { viaSystem(f); f.Presets = hostingPreset },
			in:     []string{"mx " + lh(r.dvTLS) + " tls dana password verified"},
			out:    []string{"mx " + lh(r.pfTLS) + " tls dana@mx.test password verified"}},
		{name: "MX at Google: the built-in preset, unreachable here", email: "dana@mxgoogle.test", notFound: true,
			in: []string{"mx pop.gmail.com:995 tls dana@mxgoogle.test oauth2/google"},
			out: []string{"mx smtp.gmail.com:465 tls dana@mxgoogle.test oauth2/google",
				"mx smtp.gmail.com:587 starttls dana@mxgoogle.test oauth2/google"}},
		{name: "MX to an ISPDB entry", email: "dana@mxispdb.test",
			in:  []string{"mx " + lh(r.dvTLS) + " tls dana@mxispdb.test password verified"},
			out: []string{"mx " + lh(r.pfTLS) + " tls dana@mxispdb.test password verified"}},
		{name: "guessing: good and bad certificates", email: "dana@guess.test",
			finder: func(f *Finder) {
				f.GuessIncoming = []Port{{r.guessPOP, "tls"}}
				f.GuessOutgoing = []Port{{r.pfTLS, "tls"}}
			},
			in:  []string{"guess pop.guess.test:" + strconv.Itoa(r.guessPOP) + " tls dana@guess.test password verified"},
			out: []string{"guess smtp.guess.test:" + strconv.Itoa(r.pfTLS) + " tls dana@guess.test password"}},
		{name: "guessing: Dovecot's certificate does not name the guess", email: "dana@badguess.test", notFound: true,
			finder: func(f *Finder) { f.GuessIncoming = []Port{{r.dvTLS, "tls"}, {r.dvSTARTTLS, "starttls"}} },
			in: []string{"guess pop.badguess.test:" + strconv.Itoa(r.dvTLS) + " tls dana@badguess.test password",
				"guess pop.badguess.test:" + strconv.Itoa(r.dvSTARTTLS) + " starttls dana@badguess.test password"},
			out: []string{}},
		{name: "nothing found", email: "dana@nothing.test", notFound: true, in: []string{}, out: []string{},
			steps: []string{"nothing (none of those names exists)"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := r.finder()
			if tc.finder != nil {
				tc.finder(&f)
			}
			var mu sync.Mutex
			var events []Step
			res, err := f.Find(context.Background(), tc.email, func(s Step) {
				mu.Lock()
				events = append(events, s)
				mu.Unlock()
			})
			if tc.notFound != errors.Is(err, ErrNotFound) || (!tc.notFound && err != nil) {
				t.Fatalf("Find(%q) error = %v, want not found %v", tc.email, err, tc.notFound)
			}
			if got := describe(res.Incoming); strings.Join(got, "\n") != strings.Join(tc.in, "\n") {
				t.Errorf("Find(%q) incoming =\n%s\nwant\n%s", tc.email, strings.Join(got, "\n"), strings.Join(tc.in, "\n"))
			}
			if got := describe(res.Outgoing); strings.Join(got, "\n") != strings.Join(tc.out, "\n") {
				t.Errorf("Find(%q) outgoing =\n%s\nwant\n%s", tc.email, strings.Join(got, "\n"), strings.Join(tc.out, "\n"))
			}
			for _, c := range append(res.Incoming, res.Outgoing...) {
				if c.Verified != (c.Problem == "") || c.Verified != (c.Err == nil) {
					t.Errorf("candidate %v: Verified %v with Problem %q, Err %v", c, c.Verified, c.Problem, c.Err)
				}
			}
			checkSteps(t, events, res.Steps)
			for _, want := range tc.steps {
				if !hasOutcome(res.Steps, want) {
					t.Errorf("no step ended with %q:\n%s", want, stepsText(res.Steps))
				}
			}
		})
	}
	t.Run("bad guess is a certificate error", func(t *testing.T) {
		f := r.finder()
		f.GuessIncoming = []Port{{r.dvTLS, "tls"}}
		res, _ := f.Find(context.Background(), "dana@badguess.test", nil)
		var ce *pop.CertificateError
		if len(res.Incoming) != 1 || !errors.As(res.Incoming[0].Err, &ce) || ce.Reason != pop.CertWrongHost {
			t.Fatalf("incoming = %+v, want one candidate failing with a wrong-host certificate", res.Incoming)
		}
	})
	t.Run("a preset asks nobody else", func(t *testing.T) {
		f := r.finder()
		f.Presets = hostingPreset
		before := r.ispdbHits["preset.test"].Load()
		if _, err := f.Find(context.Background(), "dana@preset.test", nil); err != nil {
			t.Fatal(err)
		}
		if n := r.ispdbHits["preset.test"].Load() - before; n != 0 {
			t.Errorf("the ISPDB was asked %d times for a preset's domain", n)
		}
	})
	t.Run("the autoconfig file is asked for the address", func(t *testing.T) {
		f := r.finder()
		if _, err := f.Find(context.Background(), "dana@auto.test", nil); err != nil {
			t.Fatal(err)
		}
		if q, _ := r.autoconfQuery.Load().(string); q != "dana@auto.test" {
			t.Errorf("emailaddress = %q, want dana@auto.test", q)
		}
	})
}

// checkSteps checks that each step was reported running, then ended, and that the result holds
// every step once with its outcome.
func checkSteps(t *testing.T, events, final []Step) {
	t.Helper()
	if len(events) != 2*len(final) {
		t.Errorf("%d progress calls for %d steps, want two each", len(events), len(final))
	}
	state := map[int]StepState{}
	for _, e := range events {
		prev, seen := state[e.ID]
		switch {
		case !seen && e.State != StepRunning:
			t.Errorf("step %d (%s) first reported as %v", e.ID, e.Text, e.State)
		case seen && (prev != StepRunning || e.State == StepRunning):
			t.Errorf("step %d (%s) reported %v after %v", e.ID, e.Text, e.State, prev)
		}
		state[e.ID] = e.State
	}
	for i, s := range final {
		if s.ID != i+1 || s.State == StepRunning || s.Outcome == "" {
			t.Errorf("step %d of the result = %+v, want ID %d, ended with an outcome", i, s, i+1)
		}
	}
}

func hasOutcome(steps []Step, outcome string) bool {
	for _, s := range steps {
		if s.Outcome == outcome {
			return true
		}
	}
	return false
}

func stepsText(steps []Step) string {
	var b strings.Builder
	for _, s := range steps {
		fmt.Fprintf(&b, "%d %s %s %s\n", s.ID, s.Source, s.Text, s.Outcome)
	}
	return b.String()
}

// blackHoleDNS is a DNS server that reads queries and never answers.
func blackHoleDNS(t *testing.T) string {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	go func() {
		buf := make([]byte, 512)
		for {
			if _, _, err := pc.ReadFrom(buf); err != nil {
				return
			}
		}
	}()
	return pc.LocalAddr().String()
}

// hangingServer is an HTTP server that never answers (until the client gives up).
func hangingServer(t *testing.T) *httptest.Server {
	t.Helper()
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		select {
		case <-req.Context().Done():
		case <-release:
		}
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(release) })
	return srv
}

// TestFindNoAnswer: when neither the DNS nor the ISPDB answers, Find ends with ErrNotFound once
// the step timeouts pass, every step ended, none left running.
func TestFindNoAnswer(t *testing.T) {
	ispdb := hangingServer(t)
	f := Finder{DNS: blackHoleDNS(t), ISPDBURL: ispdb.URL, StepTimeout: 300 * time.Millisecond}
	var events []Step
	res, err := f.Find(context.Background(), "dana@silent.example", func(s Step) { events = append(events, s) })
	if !errors.Is(err, ErrNotFound) {
		t.Fatalf("Find = %v, want ErrNotFound", err)
	}
	if !strings.Contains(err.Error(), "silent.example") {
		t.Errorf("error %q does not name the domain", err)
	}
	checkSteps(t, events, res.Steps)
	failed := 0
	for _, s := range res.Steps {
		if s.State == StepFailed {
			failed++
		}
	}
	if failed == 0 {
		t.Errorf("no step failed:\n%s", stepsText(res.Steps))
	}
}

// TestFindCancel: cancelling ends Find while a lookup hangs, with context.Canceled.
func TestFindCancel(t *testing.T) {
	ispdb := hangingServer(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// The step timeout is far longer than any test may run: only the cancellation can end Find.
	f := Finder{DNS: blackHoleDNS(t), ISPDBURL: ispdb.URL, StepTimeout: time.Hour}
	res, err := f.Find(ctx, "dana@hang.example", func(s Step) {
		if s.Source == SourceISPDB && s.State == StepRunning {
			cancel()
		}
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Find = %v, want context.Canceled", err)
	}
	for _, s := range res.Steps {
		if s.State == StepRunning {
			t.Errorf("step %+v still running after Find returned", s)
		}
	}
}

func TestFindBadAddress(t *testing.T) {
	for _, email := range []string{"", "dana", "@example.org", "dana@", "dana@localhost", "da na@example.org", "dana@exa mple.org"} {
		var f Finder
		if _, err := f.Find(context.Background(), email, nil); err == nil || errors.Is(err, ErrNotFound) ||
			!strings.Contains(err.Error(), "not an email address") {
			t.Errorf("Find(%q) = %v, want an error saying it is not an email address", email, err)
		}
	}
}
