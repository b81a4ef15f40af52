//go:build !windows

package cli

import (
	"os"
	"syscall"
)

// windowProgram is the window program's file name.
const windowProgram = "poplar-gui"

// startWindow replaces this process with the window program (execve), keeping its process ID,
// standard streams and environment; it returns only on failure.
func startWindow(path string, args []string) error {
	return syscall.Exec(path, append([]string{path}, args...), os.Environ())
}
