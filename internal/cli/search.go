package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"strings"
	"time"

	"github.com/poplar-mail/poplar/account"
	"github.com/poplar-mail/poplar/storage"
	"github.com/poplar-mail/poplar/storage/search"
)

// runSearch brings an account's full-text index up to date and prints the messages matching a
// query, newest first, as runList prints a folder.
func runSearch(ctx context.Context, e *Env, g Globals, args []string) int {
	fs := flag.NewFlagSet("poplar search", flag.ContinueOnError)
	fs.SetOutput(e.Stderr)
	fs.Usage = func() {
		fmt.Fprintln(e.Stderr, "Usage: poplar search [--account NAME] [--folder F] [--limit N] [--json] QUERY\n\n"+
			"QUERY: words (all must match; the last one may be the start of a word), \"exact phrase\",\n"+
			"from:X to:X subject:X has:attachment is:unread is:read is:flagged before:YYYY-MM-DD after:YYYY-MM-DD\n"+
			"folder:NAME, and -PART for what must not match (put the query after -- then).\n\nFlags:")
		fs.PrintDefaults()
	}
	g.flags(fs)
	name := fs.String("account", "", "account to search (default: the only one)")
	folder := fs.String("folder", "", "search only this folder (default: all)")
	limit := fs.Int("limit", 0, "print at most N messages (0 = all)")
	asJSON := fs.Bool("json", false, "print JSON")
	// Everything after "--" is the query, so that a part may start with '-'.
	var rest []string
	for i, a := range args {
		if a == "--" {
			args, rest = args[:i], args[i+1:]
			break
		}
	}
	if err := parseFlags(fs, args); err != nil {
		return 2
	}
	query := strings.Join(append(fs.Args(), rest...), " ")
	if strings.TrimSpace(query) == "" {
		fs.Usage()
		return 2
	}
	if err := g.resolve(e.Getenv); err != nil {
		fmt.Fprintf(e.Stderr, "poplar search: %v\n", err)
		return 1
	}
	acct, err := pickAccount(g, *name)
	if err != nil {
		fmt.Fprintf(e.Stderr, "poplar search: %v\n", err)
		return 1
	}
	s, err := storage.Open(account.DataDir(g.DataDir, acct))
	if err != nil {
		fmt.Fprintf(e.Stderr, "poplar search: %v\n", err)
		return 1
	}
	defer s.Close()
	x, err := search.Open(s)
	if err != nil {
		fmt.Fprintf(e.Stderr, "poplar search: %v\n", err)
		return 1
	}
	defer x.Close()
	start, shown := time.Now(), false
	err = x.Update(ctx, func(done, total int) {
		if time.Since(start) > time.Second || shown {
			fmt.Fprintf(e.Stderr, "\rindexing: %d of %d messages", done, total)
			shown = true
		}
	})
	if shown {
		fmt.Fprintln(e.Stderr)
	}
	if err != nil {
		if errors.Is(err, context.Canceled) {
			fmt.Fprintln(e.Stderr, "poplar search: cancelled")
		} else {
			fmt.Fprintf(e.Stderr, "poplar search: %v\n", err)
		}
		return 1
	}
	sums, _, err := x.Search(query, search.Options{Folder: *folder, Limit: *limit})
	if err != nil {
		fmt.Fprintf(e.Stderr, "poplar search: %v\n", err)
		var se *search.SyntaxError
		if errors.As(err, &se) {
			return 2
		}
		return 1
	}
	if err := printSummaries(e.Stdout, sums, *asJSON); err != nil {
		return 1
	}
	return 0
}
