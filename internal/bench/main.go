// Command bench is `make bench`: it generates a realistic mailbox, serves it from a private
// Dovecot over POP3S on 127.0.0.1, and times in one run Poplar's POP3 client (pipelined and one
// command at a time), Poplar's full fetch into a Maildir (download, re-check, download-and-delete),
// mpop doing the same, and a raw reader that measures what the server alone can deliver. It prints
// the table and writes it into docs/benchmarks.md.
package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"flag"
	"fmt"
	"io"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/poplar-mail/poplar/account"
	"github.com/poplar-mail/poplar/internal/dovecot"
	"github.com/poplar-mail/poplar/internal/mailgen"
	"github.com/poplar-mail/poplar/pop"
	"github.com/poplar-mail/poplar/storage"
)

func main() {
	if len(os.Args) > 2 && os.Args[1] == "-peak-rss" {
		os.Exit(peakRSSChild(os.Args[2:]))
	}
	if len(os.Args) == 4 && os.Args[1] == "-search-rss" {
		os.Exit(searchRSSChild(os.Args[2], os.Args[3]))
	}
	n := flag.Int("messages", 2000, "messages in the generated mailbox")
	reps := flag.Int("reps", 5, "repetitions of each measurement (the median is reported)")
	out := flag.String("out", "docs/benchmarks.md", "file whose POP3 section is replaced with the results ('' = print only)")
	quick := flag.Bool("quick", false, "200 messages (2,000 for search), 1 repetition")
	profile := flag.String("cpuprofile", "", "write a CPU profile of Poplar's full fetches (keep) to this file")
	only := flag.String("only", "", "run only the measurements whose name contains this text, print only; \"send\", \"list\" or \"search\": only that measurement (written to -out only when -out is given)")
	searchN := flag.Int("search-messages", 100_000, "messages in the mailbox of the search and conversation measurements")
	flag.Parse()
	if *quick {
		*n, *reps, *searchN = 200, 1, 2000
	}
	outGiven := false
	flag.Visit(func(f *flag.Flag) { outGiven = outGiven || f.Name == "out" })
	if step := map[string]func(string) error{"send": runSend, "list": alone(listStep),
		"search": func(out string) error { return runSearchBench(out, *searchN) }, "recheck": alone(netStep)}[*only]; step != nil {
		if !outGiven {
			*out = ""
		}
		if err := step(*out); err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			os.Exit(1)
		}
		return
	}
	if *only != "" {
		*out = ""
	}
	if err := run(*n, *reps, *out, *profile, *only, *searchN); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

type result struct {
	name  string
	times []time.Duration
}

func (r *result) median() time.Duration {
	t := append([]time.Duration(nil), r.times...)
	sort.Slice(t, func(i, j int) bool { return t[i] < t[j] })
	return t[len(t)/2]
}

func run(n, reps int, out, profile, only string, searchN int) error {
	msgs := mailgen.Messages(n, mailgen.Fetch)
	var total int64
	for _, m := range msgs {
		total += int64(len(m))
	}
	fmt.Printf("mailbox: %d messages, %.0f MB\n", n, float64(total)/1e6)
	// One user per measurement that deletes, so each starts from a full mailbox; the others share
	// "keep". Files are hard links of one set, so the disk holds the mailbox once.
	users := []dovecot.User{{Name: "keep", Password: "pw", Messages: msgs}}
	for i := 0; i < 2*reps; i++ {
		users = append(users, dovecot.User{Name: fmt.Sprintf("del%d", i), Password: "pw"})
	}
	// "big" holds a 50 MB message between two small ones, for the peak-memory measurement.
	users = append(users, dovecot.User{Name: "big", Password: "pw", Messages: [][]byte{msgs[0], bigMessage(50e6), msgs[1]}})
	srv, err := dovecot.Start(dovecot.Options{Users: users})
	if err != nil {
		return err
	}
	defer srv.Stop()
	keepNew := filepath.Join(srv.Maildir("keep"), "new")
	names, _ := os.ReadDir(keepNew)
	for i := 0; i < 2*reps; i++ {
		dst := filepath.Join(srv.Maildir(fmt.Sprintf("del%d", i)), "new")
		for _, de := range names {
			if err := os.Link(filepath.Join(keepNew, de.Name()), filepath.Join(dst, de.Name())); err != nil {
				return err
			}
		}
	}
	ctx := context.Background()
	// Let Dovecot build its indexes once, outside the timings.
	for _, u := range users {
		c, err := pop.Dial(ctx, srv.POP3SAddr, pop.Options{CAFile: srv.CAFile})
		if err != nil {
			return err
		}
		if err := c.Auth(ctx, pop.Credentials{Username: u.Name, Password: "pw"}); err != nil {
			return fmt.Errorf("warm-up login %s: %w\n%s", u.Name, err, srv.Log())
		}
		c.UIDL(ctx)
		c.Quit(ctx)
	}
	tmp, err := os.MkdirTemp("", "poplar-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)

	var results []*result
	// measure runs the tasks interleaved — each repetition runs every task once, starting with a
	// different one — so that drift in the machine's speed (this is often a shared VM) falls on
	// every program alike rather than on whichever ran last.
	type task struct {
		name string
		f    func(rep int) error
	}
	measure := func(tasks ...task) error {
		var run []task
		for _, t := range tasks {
			if only == "" || strings.Contains(t.name, only) {
				run = append(run, t)
			}
		}
		rs := make([]*result, len(run))
		for k, t := range run {
			rs[k] = &result{name: t.name}
		}
		for i := 0; i < reps; i++ {
			for j := range run {
				k := (i + j) % len(run)
				// Write back everything dirty first, so no run pays for an earlier one's data
				// (syncfs, which Poplar uses, would).
				syscall.Sync()
				start := time.Now()
				if err := run[k].f(i); err != nil {
					return fmt.Errorf("%s: %w", run[k].name, err)
				}
				rs[k].times = append(rs[k].times, time.Since(start))
			}
		}
		for _, r := range rs {
			results = append(results, r)
			var each []string
			for _, t := range r.times {
				each = append(each, fmt.Sprintf("%.2f", t.Seconds()))
			}
			fmt.Printf("%-52s %8.2f s   (runs: %s)\n", r.name, r.median().Seconds(), strings.Join(each, " "))
		}
		return nil
	}
	if err := measure(
		task{"server alone (raw pipelined reader, discard)", func(int) error { return rawRead(srv, n) }},
		task{"Poplar client, pipelined RETR (discard)", func(int) error { return clientRead(srv, n, 0) }},
		task{"Poplar client, one command at a time (discard)", func(int) error { return clientRead(srv, n, 1) }},
	); err != nil {
		return err
	}
	mpopOK := exec.Command("mpop", "--version").Run() == nil
	mpopRC := func(user, dir string, keep bool) (string, error) {
		if !mpopOK {
			return "", fmt.Errorf("mpop is not installed (apt-get install mpop)")
		}
		return mpopConfig(srv, tmp, user, dir, keep)
	}
	mpop := func(user, dir string, keep bool) error {
		rc, err := mpopRC(user, dir, keep)
		if err != nil {
			return err
		}
		if out, err := exec.Command("mpop", "-C", rc, "--quiet").CombinedOutput(); err != nil {
			return fmt.Errorf("mpop: %v: %s", err, out)
		}
		return nil
	}
	fresh := func(prefix string, i int) string {
		d := filepath.Join(tmp, fmt.Sprintf("%s%d", prefix, i))
		os.RemoveAll(d)
		return d
	}
	poplarFetch := func(user, dir string, leave bool) (account.Result, error) {
		s, err := storage.Open(dir)
		if err != nil {
			return account.Result{}, err
		}
		defer s.Close()
		return account.Fetch(ctx, benchAccount(srv, user, leave), s, account.FetchOptions{Secrets: account.StaticSecret("pw")})
	}
	if profile != "" {
		f, err := os.Create(profile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
	}
	if err := measure(
		task{"mpop, full download into a Maildir (keep)", func(i int) error { return mpop("keep", fresh("mpop-full", i), true) }},
		task{"Poplar fetch, full download into a Maildir (keep)", func(i int) error {
			res, err := poplarFetch("keep", fresh("poplar-full", i), true)
			if err == nil && res.New != n {
				err = fmt.Errorf("stored %d of %d", res.New, n)
			}
			return err
		}},
	); err != nil {
		return err
	}
	pprof.StopCPUProfile()
	if err := measure(
		task{"mpop, re-check with nothing new", func(i int) error { return mpop("keep", filepath.Join(tmp, "mpop-full0"), true) }},
		task{"Poplar fetch, re-check with nothing new", func(i int) error {
			res, err := poplarFetch("keep", filepath.Join(tmp, "poplar-full0"), true)
			if err == nil && res.New != 0 {
				err = fmt.Errorf("fetched %d again", res.New)
			}
			return err
		}},
	); err != nil {
		return err
	}
	if err := measure(
		task{"mpop, download and delete", func(i int) error { return mpop(fmt.Sprintf("del%d", i), fresh("mpop-del", i), false) }},
		task{"Poplar fetch, download and delete", func(i int) error {
			res, err := poplarFetch(fmt.Sprintf("del%d", reps+i), fresh("poplar-del", i), false)
			if err == nil && (res.New != n || res.DeletedOnServer != n) {
				err = fmt.Errorf("stored %d, deleted %d of %d", res.New, res.DeletedOnServer, n)
			}
			return err
		}},
	); err != nil {
		return err
	}
	if only != "" {
		return nil
	}
	mem, err := peakMemory(srv, tmp, mpopRC)
	if err != nil {
		return fmt.Errorf("peak memory: %w", err)
	}
	table := report(results, n, total, reps) + mem
	fmt.Println()
	fmt.Print(table)
	if out != "" {
		if err := replaceSection(out, "## POP3 download", table); err != nil {
			return err
		}
	}
	fmt.Println()
	if err := sendSection(tmp, out); err != nil {
		return err
	}
	if err := listStep(tmp, out); err != nil {
		return err
	}
	if err := netStep(tmp, out); err != nil {
		return fmt.Errorf("re-check and floor: %w", err)
	}
	return searchStep(tmp, out, searchN)
}

// runSend is `bench -only send`: the send measurement alone, in its own temporary folder.
func runSend(out string) error {
	tmp, err := os.MkdirTemp("", "poplar-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	return sendSection(tmp, out)
}

// sendSection runs the send measurement, prints its section and writes it into out (empty: print
// only). A skipped measurement leaves out as it is.
func sendSection(tmp, out string) error {
	section, err := sendMemory(tmp)
	if err != nil {
		return fmt.Errorf("send: %w", err)
	}
	if section == "" {
		return nil
	}
	fmt.Println()
	fmt.Print(section)
	if out != "" {
		return replaceSection(out, "## Sending", section)
	}
	return nil
}

// benchAccount is the account for a rig user (password "pw") over POP3S.
func benchAccount(srv *dovecot.Server, user string, leave bool) account.Account {
	host, port, _ := strings.Cut(srv.POP3SAddr, ":")
	a := account.New(user, host, user)
	a.Port, _ = strconv.Atoi(port)
	a.CAFile = srv.CAFile
	a.LeaveOnServer = leave
	return a
}

// bigMessage returns a message of about size bytes: a short text part and a base64 attachment.
func bigMessage(size int) []byte {
	var b bytes.Buffer
	b.WriteString("From: Big Sender <big@example.org>\nTo: me@example.org\nSubject: A 50 MB attachment\nDate: Mon, 2 Jan 2006 15:04:05 +0000\nMessage-ID: <big@example.org>\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=BB\n\n--BB\nContent-Type: text/plain\n\nThe video.\n--BB\nContent-Type: video/mp4\nContent-Transfer-Encoding: base64\nContent-Disposition: attachment; filename=video.mp4\n\n")
	rng := rand.New(rand.NewSource(50))
	raw := make([]byte, 57)
	line := make([]byte, 76)
	for b.Len() < size {
		rng.Read(raw)
		base64.StdEncoding.Encode(line, raw)
		b.Write(line)
		b.WriteByte('\n')
	}
	b.WriteString("--BB--\n")
	return b.Bytes()
}

// peakMemory builds the poplar binary, runs `poplar fetch` as a user would against the "big"
// mailbox (a 50 MB message among small ones), and reports its peak resident set size from the
// kernel's rusage, beside mpop's for the same mailbox.
func peakMemory(srv *dovecot.Server, tmp string, mpopRC func(user, dir string, keep bool) (string, error)) (string, error) {
	bin, err := buildPoplar(tmp)
	if err != nil {
		return "", err
	}
	cfgDir, dataDir := filepath.Join(tmp, "mem-config"), filepath.Join(tmp, "mem-data")
	cfg := &account.Config{Accounts: []account.Account{benchAccount(srv, "big", true)}}
	if err := cfg.Save(cfgDir); err != nil {
		return "", err
	}
	poplarRSS, err := measuredRun(strings.NewReader("pw\n"), bin, "--config-dir", cfgDir, "--data-dir", dataDir, "fetch", "--password-stdin", "big")
	if err != nil {
		return "", err
	}
	s, err := storage.Open(account.DataDir(dataDir, "big"))
	if err != nil {
		return "", err
	}
	sums, err := s.Summaries(storage.Inbox)
	s.Close()
	if err != nil {
		return "", err
	}
	var largest int64
	for _, m := range sums {
		largest = max(largest, m.Size)
	}
	if len(sums) != 3 || largest < 50e6 {
		return "", fmt.Errorf("poplar fetch stored %d messages, the largest %d bytes; want 3 and one of 50 MB", len(sums), largest)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "\n### Peak memory\n\n`poplar fetch` (the command-line binary, as a user runs it) downloading a mailbox of 3 messages, one of them %.0f MB; peak resident set size from the kernel (`getrusage`).\n\n| program | peak RSS | goal |\n|---|---:|---:|\n", float64(largest)/1e6)
	fmt.Fprintf(&b, "| poplar fetch | %.1f MiB | < 40 MiB |\n", poplarRSS)
	if rc, err := mpopRC("big", filepath.Join(tmp, "mem-mpop"), true); err == nil {
		rss, err := measuredRun(nil, "mpop", "-C", rc, "--quiet")
		if err != nil {
			return "", err
		}
		fmt.Fprintf(&b, "| mpop | %.1f MiB | |\n", rss)
	}
	fmt.Printf("peak RSS of poplar fetch with a 50 MB message: %.1f MiB\n", poplarRSS)
	return b.String(), nil
}

// measuredRun runs a program and returns its peak resident set size in MiB. Go starts children
// with vfork semantics, so Linux credits a child with its parent's high-water mark at exec; this
// benchmark holds the whole mailbox in memory, so the program is started by a small copy of this
// binary (bench -peak-rss PROG ARGS...), whose own memory is tiny, and which reports the figure.
func measuredRun(stdin io.Reader, prog string, args ...string) (float64, error) {
	m, err := measuredRunTimed(stdin, prog, args...)
	return m.mib, err
}

// usage is what measuredRunTimed reports of a program's run.
type usage struct {
	mib       float64       // peak resident set size
	wall, cpu time.Duration // from start to exit as the helper sees them; user + system time
}

// measuredRunTimed is measuredRun that also returns the program's wall and CPU time.
func measuredRunTimed(stdin io.Reader, prog string, args ...string) (usage, error) {
	self, err := os.Executable()
	if err != nil {
		return usage{}, err
	}
	cmd := exec.Command(self, append([]string{"-peak-rss", prog}, args...)...)
	cmd.Stdin = stdin
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		return usage{}, fmt.Errorf("%s: %v: %s", filepath.Base(prog), err, errOut.Bytes())
	}
	var kib, wall, cpu int64
	if _, err := fmt.Sscan(out.String(), &kib, &wall, &cpu); err != nil {
		return usage{}, fmt.Errorf("%s: no peak RSS reported: %q", filepath.Base(prog), out.String())
	}
	return usage{float64(kib) / 1024, time.Duration(wall), time.Duration(cpu)}, nil
}

// peakRSSChild is the helper process of measuredRun: it runs args, passing its output on to
// standard error, and prints the child's peak RSS in KiB, its wall time and its CPU time (user +
// system) in nanoseconds.
func peakRSSChild(args []string) int {
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stderr, os.Stderr
	start := time.Now()
	if err := cmd.Run(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	took := time.Since(start)
	ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	if !ok {
		fmt.Fprintln(os.Stderr, "no rusage on this system")
		return 1
	}
	fmt.Println(ru.Maxrss, took.Nanoseconds(), ru.Utime.Nano()+ru.Stime.Nano())
	return 0
}

func clientRead(srv *dovecot.Server, n, window int) error {
	ctx := context.Background()
	o := pop.Options{CAFile: srv.CAFile}
	if window == 1 {
		o.Window = 1
	}
	c, err := pop.Dial(ctx, srv.POP3SAddr, o)
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.Auth(ctx, pop.Credentials{Username: "keep", Password: "pw"}); err != nil {
		return err
	}
	reqs := make([]pop.Request, n)
	for i := range reqs {
		reqs[i] = pop.Request{Op: pop.OpRetr, ID: i + 1}
	}
	if err := c.Batch(ctx, reqs, func(i int, r io.Reader, err error) error {
		if err != nil {
			return err
		}
		_, err = io.Copy(io.Discard, r)
		return err
	}); err != nil {
		return err
	}
	return c.Quit(ctx)
}

// rawRead sends every RETR at once and counts terminator lines: the least work a client can do.
func rawRead(srv *dovecot.Server, n int) error {
	pem, err := os.ReadFile(srv.CAFile)
	if err != nil {
		return err
	}
	pool := newPool(pem)
	conn, err := tls.Dial("tcp", srv.POP3SAddr, &tls.Config{RootCAs: pool, ServerName: "127.0.0.1"})
	if err != nil {
		return err
	}
	defer conn.Close()
	br := bufio.NewReaderSize(conn, 256<<10)
	go func() {
		var b bytes.Buffer
		b.WriteString("USER keep\r\nPASS pw\r\n")
		for i := 1; i <= n; i++ {
			fmt.Fprintf(&b, "RETR %d\r\n", i)
		}
		b.WriteString("QUIT\r\n")
		conn.Write(b.Bytes())
	}()
	// Greeting, USER, PASS: three status lines; then n multi-line replies.
	for i := 0; i < 3; i++ {
		if _, err := br.ReadSlice('\n'); err != nil {
			return err
		}
	}
	for done := 0; done < n; {
		line, err := br.ReadSlice('\n')
		if err == bufio.ErrBufferFull {
			continue
		}
		if err != nil {
			return err
		}
		if len(line) == 3 && line[0] == '.' {
			done++
		}
	}
	return nil
}

// mpopConfig writes an mpop configuration that downloads user's mail into the Maildir dir, as
// fast as mpop can (pipelining), and returns its path.
func mpopConfig(srv *dovecot.Server, tmp, user, dir string, keep bool) (string, error) {
	for _, sub := range []string{"cur", "new", "tmp"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o700); err != nil {
			return "", err
		}
	}
	host, port, _ := strings.Cut(srv.POP3SAddr, ":")
	keepS := "off"
	if keep {
		keepS = "on"
	}
	rc := filepath.Join(tmp, "mpoprc-"+user)
	conf := fmt.Sprintf(`defaults
tls on
tls_starttls off
tls_trust_file %s
account default
host %s
port %s
user %s
auth user
password pw
pipelining on
keep %s
delivery maildir %s
uidls_file %s
`, srv.CAFile, host, port, user, keepS, dir, filepath.Join(dir, "uidls"))
	if err := os.WriteFile(rc, []byte(conf), 0o600); err != nil {
		return "", err
	}
	return rc, nil
}

func report(results []*result, n int, total int64, reps int) string {
	get := func(name string) time.Duration {
		for _, r := range results {
			if r.name == name {
				return r.median()
			}
		}
		return 0
	}
	host, _ := os.Hostname()
	kernel, _ := os.ReadFile("/proc/sys/kernel/osrelease")
	var b strings.Builder
	fmt.Fprintf(&b, "## POP3 download (make bench)\n\n")
	fmt.Fprintf(&b, "Measured %s on %s (%s, %d cores, Linux %s, %s): Dovecot POP3S on 127.0.0.1, a generated mailbox of %d messages (%.0f MB), median of %d interleaved runs, each after sync(2). Poplar fetches fsync every message and ledger record (group commit); mpop fsyncs each message.\n\n",
		time.Now().UTC().Format("2006-01-02"), host, cpuModel(), runtime.NumCPU(), strings.TrimSpace(string(kernel)), runtime.Version(), n, float64(total)/1e6, reps)
	b.WriteString("| measurement | time | vs mpop |\n|---|---:|---:|\n")
	pairs := map[string]string{
		"Poplar client, pipelined RETR (discard)":           "mpop, full download into a Maildir (keep)",
		"Poplar client, one command at a time (discard)":    "mpop, full download into a Maildir (keep)",
		"Poplar fetch, full download into a Maildir (keep)": "mpop, full download into a Maildir (keep)",
		"Poplar fetch, re-check with nothing new":           "mpop, re-check with nothing new",
		"Poplar fetch, download and delete":                 "mpop, download and delete",
	}
	for _, r := range results {
		ratio := ""
		if other, ok := pairs[r.name]; ok && get(other) > 0 {
			ratio = fmt.Sprintf("%.2f×", r.median().Seconds()/get(other).Seconds())
		}
		fmt.Fprintf(&b, "| %s | %.2f s | %s |\n", r.name, r.median().Seconds(), ratio)
	}
	if s := get("server alone (raw pipelined reader, discard)"); s > 0 {
		fmt.Fprintf(&b, "\nPoplar's full fetch takes %.2f× the time the server alone needs to deliver the mailbox.\n",
			get("Poplar fetch, full download into a Maildir (keep)").Seconds()/s.Seconds())
	}
	return b.String()
}

func cpuModel() string {
	data, _ := os.ReadFile("/proc/cpuinfo")
	for _, l := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(l, "model name") {
			if _, v, ok := strings.Cut(l, ":"); ok {
				return strings.TrimSpace(v)
			}
		}
	}
	return "unknown CPU"
}

// replaceSection replaces the section starting with heading (up to the next "## ") in path.
func replaceSection(path, heading, section string) error {
	data, err := os.ReadFile(path)
	if err != nil && !os.IsNotExist(err) {
		return err
	}
	doc := string(data)
	if doc == "" {
		doc = "# Benchmarks\n\n"
	}
	i := strings.Index(doc, heading)
	if i < 0 {
		doc = strings.TrimRight(doc, "\n") + "\n\n" + section
	} else {
		rest := doc[i+len(heading):]
		j := strings.Index(rest, "\n## ")
		if j < 0 {
			doc = doc[:i] + section
		} else {
			doc = doc[:i] + section + "\n" + rest[j+1:]
		}
	}
	return os.WriteFile(path, []byte(doc), 0o644)
}

func newPool(pem []byte) *x509.CertPool {
	p := x509.NewCertPool()
	p.AppendCertsFromPEM(pem)
	return p
}
