package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"strings"
	"time"

	"github.com/poplar-mail/poplar/account"
)

// loginTimeout bounds how long `poplar account login` waits for the user.
const loginTimeout = 15 * time.Minute

// oauthFlags binds an account's OAuth2 settings to fs (part of accountFlags).
func oauthFlags(fs *flag.FlagSet, a *account.Account) {
	fs.StringVar(&a.OAuth.Provider, "oauth-provider", a.OAuth.Provider, "OAuth2 provider: google, microsoft or custom")
	fs.StringVar(&a.OAuth.ClientID, "oauth-client-id", a.OAuth.ClientID, "client ID of the application you registered with the provider (see docs/oauth2.md)")
	fs.StringVar(&a.OAuth.AuthURL, "oauth-auth-url", a.OAuth.AuthURL, "authorization endpoint (default: the provider's)")
	fs.StringVar(&a.OAuth.TokenURL, "oauth-token-url", a.OAuth.TokenURL, "token endpoint (default: the provider's)")
	fs.StringVar(&a.OAuth.DeviceURL, "oauth-device-url", a.OAuth.DeviceURL, "device authorization endpoint (default: the provider's)")
	fs.Var(&scopeList{scopes: &a.OAuth.Scopes}, "oauth-scope", "a scope to ask for; repeat for several (default: the provider's)")
}

// scopeList is a repeatable flag: its first use replaces the list, later ones add to it.
type scopeList struct {
	scopes *[]string
	given  bool
}

func (s *scopeList) String() string {
	if s.scopes == nil {
		return ""
	}
	return strings.Join(*s.scopes, " ")
}

func (s *scopeList) Set(v string) error {
	if !s.given {
		*s.scopes, s.given = nil, true
	}
	*s.scopes = append(*s.scopes, strings.Fields(v)...)
	return nil
}

// btoi is 1 for true.
func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// accountLogin runs `poplar account login NAME [--device]`: the OAuth2 sign-in, which stores the
// refresh token in the keyring. The browser flow prints the URL (and opens $BROWSER or
// xdg-open); the device flow prints the code to enter. Exit 0 once signed in.
func accountLogin(ctx context.Context, e *Env, g Globals, args []string) int {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		fmt.Fprintln(e.Stderr, "poplar account login: give the account NAME")
		return 2
	}
	name := args[0]
	fs := flag.NewFlagSet("poplar account login", flag.ContinueOnError)
	fs.SetOutput(e.Stderr)
	g.flags(fs)
	device := fs.Bool("device", false, "sign in with a code entered on another device (RFC 8628), for a machine without a browser")
	if err := fs.Parse(args[1:]); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(e.Stderr, "poplar account login: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	if err := g.resolve(e.Getenv); err != nil {
		fmt.Fprintf(e.Stderr, "poplar account login: %v\n", err)
		return 1
	}
	cfg, err := account.LoadConfig(g.ConfigDir)
	if err != nil {
		fmt.Fprintf(e.Stderr, "poplar account login: %v\n", err)
		return 1
	}
	a, ok := cfg.Find(name)
	if !ok {
		fmt.Fprintf(e.Stderr, "poplar account login: no account %q (see 'poplar account list')\n", name)
		return 1
	}
	if a.Auth != "oauth2" || !a.OAuth.Configured() {
		fmt.Fprintf(e.Stderr, "poplar account login: %s does not sign in with OAuth2; set it up with 'poplar account set %s --auth oauth2 --oauth-provider P --oauth-client-id ID'\n", name, name)
		return 1
	}
	ctx, cancel := context.WithTimeout(ctx, loginTimeout)
	defer cancel()
	opts := account.SignInOptions{
		Device: *device,
		ShowURL: func(u string) {
			fmt.Fprintf(e.Stdout, "To sign in to %s, open this address in a browser (opening it now):\n\n  %s\n\nWaiting for the browser…\n", name, u)
		},
		OpenBrowser: func(u string) error {
			err := account.OpenBrowser(u, e.Getenv)
			if err != nil {
				fmt.Fprintf(e.Stderr, "note: %v\n", err)
			}
			return err
		},
		ShowDeviceCode: func(c account.DeviceCode) {
			fmt.Fprintf(e.Stdout, "To sign in to %s, open %s on any device and enter the code %s\n", name, c.VerificationURI, c.UserCode)
			if c.VerificationURIComplete != "" {
				fmt.Fprintf(e.Stdout, "(or open %s)\n", c.VerificationURIComplete)
			}
			fmt.Fprintln(e.Stdout, "Waiting…")
		},
	}
	err = account.SignIn(ctx, *a, e.secrets(), opts)
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		fmt.Fprintf(e.Stderr, "poplar account login: nobody signed in within %v; nothing was stored\n", loginTimeout)
		return 1
	case errors.Is(err, context.Canceled):
		fmt.Fprintln(e.Stderr, "poplar account login: cancelled; nothing was stored")
		return 1
	case err != nil:
		fmt.Fprintf(e.Stderr, "poplar account login: %v\n", err)
		return 1
	}
	fmt.Fprintf(e.Stdout, "Signed in: %s's sign-in is stored in the keyring.\n", name)
	return 0
}
