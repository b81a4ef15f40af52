package cli

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/emersion/go-smtp"

	"github.com/poplar-mail/poplar/account"
	"github.com/poplar-mail/poplar/internal/smtptest"
	"github.com/poplar-mail/poplar/storage"
)

// sendRig is a config and data folder with account "acct" sending through an smtptest server,
// and commands run with its passwords in memory.
type sendRig struct {
	t       *testing.T
	srv     *smtptest.Server
	dirs    []string
	secrets account.MemSecrets
}

func newSendRig(t *testing.T, security string) *sendRig {
	srv := smtptest.Start(t, security)
	r := &sendRig{t: t, srv: srv, dirs: []string{"--config-dir", t.TempDir(), "--data-dir", t.TempDir()}, secrets: account.MemSecrets{}}
	code, _, errs := r.run("pw\n", "account", "add", "acct", "--host", "127.0.0.1", "--user", "me", "--email", "me@example.org",
		"--display-name", "Me Myself", "--ca-file", srv.CAFile, "--smtp-host", "127.0.0.1", "--smtp-port", strconv.Itoa(srv.Port),
		"--smtp-security", security, "--password-stdin")
	if code != 0 {
		t.Fatalf("account add: exit %d: %s", code, errs)
	}
	return r
}

func (r *sendRig) run(stdin string, args ...string) (int, string, string) {
	r.t.Helper()
	var out, errb bytes.Buffer
	env := &Env{Stdin: strings.NewReader(stdin), Stdout: &out, Stderr: &errb, Secrets: r.secrets,
		Getenv: func(string) string { return "" }}
	code := Main(context.Background(), env, append(append([]string{}, r.dirs...), args...))
	return code, out.String(), errb.String()
}

func (r *sendRig) store() *storage.Store {
	r.t.Helper()
	s, err := storage.Open(account.DataDir(r.dirs[3], "acct"))
	if err != nil {
		r.t.Fatal(err)
	}
	r.t.Cleanup(func() { s.Close() })
	return s
}

func (r *sendRig) outbox() []outboxItem {
	r.t.Helper()
	code, out, errs := r.run("", "outbox", "--json")
	if code != 0 {
		r.t.Fatalf("outbox --json: exit %d: %s", code, errs)
	}
	var items []outboxItem
	if err := json.Unmarshal([]byte(out), &items); err != nil {
		r.t.Fatalf("outbox --json printed %q: %v", out, err)
	}
	return items
}

// TestSendCommand: repeated and comma-separated recipients, an attachment and a body file; the
// message arrives once with every recipient in the envelope and the Bcc nowhere in it, and is in
// Sent; the body may come from standard input.
func TestSendCommand(t *testing.T) {
	r := newSendRig(t, "tls")
	dir := t.TempDir()
	att := filepath.Join(dir, "notes.txt")
	os.WriteFile(att, []byte("attached bytes\n"), 0o600)
	body := filepath.Join(dir, "body.txt")
	os.WriteFile(body, []byte("Hello,\nsee the notes.\n"), 0o600)
	code, out, errs := r.run("", "send", "--to", "a@example.org, B <b@example.org>", "--to", "c@example.org", "--cc", "d@example.org",
		"--bcc", "hidden@example.org", "--subject", "Notes", "--attach", att, "--body-file", body)
	if code != 0 || !strings.Contains(out, "Sent from acct") {
		t.Fatalf("send: exit %d\n%s%s", code, out, errs)
	}
	got := r.srv.Received()
	if len(got) != 1 {
		t.Fatalf("the server received %d messages", len(got))
	}
	m := got[0]
	if strings.Join(m.Rcpts, " ") != "a@example.org b@example.org c@example.org d@example.org hidden@example.org" || m.From != "me@example.org" {
		t.Errorf("envelope %s -> %v", m.From, m.Rcpts)
	}
	for _, want := range []string{"Subject: Notes", "From: \"Me Myself\" <me@example.org>", "notes.txt", base64.StdEncoding.EncodeToString([]byte("attached bytes\n")), "see the notes."} {
		if !bytes.Contains(m.Data, []byte(want)) {
			t.Errorf("the message lacks %q:\n%s", want, m.Data)
		}
	}
	if bytes.Contains(m.Data, []byte("hidden")) {
		t.Error("the Bcc recipient is in the message")
	}
	s := r.store()
	if sums, _ := s.Summaries(storage.Sent); len(sums) != 1 || sums[0].Subject != "Notes" {
		t.Errorf("Sent holds %+v", sums)
	}
	if items := r.outbox(); len(items) != 0 {
		t.Errorf("Outbox holds %+v", items)
	}

	code, _, errs = r.run("Body from standard input.\n", "send", "--account", "acct", "--to", "a@example.org", "--subject", "stdin")
	if code != 0 || len(r.srv.Received()) != 2 || !bytes.Contains(r.srv.Received()[1].Data, []byte("Body from standard input.")) {
		t.Fatalf("send with the body on stdin: exit %d: %s", code, errs)
	}
}

// TestSendRaw: --raw sends a message file as it is, with the envelope from To/Cc/Bcc and the Bcc
// field removed.
func TestSendRaw(t *testing.T) {
	r := newSendRig(t, "starttls")
	msg := "From: me@example.org\r\nTo: a@example.org\r\nBcc: secret@example.org\r\nSubject: raw\r\nMessage-ID: <raw@example.org>\r\n\r\nas is\r\n"
	f := filepath.Join(t.TempDir(), "m.eml")
	os.WriteFile(f, []byte(msg), 0o600)
	code, out, errs := r.run("", "send", "--raw", f)
	if code != 0 {
		t.Fatalf("send --raw: exit %d\n%s%s", code, out, errs)
	}
	m := r.srv.Received()[0]
	if want := strings.Replace(msg, "Bcc: secret@example.org\r\n", "", 1); string(m.Data) != want {
		t.Errorf("received\n%q\nwant\n%q", m.Data, want)
	}
	if strings.Join(m.Rcpts, " ") != "a@example.org secret@example.org" {
		t.Errorf("RCPT %v", m.Rcpts)
	}
	if code, _, _ := r.run("", "send", "--raw", f, "--to", "x@example.org"); code != 2 {
		t.Errorf("--raw with --to: exit %d, want 2", code)
	}
}

// TestSendExitCodes: a 4xx is exit 75 and stays queued with the server's words; outbox --flush
// sends it exactly once; a refused recipient is exit 1 with the server's words and stays failed;
// a wrong password names the account; a cut after the final dot "may have been sent" and is not
// flushed; no outgoing server says so; missing flags are exit 2.
func TestSendExitCodes(t *testing.T) {
	r := newSendRig(t, "tls")
	r.srv.ReplyToData(func() error {
		return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 7, 1}, Message: "Greylisted, come back later"}
	})
	code, _, errs := r.run("hi\n", "send", "--to", "a@example.org", "--subject", "grey")
	if code != 75 || !strings.Contains(errs, "451 4.7.1 Greylisted, come back later") || !strings.Contains(errs, "queued in the Outbox") {
		t.Fatalf("send with a 451: exit %d, want 75: %s", code, errs)
	}
	items := r.outbox()
	if len(items) != 1 || items[0].Status != "queued" || items[0].Attempts != 1 || !strings.Contains(items[0].Error, "Greylisted") {
		t.Fatalf("outbox after a 451: %+v", items)
	}
	if code, out, _ := r.run("", "outbox"); code != 0 || !strings.Contains(out, "queued") || !strings.Contains(out, "grey") {
		t.Errorf("outbox: exit %d: %s", code, out)
	}
	if code, _, errs := r.run("", "outbox", "--flush"); code != 75 {
		t.Errorf("outbox --flush while the server still says 451: exit %d, want 75: %s", code, errs)
	}
	r.srv.ReplyToData(nil)
	if code, out, errs := r.run("", "outbox", "acct", "--flush"); code != 0 || !strings.Contains(out, "acct: 1 sent") || !strings.Contains(out, "Outbox is empty") {
		t.Fatalf("outbox --flush: exit %d\n%s%s", code, out, errs)
	}
	if code, _, _ := r.run("", "outbox", "--flush"); code != 0 || len(r.srv.Received()) != 1 {
		t.Fatalf("a second flush: exit %d, %d received; want exactly one", code, len(r.srv.Received()))
	}

	r.srv.RefuseRecipients(func(to string) error {
		if to == "nobody@example.org" {
			return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "User unknown"}
		}
		return nil
	})
	code, _, errs = r.run("hi\n", "send", "--to", "a@example.org,nobody@example.org", "--subject", "bad")
	if code != 1 || !strings.Contains(errs, "<nobody@example.org>: 550 5.1.1 User unknown") || !strings.Contains(errs, "marked failed") {
		t.Fatalf("send to a refused recipient: exit %d, want 1: %s", code, errs)
	}
	if items := r.outbox(); len(items) != 1 || items[0].Status != "failed" {
		t.Fatalf("outbox: %+v", items)
	}
	r.srv.RefuseRecipients(nil)
	if code, _, _ := r.run("", "outbox", "--flush"); code != 0 || len(r.srv.Received()) != 1 {
		t.Fatalf("flush sent a failed message")
	}

	r.secrets["acct"] = "wrong"
	code, _, errs = r.run("hi\n", "send", "--to", "a@example.org", "--subject", "pw")
	if code != 1 || !strings.Contains(errs, "Wrong user name or password for the outgoing server of acct") {
		t.Fatalf("send with a wrong password: exit %d: %s", code, errs)
	}
	r.secrets["acct"] = "pw"

	r.srv.CutAfterDot(true)
	code, _, errs = r.run("hi\n", "send", "--to", "a@example.org", "--subject", "cut")
	if code != 1 || !strings.Contains(errs, "may have been sent") {
		t.Fatalf("send cut after the final dot: exit %d: %s", code, errs)
	}
	r.srv.CutAfterDot(false)
	before := len(r.srv.Received())
	if code, out, _ := r.run("", "outbox", "--flush"); !strings.Contains(out, "may have been sent") || len(r.srv.Received()) != before+1 {
		// The flush sends the queued "pw" message and never the "cut" one.
		t.Fatalf("outbox --flush after a cut: exit %d, %d received (want %d):\n%s", code, len(r.srv.Received()), before+1, out)
	}

	for _, args := range [][]string{
		{"send", "--subject", "x"},
		{"send", "--to", "a@example.org"},
		{"send", "--to", "not an address", "--subject", "x"},
		{"send", "--to", "a@example.org", "--subject", "x", "extra"},
	} {
		if code, _, errs := r.run("", args...); code != 2 {
			t.Errorf("%v: exit %d, want 2: %s", args, code, errs)
		}
	}
	if code, _, errs := r.run("", "account", "set", "acct", "--smtp-host", ""); code != 0 {
		t.Fatalf("removing the outgoing server: exit %d: %s", code, errs)
	}
	if code, _, errs := r.run("hi\n", "send", "--to", "a@example.org", "--subject", "x"); code != 1 || !strings.Contains(errs, "acct has no outgoing server: set one in the account settings") {
		t.Fatalf("send without an outgoing server: exit %d: %s", code, errs)
	}
}

// TestAccountSMTPFlags: the outgoing settings and their defaults; a separate outgoing user has its
// own password entry; --smtp-password-stdin needs one.
func TestAccountSMTPFlags(t *testing.T) {
	r := &sendRig{t: t, dirs: []string{"--config-dir", t.TempDir(), "--data-dir", t.TempDir()}, secrets: account.MemSecrets{}}
	load := func() account.Account {
		cfg, err := account.LoadConfig(r.dirs[1])
		if err != nil {
			t.Fatal(err)
		}
		a, _ := cfg.Find("w")
		return *a
	}
	if code, _, errs := r.run("", "account", "add", "w", "--host", "pop.example.org", "--user", "me", "--smtp-host", "smtp.example.org"); code != 0 {
		t.Fatal(errs)
	}
	if m := load().SMTP; m.Security != "tls" || m.Port != 465 {
		t.Errorf("default outgoing server %+v", m)
	}
	r.run("", "account", "set", "w", "--smtp-security", "starttls")
	if m := load().SMTP; m.Security != "starttls" || m.Port != 587 {
		t.Errorf("after --smtp-security starttls: %+v", m)
	}
	if code, _, _ := r.run("pw\n", "account", "set", "w", "--smtp-password-stdin"); code != 2 {
		t.Errorf("--smtp-password-stdin without --smtp-user: exit %d, want 2", code)
	}
	if code, _, errs := r.run("smtp secret\n", "account", "set", "w", "--smtp-user", "sender", "--smtp-password-stdin"); code != 0 || r.secrets["w/smtp"] != "smtp secret" || r.secrets["w"] != "" {
		t.Fatalf("--smtp-user with --smtp-password-stdin: exit %d, secrets %v: %s", code, r.secrets, errs)
	}
	if code, _, _ := r.run("", "account", "set", "w", "--smtp-security", "ssl3"); code != 1 {
		t.Errorf("a bad security: exit %d, want 1", code)
	}
	if code, out, _ := r.run("", "account", "list"); code != 0 || !strings.Contains(out, "via sender@smtp.example.org:587 (starttls)") {
		t.Errorf("account list: %s", out)
	}
	r.run("", "account", "remove", "w")
	if _, ok := r.secrets["w/smtp"]; ok {
		t.Error("the outgoing password outlived its account")
	}
}
