package cli

import (
	"io"
	"os"

	"golang.org/x/sys/windows"
)

// isTerminal reports whether w is a console.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	var mode uint32
	return windows.GetConsoleMode(windows.Handle(f.Fd()), &mode) == nil
}

// AttachConsole lets poplar-gui.exe, a GUI-subsystem program (no console window of its own when
// started from Explorer), be a command-line program too (poplar.exe, a console program, needs it
// not): when one of its standard handles is missing and the program that started it (cmd.exe,
// PowerShell) has a console, it attaches to that console (AttachConsole(ATTACH_PARENT_PROCESS))
// and writes to and reads from it. Handles that were
// redirected (to a file or a pipe) are kept as they are. Started from Explorer it changes nothing.
func AttachConsole() {
	std := []struct {
		id   uint32
		f    **os.File
		name string // the console device
		flag int
	}{
		{windows.STD_INPUT_HANDLE, &os.Stdin, "CONIN$", os.O_RDWR},
		{windows.STD_OUTPUT_HANDLE, &os.Stdout, "CONOUT$", os.O_RDWR},
		{windows.STD_ERROR_HANDLE, &os.Stderr, "CONOUT$", os.O_RDWR},
	}
	missing := false
	for _, s := range std {
		if h, err := windows.GetStdHandle(s.id); err != nil || h == 0 || h == windows.InvalidHandle {
			missing = true
		}
	}
	if !missing {
		return
	}
	const attachParentProcess = ^uintptr(0) // ATTACH_PARENT_PROCESS, (DWORD)-1
	attach := windows.NewLazySystemDLL("kernel32.dll").NewProc("AttachConsole")
	if r, _, _ := attach.Call(attachParentProcess); r == 0 {
		return // no parent console: the desktop app was started from Explorer or a shortcut
	}
	for _, s := range std {
		if h, err := windows.GetStdHandle(s.id); err == nil && h != 0 && h != windows.InvalidHandle {
			continue
		}
		f, err := os.OpenFile(s.name, s.flag, 0)
		if err != nil {
			continue
		}
		windows.SetStdHandle(s.id, windows.Handle(f.Fd()))
		*s.f = f
	}
}
