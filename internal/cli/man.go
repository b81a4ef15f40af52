package cli

import (
	"bufio"
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/poplar-mail/poplar/internal/version"
)

// writeMan writes Poplar's manual page (roff, man(7) macros) to w, built from the same help text
// that `poplar help` and `poplar COMMAND -h` print, so the page never drifts from the program.
// .ci/dist runs it as the hidden `poplar help --man`; it does no I/O but writing to w.
func writeMan(ctx context.Context, w io.Writer, fs *flag.FlagSet) error {
	b := bufio.NewWriter(w)
	cmds := commands()
	names := make([]string, 0, len(cmds))
	for n := range cmds {
		names = append(names, n)
	}
	sort.Strings(names)

	fmt.Fprintf(b, ".TH POPLAR 1 \"\" \"poplar %s\" \"User Commands\"\n", roffText(version.Get().Version))
	fmt.Fprintln(b, ".SH NAME")
	fmt.Fprintln(b, "poplar \\- desktop mail client that brings mail home over POP3")
	fmt.Fprintln(b, ".SH SYNOPSIS")
	fmt.Fprintln(b, ".B poplar")
	fmt.Fprintln(b, "[\\fIGLOBAL-FLAGS\\fR] [\\fIFILE.eml\\fR]")
	fmt.Fprintln(b, ".br")
	fmt.Fprintln(b, ".B poplar")
	fmt.Fprintln(b, "[\\fIGLOBAL-FLAGS\\fR] \\fICOMMAND\\fR [\\fIARGS\\fR]")
	fmt.Fprintln(b, ".SH DESCRIPTION")
	fmt.Fprintln(b, "With no command, poplar opens the desktop app (on a message file, that message).")
	fmt.Fprintln(b, "The commands below work in a terminal, on the same accounts and mail as the app.")
	fmt.Fprintln(b, ".SH OPTIONS")
	fs.VisitAll(func(f *flag.Flag) {
		arg, text := flag.UnquoteUsage(f)
		fmt.Fprintln(b, ".TP")
		if arg != "" {
			fmt.Fprintf(b, "\\fB\\-\\-%s\\fR \\fI%s\\fR\n", roffText(f.Name), roffText(arg))
		} else {
			fmt.Fprintf(b, "\\fB\\-\\-%s\\fR\n", roffText(f.Name))
		}
		fmt.Fprintln(b, roffLine(text))
	})
	fmt.Fprintln(b, ".SH COMMANDS")
	for _, n := range names {
		fmt.Fprintf(b, ".SS %s\n", roffText(n))
		fmt.Fprintln(b, roffLine(cmds[n].summary+"."))
		// The command's own -h text: its usage line and flags, as the terminal shows them.
		var help bytes.Buffer
		quiet := &Env{Stdin: strings.NewReader(""), Stdout: io.Discard, Stderr: &help, Getenv: func(string) string { return "" }}
		cmds[n].run(ctx, quiet, Globals{}, []string{"-h"})
		if text := strings.TrimSpace(help.String()); text != "" {
			fmt.Fprintln(b, ".PP\n.nf\n.RS 4")
			for _, l := range strings.Split(text, "\n") {
				fmt.Fprintln(b, roffLine(strings.TrimRight(l, " ")))
			}
			fmt.Fprintln(b, ".RE\n.fi")
		}
	}
	fmt.Fprintln(b, ".SH ENVIRONMENT")
	fmt.Fprintln(b, ".TP\n.B POPLAR_CONFIG_DIR\nthe folder for accounts.toml (as \\fB\\-\\-config\\-dir\\fR).")
	fmt.Fprintln(b, ".TP\n.B POPLAR_DATA_DIR\nthe folder for mail (as \\fB\\-\\-data\\-dir\\fR).")
	fmt.Fprintln(b, ".SH FILES")
	fmt.Fprintln(b, ".TP\n.I ~/.config/poplar/accounts.toml\nthe accounts (passwords are kept in the desktop keyring, never in files).")
	fmt.Fprintln(b, ".TP\n.I ~/.local/share/poplar/\nthe mail: one Maildir folder per account and folder.")
	fmt.Fprintln(b, ".SH SEE ALSO")
	fmt.Fprintln(b, "https://github.com/poplar\\-mail/poplar")
	if err := b.Flush(); err != nil {
		return fmt.Errorf("writing the manual page: %w", err)
	}
	return nil
}

// roffText escapes s for use inside a roff line: backslashes and minus signs.
func roffText(s string) string {
	return strings.NewReplacer(`\`, `\e`, "-", `\-`).Replace(s)
}

// roffLine escapes s as a whole text line: roffText, and a leading dot or apostrophe that roff would
// take for a request.
func roffLine(s string) string {
	s = roffText(s)
	if strings.HasPrefix(s, ".") || strings.HasPrefix(s, "'") {
		s = `\&` + s
	}
	return s
}
