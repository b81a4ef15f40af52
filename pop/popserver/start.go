package popserver

import (
	"fmt"
	"net"
	"strconv"
)

// Running is a Server listening on a loopback port with a fresh self-signed certificate: the
// one-call set-up that tests and the demo mailbox share, as net/http/httptest's NewServer is for
// net/http. Close (of the embedded Server) stops it.
type Running struct {
	*Server
	Cert *Cert
	Addr string // "host:port" it listens on
	Host string // the host part of Addr (IPv6-safe)
	Port int    // the port part of Addr
	// Mailbox is the mailbox every user is served when Config.Mailbox was nil; nil otherwise.
	Mailbox *MemMailbox
}

// Start generates a certificate for localhost and 127.0.0.1 and serves cfg on 127.0.0.1: with
// implicit TLS when implicitTLS is set, else plain with STLS. When cfg.Mailbox is nil, every user
// is served one in-memory mailbox holding msgs (with generated UIDs). cfg.TLSConfig is replaced.
func Start(cfg Config, implicitTLS bool, msgs ...[]byte) (*Running, error) {
	cert, err := GenerateCert()
	if err != nil {
		return nil, err
	}
	r := &Running{Cert: cert}
	cfg.TLSConfig = cert.ServerConfig()
	if cfg.Mailbox == nil {
		r.Mailbox = NewMemMailbox()
		for _, m := range msgs {
			r.Mailbox.Add("", m)
		}
		cfg.Mailbox = func(string) (Mailbox, error) { return r.Mailbox, nil }
	}
	r.Server = New(cfg)
	addr, err := r.Listen("127.0.0.1:0", implicitTLS)
	if err != nil {
		r.Close()
		return nil, err
	}
	r.Addr = addr.String()
	host, port, err := net.SplitHostPort(r.Addr)
	if err != nil {
		r.Close()
		return nil, fmt.Errorf("popserver: %w", err)
	}
	r.Host = host
	r.Port, _ = strconv.Atoi(port)
	return r, nil
}
