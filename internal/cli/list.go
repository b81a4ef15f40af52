package cli

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/poplar-mail/poplar/account"
	"github.com/poplar-mail/poplar/storage"
)

// runList prints the summaries of a folder, newest first.
func runList(ctx context.Context, e *Env, g Globals, args []string) int {
	fs := flag.NewFlagSet("poplar list", flag.ContinueOnError)
	fs.SetOutput(e.Stderr)
	g.flags(fs)
	name := fs.String("account", "", "account to list (default: the only one)")
	folder := fs.String("folder", storage.Inbox, "folder to list")
	limit := fs.Int("limit", 0, "print at most N messages (0 = all)")
	asJSON := fs.Bool("json", false, "print JSON")
	if err := parseFlags(fs, args); err != nil {
		return 2
	}
	if err := g.resolve(e.Getenv); err != nil {
		fmt.Fprintf(e.Stderr, "poplar list: %v\n", err)
		return 1
	}
	acct, err := pickAccount(g, *name)
	if err != nil {
		fmt.Fprintf(e.Stderr, "poplar list: %v\n", err)
		return 1
	}
	s, err := storage.Open(account.DataDir(g.DataDir, acct))
	if err != nil {
		fmt.Fprintf(e.Stderr, "poplar list: %v\n", err)
		return 1
	}
	defer s.Close()
	// With a limit, only the newest summaries are read: from the start of the index file when
	// it is in step with the folder.
	sums, err := s.Newest(*folder, *limit)
	if err != nil {
		fmt.Fprintf(e.Stderr, "poplar list: %v\n", err)
		return 1
	}
	if err := printSummaries(e.Stdout, sums, *asJSON); err != nil {
		return 1
	}
	return 0
}

// printSummaries prints messages as `poplar list` and `poplar search` do: one line each, or with
// asJSON an indented JSON array of objects.
func printSummaries(w io.Writer, sums []storage.Summary, asJSON bool) error {
	if asJSON {
		type item struct {
			Key            string    `json:"key"`
			Folder         string    `json:"folder"`
			From           string    `json:"from"`
			To             string    `json:"to"`
			Subject        string    `json:"subject"`
			Date           time.Time `json:"date,omitzero"`
			Size           int64     `json:"size"`
			Flags          string    `json:"flags"`
			Unread         bool      `json:"unread"`
			HasAttachments bool      `json:"has_attachments"`
			Partial        bool      `json:"partial"`
			Preview        string    `json:"preview"`
			UIDL           string    `json:"uidl,omitempty"`
		}
		out := make([]item, len(sums))
		for i, m := range sums {
			out[i] = item{m.Key, m.Folder, m.From, m.To, m.Subject, m.Date, m.Size, m.Flags.String(), m.Unread(), m.HasAttachments, m.Partial, m.Preview, m.UIDL}
		}
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(out)
	}
	for _, m := range sums {
		mark := " "
		if m.Unread() {
			mark = "N"
		}
		att := " "
		if m.HasAttachments {
			att = "@"
		}
		if m.Partial {
			att = "~"
		}
		date := "                "
		if !m.Date.IsZero() {
			date = m.Date.Local().Format("2006-01-02 15:04")
		}
		if _, err := fmt.Fprintf(w, "%s%s %s  %-24s  %-50s %8s  %s\n", mark, att, date, fit(m.From, 24), fit(m.Subject, 50), account.FormatSize(m.Size), m.Key); err != nil {
			return err
		}
	}
	return nil
}

// fit cuts s to n runes for a column.
func fit(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}

// pickAccount returns name, or the only account folder in the data dir.
func pickAccount(g Globals, name string) (string, error) {
	if name != "" {
		if !account.ValidName(name) {
			return "", fmt.Errorf("%q is not an account name", name)
		}
		if _, err := os.Stat(filepath.Join(account.DataDir(g.DataDir, name), "Maildir")); err != nil {
			return "", fmt.Errorf("account %q has no mail in %s", name, g.DataDir)
		}
		return name, nil
	}
	des, err := os.ReadDir(g.DataDir)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return "", err
	}
	var names []string
	for _, de := range des {
		if _, err := os.Stat(filepath.Join(g.DataDir, de.Name(), "Maildir")); err == nil {
			names = append(names, de.Name())
		}
	}
	sort.Strings(names)
	switch len(names) {
	case 0:
		return "", fmt.Errorf("no mail in %s yet: add an account and run 'poplar fetch'", g.DataDir)
	case 1:
		return names[0], nil
	}
	return "", fmt.Errorf("several accounts (%s): choose one with --account", strings.Join(names, ", "))
}
