package cli

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/poplar-mail/poplar/account"
	"github.com/poplar-mail/poplar/pop"
)

// runServerInfo probes a POP3 server: greeting, TLS, capabilities and, with credentials, the
// mailbox size. It prints a one-line explanation and exits 1 on failure.
func runServerInfo(ctx context.Context, e *Env, g Globals, args []string) int {
	fs := flag.NewFlagSet("poplar serverinfo", flag.ContinueOnError)
	fs.SetOutput(e.Stderr)
	g.flags(fs)
	security := fs.String("security", "tls", "tls (implicit TLS), starttls or none")
	port := fs.Int("port", 0, "port (default 995 for tls, 110 otherwise)")
	user := fs.String("user", "", "user name, to log in and show the mailbox size")
	pwStdin := fs.Bool("password-stdin", false, "read the password from the first line of standard input")
	caFile := fs.String("ca-file", "", "extra trusted CA certificates (PEM)")
	fingerprint := fs.String("fingerprint", "", "pinned SHA-256 fingerprint of the server certificate")
	authName := fs.String("auth", "auto", "login method: auto, user, apop, plain, login, cram-md5, scram-sha-1, scram-sha-256")
	insecure := fs.Bool("allow-insecure-auth", false, "allow a password over an unencrypted connection")
	timeout := fs.Duration("timeout", 30*time.Second, "deadline for each network read and write")
	trace := fs.Bool("trace", false, "print the protocol dialogue (passwords are never shown)")
	fs.Usage = func() {
		fmt.Fprintln(e.Stderr, "Usage: poplar serverinfo [--security tls|starttls|none] [--port N] [--user NAME --password-stdin [--auth METHOD]] [--ca-file FILE] HOST")
		fs.PrintDefaults()
	}
	if err := parseFlags(fs, args); err != nil {
		return 2
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return 2
	}
	host := fs.Arg(0)
	sec, err := pop.ParseSecurity(*security)
	if err != nil {
		fmt.Fprintf(e.Stderr, "poplar serverinfo: %v\n", err)
		return 2
	}
	if *port == 0 {
		*port = sec.DefaultPort()
	}
	if *port < 1 || *port > 65535 {
		fmt.Fprintf(e.Stderr, "poplar serverinfo: port %d is out of range\n", *port)
		return 2
	}
	method, err := pop.ParseAuthMethod(*authName)
	if err != nil {
		fmt.Fprintf(e.Stderr, "poplar serverinfo: %v\n", err)
		return 2
	}
	var password string
	if *pwStdin {
		if *user == "" {
			fmt.Fprintln(e.Stderr, "poplar serverinfo: --password-stdin needs --user")
			return 2
		}
		if password, err = readPassword(e.Stdin); err != nil {
			fmt.Fprintf(e.Stderr, "poplar serverinfo: %v\n", err)
			return 2
		}
	}
	opts := pop.Options{Security: sec, CAFile: *caFile, Fingerprint: *fingerprint, AllowInsecureAuth: *insecure, Timeout: *timeout}
	if *trace {
		opts.Trace = e.Stderr
	}
	addr := net.JoinHostPort(host, strconv.Itoa(*port))
	fail := func(err error) int {
		what, remedy := account.Explain(err, addr)
		fmt.Fprintf(e.Stderr, "poplar serverinfo: %s. %s.\n", what, remedy)
		return 1
	}
	c, err := pop.Dial(ctx, addr, opts)
	if err != nil {
		return fail(err)
	}
	defer c.Close()
	w := e.Stdout
	fmt.Fprintf(w, "Server:        %s (%s)\n", addr, sec)
	fmt.Fprintf(w, "Greeting:      %s\n", c.Greeting())
	if st, ok := c.TLSState(); ok {
		fmt.Fprintf(w, "TLS:           %s, %s\n", tls.VersionName(st.Version), tls.CipherSuiteName(st.CipherSuite))
		if len(st.PeerCertificates) > 0 {
			leaf := st.PeerCertificates[0]
			fmt.Fprintf(w, "Certificate:   %s\n", leaf.Subject)
			fmt.Fprintf(w, "  issuer:      %s\n", leaf.Issuer)
			fmt.Fprintf(w, "  valid until: %s\n", leaf.NotAfter.Format("2006-01-02"))
			fmt.Fprintf(w, "  SHA-256:     %s\n", pop.CertFingerprint(leaf.Raw))
		}
	} else {
		fmt.Fprintln(w, "TLS:           none (the connection is not encrypted)")
	}
	printCaps(w, c.Capabilities())
	if *user == "" {
		fmt.Fprintln(w, "Mailbox:       (give --user and --password-stdin to see it)")
		c.Quit(ctx)
		return 0
	}
	if err := c.Auth(ctx, pop.Credentials{Method: method, Username: *user, Password: password}); err != nil {
		return fail(err)
	}
	n, size, err := c.Stat(ctx)
	if err != nil {
		return fail(err)
	}
	fmt.Fprintf(w, "Mailbox:       %d messages, %s\n", n, account.FormatSize(size))
	if caps := c.Capabilities(); caps.Known {
		fmt.Fprintln(w, "After login:")
		printCaps(w, caps)
	}
	if err := c.Quit(ctx); err != nil {
		return fail(err)
	}
	return 0
}

func printCaps(w io.Writer, caps pop.Capabilities) {
	if !caps.Known {
		fmt.Fprintln(w, "Capabilities:  none (the server does not answer CAPA)")
		return
	}
	fmt.Fprintf(w, "Capabilities:  %s\n", strings.Join(caps.Raw, ", "))
	if len(caps.SASL) > 0 {
		fmt.Fprintf(w, "SASL:          %s\n", strings.Join(caps.SASL, " "))
	}
	if caps.LoginDelay > 0 {
		fmt.Fprintf(w, "Login delay:   %s\n", caps.LoginDelay)
	}
	if caps.HasExpire {
		if caps.Expire < 0 {
			fmt.Fprintln(w, "Expire:        never")
		} else {
			fmt.Fprintf(w, "Expire:        %d days\n", caps.Expire)
		}
	}
}

// parseFlags parses args, allowing flags after positional arguments.
func parseFlags(fs *flag.FlagSet, args []string) error {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return err
		}
		args = fs.Args()
		if len(args) == 0 {
			break
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
	return fs.Parse(append([]string{"--"}, pos...))
}

// readPassword reads one line from r, without its line end.
func readPassword(r io.Reader) (string, error) {
	if r == nil {
		return "", errors.New("no standard input to read the password from")
	}
	line, err := bufio.NewReader(r).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("reading the password: %w", err)
	}
	line = strings.TrimRight(line, "\r\n")
	if line == "" {
		return "", errors.New("the password read from standard input is empty")
	}
	return line, nil
}
