// Package account is Poplar's application layer: account settings and the file that holds them
// (accounts.toml), passwords behind SecretStore (the OS keyring in production), and Fetch, which
// joins one POP3 session to one local store under the leave-on-server policy. It never imports
// Fyne; the desktop app and the command line both drive it and listen to its events.
package account

import (
	"errors"
	"fmt"
	"net"
	"net/mail"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"

	"github.com/BurntSushi/toml"

	"github.com/poplar-mail/poplar/pop"
	"github.com/poplar-mail/poplar/storage"
)

// Security modes as stored in the settings file.
const (
	SecurityTLS      = "tls"
	SecuritySTARTTLS = "starttls"
	SecurityNone     = "none"
)

// Auth methods as stored in the settings file.
var authMethods = []string{"auto", "password", "apop", "cram-md5", "scram", "oauth2"}

// Account is one mail account's settings. The password is not here: it lives in a SecretStore.
type Account struct {
	Name        string `toml:"name"`
	Email       string `toml:"email"`
	DisplayName string `toml:"display_name"`
	Host        string `toml:"host"`
	Port        int    `toml:"port"`
	Security    string `toml:"security"` // tls, starttls or none
	Auth        string `toml:"auth"`     // auto, password, apop, cram-md5, scram or oauth2
	Username    string `toml:"username"`
	CAFile      string `toml:"ca_file"`
	Fingerprint string `toml:"fingerprint"` // pinned SHA-256 of the server certificate
	// AllowInsecureAuth allows a password over security "none"; off unless the user asks.
	AllowInsecureAuth bool `toml:"allow_insecure_auth"`

	LeaveOnServer         bool `toml:"leave_on_server"`
	DeleteAfterDays       int  `toml:"delete_after_days"` // with LeaveOnServer; 0 = never
	DeleteWhenDeletedHere bool `toml:"delete_when_deleted_here"`
	CheckAtStartup        bool `toml:"check_at_startup"`
	CheckEveryMinutes     int  `toml:"check_every_minutes"` // 0 = manual
	SizeLimitKB           int  `toml:"size_limit_kb"`       // larger messages: headers only; 0 = none
	Enabled               bool `toml:"enabled"`

	// ReplyTo is the identity's Reply-To address list ("" = none); Signature is plain text put
	// under new messages. Both need settings-file version 2.
	ReplyTo   string `toml:"reply_to,omitempty"`
	Signature string `toml:"signature,omitempty"`
	// SMTP is the outgoing (submission) server, the table [accounts.smtp]; its zero value (no
	// host) means the account cannot send. The account's CAFile applies to it too.
	SMTP SMTPServer `toml:"smtp,omitempty"`
	// Filters sort new mail as it is delivered, in order ([[accounts.filters]], see Filter). They
	// need settings-file version 3.
	Filters []Filter `toml:"filters,omitempty"`
	// OAuth is the OAuth2 sign-in of an account with Auth "oauth2" ([accounts.oauth], see
	// oauth.go; its secrets live in the keyring). It needs settings-file version 4.
	OAuth OAuth `toml:"oauth,omitempty"`
}

// SMTPServer is an account's outgoing server. The password is not here: it is the account's own
// keyring entry when Username is "" or the account's user name, else the entry SMTPSecretName
// names.
type SMTPServer struct {
	Host        string `toml:"host"`
	Port        int    `toml:"port"`        // default 465 for tls, 587 otherwise
	Security    string `toml:"security"`    // tls (465), starttls (587) or none
	Username    string `toml:"username"`    // "" = the account's user name
	Fingerprint string `toml:"fingerprint"` // pinned SHA-256 of the server certificate
}

// SMTP default ports (RFC 8314: implicit TLS on 465, submission with STARTTLS on 587).
const (
	SMTPPortTLS        = 465
	SMTPPortSubmission = 587
)

// SMTPDefaultPort returns the usual submission port for a security mode: 465 for tls, 587 for
// starttls and none.
func SMTPDefaultPort(security string) int {
	if security == SecurityTLS {
		return SMTPPortTLS
	}
	return SMTPPortSubmission
}

// New returns an account with the defaults a user expects: implicit TLS on 995, automatic login
// method, messages left on the server (as Thunderbird does: a user who also reads mail on a
// phone or in webmail must not find it gone there), enabled.
func New(name, host, user string) Account {
	return Account{Name: name, Host: host, Username: user, Security: SecurityTLS, Port: 995, Auth: "auto",
		LeaveOnServer: true, Enabled: true}
}

// FieldError names the account and the setting that is wrong.
type FieldError struct {
	Account string
	Field   string // the settings-file key, e.g. "port"
	Msg     string
}

func (e *FieldError) Error() string {
	return fmt.Sprintf("account %q: %s %s", e.Account, e.Field, e.Msg)
}

var nameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._@+-]{0,63}$`)

// ValidName reports whether s can name an account: it becomes a folder name, so 1-64 letters,
// digits and . _ @ + -, not starting with a punctuation mark (and, on Windows, not ending in a dot
// nor a device name such as CON or COM1: storage.WindowsNameError).
func ValidName(s string) bool {
	return nameRE.MatchString(s) && (runtime.GOOS != "windows" || storage.WindowsNameError(s) == nil)
}

// Validate checks every setting and returns a *FieldError for the first one that is wrong.
func (a Account) Validate() error {
	bad := func(field, format string, args ...any) error {
		return &FieldError{Account: a.Name, Field: field, Msg: fmt.Sprintf(format, args...)}
	}
	switch {
	case !ValidName(a.Name):
		return bad("name", "%q must be 1-64 letters, digits or . _ @ + - (no spaces or slashes)", a.Name)
	case a.Security != SecurityTLS && a.Security != SecuritySTARTTLS && a.Security != SecurityNone:
		return bad("security", "%q must be tls, starttls or none", a.Security)
	case strings.TrimSpace(a.Host) == "" || strings.ContainsAny(a.Host, " /\\\r\n\t"):
		return bad("host", "%q is not a host name", a.Host)
	case a.Port < 1 || a.Port > 65535:
		return bad("port", "%d is out of range (1-65535)", a.Port)
	case strings.TrimSpace(a.Username) == "" || strings.ContainsAny(a.Username, "\r\n"):
		return bad("username", "is empty or has a line break")
	case a.DeleteAfterDays < 0:
		return bad("delete_after_days", "%d is negative", a.DeleteAfterDays)
	case a.CheckEveryMinutes < 0:
		return bad("check_every_minutes", "%d is negative", a.CheckEveryMinutes)
	case a.SizeLimitKB < 0:
		return bad("size_limit_kb", "%d is negative", a.SizeLimitKB)
	case a.Email != "" && !strings.Contains(a.Email, "@"):
		return bad("email", "%q is not an email address", a.Email)
	}
	if !contains(authMethods, a.Auth) {
		return bad("auth", "%q must be one of %s", a.Auth, strings.Join(authMethods, ", "))
	}
	if a.Fingerprint != "" {
		if _, err := pop.ParseFingerprint(a.Fingerprint); err != nil {
			return bad("fingerprint", "%q is not a SHA-256 fingerprint (64 hex digits)", a.Fingerprint)
		}
	}
	if a.CAFile != "" && !filepath.IsAbs(a.CAFile) {
		return bad("ca_file", "%q must be an absolute path", a.CAFile)
	}
	if a.ReplyTo != "" {
		if _, err := mail.ParseAddressList(a.ReplyTo); err != nil || strings.ContainsAny(a.ReplyTo, "\r\n") {
			return bad("reply_to", "%q is not a list of email addresses", a.ReplyTo)
		}
	}
	if err := a.SMTP.validate(bad); err != nil {
		return err
	}
	if err := a.OAuth.validate(a.Auth, bad); err != nil {
		return err
	}
	return ValidateFilters(a.Name, a.Filters)
}

// validate checks the outgoing server's settings; the zero value (no outgoing server) is valid.
func (m SMTPServer) validate(bad func(field, format string, args ...any) error) error {
	if m == (SMTPServer{}) {
		return nil
	}
	switch {
	case strings.TrimSpace(m.Host) == "" || strings.ContainsAny(m.Host, " /\\\r\n\t"):
		return bad("smtp.host", "%q is not a host name (the outgoing server needs one)", m.Host)
	case m.Security != SecurityTLS && m.Security != SecuritySTARTTLS && m.Security != SecurityNone:
		return bad("smtp.security", "%q must be tls, starttls or none", m.Security)
	case m.Port < 1 || m.Port > 65535:
		return bad("smtp.port", "%d is out of range (1-65535)", m.Port)
	case strings.ContainsAny(m.Username, "\r\n"):
		return bad("smtp.username", "has a line break")
	}
	if m.Fingerprint != "" {
		if _, err := pop.ParseFingerprint(m.Fingerprint); err != nil {
			return bad("smtp.fingerprint", "%q is not a SHA-256 fingerprint (64 hex digits)", m.Fingerprint)
		}
	}
	return nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// SameServer reports whether b logs in to the same server as a: the same host (in any case),
// port, security and user name. A stored password is sent only where it was stored for.
func (a Account) SameServer(b Account) bool {
	return strings.EqualFold(strings.TrimSpace(a.Host), strings.TrimSpace(b.Host)) && a.Port == b.Port &&
		a.Security == b.Security && a.Username == b.Username
}

// Addr returns "host:port".
func (a Account) Addr() string { return net.JoinHostPort(a.Host, strconv.Itoa(a.Port)) }

// PopOptions returns the connection options for the account.
func (a Account) PopOptions() pop.Options {
	sec, _ := pop.ParseSecurity(a.Security)
	return pop.Options{Security: sec, CAFile: a.CAFile, Fingerprint: a.Fingerprint, AllowInsecureAuth: a.AllowInsecureAuth}
}

// AuthMethod maps the account's auth setting to the client's method.
func (a Account) AuthMethod() pop.AuthMethod {
	switch a.Auth {
	case "password":
		return pop.AuthUser
	case "apop":
		return pop.AuthAPOP
	case "cram-md5":
		return pop.AuthCRAMMD5
	case "scram":
		return pop.AuthSCRAMSHA256
	case "oauth2":
		return pop.AuthXOAUTH2
	}
	return pop.AuthAuto
}

// ConfigVersion is the newest version of the settings file this code reads and writes. Version 2
// added the outgoing server ([accounts.smtp]), reply_to and signature; Save writes version 1 while
// no account uses them, so an older Poplar still reads the file, and version 2 once one does, so an
// older Poplar says to upgrade instead of failing on an unknown setting. A version 1 file loads
// unchanged (no outgoing server). Version 3 added filters ([[accounts.filters]]), written only
// when an account has one. Version 4 added OAuth2 sign-in ([accounts.oauth]), written only when
// an account has it.
const ConfigVersion = 4

// version returns the settings-file version c needs.
func (c *Config) version() int {
	for _, a := range c.Accounts {
		if a.OAuth.Configured() {
			return 4
		}
	}
	for _, a := range c.Accounts {
		if len(a.Filters) > 0 {
			return 3
		}
	}
	for _, a := range c.Accounts {
		if a.SMTP != (SMTPServer{}) || a.ReplyTo != "" || a.Signature != "" {
			return 2
		}
	}
	return 1
}

// ConfigFile is the settings file's name inside the config folder.
const ConfigFile = "accounts.toml"

// Config is the settings file: every account, in the user's order.
type Config struct {
	Version  int       `toml:"version"`
	Accounts []Account `toml:"accounts"`
}

// Clone returns a copy of the configuration that can be changed without changing c (a change is
// made on a copy, saved, and only then put in place).
func (c *Config) Clone() *Config {
	accts := append([]Account(nil), c.Accounts...)
	for i := range accts {
		accts[i].Filters = cloneFilters(accts[i].Filters)
	}
	return &Config{Version: c.Version, Accounts: accts}
}

// LoadConfig reads dir/accounts.toml. A missing file is an empty configuration; an invalid one is
// an error naming the file, the account and the field.
func LoadConfig(dir string) (*Config, error) {
	path := filepath.Join(dir, ConfigFile)
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return &Config{Version: ConfigVersion}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("account: %w", err)
	}
	var c Config
	md, err := toml.Decode(string(data), &c)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if und := md.Undecoded(); len(und) > 0 {
		return nil, fmt.Errorf("%s: unknown setting %q", path, und[0].String())
	}
	applyDefaults(&c, md)
	if c.Version > ConfigVersion {
		return nil, fmt.Errorf("%s: version %d is newer than this Poplar understands (%d); upgrade Poplar", path, c.Version, ConfigVersion)
	}
	seen := map[string]bool{}
	for _, a := range c.Accounts {
		if err := a.Validate(); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		if seen[a.Name] {
			return nil, fmt.Errorf("%s: account %q appears twice", path, a.Name)
		}
		seen[a.Name] = true
	}
	c.Version = ConfigVersion
	return &c, nil
}

// applyDefaults fills in the settings an account in a hand-written file leaves out with New's
// values (the port: the usual one for the security mode; leave_on_server: true). A setting
// that is present, even as 0 or false, is kept.
func applyDefaults(c *Config, md toml.MetaData) {
	defined := make([]map[string]bool, 0, len(c.Accounts))
	smtpDefined := map[int]map[string]bool{} // the keys of each account's [accounts.smtp]
	for _, k := range md.Keys() {
		switch {
		case len(k) == 1 && k[0] == "accounts":
			defined = append(defined, map[string]bool{})
		case len(k) == 2 && k[0] == "accounts" && len(defined) > 0:
			defined[len(defined)-1][k[1]] = true
			if k[1] == "smtp" {
				smtpDefined[len(defined)-1] = map[string]bool{}
			}
		case len(k) == 3 && k[0] == "accounts" && k[1] == "smtp" && len(defined) > 0 && smtpDefined[len(defined)-1] != nil:
			smtpDefined[len(defined)-1][k[2]] = true
		}
	}
	def := New("", "", "")
	for i := range c.Accounts {
		if i >= len(defined) {
			break
		}
		a, has := &c.Accounts[i], defined[i]
		if !has["security"] {
			a.Security = def.Security
		}
		if !has["port"] {
			if sec, err := pop.ParseSecurity(a.Security); err == nil {
				a.Port = sec.DefaultPort()
			}
		}
		if !has["auth"] {
			a.Auth = def.Auth
		}
		if !has["enabled"] {
			a.Enabled = def.Enabled
		}
		if !has["leave_on_server"] {
			a.LeaveOnServer = def.LeaveOnServer
		}
		if has["smtp"] {
			smtp := smtpDefined[i]
			if !smtp["security"] {
				a.SMTP.Security = SecurityTLS
			}
			if !smtp["port"] {
				a.SMTP.Port = SMTPDefaultPort(a.SMTP.Security)
			}
		}
	}
}

// Save writes dir/accounts.toml atomically (temporary file, fsync, rename, folder fsync),
// with the file 0600 and the folder 0700.
func (c *Config) Save(dir string) error {
	for _, a := range c.Accounts {
		if err := a.Validate(); err != nil {
			return err
		}
	}
	c.Version = c.version()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("account: %w", err)
	}
	f, err := os.CreateTemp(dir, ".accounts-*.tmp")
	if err != nil {
		return fmt.Errorf("account: %w", err)
	}
	defer os.Remove(f.Name())
	f.WriteString("# Poplar accounts. Passwords are kept in the OS keyring, not here.\n")
	if err := toml.NewEncoder(f).Encode(c); err != nil {
		f.Close()
		return fmt.Errorf("account: writing settings: %w", err)
	}
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return fmt.Errorf("account: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("account: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("account: %w", err)
	}
	if err := os.Rename(f.Name(), filepath.Join(dir, ConfigFile)); err != nil {
		return fmt.Errorf("account: %w", err)
	}
	return syncDir(dir)
}

// syncDir makes the names in dir durable. Windows cannot flush a folder (NTFS journals its names
// itself): there it does nothing.
func syncDir(dir string) error {
	if runtime.GOOS == "windows" {
		return nil
	}
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("account: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("account: syncing %s: %w", dir, err)
	}
	return nil
}

// Find returns the account called name.
func (c *Config) Find(name string) (*Account, bool) {
	for i := range c.Accounts {
		if c.Accounts[i].Name == name {
			return &c.Accounts[i], true
		}
	}
	return nil, false
}

// Add appends a valid account with a new name.
func (c *Config) Add(a Account) error {
	if err := a.Validate(); err != nil {
		return err
	}
	if _, ok := c.Find(a.Name); ok {
		return &FieldError{Account: a.Name, Field: "name", Msg: "is already taken by another account"}
	}
	c.Accounts = append(c.Accounts, a)
	return nil
}

// Update replaces the account with the same name.
func (c *Config) Update(a Account) error {
	if err := a.Validate(); err != nil {
		return err
	}
	p, ok := c.Find(a.Name)
	if !ok {
		return fmt.Errorf("account: no account %q", a.Name)
	}
	*p = a
	return nil
}

// Remove deletes the account called name.
func (c *Config) Remove(name string) error {
	for i := range c.Accounts {
		if c.Accounts[i].Name == name {
			c.Accounts = append(c.Accounts[:i], c.Accounts[i+1:]...)
			return nil
		}
	}
	return fmt.Errorf("account: no account %q", name)
}

// DataDir is the folder holding an account's mail and state under the data root.
func DataDir(dataRoot, name string) string { return filepath.Join(dataRoot, name) }
