package cli

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/poplar-mail/poplar/internal/dovecot"
	"github.com/poplar-mail/poplar/pop/popserver"
)

// run runs the command line in-process and returns the exit status, stdout and stderr.
func run(t *testing.T, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	env := &Env{Stdin: strings.NewReader(stdin), Stdout: &out, Stderr: &errb, Getenv: func(k string) string {
		if k == "HOME" {
			return t.TempDir()
		}
		return ""
	}}
	code := Main(context.Background(), env, args)
	return code, out.String(), errb.String()
}

func TestServerInfoDovecot(t *testing.T) {
	srv := dovecot.StartT(t, dovecot.Options{Users: []dovecot.User{{Name: "carol", Password: "pw 1", Messages: [][]byte{
		[]byte("Subject: a\n\nx\n"), []byte("Subject: b\n\ny\n")}}}})
	host, tlsPort := splitAddr(t, srv.POP3SAddr)
	_, plainPort := splitAddr(t, srv.POP3Addr)
	tests := []struct {
		name    string
		stdin   string
		args    []string
		code    int
		want    []string // in stdout on success, in stderr on failure
		mustNot string
	}{
		{"tls with login", "pw 1\n", []string{"serverinfo", "--port", tlsPort, "--ca-file", srv.CAFile, "--user", "carol", "--password-stdin", host},
			0, []string{"TLS:           TLS 1.", "SASL:", "SCRAM-SHA-256", "PIPELINING", "Mailbox:       2 messages", "SHA-256:     " + srv.Fingerprint}, "pw 1"},
		{"starttls", "", []string{"serverinfo", "--security", "starttls", "--port", plainPort, "--ca-file", srv.CAFile, host},
			0, []string{"(starttls)", "TLS:           TLS 1.", "Capabilities:  CAPA"}, ""},
		{"pinned", "", []string{"serverinfo", "--port", tlsPort, "--fingerprint", srv.Fingerprint, host}, 0, []string{"Greeting:"}, ""},
		{"untrusted", "", []string{"serverinfo", "--port", tlsPort, host}, 1, []string{"not trusted", srv.Fingerprint}, ""},
		{"wrong password", "nope\n", []string{"serverinfo", "--port", tlsPort, "--ca-file", srv.CAFile, "--user", "carol", "--password-stdin", host},
			1, []string{"Wrong user name or password"}, "nope"},
		{"scram over plain", "pw 1\n", []string{"serverinfo", "--security", "none", "--port", plainPort, "--user", "carol", "--auth", "scram-sha-256", "--password-stdin", host},
			0, []string{"Mailbox:       2 messages"}, "pw 1"},
		{"plain refuses password", "pw 1\n", []string{"serverinfo", "--security", "none", "--port", plainPort, "--user", "carol", "--auth", "user", "--password-stdin", host},
			1, []string{"unencrypted"}, "pw 1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errs := run(t, tc.stdin, tc.args...)
			if code != tc.code {
				t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tc.code, out, errs)
			}
			got := out
			if tc.code != 0 {
				got = errs
				if strings.Count(strings.TrimSpace(errs), "\n") != 0 {
					t.Errorf("error is not one line:\n%s", errs)
				}
			}
			for _, w := range tc.want {
				if !strings.Contains(got, w) {
					t.Errorf("output lacks %q:\n%s", w, got)
				}
			}
			if tc.mustNot != "" && strings.Contains(out+errs, tc.mustNot) {
				t.Errorf("output contains the password")
			}
		})
	}
}

func TestServerInfoErrors(t *testing.T) {
	srv, err := popserver.Start(popserver.Config{DisableSTLS: true, Password: popserver.Users(nil)}, false)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	host, port := splitAddr(t, srv.Addr)
	code, _, errs := run(t, "", "serverinfo", "--security", "starttls", "--port", port, host)
	if code != 1 || !strings.Contains(errs, "did not offer STARTTLS") {
		t.Errorf("STARTTLS not offered: exit %d, %q", code, errs)
	}
	srv.Close()
	code, _, errs = run(t, "", "serverinfo", "--port", port, host)
	if code != 1 || !strings.Contains(errs, "refused the connection") {
		t.Errorf("connection refused: exit %d, %q", code, errs)
	}
	code, _, _ = run(t, "", "serverinfo", "--port", "99999", host)
	if code != 2 {
		t.Errorf("bad port: exit %d, want 2", code)
	}
}

func splitAddr(t *testing.T, addr string) (string, string) {
	i := strings.LastIndexByte(addr, ':')
	return addr[:i], addr[i+1:]
}
