package cli

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// install writes an empty file at each path under root (the files a test's layout has), with its
// directories; a path ending in "/" is a directory.
func install(t *testing.T, root string, paths ...string) {
	t.Helper()
	for _, p := range paths {
		full := filepath.Join(root, filepath.FromSlash(p))
		if strings.HasSuffix(p, "/") {
			if err := os.MkdirAll(full, 0o755); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, nil, 0o755); err != nil {
			t.Fatal(err)
		}
	}
}

// TestWindowFind: the window program is looked for beside poplar first, then in ../lib/poplar
// (the .deb's layout); a directory of that name does not count; missing, the error says it is not
// installed and names both places.
func TestWindowFind(t *testing.T) {
	gui := "/" + windowProgram
	tests := []struct {
		name  string
		files []string // under a temporary root; poplar is usr/bin/poplar
		want  string   // the path found, relative to the root; "" for the error
	}{
		{"beside", []string{"usr/bin/poplar", "usr/bin" + gui}, "usr/bin" + gui},
		{"deb layout", []string{"usr/bin/poplar", "usr/lib/poplar" + gui}, "usr/lib/poplar" + gui},
		{"beside first", []string{"usr/bin/poplar", "usr/bin" + gui, "usr/lib/poplar" + gui}, "usr/bin" + gui},
		{"a directory is not it", []string{"usr/bin/poplar", "usr/bin" + gui + "/"}, ""},
		{"missing", []string{"usr/bin/poplar"}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			install(t, root, tc.files...)
			got, err := Window{exe: filepath.Join(root, "usr", "bin", "poplar")}.Find()
			if tc.want != "" {
				if want := filepath.Join(root, filepath.FromSlash(tc.want)); err != nil || got != want {
					t.Fatalf("Find() = %q, %v; want %q", got, err, want)
				}
				return
			}
			if err == nil {
				t.Fatalf("Find() = %q, want an error", got)
			}
			for _, want := range []string{"not installed", filepath.Join(root, "usr", "bin", windowProgram), filepath.Join(root, "usr", "lib", "poplar", windowProgram)} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("Find() error %q does not say %q", err, want)
				}
			}
		})
	}
}

// TestWindowFindResolvesSymlinks: poplar started through a symbolic link (~/bin/poplar pointing
// into an unpacked folder) finds the window program beside the real file, not beside the link.
func TestWindowFindResolvesSymlinks(t *testing.T) {
	root := t.TempDir()
	install(t, root, "opt/poplar/poplar", "opt/poplar/"+windowProgram, "home/bin/")
	link := filepath.Join(root, "home", "bin", "poplar")
	if err := os.Symlink(filepath.Join(root, "opt", "poplar", "poplar"), link); err != nil {
		t.Skipf("no symbolic links here: %v", err)
	}
	got, err := Window{exe: link}.Find()
	if want := filepath.Join(root, "opt", "poplar", windowProgram); err != nil || got != want {
		t.Fatalf("Find() = %q, %v; want %q", got, err, want)
	}
}

// TestWindowHandOver: whenever Main would open the window, the poplar command starts the window
// program with its own arguments unchanged (so poplar-gui parses the same command line); commands
// do not start it; without the window program Main fails with exit status 1 and says why.
func TestWindowHandOver(t *testing.T) {
	dir := t.TempDir()
	install(t, dir, "bin/poplar", "bin/"+windowProgram, "alone/poplar")
	tests := []struct {
		args    []string
		exe     string // poplar's folder under dir
		started bool
		code    int
		message string
	}{
		{nil, "bin", true, 0, ""},
		{[]string{"--demo"}, "bin", true, 0, ""},
		{[]string{"--config-dir", dir, "--data-dir=" + dir, "--demo"}, "bin", true, 0, ""},
		{[]string{"--data-dir", dir, "mail.eml", "mailto:ann@example.org?subject=Hi"}, "bin", true, 0, ""},
		{[]string{"help"}, "bin", false, 0, ""},
		{[]string{"--version"}, "bin", false, 0, ""},
		{[]string{"--demo"}, "alone", false, 1, "poplar: the window program (" + windowProgram + ") is not installed"},
	}
	for _, tc := range tests {
		var path string
		var got []string
		w := Window{Args: tc.args, exe: filepath.Join(dir, tc.exe, "poplar"), start: func(p string, args []string) error {
			path, got = p, args
			return nil
		}}
		var stderr bytes.Buffer
		e := &Env{Stdin: strings.NewReader(""), Stdout: &bytes.Buffer{}, Stderr: &stderr,
			Getenv: func(k string) string { return map[string]string{"HOME": dir}[k] }, RunGUI: w.Run}
		code := Main(context.Background(), e, tc.args)
		if code != tc.code || (path != "") != tc.started || !strings.Contains(stderr.String(), tc.message) {
			t.Errorf("poplar %q: exit %d, window program started %v, stderr %q; want %d, %v, %q",
				tc.args, code, path != "", stderr.String(), tc.code, tc.started, tc.message)
			continue
		}
		if !tc.started {
			continue
		}
		if want := filepath.Join(dir, "bin", windowProgram); path != want || !slices.Equal(got, tc.args) {
			t.Errorf("poplar %q started %q %q, want %q %q", tc.args, path, got, want, tc.args)
		}
	}
}
