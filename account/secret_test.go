package account

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// realKeyring returns the OS keyring when a Secret Service answers on the session bus. `make test`
// runs the tests inside .ci/session (dbus-run-session with an unlocked gnome-keyring), so there it
// always answers; in CI its absence is a failure, elsewhere the test is skipped with the reason.
func realKeyring(t *testing.T) SecretStore {
	t.Helper()
	k := Keyring()
	_, err := k.Get("poplar-probe-" + randomName(t))
	if err == nil || errors.Is(err, ErrNoSecret) {
		return k
	}
	msg := "no Secret Service on the session bus (run the tests with .ci/session, as make test does): " + err.Error()
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return nil
}

func randomName(t *testing.T) string {
	b := make([]byte, 6)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// TestSecretStores runs the same contract against the fake and against a real gnome-keyring.
func TestSecretStores(t *testing.T) {
	stores := []struct {
		name string
		get  func(t *testing.T) SecretStore
	}{
		{"fake", func(*testing.T) SecretStore { return MemSecrets{} }},
		{"gnome-keyring", realKeyring},
	}
	for _, st := range stores {
		t.Run(st.name, func(t *testing.T) {
			s := st.get(t)
			acct := "test-" + randomName(t)
			other := acct + "-other"
			t.Cleanup(func() { s.Delete(acct); s.Delete(other) })

			if _, err := s.Get(acct); !errors.Is(err, ErrNoSecret) {
				t.Fatalf("Get before Set = %v, want ErrNoSecret", err)
			}
			secrets := []string{"correct horse battery staple", "pä$$wörd with ünïcode ✓", " leading and trailing spaces ", `quote" back\slash`}
			for _, want := range secrets {
				if err := s.Set(acct, want); err != nil {
					t.Fatalf("Set: %v", err)
				}
				got, err := s.Get(acct)
				if err != nil || got != want {
					t.Fatalf("Get after Set(%q) = %q, %v", want, got, err)
				}
			}
			if err := s.Set(other, "second"); err != nil {
				t.Fatal(err)
			}
			if got, _ := s.Get(acct); got != secrets[len(secrets)-1] {
				t.Fatalf("setting another account's password changed this one's to %q", got)
			}
			if err := s.Delete(acct); err != nil {
				t.Fatalf("Delete: %v", err)
			}
			if _, err := s.Get(acct); !errors.Is(err, ErrNoSecret) {
				t.Fatalf("Get after Delete = %v, want ErrNoSecret", err)
			}
			if err := s.Delete(acct); err != nil {
				t.Fatalf("Delete of a missing password = %v, want nil", err)
			}
			if got, err := s.Get(other); err != nil || got != "second" {
				t.Fatalf("deleting one account's password touched another's: %q, %v", got, err)
			}
		})
	}
}

// TestKeyringStoredUnderPoplar checks, with the Secret Service's own command-line tool when it is
// installed, that the password is filed under service "poplar" and the account name, where other
// programs (and the user, in Seahorse) will look for it.
func TestKeyringStoredUnderPoplar(t *testing.T) {
	s := realKeyring(t)
	if _, err := exec.LookPath("secret-tool"); err != nil {
		t.Skip("secret-tool (libsecret-tools) is not installed")
	}
	acct := "test-" + randomName(t)
	t.Cleanup(func() { s.Delete(acct) })
	if err := s.Set(acct, "s3cret value"); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("secret-tool", "lookup", "service", KeyringService, "username", acct).Output()
	if err != nil {
		t.Fatalf("secret-tool lookup service %s username %s: %v", KeyringService, acct, err)
	}
	if string(out) != "s3cret value" {
		t.Fatalf("secret-tool found %q", out)
	}
}

// TestKeyringUnavailable runs a child process whose session bus does not exist: every operation
// must fail with ErrNoKeyring and say how to fix it, and never echo the secret. (A child, because
// the D-Bus connection is made once per process.)
func TestKeyringUnavailable(t *testing.T) {
	if os.Getenv("POPLAR_KEYRING_CHILD") == "1" {
		k := Keyring()
		const secret = "do-not-print-me"
		_, getErr := k.Get("work")
		setErr := k.Set("work", secret)
		for _, err := range []error{getErr, setErr} {
			if !errors.Is(err, ErrNoKeyring) {
				t.Fatalf("with no session bus: %v, want ErrNoKeyring", err)
			}
			if !strings.Contains(err.Error(), "--password-stdin") || !strings.Contains(err.Error(), `"work"`) {
				t.Fatalf("error does not name the account and the remedy: %v", err)
			}
			if strings.Contains(err.Error(), secret) {
				t.Fatalf("error contains the secret: %v", err)
			}
		}
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestKeyringUnavailable$", "-test.v")
	cmd.Env = append(os.Environ(), "POPLAR_KEYRING_CHILD=1",
		"DBUS_SESSION_BUS_ADDRESS=unix:path="+t.TempDir()+"/no-bus")
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "PASS") {
		t.Fatalf("child: %v\n%s", err, out)
	}
}
