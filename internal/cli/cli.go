// Package cli is Poplar's command line: it parses arguments, resolves the config and data
// directories, and runs one subcommand (serverinfo, list, show, account, fetch, send, outbox) or hands over to the
// desktop app. It is the terminal's peer of package gui: it drives account, storage and pop and owns
// only presentation. It lives under internal/ because it is neither protocol, storage nor application
// logic, and the fixed layout keeps main.go to wiring alone.
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"

	"github.com/poplar-mail/poplar/account"
	"github.com/poplar-mail/poplar/internal/version"
)

// Env is everything a command may touch of the outside world, so tests can run commands in-process.
type Env struct {
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	// Getenv reads an environment variable; nil means os.Getenv.
	Getenv func(string) string
	// Secrets stores passwords; nil means the OS keyring.
	Secrets account.SecretStore
	// RunGUI starts the desktop app: gui.Run in poplar-gui, Window.Run (the hand-over to poplar-gui)
	// in poplar; nil means "no GUI in this build" and `poplar` prints usage.
	RunGUI func(ctx context.Context, g Globals, args []string) error
}

// Globals are the flags every command accepts.
type Globals struct {
	ConfigDir string // --config-dir, POPLAR_CONFIG_DIR, else $XDG_CONFIG_HOME/poplar (Windows: %APPDATA%\poplar)
	DataDir   string // --data-dir, POPLAR_DATA_DIR, else $XDG_DATA_HOME/poplar (Windows: %LOCALAPPDATA%\poplar)
}

// command is one subcommand: it parses its own flags from args and returns the exit status.
type command struct {
	summary string
	run     func(ctx context.Context, e *Env, g Globals, args []string) int
}

// commands is the table of subcommands; each is implemented in the file named after it.
func commands() map[string]command {
	return map[string]command{
		"serverinfo": {"probe a POP3 server: greeting, TLS, capabilities, mailbox size", runServerInfo},
		"list":       {"list stored messages, newest first", runList},
		"show":       {"show a stored message as the reader pane does", runShow},
		"account":    {"add, list, change or remove accounts", runAccount},
		"fetch":      {"download new mail for accounts", runFetch},
		"send":       {"send a message (stored in the Outbox first)", runSend},
		"outbox":     {"list the messages waiting to be sent; --flush sends them", runOutbox},
		"search":     {"search an account's stored mail (full text); same output as list", runSearch},
		"filter":     {"list, add, remove or run an account's filters (sorting of new mail)", runFilter},
	}
}

// Main runs Poplar's command line and returns the process exit status.
func Main(ctx context.Context, e *Env, args []string) int {
	if e.Getenv == nil {
		e.Getenv = os.Getenv
	}
	fs := flag.NewFlagSet("poplar", flag.ContinueOnError)
	fs.SetOutput(e.Stderr)
	var g Globals
	fs.StringVar(&g.ConfigDir, "config-dir", "", "folder for accounts.toml (env POPLAR_CONFIG_DIR)")
	fs.StringVar(&g.DataDir, "data-dir", "", "folder for mail (env POPLAR_DATA_DIR)")
	demo := fs.Bool("demo", false, "open the desktop app on a demo mailbox served on this computer")
	showVersion := fs.Bool("version", false, "print the version, commit and build date")
	fs.Usage = func() { usage(e.Stderr, fs) }
	// Global flags may come before the subcommand; subcommands also accept them (see GlobalFlags).
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if *showVersion {
		fmt.Fprintln(e.Stdout, version.Get())
		return 0
	}
	if err := g.resolve(e.Getenv); err != nil {
		fmt.Fprintf(e.Stderr, "poplar: %v\n", err)
		return 1
	}
	rest := fs.Args()
	if len(rest) == 0 || strings.HasPrefix(rest[0], "-") || isMessageFile(rest[0]) {
		if *demo {
			rest = append([]string{"--demo"}, rest...)
		}
		if e.RunGUI != nil {
			if err := e.RunGUI(ctx, g, rest); err != nil {
				fmt.Fprintf(e.Stderr, "poplar: %v\n", err)
				return 1
			}
			return 0
		}
		usage(e.Stderr, fs)
		return 2
	}
	if rest[0] == "help" {
		if len(rest) == 2 && rest[1] == "--man" { // hidden: the manual page, for packaging
			if err := writeMan(ctx, e.Stdout, fs); err != nil {
				fmt.Fprintf(e.Stderr, "poplar: %v\n", err)
				return 1
			}
			return 0
		}
		usage(e.Stdout, fs)
		return 0
	}
	cmd, ok := commands()[rest[0]]
	if !ok {
		fmt.Fprintf(e.Stderr, "poplar: unknown command %q (run 'poplar help')\n", rest[0])
		return 2
	}
	return cmd.run(ctx, e, g, rest[1:])
}

// flags registers --config-dir and --data-dir on a subcommand's flag set, so they may also
// follow the subcommand name. Call g.resolve after parsing.
func (g *Globals) flags(fs *flag.FlagSet) {
	fs.StringVar(&g.ConfigDir, "config-dir", g.ConfigDir, "folder for accounts.toml (env POPLAR_CONFIG_DIR)")
	fs.StringVar(&g.DataDir, "data-dir", g.DataDir, "folder for mail (env POPLAR_DATA_DIR)")
}

// resolve fills empty directories from the environment and the platform's defaults.
func (g *Globals) resolve(getenv func(string) string) error {
	return g.resolveOn(runtime.GOOS, getenv)
}

// resolveOn is resolve on the operating system goos. On Windows the settings go under %APPDATA%
// (they roam with the user) and the mail under %LOCALAPPDATA% (it stays on this computer);
// elsewhere under $XDG_CONFIG_HOME and $XDG_DATA_HOME.
func (g *Globals) resolveOn(goos string, getenv func(string) string) error {
	if g.ConfigDir == "" {
		g.ConfigDir = getenv("POPLAR_CONFIG_DIR")
	}
	if g.DataDir == "" {
		g.DataDir = getenv("POPLAR_DATA_DIR")
	}
	if goos == "windows" {
		for _, d := range []struct {
			dir       *string
			env, what string
		}{{&g.ConfigDir, "APPDATA", "config"}, {&g.DataDir, "LOCALAPPDATA", "data"}} {
			if *d.dir != "" {
				continue
			}
			base := getenv(d.env)
			if base == "" {
				return fmt.Errorf("cannot find a %s folder: set %%%s%% or --%s-dir", d.what, d.env, d.what)
			}
			*d.dir = filepath.Join(base, "poplar")
		}
		return nil
	}
	home := getenv("HOME")
	if g.ConfigDir == "" {
		base := getenv("XDG_CONFIG_HOME")
		if base == "" {
			if home == "" {
				return errors.New("cannot find a config folder: set HOME, XDG_CONFIG_HOME or --config-dir")
			}
			base = filepath.Join(home, ".config")
		}
		g.ConfigDir = filepath.Join(base, "poplar")
	}
	if g.DataDir == "" {
		base := getenv("XDG_DATA_HOME")
		if base == "" {
			if home == "" {
				return errors.New("cannot find a data folder: set HOME, XDG_DATA_HOME or --data-dir")
			}
			base = filepath.Join(home, ".local", "share")
		}
		g.DataDir = filepath.Join(base, "poplar")
	}
	return nil
}

func usage(w io.Writer, fs *flag.FlagSet) {
	fmt.Fprintln(w, "Usage: poplar [--config-dir DIR] [--data-dir DIR] [COMMAND [ARGS]]")
	fmt.Fprintln(w, "\nWith no command, poplar opens the desktop app.\n\nCommands:")
	cmds := commands()
	names := make([]string, 0, len(cmds))
	for n := range cmds {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-11s %s\n", n, cmds[n].summary)
	}
	fmt.Fprintln(w, "\nGlobal flags:")
	fs.SetOutput(w)
	fs.PrintDefaults()
	fmt.Fprintln(w, "\nRun 'poplar COMMAND -h' for a command's flags.")
}

// isMessageFile reports whether arg is for the app to open (`poplar FILE.eml`, as a file manager
// runs it): a .eml file, or any existing file that is not a command's name, a file:// URI (a
// desktop entry's %U), or a mailto: link (a browser's "send mail to").
func isMessageFile(arg string) bool {
	if _, isCommand := commands()[arg]; isCommand || arg == "help" {
		return false
	}
	if l := strings.ToLower(arg); strings.HasPrefix(l, "mailto:") || strings.HasPrefix(l, "file://") {
		return true
	}
	if strings.HasSuffix(strings.ToLower(arg), ".eml") {
		return true
	}
	st, err := os.Stat(arg)
	return err == nil && st.Mode().IsRegular()
}

// explain is account.Explain for the command line: where the window's remedy is a button (sign
// in in the browser), the command line names its command.
func explain(err error, name string) (what, remedy string) {
	what, remedy = account.Explain(err, name)
	if errors.Is(err, account.ErrSignInAgain) {
		remedy = fmt.Sprintf("Sign in with 'poplar account login %s'", name)
	}
	return what, remedy
}
