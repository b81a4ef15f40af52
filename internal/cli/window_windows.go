package cli

import (
	"os/exec"
	"syscall"

	"golang.org/x/sys/windows"
)

// windowProgram is the window program's file name.
const windowProgram = "poplar-gui.exe"

// startWindow starts the window program detached from this console program (Windows has no exec):
// it runs on after poplar.exe returns, with no console of its own and its output discarded, as when
// it is started from Explorer.
func startWindow(path string, args []string) error {
	cmd := exec.Command(path, args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{CreationFlags: windows.DETACHED_PROCESS | windows.CREATE_NEW_PROCESS_GROUP}
	if err := cmd.Start(); err != nil {
		return err
	}
	return cmd.Process.Release()
}
