package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"

	"github.com/poplar-mail/poplar/internal/mailgen"
	"github.com/poplar-mail/poplar/storage"
	"github.com/poplar-mail/poplar/storage/search"
	"github.com/poplar-mail/poplar/storage/thread"
)

// searchQueries are the queries timed on the search mailbox: name, query.
var searchQueries = [][2]string{
	{"rare word", "garcia"},
	{"common word (every message)", "the"},
	{"two common words", "mail poplar"},
	{"phrase of the two commonest words", `"the mail"`},
	{"prefix of the last word", "popl"},
	{"from: an address", "from:s5@example.org"},
	{"date range (one month)", "after:2020-10-01 before:2020-11-01"},
	{"CJK word", "会議"},
	{"is:unread after: and a word", "is:unread after:2020-01-01 cafe"},
}

// searchReps is how many times each query runs (the fastest is reported: the machine is shared).
const searchReps = 5

// runSearchBench is `bench -only search`: the search and conversation measurements alone.
func runSearchBench(out string, n int) error {
	tmp, err := os.MkdirTemp("", "poplar-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	return searchStep(tmp, out, n)
}

// searchStep runs the search and conversation measurements on n messages, prints the section
// and writes it into out (empty: print only).
func searchStep(tmp, out string, n int) error {
	section, err := searchSection(tmp, n)
	if err != nil {
		return err
	}
	fmt.Print(section)
	if out != "" {
		return replaceSection(out, "## Search and conversations (make bench)", section)
	}
	return nil
}

func searchSection(tmp string, n int) (string, error) {
	data := filepath.Join(tmp, "search-data")
	dir := filepath.Join(data, "bench")
	for _, sub := range []string{"cur", "new", "tmp"} {
		if err := os.MkdirAll(filepath.Join(dir, "Maildir", sub), 0o700); err != nil {
			return "", err
		}
	}
	fmt.Fprintf(os.Stderr, "search: writing %d messages\n", n)
	mail, err := mailgen.WriteMaildir(dir, n, mailgen.Archive)
	if err != nil {
		return "", err
	}
	s, err := storage.Open(dir)
	if err != nil {
		return "", err
	}
	defer s.Close()
	fmt.Fprintln(os.Stderr, "search: summary index")
	sums, err := s.Summaries(storage.Inbox)
	if err != nil {
		return "", err
	}
	threadTime := time.Duration(1 << 62)
	var threads int
	for range searchReps {
		t0 := time.Now()
		threads = len(thread.Build(sums))
		threadTime = min(threadTime, time.Since(t0))
	}
	sums = nil

	fmt.Fprintln(os.Stderr, "search: cold index build")
	x, err := search.Open(s)
	if err != nil {
		return "", err
	}
	defer x.Close()
	cpu0, t0 := cpuTime(), time.Now()
	if err := x.Update(context.Background(), nil); err != nil {
		return "", err
	}
	build, buildCPU := time.Since(t0), cpuTime()-cpu0
	load := loadAverage()
	index := mailgen.DirBytes(filepath.Join(dir, "poplar", "search"))

	var b strings.Builder
	fmt.Fprintf(&b, "## Search and conversations (make bench)\n\n")
	fmt.Fprintf(&b, "Measured %s on %s (%d cores, load average %s at the build), by `go run ./internal/bench -only search`: %d generated messages (`internal/mailgen` Archive mix), %.0f MB, in one folder. Times of queries are the fastest of %d runs.\n\n",
		time.Now().UTC().Format("2006-01-02"), cpuModel(), runtime.NumCPU(), load, n, float64(mail)/1e6, searchReps)
	fmt.Fprintf(&b, "| measurement | result | goal |\n|---|---:|---:|\n")
	fmt.Fprintf(&b, "| cold index build (`Open` + `Update` from nothing), wall clock | %.1f s = %.0f messages/s (%.0f messages per CPU-second) | ≥ 2,000 messages/s |\n",
		build.Seconds(), float64(n)/build.Seconds(), float64(n)/buildCPU.Seconds())
	fmt.Fprintf(&b, "| index size | %.0f MB = %.1f %% of the mail | ≤ 50 %% |\n", float64(index)/1e6, 100*float64(index)/float64(mail))
	fmt.Fprintf(&b, "| `thread.Build` of the %d summaries (%d conversations) | %.0f ms | < 300 ms at 100,000 |\n", n, threads, ms(threadTime))
	b.WriteString("\n| warm query in the process | hits | first 50 | all hits |\n|---|---:|---:|---:|\n")
	for _, q := range searchQueries {
		var total int
		var best [2]time.Duration
		for k, limit := range []int{50, 0} {
			best[k] = time.Duration(1 << 62)
			for range searchReps + 1 { // the first run warms
				t0 := time.Now()
				_, tot, err := x.SearchListing(q[1], search.Options{Limit: limit}) // as the app lists hits
				if err != nil {
					return "", fmt.Errorf("search %q: %w", q[1], err)
				}
				best[k], total = min(best[k], time.Since(t0)), tot
			}
		}
		fmt.Fprintf(&b, "| %s: `%s` | %d | %.1f ms | %.1f ms |\n", q[0], q[1], total, ms(best[0]), ms(best[1]))
	}
	x.Close()

	fmt.Fprintln(os.Stderr, "search: processes")
	self, err := os.Executable()
	if err != nil {
		return "", err
	}
	status := filepath.Join(tmp, "search-rss-status")
	open, err := measuredRunTimed(nil, self, "-search-rss", dir, status)
	if err != nil {
		return "", err
	}
	mem, err := os.ReadFile(status)
	if err != nil {
		return "", err
	}
	fmt.Fprintf(&b, "\n| process | wall (fastest of %d) | peak RSS | goal |\n|---|---:|---:|---:|\n", searchReps)
	fmt.Fprintf(&b, "| store and index open, every query above run once for the first 2,000 hits, as the app lists them (at the end: %s) | %.0f ms | %.0f MiB | < 200 MB |\n",
		strings.TrimSpace(string(mem)), ms(open.wall), open.mib)
	bin, err := buildPoplar(tmp)
	if err != nil {
		return "", err
	}
	for _, q := range []string{"garcia", `"the mail"`, "the"} {
		var best usage
		for i := range searchReps {
			u, err := measuredRunTimed(nil, bin, "search", "--data-dir", data, "--limit", "20", q)
			if err != nil {
				return "", err
			}
			if i == 0 || u.wall < best.wall {
				best = u
			}
		}
		fmt.Fprintf(&b, "| `poplar search --limit 20 '%s'` | %.0f ms | %.0f MiB | < 150 ms |\n", q, ms(best.wall), best.mib)
	}
	return b.String(), nil
}

// searchRSSChild is `bench -search-rss DIR OUT`: it opens the store and its index at DIR, finds
// the index up to date and runs every query once (at most 2000 hits, as the app lists them), for
// its parent to read the peak RSS, and writes into OUT its resident memory at the end, private
// (anonymous) and of mapped files (the index's segments: page cache the kernel can drop).
func searchRSSChild(dir, out string) int {
	err := func() error {
		s, err := storage.Open(dir)
		if err != nil {
			return err
		}
		defer s.Close()
		x, err := search.Open(s)
		if err != nil {
			return err
		}
		defer x.Close()
		if err := x.Update(context.Background(), nil); err != nil {
			return err
		}
		for _, q := range searchQueries {
			if _, _, err := x.Search(q[1], search.Options{Limit: 2000}); err != nil {
				return err
			}
		}
		return os.WriteFile(out, []byte(residentMemory()), 0o600)
	}()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// residentMemory describes this process's resident memory from /proc/self/status.
func residentMemory() string {
	data, _ := os.ReadFile("/proc/self/status")
	var parts []string
	for _, l := range strings.Split(string(data), "\n") {
		for _, k := range []string{"RssAnon", "RssFile"} {
			if v, ok := strings.CutPrefix(l, k+":"); ok {
				var kib int
				fmt.Sscan(v, &kib)
				parts = append(parts, fmt.Sprintf("%s %.0f MiB", map[string]string{"RssAnon": "private", "RssFile": "mapped files"}[k], float64(kib)/1024))
			}
		}
	}
	return strings.Join(parts, ", ")
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// loadAverage is the machine's load average over the last 5 minutes, from /proc/loadavg.
func loadAverage() string {
	data, err := os.ReadFile("/proc/loadavg")
	if f := strings.Fields(string(data)); err == nil && len(f) > 1 {
		return f[1]
	}
	return "unknown"
}

// cpuTime is the user and system CPU time of this process so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
