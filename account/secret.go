package account

import (
	"errors"
	"fmt"

	"github.com/zalando/go-keyring"
)

// KeyringService is the service name under which passwords are stored in the OS keyring.
const KeyringService = "poplar"

// SecretStore keeps account passwords. Get returns ErrNoSecret when none is stored and
// ErrNoKeyring (wrapped) when the store cannot be reached.
type SecretStore interface {
	Get(account string) (string, error)
	Set(account, secret string) error
	Delete(account string) error
}

var (
	// ErrNoSecret means no password is stored for the account.
	ErrNoSecret = errors.New("account: no password stored")
	// ErrNoKeyring means the OS keyring (Secret Service) is not available.
	ErrNoKeyring = errors.New("account: no keyring service is available (" + keyringRemedy + ")")
)

const keyringRemedy = "start a Secret Service such as gnome-keyring in your desktop session, or on a headless machine pass the password with 'poplar fetch --password-stdin'"

// Keyring returns the SecretStore backed by the OS keyring (Secret Service on Linux) through
// go-keyring: service "poplar", user = the account name.
func Keyring() SecretStore { return osKeyring{} }

type osKeyring struct{}

func (osKeyring) Get(account string) (string, error) {
	s, err := keyring.Get(KeyringService, account)
	if errors.Is(err, keyring.ErrNotFound) {
		return "", fmt.Errorf("%w for %q", ErrNoSecret, account)
	}
	if err != nil {
		return "", keyringErr("reading", account, err)
	}
	return s, nil
}

func (osKeyring) Set(account, secret string) error {
	if err := keyring.Set(KeyringService, account, secret); err != nil {
		return keyringErr("storing", account, err)
	}
	return nil
}

func (osKeyring) Delete(account string) error {
	err := keyring.Delete(KeyringService, account)
	if err == nil || errors.Is(err, keyring.ErrNotFound) {
		return nil
	}
	return keyringErr("deleting", account, err)
}

// keyringErr wraps a go-keyring failure. Apart from "not found", go-keyring fails only when no
// Secret Service answers or the keyring is locked, with untyped errors; all are ErrNoKeyring.
// The secret itself never appears in an error.
func keyringErr(op, account string, err error) error {
	return fmt.Errorf("account: %s the password of %q: %w (%v)", op, account, ErrNoKeyring, err)
}

// StaticSecret is a SecretStore holding one password for every account, as given with
// --password-stdin. Set and Delete do nothing.
type StaticSecret string

// Get returns the password.
func (s StaticSecret) Get(string) (string, error) { return string(s), nil }

// Set does nothing: a static secret is never stored.
func (StaticSecret) Set(string, string) error { return nil }

// Delete does nothing.
func (StaticSecret) Delete(string) error { return nil }

// MemSecrets is a SecretStore in memory, for tests and the demo mailbox.
type MemSecrets map[string]string

// Get returns the stored password or ErrNoSecret.
func (m MemSecrets) Get(a string) (string, error) {
	s, ok := m[a]
	if !ok {
		return "", fmt.Errorf("%w for %q", ErrNoSecret, a)
	}
	return s, nil
}

// Set stores a password.
func (m MemSecrets) Set(a, s string) error { m[a] = s; return nil }

// Delete removes a password.
func (m MemSecrets) Delete(a string) error { delete(m, a); return nil }
