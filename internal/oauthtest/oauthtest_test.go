package oauthtest_test

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/poplar-mail/poplar/internal/dovecot"
	"github.com/poplar-mail/poplar/internal/oauthtest"
	"github.com/poplar-mail/poplar/pop"
)

// codeFlow runs the authorization code flow by hand against s: a loopback listener takes the
// redirect, the test's "browser" approves, and the code is redeemed with verifier. It returns the
// token endpoint's JSON answer.
func codeFlow(t *testing.T, s *oauthtest.Server, challenge, verifier, redirectAtToken string) map[string]any {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	redirect := "http://" + l.Addr().String() + "/cb"
	got := make(chan url.Values, 1)
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { got <- r.URL.Query() })}
	go srv.Serve(l)
	defer srv.Close()
	q := url.Values{"client_id": {s.ClientID}, "response_type": {"code"}, "redirect_uri": {redirect}, "state": {"st8"},
		"scope": {"mail"}, "code_challenge": {challenge}, "code_challenge_method": {"S256"}}
	if err := s.Approve(s.AuthURL + "?" + q.Encode()); err != nil {
		t.Fatal(err)
	}
	cb := <-got
	if cb.Get("state") != "st8" {
		t.Fatalf("state came back as %q", cb.Get("state"))
	}
	if redirectAtToken == "" {
		redirectAtToken = redirect
	}
	return post(t, s.TokenURL, url.Values{"grant_type": {"authorization_code"}, "client_id": {s.ClientID},
		"code": {cb.Get("code")}, "redirect_uri": {redirectAtToken}, "code_verifier": {verifier}})
}

func post(t *testing.T, u string, form url.Values) map[string]any {
	t.Helper()
	resp, err := http.PostForm(u, form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatal(err)
	}
	return out
}

// The verifier "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk" has the S256 challenge below (RFC 7636
// appendix B).
const (
	verifier  = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
	challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
)

func TestCodeFlowChecks(t *testing.T) {
	s := oauthtest.Start(t, oauthtest.Options{})
	tests := []struct {
		name              string
		verifier, redirct string
		wantErr           string
	}{
		{"good", verifier, "", ""},
		{"wrong verifier", verifier[1:] + "x", "", "invalid_grant"},
		{"other redirect", verifier, "http://127.0.0.1:1/cb", "invalid_grant"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := codeFlow(t, s, challenge, tt.verifier, tt.redirct)
			if e, _ := out["error"].(string); e != tt.wantErr {
				t.Fatalf("token answer %v; want error %q", out, tt.wantErr)
			}
			if tt.wantErr == "" && (out["access_token"] == nil || out["refresh_token"] == nil) {
				t.Fatalf("token answer %v has no tokens", out)
			}
		})
	}
	if n := s.PKCEVerified(); n != 1 {
		t.Fatalf("PKCEVerified = %d, want 1", n)
	}
}

func TestAuthorizeRefusesBadRequests(t *testing.T) {
	s := oauthtest.Start(t, oauthtest.Options{})
	good := url.Values{"client_id": {s.ClientID}, "response_type": {"code"}, "redirect_uri": {"http://127.0.0.1:9/cb"},
		"state": {"x"}, "scope": {"mail"}, "code_challenge": {challenge}, "code_challenge_method": {"S256"}}
	tests := []struct{ key, value string }{
		{"client_id", "someone-else"},
		{"redirect_uri", "https://evil.example/cb"},
		{"redirect_uri", "http://localhost:9/cb"},
		{"code_challenge_method", "plain"},
		{"code_challenge", ""},
		{"state", ""},
	}
	for _, tt := range tests {
		t.Run(tt.key+"="+tt.value, func(t *testing.T) {
			q := url.Values{}
			for k, v := range good {
				q[k] = v
			}
			q.Set(tt.key, tt.value)
			err := s.Approve(s.AuthURL + "?" + q.Encode())
			if err == nil || !strings.Contains(err.Error(), "400") {
				t.Fatalf("Approve with %s=%q = %v; want a 400 refusal", tt.key, tt.value, err)
			}
		})
	}
}

// TestDovecotOAuth2: Dovecot's oauth2 passdb lets in a token the server issued, by XOAUTH2 and
// OAUTHBEARER, and refuses it once revoked; passwords keep working beside it.
func TestDovecotOAuth2(t *testing.T) {
	s := oauthtest.Start(t, oauthtest.Options{User: "dana"})
	dv := dovecot.StartT(t, dovecot.Options{Users: []dovecot.User{{Name: "dana", Password: "pw", Messages: [][]byte{[]byte("Subject: hi\n\nhi\n")}}},
		OAuth2IntrospectionURL: s.IntrospectURL})
	tok, _ := codeFlow(t, s, challenge, verifier, "")["access_token"].(string)
	ctx := context.Background()
	login := func(cr pop.Credentials) error {
		c, err := pop.Dial(ctx, dv.POP3SAddr, pop.Options{Security: pop.SecurityTLS, CAFile: dv.CAFile, Timeout: 20 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		return c.Auth(ctx, cr)
	}
	for _, m := range []pop.AuthMethod{pop.AuthXOAUTH2, pop.AuthOAUTHBEARER} {
		if err := login(pop.Credentials{Method: m, Username: "dana", Token: tok}); err != nil {
			t.Fatalf("%v with an active token: %v\n%s", m, err, dv.Log())
		}
		if err := login(pop.Credentials{Method: m, Username: "dana", Token: "at-forged"}); err == nil {
			t.Fatalf("%v with a forged token let us in", m)
		}
	}
	if err := login(pop.Credentials{Method: pop.AuthPlain, Username: "dana", Password: "pw"}); err != nil {
		t.Fatalf("PLAIN beside oauth2: %v\n%s", err, dv.Log())
	}
	s.RevokeAll()
	if err := login(pop.Credentials{Method: pop.AuthXOAUTH2, Username: "dana", Token: tok}); err == nil {
		t.Fatal("a revoked token still let us in")
	}
}

// TestDeviceGrant: the device endpoint gives a code; polling answers authorization_pending until
// the user enters it, slow_down when polled within the interval, then the tokens.
func TestDeviceGrant(t *testing.T) {
	s := oauthtest.Start(t, oauthtest.Options{DeviceInterval: 1})
	da := post(t, s.DeviceURL, url.Values{"client_id": {s.ClientID}, "scope": {"mail"}})
	dc, _ := da["device_code"].(string)
	uc, _ := da["user_code"].(string)
	if dc == "" || uc == "" || da["verification_uri"] != s.VerifyURL || da["interval"] != float64(1) {
		t.Fatalf("device answer %v", da)
	}
	poll := func() map[string]any {
		return post(t, s.TokenURL, url.Values{"grant_type": {"urn:ietf:params:oauth:grant-type:device_code"},
			"client_id": {s.ClientID}, "device_code": {dc}})
	}
	if got := poll()["error"]; got != "authorization_pending" {
		t.Fatalf("first poll: %v, want authorization_pending", got)
	}
	if got := poll()["error"]; got != "slow_down" {
		t.Fatalf("a poll at once after another: %v, want slow_down", got)
	}
	if err := s.ApproveDevice(uc); err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Second) // the interval, as a client must wait it
	if got := poll(); got["access_token"] == nil || got["refresh_token"] == nil {
		t.Fatalf("poll after approval: %v, want tokens", got)
	}
	if err := s.ApproveDevice("WRONG"); err == nil {
		t.Fatal("an unknown user code was accepted")
	}
}
