package autoconfig

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/net/publicsuffix"
)

// found is what one source gave: candidates, or why it gave none.
type found struct {
	incoming, outgoing []Candidate
}

// lookup is one source's lookup, started early so that the sources' network round trips overlap.
type lookup struct {
	src    Source
	text   string
	run    func(ctx context.Context) (found, string, error) // the note is the outcome when it found nothing
	cancel context.CancelFunc
	done   chan struct{}
	res    found
}

// run is one Find in progress.
type run struct {
	f             *Finder
	ctx           context.Context
	email, domain string
	presets       []Preset
	steps         *steps
	wg            sync.WaitGroup
	seen          map[string]bool // candidates already verified: incoming/outgoing, host, port, security
	res           *Result
}

// Find looks for the POP3 and SMTP submission servers of the address email, in the order the
// package comment gives, and verifies each candidate by connecting to it. A source is consulted
// only while a direction (incoming, outgoing) still lacks a verified server; the lookups of the
// domain's configuration file, the ISPDB, SRV and MX run at the same time (unless a preset
// matches), each bounded by the step timeout, and their candidates are verified in the sources'
// order.
//
// progress, when not nil, is called for each step as it starts and as it ends (see Step), one
// call at a time from a goroutine of Find's, in order, all before Find returns; it must not
// block for long (a GUI hands the step to its UI goroutine).
//
// Find returns the Result (never nil) with an error wrapping ErrNotFound when no POP3 server
// could be verified, ctx's error when ctx ends first, or an error naming what is wrong with
// email. Cancelling ctx ends every lookup and connection at once.
func (f *Finder) Find(ctx context.Context, email string, progress func(Step)) (*Result, error) {
	email = strings.TrimSpace(email)
	res := &Result{Email: email, Incoming: []Candidate{}, Outgoing: []Candidate{}} // [] in JSON when nothing is found
	_, domain, err := splitAddress(email)
	if err != nil {
		return res, err
	}
	r := &run{f: f, ctx: ctx, email: email, domain: domain, presets: f.Presets, seen: map[string]bool{}, res: res}
	if r.presets == nil {
		r.presets = BuiltinPresets()
	}
	r.steps = newSteps(progress)
	r.find()
	r.wg.Wait()
	res.Steps = r.steps.close()
	if ctx.Err() != nil {
		return res, ctx.Err()
	}
	if _, ok := res.BestIncoming(); !ok {
		return res, fmt.Errorf("autoconfig: no POP3 server found for %s that Poplar could verify: %w", domain, ErrNotFound)
	}
	return res, nil
}

// needs reports which directions still lack a verified server.
func (r *run) needs() (in, out bool) {
	_, haveIn := r.res.BestIncoming()
	_, haveOut := r.res.BestOutgoing()
	return !haveIn, !haveOut
}

func (r *run) find() {
	// 1. Presets: no network needed to find them.
	end := r.steps.start(SourcePreset, "Looking for "+r.domain+" among the providers Poplar knows…")
	p, ok := presetForDomain(r.presets, r.domain)
	if ok {
		end(StepFound, "found: "+p.Name)
		r.verifyAll(r.presetCandidates(p, SourcePreset))
	} else {
		end(StepNothing, "nothing")
	}
	// 2-5: the lookups, in parallel, consulted in order.
	lookups := []*lookup{
		{src: SourceAutoconfig, text: "Asking " + r.domain + " for its configuration file…", run: r.autoconfigFile},
		{src: SourceISPDB, text: "Looking up " + r.domain + " in the ISP database…", run: func(ctx context.Context) (found, string, error) {
			return r.ispdb(ctx, r.domain, SourceISPDB)
		}},
		{src: SourceSRV, text: "Looking up the SRV records of " + r.domain + "…", run: r.srv},
		{src: SourceMX, text: "Looking up the mail exchanger (MX) of " + r.domain + "…", run: r.mx},
	}
	started := false
	for _, l := range lookups {
		if in, out := r.needs(); !in && !out {
			break
		}
		if !started {
			for _, l := range lookups {
				r.start(l)
			}
			started = true
		}
		<-l.done
		r.verifyAll(l.res)
	}
	for _, l := range lookups {
		if l.cancel != nil {
			l.cancel()
		}
	}
	// 6. Guessing, for what is still missing.
	if in, out := r.needs(); (in || out) && r.ctx.Err() == nil {
		r.guess(in, out)
	}
}

// start runs a lookup on its own goroutine.
func (r *run) start(l *lookup) {
	ctx, cancel := context.WithCancel(r.ctx)
	l.cancel, l.done = cancel, make(chan struct{})
	end := r.steps.start(l.src, l.text)
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		defer close(l.done)
		sctx, scancel := context.WithTimeout(ctx, r.f.timeout())
		defer scancel()
		res, note, err := l.run(sctx)
		switch {
		case ctx.Err() != nil && r.ctx.Err() == nil:
			end(StepSkipped, "skipped: settings already found")
		case err != nil:
			end(StepFailed, err.Error())
		case len(res.incoming)+len(res.outgoing) == 0:
			end(StepNothing, withNote("nothing", note))
		default:
			end(StepFound, withNote(foundNote(res), note))
			l.res = res
		}
	}()
}

// withNote adds a lookup's note to its outcome: "nothing (only IMAP is offered…)".
func withNote(outcome, note string) string {
	if note == "" {
		return outcome
	}
	return outcome + " (" + note + ")"
}

// foundNote says what a lookup found.
func foundNote(res found) string {
	switch {
	case len(res.incoming) == 0:
		return "found an outgoing server only"
	case len(res.outgoing) == 0:
		return "found an incoming server only"
	}
	return "found"
}

// verifyAll verifies the candidates of one source that are still needed, at the same time, and
// adds them to the result in their order.
func (r *run) verifyAll(res found) {
	needIn, needOut := r.needs()
	var list []Candidate
	var incoming []bool
	add := func(cs []Candidate, in bool) {
		for _, c := range cs {
			key := fmt.Sprintf("%v %s %d %s", in, strings.ToLower(c.Host), c.Port, c.Security)
			if r.seen[key] {
				continue
			}
			r.seen[key] = true
			list, incoming = append(list, c), append(incoming, in)
		}
	}
	if needIn {
		add(res.incoming, true)
	}
	if needOut {
		add(res.outgoing, false)
	}
	out := make([]Candidate, len(list))
	var wg sync.WaitGroup
	for i, c := range list {
		kind := "outgoing (SMTP)"
		if incoming[i] {
			kind = "incoming (POP3)"
		}
		end := r.steps.start(c.Source, "Checking the "+kind+" server "+c.String()+"…")
		wg.Add(1)
		go func() {
			defer wg.Done()
			v := r.f.verify(r.ctx, c, incoming[i])
			out[i] = v
			if v.Verified {
				end(StepFound, "verified")
			} else {
				end(StepFailed, v.Problem)
			}
		}()
	}
	wg.Wait()
	for i, c := range out {
		if incoming[i] {
			r.res.Incoming = append(r.res.Incoming, c)
		} else {
			r.res.Outgoing = append(r.res.Outgoing, c)
		}
	}
}

// presetCandidates turns a preset's servers into candidates from src.
func (r *run) presetCandidates(p Preset, src Source) found {
	local, domain, _ := splitAddress(r.email)
	subst := strings.NewReplacer("%EMAILADDRESS%", r.email, "%EMAILLOCALPART%", local, "%EMAILDOMAIN%", domain)
	conv := func(ss []Server) []Candidate {
		var out []Candidate
		for _, s := range ss {
			out = append(out, Candidate{Host: s.Host, Port: s.Port, Security: s.Security, Username: subst.Replace(s.Username),
				Auth: s.Auth, OAuthProvider: s.OAuthProvider, Source: src})
		}
		return out
	}
	return found{incoming: conv(p.Incoming), outgoing: conv(p.Outgoing)}
}

// fromConfig gives a configuration file's candidates their source, and the sign-in a preset
// knows for the same server (a file naming pop.gmail.com wants Google's OAuth2).
func (r *run) fromConfig(c *Config, src Source) found {
	conv := func(cs []Candidate) []Candidate {
		out := make([]Candidate, 0, len(cs))
		for _, x := range cs {
			x.Source = src
			if s, ok := presetForHost(r.presets, x.Host, x.Port); ok && s.Auth == AuthOAuth2 {
				x.Auth, x.OAuthProvider = s.Auth, s.OAuthProvider
			}
			out = append(out, x)
		}
		return out
	}
	return found{incoming: conv(c.Incoming), outgoing: conv(c.Outgoing)}
}

// httpClient returns the client for configuration files.
func (f *Finder) httpClient() *http.Client {
	if f.HTTPClient != nil {
		return f.HTTPClient
	}
	tr := &http.Transport{
		Proxy: http.ProxyFromEnvironment,
		DialContext: func(ctx context.Context, _, addr string) (net.Conn, error) {
			host, port, err := net.SplitHostPort(addr)
			if err != nil {
				return nil, err
			}
			p, err := strconv.Atoi(port)
			if err != nil {
				return nil, err
			}
			return f.dial(ctx, host, p)
		},
		TLSClientConfig:     &tls.Config{RootCAs: f.Roots, MinVersion: tls.VersionTLS12},
		TLSHandshakeTimeout: f.timeout(),
		DisableKeepAlives:   true, // one request per client: no idle connection left behind
	}
	return &http.Client{Transport: tr, Timeout: f.timeout()}
}

// fetchConfig fetches and parses a configuration file. A missing file (404, 410) is nil without
// error.
func (r *run) fetchConfig(ctx context.Context, u string) (*Config, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, fmt.Errorf("autoconfig: %w", err)
	}
	resp, err := r.f.httpClient().Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusNotFound || resp.StatusCode == http.StatusGone:
		return nil, nil
	case resp.StatusCode != http.StatusOK:
		return nil, fmt.Errorf("%s answered %s", redactQuery(u), resp.Status)
	}
	c, err := ParseConfig(resp.Body, r.email)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", redactQuery(u), err)
	}
	return c, nil
}

// redactQuery drops a URL's query (the email address) for messages.
func redactQuery(u string) string {
	base, _, _ := strings.Cut(u, "?")
	return base
}

// configNote says what a file with no POP3 server offers instead.
func configNote(c *Config) string {
	if c.IMAPOnly {
		return "only IMAP is offered for incoming mail; Poplar needs POP3"
	}
	return ""
}

// autoconfigFile fetches the domain's own configuration file from both places at once; the
// first place wins when both have one.
func (r *run) autoconfigFile(ctx context.Context) (found, string, error) {
	urls := []string{
		"https://autoconfig." + r.domain + "/mail/config-v1.1.xml?emailaddress=" + url.QueryEscape(r.email),
		"https://" + r.domain + "/.well-known/autoconfig/mail/config-v1.1.xml",
	}
	cfgs := make([]*Config, len(urls))
	var wg sync.WaitGroup
	for i, u := range urls {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cfgs[i], _ = r.fetchConfig(ctx, u)
		}()
	}
	wg.Wait()
	var note string
	for _, c := range cfgs {
		if c == nil {
			continue
		}
		if len(c.Incoming)+len(c.Outgoing) > 0 {
			return r.fromConfig(c, SourceAutoconfig), "", nil
		}
		note = configNote(c)
	}
	// A missing file, or a host that does not answer, is "nothing": most domains have neither.
	return found{}, note, nil
}

// ispdbURL returns the ISPDB address of a domain.
func (f *Finder) ispdbURL(domain string) string {
	base := f.ISPDBURL
	if base == "" {
		base = DefaultISPDBURL
	}
	return strings.TrimSuffix(base, "/") + "/" + url.PathEscape(domain)
}

// ispdb looks domain up in the ISP database.
func (r *run) ispdb(ctx context.Context, domain string, src Source) (found, string, error) {
	c, err := r.fetchConfig(ctx, r.f.ispdbURL(domain))
	if err != nil {
		return found{}, "", fmt.Errorf("the ISP database: %w", err)
	}
	if c == nil {
		return found{}, "", nil
	}
	return r.fromConfig(c, src), configNote(c), nil
}

// srv looks up the RFC 6186 SRV records: implicit TLS first at equal priority.
func (r *run) srv(ctx context.Context) (found, string, error) {
	type service struct {
		name     string
		security string
		incoming bool
	}
	services := []service{
		{"_pop3s._tcp.", securityTLS, true}, {"_pop3._tcp.", securitySTARTTLS, true},
		{"_submissions._tcp.", securityTLS, false}, {"_submission._tcp.", securitySTARTTLS, false},
	}
	type answer struct {
		cands   []Candidate
		prio    []uint16
		offered bool
		err     error
	}
	answers := make([]answer, len(services))
	var wg sync.WaitGroup
	for i, s := range services {
		wg.Add(1)
		go func() {
			defer wg.Done()
			recs, offered, err := r.f.lookupSRV(ctx, s.name+r.domain)
			a := answer{offered: offered, err: err}
			for _, rec := range recs {
				host := strings.ToLower(strings.TrimSuffix(rec.Target, "."))
				if !validHost(host) || rec.Port == 0 {
					continue
				}
				a.cands = append(a.cands, Candidate{Host: host, Port: int(rec.Port), Security: s.security,
					Username: r.email, Auth: AuthPassword, Source: SourceSRV})
				a.prio = append(a.prio, rec.Priority)
			}
			answers[i] = a
		}()
	}
	wg.Wait()
	var res found
	var notOffered []string
	for dir := range 2 {
		tls, start := answers[2*dir], answers[2*dir+1]
		if tls.err != nil && start.err != nil {
			return found{}, "", tls.err
		}
		// Merge by priority; at equal priority the implicit-TLS service comes first (RFC 8314).
		var merged []Candidate
		i, j := 0, 0
		for i < len(tls.cands) || j < len(start.cands) {
			if j >= len(start.cands) || (i < len(tls.cands) && tls.prio[i] <= start.prio[j]) {
				merged, i = append(merged, tls.cands[i]), i+1
			} else {
				merged, j = append(merged, start.cands[j]), j+1
			}
		}
		for k, a := range []answer{tls, start} {
			if !a.offered && a.err == nil {
				notOffered = append(notOffered, strings.TrimSuffix(services[2*dir+k].name, "."))
			}
		}
		if dir == 0 {
			res.incoming = merged
		} else {
			res.outgoing = merged
		}
	}
	note := ""
	if len(notOffered) > 0 {
		note = strings.Join(notOffered, ", ") + ": not offered"
	}
	return res, note, nil
}

// mx looks up the domain's MX host and the provider behind it: a preset, else the ISPDB entry of
// the MX host's domain.
func (r *run) mx(ctx context.Context) (found, string, error) {
	hosts, err := r.f.lookupMX(ctx, r.domain)
	if err != nil {
		return found{}, "", err
	}
	if len(hosts) == 0 {
		return found{}, "no MX record", nil
	}
	mx := hosts[0]
	if p, ok := presetForMX(r.presets, mx); ok {
		return r.presetCandidates(p, SourceMX), "", nil
	}
	base, err := publicsuffix.EffectiveTLDPlusOne(mx)
	if err != nil || base == r.domain {
		return found{}, "the MX " + mx + " is the domain's own", nil
	}
	res, note, err := r.ispdb(ctx, base, SourceMX)
	if err != nil {
		return found{}, "", fmt.Errorf("%s (the MX %s): %w", base, mx, err)
	}
	if note == "" && len(res.incoming)+len(res.outgoing) == 0 {
		note = "the MX " + mx + ": " + base + " is not in the ISP database"
	}
	return res, note, nil
}

// guess tries the usual host names on the usual ports: the names that exist are verified, those
// that do not are left out.
func (r *run) guess(needIn, needOut bool) {
	end := r.steps.start(SourceGuess, "Trying the usual server names under "+r.domain+"…")
	inPorts, outPorts := r.f.GuessIncoming, r.f.GuessOutgoing
	if inPorts == nil {
		inPorts = DefaultGuessIncoming()
	}
	if outPorts == nil {
		outPorts = DefaultGuessOutgoing()
	}
	var inHosts, outHosts []string
	if needIn {
		inHosts = []string{"pop." + r.domain, "pop3." + r.domain, "mail." + r.domain}
	}
	if needOut {
		outHosts = []string{"smtp." + r.domain, "mail." + r.domain}
	}
	exists := map[string]bool{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, h := range append(append([]string(nil), inHosts...), outHosts...) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(r.ctx, r.f.timeout())
			defer cancel()
			if _, err := r.f.lookupHost(ctx, h); err == nil {
				mu.Lock()
				exists[h] = true
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	var res found
	var names []string
	list := func(hosts []string, ports []Port) (out []Candidate) {
		for _, h := range hosts {
			if !exists[h] {
				continue
			}
			if len(names) == 0 || names[len(names)-1] != h {
				names = append(names, h)
			}
			for _, p := range ports {
				out = append(out, Candidate{Host: h, Port: p.Port, Security: p.Security, Username: r.email,
					Auth: AuthPassword, Source: SourceGuess})
			}
		}
		return out
	}
	res.incoming, res.outgoing = list(inHosts, inPorts), list(outHosts, outPorts)
	if r.ctx.Err() != nil {
		end(StepFailed, r.ctx.Err().Error())
		return
	}
	if len(names) == 0 {
		end(StepNothing, "nothing (none of those names exists)")
		return
	}
	end(StepFound, "found "+strings.Join(names, ", "))
	r.verifyAll(res)
}
