package autoconfig

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/poplar-mail/poplar/account"
)

func TestNewAccount(t *testing.T) {
	in := Candidate{Host: "pop.example.org", Port: 995, Security: "tls", Username: "dana@example.org", Auth: AuthPassword}
	out := Candidate{Host: "smtp.example.org", Port: 587, Security: "starttls", Username: "dana@example.org", Auth: AuthPassword}
	google := in
	google.Auth, google.OAuthProvider = AuthOAuth2, "google"
	custom := in
	custom.Auth = AuthOAuth2
	otherUser := out
	otherUser.Username = "dana"
	tests := []struct {
		name        string
		in          Candidate
		out         *Candidate
		auth, oauth string
		smtp        account.SMTPServer
	}{
		{"password, same user", in, &out, "auto", "", account.SMTPServer{Host: "smtp.example.org", Port: 587, Security: "starttls"}},
		{"no outgoing server", in, nil, "auto", "", account.SMTPServer{}},
		{"outgoing user of its own", in, &otherUser, "auto", "",
			account.SMTPServer{Host: "smtp.example.org", Port: 587, Security: "starttls", Username: "dana"}},
		{"OAuth2 at Google", google, nil, "oauth2", "google", account.SMTPServer{}},
		{"OAuth2 elsewhere", custom, nil, "oauth2", account.ProviderCustom, account.SMTPServer{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := NewAccount("work", "dana@example.org", tc.in, tc.out)
			if a.Name != "work" || a.Email != "dana@example.org" || a.Host != tc.in.Host || a.Port != tc.in.Port ||
				a.Security != tc.in.Security || a.Username != tc.in.Username || !a.LeaveOnServer {
				t.Errorf("NewAccount = %+v, want the incoming server %v with account.New's defaults", a, tc.in)
			}
			if a.Auth != tc.auth || a.OAuth.Provider != tc.oauth || a.SMTP != tc.smtp {
				t.Errorf("NewAccount: auth %q, provider %q, SMTP %+v; want %q, %q, %+v", a.Auth, a.OAuth.Provider, a.SMTP, tc.auth, tc.oauth, tc.smtp)
			}
		})
	}
}

// Example shows how a program finds an address's servers and makes an account of them.
func Example() {
	f := Finder{} // production defaults; FromEnv(os.Getenv) honours POPLAR_DNS and POPLAR_ISPDB_URL
	res, err := f.Find(context.Background(), "dana@example.org", func(s Step) {
		if s.State != StepRunning {
			fmt.Println(s.Text, s.Outcome) // "Looking up example.org in the ISP database… found"
		}
	})
	if errors.Is(err, ErrNotFound) {
		fmt.Println("configure the account by hand")
		return
	}
	if err != nil {
		fmt.Println(err)
		return
	}
	in, _ := res.BestIncoming()
	var out *Candidate
	if o, ok := res.BestOutgoing(); ok {
		out = &o
	}
	a := NewAccount("work", res.Email, in, out)
	fmt.Println(a.Addr())
}
