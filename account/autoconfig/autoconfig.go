// Package autoconfig finds an email account's incoming (POP3) and outgoing (SMTP submission)
// servers from just its address, and checks each by connecting before offering it.
//
// Finder.Find looks in this order: Poplar's presets for the large providers, the domain's own
// configuration file (https://autoconfig.DOMAIN/mail/config-v1.1.xml, then
// https://DOMAIN/.well-known/autoconfig/mail/config-v1.1.xml), Thunderbird's ISP database
// (ISPDB), the domain's SRV records (RFC 6186: _pop3s, _pop3, _submissions, _submission; RFC
// 2782 priority and weight), the domain's MX host (mail hosted by a known provider, or a
// provider in the ISPDB), and finally guessed names (pop., pop3., mail. on 995 and 110; smtp.,
// mail. on 465 and 587). Configuration files are Thunderbird's clientConfig format, version 1.1.
// A candidate is offered as usable (Verified) only once a connection to it has shown a POP3 or
// SMTP server behind a certificate valid for its name (RFC 8314 implicit TLS, or STARTTLS: RFC
// 2595 for POP3, RFC 3207 for SMTP).
//
// The package reads nothing from the environment itself: FromEnv makes the Finder the command
// line and the desktop app use (POPLAR_DNS, POPLAR_ISPDB_URL).
package autoconfig

import (
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/mail"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/poplar-mail/poplar/account"
)

// Auth values of a Candidate: the kind of secret the server wants.
const (
	AuthPassword = "password" // a password (or an app password)
	AuthOAuth2   = "oauth2"   // an OAuth2 access token (sign-in in the browser)
)

const (
	securityTLS      = account.SecurityTLS
	securitySTARTTLS = account.SecuritySTARTTLS
	securityNone     = account.SecurityNone
)

// Source says where a candidate was found.
type Source string

// The sources, in the order Find consults them.
const (
	SourcePreset     Source = "preset"     // Poplar's presets for large providers
	SourceAutoconfig Source = "autoconfig" // the domain's own configuration file
	SourceISPDB      Source = "ispdb"      // Thunderbird's ISP database
	SourceSRV        Source = "srv"        // the domain's SRV records (RFC 6186)
	SourceMX         Source = "mx"         // the provider hosting the domain's MX
	SourceGuess      Source = "guess"      // a guessed host name
)

// StepState is where a Step stands.
type StepState int

// The states of a step. A step is reported once as StepRunning and once more with its outcome.
const (
	StepRunning StepState = iota
	StepFound             // a lookup found settings, or a server was verified
	StepNothing           // a lookup found nothing
	StepFailed            // a lookup failed, or a server could not be verified (Outcome says why)
	StepSkipped           // not needed any more: the settings were found by an earlier source
)

func (s StepState) String() string {
	switch s {
	case StepRunning:
		return "running"
	case StepFound:
		return "found"
	case StepNothing:
		return "nothing"
	case StepFailed:
		return "failed"
	case StepSkipped:
		return "skipped"
	}
	return "StepState(" + strconv.Itoa(int(s)) + ")"
}

// MarshalText gives the state's name, so JSON shows "found", not a number.
func (s StepState) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// Step is one thing Find does, for a user to watch: "Looking up example.org in the ISP
// database…" then "found".
type Step struct {
	ID      int       `json:"id"`     // numbers the steps from 1; a step's start and end share it
	Source  Source    `json:"source"` // the source the step belongs to
	Text    string    `json:"text"`   // what is being done, e.g. "Looking up example.org in the ISP database…"
	State   StepState `json:"state"`
	Outcome string    `json:"outcome"` // "" while running; then "found", "nothing", "verified", "skipped" or why it failed
}

// Candidate is one server Find found.
type Candidate struct {
	Host     string `json:"host"`
	Port     int    `json:"port"`
	Security string `json:"security"` // account.SecurityTLS, SecuritySTARTTLS or SecurityNone
	Username string `json:"username"` // placeholders substituted
	Auth     string `json:"auth"`     // AuthPassword or AuthOAuth2
	// OAuthProvider names the sign-in service of an OAuth2 server: "google", "microsoft", or ""
	// (unknown: the user configures it).
	OAuthProvider string `json:"oauth_provider,omitempty"`
	Source        Source `json:"source"`
	// Verified is true when a connection showed a POP3 (SMTP) server there, over TLS, with a
	// certificate valid for Host. Only verified candidates may be used without asking the user.
	Verified bool `json:"verified"`
	// Problem says why the candidate is not verified ("" when it is); Err is the error itself
	// (a *pop.CertificateError for an untrusted certificate), nil when verified.
	Problem string `json:"problem,omitempty"`
	Err     error  `json:"-"`
}

// Addr returns "host:port".
func (c Candidate) Addr() string { return net.JoinHostPort(c.Host, strconv.Itoa(c.Port)) }

// String says it for a user: "pop.example.org port 995 (TLS)".
func (c Candidate) String() string {
	return c.Host + " port " + strconv.Itoa(c.Port) + " (" + securityName(c.Security) + ")"
}

// Result is what Find found: the candidates in the order of the sources (and, within a source,
// in the order it gave them), verified or not, and the steps it took.
type Result struct {
	Email    string      `json:"email"`
	Incoming []Candidate `json:"incoming"` // POP3
	Outgoing []Candidate `json:"outgoing"` // SMTP submission
	Steps    []Step      `json:"steps"`    // each step once, with its outcome, in the order they started
}

// BestIncoming returns the first verified incoming candidate.
func (r *Result) BestIncoming() (Candidate, bool) { return firstVerified(r.Incoming) }

// BestOutgoing returns the first verified outgoing candidate.
func (r *Result) BestOutgoing() (Candidate, bool) { return firstVerified(r.Outgoing) }

func firstVerified(list []Candidate) (Candidate, bool) {
	for _, c := range list {
		if c.Verified {
			return c, true
		}
	}
	return Candidate{}, false
}

// ErrNotFound is Find's error (wrapped, with the domain) when no POP3 server could be verified.
var ErrNotFound = errors.New("no working settings found")

// DefaultISPDBURL is the base URL of Thunderbird's ISP database; the domain is appended.
const DefaultISPDBURL = "https://autoconfig.thunderbird.net/v1.1/"

// DefaultStepTimeout bounds each lookup and each connection when Finder.StepTimeout is 0.
const DefaultStepTimeout = 10 * time.Second

// Port is a port and the security spoken on it, for guessing.
type Port struct {
	Port     int
	Security string // account.SecurityTLS or account.SecuritySTARTTLS
}

// DefaultGuessIncoming and DefaultGuessOutgoing return the ports Find tries on guessed host
// names when the Finder gives none: 995 (TLS) then 110 (STARTTLS) for POP3, 465 (TLS) then 587
// (STARTTLS) for SMTP submission.
func DefaultGuessIncoming() []Port { return []Port{{995, securityTLS}, {110, securitySTARTTLS}} }

// DefaultGuessOutgoing: see DefaultGuessIncoming.
func DefaultGuessOutgoing() []Port { return []Port{{465, securityTLS}, {587, securitySTARTTLS}} }

// Finder finds settings. Its zero value is ready for production use: the system's resolver and
// trusted roots, Thunderbird's ISPDB, DefaultStepTimeout. A Finder is not changed by Find and may
// be used by several goroutines.
type Finder struct {
	// DNS is the resolver ("host:port") for every lookup: SRV, MX and the servers' addresses.
	// "" means the system's (the servers in /etc/resolv.conf for SRV and MX).
	DNS string
	// ISPDBURL is the ISP database's base URL; the domain is appended. "" means DefaultISPDBURL.
	ISPDBURL string
	// HTTPClient fetches configuration files. nil means a client that resolves through DNS,
	// trusts Roots and gives up after StepTimeout.
	HTTPClient *http.Client
	// Roots are the certificate authorities trusted when verifying servers (and by the default
	// HTTP client); nil means the system's.
	Roots *x509.CertPool
	// StepTimeout bounds each lookup and each connection; 0 means DefaultStepTimeout.
	StepTimeout time.Duration
	// GuessIncoming and GuessOutgoing are the ports tried on guessed names; nil means
	// DefaultGuessIncoming() and DefaultGuessOutgoing().
	GuessIncoming []Port
	GuessOutgoing []Port
	// Presets are the providers known without asking; nil means BuiltinPresets().
	Presets []Preset

	// randN returns a number in [0, n) for the SRV weight draw; nil means math/rand/v2.
	randN func(n int) int
	// resolvConf lists the system's DNS servers when DNS is ""; "" means /etc/resolv.conf.
	resolvConf string
	// system stands in for the system's resolver (net.DefaultResolver) when not nil.
	system *net.Resolver
}

// FromEnv returns the Finder Poplar's programs use: POPLAR_DNS ("host:port") sets DNS and
// POPLAR_ISPDB_URL sets ISPDBURL. getenv is os.Getenv or a test's stand-in.
func FromEnv(getenv func(string) string) Finder {
	return Finder{DNS: strings.TrimSpace(getenv("POPLAR_DNS")), ISPDBURL: strings.TrimSpace(getenv("POPLAR_ISPDB_URL"))}
}

func (f *Finder) timeout() time.Duration {
	if f.StepTimeout <= 0 {
		return DefaultStepTimeout
	}
	return f.StepTimeout
}

// splitAddress returns an address's local part and domain (lower case), or an error naming what
// is wrong with it.
func splitAddress(email string) (local, domain string, err error) {
	at := strings.LastIndexByte(email, '@')
	if at <= 0 || at == len(email)-1 {
		return "", "", fmt.Errorf("autoconfig: %q is not an email address (name@domain)", email)
	}
	local, domain = email[:at], strings.ToLower(strings.TrimSuffix(email[at+1:], "."))
	if _, perr := mail.ParseAddress(email); perr != nil || !validHost(domain) || !strings.Contains(domain, ".") ||
		strings.ContainsAny(local, " \t\r\n\x00") {
		return "", "", fmt.Errorf("autoconfig: %q is not an email address (name@domain)", email)
	}
	return local, domain, nil
}

// securityName names a security setting for a user.
func securityName(s string) string {
	switch s {
	case securityTLS:
		return "TLS"
	case securitySTARTTLS:
		return "STARTTLS"
	case securityNone:
		return "no encryption"
	}
	return strconv.Quote(s)
}

// steps delivers a Find's steps to its progress function from one goroutine, in order, and
// keeps each step's last state for the Result.
type steps struct {
	mu     sync.Mutex
	nextID int
	all    []Step
	events chan Step
	done   chan struct{}
}

func newSteps(progress func(Step)) *steps {
	s := &steps{events: make(chan Step, 64), done: make(chan struct{})}
	go func() {
		defer close(s.done)
		for st := range s.events {
			if progress != nil {
				progress(st)
			}
		}
	}()
	return s
}

// start reports a step as running and returns the function that ends it.
func (s *steps) start(src Source, text string) func(state StepState, outcome string) {
	s.mu.Lock()
	s.nextID++
	st := Step{ID: s.nextID, Source: src, Text: text, State: StepRunning}
	i := len(s.all)
	s.all = append(s.all, st)
	s.mu.Unlock()
	s.events <- st
	var once sync.Once
	return func(state StepState, outcome string) {
		once.Do(func() {
			s.mu.Lock()
			st.State, st.Outcome = state, outcome
			s.all[i] = st
			s.mu.Unlock()
			s.events <- st
		})
	}
}

// close waits for the progress function to have seen every step and returns the steps.
func (s *steps) close() []Step {
	close(s.events)
	<-s.done
	return s.all
}
