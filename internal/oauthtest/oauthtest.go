// Package oauthtest runs a small OAuth 2.0 authorization server on 127.0.0.1 for tests, the way
// net/http/httptest serves net/http's. It is strict where a real provider is: the authorization
// endpoint (RFC 6749 4.1) takes only a known client ID, a loopback redirect URI (RFC 8252 7.3) and
// a PKCE S256 challenge (RFC 7636); the token endpoint checks the code, the redirect URI and the
// code verifier; refresh tokens can be revoked (invalid_grant); the device authorization grant
// (RFC 8628) answers authorization_pending until the user approves and slow_down when polled
// sooner than the interval after the last poll; the introspection endpoint (RFC 7662) tells a resource server such as Dovecot whether an
// access token is active and whose it is.
//
// The user's part (signing in and consenting in a browser, typing a device code) is done by the
// test: Approve follows an authorization URL as a browser would, ApproveDevice enters a user code.
package oauthtest

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

// Options configure a Server. The zero value is usable.
type Options struct {
	// ClientID is the only client the server knows; "" means "poplar-test".
	ClientID string
	// ClientSecret, when set, must come with every token request (a confidential client, as
	// Google's desktop clients are).
	ClientSecret string
	// User is who signs in ("" means "dana"): introspection names them as the token's owner.
	User string
	// AccessTokenLifetime is how long an access token is active; 0 means an hour.
	AccessTokenLifetime time.Duration
	// RotateRefreshTokens makes every refresh return a new refresh token and revoke the old one.
	RotateRefreshTokens bool
	// DeviceInterval is the polling interval of the device grant, in seconds; 0 means 1.
	DeviceInterval int
}

// Server is a running authorization server. Its methods are safe for concurrent use.
type Server struct {
	URL           string // base URL, http://127.0.0.1:port
	AuthURL       string // authorization endpoint
	TokenURL      string // token endpoint
	DeviceURL     string // device authorization endpoint (RFC 8628)
	IntrospectURL string // token introspection endpoint (RFC 7662)
	VerifyURL     string // where a device user enters the code (verification_uri)
	ClientID      string
	User          string

	opts Options
	srv  *httptest.Server

	mu       sync.Mutex
	codes    map[string]authCode
	access   map[string]time.Time // access token → expiry
	refresh  map[string]bool      // refresh token → still valid
	devices  map[string]*device   // device code → state
	secrets  []string             // every token and code issued, for leak checks
	issued   int                  // access tokens issued
	tamper   bool                 // answer the next authorization with a wrong state
	verified int                  // authorization codes redeemed with a correct PKCE verifier
}

type authCode struct {
	redirect, challenge string
}

type device struct {
	userCode string
	approved bool
	lastPoll time.Time
}

// Start starts a server for a test and stops it at cleanup.
func Start(t testing.TB, opts Options) *Server {
	t.Helper()
	if opts.ClientID == "" {
		opts.ClientID = "poplar-test"
	}
	if opts.User == "" {
		opts.User = "dana"
	}
	if opts.AccessTokenLifetime <= 0 {
		opts.AccessTokenLifetime = time.Hour
	}
	if opts.DeviceInterval <= 0 {
		opts.DeviceInterval = 1
	}
	s := &Server{opts: opts, ClientID: opts.ClientID, User: opts.User, codes: map[string]authCode{},
		access: map[string]time.Time{}, refresh: map[string]bool{}, devices: map[string]*device{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /authorize", s.authorize)
	mux.HandleFunc("POST /token", s.token)
	mux.HandleFunc("POST /device", s.deviceAuth)
	mux.HandleFunc("GET /verify", s.verify)
	mux.HandleFunc("POST /introspect", s.introspect)
	s.srv = httptest.NewServer(mux)
	t.Cleanup(s.srv.Close)
	s.URL = s.srv.URL
	s.AuthURL, s.TokenURL, s.DeviceURL = s.URL+"/authorize", s.URL+"/token", s.URL+"/device"
	s.IntrospectURL, s.VerifyURL = s.URL+"/introspect", s.URL+"/verify"
	return s
}

// random returns a fresh random string with a prefix, remembered as a secret.
func (s *Server) random(prefix string) string {
	var b [18]byte
	rand.Read(b[:])
	v := prefix + hex.EncodeToString(b[:])
	s.secrets = append(s.secrets, v)
	return v
}

// Secrets returns every token, code and client secret the server has issued or knows, for tests
// that check none of them leaks into a file, a log or an error message.
func (s *Server) Secrets() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := append([]string(nil), s.secrets...)
	if s.opts.ClientSecret != "" {
		out = append(out, s.opts.ClientSecret)
	}
	return out
}

// AccessTokensIssued returns how many access tokens the server has issued.
func (s *Server) AccessTokensIssued() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.issued
}

// PKCEVerified returns how many authorization codes were redeemed with a code verifier that
// matched their S256 challenge.
func (s *Server) PKCEVerified() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.verified
}

// RevokeAll revokes every refresh token and access token (the user withdrew consent or changed
// their password): a refresh is then invalid_grant and introspection says inactive.
func (s *Server) RevokeAll() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for k := range s.refresh {
		s.refresh[k] = false
	}
	clear(s.access)
}

// Expired reports whether every access token issued so far has expired.
func (s *Server) Expired() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := time.Now()
	for _, exp := range s.access {
		if now.Before(exp) {
			return false
		}
	}
	return true
}

// SetAccessTokenLifetime changes the lifetime of the access tokens issued from now on.
func (s *Server) SetAccessTokenLifetime(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.opts.AccessTokenLifetime = d
}

// TamperState makes the next authorization redirect carry a state the client did not send, as a
// forged or replayed redirect would.
func (s *Server) TamperState() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tamper = true
}

// Approve plays the user's browser: it opens authURL (what the client printed), signs in and
// consents, and follows the redirect to the client's loopback address. It returns an error when
// the server refuses the request or the client's redirect page does not answer 200.
func (s *Server) Approve(authURL string) error {
	c := &http.Client{Timeout: 10 * time.Second}
	resp, err := c.Get(authURL)
	if err != nil {
		return fmt.Errorf("oauthtest: browser: %w", err)
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("oauthtest: browser: %s: %s", resp.Status, strings.TrimSpace(string(body)))
	}
	return nil
}

// ApproveDevice plays the user who types userCode at the verification page.
func (s *Server) ApproveDevice(userCode string) error {
	c := &http.Client{Timeout: 10 * time.Second}
	resp, err := c.Get(s.VerifyURL + "?user_code=" + url.QueryEscape(userCode))
	if err != nil {
		return fmt.Errorf("oauthtest: %w", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("oauthtest: verification page: %s", resp.Status)
	}
	return nil
}

func (s *Server) authorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	redirect := q.Get("redirect_uri")
	switch {
	case q.Get("client_id") != s.opts.ClientID:
		http.Error(w, "unknown client_id", http.StatusBadRequest)
		return
	case q.Get("response_type") != "code":
		http.Error(w, "response_type must be code", http.StatusBadRequest)
		return
	case !loopback(redirect):
		http.Error(w, "redirect_uri must be http://127.0.0.1:PORT/... (RFC 8252)", http.StatusBadRequest)
		return
	case q.Get("code_challenge_method") != "S256" || len(q.Get("code_challenge")) != 43:
		http.Error(w, "a PKCE S256 code_challenge is required", http.StatusBadRequest)
		return
	case q.Get("state") == "":
		http.Error(w, "state is required", http.StatusBadRequest)
		return
	case q.Get("scope") == "":
		http.Error(w, "scope is required", http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	code := s.random("code-")
	s.codes[code] = authCode{redirect: redirect, challenge: q.Get("code_challenge")}
	state := q.Get("state")
	if s.tamper {
		state, s.tamper = "forged-"+state, false
	}
	s.mu.Unlock()
	to, _ := url.Parse(redirect)
	v := to.Query()
	v.Set("code", code)
	v.Set("state", state)
	to.RawQuery = v.Encode()
	http.Redirect(w, r, to.String(), http.StatusFound)
}

// loopback reports whether u is an http redirect to 127.0.0.1 with a port (RFC 8252 7.3).
func loopback(u string) bool {
	p, err := url.Parse(u)
	if err != nil || p.Scheme != "http" || p.Fragment != "" {
		return false
	}
	host, port, err := net.SplitHostPort(p.Host)
	return err == nil && host == "127.0.0.1" && port != ""
}

// tokenError answers a token request with an RFC 6749 5.2 error.
func tokenError(w http.ResponseWriter, code, desc string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusBadRequest)
	json.NewEncoder(w).Encode(map[string]string{"error": code, "error_description": desc})
}

func (s *Server) token(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		tokenError(w, "invalid_request", "bad form")
		return
	}
	f := r.PostForm
	id, secret, basic := r.BasicAuth()
	if !basic {
		id, secret = f.Get("client_id"), f.Get("client_secret")
	}
	if id != s.opts.ClientID || (s.opts.ClientSecret != "" && subtle.ConstantTimeCompare([]byte(secret), []byte(s.opts.ClientSecret)) != 1) {
		tokenError(w, "invalid_client", "unknown client or wrong secret")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	refresh := ""
	switch f.Get("grant_type") {
	case "authorization_code":
		ac, ok := s.codes[f.Get("code")]
		delete(s.codes, f.Get("code")) // a code is good once
		switch {
		case !ok:
			tokenError(w, "invalid_grant", "unknown or used code")
			return
		case f.Get("redirect_uri") != ac.redirect:
			tokenError(w, "invalid_grant", "redirect_uri differs from the authorization request's")
			return
		case challenge(f.Get("code_verifier")) != ac.challenge:
			tokenError(w, "invalid_grant", "PKCE code_verifier does not match the challenge")
			return
		}
		s.verified++
		refresh = s.random("rt-")
		s.refresh[refresh] = true
	case "refresh_token":
		old := f.Get("refresh_token")
		if !s.refresh[old] {
			tokenError(w, "invalid_grant", "refresh token revoked or unknown")
			return
		}
		if s.opts.RotateRefreshTokens {
			s.refresh[old] = false
			refresh = s.random("rt-")
			s.refresh[refresh] = true
		}
	case "urn:ietf:params:oauth:grant-type:device_code":
		d, ok := s.devices[f.Get("device_code")]
		if !ok {
			tokenError(w, "invalid_grant", "unknown device code")
			return
		}
		now := time.Now()
		tooFast := !d.lastPoll.IsZero() && now.Sub(d.lastPoll) < time.Duration(s.opts.DeviceInterval)*time.Second-100*time.Millisecond
		d.lastPoll = now
		switch {
		case tooFast:
			tokenError(w, "slow_down", "poll less often")
			return
		case !d.approved:
			tokenError(w, "authorization_pending", "the user has not entered the code yet")
			return
		}
		delete(s.devices, f.Get("device_code"))
		refresh = s.random("rt-")
		s.refresh[refresh] = true
	default:
		tokenError(w, "unsupported_grant_type", f.Get("grant_type"))
		return
	}
	at := s.random("at-")
	s.access[at] = time.Now().Add(s.opts.AccessTokenLifetime)
	s.issued++
	resp := map[string]any{"access_token": at, "token_type": "Bearer", "expires_in": int(s.opts.AccessTokenLifetime.Seconds())}
	if refresh != "" {
		resp["refresh_token"] = refresh
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	json.NewEncoder(w).Encode(resp)
}

// challenge is the S256 code challenge of a verifier (RFC 7636 4.2).
func challenge(verifier string) string {
	sum := sha256.Sum256([]byte(verifier))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

func (s *Server) deviceAuth(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil || r.PostForm.Get("client_id") != s.opts.ClientID {
		tokenError(w, "invalid_client", "unknown client")
		return
	}
	s.mu.Lock()
	code := s.random("dc-")
	var b [4]byte
	rand.Read(b[:])
	user := strings.ToUpper(hex.EncodeToString(b[:]))
	s.devices[code] = &device{userCode: user}
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{"device_code": code, "user_code": user, "verification_uri": s.VerifyURL,
		"expires_in": 600, "interval": s.opts.DeviceInterval})
}

func (s *Server) verify(w http.ResponseWriter, r *http.Request) {
	code := r.URL.Query().Get("user_code")
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, d := range s.devices {
		if d.userCode == code {
			d.approved = true
			io.WriteString(w, "Signed in. You may close this window.\n")
			return
		}
	}
	http.Error(w, "unknown code", http.StatusNotFound)
}

func (s *Server) introspect(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, "bad form", http.StatusBadRequest)
		return
	}
	tok := r.PostForm.Get("token")
	s.mu.Lock()
	exp, ok := s.access[tok]
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	if !ok || !time.Now().Before(exp) {
		json.NewEncoder(w).Encode(map[string]any{"active": false})
		return
	}
	json.NewEncoder(w).Encode(map[string]any{"active": true, "username": s.opts.User, "client_id": s.opts.ClientID,
		"token_type": "Bearer", "exp": exp.Unix()})
}
