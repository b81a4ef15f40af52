package account

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/poplar-mail/poplar/internal/dovecot"
	"github.com/poplar-mail/poplar/storage"
)

// trials is how many seeded fault-injection trials each test runs: a few in `make test`, the
// full 50 in `make soak` (POPLAR_SOAK=1).
func trials() int {
	if os.Getenv("POPLAR_SOAK") != "" {
		return 50
	}
	return 8
}

// cutProxy forwards connections to target and cuts each after limit bytes from the server.
type cutProxy struct {
	l      net.Listener
	target string
	limit  int64
}

func startCutProxy(t *testing.T, target string, limit int64) *cutProxy {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &cutProxy{l: l, target: target, limit: limit}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go p.serve(c)
		}
	}()
	return p
}

func (p *cutProxy) serve(c net.Conn) {
	defer c.Close()
	s, err := net.Dial("tcp", p.target)
	if err != nil {
		return
	}
	defer s.Close()
	go io.Copy(s, c)
	io.Copy(c, io.LimitReader(s, p.limit))
}

// verifyTrial checks that, after a clean fetch, every original message is stored exactly once and
// byte for byte, and (in delete mode) the server holds none.
func verifyTrial(t *testing.T, trial string, s *storage.Store, msgs [][]byte, srv *dovecot.Server, user string, deleteMode bool) {
	t.Helper()
	want := map[string][]byte{}
	idRE := regexp.MustCompile(`(?m)^Message-ID: (<[^>]+>)`)
	for _, m := range msgs {
		want[string(idRE.FindSubmatch(m)[1])] = m
	}
	seen := map[string]int{}
	sums, err := s.Summaries(storage.Inbox)
	if err != nil {
		t.Fatalf("%s: %v", trial, err)
	}
	for _, m := range sums {
		id := "<" + m.MessageID + ">"
		seen[id]++
		rc, err := s.OpenMessage(storage.Inbox, m.Key)
		if err != nil {
			t.Fatalf("%s: %v", trial, err)
		}
		data, _ := io.ReadAll(rc)
		rc.Close()
		if i := bytes.Index(data, []byte("\n")); i >= 0 && bytes.HasPrefix(data, []byte("X-Poplar-UIDL:")) {
			data = data[i+1:]
		}
		if !bytes.Equal(data, want[id]) {
			t.Errorf("%s: message %s stored with %d bytes, want %d", trial, id, len(data), len(want[id]))
		}
	}
	for id := range want {
		if seen[id] != 1 {
			t.Errorf("%s: message %s stored %d times", trial, id, seen[id])
		}
	}
	if len(sums) != len(msgs) {
		t.Errorf("%s: %d messages stored, want %d", trial, len(sums), len(msgs))
	}
	l, _ := s.Ledger()
	if len(l) != len(msgs) {
		t.Errorf("%s: ledger has %d entries, want %d", trial, len(l), len(msgs))
	}
	if deleteMode {
		if n, _ := srv.Count(user); n != 0 {
			t.Errorf("%s: %d messages left on the server in delete mode", trial, n)
		}
	}
}

// faultRig starts Dovecot with one user per trial, each holding the same messages.
func faultRig(t *testing.T, n int, msgs [][]byte) *dovecot.Server {
	users := make([]dovecot.User, n)
	for i := range users {
		users[i] = dovecot.User{Name: fmt.Sprintf("t%d", i), Password: "pw", Messages: msgs}
	}
	return dovecot.StartT(t, dovecot.Options{Users: users})
}

func trialAccount(srv *dovecot.Server, addr, user string, leave bool) Account {
	host, port, _ := strings.Cut(addr, ":")
	a := New(user, host, user)
	fmt.Sscan(port, &a.Port)
	a.CAFile = srv.CAFile
	a.LeaveOnServer = leave
	return a
}

// TestCutConnections cuts the server's stream at seeded random byte offsets, then checks that a
// clean fetch finishes the job with nothing lost and nothing duplicated.
func TestCutConnections(t *testing.T) {
	msgs := testMail(20, 11)
	var total int64
	for _, m := range msgs {
		total += int64(len(m))
	}
	n := trials()
	srv := faultRig(t, n, msgs)
	rng := rand.New(rand.NewSource(42))
	failures := 0
	for i := 0; i < n; i++ {
		user := fmt.Sprintf("t%d", i)
		deleteMode := i%2 == 0
		limit := rng.Int63n(total + total/10)
		proxy := startCutProxy(t, srv.POP3SAddr, limit)
		s := openTestStore(t)
		a := trialAccount(srv, proxy.l.Addr().String(), user, !deleteMode)
		sec := MemSecrets{user: "pw"}
		if _, err := Fetch(context.Background(), a, s, FetchOptions{Secrets: sec, MaxRetries: -1, Timeout: 5 * time.Second}); err != nil {
			failures++
		}
		clean := trialAccount(srv, srv.POP3SAddr, user, !deleteMode)
		if _, err := Fetch(context.Background(), clean, s, FetchOptions{Secrets: sec}); err != nil {
			t.Fatalf("trial %d (cut at %d): clean fetch: %v", i, limit, err)
		}
		verifyTrial(t, fmt.Sprintf("trial %d (cut at byte %d, delete=%v)", i, limit, deleteMode), s, msgs, srv, user, deleteMode)
	}
	t.Logf("%d trials, %d cut fetches failed as expected, all recovered", n, failures)
}

// childEnv carries the fetch a child process runs (see TestMain).
type childSpec struct {
	Dir     string
	Account Account
	// FileSizeLimit, when set, is the child's RLIMIT_FSIZE: writing past it fails (EFBIG) the way
	// writing to a full disk fails (ENOSPC), in the middle of a message.
	FileSizeLimit uint64
}

// TestMain runs a fetch in a child process when POPLAR_FETCH_CHILD is set, for the kill -9 trials.
func TestMain(m *testing.M) {
	if spec := os.Getenv("POPLAR_FETCH_CHILD"); spec != "" {
		var c childSpec
		if err := json.Unmarshal([]byte(spec), &c); err != nil {
			os.Exit(3)
		}
		s, err := storage.Open(c.Dir)
		if err != nil {
			os.Exit(4)
		}
		if c.FileSizeLimit > 0 {
			signal.Ignore(syscall.SIGXFSZ) // a failed write, not a killed process
			lim := syscall.Rlimit{Cur: c.FileSizeLimit, Max: c.FileSizeLimit}
			if err := syscall.Setrlimit(syscall.RLIMIT_FSIZE, &lim); err != nil {
				os.Exit(5)
			}
		}
		res, err := Fetch(context.Background(), c.Account, s, FetchOptions{Secrets: StaticSecret("pw"), CommitEvery: 3})
		if err != nil {
			what, remedy := Explain(err, c.Account.Name)
			fmt.Fprintf(os.Stderr, "%v\nretries=%d\n%s — %s\n", err, res.Retries, what, remedy)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// fetchChild returns the command that runs this test binary as a fetching child (see TestMain).
func fetchChild(spec childSpec) *exec.Cmd {
	data, _ := json.Marshal(spec)
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "POPLAR_FETCH_CHILD="+string(data))
	return cmd
}

// TestKill9 kills a fetching process at seeded random instants, in keep and delete mode, then
// checks that a clean fetch leaves exactly one copy of every message.
func TestKill9(t *testing.T) {
	msgs := testMail(20, 12)
	n := trials()
	srv := faultRig(t, 2*n, msgs)
	rng := rand.New(rand.NewSource(7))
	var mu sync.Mutex
	killed := 0
	for i := 0; i < 2*n; i++ {
		user := fmt.Sprintf("t%d", i)
		deleteMode := i >= n
		dir := t.TempDir()
		a := trialAccount(srv, srv.POP3SAddr, user, !deleteMode)
		cmd := fetchChild(childSpec{Dir: dir, Account: a})
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Duration(rng.Int63n(int64(150 * time.Millisecond))))
		cmd.Process.Signal(syscall.SIGKILL)
		if err := cmd.Wait(); err != nil {
			mu.Lock()
			killed++
			mu.Unlock()
		}
		s, err := storage.Open(dir)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := Fetch(context.Background(), a, s, FetchOptions{Secrets: StaticSecret("pw")}); err != nil {
			t.Fatalf("trial %d: clean fetch after kill: %v", i, err)
		}
		verifyTrial(t, fmt.Sprintf("kill trial %d (delete=%v)", i, deleteMode), s, msgs, srv, user, deleteMode)
	}
	t.Logf("%d trials, %d children killed mid-run, all recovered", 2*n, killed)
}

// TestStorageFull runs a fetch in a child process that cannot write files past 100 KB, so storing
// the first large message fails mid-write as on a full disk. The fetch must fail with an error
// that says so, leave no partial file, delete nothing on the server that is not stored, and the
// next fetch (with room again) must finish the job: every message once, in keep and delete mode.
func TestStorageFull(t *testing.T) {
	msgs := testMail(20, 13) // messages 3, 10 and 17 are over 200 KB, the others under 10 KB
	srv := faultRig(t, 2, msgs)
	for i, deleteMode := range []bool{false, true} {
		user := fmt.Sprintf("t%d", i)
		dir := t.TempDir()
		a := trialAccount(srv, srv.POP3SAddr, user, !deleteMode)
		cmd := fetchChild(childSpec{Dir: dir, Account: a, FileSizeLimit: 100 << 10})
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		err := cmd.Run()
		if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 {
			t.Fatalf("delete=%v: fetch onto a full disk: %v, want exit 1\n%s", deleteMode, err, stderr.Bytes())
		}
		for _, want := range []string{"storing mail", "file too large", "retries=0", "No room left on the disk to store mail for " + user} {
			if !strings.Contains(stderr.String(), want) {
				t.Errorf("delete=%v: the child's report lacks %q (a storage failure must be named, explained and not retried):\n%s", deleteMode, want, stderr.Bytes())
			}
		}
		s, err := storage.Open(dir)
		if err != nil {
			t.Fatal(err)
		}
		if left, _ := os.ReadDir(filepath.Join(dir, "Maildir", "tmp")); len(left) != 0 {
			t.Errorf("delete=%v: %d files left in tmp/", deleteMode, len(left))
		}
		sums, err := s.Summaries(storage.Inbox)
		if err != nil {
			t.Fatal(err)
		}
		if len(sums) != 3 {
			t.Errorf("delete=%v: %d messages stored before the large one, want 3", deleteMode, len(sums))
		}
		if n, _ := srv.Count(user); n < len(msgs)-len(sums) {
			t.Errorf("delete=%v: the server holds %d messages, but only %d of %d are stored here", deleteMode, n, len(sums), len(msgs))
		}
		// Room again: a clean fetch finishes the job.
		if _, err := Fetch(context.Background(), a, s, FetchOptions{Secrets: StaticSecret("pw")}); err != nil {
			t.Fatalf("delete=%v: fetch after the disk was freed: %v", deleteMode, err)
		}
		verifyTrial(t, fmt.Sprintf("full disk (delete=%v)", deleteMode), s, msgs, srv, user, deleteMode)
		s.Close()
	}
}
