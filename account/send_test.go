package account

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/poplar-mail/poplar/internal/smtptest"
	"github.com/poplar-mail/poplar/pop"
	"github.com/poplar-mail/poplar/storage"
)

// smtpAccount returns an account sending through r as user "me".
func smtpAccount(r *smtptest.Server, security string) Account {
	a := New("acct", "127.0.0.1", "me")
	a.Email = "me@example.org"
	a.CAFile = r.CAFile
	a.SMTP = SMTPServer{Host: "127.0.0.1", Port: r.Port, Security: security}
	return a
}

const testMessage = "From: Me <me@example.org>\r\nTo: You <you@example.org>\r\nSubject: Hello\r\n" +
	"Message-ID: <1@example.org>\r\nDate: Mon, 30 Nov 2026 12:00:00 +0000\r\nMIME-Version: 1.0\r\n" +
	"Content-Type: text/plain; charset=utf-8\r\n\r\nHi there.\r\n.A line starting with a dot.\r\n"

// queue stores msg in the Outbox with the envelope me -> rcpts.
func queue(t *testing.T, s *storage.Store, msg string, rcpts ...string) string {
	t.Helper()
	if len(rcpts) == 0 {
		rcpts = []string{"you@example.org", "hidden@example.org"} // hidden is a Bcc: not in the message
	}
	key, err := s.Queue(strings.NewReader(msg), storage.OutboxState{From: "me@example.org", To: rcpts})
	if err != nil {
		t.Fatal(err)
	}
	return key
}

func counts(t *testing.T, s *storage.Store) (outbox, sent int) {
	t.Helper()
	o, err := s.OutboxEntries()
	if err != nil {
		t.Fatal(err)
	}
	sums, err := s.Summaries(storage.Sent)
	if err != nil && !errors.Is(err, storage.ErrNoFolder) {
		t.Fatal(err)
	}
	return len(o), len(sums)
}

func lf(b []byte) string { return strings.ReplaceAll(string(b), "\r\n", "\n") }

// TestSendSuccess: over TLS, STARTTLS and (with the opt-in) no encryption, the message reaches the
// server byte for byte, every envelope recipient (the Bcc too) gets it, the Bcc is nowhere in the
// data, the message moves from the Outbox to Sent and the message it answers is flagged.
func TestSendSuccess(t *testing.T) {
	for _, sec := range []string{SecurityTLS, SecuritySTARTTLS, SecurityNone} {
		t.Run(sec, func(t *testing.T) {
			r := smtptest.Start(t, sec)
			a := smtpAccount(r, sec)
			a.AllowInsecureAuth = sec == SecurityNone
			s := openTestStore(t)
			orig, err := s.AddToFolder(storage.Inbox, strings.NewReader("From: you@example.org\r\nSubject: question\r\n\r\n?\r\n"))
			if err != nil {
				t.Fatal(err)
			}
			key, err := s.Queue(strings.NewReader(testMessage), storage.OutboxState{From: "me@example.org",
				To: []string{"you@example.org", "hidden@example.org"}, AnswersFolder: storage.Inbox, AnswersKey: orig, AnswerFlag: storage.FlagAnswered})
			if err != nil {
				t.Fatal(err)
			}
			stored, err := os.ReadFile(mustPath(t, s, storage.Outbox, key))
			if err != nil {
				t.Fatal(err)
			}
			if err := Send(context.Background(), a, s, key, MemSecrets{"acct": "pw"}); err != nil {
				t.Fatalf("Send = %v", err)
			}
			got := r.Received()
			if len(got) != 1 {
				t.Fatalf("the server received %d messages, want 1", len(got))
			}
			if lf(got[0].Data) != lf(stored) {
				t.Errorf("the server received\n%q\nwant the stored message\n%q", got[0].Data, stored)
			}
			if strings.Join(got[0].Rcpts, ",") != "you@example.org,hidden@example.org" || got[0].From != "me@example.org" {
				t.Errorf("envelope = %s -> %v", got[0].From, got[0].Rcpts)
			}
			if bytes.Contains(got[0].Data, []byte("hidden")) {
				t.Error("the Bcc recipient is in the data")
			}
			if o, n := counts(t, s); o != 0 || n != 1 {
				t.Errorf("after sending: %d in the Outbox, %d in Sent; want 0 and 1", o, n)
			}
			sent, err := s.Summary(storage.Sent, key)
			if err != nil {
				t.Fatal(err)
			}
			if sent.Subject != "Hello" {
				t.Errorf("Sent holds %q", sent.Subject)
			}
			if m, _ := s.Summary(storage.Inbox, orig); m.Flags&storage.FlagAnswered == 0 {
				t.Errorf("the answered message has flags %v, want R", m.Flags)
			}
		})
	}
}

func mustPath(t *testing.T, s *storage.Store, folder, key string) string {
	t.Helper()
	p, err := s.MessagePath(folder, key)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestSendTemporary: a 4xx reply leaves the message queued with the server's words (a temporary
// SendError); a flush once the server is well sends it exactly once; a second flush sends nothing.
func TestSendTemporary(t *testing.T) {
	r := smtptest.Start(t, SecurityTLS)
	a := smtpAccount(r, SecurityTLS)
	s := openTestStore(t)
	key := queue(t, s, testMessage)
	r.ReplyToData(func() error {
		return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "Try again later, queue full"}
	})
	err := Send(context.Background(), a, s, key, MemSecrets{"acct": "pw"})
	var se *SendError
	if !errors.As(err, &se) || !se.Temporary || se.Status != storage.OutboxQueued || !IsTemporarySend(err) {
		t.Fatalf("Send with a 451 = %v, want a temporary SendError leaving it queued", err)
	}
	e, _ := s.OutboxEntry(key)
	if e.State.Status != storage.OutboxQueued || !strings.Contains(e.State.Error, "451 4.3.0 Try again later, queue full") || e.State.Attempts != 1 {
		t.Errorf("state after a 451 = %+v", e.State)
	}
	if what, _ := Explain(err, "acct"); !strings.Contains(what, "cannot take the message now") {
		t.Errorf("Explain = %q", what)
	}
	r.ReplyToData(nil)
	n, err := FlushOutbox(context.Background(), a, s, MemSecrets{"acct": "pw"})
	if err != nil || n != 1 {
		t.Fatalf("FlushOutbox = %d, %v; want 1 sent", n, err)
	}
	n, err = FlushOutbox(context.Background(), a, s, MemSecrets{"acct": "pw"})
	if err != nil || n != 0 {
		t.Fatalf("second FlushOutbox = %d, %v; want nothing to send", n, err)
	}
	if got := r.Received(); len(got) != 1 {
		t.Fatalf("the server received %d messages, want exactly 1", len(got))
	}
	if o, sent := counts(t, s); o != 0 || sent != 1 {
		t.Errorf("%d in the Outbox, %d in Sent", o, sent)
	}
}

// TestSendRecipientRefused: a recipient refused for good fails the message before DATA (nobody
// gets it), with the server's words; a flush leaves it alone.
func TestSendRecipientRefused(t *testing.T) {
	r := smtptest.Start(t, SecuritySTARTTLS)
	a := smtpAccount(r, SecuritySTARTTLS)
	s := openTestStore(t)
	key := queue(t, s, testMessage, "you@example.org", "nobody@example.org")
	r.RefuseRecipients(func(to string) error {
		if to == "nobody@example.org" {
			return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "No such user here"}
		}
		return nil
	})
	err := Send(context.Background(), a, s, key, MemSecrets{"acct": "pw"})
	var re *RecipientsError
	if !errors.As(err, &re) || IsTemporarySend(err) || len(re.Refused) != 1 || re.Refused[0].Address != "nobody@example.org" {
		t.Fatalf("Send to a refused recipient = %v", err)
	}
	e, _ := s.OutboxEntry(key)
	if e.State.Status != storage.OutboxFailed || !strings.Contains(e.State.Error, "<nobody@example.org>: 550 5.1.1 No such user here") {
		t.Errorf("state = %+v", e.State)
	}
	what, _ := Explain(err, "acct")
	if !strings.Contains(what, "550 5.1.1 No such user here") || !strings.Contains(what, "acct") {
		t.Errorf("Explain = %q", what)
	}
	if n, err := FlushOutbox(context.Background(), a, s, MemSecrets{"acct": "pw"}); n != 0 || err != nil {
		t.Errorf("FlushOutbox = %d, %v; a failed message is not retried by itself", n, err)
	}
	if len(r.Received()) != 0 {
		t.Error("the server received the message")
	}
}

// TestSendWrongPassword: 535 is an SMTPAuthError naming the account; the message stays queued.
func TestSendWrongPassword(t *testing.T) {
	r := smtptest.Start(t, SecurityTLS)
	a := smtpAccount(r, SecurityTLS)
	s := openTestStore(t)
	key := queue(t, s, testMessage)
	err := Send(context.Background(), a, s, key, MemSecrets{"acct": "wrong"})
	if !IsSMTPAuthFailure(err) || IsTemporarySend(err) || IsAuthFailure(err) {
		t.Fatalf("Send with a wrong password = %v", err)
	}
	if what, _ := Explain(err, "acct"); !strings.Contains(what, "Wrong user name or password for the outgoing server of acct") {
		t.Errorf("Explain = %q", what)
	}
	if e, _ := s.OutboxEntry(key); e.State.Status != storage.OutboxQueued {
		t.Errorf("state = %+v, want queued", e.State)
	}
}

// TestSendSeparateUser: an outgoing user other than the incoming one has its own secret.
func TestSendSeparateUser(t *testing.T) {
	r := smtptest.Start(t, SecurityTLS)
	r.AddUser("smtpuser", "smtppw")
	a := smtpAccount(r, SecurityTLS)
	a.SMTP.Username = "smtpuser"
	if a.SMTPSecretName() != "acct/smtp" {
		t.Fatalf("SMTPSecretName = %q", a.SMTPSecretName())
	}
	s := openTestStore(t)
	key := queue(t, s, testMessage)
	if err := Send(context.Background(), a, s, key, MemSecrets{"acct": "pw", "acct/smtp": "smtppw"}); err != nil {
		t.Fatal(err)
	}
	a.SMTP.Username = "me"
	if a.SMTPSecretName() != "acct" {
		t.Fatalf("SMTPSecretName with the incoming user = %q", a.SMTPSecretName())
	}
}

// TestSendSTARTTLSStripped: a server that does not offer STARTTLS gets no password and no mail.
func TestSendSTARTTLSStripped(t *testing.T) {
	r := smtptest.Start(t, SecurityNone) // plain, no STARTTLS: as if an attacker removed it
	a := smtpAccount(r, SecuritySTARTTLS)
	s := openTestStore(t)
	key := queue(t, s, testMessage)
	err := Send(context.Background(), a, s, key, MemSecrets{"acct": "pw"})
	if !errors.Is(err, ErrSMTPNoSTARTTLS) || IsTemporarySend(err) {
		t.Fatalf("Send without STARTTLS = %v", err)
	}
	if auths, mails := r.Counts(); auths != 0 || mails != 0 {
		t.Errorf("the server saw %d AUTH and %d MAIL", auths, mails)
	}
	if what, _ := Explain(err, "acct"); !strings.Contains(what, "did not offer STARTTLS") {
		t.Errorf("Explain = %q", what)
	}
	// Over no encryption, a password needs the opt-in.
	a.SMTP.Security = SecurityNone
	if err := Send(context.Background(), a, s, key, MemSecrets{"acct": "pw"}); !errors.Is(err, ErrSMTPInsecureAuth) {
		t.Fatalf("Send of a password in the clear = %v", err)
	}
}

// TestSendCertificate: an untrusted certificate is a *pop.CertificateError and gets no password;
// pinning its fingerprint (the outgoing server's own pin) lets the message go.
func TestSendCertificate(t *testing.T) {
	r := smtptest.Start(t, SecurityTLS)
	a := smtpAccount(r, SecurityTLS)
	a.CAFile = ""
	s := openTestStore(t)
	key := queue(t, s, testMessage)
	err := Send(context.Background(), a, s, key, MemSecrets{"acct": "pw"})
	var ce *pop.CertificateError
	if !errors.As(err, &ce) || ce.Reason != pop.CertSelfSigned || IsTemporarySend(err) {
		t.Fatalf("Send to an untrusted certificate = %v", err)
	}
	if auths, _ := r.Counts(); auths != 0 {
		t.Error("a password went to an untrusted server")
	}
	if what, _ := Explain(err, "acct"); !strings.Contains(what, "outgoing server of acct") {
		t.Errorf("Explain = %q", what)
	}
	a.SMTP.Fingerprint = ce.Fingerprint
	if err := Send(context.Background(), a, s, key, MemSecrets{"acct": "pw"}); err != nil {
		t.Fatalf("Send with the pinned certificate = %v", err)
	}
	a.SMTP.Fingerprint = strings.Repeat("AB", 32)
	key = queue(t, s, testMessage)
	if err := Send(context.Background(), a, s, key, MemSecrets{"acct": "pw"}); !errors.As(err, &ce) || ce.Reason != pop.CertPinChanged {
		t.Fatalf("Send with another pin = %v", err)
	}
}

// TestSendCutAfterDot: the connection ends after the final dot and before the reply: the message
// "may have been sent", a flush does not send it again, only Force does.
func TestSendCutAfterDot(t *testing.T) {
	r := smtptest.Start(t, SecurityTLS)
	a := smtpAccount(r, SecurityTLS)
	s := openTestStore(t)
	key := queue(t, s, testMessage)
	r.CutAfterDot(true)
	err := Send(context.Background(), a, s, key, MemSecrets{"acct": "pw"})
	var se *SendError
	if !errors.As(err, &se) || se.Status != storage.OutboxMaybeSent || IsTemporarySend(err) {
		t.Fatalf("Send cut after the final dot = %v, want may have been sent", err)
	}
	if what, _ := Explain(err, "acct"); !strings.Contains(what, "may have been sent") {
		t.Errorf("Explain = %q", what)
	}
	entries, _ := s.OutboxEntries()
	if len(entries) != 1 || entries[0].State.Status != storage.OutboxMaybeSent {
		t.Fatalf("Outbox = %+v", entries)
	}
	r.CutAfterDot(false)
	if n, err := FlushOutbox(context.Background(), a, s, MemSecrets{"acct": "pw"}); n != 0 || err != nil {
		t.Fatalf("FlushOutbox = %d, %v; it must not resend", n, err)
	}
	if err := Send(context.Background(), a, s, key, MemSecrets{"acct": "pw"}); !errors.Is(err, ErrMaybeSent) {
		t.Fatalf("Send again = %v, want ErrMaybeSent", err)
	}
	if len(r.Received()) != 0 {
		t.Fatal("resent")
	}
	if err := SendEntry(context.Background(), a, s, key, SendOptions{Secrets: MemSecrets{"acct": "pw"}, Force: true}); err != nil {
		t.Fatalf("forced send = %v", err)
	}
	if len(r.Received()) != 1 {
		t.Fatal("the forced send did not arrive")
	}
}

// TestSendNoOutgoingServer: an account without [accounts.smtp] cannot send and says so.
func TestSendNoOutgoingServer(t *testing.T) {
	s := openTestStore(t)
	key := queue(t, s, testMessage)
	err := Send(context.Background(), New("old", "h", "u"), s, key, MemSecrets{})
	if err == nil || !strings.Contains(err.Error(), "old has no outgoing server: set one in the account settings") {
		t.Fatalf("Send = %v", err)
	}
	if what, _ := Explain(err, "old"); what != "old has no outgoing server: set one in the account settings" {
		t.Errorf("Explain = %q", what)
	}
}

// sendChildSpec is the send a child process runs (see init).
type sendChildSpec struct {
	Dir     string
	Account Account
	Key     string
}

func init() {
	spec := os.Getenv("POPLAR_SEND_CHILD")
	if spec == "" {
		return
	}
	var c sendChildSpec
	if err := json.Unmarshal([]byte(spec), &c); err != nil {
		os.Exit(3)
	}
	s, err := storage.Open(c.Dir)
	if err != nil {
		os.Exit(4)
	}
	if err := Send(context.Background(), c.Account, s, c.Key, StaticSecret("pw")); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Exit(0)
}

// TestSendKill9 kills a sending process at seeded random instants: afterwards the message is in
// the Outbox or in Sent, never lost; when the server has it and it is still in the Outbox, it "may
// have been sent"; a flush then sends only what the server never got, so nobody gets it twice.
func TestSendKill9(t *testing.T) {
	r := smtptest.Start(t, SecurityTLS)
	rng := rand.New(rand.NewSource(12))
	var rmu sync.Mutex
	r.Delay(func() time.Duration {
		rmu.Lock()
		defer rmu.Unlock()
		return time.Duration(rng.Int63n(int64(40 * time.Millisecond)))
	})
	n := 2 * trials()
	outcomes := map[string]int{}
	for i := 0; i < n; i++ {
		dir := t.TempDir()
		s, err := storage.Open(dir)
		if err != nil {
			t.Fatal(err)
		}
		subject := fmt.Sprintf("trial %d", i)
		key := queue(t, s, strings.Replace(testMessage, "Subject: Hello", "Subject: "+subject, 1), "you@example.org")
		data, _ := json.Marshal(sendChildSpec{Dir: dir, Account: smtpAccount(r, SecurityTLS), Key: key})
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), "POPLAR_SEND_CHILD="+string(data))
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		rmu.Lock()
		wait := time.Duration(rng.Int63n(int64(120 * time.Millisecond)))
		rmu.Unlock()
		time.Sleep(wait)
		cmd.Process.Signal(syscall.SIGKILL)
		cmd.Wait()
		time.Sleep(50 * time.Millisecond) // let the server finish a message it was given whole

		arrived := 0
		for _, m := range r.Received() {
			if bytes.Contains(m.Data, []byte("Subject: "+subject+"\r\n")) {
				arrived++
			}
		}
		entries, err := s.OutboxEntries()
		if err != nil {
			t.Fatal(err)
		}
		sent, _ := s.Summaries(storage.Sent)
		outcome := ""
		switch {
		case len(entries)+len(sent) != 1:
			t.Fatalf("trial %d: %d in the Outbox and %d in Sent, want the message in one of them", i, len(entries), len(sent))
		case len(sent) == 1:
			outcome = "sent"
			if arrived != 1 {
				t.Fatalf("trial %d: in Sent, but the server has %d copies", i, arrived)
			}
		default:
			outcome = entries[0].State.Status.String()
			st := entries[0].State.Status
			if arrived == 1 && st != storage.OutboxMaybeSent && st != storage.OutboxSent {
				t.Fatalf("trial %d: the server has it, and the Outbox says %q, not \"may have been sent\"", i, outcome)
			}
			if st == storage.OutboxSent && arrived != 1 {
				t.Fatalf("trial %d: the Outbox says sent, and the server has %d copies", i, arrived)
			}
			outcome = "outbox: " + outcome
		}
		outcomes[outcome]++
		// The next flush sends what is queued and never what may have been sent.
		if _, err := FlushOutbox(context.Background(), smtpAccount(r, SecurityTLS), s, StaticSecret("pw")); err != nil {
			t.Fatalf("trial %d: flush: %v", i, err)
		}
		arrivedAfter := 0
		for _, m := range r.Received() {
			if bytes.Contains(m.Data, []byte("Subject: "+subject+"\r\n")) {
				arrivedAfter++
			}
		}
		if arrivedAfter != 1 && !(outcome == "outbox: "+storage.OutboxMaybeSent.String() && arrivedAfter == arrived) {
			t.Fatalf("trial %d (%s): the server has %d copies after the flush", i, outcome, arrivedAfter)
		}
		if o, sentN := counts(t, s); o+sentN != 1 || (arrivedAfter == 1) != (sentN == 1) && outcome != "outbox: "+storage.OutboxMaybeSent.String() {
			t.Fatalf("trial %d (%s): after the flush %d in the Outbox, %d in Sent, %d at the server", i, outcome, o, sentN, arrivedAfter)
		}
		s.Close()
	}
	t.Logf("%d kills: %v", n, outcomes)
}

// TestOutgoingCheck: TestOutgoing signs in and sends nothing; a wrong password is an
// SMTPAuthError; STARTTLS stripped is refused.
func TestOutgoingCheck(t *testing.T) {
	r := smtptest.Start(t, SecuritySTARTTLS)
	a := smtpAccount(r, SecuritySTARTTLS)
	info, err := TestOutgoing(context.Background(), a, "pw")
	if err != nil || !info.SignedIn || strings.Join(info.Auth, " ") != "PLAIN" || !info.SMTPUTF8 || info.Security != SecuritySTARTTLS {
		t.Fatalf("TestOutgoing = %+v, %v", info, err)
	}
	if _, mails := r.Counts(); mails != 0 {
		t.Error("TestOutgoing sent MAIL")
	}
	if _, err := TestOutgoing(context.Background(), a, "wrong"); !IsSMTPAuthFailure(err) {
		t.Fatalf("TestOutgoing with a wrong password = %v", err)
	}
	plain := smtptest.Start(t, SecurityNone)
	if _, err := TestOutgoing(context.Background(), smtpAccount(plain, SecuritySTARTTLS), "pw"); !errors.Is(err, ErrSMTPNoSTARTTLS) {
		t.Fatalf("TestOutgoing without STARTTLS = %v", err)
	}
}

// TestSendWithoutEnvelope: a message put in the Outbox without an envelope record (AddToFolder)
// is sent to its To, Cc and Bcc, without its Bcc field.
func TestSendWithoutEnvelope(t *testing.T) {
	r := smtptest.Start(t, SecurityTLS)
	s := openTestStore(t)
	msg := strings.Replace(testMessage, "Subject: Hello\r\n", "Subject: Hello\r\nBcc: hidden@example.org\r\n", 1)
	key, err := s.AddToFolder(storage.Outbox, strings.NewReader(msg))
	if err != nil {
		t.Fatal(err)
	}
	if err := Send(context.Background(), smtpAccount(r, SecurityTLS), s, key, MemSecrets{"acct": "pw"}); err != nil {
		t.Fatal(err)
	}
	got := r.Received()
	if len(got) != 1 || strings.Join(got[0].Rcpts, ",") != "you@example.org,hidden@example.org" || got[0].From != "me@example.org" ||
		lf(got[0].Data) != lf([]byte(testMessage)) {
		t.Fatalf("received %+v", got)
	}
	// A retry (after a 4xx) leaves the Bcc field out too.
	key, _ = s.AddToFolder(storage.Outbox, strings.NewReader(msg))
	r.ReplyToData(func() error { return &smtp.SMTPError{Code: 451, Message: "later"} })
	if err := Send(context.Background(), smtpAccount(r, SecurityTLS), s, key, MemSecrets{"acct": "pw"}); !IsTemporarySend(err) {
		t.Fatalf("Send with a 451 = %v", err)
	}
	r.ReplyToData(nil)
	if err := Send(context.Background(), smtpAccount(r, SecurityTLS), s, key, MemSecrets{"acct": "pw"}); err != nil {
		t.Fatal(err)
	}
	if got := r.Received(); len(got) != 2 || bytes.Contains(got[1].Data, []byte("Bcc")) || len(got[1].Rcpts) != 2 {
		t.Fatalf("the retry received %+v", got[1])
	}
	key, _ = s.AddToFolder(storage.Outbox, strings.NewReader("Subject: nobody\r\n\r\nx\r\n"))
	if err := Send(context.Background(), smtpAccount(r, SecurityTLS), s, key, MemSecrets{"acct": "pw"}); err == nil || IsTemporarySend(err) {
		t.Fatalf("Send of a message with no From = %v", err)
	}
	if e, _ := s.OutboxEntry(key); e.State.Status != storage.OutboxFailed {
		t.Errorf("state %+v", e.State)
	}
}
