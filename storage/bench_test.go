package storage

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// benchStore writes n messages straight into new/ (as another program would) and returns the
// account folder. Folders are cached per size across benchmarks of one run.
var benchDirs = map[int]string{}

// threadedBench, when a benchmark sets it, makes benchStore write replies: every message but the
// first of each ten answers the one before it, with In-Reply-To and a References chain of up to
// ten identifiers (the conversation's root first), as mail clients write them.
var threadedBench = false

func benchStore(b *testing.B, n int) string {
	cache := n
	if threadedBench {
		cache = -n
	}
	if d, ok := benchDirs[cache]; ok {
		return d
	}
	dir, err := os.MkdirTemp("", "poplar-index-bench-")
	if err != nil {
		b.Fatal(err)
	}
	s, err := Open(dir)
	if err != nil {
		b.Fatal(err)
	}
	newDir := filepath.Join(s.Dir(), "Maildir", "new")
	for i := 0; i < n; i++ {
		var thread string
		if threadedBench && i%10 > 0 {
			var refs strings.Builder
			for j := i - i%10; j < i; j++ {
				fmt.Fprintf(&refs, " <%d@example.org>", j)
			}
			thread = fmt.Sprintf("In-Reply-To: <%d@example.org>\nReferences:%s\n", i-1, refs.String())
		}
		m := fmt.Sprintf("X-Poplar-UIDL: u%d\nFrom: Sender %d <s%d@example.org>\nTo: me@example.org\nSubject: Message %d about =?utf-8?q?gr=C3=BC=C3=9Fe?=\nDate: Mon, 2 Jan 2006 15:04:%02d +0000\nMessage-ID: <%d@example.org>\n%sContent-Type: text/plain; charset=utf-8\n\n%s",
			i, i%500, i%500, i, i%60, i, thread, bodyText(i))
		if err := os.WriteFile(filepath.Join(newDir, fmt.Sprintf("%d.M%dP1.bench", 1700000000+i, i)), []byte(m), 0o600); err != nil {
			b.Fatal(err)
		}
	}
	benchDirs[cache] = dir
	return dir
}

func bodyText(i int) string {
	s := fmt.Sprintf("Hello, this is message %d. ", i)
	for len(s) < 1500 {
		s += "Poplar keeps mail at home, readable offline. "
	}
	return s + "\n"
}

func benchIndex(b *testing.B, n int, cold bool) {
	dir := benchStore(b, n)
	if s, err := Open(dir); err == nil { // make sure a warm index exists
		s.Summaries(Inbox)
		s.Close()
	}
	b.ResetTimer()
	for b.Loop() {
		if cold {
			b.StopTimer()
			os.Remove(filepath.Join(dir, "poplar", "index", "Inbox.idx"))
			b.StartTimer()
		}
		s, err := Open(dir)
		if err != nil {
			b.Fatal(err)
		}
		sums, err := s.Summaries(Inbox)
		if err != nil || len(sums) != n {
			b.Fatalf("%d summaries, %v", len(sums), err)
		}
		if cold {
			b.StopTimer()
			s.Close()
			b.StartTimer()
		}
	}
	if cold {
		b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
	} else if fi, err := os.Stat(filepath.Join(dir, "poplar", "index", "Inbox.idx")); err == nil {
		b.ReportMetric(float64(fi.Size())/float64(n), "index-B/msg")
	}
}

func BenchmarkIndexWarmOpen10k(b *testing.B)  { benchIndex(b, 10000, false) }
func BenchmarkIndexWarmOpen100k(b *testing.B) { benchIndex(b, 100000, false) }

// BenchmarkIndexWarmOpenThreaded100k is BenchmarkIndexWarmOpen100k with nine messages of each ten
// replies carrying In-Reply-To and References (1 to 9 identifiers).
func BenchmarkIndexWarmOpenThreaded100k(b *testing.B) {
	threadedBench = true
	defer func() { threadedBench = false }()
	benchIndex(b, 100000, false)
}
func BenchmarkIndexColdRebuild10k(b *testing.B) {
	benchIndex(b, 10000, true)
}
func BenchmarkIndexColdRebuild100k(b *testing.B) {
	benchIndex(b, 100000, true)
}

// BenchmarkNewest100k is what `poplar list --limit 20` asks of the store on a 100k-message Inbox
// whose index is in step: Open, the 20 newest summaries, Close. It reports the bytes allocated
// per run (-benchmem), which bound what the command adds to the process's resident set.
func BenchmarkNewest100k(b *testing.B) {
	dir := benchStore(b, 100000)
	if s, err := Open(dir); err == nil { // make sure a warm index exists
		s.Summaries(Inbox)
		s.Close()
	}
	for b.Loop() {
		s, err := Open(dir)
		if err != nil {
			b.Fatal(err)
		}
		sums, err := s.Newest(Inbox, 20)
		if err != nil || len(sums) != 20 {
			b.Fatalf("%d summaries, %v", len(sums), err)
		}
		s.Close()
	}
}

// BenchmarkIndexMemory100k reports the heap held by an open store with 100k summaries loaded.
func BenchmarkIndexMemory100k(b *testing.B) {
	dir := benchStore(b, 100000)
	if s, err := Open(dir); err == nil {
		s.Summaries(Inbox)
		s.Close()
	}
	var held float64
	for b.Loop() {
		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		s, _ := Open(dir)
		s.Summaries(Inbox)
		runtime.GC()
		runtime.ReadMemStats(&after)
		held = float64(after.HeapAlloc-before.HeapAlloc) / (1 << 20)
		runtime.KeepAlive(s)
	}
	b.ReportMetric(held, "MB-held")
}

// BenchmarkDeliver streams a 1 MB message (a 2 KB header) into tmp/ through Deliver, as a fetch
// does; the batch is aborted so the disk does not fill. The header filter touches only the header.
func BenchmarkDeliver(b *testing.B) {
	s, err := Open(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	var m strings.Builder
	for m.Len() < 2<<10 {
		m.WriteString("Received: from relay.example.org by mx.example.org; Mon, 2 Jan 2006 15:04:05 -0700\n")
	}
	m.WriteString("X-Poplar-UIDL: forged\n\n")
	for m.Len() < 1<<20 {
		m.WriteString(bodyText(m.Len()))
	}
	data := m.String()
	b.SetBytes(int64(len(data)))
	batch := s.NewBatch()
	for b.Loop() {
		if _, err := batch.Deliver(strings.NewReader(data), DeliverInfo{UIDL: "u"}); err != nil {
			b.Fatal(err)
		}
		batch.Abort()
		batch = s.NewBatch()
	}
}
