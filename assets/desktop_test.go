package assets

import (
	"os"
	"strings"
	"testing"
)

// TestDesktopEntry: the desktop entry that `make install` installs opens mail files
// (message/rfc822, e.g. .eml) with Poplar, passing the files on the command line.
func TestDesktopEntry(t *testing.T) {
	b, err := os.ReadFile("poplar.desktop")
	if err != nil {
		t.Fatal(err)
	}
	fields := map[string]string{}
	for _, line := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(line, "="); ok {
			fields[k] = v
		}
	}
	if !strings.Contains(";"+fields["MimeType"], ";message/rfc822;") {
		t.Errorf("MimeType=%q does not declare message/rfc822", fields["MimeType"])
	}
	if exec := strings.Fields(fields["Exec"]); len(exec) != 2 || exec[0] != "poplar" || (exec[1] != "%F" && exec[1] != "%f") {
		t.Errorf("Exec=%q does not pass the files to poplar", fields["Exec"])
	}
	if fields["Type"] != "Application" || fields["Name"] != "Poplar" {
		t.Errorf("not an application entry named Poplar: %v", fields)
	}
}
