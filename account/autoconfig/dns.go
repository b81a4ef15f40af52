package autoconfig

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"net"
	"slices"
	"strings"
	"time"

	"github.com/miekg/dns"
)

// resolvConf is where the system's resolvers are listed (on Unix).
const resolvConf = "/etc/resolv.conf"

// errNoSystemServers is servers' error when the system lists its DNS servers in no file Poplar
// reads (Windows): SRV and MX lookups then go through the system's own resolver.
var errNoSystemServers = errors.New("autoconfig: no " + resolvConf)

// servers returns the DNS servers to ask for SRV and MX records.
func (f *Finder) servers() ([]string, error) {
	if f.DNS != "" {
		if _, _, err := net.SplitHostPort(f.DNS); err != nil {
			return nil, fmt.Errorf("autoconfig: DNS server %q is not host:port: %w", f.DNS, err)
		}
		return []string{f.DNS}, nil
	}
	path := f.resolvConf
	if path == "" {
		path = resolvConf
	}
	cc, err := dns.ClientConfigFromFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, errNoSystemServers
	}
	if err != nil {
		return nil, fmt.Errorf("autoconfig: reading the system's DNS servers: %w", err)
	}
	if len(cc.Servers) == 0 {
		return nil, fmt.Errorf("autoconfig: %s lists no DNS server", resolvConf)
	}
	out := make([]string, 0, len(cc.Servers))
	for _, s := range cc.Servers {
		out = append(out, net.JoinHostPort(s, cc.Port))
	}
	return out, nil
}

// query asks the DNS for name's records of type qtype (over UDP, then TCP when the answer is
// truncated), trying each server until one answers. A name that does not exist, or has no such
// records, is an empty answer without error.
func (f *Finder) query(ctx context.Context, name string, qtype uint16) ([]dns.RR, error) {
	servers, err := f.servers()
	if err != nil {
		return nil, err
	}
	m := new(dns.Msg)
	m.SetQuestion(dns.Fqdn(name), qtype)
	m.RecursionDesired = true
	var last error
	for _, srv := range servers {
		r, err := exchange(ctx, m, srv, "udp", f.timeout())
		if err == nil && r.Truncated {
			r, err = exchange(ctx, m, srv, "tcp", f.timeout())
		}
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			last = fmt.Errorf("autoconfig: DNS query %s %s to %s: %w", dns.TypeToString[qtype], name, srv, err)
			continue
		}
		switch r.Rcode {
		case dns.RcodeSuccess:
			var out []dns.RR
			for _, rr := range r.Answer {
				if rr.Header().Rrtype == qtype {
					out = append(out, rr)
				}
			}
			return out, nil
		case dns.RcodeNameError:
			return nil, nil
		}
		last = fmt.Errorf("autoconfig: DNS query %s %s: %s answered %s", dns.TypeToString[qtype], name, srv, dns.RcodeToString[r.Rcode])
	}
	return nil, last
}

// exchange sends m to server and reads the answer, within timeout; cancelling ctx closes the
// connection at once (the library itself only obeys ctx's deadline).
func exchange(ctx context.Context, m *dns.Msg, server, network string, timeout time.Duration) (*dns.Msg, error) {
	c := &dns.Client{Net: network, Timeout: timeout}
	co, err := c.DialContext(ctx, server)
	if err != nil {
		return nil, err
	}
	defer co.Close()
	stop := context.AfterFunc(ctx, func() { co.Close() })
	defer stop()
	r, _, err := c.ExchangeWithConnContext(ctx, m, co)
	if err != nil && ctx.Err() != nil {
		return nil, ctx.Err()
	}
	return r, err
}

// lookupSRV returns name's SRV records in the order RFC 2782 says to try them: by priority, and
// within a priority by a weighted random draw. It returns offered false when the service is
// decidedly not offered (a single record with target ".").
func (f *Finder) lookupSRV(ctx context.Context, name string) (recs []*dns.SRV, offered bool, err error) {
	rrs, err := f.query(ctx, name, dns.TypeSRV)
	if errors.Is(err, errNoSystemServers) {
		rrs, err = f.systemSRV(ctx, name)
	}
	if err != nil {
		return nil, false, err
	}
	for _, rr := range rrs {
		s := rr.(*dns.SRV)
		if s.Target == "." {
			if len(rrs) == 1 {
				return nil, false, nil
			}
			continue
		}
		recs = append(recs, s)
	}
	return f.orderSRV(recs), true, nil
}

// orderSRV sorts records by priority and, within each priority, by RFC 2782's weighted draw:
// a record's chance to come next is its weight over the sum of the weights left (weight-0
// records get a small chance, as the RFC's running-sum method gives them).
func (f *Finder) orderSRV(recs []*dns.SRV) []*dns.SRV {
	randN := f.randN
	if randN == nil {
		randN = rand.IntN
	}
	slices.SortStableFunc(recs, func(a, b *dns.SRV) int {
		if c := cmp.Compare(a.Priority, b.Priority); c != 0 {
			return c
		}
		return cmp.Compare(a.Weight, b.Weight) // weight 0 first, as the RFC's draw wants them
	})
	out := make([]*dns.SRV, 0, len(recs))
	for len(recs) > 0 {
		n := 1
		for n < len(recs) && recs[n].Priority == recs[0].Priority {
			n++
		}
		group := recs[:n]
		for len(group) > 0 {
			total := 0
			for _, r := range group {
				total += int(r.Weight)
			}
			pick, x := 0, randN(total+1)
			for i, sum := 0, 0; i < len(group); i++ {
				sum += int(group[i].Weight)
				if sum >= x {
					pick = i
					break
				}
			}
			out = append(out, group[pick])
			group = slices.Delete(group, pick, pick+1)
		}
		recs = recs[n:]
	}
	return out
}

// lookupMX returns the domain's MX hosts, most preferred first (without the trailing dot).
func (f *Finder) lookupMX(ctx context.Context, domain string) ([]string, error) {
	rrs, err := f.query(ctx, domain, dns.TypeMX)
	if errors.Is(err, errNoSystemServers) {
		rrs, err = f.systemMX(ctx, domain)
	}
	if err != nil {
		return nil, err
	}
	mxs := make([]*dns.MX, 0, len(rrs))
	for _, rr := range rrs {
		if mx := rr.(*dns.MX); mx.Mx != "." {
			mxs = append(mxs, mx)
		}
	}
	slices.SortStableFunc(mxs, func(a, b *dns.MX) int { return cmp.Compare(a.Preference, b.Preference) })
	out := make([]string, 0, len(mxs))
	for _, mx := range mxs {
		out = append(out, strings.ToLower(strings.TrimSuffix(mx.Mx, ".")))
	}
	return out, nil
}

// systemSRV asks the system's resolver for name's SRV records, as records of package dns.
func (f *Finder) systemSRV(ctx context.Context, name string) ([]dns.RR, error) {
	_, srvs, err := f.ipResolver().LookupSRV(ctx, "", "", name)
	if notFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("autoconfig: DNS query SRV %s: %w", name, err)
	}
	out := make([]dns.RR, 0, len(srvs))
	for _, s := range srvs {
		out = append(out, &dns.SRV{Target: s.Target, Port: s.Port, Priority: s.Priority, Weight: s.Weight})
	}
	return out, nil
}

// systemMX asks the system's resolver for domain's MX records, as records of package dns.
func (f *Finder) systemMX(ctx context.Context, domain string) ([]dns.RR, error) {
	mxs, err := f.ipResolver().LookupMX(ctx, domain)
	if notFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("autoconfig: DNS query MX %s: %w", domain, err)
	}
	out := make([]dns.RR, 0, len(mxs))
	for _, m := range mxs {
		out = append(out, &dns.MX{Mx: m.Host, Preference: m.Pref})
	}
	return out, nil
}

// notFound reports whether err says a name or its records do not exist.
func notFound(err error) bool {
	var de *net.DNSError
	return errors.As(err, &de) && de.IsNotFound
}

// ipResolver returns the resolver for host addresses: the system's, or one that sends every
// query to f.DNS.
func (f *Finder) ipResolver() *net.Resolver {
	if f.DNS == "" {
		if f.system != nil {
			return f.system
		}
		return net.DefaultResolver
	}
	server := f.DNS
	return &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, network, server)
	}}
}

// lookupHost returns host's addresses ("" error when it has none).
func (f *Finder) lookupHost(ctx context.Context, host string) ([]string, error) {
	if ip := net.ParseIP(host); ip != nil {
		return []string{host}, nil
	}
	addrs, err := f.ipResolver().LookupHost(ctx, host)
	if notFound(err) {
		return nil, fmt.Errorf("%s: no such host", host)
	}
	if err != nil {
		return nil, err
	}
	return addrs, nil
}

// dial connects to host:port through f's resolver, trying each address in turn.
func (f *Finder) dial(ctx context.Context, host string, port int) (net.Conn, error) {
	addrs, err := f.lookupHost(ctx, host)
	if err != nil {
		return nil, err
	}
	var d net.Dialer
	var last error
	for _, ip := range addrs {
		c, err := d.DialContext(ctx, "tcp", net.JoinHostPort(ip, fmt.Sprint(port)))
		if err == nil {
			return c, nil
		}
		last = err
		if ctx.Err() != nil {
			break
		}
	}
	return nil, fmt.Errorf("connecting to %s port %d: %w", host, port, last)
}
