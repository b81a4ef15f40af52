package main

import (
	"crypto/rand"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"time"

	"github.com/poplar-mail/poplar/internal/dovecot"
	"github.com/poplar-mail/poplar/internal/postfix"
)

// sendAttachMB is the size of the attachment of the send measurement, in MB.
const sendAttachMB = 25

// sendReps is how many times the send measurement runs.
const sendReps = 3

// buildPoplar builds the poplar binary into tmp once and returns its path.
func buildPoplar(tmp string) (string, error) {
	bin := filepath.Join(tmp, "poplar")
	if _, err := os.Stat(bin); err == nil {
		return bin, nil
	}
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build: %v: %s", err, out)
	}
	return bin, nil
}

// sendMemory measures `poplar send` (the command-line binary, as a user runs it) with a 25 MB
// attachment through a private Postfix (submission with implicit TLS, AUTH through a private
// Dovecot): peak RSS from the kernel and wall time, sendReps runs, each confirmed delivered into
// the recipient's Maildir. It returns the docs section, or "" with a message on standard error
// when the rigs or the keyring cannot run here.
func sendMemory(tmp string) (string, error) {
	skip := func(why error) (string, error) {
		fmt.Fprintf(os.Stderr, "bench: skipping the send measurement: %v\n", why)
		return "", nil
	}
	if err := dovecot.Available(); err != nil {
		return skip(err)
	}
	if err := postfix.Available(); err != nil {
		return skip(err)
	}
	bin, err := buildPoplar(tmp)
	if err != nil {
		return "", err
	}
	dv, err := dovecot.Start(dovecot.Options{Users: []dovecot.User{
		{Name: "sender", Password: "sender pw"}, {Name: "rcpt", Password: "rcpt pw"}}})
	if err != nil {
		return "", err
	}
	defer dv.Stop()
	// The message is the attachment in base64 (4/3 of it) and a little more: Postfix's default
	// limit of 10 MB would refuse it.
	pf, err := postfix.Start(dv, postfix.Options{MessageSizeLimit: 100 << 20})
	if err != nil {
		return "", err
	}
	defer pf.Close()

	dir := filepath.Join(tmp, "send")
	cfgDir, dataDir := filepath.Join(dir, "config"), filepath.Join(dir, "data")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", err
	}
	att, body := filepath.Join(dir, "video.bin"), filepath.Join(dir, "body.txt")
	if err := writeRandomFile(att, sendAttachMB*1e6); err != nil {
		return "", err
	}
	if err := os.WriteFile(body, []byte("The video from Sunday, as promised.\n"), 0o600); err != nil {
		return "", err
	}
	const name = "bench-send"
	popHost, popPort, _ := net.SplitHostPort(dv.POP3SAddr)
	smtpHost, smtpPort, _ := net.SplitHostPort(pf.SubmissionTLSAddr)
	poplar := func(stdin string, args ...string) ([]byte, error) {
		cmd := exec.Command(bin, append([]string{"--config-dir", cfgDir, "--data-dir", dataDir}, args...)...)
		cmd.Stdin = strings.NewReader(stdin)
		return cmd.CombinedOutput()
	}
	if out, err := poplar("sender pw\n", "account", "add", name, "--host", popHost, "--port", popPort, "--user", "sender",
		"--email", pf.Address("sender"), "--ca-file", dv.CAFile, "--smtp-host", smtpHost, "--smtp-port", smtpPort,
		"--smtp-security", "tls", "--password-stdin"); err != nil {
		// Without a Secret Service (outside .ci/session) the password cannot be stored, and
		// `poplar send` has no --password-stdin.
		return skip(fmt.Errorf("poplar account add: %v: %s (run the bench inside .ci/session for a keyring)", err, out))
	}
	defer poplar("", "account", "remove", name)

	var rss []float64
	var times, cpus []time.Duration
	var delivered int64
	for i := 0; i < sendReps; i++ {
		u, err := measuredRunTimed(nil, bin, "--config-dir", cfgDir, "--data-dir", dataDir, "send", "--account", name,
			"--to", pf.Address("rcpt"), "--subject", fmt.Sprintf("Benchmark send %d", i+1), "--attach", att, "--body-file", body)
		if err != nil {
			return "", fmt.Errorf("poplar send: %w\n%s", err, pf.Log())
		}
		if err := pf.WaitDelivered("rcpt", i+1, 60*time.Second); err != nil {
			return "", err
		}
		size, err := smallestMessage(dv.Maildir("rcpt"))
		if err != nil {
			return "", err
		}
		if size < sendAttachMB*1_000_000*4/3 {
			return "", fmt.Errorf("the delivered message has %d bytes; a %d MB attachment in base64 takes more", size, sendAttachMB)
		}
		delivered = size
		rss, times, cpus = append(rss, u.mib), append(times, u.wall), append(cpus, u.cpu)
		fmt.Printf("%-52s %8.2f s   %6.1f MiB peak RSS, %.2f s CPU\n", fmt.Sprintf("poplar send, %d MB attachment (run %d)", sendAttachMB, i+1), u.wall.Seconds(), u.mib, u.cpu.Seconds())
	}
	sort.Float64s(rss)
	sort.Slice(times, func(i, j int) bool { return times[i] < times[j] })
	sort.Slice(cpus, func(i, j int) bool { return cpus[i] < cpus[j] })
	var each []string
	for _, r := range rss {
		each = append(each, fmt.Sprintf("%.1f", r))
	}
	fmt.Printf("%-52s %8.2f s   (median; max %.2f s)\n", fmt.Sprintf("poplar send, %d MB attachment", sendAttachMB), times[len(times)/2].Seconds(), times[len(times)-1].Seconds())
	fmt.Printf("peak RSS of poplar send with a %d MB attachment: median %.1f MiB, max %.1f MiB (goal < 60 MiB)\n", sendAttachMB, rss[len(rss)/2], rss[len(rss)-1])

	host, _ := os.Hostname()
	kernel, _ := os.ReadFile("/proc/sys/kernel/osrelease")
	var b strings.Builder
	fmt.Fprintf(&b, "## Sending (make bench)\n\n")
	fmt.Fprintf(&b, "Measured %s on %s (%s, %d cores, Linux %s, %s): `poplar send` (the command-line binary, as a user runs it) with a %d MB attachment of random bytes and a one-line body, through a private Postfix on 127.0.0.1 (submission with implicit TLS, AUTH through Dovecot), %d runs, each confirmed delivered (a %.1f MB message in the recipient's Maildir). Peak resident set size from the kernel (`getrusage`); the time is the whole command: reading the file, encoding it, storing the message in the Outbox, sending it, moving it to Sent. Only this step: `.ci/session go run ./internal/bench -only send` (it needs root for Postfix and a keyring for the password).\n\n",
		time.Now().UTC().Format("2006-01-02"), host, cpuModel(), runtime.NumCPU(), strings.TrimSpace(string(kernel)), runtime.Version(), sendAttachMB, sendReps, float64(delivered)/1e6)
	b.WriteString("| measurement | median | max | runs | goal |\n|---|---:|---:|---|---:|\n")
	fmt.Fprintf(&b, "| poplar send, %d MB attachment: peak RSS | %.1f MiB | %.1f MiB | %s | < 60 MiB |\n", sendAttachMB, rss[len(rss)/2], rss[len(rss)-1], strings.Join(each, ", "))
	var eachT []string
	for _, t := range times {
		eachT = append(eachT, fmt.Sprintf("%.2f", t.Seconds()))
	}
	fmt.Fprintf(&b, "| poplar send, %d MB attachment: time | %.2f s | %.2f s | %s | |\n", sendAttachMB, times[len(times)/2].Seconds(), times[len(times)-1].Seconds(), strings.Join(eachT, ", "))
	var eachC []string
	for _, t := range cpus {
		eachC = append(eachC, fmt.Sprintf("%.2f", t.Seconds()))
	}
	fmt.Fprintf(&b, "| poplar send, %d MB attachment: CPU time of poplar (user + system) | %.2f s | %.2f s | %s | |\n", sendAttachMB, cpus[len(cpus)/2].Seconds(), cpus[len(cpus)-1].Seconds(), strings.Join(eachC, ", "))
	return b.String(), nil
}

// writeRandomFile writes size random bytes to path, 1 MB at a time.
func writeRandomFile(path string, size int64) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	buf := make([]byte, 1<<20)
	for left := size; left > 0; {
		n := min(left, int64(len(buf)))
		rand.Read(buf[:n])
		if _, err := f.Write(buf[:n]); err != nil {
			f.Close()
			return err
		}
		left -= n
	}
	return f.Close()
}

// smallestMessage returns the size of the smallest message in a Maildir's new/ and cur/.
func smallestMessage(maildir string) (int64, error) {
	smallest := int64(-1)
	for _, sub := range []string{"new", "cur"} {
		des, err := os.ReadDir(filepath.Join(maildir, sub))
		if err != nil && !os.IsNotExist(err) {
			return 0, err
		}
		for _, de := range des {
			if fi, err := de.Info(); err == nil {
				if smallest < 0 || fi.Size() < smallest {
					smallest = fi.Size()
				}
			}
		}
	}
	return smallest, nil
}
