package main

import (
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"time"

	"github.com/poplar-mail/poplar/storage/mailview/mailviewtest"
)

// listMessages is the size of the mailbox of the list measurement.
const listMessages = 100_000

// listReps is how many times each list measurement runs.
const listReps = 5

// firstOpenReps is how many times the first open runs (the index removed before each).
const firstOpenReps = 3

// writeListMaildir writes n messages into a Maildir at dir as another program (mpop, getmail)
// leaves them: nine in ten read in cur/ with ":2,S", the newest tenth in new/. The mix: 55 %
// plain text of 1-8 KB, 25 % HTML of 2-15 KB, 20 % multipart/mixed with a text part and a
// base64 attachment of 10-60 KB; each with three Received lines. It returns the bytes written.
func writeListMaildir(dir string, n int) (int64, error) {
	for _, sub := range []string{"cur", "new", "tmp"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o700); err != nil {
			return 0, err
		}
	}
	rng := rand.New(rand.NewSource(15))
	blob := make([]byte, 64<<10)
	rng.Read(blob)
	words := []string{"mail", "poplar", "tree", "server", "message", "über", "café", "日本", "письмо", "the", "and", "of", "to", "meeting", "report"}
	text := func(size int) string {
		var b strings.Builder
		for b.Len() < size {
			for line := 0; line < 70; {
				w := words[rng.Intn(len(words))]
				b.WriteString(w + " ")
				line += len(w) + 1
			}
			b.WriteString("\n")
		}
		return b.String()
	}
	var total int64
	start := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range n {
		at := start.Add(time.Duration(i) * 17 * time.Minute)
		var m strings.Builder
		for h := range 3 {
			fmt.Fprintf(&m, "Received: from relay%d.example.net (relay%d.example.net [192.0.2.%d])\n\tby mx.example.org with ESMTPS id %x\n\tfor <me@example.org>; %s\n",
				h, h, i%250, rng.Uint64(), at.Format(time.RFC1123Z))
		}
		fmt.Fprintf(&m, "From: Sender %d <s%d@example.net>\nTo: Me <me@example.org>\nSubject: Report %d about =?utf-8?q?gr=C3=BC=C3=9Fe?= and %s\nDate: %s\nMessage-ID: <m%d@example.net>\nMIME-Version: 1.0\n",
			i%331, i%331, i, words[i%len(words)], at.Format(time.RFC1123Z), i)
		switch r := rng.Intn(100); {
		case r < 55:
			fmt.Fprintf(&m, "Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\n%s", text(1000+rng.Intn(7000)))
		case r < 80:
			fmt.Fprintf(&m, "Content-Type: text/html; charset=utf-8\n\n<html><body><p>%s</p></body></html>\n", strings.ReplaceAll(text(2000+rng.Intn(13000)), "\n", "</p>\n<p>"))
		default:
			size := 10<<10 + rng.Intn(50<<10)
			off := rng.Intn(len(blob) - size)
			fmt.Fprintf(&m, "Content-Type: multipart/mixed; boundary=BB\n\n--BB\nContent-Type: text/plain; charset=utf-8\n\n%s--BB\nContent-Type: application/pdf\nContent-Transfer-Encoding: base64\nContent-Disposition: attachment; filename=report%d.pdf\n\n%s--BB--\n",
				text(500+rng.Intn(3000)), i, mailviewtest.Base64Lines(blob[off:off+size]))
		}
		name := fmt.Sprintf("%d.M%dP%d.bench.example.org", at.Unix(), i, 4242)
		sub := "new"
		if i < n-n/10 {
			sub, name = "cur", name+":2,S"
		}
		if err := os.WriteFile(filepath.Join(dir, sub, name), []byte(m.String()), 0o600); err != nil {
			return 0, err
		}
		total += int64(m.Len())
	}
	return total, nil
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
	maildir := filepath.Join(dataDir, name, "Maildir")
	fmt.Printf("writing a %d-message Maildir...\n", listMessages)
	total, err := writeListMaildir(maildir, listMessages)
	if err != nil {
		return "", err
	}
	emptyDir := filepath.Join(tmp, "list-empty")
	if _, err := writeListMaildir(filepath.Join(emptyDir, name, "Maildir"), 0); err != nil {
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

	host, _ := os.Hostname()
	kernel, _ := os.ReadFile("/proc/sys/kernel/osrelease")
	var b strings.Builder
	fmt.Fprintf(&b, "## List and first open (make bench)\n\n")
	fmt.Fprintf(&b, "Measured %s on %s (%s, %d cores, Linux %s, %s): `poplar list --limit 20` (the command-line binary, as a user runs it) on a generated Inbox of %d messages (%.0f MB; 55 %% plain text, 25 %% HTML, 20 %% with a 10-60 KB attachment; a tenth unread in new/), as mpop or getmail leave it. The messages were just written, so they are in the page cache. First open: the index removed before each of %d runs. Warm and floor: median of %d runs. Peak resident set size from the kernel (`getrusage`). Only this step: `go run ./internal/bench -only list`.\n\n",
		time.Now().UTC().Format("2006-01-02"), host, cpuModel(), runtime.NumCPU(), strings.TrimSpace(string(kernel)), runtime.Version(), listMessages, float64(total)/1e6, firstOpenReps, listReps)
	b.WriteString("| measurement | time (median) | CPU | peak RSS (max) | rate | goal |\n|---|---:|---:|---:|---:|---|\n")
	goals := []string{"≥ 20,000 msgs/s", "< 50 ms, < 40 MB", ""}
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
		fmt.Fprintf(&b, "| %s | %.3f s | %.3f s | %.1f MiB | %s | %s |\n", r.name, med.wall.Seconds(), med.cpu.Seconds(), peak, rate, goals[i])
		fmt.Printf("%-52s %8.3f s   %6.1f MiB peak RSS, %.3f s CPU (median of %d)\n", r.name, med.wall.Seconds(), peak, med.cpu.Seconds(), len(r.runs))
	}
	return b.String(), nil
}

// runListBench is `bench -only list`: the list measurement alone, in its own temporary folder.
func runListBench(out string) error {
	tmp, err := os.MkdirTemp("", "poplar-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	return listStep(tmp, out)
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
