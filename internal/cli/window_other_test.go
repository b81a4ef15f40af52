//go:build !windows

package cli

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestWindowExec: on Unix the window program replaces the poplar process (the same process ID, so
// a desktop launcher, a signal or a wait reaches the window) with the arguments unchanged. The
// test runs itself as the poplar process; a shell script stands in for poplar-gui and says its
// process ID and arguments.
func TestWindowExec(t *testing.T) {
	if dir := os.Getenv("POPLAR_TEST_WINDOW_EXEC"); dir != "" {
		os.Stdout.WriteString(strconv.Itoa(os.Getpid()) + "\n")
		err := Window{Args: []string{"--demo", "two words", "mailto:a@b"}, exe: filepath.Join(dir, "poplar")}.Run(t.Context(), Globals{}, nil)
		t.Fatalf("Run returned: %v", err) // only a failed exec returns
	}
	dir := t.TempDir()
	script := "#!/bin/sh\necho $$\nfor a in \"$@\"; do echo \"[$a]\"; done\n"
	if err := os.WriteFile(filepath.Join(dir, windowProgram), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestWindowExec$")
	cmd.Env = append(os.Environ(), "POPLAR_TEST_WINDOW_EXEC="+dir)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%v: %v\n%s", cmd, err, out)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) != 5 || lines[0] != lines[1] || strings.Join(lines[2:], " ") != "[--demo] [two words] [mailto:a@b]" {
		t.Fatalf("output %q; want the same process ID twice, then [--demo] [two words] [mailto:a@b]", lines)
	}
}
