// Command poplar is a desktop email client that brings mail home over POP3 into a local Maildir.
// main only wires the packages together: the command line lives in internal/cli, the desktop app
// in gui.
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
	cli.AttachConsole() // poplar.exe (a GUI-subsystem program) writes to the console it was started from
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Main(ctx, &cli.Env{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr, RunGUI: gui.Run}, os.Args[1:])
	stop()
	os.Exit(code)
}
