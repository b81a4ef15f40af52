package cli

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/poplar-mail/poplar/account"
	"github.com/poplar-mail/poplar/storage"
	"github.com/poplar-mail/poplar/storage/mailview"
)

// runShow prints a message as the reader pane shows it, and can save its attachments.
func runShow(ctx context.Context, e *Env, g Globals, args []string) int {
	fs := flag.NewFlagSet("poplar show", flag.ContinueOnError)
	fs.SetOutput(e.Stderr)
	g.flags(fs)
	asJSON := fs.Bool("json", false, "print JSON")
	saveDir := fs.String("save-attachments", "", "save every attachment into this folder")
	fs.Usage = func() {
		fmt.Fprintln(e.Stderr, "Usage: poplar show [--json] [--save-attachments DIR] FILE|ACCOUNT/KEY")
		fs.PrintDefaults()
	}
	if err := parseFlags(fs, args); err != nil {
		return 2
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return 2
	}
	if err := g.resolve(e.Getenv); err != nil {
		fmt.Fprintf(e.Stderr, "poplar show: %v\n", err)
		return 1
	}
	open, partial, err := locate(g, fs.Arg(0))
	if err != nil {
		fmt.Fprintf(e.Stderr, "poplar show: %v\n", err)
		return 1
	}
	rc, err := open()
	if err != nil {
		fmt.Fprintf(e.Stderr, "poplar show: %v\n", err)
		return 1
	}
	m, err := mailview.Read(rc, mailview.Options{})
	rc.Close()
	if err != nil {
		fmt.Fprintf(e.Stderr, "poplar show: %v\n", err)
		return 1
	}
	m.Partial = partial
	var saved []string
	if *saveDir != "" {
		if err := os.MkdirAll(*saveDir, 0o700); err != nil {
			fmt.Fprintf(e.Stderr, "poplar show: %v\n", err)
			return 1
		}
		for _, a := range m.Attachments {
			rc, err := open()
			if err != nil {
				fmt.Fprintf(e.Stderr, "poplar show: %v\n", err)
				return 1
			}
			p, err := mailview.SaveAttachment(rc, a.Index, *saveDir)
			rc.Close()
			if err != nil {
				fmt.Fprintf(e.Stderr, "poplar show: saving %s: %v\n", a.Name, err)
				return 1
			}
			saved = append(saved, p)
		}
	}
	if *asJSON {
		out := struct {
			*mailview.Message
			Text  string   `json:"text"`
			Saved []string `json:"saved,omitempty"`
		}{m, m.Text(), saved}
		enc := json.NewEncoder(e.Stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(out); err != nil {
			return 1
		}
		return 0
	}
	printMessage(e.Stdout, m)
	for _, p := range saved {
		fmt.Fprintf(e.Stdout, "Saved %s\n", p)
	}
	return 0
}

func printMessage(w io.Writer, m *mailview.Message) {
	addrs := func(as []mailview.Address) string {
		s := make([]string, len(as))
		for i, a := range as {
			s[i] = a.String()
		}
		return strings.Join(s, ", ")
	}
	fmt.Fprintf(w, "From:    %s\n", addrs(m.From))
	fmt.Fprintf(w, "To:      %s\n", addrs(m.To))
	if len(m.Cc) > 0 {
		fmt.Fprintf(w, "Cc:      %s\n", addrs(m.Cc))
	}
	switch {
	case !m.Date.IsZero():
		fmt.Fprintf(w, "Date:    %s\n", m.Date.Format(time.RFC1123Z))
	case m.DateText != "":
		fmt.Fprintf(w, "Date:    %s (not a valid date)\n", m.DateText)
	}
	fmt.Fprintf(w, "Subject: %s\n", m.Subject)
	if m.Partial {
		fmt.Fprintln(w, "Note:    only the header was downloaded (size limit); fetch the rest from the app")
	}
	if m.RemoteBlocked > 0 {
		fmt.Fprintf(w, "Note:    remote content blocked (%d references); nothing was fetched\n", m.RemoteBlocked)
	}
	fmt.Fprintln(w)
	fmt.Fprint(w, m.Text())
	if len(m.Attachments) > 0 {
		fmt.Fprintln(w, "\nAttachments:")
		for _, a := range m.Attachments {
			fmt.Fprintf(w, "  [%d] %s (%s, %s)\n", a.Index, a.Name, a.ContentType, humanBytes(a.Size))
		}
	}
	for _, warn := range m.Warnings {
		fmt.Fprintf(w, "Warning: %s\n", warn)
	}
}

// locate finds a message given as a file path or ACCOUNT/KEY and returns a way to open it.
func locate(g Globals, arg string) (open func() (io.ReadCloser, error), partial bool, err error) {
	if fi, err := os.Stat(arg); err == nil && fi.Mode().IsRegular() {
		return func() (io.ReadCloser, error) { return os.Open(arg) }, false, nil
	}
	name, key, ok := strings.Cut(arg, "/")
	if !ok || !account.ValidName(name) || key == "" || strings.ContainsAny(key, "/\x00") {
		return nil, false, fmt.Errorf("%s is neither a file nor ACCOUNT/KEY", arg)
	}
	s, err := storage.Open(account.DataDir(g.DataDir, name))
	if err != nil {
		return nil, false, err
	}
	folders, err := s.Folders()
	if err != nil {
		return nil, false, err
	}
	for _, f := range folders {
		sum, err := s.Summary(f.Name, key)
		if errors.Is(err, storage.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, false, err
		}
		folder := f.Name
		return func() (io.ReadCloser, error) { return s.OpenMessage(folder, key) }, sum.Partial, nil
	}
	return nil, false, fmt.Errorf("no message %s in account %s", key, name)
}
