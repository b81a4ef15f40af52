package autoconfig

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// maxConfigSize bounds a configuration file read from the network.
const maxConfigSize = 1 << 20

// clientConfig is Thunderbird's configuration file, format version 1.1 (the parts Poplar uses).
type clientConfig struct {
	XMLName   xml.Name        `xml:"clientConfig"`
	Providers []emailProvider `xml:"emailProvider"`
}

type emailProvider struct {
	ID       string      `xml:"id,attr"`
	Incoming []xmlServer `xml:"incomingServer"`
	Outgoing []xmlServer `xml:"outgoingServer"`
}

type xmlServer struct {
	Type           string   `xml:"type,attr"`
	Hostname       string   `xml:"hostname"`
	Port           string   `xml:"port"`
	SocketType     string   `xml:"socketType"`
	Username       string   `xml:"username"`
	Authentication []string `xml:"authentication"`
}

// Config is what a configuration file says for one address: its POP3 servers (incomingServer
// type="pop3") and SMTP servers (outgoingServer type="smtp") in the file's order, placeholders
// substituted. Source, Verified and Problem of the candidates are not set.
type Config struct {
	Provider string // the emailProvider's id
	Incoming []Candidate
	Outgoing []Candidate
	// IMAPOnly is true when the file lists incoming servers but none of them POP3.
	IMAPOnly bool
}

// ParseConfig reads a Thunderbird configuration file (clientConfig version 1.1) for the address
// email. Servers of other types (IMAP, Exchange…), and servers whose host, port or socket type
// is missing or malformed, are left out. Tags left open are closed (the format's files are
// hand-written and some have such mistakes). It returns an error when r is not such a file or
// holds more than 1 MiB.
func ParseConfig(r io.Reader, email string) (*Config, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxConfigSize+1))
	if err != nil {
		return nil, fmt.Errorf("autoconfig: reading configuration: %w", err)
	}
	if len(data) > maxConfigSize {
		return nil, fmt.Errorf("autoconfig: configuration larger than %d bytes", maxConfigSize)
	}
	local, domain, err := splitAddress(email)
	if err != nil {
		return nil, err
	}
	var cc clientConfig
	d := xml.NewDecoder(bytes.NewReader(data))
	d.Strict = false
	d.CharsetReader = func(charset string, input io.Reader) (io.Reader, error) {
		switch strings.ToLower(charset) {
		case "utf-8", "utf8", "us-ascii", "ascii":
			return input, nil
		}
		return nil, fmt.Errorf("encoding %q is not UTF-8", charset)
	}
	if err := d.Decode(&cc); err != nil {
		return nil, fmt.Errorf("autoconfig: not a configuration file (clientConfig): %w", err)
	}
	if len(cc.Providers) == 0 {
		return nil, errors.New("autoconfig: configuration file has no emailProvider")
	}
	subst := strings.NewReplacer("%EMAILADDRESS%", email, "%EMAILLOCALPART%", local, "%EMAILDOMAIN%", domain)
	p := cc.Providers[0]
	c := &Config{Provider: strings.TrimSpace(p.ID)}
	for _, s := range p.Incoming {
		if !strings.EqualFold(strings.TrimSpace(s.Type), "pop3") {
			continue
		}
		if cand, ok := s.candidate(subst); ok {
			c.Incoming = append(c.Incoming, cand)
		}
	}
	c.IMAPOnly = len(p.Incoming) > 0 && len(c.Incoming) == 0
	for _, s := range p.Outgoing {
		if !strings.EqualFold(strings.TrimSpace(s.Type), "smtp") {
			continue
		}
		if cand, ok := s.candidate(subst); ok {
			c.Outgoing = append(c.Outgoing, cand)
		}
	}
	return c, nil
}

// candidate turns one server entry into a candidate; false when it is unusable.
func (s xmlServer) candidate(subst *strings.Replacer) (Candidate, bool) {
	host := strings.TrimSuffix(strings.TrimSpace(subst.Replace(s.Hostname)), ".")
	port, err := strconv.Atoi(strings.TrimSpace(s.Port))
	if !validHost(host) || err != nil || port < 1 || port > 65535 {
		return Candidate{}, false
	}
	var sec string
	switch strings.ToUpper(strings.TrimSpace(s.SocketType)) {
	case "SSL", "TLS":
		sec = securityTLS
	case "STARTTLS":
		sec = securitySTARTTLS
	case "PLAIN":
		sec = securityNone
	default:
		return Candidate{}, false
	}
	user := strings.TrimSpace(subst.Replace(s.Username))
	if strings.ContainsAny(user, "\r\n\x00") {
		return Candidate{}, false
	}
	c := Candidate{Host: strings.ToLower(host), Port: port, Security: sec, Username: user, Auth: AuthPassword}
	oauthOnly := len(s.Authentication) > 0
	for _, a := range s.Authentication {
		oauthOnly = oauthOnly && strings.EqualFold(strings.TrimSpace(a), "OAuth2")
	}
	if oauthOnly {
		c.Auth = AuthOAuth2
	}
	return c, true
}

// validHost reports whether h can be a server's host name: letters, digits, '-', '.' and '_'
// (or an IP address), 1-253 characters, no empty label.
func validHost(h string) bool {
	if h == "" || len(h) > 253 || strings.HasPrefix(h, ".") || strings.Contains(h, "..") {
		return false
	}
	for _, r := range h {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '.', r == '_', r == ':':
		default:
			return false
		}
	}
	return true
}
