package cli

import (
	"strings"
	"testing"
)

// TestSearchOutputAsList checks that search prints what list prints for the same messages.
func TestSearchOutputAsList(t *testing.T) {
	data := t.TempDir()
	foreignMaildir(t, data)
	_, list, _ := run(t, "", "list", "--data-dir", data)
	_, listJSON, _ := run(t, "", "list", "--data-dir", data, "--json", "--limit", "1")
	lines := strings.SplitAfter(list, "\n")
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"gruse"}, ""}, // ß folds to ss
		{[]string{"grüsse"}, lines[0]},
		{[]string{"GRUSSE"}, lines[0]},
		{[]string{"from:zoe@example.org"}, lines[0]},
		{[]string{"hal"}, lines[0]}, // a prefix of "Hallo"
		{[]string{"--folder", "Inbox", "has:attachment"}, lines[1]},
		{[]string{"passwd"}, lines[1]}, // an attachment name
		{[]string{"--limit", "1", "from:example.org"}, lines[0]},
		{[]string{"--", "-zoe", "example.org"}, lines[1]},
		{[]string{"--json", "--limit", "1", "example.org"}, listJSON},
		{[]string{"--json", "nothing-like-this"}, "[]\n"},
	} {
		code, out, errs := run(t, "", append([]string{"search", "--data-dir", data}, tt.args...)...)
		if code != 0 || out != tt.want {
			t.Errorf("search %q: exit %d, output\n%s\nwant\n%s\nstderr: %s", tt.args, code, out, tt.want, errs)
		}
	}
	code, _, errs := run(t, "", "search", "--data-dir", data, "before:tomorrow")
	if code != 2 || !strings.Contains(errs, `"before:tomorrow"`) {
		t.Errorf("search with a bad date: exit %d, %s", code, errs)
	}
}
