package autoconfig

import "github.com/poplar-mail/poplar/account"

// NewAccount returns a new account called name for email (account.New's defaults) that uses the
// incoming server in (auth "auto" for a password, "oauth2" with in's OAuth provider for OAuth2)
// and, when out is not nil,
// the outgoing server out. It does not look at Verified: callers offer only verified candidates
// unless the user chose one in the account editor.
func NewAccount(name, email string, in Candidate, out *Candidate) account.Account {
	a := account.New(name, in.Host, in.Username)
	a.Email, a.Port, a.Security = email, in.Port, in.Security
	if in.Auth == AuthOAuth2 {
		a.Auth = "oauth2"
		a.OAuth.Provider = in.OAuthProvider
		if a.OAuth.Provider == "" {
			a.OAuth.Provider = account.ProviderCustom
		}
	}
	if out != nil {
		a.SMTP = account.SMTPServer{Host: out.Host, Port: out.Port, Security: out.Security}
		if out.Username != in.Username {
			a.SMTP.Username = out.Username
		}
	}
	return a
}
