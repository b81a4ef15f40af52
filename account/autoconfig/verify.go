package autoconfig

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/textproto"
	"strconv"
	"strings"

	"github.com/poplar-mail/poplar/pop"
)

// errNoEncryption is a candidate's problem when it offers no encryption: Poplar never offers such
// a server as verified.
var errNoEncryption = errors.New("offers no encryption: a password would cross the network readable")

// verify connects to c (a POP3 server when incoming, else an SMTP submission server) within
// f's step timeout and returns c with Verified, Problem and Err set. It sends no user name,
// password or token.
func (f *Finder) verify(ctx context.Context, c Candidate, incoming bool) Candidate {
	ctx, cancel := context.WithTimeout(ctx, f.timeout())
	defer cancel()
	var err error
	switch {
	case c.Security != securityTLS && c.Security != securitySTARTTLS:
		err = errNoEncryption
	case incoming:
		err = f.verifyPOP3(ctx, c)
	default:
		err = f.verifySMTP(ctx, c)
	}
	if err != nil && ctx.Err() != nil && !errors.Is(err, context.Canceled) {
		err = fmt.Errorf("no answer within %v: %w", f.timeout(), err)
	}
	c.Verified, c.Err, c.Problem = err == nil, err, ""
	if err != nil {
		c.Problem = strings.TrimPrefix(err.Error(), "pop: ")
	}
	return c
}

// tlsConfig returns the TLS configuration for a server named host: Poplar's one trust rule
// (pop.TLSConfig) with f's roots.
func (f *Finder) tlsConfig(host string) (*tls.Config, error) {
	cfg, err := pop.TLSConfig(host, "", "")
	if err != nil {
		return nil, err
	}
	if f.Roots != nil {
		cfg.RootCAs = f.Roots
	}
	return cfg, nil
}

// verifyPOP3 connects to a POP3 server, checks its certificate, reads its greeting and
// capabilities (CAPA, after STLS with STARTTLS) and says QUIT.
func (f *Finder) verifyPOP3(ctx context.Context, c Candidate) error {
	addrs, err := f.lookupHost(ctx, c.Host)
	if err != nil {
		return err
	}
	sec, err := pop.ParseSecurity(c.Security)
	if err != nil {
		return err
	}
	base, err := f.tlsConfig(c.Host)
	if err != nil {
		return err
	}
	opts := pop.Options{Security: sec, ServerName: c.Host, TLSConfig: base, Timeout: f.timeout()}
	var last error
	for _, ip := range addrs {
		cl, err := pop.Dial(ctx, net.JoinHostPort(ip, strconv.Itoa(c.Port)), opts)
		if err != nil {
			last = err
			if ctx.Err() != nil {
				break
			}
			continue
		}
		defer cl.Close()
		if _, ok := cl.TLSState(); !ok {
			return errors.New("the connection is not encrypted")
		}
		cl.Quit(ctx)
		return nil
	}
	return last
}

// verifySMTP connects to an SMTP submission server, checks its certificate (after STARTTLS when
// c says so), reads its greeting and its EHLO reply over TLS, and says QUIT.
func (f *Finder) verifySMTP(ctx context.Context, c Candidate) error {
	raw, err := f.dial(ctx, c.Host, c.Port)
	if err != nil {
		return err
	}
	defer raw.Close()
	stop := context.AfterFunc(ctx, func() { raw.Close() })
	defer stop()
	if dl, ok := ctx.Deadline(); ok {
		raw.SetDeadline(dl)
	}
	cfg, err := f.tlsConfig(c.Host)
	if err != nil {
		return err
	}
	handshake := func(conn net.Conn) (net.Conn, error) {
		tc := tls.Client(conn, cfg)
		if err := tc.HandshakeContext(ctx); err != nil {
			return nil, pop.HandshakeError(c.Host, err)
		}
		return tc, nil
	}
	conn := raw
	if c.Security == securityTLS {
		if conn, err = handshake(raw); err != nil {
			return err
		}
	}
	tp := textproto.NewConn(conn)
	if _, _, err := tp.ReadResponse(220); err != nil {
		return fmt.Errorf("greeting: %w", err)
	}
	ext, err := ehlo(tp)
	if err != nil {
		return err
	}
	if c.Security == securitySTARTTLS {
		if !hasExtension(ext, "STARTTLS") {
			return errors.New("the server does not offer STARTTLS")
		}
		if _, err := tp.Cmd("STARTTLS"); err != nil {
			return err
		}
		if _, _, err := tp.ReadResponse(220); err != nil {
			return fmt.Errorf("STARTTLS: %w", err)
		}
		if tp.R.Buffered() > 0 {
			return errors.New("data after the STARTTLS reply (possible injection attack)")
		}
		if conn, err = handshake(raw); err != nil {
			return err
		}
		tp = textproto.NewConn(conn)
		if _, err := ehlo(tp); err != nil {
			return err
		}
	}
	if _, err := tp.Cmd("QUIT"); err == nil {
		tp.ReadResponse(221)
	}
	return nil
}

// ehlo says EHLO and returns the extension lines of the reply.
func ehlo(tp *textproto.Conn) ([]string, error) {
	if _, err := tp.Cmd("EHLO localhost"); err != nil {
		return nil, err
	}
	_, msg, err := tp.ReadResponse(250)
	if err != nil {
		return nil, fmt.Errorf("EHLO: %w", err)
	}
	lines := strings.Split(msg, "\n")
	return lines[1:], nil
}

func hasExtension(ext []string, name string) bool {
	for _, l := range ext {
		if f := strings.Fields(l); len(f) > 0 && strings.EqualFold(f[0], name) {
			return true
		}
	}
	return false
}
