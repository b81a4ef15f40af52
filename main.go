// Command poplar is Poplar, a desktop email client that brings mail home over POP3 into a local
// Maildir: the command line (internal/cli) and the launcher of the desktop app. It never loads the
// GUI toolkit, so commands run from cron or scripts start quickly and small: to open the window it
// hands its command line over to the window program, poplar-gui (gui/cmd/poplar-gui), found beside
// it or in ../lib/poplar (cli.Window).
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/poplar-mail/poplar/internal/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Main(ctx, &cli.Env{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr, RunGUI: cli.Window{Args: os.Args[1:]}.Run}, os.Args[1:])
	stop()
	os.Exit(code)
}
