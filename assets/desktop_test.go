package assets

import (
	"os"
	"strings"
	"testing"
)

// TestDesktopEntry: the desktop entry that `make install` and the .deb install opens mail files
// (message/rfc822, e.g. .eml) and mailto: links with Poplar, passing them on the command line.
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
	for _, mime := range []string{"message/rfc822", "x-scheme-handler/mailto"} {
		if !strings.Contains(";"+fields["MimeType"], ";"+mime+";") {
			t.Errorf("MimeType=%q does not declare %s", fields["MimeType"], mime)
		}
	}
	// %U: files come as file:// URIs and mailto: links as they are; poplar takes both.
	if exec := strings.Fields(fields["Exec"]); len(exec) != 2 || exec[0] != "poplar" || exec[1] != "%U" {
		t.Errorf("Exec=%q does not pass the files and links to poplar", fields["Exec"])
	}
	if fields["Type"] != "Application" || fields["Name"] != "Poplar" {
		t.Errorf("not an application entry named Poplar: %v", fields)
	}
}
