package account

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"golang.org/x/oauth2"

	"github.com/poplar-mail/poplar/pop"
)

// This file is OAuth2 sign-in (RFC 6749) for accounts whose provider refuses passwords: the
// settings ([accounts.oauth]), the presets for Google and Microsoft, and the one place that turns
// an account and its SecretStore into what logs in (LoginSecret): for an OAuth2 account, an access
// token obtained with the refresh token from the keyring and refreshed before it expires. The
// sign-in flows themselves (browser with PKCE, device code) are in oauth_flow.go.
//
// The keyring holds, for an OAuth2 account NAME: the refresh token under NAME (the account's own
// entry) and the client secret, when the provider requires one, under NAME/oauth-client. Neither
// is ever written to the settings file, a log or an error message. Access tokens live only in
// memory (TokenCache).

// OAuth providers as stored in the settings file.
const (
	ProviderGoogle    = "google"
	ProviderMicrosoft = "microsoft"
	ProviderCustom    = "custom"
)

// OAuth is an account's OAuth2 sign-in settings, [accounts.oauth]. An account with Auth "oauth2"
// and no ClientID is the older kind: its keyring entry is an access token used as it is.
type OAuth struct {
	Provider string `toml:"provider"`  // google, microsoft or custom
	ClientID string `toml:"client_id"` // the application the user registered with the provider
	// AuthURL, TokenURL and DeviceURL override the provider's endpoints ("" = the preset's); a
	// custom provider needs AuthURL and TokenURL (or DeviceURL and TokenURL).
	AuthURL   string   `toml:"auth_url,omitempty"`
	TokenURL  string   `toml:"token_url,omitempty"`
	DeviceURL string   `toml:"device_url,omitempty"`
	Scopes    []string `toml:"scopes,omitempty"` // nil = the preset's
}

// Configured reports whether the settings name a client, so sign-in goes through the provider.
func (o OAuth) Configured() bool { return o.ClientID != "" }

// oauthPreset is a provider's endpoints and the scopes mail needs.
type oauthPreset struct {
	auth, token, device string
	scopes              []string
	// extra parameters of the authorization request
	params []oauth2.AuthCodeOption
}

// oauthPresets are the providers Poplar knows. Google needs access_type=offline for a refresh
// token and prompt=consent to get one again on a new sign-in; Microsoft needs offline_access.
var oauthPresets = map[string]oauthPreset{
	ProviderGoogle: {
		auth:   "https://accounts.google.com/o/oauth2/v2/auth",
		token:  "https://oauth2.googleapis.com/token",
		device: "https://oauth2.googleapis.com/device/code",
		scopes: []string{"https://mail.google.com/"},
		params: []oauth2.AuthCodeOption{oauth2.AccessTypeOffline, oauth2.ApprovalForce},
	},
	ProviderMicrosoft: {
		auth:   "https://login.microsoftonline.com/common/oauth2/v2.0/authorize",
		token:  "https://login.microsoftonline.com/common/oauth2/v2.0/token",
		device: "https://login.microsoftonline.com/common/oauth2/v2.0/devicecode",
		scopes: []string{"https://outlook.office.com/POP.AccessAsUser.All", "https://outlook.office.com/SMTP.Send", "offline_access"},
	},
	ProviderCustom: {},
}

// oauthServers are the POP3 and submission servers of the providers with a preset.
var oauthServers = map[string]struct {
	pop  string
	smtp SMTPServer
}{
	ProviderGoogle:    {"pop.gmail.com", SMTPServer{Host: "smtp.gmail.com", Port: SMTPPortTLS, Security: SecurityTLS}},
	ProviderMicrosoft: {"outlook.office365.com", SMTPServer{Host: "smtp.office365.com", Port: SMTPPortSubmission, Security: SecuritySTARTTLS}},
}

// OAuthDefaults completes an account being set up for OAuth2: Auth becomes "oauth2" when OAuth
// settings are given, the user name defaults to the email address, and for Google and Microsoft
// an empty incoming or outgoing server becomes the provider's (TLS on 995; 465, or 587 with
// STARTTLS). Settings already given are kept.
func OAuthDefaults(a *Account) {
	if a.OAuth.Provider != "" || a.OAuth.ClientID != "" {
		a.Auth = "oauth2"
	}
	if a.Auth != "oauth2" {
		return
	}
	if a.Username == "" {
		a.Username = a.Email
	}
	srv, ok := oauthServers[a.OAuth.Provider]
	if !ok {
		return
	}
	if a.Host == "" {
		a.Host, a.Port, a.Security = srv.pop, 995, SecurityTLS
	}
	if a.SMTP.Host == "" {
		a.SMTP = srv.smtp
	}
}

// Endpoints returns the settings with the provider's preset filled in where they are empty.
func (o OAuth) Endpoints() OAuth {
	p := oauthPresets[o.Provider]
	if o.AuthURL == "" {
		o.AuthURL = p.auth
	}
	if o.TokenURL == "" {
		o.TokenURL = p.token
	}
	if o.DeviceURL == "" {
		o.DeviceURL = p.device
	}
	if len(o.Scopes) == 0 {
		o.Scopes = append([]string(nil), p.scopes...)
	}
	return o
}

// validate checks the OAuth settings of an account; bad names the field.
func (o OAuth) validate(auth string, bad func(field, format string, args ...any) error) error {
	if o.Provider == "" && o.ClientID == "" && o.AuthURL == "" && o.TokenURL == "" && o.DeviceURL == "" && len(o.Scopes) == 0 {
		return nil
	}
	if auth != "oauth2" {
		return bad("oauth", "settings need auth = oauth2 (auth is %q)", auth)
	}
	if _, ok := oauthPresets[o.Provider]; !ok {
		return bad("oauth.provider", "%q must be google, microsoft or custom", o.Provider)
	}
	if strings.TrimSpace(o.ClientID) == "" || strings.ContainsAny(o.ClientID, " \t\r\n") {
		return bad("oauth.client_id", "%q is empty or has a space: enter the client ID of the application you registered with the provider", o.ClientID)
	}
	for _, f := range []struct{ key, value string }{{"oauth.auth_url", o.AuthURL}, {"oauth.token_url", o.TokenURL}, {"oauth.device_url", o.DeviceURL}} {
		if f.value != "" && !endpointURL(f.value) {
			return bad(f.key, "%q must be an https:// URL (http:// only to this computer)", f.value)
		}
	}
	for _, s := range o.Scopes {
		if s == "" || strings.ContainsAny(s, " \t\r\n\"\\") {
			return bad("oauth.scopes", "%q is not a scope", s)
		}
	}
	e := o.Endpoints()
	switch {
	case e.TokenURL == "":
		return bad("oauth.token_url", "is needed for a custom provider")
	case e.AuthURL == "" && e.DeviceURL == "":
		return bad("oauth.auth_url", "is needed for a custom provider (or oauth.device_url for the device flow)")
	case len(e.Scopes) == 0:
		return bad("oauth.scopes", "is needed for a custom provider")
	}
	return nil
}

// endpointURL reports whether u is an https URL, or http to a loopback address.
func endpointURL(u string) bool {
	p, err := url.Parse(u)
	if err != nil || p.Host == "" || p.User != nil || strings.ContainsAny(u, " \r\n") {
		return false
	}
	if p.Scheme == "https" {
		return true
	}
	ip := net.ParseIP(p.Hostname())
	return p.Scheme == "http" && (p.Hostname() == "localhost" || (ip != nil && ip.IsLoopback()))
}

// OAuthClientSecretName returns the SecretStore name of the account's OAuth client secret.
func OAuthClientSecretName(account string) string { return account + "/oauth-client" }

// SetOAuthClientSecret stores the client secret of a's OAuth application in secrets (nil: the OS
// keyring); "" removes it (a public client).
func SetOAuthClientSecret(a Account, secrets SecretStore, secret string) error {
	if secrets == nil {
		secrets = Keyring()
	}
	if secret == "" {
		return secrets.Delete(OAuthClientSecretName(a.Name))
	}
	return secrets.Set(OAuthClientSecretName(a.Name), secret)
}

// DeleteOAuthClientSecret removes the client secret stored for the account called name, if any.
func DeleteOAuthClientSecret(name string, secrets SecretStore) error {
	if secrets == nil {
		secrets = Keyring()
	}
	return secrets.Delete(OAuthClientSecretName(name))
}

// oauthConfig returns the x/oauth2 configuration of a's provider with its client secret (from
// secrets; none stored means a public client). redirect is the loopback redirect URI, or "".
func oauthConfig(a Account, secrets SecretStore, redirect string) (*oauth2.Config, error) {
	e := a.OAuth.Endpoints()
	secret, err := secrets.Get(OAuthClientSecretName(a.Name))
	if errors.Is(err, ErrNoSecret) {
		secret, err = "", nil
	}
	if err != nil {
		return nil, err
	}
	return &oauth2.Config{ClientID: e.ClientID, ClientSecret: secret, Scopes: e.Scopes, RedirectURL: redirect,
		Endpoint: oauth2.Endpoint{AuthURL: e.AuthURL, TokenURL: e.TokenURL, DeviceAuthURL: e.DeviceURL, AuthStyle: oauth2.AuthStyleInParams}}, nil
}

// oauthTimeout bounds every request to a provider's endpoints.
const oauthTimeout = 30 * time.Second

// oauthContext gives x/oauth2's requests an HTTP client with a deadline.
func oauthContext(ctx context.Context) context.Context {
	return context.WithValue(ctx, oauth2.HTTPClient, &http.Client{Timeout: oauthTimeout})
}

// ErrSignInAgain means the provider no longer accepts the account's sign-in (the refresh token was
// revoked or expired, or none is stored): the user must sign in again. Test with errors.Is; the
// error is a *SignInError.
var ErrSignInAgain = errors.New("account: sign in again")

// NotSignedIn is the Reason of a SignInError for an account that has never signed in (no refresh
// token is stored).
const NotSignedIn = "not signed in yet"

// SignInError means an OAuth2 account must sign in again: in the app, "Sign in again" (SignIn); on
// the command line, poplar account login NAME. It matches ErrSignInAgain.
type SignInError struct {
	Account string
	Reason  string // the provider's words (its error code and description), or why none is stored
}

func (e *SignInError) Error() string {
	return fmt.Sprintf("account: the sign-in of %s is no longer valid (%s): sign in again with 'poplar account login %s'", e.Account, e.Reason, e.Account)
}

// Is reports whether target is ErrSignInAgain.
func (e *SignInError) Is(target error) bool { return target == ErrSignInAgain }

// ProviderError is any other refusal of the provider's token endpoint, in its words (RFC 6749
// 5.2): a wrong client ID or secret, a scope it does not allow.
type ProviderError struct {
	Account     string
	Code        string // e.g. invalid_client
	Description string
}

func (e *ProviderError) Error() string {
	s := fmt.Sprintf("account: the sign-in provider of %s refused: %s", e.Account, e.Code)
	if e.Description != "" {
		s += " (" + e.Description + ")"
	}
	if e.Code == "invalid_client" || e.Code == "unauthorized_client" {
		s += "; check the client ID and secret of the account's OAuth settings"
	}
	return s
}

// oauthErr turns a failure of a token request into an error that says what to do and carries no
// secret: invalid_grant is a *SignInError, another refusal a *ProviderError, a network failure is
// wrapped with the endpoint's host.
func oauthErr(a Account, err error) error {
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) {
		if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
			return err
		}
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // the URL holds no secret, but the request's own words are enough
		}
		return fmt.Errorf("account: reaching the sign-in provider of %s (%s): %w", a.Name, hostOf(a.OAuth.Endpoints().TokenURL), err)
	}
	code, desc := pop.CleanText(re.ErrorCode), pop.CleanText(re.ErrorDescription)
	if len(desc) > 200 {
		desc = desc[:200] + "…"
	}
	if code == "" && re.Response != nil {
		code = "HTTP " + re.Response.Status
	}
	if code == "invalid_grant" {
		reason := code
		if desc != "" {
			reason += ": " + desc
		}
		return &SignInError{Account: a.Name, Reason: reason}
	}
	return &ProviderError{Account: a.Name, Code: code, Description: desc}
}

func hostOf(u string) string {
	if p, err := url.Parse(u); err == nil {
		return p.Host
	}
	return "?"
}

// TokenCache is a SecretStore that also keeps OAuth2 access tokens in memory, so one process
// refreshes an account's token once per lifetime however many fetches, sends and tests use it,
// and two of them never refresh at once (a provider that rotates refresh tokens would refuse the
// second). Make one per process over the real store and pass it wherever a SecretStore goes;
// without one every login refreshes. Setting or deleting an account's entry (a new sign-in)
// forgets its access token. Safe for concurrent use.
type TokenCache struct {
	SecretStore

	mu     sync.Mutex
	tokens map[string]cachedToken
	locks  map[string]*sync.Mutex // one refresh per account at a time
}

type cachedToken struct {
	key    string // the settings the token was obtained with
	access string
	renew  time.Time // refresh from then on
}

// NewTokenCache returns a TokenCache over store (nil: the OS keyring).
func NewTokenCache(store SecretStore) *TokenCache {
	if store == nil {
		store = Keyring()
	}
	return &TokenCache{SecretStore: store, tokens: map[string]cachedToken{}, locks: map[string]*sync.Mutex{}}
}

// Set stores a secret and forgets the account's access token.
func (c *TokenCache) Set(name, secret string) error {
	c.Forget(name)
	return c.SecretStore.Set(name, secret)
}

// Delete removes a secret and forgets the account's access token.
func (c *TokenCache) Delete(name string) error {
	c.Forget(name)
	return c.SecretStore.Delete(name)
}

// Forget drops the access token kept for the account called name (the server refused it).
func (c *TokenCache) Forget(name string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.tokens, name)
}

func (c *TokenCache) lock(name string) func() {
	c.mu.Lock()
	l := c.locks[name]
	if l == nil {
		l = &sync.Mutex{}
		c.locks[name] = l
	}
	c.mu.Unlock()
	l.Lock()
	return l.Unlock
}

func (c *TokenCache) get(name, key string, now time.Time) (string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	t, ok := c.tokens[name]
	if !ok || t.key != key || !now.Before(t.renew) {
		return "", false
	}
	return t.access, true
}

func (c *TokenCache) put(name, key string, tok *oauth2.Token, issued time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.tokens[name] = cachedToken{key: key, access: tok.AccessToken, renew: renewAt(tok, issued)}
}

// renewAt returns when a token should be refreshed: a quarter of its lifetime (at most five
// minutes) before it expires, so it is still valid when the server checks it. A token without
// an expiry is used for an hour.
func renewAt(tok *oauth2.Token, issued time.Time) time.Time {
	if tok.Expiry.IsZero() {
		return issued.Add(time.Hour)
	}
	margin := min(tok.Expiry.Sub(issued)/4, 5*time.Minute)
	return tok.Expiry.Add(-margin)
}

// cacheKey names the settings a token belongs to: another client or endpoint needs another one.
func cacheKey(a Account) string {
	e := a.OAuth.Endpoints()
	return e.ClientID + " " + e.TokenURL + " " + strings.Join(e.Scopes, " ")
}

// LoginSecret returns what logs in to a's servers, from secrets (nil: the OS keyring): the stored
// password; for an OAuth2 account with a client ID, a valid access token (AccessToken); for an
// older OAuth2 account without one, the stored token as it is. Every path that logs in (fetch,
// Download the rest, Test connection, sending) gets its secret here.
func LoginSecret(ctx context.Context, a Account, secrets SecretStore) (string, error) {
	if secrets == nil {
		secrets = Keyring()
	}
	if a.Auth == "oauth2" && a.OAuth.Configured() {
		return AccessToken(ctx, a, secrets)
	}
	return secrets.Get(a.Name)
}

// SMTPLoginSecret returns what signs in to a's outgoing server: for an OAuth2 account with a
// client ID, the same access token as LoginSecret's (the sign-in covers both servers); else the
// outgoing password (SMTPPassword).
func SMTPLoginSecret(ctx context.Context, a Account, secrets SecretStore) (string, error) {
	if a.Auth == "oauth2" && a.OAuth.Configured() {
		return LoginSecret(ctx, a, secrets)
	}
	return SMTPPassword(a, secrets)
}

// AccessToken returns an access token for a (an OAuth2 account with a client ID): the one
// secrets keeps in memory when it is a *TokenCache and not about to expire, else a new one from
// the provider's token endpoint with the refresh token stored under a.Name. A rotated refresh
// token is stored in its place. A revoked, expired or missing refresh token is a *SignInError.
// It does network I/O (at most oauthTimeout) and honours ctx.
func AccessToken(ctx context.Context, a Account, secrets SecretStore) (string, error) {
	if !a.OAuth.Configured() {
		return "", fmt.Errorf("account: %s has no OAuth client ID: add one in the account settings", a.Name)
	}
	cache, _ := secrets.(*TokenCache)
	key := cacheKey(a)
	if cache != nil {
		unlock := cache.lock(a.Name)
		defer unlock()
		if tok, ok := cache.get(a.Name, key, time.Now()); ok {
			return tok, nil
		}
	}
	refresh, err := secrets.Get(a.Name)
	if errors.Is(err, ErrNoSecret) {
		return "", &SignInError{Account: a.Name, Reason: NotSignedIn}
	}
	if err != nil {
		return "", err
	}
	cfg, err := oauthConfig(a, secrets, "")
	if err != nil {
		return "", err
	}
	issued := time.Now()
	tok, err := cfg.TokenSource(oauthContext(ctx), &oauth2.Token{RefreshToken: refresh}).Token()
	if err != nil {
		return "", oauthErr(a, err)
	}
	if tok.AccessToken == "" {
		return "", &ProviderError{Account: a.Name, Code: "no access_token in the answer"}
	}
	if tok.RefreshToken != "" && tok.RefreshToken != refresh {
		// The provider rotated the refresh token: the old one is dead from now on.
		if cache != nil {
			err = cache.SecretStore.Set(a.Name, tok.RefreshToken)
		} else {
			err = secrets.Set(a.Name, tok.RefreshToken)
		}
		if err != nil {
			return "", fmt.Errorf("account: storing the renewed sign-in of %s: %w", a.Name, err)
		}
	}
	if cache != nil {
		cache.put(a.Name, key, tok, issued)
	}
	return tok.AccessToken, nil
}

// forgetToken drops a's cached access token after a server refused it, so the next login asks
// the provider (and learns whether the sign-in was revoked). It reports whether it did.
func forgetToken(a Account, secrets SecretStore, err error) bool {
	c, ok := secrets.(*TokenCache)
	if !ok || a.Auth != "oauth2" || !a.OAuth.Configured() || !(IsAuthFailure(err) || IsSMTPAuthFailure(err)) {
		return false
	}
	c.Forget(a.Name)
	return true
}
