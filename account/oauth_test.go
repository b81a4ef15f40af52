package account

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/poplar-mail/poplar/internal/dovecot"
	"github.com/poplar-mail/poplar/internal/oauthtest"
	"github.com/poplar-mail/poplar/internal/postfix"
	"github.com/poplar-mail/poplar/storage"
)

// oauthRig is an authorization server and a Dovecot that checks its tokens (oauth2 passdb,
// RFC 7662 introspection), with an account set up to sign in there.
type oauthRig struct {
	auth *oauthtest.Server
	dv   *dovecot.Server
	acct Account
}

func startOAuthRig(t *testing.T, opts oauthtest.Options, msgs [][]byte) *oauthRig {
	t.Helper()
	opts.User = "dana"
	as := oauthtest.Start(t, opts)
	dv := dovecot.StartT(t, dovecot.Options{Users: []dovecot.User{{Name: "dana", Password: "unused pw", Messages: msgs},
		{Name: "bob", Password: "bob pw"}}, OAuth2IntrospectionURL: as.IntrospectURL})
	host, port, _ := strings.Cut(dv.POP3SAddr, ":")
	p, _ := strconv.Atoi(port)
	a := New("oauth-"+randomName(t), host, "dana")
	a.Port, a.CAFile, a.Auth, a.LeaveOnServer = p, dv.CAFile, "oauth2", true
	a.OAuth = OAuth{Provider: ProviderCustom, ClientID: as.ClientID, AuthURL: as.AuthURL, TokenURL: as.TokenURL,
		DeviceURL: as.DeviceURL, Scopes: []string{"mail"}}
	if err := a.Validate(); err != nil {
		t.Fatal(err)
	}
	return &oauthRig{auth: as, dv: dv, acct: a}
}

// browser returns SignInOptions whose browser is the rig's simulated user: it follows the URL,
// signs in and consents. The URL shown is recorded in *shown.
func (r *oauthRig) browser(t *testing.T, shown *string) SignInOptions {
	done := make(chan error, 1)
	t.Cleanup(func() {
		select {
		case err := <-done:
			if err != nil && !strings.Contains(err.Error(), "400") {
				t.Errorf("browser: %v", err)
			}
		case <-time.After(20 * time.Second):
			t.Error("the browser never finished")
		}
	})
	return SignInOptions{
		ShowURL:     func(u string) { *shown = u },
		OpenBrowser: func(u string) error { go func() { done <- r.auth.Approve(u) }(); return nil },
	}
}

func TestOAuthSignInFetchRefreshRevoke(t *testing.T) {
	msgs := [][]byte{[]byte("Subject: one\n\nfirst\n")}
	r := startOAuthRig(t, oauthtest.Options{AccessTokenLifetime: 2 * time.Second, RotateRefreshTokens: true}, msgs)
	keyring := realKeyring(t)
	t.Cleanup(func() { keyring.Delete(r.acct.Name) })
	secrets := NewTokenCache(keyring)
	ctx := context.Background()
	var trace bytes.Buffer
	var errs []string

	var shown string
	if err := SignIn(ctx, r.acct, secrets, r.browser(t, &shown)); err != nil {
		t.Fatalf("SignIn: %v\n%s", err, r.dv.Log())
	}
	if !strings.HasPrefix(shown, r.auth.AuthURL+"?") || !strings.Contains(shown, "code_challenge_method=S256") {
		t.Fatalf("shown URL %q; want the authorization URL with an S256 challenge", shown)
	}
	if n := r.auth.PKCEVerified(); n != 1 {
		t.Fatalf("the server verified %d PKCE codes, want 1", n)
	}
	refresh1, err := keyring.Get(r.acct.Name)
	if err != nil || !strings.HasPrefix(refresh1, "rt-") {
		t.Fatalf("keyring after sign-in: %q, %v; want the refresh token", refresh1, err)
	}

	// The first fetch uses the token the sign-in got, or a refresh of it: either way it logs in.
	s := openTestStore(t)
	if res := mustFetch(t, r.acct, s, FetchOptions{Secrets: secrets, Trace: &trace}); res.New != 1 {
		t.Fatalf("first fetch: %+v, want 1 new", res)
	}
	// Once every access token has expired, the next fetch must get a new one and log in with it.
	for !r.auth.Expired() {
		time.Sleep(100 * time.Millisecond)
	}
	before := r.auth.AccessTokensIssued()
	if err := r.dv.Deliver("dana", []byte("Subject: two\n\nsecond\n")); err != nil {
		t.Fatal(err)
	}
	if res := mustFetch(t, r.acct, s, FetchOptions{Secrets: secrets, Trace: &trace}); res.New != 1 {
		t.Fatalf("fetch after expiry: %+v, want 1 new", res)
	}
	if after := r.auth.AccessTokensIssued(); after != before+1 {
		t.Fatalf("access tokens issued: %d before the fetch after expiry, %d after; want one more", before, after)
	}
	// The server rotated the refresh token: the new one is stored in place of the old.
	if refresh2, err := keyring.Get(r.acct.Name); err != nil || refresh2 == refresh1 || !strings.HasPrefix(refresh2, "rt-") {
		t.Fatalf("keyring after a rotating refresh: %q, %v; want a new refresh token", refresh2, err)
	}

	// Revoked at the provider: the cached token is refused by Dovecot, the refresh by the
	// provider, and every path says to sign in again. (Tokens live longer from here on, so
	// none expires while Dovecot delays its answer to a failed login.)
	r.auth.SetAccessTokenLifetime(time.Hour)
	if _, err := AccessToken(ctx, r.acct, secrets); err != nil {
		t.Fatal(err)
	}
	r.auth.RevokeAll()
	_, err = Fetch(ctx, r.acct, s, FetchOptions{Secrets: secrets, Trace: &trace})
	checkSignInAgain(t, "Fetch", err, r.acct.Name)
	errs = append(errs, err.Error())
	_, err = FetchRest(ctx, r.acct, s, "whatever", secrets)
	checkSignInAgain(t, "FetchRest", err, r.acct.Name)
	_, err = LoginSecret(ctx, r.acct, secrets)
	checkSignInAgain(t, "LoginSecret", err, r.acct.Name)
	what, remedy := Explain(err, r.acct.Name)
	errs = append(errs, what, remedy)
	if !strings.Contains(remedy, "Sign in again") { // the window's words; the error itself names the command
		t.Fatalf("Explain remedy %q does not say to sign in again", remedy)
	}

	// Signing in again (device flow this time) makes fetch work again.
	var code DeviceCode
	err = SignIn(ctx, r.acct, secrets, SignInOptions{Device: true, ShowDeviceCode: func(c DeviceCode) {
		code = c
		go r.auth.ApproveDevice(c.UserCode)
	}})
	if err != nil {
		t.Fatalf("SignIn --device: %v", err)
	}
	if code.UserCode == "" || code.VerificationURI != r.auth.VerifyURL {
		t.Fatalf("device code shown: %+v", code)
	}
	if err := r.dv.Deliver("dana", []byte("Subject: three\n\nthird\n")); err != nil {
		t.Fatal(err)
	}
	if res, err := Fetch(ctx, r.acct, s, FetchOptions{Secrets: secrets, Trace: &trace}); err != nil || res.New != 1 {
		t.Fatalf("fetch after the device sign-in: %+v, %v; want 1 new\n%s", res, err, r.dv.Log())
	}

	// No token or code the provider issued is in the settings file, the trace or the errors.
	dir := t.TempDir()
	cfg := &Config{}
	if err := cfg.Add(r.acct); err != nil {
		t.Fatal(err)
	}
	if err := cfg.Save(dir); err != nil {
		t.Fatal(err)
	}
	file, err := os.ReadFile(filepath.Join(dir, ConfigFile))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(file), "[accounts.oauth]") || !strings.Contains(string(file), "version = 4") {
		t.Fatalf("settings file lacks the OAuth settings:\n%s", file)
	}
	noSecrets(t, r.auth.Secrets(), map[string]string{"settings file": string(file), "trace": trace.String(),
		"errors": strings.Join(errs, "\n"), "shown URL": shown})
}

// noSecrets fails when any of secrets appears in any of the texts.
func noSecrets(t *testing.T, secrets []string, texts map[string]string) {
	t.Helper()
	if len(secrets) < 3 {
		t.Fatalf("only %d secrets to look for", len(secrets))
	}
	for name, text := range texts {
		for _, s := range secrets {
			if strings.Contains(text, s) {
				t.Errorf("the %s holds a secret the provider issued (%.6s…)", name, s)
			}
		}
	}
}

func checkSignInAgain(t *testing.T, what string, err error, name string) {
	t.Helper()
	var se *SignInError
	if !errors.Is(err, ErrSignInAgain) || !errors.As(err, &se) || se.Account != name {
		t.Fatalf("%s after revocation = %v; want a *SignInError for %s", what, err, name)
	}
	if !strings.Contains(err.Error(), "poplar account login "+name) {
		t.Fatalf("%s error %q does not name poplar account login %s", what, err, name)
	}
}

// TestOAuthCache: within a token's lifetime every login reuses it; without a TokenCache each
// login refreshes.
func TestOAuthCache(t *testing.T) {
	r := startOAuthRig(t, oauthtest.Options{}, [][]byte{[]byte("Subject: x\n\nx\n")})
	mem := MemSecrets{}
	cache := NewTokenCache(mem)
	ctx := context.Background()
	var shown string
	if err := SignIn(ctx, r.acct, cache, r.browser(t, &shown)); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		tok, err := LoginSecret(ctx, r.acct, cache)
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := TestConnection(ctx, r.acct, tok); err != nil {
			t.Fatalf("TestConnection: %v", err)
		}
	}
	if n := r.auth.AccessTokensIssued(); n != 1 {
		t.Fatalf("with a TokenCache %d access tokens were issued for a sign-in and three logins, want 1", n)
	}
	for range 2 {
		if _, err := LoginSecret(ctx, r.acct, mem); err != nil {
			t.Fatal(err)
		}
	}
	if n := r.auth.AccessTokensIssued(); n != 3 {
		t.Fatalf("without a cache: %d access tokens issued, want 3 (one per login)", n)
	}
}

// TestOAuthWrongState: a redirect whose state is not the one Poplar sent is refused, and nothing
// is stored.
func TestOAuthWrongState(t *testing.T) {
	r := startOAuthRig(t, oauthtest.Options{}, nil)
	mem := MemSecrets{}
	r.auth.TamperState()
	var shown string
	err := SignIn(context.Background(), r.acct, mem, r.browser(t, &shown))
	if !errors.Is(err, ErrStateMismatch) {
		t.Fatalf("SignIn with a forged state = %v, want ErrStateMismatch", err)
	}
	if len(mem) != 0 || r.auth.AccessTokensIssued() != 0 {
		t.Fatalf("after a forged state: stored %d secrets, issued %d tokens; want none", len(mem), r.auth.AccessTokensIssued())
	}
}

// TestOAuthClientSecret: a confidential client (Google's desktop apps) sends its secret from the
// keyring; without it the provider refuses, with a *ProviderError that names no secret.
func TestOAuthClientSecret(t *testing.T) {
	r := startOAuthRig(t, oauthtest.Options{ClientSecret: "GOCSPX-shh"}, nil)
	mem := MemSecrets{}
	var shown string
	err := SignIn(context.Background(), r.acct, mem, r.browser(t, &shown))
	var pe *ProviderError
	if !errors.As(err, &pe) || pe.Code != "invalid_client" {
		t.Fatalf("SignIn without the client secret = %v, want invalid_client", err)
	}
	if err := SetOAuthClientSecret(r.acct, mem, "GOCSPX-shh"); err != nil {
		t.Fatal(err)
	}
	if err := SignIn(context.Background(), r.acct, mem, r.browser(t, &shown)); err != nil {
		t.Fatalf("SignIn with the client secret: %v", err)
	}
	if _, err := LoginSecret(context.Background(), r.acct, mem); err != nil {
		t.Fatalf("refresh with the client secret: %v", err)
	}
	if err := DeleteOAuthClientSecret(r.acct.Name, mem); err != nil || len(mem) != 1 {
		t.Fatalf("DeleteOAuthClientSecret: %v, left %d entries; want only the refresh token", err, len(mem))
	}
}

func TestOAuthNotSignedIn(t *testing.T) {
	r := startOAuthRig(t, oauthtest.Options{}, nil)
	_, err := LoginSecret(context.Background(), r.acct, MemSecrets{})
	checkSignInAgain(t, "LoginSecret before any sign-in", err, r.acct.Name)
}

func TestOAuthValidate(t *testing.T) {
	base := New("w", "pop.example.org", "me@example.org")
	base.Auth = "oauth2"
	tests := []struct {
		name    string
		auth    string
		o       OAuth
		wantErr string // the field named; "" = valid
	}{
		{"google preset", "", OAuth{Provider: ProviderGoogle, ClientID: "123.apps.googleusercontent.com"}, ""},
		{"microsoft preset", "", OAuth{Provider: ProviderMicrosoft, ClientID: "0f0e-11"}, ""},
		{"custom", "", OAuth{Provider: ProviderCustom, ClientID: "c", AuthURL: "https://id.example/a", TokenURL: "https://id.example/t", Scopes: []string{"mail"}}, ""},
		{"custom device only", "", OAuth{Provider: ProviderCustom, ClientID: "c", DeviceURL: "http://127.0.0.1:8/d", TokenURL: "http://127.0.0.1:8/t", Scopes: []string{"mail"}}, ""},
		{"older oauth2 account", "", OAuth{}, ""},
		{"not oauth2", "password", OAuth{Provider: ProviderGoogle, ClientID: "x"}, "oauth"},
		{"unknown provider", "", OAuth{Provider: "yahoo", ClientID: "x"}, "oauth.provider"},
		{"no client id", "", OAuth{Provider: ProviderGoogle}, "oauth.client_id"},
		{"client id with space", "", OAuth{Provider: ProviderGoogle, ClientID: "a b"}, "oauth.client_id"},
		{"custom without token url", "", OAuth{Provider: ProviderCustom, ClientID: "c", AuthURL: "https://id.example/a", Scopes: []string{"m"}}, "oauth.token_url"},
		{"custom without scopes", "", OAuth{Provider: ProviderCustom, ClientID: "c", AuthURL: "https://id.example/a", TokenURL: "https://id.example/t"}, "oauth.scopes"},
		{"plain http to another host", "", OAuth{Provider: ProviderGoogle, ClientID: "c", TokenURL: "http://id.example/t"}, "oauth.token_url"},
		{"url with credentials", "", OAuth{Provider: ProviderGoogle, ClientID: "c", AuthURL: "https://u:p@id.example/a"}, "oauth.auth_url"},
		{"scope with a space", "", OAuth{Provider: ProviderGoogle, ClientID: "c", Scopes: []string{"a b"}}, "oauth.scopes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := base
			if tt.auth != "" {
				a.Auth = tt.auth
			}
			a.OAuth = tt.o
			err := a.Validate()
			var fe *FieldError
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("Validate(%+v) = %v, want nil", tt.o, err)
			case tt.wantErr != "" && (!errors.As(err, &fe) || fe.Field != tt.wantErr):
				t.Fatalf("Validate(%+v) = %v, want an error about %s", tt.o, err, tt.wantErr)
			}
		})
	}
}

// TestOAuthPresets: the presets hold the providers' real endpoints and the scopes mail needs.
func TestOAuthPresets(t *testing.T) {
	g := OAuth{Provider: ProviderGoogle, ClientID: "x"}.Endpoints()
	if g.AuthURL != "https://accounts.google.com/o/oauth2/v2/auth" || g.TokenURL != "https://oauth2.googleapis.com/token" ||
		strings.Join(g.Scopes, " ") != "https://mail.google.com/" {
		t.Fatalf("Google preset %+v", g)
	}
	m := OAuth{Provider: ProviderMicrosoft, ClientID: "x", Scopes: nil}.Endpoints()
	if m.TokenURL != "https://login.microsoftonline.com/common/oauth2/v2.0/token" ||
		strings.Join(m.Scopes, " ") != "https://outlook.office.com/POP.AccessAsUser.All https://outlook.office.com/SMTP.Send offline_access" {
		t.Fatalf("Microsoft preset %+v", m)
	}
	own := OAuth{Provider: ProviderMicrosoft, ClientID: "x", TokenURL: "https://login.microsoftonline.com/contoso.example/oauth2/v2.0/token"}.Endpoints()
	if own.TokenURL != "https://login.microsoftonline.com/contoso.example/oauth2/v2.0/token" || own.AuthURL != m.AuthURL {
		t.Fatalf("an override is kept and the rest filled in: %+v", own)
	}
}

// TestOAuthConfigRoundTrip: the OAuth settings survive the settings file, which holds no secret
// and no [accounts.oauth] for an account without them.
func TestOAuthConfigRoundTrip(t *testing.T) {
	dir := t.TempDir()
	a := New("g", "pop.gmail.com", "me@gmail.com")
	a.Auth = "oauth2"
	a.OAuth = OAuth{Provider: ProviderGoogle, ClientID: "123.apps.googleusercontent.com"}
	plain := New("p", "pop.example.org", "me")
	c := &Config{}
	if err := c.Add(plain); err != nil {
		t.Fatal(err)
	}
	if err := c.Save(dir); err != nil {
		t.Fatal(err)
	}
	if data, _ := os.ReadFile(filepath.Join(dir, ConfigFile)); strings.Contains(string(data), "oauth") || !strings.Contains(string(data), "version = 1") {
		t.Fatalf("an account without OAuth writes:\n%s", data)
	}
	if err := c.Add(a); err != nil {
		t.Fatal(err)
	}
	if err := c.Save(dir); err != nil {
		t.Fatal(err)
	}
	back, err := LoadConfig(dir)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := back.Find("g")
	if got.OAuth.Provider != ProviderGoogle || got.OAuth.ClientID != a.OAuth.ClientID || got.OAuth.Scopes != nil {
		t.Fatalf("OAuth settings after a round trip: %+v", got.OAuth)
	}
}

// TestOAuthSendPostfix: an OAuth2 account sends through a real Postfix, whose SMTP AUTH goes
// through Dovecot's oauth2 passdb, over implicit TLS (OAUTHBEARER, which Poplar prefers) and
// STARTTLS, with the access token the sign-in got; a revoked sign-in is a *SignInError there too.
func TestOAuthSendPostfix(t *testing.T) {
	r := startOAuthRig(t, oauthtest.Options{}, nil)
	pf := postfix.StartT(t, r.dv, postfix.Options{})
	secrets := NewTokenCache(MemSecrets{})
	var shown string
	if err := SignIn(context.Background(), r.acct, secrets, r.browser(t, &shown)); err != nil {
		t.Fatal(err)
	}
	s := openTestStore(t)
	for i, addr := range []struct{ addr, security string }{{pf.SubmissionTLSAddr, SecurityTLS}, {pf.SubmissionSTARTTLSAddr, SecuritySTARTTLS}} {
		a := r.acct
		host, port, _ := strings.Cut(addr.addr, ":")
		p, _ := strconv.Atoi(port)
		a.SMTP = SMTPServer{Host: host, Port: p, Security: addr.security, Fingerprint: pf.Fingerprint}
		key, err := s.Queue(strings.NewReader("Subject: via oauth\r\n\r\nhello\r\n"),
			storage.OutboxState{From: pf.Address("dana"), To: []string{pf.Address("bob")}})
		if err != nil {
			t.Fatal(err)
		}
		if err := SendEntry(context.Background(), a, s, key, SendOptions{Secrets: secrets}); err != nil {
			t.Fatalf("send over %s: %v\n%s\n%s", addr.security, err, pf.Log(), r.dv.Log())
		}
		if err := pf.WaitDelivered("bob", i+1, 20*time.Second); err != nil {
			t.Fatal(err)
		}
	}
	if n := r.auth.AccessTokensIssued(); n != 1 {
		t.Fatalf("%d access tokens issued for one sign-in and two sends, want 1 (the cached one)", n)
	}
	r.auth.RevokeAll()
	a := r.acct
	host, port, _ := strings.Cut(pf.SubmissionTLSAddr, ":")
	p, _ := strconv.Atoi(port)
	a.SMTP = SMTPServer{Host: host, Port: p, Security: SecurityTLS, Fingerprint: pf.Fingerprint}
	key, err := s.Queue(strings.NewReader("Subject: revoked\r\n\r\nno\r\n"), storage.OutboxState{From: pf.Address("dana"), To: []string{pf.Address("bob")}})
	if err != nil {
		t.Fatal(err)
	}
	// The cached token is refused by the server and forgotten; the next try asks the provider.
	err = SendEntry(context.Background(), a, s, key, SendOptions{Secrets: secrets})
	if !IsSMTPAuthFailure(err) {
		t.Fatalf("send with a revoked cached token = %v; want the server's refusal", err)
	}
	err = SendEntry(context.Background(), a, s, key, SendOptions{Secrets: secrets})
	checkSignInAgain(t, "send after revocation", err, a.Name)
}

// TestSignInCancel: cancelling while the browser flow waits ends it with context.Canceled and
// stores nothing.
func TestSignInCancel(t *testing.T) {
	r := startOAuthRig(t, oauthtest.Options{}, nil)
	mem := MemSecrets{}
	ctx, cancel := context.WithCancel(context.Background())
	err := SignIn(ctx, r.acct, mem, SignInOptions{ShowURL: func(string) { cancel() }, OpenBrowser: func(string) error { return nil }})
	if !errors.Is(err, context.Canceled) || len(mem) != 0 {
		t.Fatalf("SignIn cancelled = %v, stored %d; want context.Canceled and nothing", err, len(mem))
	}
}

// TestOpenBrowser: each command of $BROWSER is tried in order, "%s" stands for the URL (else it is
// the last argument), and a browser that cannot start is an error.
func TestOpenBrowser(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "args")
	script := filepath.Join(dir, "browser")
	if err := os.WriteFile(script, []byte("#!/bin/sh\nprintf '%s\\n' \"$@\" > "+out+".tmp && mv "+out+".tmp "+out+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	const u = "http://127.0.0.1:1/?a=b&c=d"
	tests := []struct {
		browser string
		want    string // the arguments the script got, one a line
	}{
		{script, u + "\n"},
		{script + " --new-window %s", "--new-window\n" + u + "\n"},
		{filepath.Join(dir, "missing") + ":" + script + " -x", "-x\n" + u + "\n"},
	}
	for _, tt := range tests {
		t.Run(tt.browser, func(t *testing.T) {
			os.Remove(out)
			if err := OpenBrowser(u, func(k string) string { return map[string]string{"BROWSER": tt.browser}[k] }); err != nil {
				t.Fatal(err)
			}
			var got []byte
			for range 200 {
				if got, _ = os.ReadFile(out); got != nil {
					break
				}
				time.Sleep(10 * time.Millisecond)
			}
			if string(got) != tt.want {
				t.Fatalf("OpenBrowser with BROWSER=%q ran the browser with %q, want %q", tt.browser, got, tt.want)
			}
		})
	}
	t.Setenv("PATH", dir) // no xdg-open either
	if err := OpenBrowser(u, func(string) string { return filepath.Join(dir, "missing") }); err == nil {
		t.Fatal("OpenBrowser with no browser at all succeeded")
	}
}
