//go:build unix

package storage

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/poplar-mail/poplar/internal/mailgen"
)

// BenchmarkFirstOpenArchive5k is the first open of a Maildir another program filled (mpop,
// getmail): Open and Summaries of an Inbox of 5,000 messages of mailgen's Archive mix (the
// mailbox of make bench's list step, about 58 KB a message, 290 MB) with no index, so that every
// message file is read for its summary, on every core. The files are written once and stay in the
// page cache. cpu-us/msg is the CPU time of the whole process (getrusage: user and system, every
// core, garbage collection included) per message: what bounds the rate on a busy machine, where
// msgs/s (wall clock) moves with the load.
func BenchmarkFirstOpenArchive5k(b *testing.B) {
	const n = 5000
	dir := b.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "Maildir", "cur"), 0o700); err != nil {
		b.Fatal(err)
	}
	if _, err := mailgen.WriteMaildir(dir, n, mailgen.Archive); err != nil {
		b.Fatal(err)
	}
	idx := filepath.Join(dir, "poplar", "index", "Inbox.idx")
	var cpu time.Duration
	for b.Loop() {
		b.StopTimer()
		os.Remove(idx)
		start := cpuTime()
		b.StartTimer()
		if got, err := firstOpen(dir); err != nil || got != n {
			b.Fatalf("%d summaries, %v", got, err)
		}
		cpu += cpuTime() - start
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
	b.ReportMetric(float64(cpu.Microseconds())/float64(n*b.N), "cpu-us/msg")
}

// firstOpen opens the store at dir and reads its Inbox's summaries, as `poplar list` does, and
// returns how many there are.
func firstOpen(dir string) (int, error) {
	s, err := Open(dir)
	if err != nil {
		return 0, err
	}
	defer s.Close()
	sums, err := s.Summaries(Inbox)
	return len(sums), err
}

// cpuTime is the user and system CPU time of this process so far, every thread.
func cpuTime() time.Duration {
	var ru unix.Rusage
	unix.Getrusage(unix.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
