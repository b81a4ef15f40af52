package main

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/poplar-mail/poplar/account"
	"github.com/poplar-mail/poplar/internal/dovecot"
	"github.com/poplar-mail/poplar/internal/mailgen"
)

// netSizes are the mailbox sizes of the network measurement (issue 15's goals 1, 2 and 5).
var netSizes = []int{2000, 10_000}

// netFullReps and netCheckReps are how many interleaved runs each full download and each
// re-check of the network measurement makes; the median is reported.
const (
	netFullReps  = 3
	netCheckReps = 9
)

// netRow is one program's runs in the network measurement.
type netRow struct {
	name string
	runs []usage
}

// median returns the median wall time and the largest peak RSS of the runs.
func (r *netRow) median() (time.Duration, float64) {
	w := make([]time.Duration, len(r.runs))
	var mib float64
	for i, u := range r.runs {
		w[i], mib = u.wall, max(mib, u.mib)
	}
	sort.Slice(w, func(i, j int) bool { return w[i] < w[j] })
	return w[len(w)/2], mib
}

// medianCPU returns the median CPU time (user + system) of the runs.
func (r *netRow) medianCPU() time.Duration {
	c := make([]time.Duration, len(r.runs))
	for i, u := range r.runs {
		c[i] = u.cpu
	}
	sort.Slice(c, func(i, j int) bool { return c[i] < c[j] })
	return c[len(c)/2]
}

// beforeEnv names an environment variable that may hold the path of another build of poplar (an
// earlier commit's): its full downloads then run interleaved with this build's, for a before and
// after comparison within one run on a shared machine.
const beforeEnv = "POPLAR_BENCH_BEFORE"

// netStep is `bench -only recheck`, and a step of the full `make bench`: for each of netSizes
// it serves a generated mailbox from a private Dovecot and times, side by side and interleaved,
// the `poplar fetch` binary as a user runs it against mpop and against the server floor (a
// pipelined RETR reader that discards the bytes): the full download, then the re-check with
// nothing new. Peak RSS comes from the kernel. It prints the figures and writes the section into
// out (empty: print only).
func netStep(tmp, out string) error {
	if err := dovecot.Available(); err != nil {
		fmt.Fprintf(os.Stderr, "bench: skipping the re-check and floor measurement: %v\n", err)
		return nil
	}
	bin, err := buildPoplar(tmp)
	if err != nil {
		return err
	}
	var b strings.Builder
	b.WriteString("## Re-check, download floor and fetch memory (make bench)\n\n")
	fmt.Fprintf(&b, "Measured %s on %s: the `poplar fetch` binary as a user runs it (password on standard input, CA file given) beside mpop and beside the server floor (one TLS connection, every RETR sent at once, the bytes counted and discarded), Dovecot POP3S on 127.0.0.1, the Fetch mix of internal/mailgen. Interleaved runs, each after sync(2); median wall time; peak RSS is the largest of the runs (getrusage). Load average at the start: %s.\n\n",
		time.Now().UTC().Format("2006-01-02"), machine(), loadAvg())
	b.WriteString("| messages | measurement | time | ratio | peak RSS | CPU (user+sys) |\n|---:|---|---:|---:|---:|---:|\n")
	for _, n := range netSizes {
		rows, err := netMeasure(tmp, bin, n)
		if err != nil {
			return fmt.Errorf("%d messages: %w", n, err)
		}
		b.WriteString(rows)
	}
	big, err := netBigMessage(tmp, bin)
	if err != nil {
		return fmt.Errorf("50 MB message: %w", err)
	}
	b.WriteString(big)
	fmt.Fprintf(&b, "\nGoals (issue 15): re-check ≤ 0.8× mpop; full download ≤ 1.15× the floor; peak RSS < 40 MiB. Load average at the end: %s.\n", loadAvg())
	fmt.Println()
	fmt.Print(b.String())
	if out != "" {
		return replaceSection(out, "## Re-check, download floor and fetch memory", b.String())
	}
	return nil
}

// netMeasure runs the measurements of netStep for one mailbox of n messages and returns its
// table rows.
func netMeasure(tmp, bin string, n int) (string, error) {
	fmt.Printf("re-check and floor: serving %d messages...\n", n)
	srv, err := dovecot.Start(dovecot.Options{Users: []dovecot.User{{Name: "keep", Password: "pw", Messages: mailgen.Messages(n, mailgen.Fetch)}}})
	if err != nil {
		return "", err
	}
	defer srv.Stop()
	// Let Dovecot build its indexes once, outside the timings.
	if err := rawRead(srv, n); err != nil {
		return "", fmt.Errorf("warm-up: %w\n%s", err, srv.Log())
	}
	dir := filepath.Join(tmp, fmt.Sprintf("net%d", n))
	cfgDir := filepath.Join(dir, "config")
	cfg := &account.Config{Accounts: []account.Account{benchAccount(srv, "keep", true)}}
	if err := cfg.Save(cfgDir); err != nil {
		return "", err
	}
	// The same account logging in with USER/PASS, as mpop's "auth user" does; the default (auto)
	// picks SCRAM-SHA-256 where the server offers it.
	pwDir := filepath.Join(dir, "config-password")
	pwAcct := benchAccount(srv, "keep", true)
	pwAcct.Auth = "password"
	if err := (&account.Config{Accounts: []account.Account{pwAcct}}).Save(pwDir); err != nil {
		return "", err
	}
	poplarBin := func(bin, cfg, data string) (usage, error) {
		return measuredRunTimed(strings.NewReader("pw\n"), bin, "--config-dir", cfg, "--data-dir", data, "fetch", "--quiet", "--password-stdin", "keep")
	}
	poplarAs := func(cfg, data string) (usage, error) { return poplarBin(bin, cfg, data) }
	poplar := func(data string) (usage, error) { return poplarAs(cfgDir, data) }
	mpop := func(maildir string) (usage, error) {
		rc, err := mpopConfig(srv, dir, "keep", maildir, true)
		if err != nil {
			return usage{}, err
		}
		return measuredRunTimed(nil, "mpop", "-C", rc, "--quiet")
	}
	floor := func() (usage, error) {
		start := time.Now()
		err := rawRead(srv, n)
		return usage{wall: time.Since(start)}, err
	}
	fresh := func(name string, i int) string {
		d := filepath.Join(dir, fmt.Sprintf("%s%d", name, i))
		os.RemoveAll(d)
		return d
	}
	full := []*netRow{{name: "server floor (pipelined RETR, discard)"}, {name: "poplar fetch, full download"}, {name: "mpop, full download"}}
	check := []*netRow{{name: "poplar fetch, re-check with nothing new"}, {name: "mpop, re-check with nothing new"},
		{name: "poplar fetch, re-check, USER/PASS like mpop"}}
	var lastPoplar, lastMpop string
	fullRun := []func(i int) (usage, error){
		func(int) (usage, error) { return floor() },
		func(i int) (usage, error) { lastPoplar = fresh("poplar", i); return poplar(lastPoplar) },
		func(i int) (usage, error) { lastMpop = fresh("mpop", i); return mpop(lastMpop) },
	}
	checkRun := []func(int) (usage, error){
		func(int) (usage, error) { return poplar(lastPoplar) },
		func(int) (usage, error) { return mpop(lastMpop) },
		func(int) (usage, error) { return poplarAs(pwDir, lastPoplar) },
	}
	if before := os.Getenv(beforeEnv); before != "" {
		full = append(full, &netRow{name: "poplar fetch (" + before + "), full download"})
		fullRun = append(fullRun, func(i int) (usage, error) { return poplarBin(before, cfgDir, fresh("before", i)) })
	}
	if err := interleave(full, fullRun, netFullReps); err != nil {
		return "", err
	}
	if err := interleave(check, checkRun, netCheckReps); err != nil {
		return "", err
	}
	if err := checkStored(lastPoplar, n); err != nil {
		return "", err
	}
	var b strings.Builder
	floorT, _ := full[0].median()
	row := func(r *netRow, base time.Duration, baseName string) {
		t, mib := r.median()
		ratio, rss, cpu := "", "", ""
		if base > 0 {
			ratio = fmt.Sprintf("%.2f× %s", t.Seconds()/base.Seconds(), baseName)
		}
		if mib > 0 {
			rss = fmt.Sprintf("%.1f MiB", mib)
		}
		if c := r.medianCPU(); c > 0 {
			cpu = fmt.Sprintf("%s, %.0f µs a message", fmtDur(c), float64(c.Microseconds())/float64(n))
		}
		fmt.Fprintf(&b, "| %d | %s | %s | %s | %s | %s |\n", n, r.name, fmtDur(t), ratio, rss, cpu)
	}
	mpopFull, _ := full[2].median()
	row(full[0], 0, "")
	row(full[1], floorT, "floor")
	row(full[2], floorT, "floor")
	row(&netRow{name: "poplar fetch, full download vs mpop", runs: full[1].runs}, mpopFull, "mpop")
	for _, r := range full[3:] {
		row(r, floorT, "floor")
	}
	mpopCheck, _ := check[1].median()
	row(check[0], mpopCheck, "mpop")
	row(check[1], 0, "")
	row(check[2], mpopCheck, "mpop")
	return b.String(), nil
}

// netBigMessage measures the peak RSS of `poplar fetch` and of mpop downloading a mailbox of a
// 50 MB message between two small ones, netFullReps times each, and returns the table rows.
func netBigMessage(tmp, bin string) (string, error) {
	small := mailgen.Messages(2, mailgen.Fetch)
	srv, err := dovecot.Start(dovecot.Options{Users: []dovecot.User{{Name: "keep", Password: "pw", Messages: [][]byte{small[0], bigMessage(50e6), small[1]}}}})
	if err != nil {
		return "", err
	}
	defer srv.Stop()
	dir := filepath.Join(tmp, "netbig")
	cfgDir := filepath.Join(dir, "config")
	cfg := &account.Config{Accounts: []account.Account{benchAccount(srv, "keep", true)}}
	if err := cfg.Save(cfgDir); err != nil {
		return "", err
	}
	rows := []*netRow{{name: "poplar fetch, 3 messages, one of 50 MB"}, {name: "mpop, 3 messages, one of 50 MB"}}
	run := []func(int) (usage, error){
		func(i int) (usage, error) {
			data := filepath.Join(dir, fmt.Sprintf("poplar%d", i))
			return measuredRunTimed(strings.NewReader("pw\n"), bin, "--config-dir", cfgDir, "--data-dir", data, "fetch", "--quiet", "--password-stdin", "keep")
		},
		func(i int) (usage, error) {
			rc, err := mpopConfig(srv, dir, "keep", filepath.Join(dir, fmt.Sprintf("mpop%d", i)), true)
			if err != nil {
				return usage{}, err
			}
			return measuredRunTimed(nil, "mpop", "-C", rc, "--quiet")
		},
	}
	if err := interleave(rows, run, netFullReps); err != nil {
		return "", err
	}
	var b strings.Builder
	for _, r := range rows {
		t, mib := r.median()
		fmt.Fprintf(&b, "| 3 | %s | %s | | %.1f MiB | %s |\n", r.name, fmtDur(t), mib, fmtDur(r.medianCPU()))
	}
	return b.String(), nil
}

// interleave runs each of run reps times, starting each repetition with a different one, after
// sync(2), and appends the usage to rows.
func interleave(rows []*netRow, run []func(int) (usage, error), reps int) error {
	for i := 0; i < reps; i++ {
		for j := range run {
			k := (i + j) % len(run)
			syscall.Sync()
			u, err := run[k](i)
			if err != nil {
				return fmt.Errorf("%s: %w", rows[k].name, err)
			}
			rows[k].runs = append(rows[k].runs, u)
			fmt.Printf("  %-45s %s  %.1f MiB  cpu %s\n", rows[k].name, fmtDur(u.wall), u.mib, fmtDur(u.cpu))
		}
	}
	return nil
}

// checkStored fails unless the account "keep" in dataDir holds n messages.
func checkStored(dataDir string, n int) error {
	got, err := os.ReadDir(filepath.Join(account.DataDir(dataDir, "keep"), "Maildir", "new"))
	if err != nil {
		return err
	}
	cur, _ := os.ReadDir(filepath.Join(account.DataDir(dataDir, "keep"), "Maildir", "cur"))
	if len(got)+len(cur) != n {
		return fmt.Errorf("poplar fetch stored %d of %d messages", len(got)+len(cur), n)
	}
	return nil
}

// fmtDur prints d in milliseconds below 10 s, else in seconds.
func fmtDur(d time.Duration) string {
	if d < 10*time.Second {
		return fmt.Sprintf("%.0f ms", float64(d)/1e6)
	}
	return fmt.Sprintf("%.2f s", d.Seconds())
}

// loadAvg is the 1-minute load average, from /proc/loadavg.
func loadAvg() string {
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	return strings.Fields(string(data))[0]
}

// machine names the CPU, its cores and the Go version.
func machine() string {
	return fmt.Sprintf("%s, %d cores, %s", cpuModel(), runtime.NumCPU(), runtime.Version())
}
