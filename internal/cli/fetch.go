package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/poplar-mail/poplar/account"
	"github.com/poplar-mail/poplar/storage"
)

// runFetch downloads new mail for the named accounts (default: every enabled one), in parallel.
func runFetch(ctx context.Context, e *Env, g Globals, args []string) int {
	fs := flag.NewFlagSet("poplar fetch", flag.ContinueOnError)
	fs.SetOutput(e.Stderr)
	g.flags(fs)
	pwStdin := fs.Bool("password-stdin", false, "read the password from standard input instead of the keyring (not stored)")
	trace := fs.Bool("trace", false, "print the protocol dialogue to standard error (passwords are never shown)")
	quiet := fs.Bool("quiet", false, "print only the summary lines")
	if err := parseFlags(fs, args); err != nil {
		return 2
	}
	if err := g.resolve(e.Getenv); err != nil {
		fmt.Fprintf(e.Stderr, "poplar fetch: %v\n", err)
		return 1
	}
	cfg, err := account.LoadConfig(g.ConfigDir)
	if err != nil {
		fmt.Fprintf(e.Stderr, "poplar fetch: %v\n", err)
		return 1
	}
	var accts []account.Account
	if fs.NArg() == 0 {
		for _, a := range cfg.Accounts {
			if a.Enabled {
				accts = append(accts, a)
			}
		}
		if len(accts) == 0 {
			fmt.Fprintln(e.Stderr, "poplar fetch: no enabled account; add one with 'poplar account add'")
			return 1
		}
	} else {
		for _, n := range fs.Args() {
			a, ok := cfg.Find(n)
			if !ok {
				fmt.Fprintf(e.Stderr, "poplar fetch: no account %q (see 'poplar account list')\n", n)
				return 1
			}
			accts = append(accts, *a)
		}
	}
	secrets := e.secrets()
	if *pwStdin && len(accts) != 1 {
		// One password read once must never go to several servers.
		fmt.Fprintf(e.Stderr, "poplar fetch: --password-stdin reads one password: name one account (%d would be fetched)\n", len(accts))
		return 2
	}
	if *pwStdin {
		pw, err := readPassword(e.Stdin)
		if err != nil {
			fmt.Fprintf(e.Stderr, "poplar fetch: %v\n", err)
			return 2
		}
		secrets = account.StaticSecret(pw)
	}
	out := &progressPrinter{w: e.Stdout, tty: isTerminal(e.Stdout) && !*quiet, quiet: *quiet, state: map[string]string{}}
	var wg sync.WaitGroup
	failed := make([]bool, len(accts))
	for i, a := range accts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			failed[i] = !fetchOne(ctx, e, g, a, secrets, *trace, out)
		}()
	}
	wg.Wait()
	out.done()
	for _, f := range failed {
		if f {
			return 1
		}
	}
	return 0
}

// fetchOne fetches one account and prints its summary line; it reports success.
func fetchOne(ctx context.Context, e *Env, g Globals, a account.Account, secrets account.SecretStore, trace bool, out *progressPrinter) bool {
	s, err := storage.Open(account.DataDir(g.DataDir, a.Name))
	if err != nil {
		out.final(a.Name, fmt.Sprintf("%s: failed: %v", a.Name, err))
		return false
	}
	defer s.Close()
	opts := account.FetchOptions{Secrets: secrets, Events: out.event}
	if trace {
		opts.Trace = &prefixWriter{w: e.Stderr, prefix: a.Name + " "}
	}
	start := time.Now()
	res, err := account.Fetch(ctx, a, s, opts)
	took := time.Since(start).Round(10 * time.Millisecond)
	switch {
	case errors.Is(err, context.Canceled):
		out.final(a.Name, fmt.Sprintf("%s: cancelled after %d new messages (they are kept)", a.Name, res.New))
		return false
	case err != nil:
		what, remedy := explain(err, a.Name)
		out.final(a.Name, fmt.Sprintf("%s: failed: %s. %s.", a.Name, what, remedy))
		return false
	}
	line := fmt.Sprintf("%s: %d new (%s)", a.Name, res.New, account.FormatSize(res.Bytes))
	if res.Partial > 0 {
		line += fmt.Sprintf(", %d header only", res.Partial)
	}
	if res.DeletedOnServer > 0 {
		line += fmt.Sprintf(", %d deleted on server", res.DeletedOnServer)
	}
	if res.Skipped > 0 {
		line += fmt.Sprintf(", %d already here", res.Skipped)
	}
	out.final(a.Name, line+fmt.Sprintf(" in %s", took))
	return true
}

// progressPrinter prints fetch progress: one redrawn line on a terminal, plain lines otherwise.
type progressPrinter struct {
	mu    sync.Mutex
	w     io.Writer
	tty   bool
	quiet bool
	state map[string]string
	last  time.Time
}

func (p *progressPrinter) event(ev account.Event) {
	p.mu.Lock()
	defer p.mu.Unlock()
	switch ev.Kind {
	case account.Progress:
		if ev.TotalMessages == 0 {
			return
		}
		p.state[ev.Account] = fmt.Sprintf("%s %s %d/%d %s/%s", ev.Account, bar(ev.Bytes, ev.TotalBytes), ev.Messages, ev.TotalMessages,
			account.FormatSize(ev.Bytes), account.FormatSize(ev.TotalBytes))
		if p.tty {
			p.redraw()
		} else if !p.quiet && (time.Since(p.last) > time.Second || ev.Messages == ev.TotalMessages) {
			p.last = time.Now()
			fmt.Fprintf(p.w, "%s: %d/%d messages, %s/%s\n", ev.Account, ev.Messages, ev.TotalMessages, account.FormatSize(ev.Bytes), account.FormatSize(ev.TotalBytes))
		}
	case account.Note:
		if !p.quiet {
			p.clear()
			fmt.Fprintf(p.w, "%s: note: %s\n", ev.Account, ev.Text)
		}
	}
}

func bar(n, total int64) string {
	const width = 20
	fill := 0
	if total > 0 {
		fill = int(min(n, total) * width / total)
	}
	return "[" + strings.Repeat("#", fill) + strings.Repeat(".", width-fill) + "]"
}

func (p *progressPrinter) redraw() {
	names := make([]string, 0, len(p.state))
	for n := range p.state {
		names = append(names, n)
	}
	sort.Strings(names)
	parts := make([]string, len(names))
	for i, n := range names {
		parts[i] = p.state[n]
	}
	fmt.Fprintf(p.w, "\r\x1b[K%s", strings.Join(parts, "  "))
}

func (p *progressPrinter) clear() {
	if p.tty && len(p.state) > 0 {
		fmt.Fprint(p.w, "\r\x1b[K")
	}
}

func (p *progressPrinter) final(name, line string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.clear()
	delete(p.state, name)
	fmt.Fprintln(p.w, line)
	if p.tty && len(p.state) > 0 {
		p.redraw()
	}
}

func (p *progressPrinter) done() {}

// prefixWriter prefixes each line, to tell accounts apart in a trace.
type prefixWriter struct {
	mu     sync.Mutex
	w      io.Writer
	prefix string
}

func (p *prefixWriter) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, line := range strings.SplitAfter(string(b), "\n") {
		if line != "" {
			io.WriteString(p.w, p.prefix+line)
		}
	}
	return len(b), nil
}
