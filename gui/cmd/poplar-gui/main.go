// Command poplar-gui is Poplar's window program: the desktop app (package gui) and, as it runs the
// same command line, every command of poplar too. The poplar command (the top-level main.go),
// which never loads the GUI toolkit, hands over to it when it is to open the window; it lives in
// /usr/lib/poplar in the Debian package and beside poplar elsewhere.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/poplar-mail/poplar/gui"
	"github.com/poplar-mail/poplar/internal/cli"
)

func main() {
	cli.AttachConsole() // poplar-gui.exe (a GUI-subsystem program) writes to the console it was started from
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Main(ctx, &cli.Env{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr, RunGUI: gui.Run}, os.Args[1:])
	stop()
	os.Exit(code)
}
