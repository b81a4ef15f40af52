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
		fmt.Fprintln(e.Stderr, `
A damaged attachment (bad base64, cut short) is never saved under its own name: what could be
decoded is saved as NAME`+mailview.PartialSuffix+`, and stderr names it with the reason.

Exit status:
  0  the message was shown and every attachment asked for was saved
  1  the message could not be shown
  2  wrong usage
  3  the message was shown, but some attachments could not be saved, or only in part`)
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
	var res saveResult
	if *saveDir != "" {
		res = saveAll(open, m.Attachments, *saveDir)
	}
	if *asJSON {
		out := struct {
			*mailview.Message
			Text     string     `json:"text"`
			Saved    []string   `json:"saved,omitempty"`
			NotSaved []notSaved `json:"not_saved,omitempty"`
		}{m, m.Text(), res.saved, res.failed}
		enc := json.NewEncoder(e.Stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(out); err != nil {
			return 1
		}
	} else {
		printMessage(e.Stdout, m)
		for _, p := range res.saved {
			fmt.Fprintf(e.Stdout, "Saved %s\n", p)
		}
	}
	for _, f := range res.failed {
		fmt.Fprintf(e.Stderr, "poplar show: %s\n", f.Message)
	}
	if len(res.failed) > 0 {
		return exitNotAllSaved
	}
	return 0
}

// exitNotAllSaved is show's exit status when the message was shown but some attachments could
// not be saved, or only in part.
const exitNotAllSaved = 3

// saveResult is what saving a message's attachments did.
type saveResult struct {
	saved  []string   // files saved whole
	failed []notSaved // attachments not saved, or only in part
}

// notSaved describes, for people and for --json, an attachment that was not saved whole.
type notSaved struct {
	Index   int    `json:"index"`
	Name    string `json:"name"`
	Reason  string `json:"reason"`            // "bad base64", "truncated" or the error
	Partial string `json:"partial,omitempty"` // the file holding what could be decoded
	Message string `json:"message"`           // the line printed on stderr
}

// saveAll saves every attachment it can into dir and describes each one it could not save whole.
// It never stops at one failure.
func saveAll(open func() (io.ReadCloser, error), as []mailview.Attachment, dir string) saveResult {
	var res saveResult
	fail := func(a mailview.Attachment, reason, partial, msg string) {
		res.failed = append(res.failed, notSaved{Index: a.Index, Name: a.Name, Reason: reason, Partial: partial, Message: msg})
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		for _, a := range as {
			fail(a, err.Error(), "", fmt.Sprintf("%s could not be saved: %v", a.Name, err))
		}
		return res
	}
	for _, a := range as {
		rc, err := open()
		if err != nil {
			fail(a, err.Error(), "", fmt.Sprintf("%s could not be saved: %v", a.Name, err))
			continue
		}
		p, err := mailview.SaveAttachment(rc, a.Index, dir)
		rc.Close()
		var damaged *mailview.DamagedError
		switch {
		case errors.As(err, &damaged) && p != "":
			fail(a, damaged.Reason, p, fmt.Sprintf("%s is damaged (%s); saved the %s that could be decoded as %s, which is incomplete",
				a.Name, damaged.Reason, account.FormatSize(damaged.Decoded), p))
		case errors.As(err, &damaged):
			fail(a, damaged.Reason, "", fmt.Sprintf("%s is damaged (%s) and could not be saved: nothing could be decoded", a.Name, damaged.Reason))
		case err != nil:
			fail(a, err.Error(), "", fmt.Sprintf("%s could not be saved: %v", a.Name, err))
		default:
			res.saved = append(res.saved, p)
		}
	}
	return res
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
			damage := ""
			if a.Damaged != "" {
				damage = "; damaged: " + a.Damaged
			}
			fmt.Fprintf(w, "  [%d] %s (%s, %s%s)\n", a.Index, a.Name, a.ContentType, account.FormatSize(a.Size), damage)
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
