package account

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func writeConfig(t *testing.T, text string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, ConfigFile), []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestLoadConfigErrors: an invalid file is an error naming the file, the account and the field.
func TestLoadConfigErrors(t *testing.T) {
	const good = "name = \"work\"\nhost = \"pop.example.org\"\nusername = \"me\"\n"
	tests := []struct {
		name, text string
		want       []string // all must appear in the error
	}{
		{"port out of range", "[[accounts]]\n" + good + "port = 99999\n", []string{ConfigFile, `account "work"`, "port 99999 is out of range"}},
		{"port zero", "[[accounts]]\n" + good + "port = 0\n", []string{`account "work"`, "port 0 is out of range"}},
		{"bad security", "[[accounts]]\n" + good + "security = \"ssl3\"\n", []string{`account "work"`, `security "ssl3"`}},
		{"bad auth", "[[accounts]]\n" + good + "auth = \"kerberos\"\n", []string{`account "work"`, `auth "kerberos"`}},
		{"negative days", "[[accounts]]\n" + good + "delete_after_days = -3\n", []string{`account "work"`, "delete_after_days -3 is negative"}},
		{"negative interval", "[[accounts]]\n" + good + "check_every_minutes = -1\n", []string{"check_every_minutes -1"}},
		{"negative size limit", "[[accounts]]\n" + good + "size_limit_kb = -1\n", []string{"size_limit_kb -1"}},
		{"bad fingerprint", "[[accounts]]\n" + good + "fingerprint = \"abc\"\n", []string{`account "work"`, "fingerprint"}},
		{"relative CA file", "[[accounts]]\n" + good + "ca_file = \"ca.pem\"\n", []string{"ca_file", "absolute"}},
		{"bad email", "[[accounts]]\n" + good + "email = \"nobody\"\n", []string{"email", `"nobody"`}},
		{"no host", "[[accounts]]\nname = \"work\"\nusername = \"me\"\n", []string{`account "work"`, "host"}},
		{"no username", "[[accounts]]\nname = \"work\"\nhost = \"h\"\n", []string{`account "work"`, "username"}},
		{"name with a slash", "[[accounts]]\nname = \"../etc\"\nhost = \"h\"\nusername = \"me\"\n", []string{"name", `"../etc"`}},
		{"second account bad", "[[accounts]]\n" + good + "[[accounts]]\nname = \"home\"\nhost = \"h\"\nusername = \"u\"\nport = 70000\n", []string{`account "home"`, "port 70000"}},
		{"duplicate", "[[accounts]]\n" + good + "[[accounts]]\n" + good, []string{`account "work" appears twice`}},
		{"unknown setting", "[[accounts]]\n" + good + "pasword = \"x\"\n", []string{ConfigFile, `unknown setting "accounts.pasword"`}},
		{"wrong type", "[[accounts]]\n" + good + "port = \"995\"\n", []string{ConfigFile, "port"}},
		{"syntax error", "[[accounts]\n", []string{ConfigFile, "line 2"}},
		{"newer version", "version = 9\n", []string{"version 9 is newer", "upgrade Poplar"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := LoadConfig(writeConfig(t, tt.text))
			if err == nil {
				t.Fatalf("LoadConfig accepted the file: %+v", c)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

// TestLoadConfigDefaults: settings a hand-written file leaves out take New's defaults; settings
// it gives, even false or 0, are kept.
func TestLoadConfigDefaults(t *testing.T) {
	dir := writeConfig(t, `[[accounts]]
name = "minimal"
host = "pop.example.org"
username = "me"

[[accounts]]
name = "explicit"
host = "mail.example.org"
username = "you"
security = "starttls"
enabled = false
leave_on_server = false

[[accounts]]
name = "ported"
host = "h"
username = "u"
port = 1995
`)
	c, err := LoadConfig(dir)
	if err != nil {
		t.Fatal(err)
	}
	want := []Account{
		New("minimal", "pop.example.org", "me"),
		{Name: "explicit", Host: "mail.example.org", Username: "you", Security: SecuritySTARTTLS, Port: 110, Auth: "auto", LeaveOnServer: false, Enabled: false},
		{Name: "ported", Host: "h", Username: "u", Security: SecurityTLS, Port: 1995, Auth: "auto", LeaveOnServer: true, Enabled: true},
	}
	if !reflect.DeepEqual(c.Accounts, want) {
		t.Fatalf("loaded\n%+v\nwant\n%+v", c.Accounts, want)
	}
}

// TestNewKeepsMailOnServer: a new account, however it is made, leaves mail on the server.
func TestNewKeepsMailOnServer(t *testing.T) {
	if a := New("n", "h", "u"); !a.LeaveOnServer || a.DeleteAfterDays != 0 || a.DeleteWhenDeletedHere {
		t.Fatalf("New = %+v, want mail left on the server for good", a)
	}
}

func TestLoadConfigMissingFile(t *testing.T) {
	c, err := LoadConfig(filepath.Join(t.TempDir(), "nothing-here"))
	if err != nil || len(c.Accounts) != 0 || c.Version != ConfigVersion {
		t.Fatalf("LoadConfig of a missing file = %+v, %v; want an empty configuration", c, err)
	}
}

// TestConfigSaveRoundTrip: every setting survives Save and LoadConfig; the file is 0600 in a 0700
// folder, has a version and no password, and no temporary file is left behind.
func TestConfigSaveRoundTrip(t *testing.T) {
	full := Account{
		Name: "work", Email: "me@example.org", DisplayName: "Me Myself", Host: "pop.example.org", Port: 1110,
		Security: SecuritySTARTTLS, Auth: "scram", Username: "me@example.org", CAFile: "/etc/ssl/ca.pem",
		Fingerprint: strings.Repeat("ab", 32), AllowInsecureAuth: false, LeaveOnServer: true, DeleteAfterDays: 14,
		DeleteWhenDeletedHere: true, CheckAtStartup: true, CheckEveryMinutes: 10, SizeLimitKB: 2048, Enabled: true,
	}
	off := New("home", "pop.example.net", "u")
	off.Enabled = false
	off.Security, off.Port, off.AllowInsecureAuth = SecurityNone, 110, true
	dir := filepath.Join(t.TempDir(), "config")
	c := &Config{Accounts: []Account{full, off}}
	if err := c.Save(dir); err != nil {
		t.Fatal(err)
	}
	got, err := LoadConfig(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got.Accounts, c.Accounts) {
		t.Fatalf("after Save and Load:\n%+v\nwant\n%+v", got.Accounts, c.Accounts)
	}
	path := filepath.Join(dir, ConfigFile)
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("settings file mode = %v, %v; want 0600", fi.Mode(), err)
	}
	if fi, err := os.Stat(dir); err != nil || fi.Mode().Perm() != 0o700 {
		t.Fatalf("config folder mode = %v, %v; want 0700", fi.Mode(), err)
	}
	data, _ := os.ReadFile(path)
	if !strings.Contains(string(data), "version = 1") || strings.Contains(strings.ToLower(string(data)), "password =") {
		t.Fatalf("settings file:\n%s", data)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Fatalf("config folder holds %d files, want only %s", len(entries), ConfigFile)
	}

	// An invalid account is never written, and the old file stays as it was.
	bad := full
	bad.Port = 99999
	c.Accounts[0] = bad
	if err := c.Save(dir); err == nil || !strings.Contains(err.Error(), "port 99999") {
		t.Fatalf("Save of an invalid account = %v", err)
	}
	if after, _ := os.ReadFile(path); string(after) != string(data) {
		t.Fatal("a failed Save changed the settings file")
	}
}

func TestConfigAddUpdateRemove(t *testing.T) {
	var c Config
	a := New("work", "h", "u")
	if err := c.Add(a); err != nil {
		t.Fatal(err)
	}
	if err := c.Add(a); err == nil || !strings.Contains(err.Error(), "already taken") {
		t.Fatalf("adding a second %q = %v", a.Name, err)
	}
	a.Port = 0
	if err := c.Update(a); err == nil {
		t.Fatal("Update accepted port 0")
	}
	a.Port = 1995
	if err := c.Update(a); err != nil {
		t.Fatal(err)
	}
	if p, ok := c.Find("work"); !ok || p.Port != 1995 {
		t.Fatalf("Find after Update = %+v, %v", p, ok)
	}
	if err := c.Update(New("other", "h", "u")); err == nil {
		t.Fatal("Update of a missing account succeeded")
	}
	if err := c.Remove("work"); err != nil || len(c.Accounts) != 0 {
		t.Fatalf("Remove = %v, %d left", err, len(c.Accounts))
	}
	if err := c.Remove("work"); err == nil {
		t.Fatal("removing a missing account succeeded")
	}
}
