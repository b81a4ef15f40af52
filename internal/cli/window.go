package cli

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// Window hands the command line over to the window program, poplar-gui: the poplar command never
// loads the GUI toolkit itself (it stays small and quick for cron and scripts), so when it would
// open the desktop app it starts poplar-gui with its own arguments unchanged, and poplar-gui, which
// runs the same Main, parses exactly the same command line. Its Run method is the poplar command's
// Env.RunGUI.
type Window struct {
	// Args is the command line to hand over, without the program name (os.Args[1:]).
	Args []string
	// exe is this program's path; empty means os.Executable. Tests set it.
	exe string
	// start replaces startWindow in tests.
	start func(path string, args []string) error
}

// Run finds poplar-gui (see Find) and starts it with w.Args. On Unix the window program replaces
// this process (exec), so the caller's signals and exit status go to it and Run returns only on
// failure; on Windows it is started detached and Run returns nil at once. g and args, the parsed
// command line, are not used: the window program parses w.Args itself.
func (w Window) Run(ctx context.Context, g Globals, args []string) error {
	path, err := w.Find()
	if err != nil {
		return err
	}
	start := w.start
	if start == nil {
		start = startWindow
	}
	if err := start(path, w.Args); err != nil {
		return fmt.Errorf("starting the window program %s: %w", path, err)
	}
	return nil
}

// Find returns the path of the window program: beside this program's executable (symbolic links
// resolved) first, as in bin/ and the Windows folder, then in ../lib/poplar/ from there, the
// Debian package's place (/usr/bin/poplar, /usr/lib/poplar/poplar-gui). Missing everywhere, the
// error names each place it looked.
func (w Window) Find() (string, error) {
	exe := w.exe
	if exe == "" {
		var err error
		if exe, err = os.Executable(); err != nil {
			return "", fmt.Errorf("cannot find the window program: where is this program? %w", err)
		}
	}
	if real, err := filepath.EvalSymlinks(exe); err == nil {
		exe = real
	}
	dir := filepath.Dir(exe)
	places := []string{
		filepath.Join(dir, windowProgram),
		filepath.Join(dir, "..", "lib", "poplar", windowProgram),
	}
	for _, p := range places {
		fi, err := os.Stat(p)
		if err == nil && fi.Mode().IsRegular() {
			return p, nil
		}
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return "", fmt.Errorf("cannot use the window program: %w", err)
		}
	}
	return "", fmt.Errorf("the window program (%s) is not installed: looked for %s; "+
		"the command line works without it (run 'poplar help')", windowProgram, strings.Join(places, " and "))
}
