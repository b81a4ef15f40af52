package cli

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/poplar-mail/poplar/account"
	"github.com/poplar-mail/poplar/pop"
	"github.com/poplar-mail/poplar/storage"
)

// secrets returns the SecretStore commands use: the OS keyring, unless Env overrides it.
func (e *Env) secrets() account.SecretStore {
	if e.Secrets != nil {
		return e.Secrets
	}
	return account.Keyring()
}

// runAccount manages accounts: add, list, set, remove.
func runAccount(ctx context.Context, e *Env, g Globals, args []string) int {
	usage := func() int {
		fmt.Fprintln(e.Stderr, `Usage:
  poplar account add NAME --host H [--port P] [--security tls|starttls|none] --user U [--email E]
                     | NAME --email E --detect [any flag below overrides what is found]
                     [--leave-on-server (default) | --delete-from-server] [--delete-after-days N]
                     [--delete-when-deleted-here]
                     [--ca-file F] [--fingerprint SHA256] [--size-limit KB] [--password-stdin]
                     [--display-name N] [--reply-to ADDR] [--signature TEXT]
                     [--smtp-host H] [--smtp-port P] [--smtp-security tls|starttls|none]
                     [--smtp-user U] [--smtp-fingerprint SHA256] [--smtp-password-stdin]
                     [--auth oauth2 --oauth-provider google|microsoft|custom --oauth-client-id ID
                      [--oauth-auth-url U --oauth-token-url U --oauth-scope S...] [--oauth-device-url U]
                      [--oauth-client-secret-stdin]]   (google/microsoft: servers and user from --email)
  poplar account login NAME [--device]      sign in to an OAuth2 account in the browser (or with a code)
  poplar account detect EMAIL [--json] [--ca-file F]   find and check the servers of an address
  poplar account list
  poplar account set NAME --FLAG VALUE...   (any flag of add; booleans take true/false)
  poplar account remove NAME [--delete-mail]`)
		return 2
	}
	if len(args) == 0 {
		return usage()
	}
	sub, rest := args[0], args[1:]
	switch sub {
	case "add", "set":
		return accountAddSet(ctx, e, g, sub, rest)
	case "detect":
		return accountDetect(ctx, e, g, rest)
	case "list":
		return accountList(e, g, rest)
	case "remove", "rm":
		return accountRemove(e, g, rest)
	case "login":
		return accountLogin(ctx, e, g, rest)
	}
	return usage()
}

// accountFlags binds every account setting to fs; set reports which were given.
func accountFlags(fs *flag.FlagSet, a *account.Account) {
	fs.StringVar(&a.Host, "host", a.Host, "server host name")
	fs.IntVar(&a.Port, "port", a.Port, "server port (default 995 for tls, 110 otherwise)")
	fs.StringVar(&a.Security, "security", a.Security, "tls, starttls or none")
	fs.StringVar(&a.Auth, "auth", a.Auth, "auto, password, apop, cram-md5, scram or oauth2")
	fs.StringVar(&a.Username, "user", a.Username, "user name on the server")
	fs.StringVar(&a.Email, "email", a.Email, "email address")
	fs.StringVar(&a.DisplayName, "display-name", a.DisplayName, "your name")
	fs.StringVar(&a.CAFile, "ca-file", a.CAFile, "extra trusted CA certificates (PEM, absolute path)")
	fs.StringVar(&a.Fingerprint, "fingerprint", a.Fingerprint, "pinned SHA-256 fingerprint of the server certificate")
	fs.BoolVar(&a.AllowInsecureAuth, "allow-insecure-auth", a.AllowInsecureAuth, "allow the password over an unencrypted connection")
	fs.BoolVar(&a.LeaveOnServer, "leave-on-server", a.LeaveOnServer, "keep messages on the server after downloading them (the default for a new account)")
	fs.IntVar(&a.DeleteAfterDays, "delete-after-days", a.DeleteAfterDays, "with --leave-on-server: delete from the server after N days (0 = never)")
	fs.BoolVar(&a.DeleteWhenDeletedHere, "delete-when-deleted-here", a.DeleteWhenDeletedHere, "delete from the server when deleted here for good")
	fs.BoolVar(&a.CheckAtStartup, "check-at-startup", a.CheckAtStartup, "the app checks this account when it starts")
	fs.IntVar(&a.CheckEveryMinutes, "check-every", a.CheckEveryMinutes, "the app checks every N minutes (0 = manual)")
	fs.IntVar(&a.SizeLimitKB, "size-limit", a.SizeLimitKB, "download only the header of messages larger than KB (0 = no limit)")
	fs.BoolVar(&a.Enabled, "enabled", a.Enabled, "fetch this account with 'poplar fetch'")
	fs.StringVar(&a.ReplyTo, "reply-to", a.ReplyTo, "Reply-To address(es) of sent mail")
	fs.StringVar(&a.Signature, "signature", a.Signature, "plain-text signature put under sent mail")
	fs.StringVar(&a.SMTP.Host, "smtp-host", a.SMTP.Host, "outgoing (SMTP submission) server host name; \"\" removes it")
	fs.IntVar(&a.SMTP.Port, "smtp-port", a.SMTP.Port, "outgoing server port (default 465 for tls, 587 otherwise)")
	fs.StringVar(&a.SMTP.Security, "smtp-security", a.SMTP.Security, "outgoing server security: tls, starttls or none")
	fs.StringVar(&a.SMTP.Username, "smtp-user", a.SMTP.Username, "outgoing server user name (default: --user; another one has its own password)")
	fs.StringVar(&a.SMTP.Fingerprint, "smtp-fingerprint", a.SMTP.Fingerprint, "pinned SHA-256 fingerprint of the outgoing server's certificate")
	oauthFlags(fs, a)
}

// smtpDefaults completes the outgoing server settings given on the command line: the security
// from the port (587 and 25 speak STARTTLS, others TLS) or TLS, the port from the security, and
// no settings at all when the host is removed.
func smtpDefaults(a *account.Account, given map[string]bool) {
	m := &a.SMTP
	if m.Host == "" {
		*m = account.SMTPServer{}
		return
	}
	if m.Security == "" {
		m.Security = account.SecurityTLS
		if m.Port == account.SMTPPortSubmission || m.Port == 25 {
			m.Security = account.SecuritySTARTTLS
		}
	}
	if m.Port == 0 || (given["smtp-security"] && !given["smtp-port"]) {
		m.Port = account.SMTPDefaultPort(m.Security)
	}
	if m.Username == a.Username {
		m.Username = "" // the same user: the same password
	}
}

func accountAddSet(ctx context.Context, e *Env, g Globals, sub string, args []string) int {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		fmt.Fprintf(e.Stderr, "poplar account %s: give the account NAME first\n", sub)
		return 2
	}
	name := args[0]
	var smtpPwStdin, clientSecretStdin, detect bool
	// The flags are parsed twice: first to learn --config-dir and --data-dir (and to report a bad
	// flag), then onto the account loaded from that folder, so its other settings are kept.
	flags := func(a *account.Account, g *Globals, out io.Writer) (fs *flag.FlagSet, pwStdin, deleteFromServer *bool) {
		fs = flag.NewFlagSet("poplar account "+sub, flag.ContinueOnError)
		fs.SetOutput(out)
		g.flags(fs)
		accountFlags(fs, a)
		pwStdin = fs.Bool("password-stdin", false, "read the password from standard input and store it in the keyring")
		fs.BoolVar(&smtpPwStdin, "smtp-password-stdin", false, "with --smtp-user: read the outgoing server's password from standard input and store it in the keyring")
		fs.BoolVar(&clientSecretStdin, "oauth-client-secret-stdin", false, "read the OAuth client secret (Google requires one) from standard input and store it in the keyring")
		fs.BoolVar(&detect, "detect", false, "with add and --email: find the servers from the address (only verified ones are taken)")
		deleteFromServer = fs.Bool("delete-from-server", false, "delete each message from the server once it is stored here (same as --leave-on-server=false)")
		return fs, pwStdin, deleteFromServer
	}
	var scratch account.Account
	first, _, _ := flags(&scratch, &g, e.Stderr)
	if err := first.Parse(boolValues(args[1:])); err != nil {
		return 2
	}
	if first.NArg() > 0 {
		fmt.Fprintf(e.Stderr, "poplar account %s: unexpected argument %q\n", sub, first.Arg(0))
		return 2
	}
	if err := g.resolve(e.Getenv); err != nil {
		fmt.Fprintf(e.Stderr, "poplar account: %v\n", err)
		return 1
	}
	cfg, err := account.LoadConfig(g.ConfigDir)
	if err != nil {
		fmt.Fprintf(e.Stderr, "poplar account: %v\n", err)
		return 1
	}
	var a account.Account
	if sub == "add" {
		if _, exists := cfg.Find(name); exists {
			fmt.Fprintf(e.Stderr, "poplar account add: an account %q exists; change it with 'poplar account set'\n", name)
			return 1
		}
		a = account.New(name, "", "")
		a.Port = 0
	} else {
		p, ok := cfg.Find(name)
		if !ok {
			fmt.Fprintf(e.Stderr, "poplar account set: no account %q (see 'poplar account list')\n", name)
			return 1
		}
		a = *p
	}
	wasLeft := a.LeaveOnServer && sub == "set"
	fs, pwStdin, deleteFromServer := flags(&a, &g, io.Discard)
	if err := fs.Parse(boolValues(args[1:])); err != nil {
		return 2 // reported by the first parse
	}
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	if *deleteFromServer {
		if a.LeaveOnServer && given["leave-on-server"] {
			fmt.Fprintf(e.Stderr, "poplar account %s: --delete-from-server and --leave-on-server contradict each other\n", sub)
			return 2
		}
		a.LeaveOnServer = false
	}
	if detect {
		if sub != "add" {
			fmt.Fprintf(e.Stderr, "poplar account %s: --detect is for 'poplar account add'\n", sub)
			return 2
		}
		if err := applyDetected(ctx, e, &a, given); err != nil {
			fmt.Fprintf(e.Stderr, "poplar account add: %v\n", err)
			return 1
		}
	}
	if sec, err := pop.ParseSecurity(a.Security); err == nil {
		a.Security = sec.String() // "STLS", "plain" and the like are written as the canonical name
		if a.Port == 0 || (given["security"] && !given["port"]) {
			a.Port = sec.DefaultPort()
		}
	}
	if sec, err := pop.ParseSecurity(a.SMTP.Security); err == nil {
		a.SMTP.Security = sec.String()
	}
	smtpDefaults(&a, given)
	account.OAuthDefaults(&a)
	if stdinReaders := btoi(*pwStdin) + btoi(smtpPwStdin) + btoi(clientSecretStdin); stdinReaders > 1 {
		fmt.Fprintf(e.Stderr, "poplar account %s: --password-stdin, --smtp-password-stdin and --oauth-client-secret-stdin all read standard input; give one at a time\n", sub)
		return 2
	}
	if *pwStdin && a.OAuth.Configured() {
		fmt.Fprintf(e.Stderr, "poplar account %s: an OAuth2 account has no password: sign in with 'poplar account login %s'\n", sub, name)
		return 2
	}
	if smtpPwStdin && (!a.CanSend() || a.SMTPSecretName() == a.Name) {
		fmt.Fprintf(e.Stderr, "poplar account %s: --smtp-password-stdin is for an outgoing server with its own --smtp-user; with the account's user it uses the account's password (--password-stdin)\n", sub)
		return 2
	}
	if err := a.Validate(); err != nil {
		fmt.Fprintf(e.Stderr, "poplar account %s: %v\n", sub, err)
		return 1
	}
	if a.Security == account.SecurityNone {
		fmt.Fprintf(e.Stderr, "warning: account %q uses no encryption: anyone on the network can read its mail\n", name)
	}
	if sub == "add" {
		err = cfg.Add(a)
	} else {
		err = cfg.Update(a)
	}
	if err == nil {
		err = cfg.Save(g.ConfigDir)
	}
	if err != nil {
		fmt.Fprintf(e.Stderr, "poplar account %s: %v\n", sub, err)
		return 1
	}
	if *pwStdin {
		pw, err := readPassword(e.Stdin)
		if err == nil {
			err = e.secrets().Set(name, pw)
		}
		if err != nil {
			fmt.Fprintf(e.Stderr, "poplar account %s: the account was saved, but not its password: %v\n", sub, err)
			return 1
		}
	}
	if smtpPwStdin {
		pw, err := readPassword(e.Stdin)
		if err == nil {
			err = account.SetSMTPPassword(a, e.secrets(), pw)
		}
		if err != nil {
			fmt.Fprintf(e.Stderr, "poplar account %s: the account was saved, but not its outgoing password: %v\n", sub, err)
			return 1
		}
	}
	if clientSecretStdin {
		secret, err := readPassword(e.Stdin)
		if err == nil {
			err = account.SetOAuthClientSecret(a, e.secrets(), secret)
		}
		if err != nil {
			fmt.Fprintf(e.Stderr, "poplar account %s: the account was saved, but not its OAuth client secret: %v\n", sub, err)
			return 1
		}
	}
	fmt.Fprintf(e.Stdout, "Account %q saved in %s\n", name, g.ConfigDir)
	if a.OAuth.Configured() && sub == "add" {
		fmt.Fprintf(e.Stdout, "Sign in with: poplar account login %s\n", name)
	}
	if wasLeft && !a.LeaveOnServer {
		warnDeleteFromServer(e, g, name)
	}
	return 0
}

// warnDeleteFromServer says what switching an account to delete-after-download does at its next
// fetch: the messages already stored here are deleted from the server too.
func warnDeleteFromServer(e *Env, g Globals, name string) {
	dir := account.DataDir(g.DataDir, name)
	if _, err := os.Stat(dir); err != nil {
		return // nothing fetched yet
	}
	s, err := storage.Open(dir)
	if err != nil {
		fmt.Fprintf(e.Stderr, "warning: %v\n", err)
		return
	}
	defer s.Close()
	n, err := account.StoredOnServer(s)
	if err != nil {
		fmt.Fprintf(e.Stderr, "warning: %v\n", err)
		return
	}
	fmt.Fprintf(e.Stderr, "note: the next fetch of %q deletes from the server the %d messages already stored here, "+
		"and every new message once it is stored; webmail and other devices will no longer see them\n", name, n)
}

// boolValues turns "--flag true"/"--flag false" into "--flag=true" for boolean flags, as users of
// 'account set' write them.
func boolValues(args []string) []string {
	bools := map[string]bool{"allow-insecure-auth": true, "leave-on-server": true, "delete-from-server": true, "delete-when-deleted-here": true,
		"check-at-startup": true, "enabled": true, "password-stdin": true, "smtp-password-stdin": true, "oauth-client-secret-stdin": true,
		"detect": true}
	var out []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		name := strings.TrimLeft(a, "-")
		if strings.HasPrefix(a, "-") && bools[name] && i+1 < len(args) {
			if _, err := strconv.ParseBool(args[i+1]); err == nil {
				out = append(out, a+"="+args[i+1])
				i++
				continue
			}
		}
		out = append(out, a)
	}
	return out
}

func accountList(e *Env, g Globals, args []string) int {
	fs := flag.NewFlagSet("poplar account list", flag.ContinueOnError)
	fs.SetOutput(e.Stderr)
	g.flags(fs)
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if err := g.resolve(e.Getenv); err != nil {
		fmt.Fprintf(e.Stderr, "poplar account: %v\n", err)
		return 1
	}
	cfg, err := account.LoadConfig(g.ConfigDir)
	if err != nil {
		fmt.Fprintf(e.Stderr, "poplar account: %v\n", err)
		return 1
	}
	if len(cfg.Accounts) == 0 {
		fmt.Fprintln(e.Stdout, "No accounts. Add one with 'poplar account add NAME --host H --user U --password-stdin'.")
		return 0
	}
	for _, a := range cfg.Accounts {
		policy := "delete from server after download"
		if a.LeaveOnServer {
			policy = "leave on server"
			if a.DeleteAfterDays > 0 {
				policy += fmt.Sprintf(", delete after %d days", a.DeleteAfterDays)
			}
		}
		if a.DeleteWhenDeletedHere {
			policy += ", delete when deleted here"
		}
		state := ""
		if !a.Enabled {
			state = " (disabled)"
		}
		out := "cannot send (no outgoing server)"
		if a.CanSend() {
			out = fmt.Sprintf("sends as %s via %s@%s (%s)", orNone(a.Email), a.SMTPUser(), a.SMTPAddr(), a.SMTP.Security)
		}
		if a.OAuth.Configured() {
			state += " (OAuth2 sign-in: " + a.OAuth.Provider + ")"
		}
		fmt.Fprintf(e.Stdout, "%s%s: %s@%s (%s), %s; %s\n", a.Name, state, a.Username, a.Addr(), a.Security, policy, out)
	}
	return 0
}

func accountRemove(e *Env, g Globals, args []string) int {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		fmt.Fprintln(e.Stderr, "poplar account remove: give the account NAME")
		return 2
	}
	name := args[0]
	fs := flag.NewFlagSet("poplar account remove", flag.ContinueOnError)
	fs.SetOutput(e.Stderr)
	g.flags(fs)
	deleteMail := fs.Bool("delete-mail", false, "also delete the account's downloaded mail")
	if err := fs.Parse(args[1:]); err != nil {
		return 2
	}
	if err := g.resolve(e.Getenv); err != nil {
		fmt.Fprintf(e.Stderr, "poplar account: %v\n", err)
		return 1
	}
	cfg, err := account.LoadConfig(g.ConfigDir)
	if err == nil {
		err = cfg.Remove(name)
	}
	if err == nil {
		err = cfg.Save(g.ConfigDir)
	}
	if err != nil {
		fmt.Fprintf(e.Stderr, "poplar account remove: %v\n", err)
		return 1
	}
	if err := e.secrets().Delete(name); err != nil {
		fmt.Fprintf(e.Stderr, "warning: the password of %q could not be removed from the keyring: %v\n", name, err)
	}
	if err := account.DeleteSMTPPassword(name, e.secrets()); err != nil {
		fmt.Fprintf(e.Stderr, "warning: the outgoing password of %q could not be removed from the keyring: %v\n", name, err)
	}
	if err := account.DeleteOAuthClientSecret(name, e.secrets()); err != nil {
		fmt.Fprintf(e.Stderr, "warning: the OAuth client secret of %q could not be removed from the keyring: %v\n", name, err)
	}
	dir := account.DataDir(g.DataDir, name)
	if *deleteMail {
		if err := os.RemoveAll(dir); err != nil {
			fmt.Fprintf(e.Stderr, "poplar account remove: %v\n", err)
			return 1
		}
		fmt.Fprintf(e.Stdout, "Account %q removed with its mail.\n", name)
		return 0
	}
	fmt.Fprintf(e.Stdout, "Account %q removed; its mail stays in %s\n", name, dir)
	return 0
}
