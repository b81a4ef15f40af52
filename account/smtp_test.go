package account

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
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
