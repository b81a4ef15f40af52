package cli

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/mail"
	"os"
	"strings"
	"time"

	"github.com/poplar-mail/poplar/account"
	"github.com/poplar-mail/poplar/account/compose"
	"github.com/poplar-mail/poplar/storage"
)

// exitTempFail is EX_TEMPFAIL (sysexits.h): the message is queued and will go later.
const exitTempFail = 75

// addrList is a repeatable flag of addresses; each value may be a comma-separated list.
type addrList []mail.Address

func (l *addrList) String() string {
	parts := make([]string, len(*l))
	for i, a := range *l {
		parts[i] = a.String()
	}
	return strings.Join(parts, ", ")
}

func (l *addrList) Set(s string) error {
	list, err := compose.ParseAddressList(s)
	if err != nil {
		return err
	}
	*l = append(*l, list...)
	return nil
}

// fileList is a repeatable flag of file names.
type fileList []string

func (l *fileList) String() string { return strings.Join(*l, ", ") }

func (l *fileList) Set(s string) error { *l = append(*l, s); return nil }

// runSend stores one message in the account's Outbox and sends it.
func runSend(ctx context.Context, e *Env, g Globals, args []string) int {
	fs := flag.NewFlagSet("poplar send", flag.ContinueOnError)
	fs.SetOutput(e.Stderr)
	g.flags(fs)
	var to, cc, bcc addrList
	var attach fileList
	name := fs.String("account", "", "the account to send from (default: the only account that can send)")
	fs.Var(&to, "to", "recipient; repeat the flag or separate addresses with commas")
	fs.Var(&cc, "cc", "copy recipient; repeatable, comma lists")
	fs.Var(&bcc, "bcc", "blind copy recipient (not shown to the others); repeatable, comma lists")
	subject := fs.String("subject", "", "the subject")
	fs.Var(&attach, "attach", "a file to attach; repeatable")
	bodyFile := fs.String("body-file", "", "the body text (plain text, UTF-8); without it the body is read from standard input")
	raw := fs.String("raw", "", "send this RFC 5322 message file as it is: the envelope from its To, Cc and Bcc, Bcc removed")
	fs.Usage = func() {
		fmt.Fprintln(e.Stderr, `Usage:
  poplar send [--account NAME] --to ADDR... [--cc ADDR...] [--bcc ADDR...] --subject S
              [--attach FILE...] [--body-file F]          body from stdin when there is no --body-file
  poplar send [--account NAME] --raw FILE                 an RFC 5322 message as is

The message is stored in the account's Outbox first. Exit status: 0 sent (now in Sent),
75 not sent for now (it stays queued: 'poplar outbox --flush' retries), 1 refused or failed.`)
		fs.PrintDefaults()
	}
	if err := parseFlags(fs, args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(e.Stderr, "poplar send: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	if *raw != "" {
		for _, f := range []string{"to", "cc", "bcc", "subject", "attach", "body-file"} {
			if given[f] {
				fmt.Fprintf(e.Stderr, "poplar send: --raw sends a message as it is; --%s does not go with it\n", f)
				return 2
			}
		}
	} else if len(to)+len(cc)+len(bcc) == 0 || !given["subject"] {
		fmt.Fprintln(e.Stderr, "poplar send: give --to (or --cc, --bcc) and --subject, or --raw FILE")
		return 2
	}
	if err := g.resolve(e.Getenv); err != nil {
		fmt.Fprintf(e.Stderr, "poplar send: %v\n", err)
		return 1
	}
	cfg, err := account.LoadConfig(g.ConfigDir)
	if err != nil {
		fmt.Fprintf(e.Stderr, "poplar send: %v\n", err)
		return 1
	}
	a, err := sendingAccount(cfg, *name)
	if err != nil {
		fmt.Fprintf(e.Stderr, "poplar send: %v\n", err)
		return 1
	}
	if !a.CanSend() {
		what, remedy := account.Explain(&account.NoOutgoingServerError{Account: a.Name}, a.Name)
		fmt.Fprintf(e.Stderr, "poplar send: %s. %s, e.g. 'poplar account set %s --smtp-host smtp.example.org'.\n", what, remedy, a.Name)
		return 1
	}
	var msg io.Reader
	var st storage.OutboxState
	if *raw != "" {
		f, err := os.Open(*raw)
		if err != nil {
			fmt.Fprintf(e.Stderr, "poplar send: %v\n", err)
			return 1
		}
		defer f.Close()
		from, rcpts, m, err := compose.PrepareRaw(f)
		if err != nil {
			fmt.Fprintf(e.Stderr, "poplar send: %s: %v\n", *raw, err)
			return 2
		}
		msg, st = m, storage.OutboxState{From: from, To: rcpts}
	} else {
		d, err := draft(e, a, to, cc, bcc, *subject, *bodyFile, attach)
		if err != nil {
			fmt.Fprintf(e.Stderr, "poplar send: %v\n", err)
			return 2
		}
		pr, pw := io.Pipe()
		go func() {
			_, err := d.WriteTo(pw)
			pw.CloseWithError(err)
		}()
		defer pr.Close()
		msg, st = pr, storage.OutboxState{From: d.From.Address, To: d.Recipients()}
	}
	s, err := storage.Open(account.DataDir(g.DataDir, a.Name))
	if err != nil {
		fmt.Fprintf(e.Stderr, "poplar send: %v\n", err)
		return 1
	}
	defer s.Close()
	key, err := s.Queue(msg, st)
	if err != nil {
		fmt.Fprintf(e.Stderr, "poplar send: the message was not stored, nor sent: %v\n", err)
		return 1
	}
	err = account.Send(ctx, *a, s, key, e.secrets())
	if err == nil {
		fmt.Fprintf(e.Stdout, "Sent from %s to %s; a copy is in Sent.\n", a.Name, strings.Join(st.To, ", "))
		return 0
	}
	return reportSendErr(e, a.Name, err)
}

// reportSendErr prints a failed send in plain words and returns its exit status.
func reportSendErr(e *Env, name string, err error) int {
	what, remedy := explain(err, name)
	fmt.Fprintf(e.Stderr, "poplar send: %s. %s.\n", what, remedy)
	var se *account.SendError
	switch {
	case errors.Is(err, context.Canceled):
		return 1
	case account.IsTemporarySend(err):
		fmt.Fprintf(e.Stderr, "The message is queued in the Outbox of %s; 'poplar outbox %s --flush' sends it.\n", name, name)
		return exitTempFail
	case errors.As(err, &se) && se.Status == storage.OutboxQueued:
		fmt.Fprintf(e.Stderr, "The message is queued in the Outbox of %s; 'poplar outbox %s --flush' sends it once this is fixed.\n", name, name)
	case errors.As(err, &se) && se.Status == storage.OutboxFailed:
		fmt.Fprintf(e.Stderr, "The message stays in the Outbox of %s, marked failed.\n", name)
	}
	return 1
}

// sendingAccount picks the account named, or else the only one that can send.
func sendingAccount(cfg *account.Config, name string) (*account.Account, error) {
	if name != "" {
		a, ok := cfg.Find(name)
		if !ok {
			return nil, fmt.Errorf("no account %q (see 'poplar account list')", name)
		}
		return a, nil
	}
	if len(cfg.Accounts) == 1 {
		return &cfg.Accounts[0], nil
	}
	var can []*account.Account
	for i := range cfg.Accounts {
		if cfg.Accounts[i].CanSend() {
			can = append(can, &cfg.Accounts[i])
		}
	}
	switch {
	case len(cfg.Accounts) == 0:
		return nil, errors.New("no account; add one with 'poplar account add'")
	case len(can) == 1:
		return can[0], nil
	case len(can) == 0:
		return nil, errors.New("no account has an outgoing server: set one with 'poplar account set NAME --smtp-host H'")
	}
	return nil, fmt.Errorf("%d accounts can send: name one with --account", len(can))
}

// draft builds the message of a send from its flags.
func draft(e *Env, a *account.Account, to, cc, bcc addrList, subject, bodyFile string, attach fileList) (*compose.Draft, error) {
	if a.Email == "" {
		return nil, fmt.Errorf("account %q has no email address to send from: set one with 'poplar account set %s --email ADDR'", a.Name, a.Name)
	}
	d := &compose.Draft{From: mail.Address{Name: a.DisplayName, Address: a.Email}, To: to, Cc: cc, Bcc: bcc, Subject: subject}
	if a.ReplyTo != "" {
		rt, err := compose.ParseAddressList(a.ReplyTo)
		if err != nil {
			return nil, fmt.Errorf("the reply-to setting of %q: %w", a.Name, err)
		}
		d.ReplyTo = rt
	}
	var body []byte
	var err error
	if bodyFile != "" {
		body, err = os.ReadFile(bodyFile)
	} else if e.Stdin != nil {
		body, err = io.ReadAll(io.LimitReader(e.Stdin, 64<<20))
	}
	if err != nil {
		return nil, fmt.Errorf("reading the body: %w", err)
	}
	d.Body = string(body)
	if sig := strings.TrimSpace(a.Signature); sig != "" && !strings.Contains(d.Body, sig) {
		if !strings.HasSuffix(d.Body, "\n") && d.Body != "" {
			d.Body += "\n"
		}
		if !strings.HasPrefix(a.Signature, "-- \n") {
			d.Body += "-- \n"
		}
		d.Body += a.Signature
	}
	for _, p := range attach {
		at, err := compose.FileAttachment(p)
		if err != nil {
			return nil, err
		}
		d.Attachments = append(d.Attachments, at)
	}
	if err := d.Validate(); err != nil {
		return nil, err
	}
	return d, nil
}

// outboxItem is one Outbox entry as `poplar outbox --json` prints it.
type outboxItem struct {
	Account  string    `json:"account"`
	Key      string    `json:"key"`
	Status   string    `json:"status"` // queued, sending, may-have-been-sent, failed, sent
	Subject  string    `json:"subject"`
	From     string    `json:"from"`
	To       []string  `json:"to"`
	Attempts int       `json:"attempts"`
	LastTry  time.Time `json:"last_try,omitzero"`
	Error    string    `json:"error,omitempty"`
}

// runOutbox lists the Outbox of one or every account, after sending what is queued with --flush.
func runOutbox(ctx context.Context, e *Env, g Globals, args []string) int {
	fs := flag.NewFlagSet("poplar outbox", flag.ContinueOnError)
	fs.SetOutput(e.Stderr)
	g.flags(fs)
	flush := fs.Bool("flush", false, "send every queued message now (never one that may have been sent)")
	asJSON := fs.Bool("json", false, "print the entries as JSON")
	if err := parseFlags(fs, args); err != nil {
		return 2
	}
	if fs.NArg() > 1 {
		fmt.Fprintln(e.Stderr, "Usage: poplar outbox [NAME] [--flush] [--json]")
		return 2
	}
	if err := g.resolve(e.Getenv); err != nil {
		fmt.Fprintf(e.Stderr, "poplar outbox: %v\n", err)
		return 1
	}
	cfg, err := account.LoadConfig(g.ConfigDir)
	if err != nil {
		fmt.Fprintf(e.Stderr, "poplar outbox: %v\n", err)
		return 1
	}
	accts := cfg.Accounts
	if fs.NArg() == 1 {
		a, ok := cfg.Find(fs.Arg(0))
		if !ok {
			fmt.Fprintf(e.Stderr, "poplar outbox: no account %q (see 'poplar account list')\n", fs.Arg(0))
			return 1
		}
		accts = []account.Account{*a}
	}
	code := 0
	items := []outboxItem{}
	for _, a := range accts {
		dir := account.DataDir(g.DataDir, a.Name)
		if _, err := os.Stat(dir); err != nil {
			continue // nothing stored yet
		}
		s, err := storage.Open(dir)
		if err != nil {
			fmt.Fprintf(e.Stderr, "poplar outbox: %v\n", err)
			code = 1
			continue
		}
		if *flush {
			code = max(code, flushOne(ctx, e, a, s, *asJSON))
		}
		entries, err := s.OutboxEntries()
		s.Close()
		if err != nil {
			fmt.Fprintf(e.Stderr, "poplar outbox: %v\n", err)
			code = 1
			continue
		}
		for _, en := range entries {
			items = append(items, outboxItem{Account: a.Name, Key: en.Key, Status: string(en.State.Status), Subject: en.Subject,
				From: en.State.From, To: en.State.To, Attempts: en.State.Attempts, LastTry: en.State.LastTry, Error: en.State.Error})
		}
	}
	if *asJSON {
		enc := json.NewEncoder(e.Stdout)
		enc.SetIndent("", "  ")
		enc.Encode(items)
		return code
	}
	if len(items) == 0 {
		fmt.Fprintln(e.Stdout, "The Outbox is empty.")
	}
	for _, it := range items {
		st := storage.OutboxStatus(it.Status).String()
		line := fmt.Sprintf("%s  %-18s  %s  to %s", it.Account, st, orNone(it.Subject), strings.Join(it.To, ", "))
		if it.Attempts > 0 {
			line += fmt.Sprintf("  (%d tries, last %s)", it.Attempts, it.LastTry.Local().Format("2 Jan 15:04"))
		}
		fmt.Fprintln(e.Stdout, line)
		if it.Error != "" {
			fmt.Fprintf(e.Stdout, "    %s\n", it.Error)
		}
		if it.Status == string(storage.OutboxMaybeSent) {
			fmt.Fprintln(e.Stdout, "    It may have reached its recipients: Poplar does not send it again by itself.")
		}
	}
	return code
}

// flushOne sends the queued messages of one account and returns the exit status.
func flushOne(ctx context.Context, e *Env, a account.Account, s *storage.Store, quiet bool) int {
	entries, err := s.OutboxEntries()
	if err != nil || len(entries) == 0 {
		return 0
	}
	n, err := account.FlushOutbox(ctx, a, s, e.secrets())
	if n > 0 && !quiet {
		fmt.Fprintf(e.Stdout, "%s: %d sent\n", a.Name, n)
	}
	if err == nil {
		return 0
	}
	what, remedy := explain(err, a.Name)
	fmt.Fprintf(e.Stderr, "poplar outbox: %s: %s. %s.\n", a.Name, what, remedy)
	if account.IsTemporarySend(err) {
		return exitTempFail
	}
	return 1
}

func orNone(s string) string {
	if s == "" {
		return "(no subject)"
	}
	return s
}
