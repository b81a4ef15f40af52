package cli

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

func TestVersionAndManPage(t *testing.T) {
	getenv := func(k string) string {
		if k == "HOME" {
			return t.TempDir()
		}
		return ""
	}
	tests := []struct {
		name string
		args []string
		want []string // substrings of standard output
	}{
		{"version", []string{"--version"}, []string{"poplar ", "(commit ", ", built "}},
		// The page is built from the help text: every command, its summary and its own flags.
		{"man", []string{"help", "--man"}, []string{
			".TH POPLAR 1", ".SH NAME", "\\fB\\-\\-config\\-dir\\fR", "\\fB\\-\\-version\\fR",
			".SS fetch", "download new mail for accounts.", "\\-password\\-stdin",
			".SS account", "poplar account add NAME", ".SS serverinfo", ".SS filter",
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			e := &Env{Stdout: &out, Stderr: &errOut, Getenv: getenv}
			if code := Main(context.Background(), e, tc.args); code != 0 {
				t.Fatalf("Main(%q) = %d, want 0; stderr %q", tc.args, code, errOut.String())
			}
			for _, w := range tc.want {
				if !strings.Contains(out.String(), w) {
					t.Errorf("Main(%q) printed %q, want it to contain %q", tc.args, out.String(), w)
				}
			}
			if errOut.Len() > 0 {
				t.Errorf("Main(%q) wrote to stderr: %q", tc.args, errOut.String())
			}
		})
	}
	// No line of the page may start with a dot that is not a request of ours.
	var out bytes.Buffer
	Main(context.Background(), &Env{Stdout: &out, Stderr: &out, Getenv: getenv}, []string{"help", "--man"})
	for _, l := range strings.Split(out.String(), "\n") {
		if strings.HasPrefix(l, ".") && !strings.HasPrefix(l, ".TH ") && !strings.HasPrefix(l, ".S") &&
			!strings.HasPrefix(l, ".TP") && !strings.HasPrefix(l, ".PP") && !strings.HasPrefix(l, ".nf") &&
			!strings.HasPrefix(l, ".fi") && !strings.HasPrefix(l, ".RS") && !strings.HasPrefix(l, ".RE") &&
			!strings.HasPrefix(l, ".B") && !strings.HasPrefix(l, ".I ") && !strings.HasPrefix(l, ".br") {
			t.Errorf("manual page line %q would be read as a roff request", l)
		}
	}
}

func TestRoffLine(t *testing.T) {
	tests := []struct{ in, want string }{
		{"plain words", "plain words"},
		{"--flag", `\-\-flag`},
		{`C:\path`, `C:\epath`},
		{".hidden", `\&.hidden`},
		{"'quoted", `\&'quoted`},
	}
	for _, tc := range tests {
		if got := roffLine(tc.in); got != tc.want {
			t.Errorf("roffLine(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
