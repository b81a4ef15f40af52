package account

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/poplar-mail/poplar/pop"
	"github.com/poplar-mail/poplar/storage"
)

// Credentials returns what logs in to the account's server with secret: the password, or for
// an OAuth2 account the access token.
func (a Account) Credentials(secret string) pop.Credentials {
	cr := pop.Credentials{Method: a.AuthMethod(), Username: a.Username, Password: secret}
	if cr.Method == pop.AuthXOAUTH2 {
		cr.Password, cr.Token = "", secret
	}
	return cr
}

// dialLogin connects to the account's server with po and logs in with secret: the one path that
// fetch, TestConnection and FetchRest share. When the login fails the client is returned closed
// beside the error, so its greeting and capabilities can still be shown.
func dialLogin(ctx context.Context, a Account, secret string, po pop.Options) (*pop.Client, error) {
	c, err := pop.Dial(ctx, a.Addr(), po)
	if err != nil {
		return nil, err
	}
	if err := c.Auth(ctx, a.Credentials(secret)); err != nil {
		c.Close()
		return c, err
	}
	return c, nil
}

// dialSignIn logs in with dialLogin and the secret LoginSecret gives: the one path of fetch and
// FetchRest. When the server refuses a cached OAuth2 access token (revoked, or expired early), the
// token is forgotten and a fresh one asked for: a revoked sign-in then ends in a *SignInError.
func dialSignIn(ctx context.Context, a Account, secrets SecretStore, po pop.Options) (*pop.Client, error) {
	secret, err := LoginSecret(ctx, a, secrets)
	if err != nil {
		return nil, err
	}
	c, err := dialLogin(ctx, a, secret, po)
	if err != nil && forgetToken(a, secrets, err) {
		fresh, ferr := LoginSecret(ctx, a, secrets)
		if ferr != nil {
			return nil, ferr
		}
		if fresh != secret {
			return dialLogin(ctx, a, fresh, po)
		}
	}
	return c, err
}

// TrustCertificate pins the certificate that ce describes: a.Fingerprint becomes ce.Fingerprint,
// so the account connects to that exact certificate and to no other, whatever its issuer, names
// or dates (pop.Options.Fingerprint). Clearing a.Fingerprint removes the pin. The caller must have
// shown the user ce's details first and, when ce.Reason is pop.CertPinChanged, the warning that a
// changed certificate can mean someone is intercepting the connection (see Explain). It fails,
// changing nothing, when ce has no valid fingerprint or is about another host than a's. The
// caller saves the account.
func TrustCertificate(a *Account, ce *pop.CertificateError) error {
	if ce == nil {
		return errors.New("account: no certificate to trust")
	}
	if _, err := pop.ParseFingerprint(ce.Fingerprint); err != nil {
		return fmt.Errorf("account: %w", err)
	}
	if ce.Host != "" && !strings.EqualFold(strings.TrimSpace(ce.Host), strings.TrimSpace(a.Host)) {
		return fmt.Errorf("account: the certificate is %s's, not %s's", ce.Host, a.Host)
	}
	a.Fingerprint = ce.Fingerprint
	return nil
}

// TestConnection logs in to the account's server with secret (a password, or an OAuth2 access
// token: LoginSecret gives the stored one) and returns its capabilities (after login) and greeting. It changes nothing on the server.
func TestConnection(ctx context.Context, a Account, secret string) (pop.Capabilities, string, error) {
	po := a.PopOptions()
	po.Timeout = 20 * time.Second
	c, err := dialLogin(ctx, a, secret, po)
	if c == nil {
		return pop.Capabilities{}, "", err
	}
	defer c.Close()
	if err != nil {
		return c.Capabilities(), c.Greeting(), err
	}
	if _, _, err := c.Stat(ctx); err != nil {
		return c.Capabilities(), c.Greeting(), err
	}
	caps := c.Capabilities()
	c.Quit(ctx)
	return caps, c.Greeting(), nil
}

// FetchRest downloads the whole of a message stored as header only and replaces it in place.
func FetchRest(ctx context.Context, a Account, store *storage.Store, uidl string, secrets SecretStore) (storage.Summary, error) {
	if secrets == nil {
		secrets = Keyring()
	}
	unlock, err := store.LockFetch()
	if err != nil {
		return storage.Summary{}, err
	}
	defer unlock()
	c, err := dialSignIn(ctx, a, secrets, a.PopOptions())
	if err != nil {
		return storage.Summary{}, err
	}
	defer c.Close()
	uids, err := c.UIDL(ctx)
	if err != nil {
		return storage.Summary{}, err
	}
	for _, u := range uids {
		if id, _ := storage.StorableUIDL(u.UID); id != uidl {
			continue
		}
		r, err := c.Retr(ctx, u.ID)
		if err != nil {
			return storage.Summary{}, err
		}
		s, err := store.ReplacePartial(uidl, r)
		if err != nil {
			return storage.Summary{}, &StoreError{Err: err}
		}
		c.Quit(ctx)
		return s, nil
	}
	return storage.Summary{}, fmt.Errorf("account: the message is no longer on the server (%s)", strings.TrimSpace(uidl))
}
