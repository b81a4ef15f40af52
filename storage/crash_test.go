package storage

import (
	"bufio"
	"fmt"
	"io"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestMain runs a delivering child process when POPLAR_DELIVER_CHILD names a store folder, and
// one that deletes folder Work when POPLAR_DELETE_FOLDER_CHILD does.
func TestMain(m *testing.M) {
	if dir := os.Getenv("POPLAR_DELETE_FOLDER_CHILD"); dir != "" {
		s, err := Open(dir)
		if err != nil {
			os.Exit(3)
		}
		fmt.Println("ready")
		if _, err := s.DeleteFolder("Work"); err != nil {
			os.Exit(4)
		}
		os.Exit(0)
	}
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

// TestCrashDuringDeleteFolder kills a process deleting a folder tree at seeded random instants and
// checks that every message is either still in its folder or in the Trash, once, that the folder
// list still reads, and that deleting again and restoring finish the job.
func TestCrashDuringDeleteFolder(t *testing.T) {
	n := 8
	if os.Getenv("POPLAR_SOAK") != "" {
		n = 60
	}
	rng := rand.New(rand.NewSource(7))
	cut := map[bool]int{} // trials that stopped midway, and those that did not
	for trial := 0; trial < n; trial++ {
		dir := t.TempDir()
		s, err := Open(dir)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.CreateFolder("Work.Sub"); err != nil {
			t.Fatal(err)
		}
		want := map[string]bool{}
		for i := 0; i < 150; i++ {
			subj := fmt.Sprintf("m%d", i)
			p := filepath.Join(dir, "Maildir", ".Work", "cur", fmt.Sprintf("1700000000.M%dP1.host:2,S", i))
			if i%2 == 1 {
				p = filepath.Join(dir, "Maildir", ".Work.Sub", "new", fmt.Sprintf("1700000000.M%dP1.host", i))
			}
			if err := os.WriteFile(p, []byte(msg(subj, "x")), 0o600); err != nil {
				t.Fatal(err)
			}
			want[subj] = true
		}
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), "POPLAR_DELETE_FOLDER_CHILD="+dir)
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		if _, err := bufio.NewReader(out).ReadString('\n'); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Duration(rng.Int63n(int64(10 * time.Millisecond))))
		cmd.Process.Signal(syscall.SIGKILL)
		cmd.Wait()

		s, err = Open(dir)
		if err != nil {
			t.Fatalf("trial %d: Open after crash: %v", trial, err)
		}
		folders, err := s.Folders()
		if err != nil {
			t.Fatalf("trial %d: Folders after crash: %v", trial, err)
		}
		count := func(step string) map[string]string {
			where := map[string]string{}
			for _, fi := range folders {
				sums, err := s.Summaries(fi.Name)
				if err != nil {
					t.Fatalf("trial %d, %s: Summaries(%q) = %v", trial, step, fi.Name, err)
				}
				for _, m := range sums {
					if w, dup := where[m.Subject]; dup {
						t.Errorf("trial %d, %s: %s in %s and %s", trial, step, m.Subject, w, fi.Name)
					}
					where[m.Subject] = fi.Name
				}
			}
			for subj := range want {
				if where[subj] == "" {
					t.Errorf("trial %d, %s: %s lost", trial, step, subj)
				}
			}
			return where
		}
		where := count("after the crash")
		midway := len(folders) != 2 // Work is still listed
		for _, f := range where {
			midway = midway || f != Trash
		}
		cut[midway]++
		if midway {
			if _, err := s.DeleteFolder("Work"); err != nil {
				t.Fatalf("trial %d: DeleteFolder again: %v", trial, err)
			}
		}
		if folders, err = s.Folders(); err != nil || len(folders) != 2 {
			t.Fatalf("trial %d: Folders after the delete = %v, %v", trial, folders, err)
		}
		var keys []string
		for subj, f := range count("after deleting again") {
			if f != Trash {
				t.Errorf("trial %d: %s in %s after DeleteFolder", trial, subj, f)
			}
		}
		sums, _ := s.Summaries(Trash)
		for _, m := range sums {
			keys = append(keys, m.Key)
		}
		if err := s.Restore(keys); err != nil {
			t.Fatalf("trial %d: Restore: %v", trial, err)
		}
		if sums, _ := s.Summaries(Inbox); len(sums) != len(want) {
			t.Errorf("trial %d: %d messages restored to the Inbox, want %d", trial, len(sums), len(want))
		}
	}
	t.Logf("killed midway in %d trials, after the end in %d", cut[true], cut[false])
}
