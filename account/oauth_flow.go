package account

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"html"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"time"

	"golang.org/x/oauth2"

	"github.com/poplar-mail/poplar/pop"
)

// This file holds the two ways to sign in to an OAuth2 provider: the authorization code flow with
// PKCE (RFC 7636, S256) and a loopback redirect on 127.0.0.1 (RFC 8252), in the system browser;
// and the device authorization grant (RFC 8628) for a machine without one.

// DeviceCode is what the user of the device flow does: open VerificationURI on any device and
// enter UserCode there.
type DeviceCode struct {
	UserCode                string
	VerificationURI         string
	VerificationURIComplete string    // the URI with the code in it; "" when the provider gives none
	Expires                 time.Time // zero when the provider does not say
}

// SignInOptions configure SignIn.
type SignInOptions struct {
	// Device selects the device authorization grant instead of the browser.
	Device bool
	// ShowURL, for the browser flow, is called with the authorization URL once Poplar listens for
	// the answer and before the browser opens, so the user can copy it. May be nil.
	ShowURL func(url string)
	// OpenBrowser opens the authorization URL; nil means OpenBrowser with os.Getenv. When it fails
	// the flow goes on: the user can open the URL ShowURL showed.
	OpenBrowser func(url string) error
	// ShowDeviceCode, for the device flow, is called with the code the user must enter. Required
	// with Device.
	ShowDeviceCode func(DeviceCode)
}

// ErrStateMismatch means the answer that reached the loopback address was not for Poplar's
// request (RFC 6749 10.12: a forged or replayed redirect): the sign-in is refused.
var ErrStateMismatch = errors.New("account: the sign-in answer does not match Poplar's request (wrong state); nothing was stored")

// SignIn signs a in with its OAuth2 provider and stores the refresh token in secrets (nil: the OS
// keyring) under a.Name, replacing any earlier one; the access token it also gets is kept when
// secrets is a *TokenCache. The browser flow listens on 127.0.0.1 on a random port, shows the URL
// (opts.ShowURL), opens the browser and waits for the provider's redirect; the device flow shows a
// code (opts.ShowDeviceCode) and polls until the user has entered it. Either blocks until the user
// is done, the provider refuses, or ctx ends (context.Canceled: nothing stored). It does network
// I/O and may be called from any goroutine but the UI's.
func SignIn(ctx context.Context, a Account, secrets SecretStore, opts SignInOptions) error {
	if secrets == nil {
		secrets = Keyring()
	}
	if a.Auth != "oauth2" || !a.OAuth.Configured() {
		return fmt.Errorf("account: %s does not sign in with OAuth2: set its login method to oauth2 and its OAuth client ID", a.Name)
	}
	e := a.OAuth.Endpoints()
	var tok *oauth2.Token
	var err error
	issued := time.Now()
	if opts.Device {
		if e.DeviceURL == "" {
			return fmt.Errorf("account: the sign-in provider of %s has no device flow (oauth.device_url): sign in with the browser", a.Name)
		}
		if opts.ShowDeviceCode == nil {
			return errors.New("account: SignIn with Device needs ShowDeviceCode")
		}
		tok, err = deviceFlow(ctx, a, secrets, opts)
	} else {
		if e.AuthURL == "" {
			return fmt.Errorf("account: the sign-in provider of %s has no authorization URL (oauth.auth_url): use the device flow", a.Name)
		}
		tok, err = browserFlow(ctx, a, secrets, opts)
	}
	if err != nil {
		return err
	}
	if tok.RefreshToken == "" {
		return &ProviderError{Account: a.Name, Code: "no refresh token in the answer",
			Description: "Poplar needs one to sign in later; Microsoft gives it with the offline_access scope"}
	}
	if err := secrets.Set(a.Name, tok.RefreshToken); err != nil {
		return fmt.Errorf("account: storing the sign-in of %s: %w", a.Name, err)
	}
	if c, ok := secrets.(*TokenCache); ok && tok.AccessToken != "" {
		c.put(a.Name, cacheKey(a), tok, issued)
	}
	return nil
}

// browserFlow runs the authorization code flow with PKCE through the loopback redirect.
func browserFlow(ctx context.Context, a Account, secrets SecretStore, opts SignInOptions) (*oauth2.Token, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("account: listening for the sign-in answer: %w", err)
	}
	defer l.Close()
	// No path: a registration of http://127.0.0.1 matches it at any port (Google, Microsoft).
	redirect := "http://" + l.Addr().String()
	cfg, err := oauthConfig(a, secrets, redirect)
	if err != nil {
		return nil, err
	}
	state, verifier := randomState(), oauth2.GenerateVerifier()
	params := append([]oauth2.AuthCodeOption{oauth2.S256ChallengeOption(verifier)}, oauthPresets[a.OAuth.Provider].params...)
	authURL := cfg.AuthCodeURL(state, params...)

	type answer struct {
		code string
		err  error
	}
	answers := make(chan answer, 1)
	srv := &http.Server{ReadHeaderTimeout: 10 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/" {
			http.NotFound(w, r)
			return
		}
		q := r.URL.Query()
		var ans answer
		switch {
		case subtle.ConstantTimeCompare([]byte(q.Get("state")), []byte(state)) != 1:
			ans.err = ErrStateMismatch
		case q.Get("error") != "":
			ans.err = &ProviderError{Account: a.Name, Code: pop.CleanText(q.Get("error")), Description: pop.CleanText(q.Get("error_description"))}
		case q.Get("code") == "":
			ans.err = fmt.Errorf("account: the sign-in answer for %s has no code", a.Name)
		default:
			ans.code = q.Get("code")
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		if ans.err != nil {
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprintf(w, "<!doctype html><title>Poplar</title><p>Poplar could not sign in: %s</p>", html.EscapeString(ans.err.Error()))
		} else {
			fmt.Fprint(w, "<!doctype html><title>Poplar</title><p>Signed in. You can close this tab and go back to Poplar.</p>")
		}
		// The page goes out before the flow learns the answer: the flow ends by closing the server.
		if f, ok := w.(http.Flusher); ok {
			f.Flush()
		}
		select {
		case answers <- ans:
		default: // a second answer after the first: ignored
		}
	})}
	go srv.Serve(l)
	defer func() { // let a page being written finish, briefly
		sctx, stop := context.WithTimeout(context.Background(), 2*time.Second)
		defer stop()
		srv.Shutdown(sctx)
	}()

	if opts.ShowURL != nil {
		opts.ShowURL(authURL)
	}
	open := opts.OpenBrowser
	if open == nil {
		open = func(u string) error { return OpenBrowser(u, os.Getenv) }
	}
	open(authURL) // a failure is not fatal: the URL was shown

	var ans answer
	select {
	case <-ctx.Done():
		return nil, ctx.Err()
	case ans = <-answers:
	}
	if ans.err != nil {
		return nil, ans.err
	}
	tok, err := cfg.Exchange(oauthContext(ctx), ans.code, oauth2.VerifierOption(verifier))
	if err != nil {
		return nil, oauthErr(a, err)
	}
	return tok, nil
}

// deviceFlow runs the device authorization grant: ask for a code, show it, poll for the token.
func deviceFlow(ctx context.Context, a Account, secrets SecretStore, opts SignInOptions) (*oauth2.Token, error) {
	cfg, err := oauthConfig(a, secrets, "")
	if err != nil {
		return nil, err
	}
	octx := oauthContext(ctx)
	da, err := cfg.DeviceAuth(octx)
	if err != nil {
		return nil, oauthErr(a, err)
	}
	if da.UserCode == "" || da.VerificationURI == "" {
		return nil, &ProviderError{Account: a.Name, Code: "no user code or verification URI in the device answer"}
	}
	opts.ShowDeviceCode(DeviceCode{UserCode: pop.CleanText(da.UserCode), VerificationURI: pop.CleanText(da.VerificationURI),
		VerificationURIComplete: pop.CleanText(da.VerificationURIComplete), Expires: da.Expiry})
	tok, err := cfg.DeviceAccessToken(octx, da)
	if err != nil {
		if ctx.Err() == nil && errors.Is(err, context.DeadlineExceeded) {
			return nil, fmt.Errorf("account: the device code of %s expired before it was entered: sign in again", a.Name)
		}
		return nil, oauthErr(a, err)
	}
	return tok, nil
}

// randomState returns an unguessable state value for one authorization request.
func randomState() string {
	var b [24]byte
	rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// OpenBrowser opens u in the user's browser: each command of $BROWSER (colon-separated; "%s" is
// replaced by u, else u is the last argument), then xdg-open. It starts the browser and does not
// wait for it. getenv nil means os.Getenv.
func OpenBrowser(u string, getenv func(string) string) error {
	if getenv == nil {
		getenv = os.Getenv
	}
	var cmds []string
	if b := getenv("BROWSER"); b != "" {
		cmds = strings.Split(b, ":")
	}
	cmds = append(cmds, "xdg-open")
	for _, c := range cmds {
		f := strings.Fields(c)
		if len(f) == 0 {
			continue
		}
		args, put := f[1:], false
		for i, arg := range args {
			if strings.Contains(arg, "%s") {
				args[i], put = strings.ReplaceAll(arg, "%s", u), true
			}
		}
		if !put {
			args = append(args, u)
		}
		cmd := exec.Command(f[0], args...)
		if err := cmd.Start(); err == nil {
			go cmd.Wait()
			return nil
		}
	}
	return errors.New("account: no browser could be started (set BROWSER, or open the URL yourself)")
}
