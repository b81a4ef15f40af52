package cli

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestMessageFilesOpenTheApp: `poplar FILE.eml` (as a file manager runs it), a file:// URI and a
// mailto: link hand their arguments to the app; command names still run their command, and an
// unknown word is still an error.
func TestMessageFilesOpenTheApp(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "saved message") // any existing file, .eml or not
	if err := os.WriteFile(file, []byte("Subject: x\n\nbody\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		args    []string
		gui     string // the args the app got; "-" when it was not started
		code    int
		message string
	}{
		{[]string{"mail.eml"}, "mail.eml", 0, ""}, // a .eml name, even before it exists (the app says so)
		{[]string{file}, file, 0, ""},
		{[]string{"--data-dir", dir, file, "b.EML"}, file + " b.EML", 0, ""},
		{[]string{"mailto:ann@example.org?subject=Hi"}, "mailto:ann@example.org?subject=Hi", 0, ""}, // a browser's mail link
		{[]string{"file://" + file}, "file://" + file, 0, ""},                                       // a desktop entry's %U
		{[]string{"help"}, "-", 0, ""},
		{[]string{"nosuchcommand"}, "-", 2, "unknown command"},
	}
	for _, tc := range tests {
		got := "-"
		var stderr bytes.Buffer
		e := &Env{Stdin: strings.NewReader(""), Stdout: &bytes.Buffer{}, Stderr: &stderr, Getenv: func(k string) string { return map[string]string{"HOME": dir}[k] },
			RunGUI: func(_ context.Context, _ Globals, args []string) error { got = strings.Join(args, " "); return nil }}
		code := Main(context.Background(), e, tc.args)
		if got != tc.gui || code != tc.code || !strings.Contains(stderr.String(), tc.message) {
			t.Errorf("poplar %v: app got %q, exit %d, stderr %q; want %q, %d, %q", tc.args, got, code, stderr.String(), tc.gui, tc.code, tc.message)
		}
	}
}
