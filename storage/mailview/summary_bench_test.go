//go:build unix

package mailview

import (
	"bytes"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/poplar-mail/poplar/internal/mailgen"
)

// BenchmarkSummarize summarizes messages one after another, as a folder scan does: the first
// 1,000 messages of mailgen's Archive mix (the mailbox of the list step of make bench: a quarter
// HTML, 30 % with a 20-150 KB attachment, 10 % quoted-printable Latin-1), and every message of
// the shared corpus (skipped when it is missing). One op is one message; cpu-ns/op is the CPU
// time of the whole process (getrusage: user and system, garbage collection included) per
// message, which other work on the machine does not inflate the way it does ns/op.
func BenchmarkSummarize(b *testing.B) {
	b.Run("archive", func(b *testing.B) { benchSummarize(b, mailgen.Messages(1000, mailgen.Archive)) })
	b.Run("corpus", func(b *testing.B) {
		dir := filepath.Join("..", "..", "..", "shared", "corpus")
		files, _ := filepath.Glob(filepath.Join(dir, "*.eml"))
		if len(files) == 0 {
			b.Skipf("no corpus at %s", dir)
		}
		var msgs [][]byte
		for _, f := range files {
			raw, err := os.ReadFile(f)
			if err != nil {
				b.Fatal(err)
			}
			msgs = append(msgs, raw)
		}
		benchSummarize(b, msgs)
	})
}

func benchSummarize(b *testing.B, msgs [][]byte) {
	var total int64
	for _, m := range msgs {
		total += int64(len(m))
	}
	b.SetBytes(total / int64(len(msgs)))
	b.ReportAllocs()
	i := 0
	start := cpuTime()
	for b.Loop() {
		if _, err := Summarize(bytes.NewReader(msgs[i%len(msgs)])); err != nil {
			b.Fatal(err)
		}
		i++
	}
	b.ReportMetric(float64(cpuTime()-start)/float64(i), "cpu-ns/op")
}

// cpuTime is the user and system CPU time of this process so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
