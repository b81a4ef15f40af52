package cli

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/poplar-mail/poplar/account"
	"github.com/poplar-mail/poplar/account/autoconfig"
)

// accountDetect is 'poplar account detect EMAIL': the settings found for an address, each with
// its source and whether it was verified, and the steps taken (on standard error as they end).
// It exits 1 when no POP3 server could be verified.
func accountDetect(ctx context.Context, e *Env, g Globals, args []string) int {
	fs := flag.NewFlagSet("poplar account detect", flag.ContinueOnError)
	fs.SetOutput(e.Stderr)
	g.flags(fs)
	asJSON := fs.Bool("json", false, "print the result as JSON (with every step) instead of text")
	caFile := fs.String("ca-file", "", "extra trusted CA certificates (PEM) for checking the servers")
	// The address may come before, between or after the flags.
	if err := parseFlags(fs, args); err != nil {
		return 2
	}
	if fs.NArg() != 1 {
		fmt.Fprintln(e.Stderr, "poplar account detect: give one EMAIL address")
		return 2
	}
	email := fs.Arg(0)
	f, err := finder(e, *caFile)
	if err != nil {
		fmt.Fprintf(e.Stderr, "poplar account detect: %v\n", err)
		return 1
	}
	progress := printSteps(e.Stderr)
	if *asJSON {
		progress = nil
	}
	res, err := f.Find(ctx, email, progress)
	if *asJSON {
		enc := json.NewEncoder(e.Stdout)
		enc.SetIndent("", "  ")
		if jerr := enc.Encode(res); jerr != nil {
			fmt.Fprintf(e.Stderr, "poplar account detect: %v\n", jerr)
			return 1
		}
	} else {
		printCandidates(e.Stdout, "Incoming (POP3)", res.Incoming)
		printCandidates(e.Stdout, "Outgoing (SMTP submission)", res.Outgoing)
	}
	if err != nil {
		fmt.Fprintf(e.Stderr, "poplar account detect: %v\n", err)
		return 1
	}
	return 0
}

// finder returns the Finder of the command line: POPLAR_DNS and POPLAR_ISPDB_URL from the
// environment, and the system's roots plus caFile's certificates.
func finder(e *Env, caFile string) (autoconfig.Finder, error) {
	getenv := e.Getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	f := autoconfig.FromEnv(getenv)
	if caFile == "" {
		return f, nil
	}
	pem, err := os.ReadFile(caFile)
	if err != nil {
		return f, fmt.Errorf("reading the CA file: %w", err)
	}
	pool, err := x509.SystemCertPool()
	if err != nil || pool == nil {
		pool = x509.NewCertPool()
	}
	if !pool.AppendCertsFromPEM(pem) {
		return f, fmt.Errorf("CA file %s holds no PEM certificate", caFile)
	}
	f.Roots = pool
	return f, nil
}

// printSteps returns a progress function that prints each step as it ends: "Looking up
// example.org in the ISP database… found".
func printSteps(w io.Writer) func(autoconfig.Step) {
	return func(s autoconfig.Step) {
		if s.State != autoconfig.StepRunning {
			fmt.Fprintf(w, "%s %s\n", s.Text, s.Outcome)
		}
	}
}

// printCandidates lists candidates under a heading, or says there are none.
func printCandidates(w io.Writer, heading string, cs []autoconfig.Candidate) {
	fmt.Fprintln(w, heading+":")
	if len(cs) == 0 {
		fmt.Fprintln(w, "  none found")
	}
	for _, c := range cs {
		auth := c.Auth
		if c.OAuthProvider != "" {
			auth += " (" + c.OAuthProvider + ")"
		}
		state := "verified"
		if !c.Verified {
			state = "NOT verified: " + c.Problem
		}
		fmt.Fprintf(w, "  %s, user %s, %s; from %s; %s\n", c, strconv.Quote(c.Username), auth, c.Source, state)
	}
}

// applyDetected fills the settings of a not given on the command line with what detection finds
// for a.Email: the incoming server unless --host was given, the outgoing one unless --smtp-host
// was. Only verified servers are taken: without a verified POP3 server (and no --host) it fails
// with a message saying what to give.
func applyDetected(ctx context.Context, e *Env, a *account.Account, given map[string]bool) error {
	if a.Email == "" {
		return errors.New("--detect needs --email")
	}
	if given["host"] && given["smtp-host"] {
		return nil // nothing left to find
	}
	f, err := finder(e, a.CAFile)
	if err != nil {
		return err
	}
	res, err := f.Find(ctx, a.Email, printSteps(e.Stderr))
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if !given["host"] {
		in, ok := res.BestIncoming()
		if !ok {
			var b strings.Builder
			printCandidates(&b, "Incoming (POP3)", res.Incoming)
			return fmt.Errorf("%w\n%sNothing was saved: give the server yourself (--host, --port, --security), or trust its certificate with --ca-file", err, b.String())
		}
		a.Host = in.Host
		if !given["port"] {
			a.Port = in.Port
		}
		if !given["security"] {
			a.Security = in.Security
		}
		if !given["user"] {
			a.Username = in.Username
		}
		if in.Auth == autoconfig.AuthOAuth2 && !given["auth"] {
			a.Auth = "oauth2"
			if a.OAuth.Provider == "" {
				a.OAuth.Provider = in.OAuthProvider
			}
			if a.OAuth.Provider == "" {
				a.OAuth.Provider = account.ProviderCustom
			}
		}
		fmt.Fprintf(e.Stderr, "incoming: %s (from %s, verified)\n", in, in.Source)
	}
	if !given["smtp-host"] {
		out, ok := res.BestOutgoing()
		if !ok {
			fmt.Fprintf(e.Stderr, "note: no verified outgoing server was found: the account cannot send until you give --smtp-host\n")
			return nil
		}
		a.SMTP.Host = out.Host
		if !given["smtp-port"] {
			a.SMTP.Port = out.Port
		}
		if !given["smtp-security"] {
			a.SMTP.Security = out.Security
		}
		if !given["smtp-user"] && out.Username != a.Username {
			a.SMTP.Username = out.Username
		}
		fmt.Fprintf(e.Stderr, "outgoing: %s (from %s, verified)\n", out, out.Source)
	}
	return nil
}
