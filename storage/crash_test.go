package storage

import (
	"fmt"
	"io"
	"math/rand"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestMain runs a delivering child process when POPLAR_DELIVER_CHILD names a store folder.
func TestMain(m *testing.M) {
	if dir := os.Getenv("POPLAR_DELIVER_CHILD"); dir != "" {
		s, err := Open(dir)
		if err != nil {
			os.Exit(3)
		}
		for i := 0; ; i++ {
			b := s.NewBatch()
			for j := 0; j < 1+i%5; j++ {
				n := i*10 + j
				body := strings.Repeat(fmt.Sprintf("filler %d\n", n), 100+n%700)
				if _, err := b.Deliver(strings.NewReader(msg(fmt.Sprintf("m%d", n), body+"END-OF-MESSAGE\n")), DeliverInfo{UIDL: fmt.Sprintf("uid-%d", n)}); err != nil {
					os.Exit(4)
				}
			}
			if _, err := b.Commit(); err != nil {
				os.Exit(5)
			}
		}
	}
	os.Exit(m.Run())
}

// TestCrashDuringDelivery kills a delivering process at seeded random instants and checks that
// the store holds only complete messages and that the ledger and the Maildir agree.
func TestCrashDuringDelivery(t *testing.T) {
	n := 10
	if os.Getenv("POPLAR_SOAK") != "" {
		n = 50
	}
	rng := rand.New(rand.NewSource(99))
	for trial := 0; trial < n; trial++ {
		dir := t.TempDir()
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), "POPLAR_DELIVER_CHILD="+dir)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(20*time.Millisecond + time.Duration(rng.Int63n(int64(300*time.Millisecond))))
		cmd.Process.Signal(syscall.SIGKILL)
		cmd.Wait()
		s, err := Open(dir)
		if err != nil {
			t.Fatalf("trial %d: Open after crash: %v", trial, err)
		}
		sums, err := s.Summaries(Inbox)
		if err != nil {
			t.Fatal(err)
		}
		ledger, err := s.Ledger()
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range sums {
			rc, err := s.OpenMessage(Inbox, m.Key)
			if err != nil {
				t.Fatal(err)
			}
			data, _ := io.ReadAll(rc)
			rc.Close()
			if !strings.HasSuffix(string(data), "END-OF-MESSAGE\n\n") {
				t.Errorf("trial %d: incomplete message %s (%d bytes)", trial, m.Key, len(data))
			}
			if e, ok := ledger[m.UIDL]; !ok || e.Key != m.Key {
				t.Errorf("trial %d: message %s (%s) not in the ledger", trial, m.Key, m.UIDL)
			}
		}
		if len(ledger) != len(sums) {
			t.Errorf("trial %d: ledger has %d entries, Maildir %d messages", trial, len(ledger), len(sums))
		}
	}
}
