package main

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"time"

	"github.com/poplar-mail/poplar/internal/mailgen"
)

// listMessages is the size of the mailbox of the list measurement.
const listMessages = 100_000

// listReps is how many times each list measurement runs.
const listReps = 11

// firstOpenReps is how many times the first open runs (the index removed before each).
const firstOpenReps = 3

// listMaildir makes the Maildir of account name in dataDir and writes the first n messages of the
// Archive mix into it (years of mail, a third replies, 30 % with attachments; every tenth
// unread), as mpop or getmail and a mail reader leave them. It returns the bytes written.
func listMaildir(dataDir, name string, n int) (int64, error) {
	for _, sub := range []string{"cur", "new", "tmp"} {
		if err := os.MkdirAll(filepath.Join(dataDir, name, "Maildir", sub), 0o700); err != nil {
			return 0, err
		}
	}
	return mailgen.WriteMaildir(filepath.Join(dataDir, name), n, mailgen.Archive)
}

// listSection measures `poplar list --limit 20` (the command-line binary, as a user runs it) on a
// generated 100,000-message Inbox: the first open (no index yet: every message read), then warm
// lists, and the same command on an empty Inbox (the floor of starting the program). It prints
// the figures and returns the docs section.
func listSection(tmp string) (string, error) {
	bin, err := buildPoplar(tmp)
	if err != nil {
		return "", err
	}
	dataDir := filepath.Join(tmp, "list")
	const name = "bench-list"
	fmt.Printf("writing a %d-message Maildir...\n", listMessages)
	total, err := listMaildir(dataDir, name, listMessages)
	if err != nil {
		return "", err
	}
	emptyDir := filepath.Join(tmp, "list-empty")
	if _, err := listMaildir(emptyDir, name, 0); err != nil {
		return "", err
	}
	list := func(data string) (usage, error) {
		return measuredRunTimed(nil, bin, "--data-dir", data, "list", "--account", name, "--limit", "20")
	}
	type row struct {
		name string
		runs []usage
	}
	var rows []row
	first := row{name: fmt.Sprintf("first open: `poplar list --limit 20`, no index yet (%d messages read)", listMessages)}
	for i := range firstOpenReps {
		if err := os.RemoveAll(filepath.Join(dataDir, name, "poplar")); err != nil {
			return "", err
		}
		u, err := list(dataDir)
		if err != nil {
			return "", err
		}
		fmt.Printf("%-52s %8.2f s   %6.1f MiB peak RSS, %.2f s CPU, %.0f msgs/s\n", fmt.Sprintf("first open (run %d)", i+1), u.wall.Seconds(), u.mib, u.cpu.Seconds(), listMessages/u.wall.Seconds())
		first.runs = append(first.runs, u)
	}
	rows = append(rows, first)
	for _, c := range []struct{ name, data string }{
		{fmt.Sprintf("warm: `poplar list --limit 20`, %d messages", listMessages), dataDir},
		{"floor: `poplar list --limit 20`, empty Inbox", emptyDir},
	} {
		r := row{name: c.name}
		for range listReps {
			u, err := list(c.data)
			if err != nil {
				return "", err
			}
			r.runs = append(r.runs, u)
		}
		rows = append(rows, r)
	}
	// The app's search needs the full-text index: `poplar search` builds it.
	fmt.Printf("building the search index of the %d messages...\n", listMessages)
	if _, err := measuredRunTimed(nil, bin, "--data-dir", dataDir, "search", "--account", name, "--limit", "1", "garcia"); err != nil {
		return "", fmt.Errorf("search index: %w", err)
	}
	app, err := appOpen(bin, dataDir, name, listMessages)
	if err != nil {
		return "", fmt.Errorf("app: %w", err)
	}
	rows = append(rows, row{name: fmt.Sprintf("app: start to a window listing the %d-message Inbox (index written)", listMessages), runs: app.listed},
		row{name: fmt.Sprintf("app: then `%s` typed into its search box, to the newest 2,000 of its hits shown (search index open; time from the first key, the 150 ms typing pause included; RSS %.0f s after)", appQuery, appSettle.Seconds()), runs: app.searched},
		row{name: fmt.Sprintf("app: then Esc, back to the whole Inbox listed with the search index still open (time from the key; RSS %.0f s after)", appSettle.Seconds()), runs: app.back})

	host, _ := os.Hostname()
	kernel, _ := os.ReadFile("/proc/sys/kernel/osrelease")
	var b strings.Builder
	fmt.Fprintf(&b, "## List and first open (make bench)\n\n")
	fmt.Fprintf(&b, "Measured %s on %s (%s, %d cores, Linux %s, %s): `poplar list --limit 20` (the command-line binary, as a user runs it) on a generated Inbox of %d messages (%.0f MB, `internal/mailgen`'s Archive mix: years of mail, a third replies, 25 %% HTML, 30 %% with a 20-150 KB attachment, a tenth unread), as mpop or getmail and a mail reader leave it. The messages were just written, so they are in the page cache. First open: the index removed before each of %d runs. Warm and floor: median of %d runs. Peak resident set size from the kernel (`getrusage`). App: the desktop binary under Xvfb in its own D-Bus session, from its start to the moment its list holds the whole Inbox (its log line), median of %d runs; RSS and CPU of the app at that moment (/proc). Only this step: `go run ./internal/bench -only list`.\n\n",
		time.Now().UTC().Format("2006-01-02"), host, cpuModel(), runtime.NumCPU(), strings.TrimSpace(string(kernel)), runtime.Version(), listMessages, float64(total)/1e6, firstOpenReps, listReps, appReps)
	b.WriteString("| measurement | time (median) | fastest–slowest | CPU (of the median run) | peak RSS (max) | rate | goal |\n|---|---:|---:|---:|---:|---:|---|\n")
	goals := []string{"≥ 20,000 msgs/s", "< 50 ms, < 40 MB", "", "< 1 s to a window + < 0.3 s for the folder", "< 200 MB", "< 200 MB"}
	for i, r := range rows {
		sort.Slice(r.runs, func(a, b int) bool { return r.runs[a].wall < r.runs[b].wall })
		med := r.runs[len(r.runs)/2]
		peak := 0.0
		for _, u := range r.runs {
			peak = max(peak, u.mib)
		}
		rate := ""
		if i == 0 {
			rate = fmt.Sprintf("%.0f msgs/s", listMessages/med.wall.Seconds())
		}
		fmt.Fprintf(&b, "| %s | %.3f s | %.3f–%.3f s | %.3f s | %.1f MiB | %s | %s |\n", r.name, med.wall.Seconds(), r.runs[0].wall.Seconds(), r.runs[len(r.runs)-1].wall.Seconds(), med.cpu.Seconds(), peak, rate, goals[i])
		fmt.Printf("%-52s %8.3f s   %6.1f MiB peak RSS, %.3f s CPU (median of %d)\n", r.name, med.wall.Seconds(), peak, med.cpu.Seconds(), len(r.runs))
	}
	return b.String(), nil
}

// alone makes a step of `bench -only NAME` from a step of the whole run: it runs in a temporary
// folder of its own.
func alone(step func(tmp, out string) error) func(out string) error {
	return func(out string) error {
		tmp, err := os.MkdirTemp("", "poplar-bench-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(tmp)
		return step(tmp, out)
	}
}

// listStep runs the list measurement, prints its section and writes it into out (empty: print
// only).
func listStep(tmp, out string) error {
	section, err := listSection(tmp)
	if err != nil {
		return fmt.Errorf("list: %w", err)
	}
	fmt.Println()
	fmt.Print(section)
	if out != "" {
		return replaceSection(out, "## List and first open", section)
	}
	return nil
}
