package cli

import (
	"bytes"
	"crypto/rand"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/poplar-mail/poplar/account"
	"github.com/poplar-mail/poplar/internal/dovecot"
	"github.com/poplar-mail/poplar/internal/postfix"
	"github.com/poplar-mail/poplar/storage"
	"github.com/poplar-mail/poplar/storage/mailview"
)

// TestSendPostfixRoundTrip sends with `poplar send` through a real Postfix (submission with
// implicit TLS, AUTH through Dovecot), fetches with `poplar fetch` from Dovecot over POP3S, and
// compares subject, body and attachment bytes; the Bcc recipient gets the message and appears in
// no copy. Then the faults against the real server: a refused recipient over STARTTLS (exit 1 with
// Postfix's words), Postfix down (exit 75, queued; flushed exactly once when it is back), a wrong
// password (exit 1 naming the account).
func TestSendPostfixRoundTrip(t *testing.T) {
	dv := dovecot.StartT(t, dovecot.Options{Users: []dovecot.User{
		{Name: "alice", Password: "alice pw"}, {Name: "bob", Password: "bob pw"}, {Name: "carol", Password: "carol pw"}}})
	pf := postfix.StartT(t, dv, postfix.Options{Refused: []string{"refused@" + postfix.DefaultDomain}})
	r := &sendRig{t: t, dirs: []string{"--config-dir", t.TempDir(), "--data-dir", t.TempDir()},
		secrets: account.MemSecrets{"alice": "alice pw", "bob": "bob pw", "carol": "carol pw"}}
	_, popPort, _ := net.SplitHostPort(dv.POP3SAddr)
	_, tlsPort, _ := net.SplitHostPort(pf.SubmissionTLSAddr)
	_, startPort, _ := net.SplitHostPort(pf.SubmissionSTARTTLSAddr)
	for _, u := range []string{"alice", "bob", "carol"} {
		args := []string{"account", "add", u, "--host", "127.0.0.1", "--port", popPort, "--user", u, "--email", pf.Address(u),
			"--fingerprint", dv.Fingerprint}
		if u == "alice" {
			args = append(args, "--display-name", "Alice Ünïcode", "--smtp-host", "127.0.0.1", "--smtp-port", tlsPort,
				"--smtp-security", "tls", "--smtp-fingerprint", pf.Fingerprint)
		}
		if code, _, errs := r.run("", args...); code != 0 {
			t.Fatalf("account add %s: %s", u, errs)
		}
	}
	dir := t.TempDir()
	att := make([]byte, 300<<10)
	rand.Read(att)
	os.WriteFile(filepath.Join(dir, "data.bin"), att, 0o600)
	body := "Grüße, Bob.\n.a line starting with a dot\nFrom the start of a line\n" + strings.Repeat("long ", 40) + "\n"
	os.WriteFile(filepath.Join(dir, "body.txt"), []byte(body), 0o600)
	subject := "Round trip ✓ über alles"
	code, out, errs := r.run("", "send", "--account", "alice", "--to", pf.Address("bob"), "--bcc", pf.Address("carol"),
		"--subject", subject, "--attach", filepath.Join(dir, "data.bin"), "--body-file", filepath.Join(dir, "body.txt"))
	if code != 0 {
		t.Fatalf("send: exit %d\n%s%s\n%s", code, out, errs, pf.Log())
	}
	for _, u := range []string{"bob", "carol"} {
		if err := pf.WaitDelivered(u, 1, 20*time.Second); err != nil {
			t.Fatal(err)
		}
		if code, _, errs := r.run("", "fetch", u); code != 0 {
			t.Fatalf("fetch %s: %s", u, errs)
		}
		s, err := storage.Open(account.DataDir(r.dirs[3], u))
		if err != nil {
			t.Fatal(err)
		}
		sums, err := s.Summaries(storage.Inbox)
		if err != nil || len(sums) != 1 {
			t.Fatalf("%s: %d messages (%v)", u, len(sums), err)
		}
		raw, _ := os.ReadFile(mustMessagePath(t, s, sums[0].Key))
		// Carol's own copy names her in the server's Delivered-To and Received fields; no copy has a
		// Bcc field, and Bob's does not name her at all.
		if bytes.Contains(bytes.ToLower(raw), []byte("\nbcc:")) || (u == "bob" && bytes.Contains(raw, []byte("carol"))) {
			t.Errorf("%s's copy shows the Bcc recipient:\n%s", u, raw[:min(len(raw), 2000)])
		}
		m, err := mailview.Read(bytes.NewReader(raw), mailview.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if m.Subject != subject || len(m.From) != 1 || m.From[0].Name != "Alice Ünïcode" {
			t.Errorf("%s: subject %q, from %+v", u, m.Subject, m.From)
		}
		if got := strings.ReplaceAll(m.Text(), "\r\n", "\n"); !strings.Contains(got, strings.TrimSpace(body)) {
			t.Errorf("%s: body\n%q\nwant it to hold\n%q", u, got, body)
		}
		if len(m.Attachments) != 1 || m.Attachments[0].Name != "data.bin" {
			t.Fatalf("%s: attachments %+v", u, m.Attachments)
		}
		var got bytes.Buffer
		if _, err := mailview.ExtractAttachment(bytes.NewReader(raw), m.Attachments[0].Index, &got); err != nil || !bytes.Equal(got.Bytes(), att) {
			t.Errorf("%s: the attachment came back with %d bytes (%v), want the %d sent", u, got.Len(), err, len(att))
		}
		s.Close()
	}
	s, err := storage.Open(account.DataDir(r.dirs[3], "alice"))
	if err != nil {
		t.Fatal(err)
	}
	if sums, _ := s.Summaries(storage.Sent); len(sums) != 1 {
		t.Errorf("alice's Sent holds %d messages", len(sums))
	}
	s.Close()

	// A recipient refused for good, over STARTTLS.
	r.run("", "account", "set", "alice", "--smtp-port", startPort, "--smtp-security", "starttls")
	code, _, errs = r.run("x\n", "send", "--account", "alice", "--to", "refused@"+postfix.DefaultDomain, "--subject", "refused")
	if code != 1 || !strings.Contains(errs, "550 5.7.1") {
		t.Fatalf("send to a refused recipient: exit %d, want 1: %s", code, errs)
	}
	// Postfix down: queued, exit 75; back: flushed exactly once.
	if err := pf.Stop(); err != nil {
		t.Fatal(err)
	}
	code, _, errs = r.run("down\n", "send", "--account", "alice", "--to", pf.Address("bob"), "--subject", "while down")
	if code != 75 || !strings.Contains(errs, "queued in the Outbox") {
		t.Fatalf("send with Postfix down: exit %d, want 75: %s", code, errs)
	}
	if err := pf.Restart(); err != nil {
		t.Fatal(err)
	}
	// The refused message stays failed in the Outbox beside it: listed, not retried.
	if code, out, errs := r.run("", "outbox", "alice", "--flush"); code != 0 || !strings.Contains(out, "alice: 1 sent") || !strings.Contains(out, "failed") {
		t.Fatalf("outbox --flush: exit %d\n%s%s", code, out, errs)
	}
	if err := pf.WaitDelivered("bob", 2, 20*time.Second); err != nil {
		t.Fatal(err)
	}
	r.run("", "outbox", "alice", "--flush")
	time.Sleep(500 * time.Millisecond)
	if n, _ := dv.Count("bob"); n != 2 {
		t.Fatalf("bob has %d messages, want 2: the queued one exactly once", n)
	}
	// A wrong password names the account.
	r.secrets["alice"] = "wrong"
	code, _, errs = r.run("x\n", "send", "--account", "alice", "--to", pf.Address("bob"), "--subject", "pw")
	if code != 1 || !strings.Contains(errs, "Wrong user name or password for the outgoing server of alice") {
		t.Fatalf("send with a wrong password: exit %d: %s", code, errs)
	}
}

func mustMessagePath(t *testing.T, s *storage.Store, key string) string {
	t.Helper()
	p, err := s.MessagePath(storage.Inbox, key)
	if err != nil {
		t.Fatal(err)
	}
	return p
}
