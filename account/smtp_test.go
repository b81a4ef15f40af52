package account

import (
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"testing"

	"github.com/emersion/go-smtp"

	"github.com/poplar-mail/poplar/storage"
)

// TestSMTPSettings: the outgoing server and identity survive Save and LoadConfig, written as
// version 2 under [accounts.smtp]; a version 1 file (no outgoing server) loads unchanged and is
// written again as version 1; defaults fill a hand-written table; bad values name their field.
func TestSMTPSettings(t *testing.T) {
	a := New("work", "pop.example.org", "me")
	a.ReplyTo = "Me <me@example.org>, team@example.org"
	a.Signature = "-- \nMe"
	a.SMTP = SMTPServer{Host: "smtp.example.org", Port: 587, Security: SecuritySTARTTLS, Username: "other", Fingerprint: strings.Repeat("cd", 32)}
	dir := t.TempDir()
	c := &Config{Accounts: []Account{a, New("plain", "h", "u")}}
	if err := c.Save(dir); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(filepath.Join(dir, ConfigFile))
	if !strings.Contains(string(data), "version = 2") || !strings.Contains(string(data), "[accounts.smtp]") {
		t.Fatalf("settings file:\n%s", data)
	}
	got, err := LoadConfig(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got.Accounts, c.Accounts) {
		t.Fatalf("after Save and Load:\n%+v\nwant\n%+v", got.Accounts, c.Accounts)
	}
	if got.Accounts[1].CanSend() {
		t.Error("an account without [accounts.smtp] can send")
	}

	old := "version = 1\n[[accounts]]\nname = \"old\"\nhost = \"pop.example.org\"\nusername = \"u\"\n"
	os.WriteFile(filepath.Join(dir, ConfigFile), []byte(old), 0o600)
	got, err = LoadConfig(dir)
	if err != nil || got.Accounts[0].SMTP != (SMTPServer{}) {
		t.Fatalf("version 1 file: %+v, %v", got, err)
	}
	if err := got.Save(dir); err != nil {
		t.Fatal(err)
	}
	if data, _ := os.ReadFile(filepath.Join(dir, ConfigFile)); !strings.Contains(string(data), "version = 1") || strings.Contains(string(data), "smtp") {
		t.Fatalf("a file without outgoing servers is written as:\n%s", data)
	}

	for _, tc := range []struct {
		table, security string
		port            int
	}{
		{"host = \"s\"\n", SecurityTLS, 465},
		{"host = \"s\"\nsecurity = \"starttls\"\n", SecuritySTARTTLS, 587},
		{"host = \"s\"\nsecurity = \"tls\"\nport = 2465\n", SecurityTLS, 2465},
	} {
		os.WriteFile(filepath.Join(dir, ConfigFile), []byte(old+"[accounts.smtp]\n"+tc.table), 0o600)
		got, err := LoadConfig(dir)
		if err != nil {
			t.Fatalf("%q: %v", tc.table, err)
		}
		if m := got.Accounts[0].SMTP; m.Security != tc.security || m.Port != tc.port {
			t.Errorf("%q loads as %+v, want %s on %d", tc.table, m, tc.security, tc.port)
		}
	}

	for _, tc := range []struct {
		change func(*Account)
		field  string
	}{
		{func(a *Account) { a.SMTP.Host = "" }, "smtp.host"},
		{func(a *Account) { a.SMTP.Host = "a b" }, "smtp.host"},
		{func(a *Account) { a.SMTP.Security = "ssl" }, "smtp.security"},
		{func(a *Account) { a.SMTP.Port = 0 }, "smtp.port"},
		{func(a *Account) { a.SMTP.Username = "x\r\ny" }, "smtp.username"},
		{func(a *Account) { a.SMTP.Fingerprint = "abc" }, "smtp.fingerprint"},
		{func(a *Account) { a.ReplyTo = "not an address" }, "reply_to"},
	} {
		b := a
		tc.change(&b)
		err := b.Validate()
		fe, ok := err.(*FieldError)
		if !ok || fe.Field != tc.field {
			t.Errorf("Validate = %v, want a FieldError on %s", err, tc.field)
		}
	}
}

// TestExplainSend: every sending failure has plain words naming the account, and a remedy that
// points to the app, never to the command line.
func TestExplainSend(t *testing.T) {
	reply := func(code int, ec smtp.EnhancedCode, msg string) *smtp.SMTPError {
		return &smtp.SMTPError{Code: code, EnhancedCode: ec, Message: msg}
	}
	send := func(st storage.OutboxStatus, temp bool, err error) error {
		return &SendError{Account: "work", Key: "k", Status: st, Temporary: temp, Err: err}
	}
	tests := []struct {
		err  error
		want string
	}{
		{&NoOutgoingServerError{Account: "work"}, "work has no outgoing server: set one in the account settings"},
		{send(storage.OutboxMaybeSent, false, io.ErrUnexpectedEOF), "may have been sent"},
		{send(storage.OutboxMaybeSent, false, ErrMaybeSent), "may have been sent"},
		{send(storage.OutboxQueued, true, storage.ErrSendInProgress), "Another Poplar is sending the mail of work"},
		{send(storage.OutboxQueued, false, &SMTPAuthError{Account: "work", User: "me", Err: reply(535, smtp.EnhancedCode{5, 7, 8}, "bad credentials")}),
			"Wrong user name or password for the outgoing server of work (the server said: 535 5.7.8 bad credentials)"},
		{send(storage.OutboxFailed, false, &RecipientsError{Refused: []RecipientError{{"x@y", reply(550, smtp.EnhancedCode{5, 1, 1}, "no such user")}}}),
			"refused recipients, so the message went to nobody: <x@y>: 550 5.1.1 no such user"},
		{send(storage.OutboxQueued, false, ErrSMTPNoSTARTTLS), "did not offer STARTTLS"},
		{send(storage.OutboxQueued, false, ErrSMTPInjection), "before encryption began"},
		{send(storage.OutboxQueued, false, ErrSMTPInsecureAuth), "over an unencrypted connection"},
		{send(storage.OutboxQueued, false, ErrSMTPNoMechanism), "no sign-in method"},
		{send(storage.OutboxQueued, true, reply(421, smtp.EnhancedCode{4, 3, 2}, "shutting down")), "cannot take the message now: 421 4.3.2 shutting down"},
		{send(storage.OutboxFailed, false, reply(552, smtp.EnhancedCode{5, 3, 4}, "too big")), "as too large"},
		{send(storage.OutboxFailed, false, reply(554, smtp.EnhancedCode{5, 7, 1}, "relay denied")), "refused the message: 554 5.7.1 relay denied"},
		{send(storage.OutboxQueued, true, &net.OpError{Op: "dial", Err: syscall.ECONNREFUSED}), "outgoing server of work refused the connection"},
		{send(storage.OutboxQueued, false, fmt.Errorf("x: %w", ErrNoSecret)), "No password is stored for work"},
	}
	for _, tt := range tests {
		what, remedy := Explain(tt.err, "work")
		if !strings.Contains(what, tt.want) || remedy == "" {
			t.Errorf("Explain(%v) = %q, %q; want %q", tt.err, what, remedy, tt.want)
		}
		if strings.Contains(remedy, "poplar ") || strings.Contains(what, "account: ") {
			t.Errorf("Explain(%v) = %q, %q: no command line, no package prefix", tt.err, what, remedy)
		}
	}
}
