package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"testing"

	"github.com/poplar-mail/poplar/account"
	"github.com/poplar-mail/poplar/internal/dnstest"
	"github.com/poplar-mail/poplar/internal/dovecot"
	"github.com/poplar-mail/poplar/internal/postfix"
)

// memSecrets is an in-memory SecretStore.
type memSecrets struct {
	mu sync.Mutex
	m  map[string]string
}

func (s *memSecrets) Get(name string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.m[name]
	if !ok {
		return "", fmt.Errorf("no secret for %s", name)
	}
	return v, nil
}

func (s *memSecrets) Set(name, secret string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.m[name] = secret
	return nil
}

func (s *memSecrets) Delete(name string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.m, name)
	return nil
}

// portOf returns the port of a "127.0.0.1:port" address.
func portOf(addr string) int { return int(netip.MustParseAddrPort(addr).Port()) }

// TestAccountDetect runs 'account detect' and 'account add --detect' against real Dovecot and
// Postfix, found through a private dnsmasq (SRV records) and a local ISPDB.
func TestAccountDetect(t *testing.T) {
	dv := dovecot.StartT(t, dovecot.Options{Users: []dovecot.User{{Name: "dana", Password: "pw"}}})
	pf := postfix.StartT(t, dv, postfix.Options{})
	dvTLS, dvPlain, pfTLS := portOf(dv.POP3SAddr), portOf(dv.POP3Addr), portOf(pf.SubmissionTLSAddr)
	ispdb := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/ispdb.test" {
			http.NotFound(w, r)
			return
		}
		fmt.Fprintf(w, `<clientConfig version="1.1"><emailProvider id="t">
<incomingServer type="pop3"><hostname>localhost</hostname><port>%d</port><socketType>SSL</socketType><username>%%EMAILLOCALPART%%</username></incomingServer>
<outgoingServer type="smtp"><hostname>localhost</hostname><port>%d</port><socketType>SSL</socketType><username>%%EMAILLOCALPART%%</username></outgoingServer>
</emailProvider></clientConfig>`, dvTLS, pfTLS)
	}))
	t.Cleanup(ispdb.Close)
	dns := dnstest.StartT(t, dnstest.Options{Domains: []string{"test"}, SRV: []dnstest.SRV{
		{Name: "_pop3._tcp.srv.test", Target: "localhost", Port: dvPlain},
		{Name: "_submissions._tcp.srv.test", Target: "localhost", Port: pfTLS},
	}})
	cfgDir, dataDir := t.TempDir(), t.TempDir()
	secrets := &memSecrets{m: map[string]string{}}
	cli := func(stdin string, args ...string) (int, string, string) {
		var out, errb bytes.Buffer
		env := &Env{Stdin: strings.NewReader(stdin), Stdout: &out, Stderr: &errb, Secrets: secrets, Getenv: func(k string) string {
			switch k {
			case "POPLAR_DNS":
				return dns.Addr
			case "POPLAR_ISPDB_URL":
				return ispdb.URL
			case "HOME":
				return t.TempDir()
			}
			return ""
		}}
		args = append(args, "--config-dir", cfgDir, "--data-dir", dataDir)
		code := Main(context.Background(), env, args)
		return code, out.String(), errb.String()
	}
	saved := func(name string) (account.Account, bool) {
		cfg, err := account.LoadConfig(cfgDir)
		if err != nil {
			t.Fatal(err)
		}
		a, ok := cfg.Find(name)
		if !ok {
			return account.Account{}, false
		}
		return *a, true
	}
	ca := []string{"--ca-file", dv.CAFile}

	t.Run("detect text", func(t *testing.T) {
		code, out, errs := cli("", append([]string{"account", "detect", "dana@ispdb.test"}, ca...)...)
		if code != 0 {
			t.Fatalf("exit %d: %s", code, errs)
		}
		for _, want := range []string{
			fmt.Sprintf(`localhost port %d (TLS), user "dana", password; from ispdb; verified`, dvTLS),
			fmt.Sprintf(`localhost port %d (TLS), user "dana", password; from ispdb; verified`, pfTLS),
		} {
			if !strings.Contains(out, want) {
				t.Errorf("output lacks %q:\n%s", want, out)
			}
		}
		if !strings.Contains(errs, "Looking up ispdb.test in the ISP database… found") {
			t.Errorf("steps lack the ISPDB lookup:\n%s", errs)
		}
	})
	t.Run("detect JSON", func(t *testing.T) {
		code, out, errs := cli("", append([]string{"account", "detect", "--json", "dana@srv.test"}, ca...)...)
		if code != 0 {
			t.Fatalf("exit %d: %s", code, errs)
		}
		var res struct {
			Incoming []struct {
				Host     string
				Port     int
				Security string
				Source   string
				Verified bool
			}
			Steps []struct{ Text, State, Outcome string }
		}
		if err := json.Unmarshal([]byte(out), &res); err != nil {
			t.Fatalf("output is not JSON: %v\n%s", err, out)
		}
		if len(res.Incoming) != 1 || res.Incoming[0].Port != dvPlain || res.Incoming[0].Security != "starttls" ||
			res.Incoming[0].Source != "srv" || !res.Incoming[0].Verified {
			t.Errorf("incoming = %+v, want localhost:%d starttls from srv, verified", res.Incoming, dvPlain)
		}
		if len(res.Steps) == 0 || res.Steps[0].State != "nothing" {
			t.Errorf("steps = %+v, want the preset lookup first, with state \"nothing\"", res.Steps)
		}
	})
	t.Run("detect nothing", func(t *testing.T) {
		code, out, errs := cli("", "account", "detect", "dana@nothing.test")
		if code != 1 || !strings.Contains(errs, "no POP3 server found for nothing.test") || !strings.Contains(out, "none found") {
			t.Errorf("exit %d, stdout %q, stderr %q; want 1 and a message naming the domain", code, out, errs)
		}
	})
	t.Run("detect usage", func(t *testing.T) {
		if code, _, _ := cli("", "account", "detect"); code != 2 {
			t.Errorf("detect without an address: exit %d, want 2", code)
		}
		if code, _, _ := cli("", "account", "detect", "a@one.test", "b@two.test"); code != 2 {
			t.Errorf("detect with two addresses: exit %d, want 2", code)
		}
	})
	t.Run("add --detect", func(t *testing.T) {
		code, _, errs := cli("pw\n", append([]string{"account", "add", "work", "--email", "dana@srv.test", "--detect", "--password-stdin"}, ca...)...)
		if code != 0 {
			t.Fatalf("exit %d: %s", code, errs)
		}
		a, ok := saved("work")
		want := account.SMTPServer{Host: "localhost", Port: pfTLS, Security: "tls"}
		if !ok || a.Host != "localhost" || a.Port != dvPlain || a.Security != "starttls" || a.Username != "dana@srv.test" || a.SMTP != want {
			t.Errorf("saved %+v, want localhost:%d starttls user dana@srv.test, SMTP %+v", a, dvPlain, want)
		}
		if pw, _ := secrets.Get("work"); pw != "pw" {
			t.Errorf("stored password %q, want pw", pw)
		}
	})
	t.Run("add --detect: explicit flags win", func(t *testing.T) {
		code, _, errs := cli("", append([]string{"account", "add", "home", "--email", "dana@ispdb.test", "--detect",
			"--user", "dana2", "--smtp-port", "2525"}, ca...)...)
		if code != 0 {
			t.Fatalf("exit %d: %s", code, errs)
		}
		a, _ := saved("home")
		if a.Host != "localhost" || a.Port != dvTLS || a.Username != "dana2" || a.SMTP.Port != 2525 || a.SMTP.Username != "dana" {
			t.Errorf("saved %+v, want the detected servers with user dana2, SMTP port 2525 and SMTP user dana", a)
		}
	})
	t.Run("add --detect refuses what it cannot verify", func(t *testing.T) {
		// Without the CA file Dovecot's certificate is not trusted: nothing is verified.
		code, _, errs := cli("", "account", "add", "untrusted", "--email", "dana@ispdb.test", "--detect")
		if code != 1 || !strings.Contains(errs, "Nothing was saved") || !strings.Contains(errs, "NOT verified") {
			t.Errorf("exit %d, stderr:\n%s\nwant 1, the unverified server listed and nothing saved", code, errs)
		}
		if _, ok := saved("untrusted"); ok {
			t.Error("an account with an unverified server was saved")
		}
	})
	t.Run("add --detect with the server given", func(t *testing.T) {
		code, _, errs := cli("", "account", "add", "given", "--email", "dana@nothing.test", "--detect",
			"--host", "pop.example.org", "--user", "dana")
		if code != 0 || !strings.Contains(errs, "no verified outgoing server") {
			t.Fatalf("exit %d, stderr:\n%s\nwant 0 and a note that the account cannot send", code, errs)
		}
		if a, _ := saved("given"); a.Host != "pop.example.org" || a.Port != 995 || a.CanSend() {
			t.Errorf("saved %+v, want the given server on 995 and no outgoing server", a)
		}
	})
}
