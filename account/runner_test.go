package account

import (
	"context"
	"errors"
	"fmt"
	"net"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/poplar-mail/poplar/pop"
	"github.com/poplar-mail/poplar/pop/popserver"
	"github.com/poplar-mail/poplar/storage"
)

// patience bounds every wait for something that must happen; quiet is how long a test watches for
// something that must not. Neither measures speed.
const (
	patience = 10 * time.Second
	quiet    = 200 * time.Millisecond
)

// feed collects what goroutines report, for a test to read in order.
type feed[T any] struct {
	mu    sync.Mutex
	items []T
	read  int
	more  chan struct{}
}

func newFeed[T any]() *feed[T] { return &feed[T]{more: make(chan struct{}, 1)} }

func (f *feed[T]) add(x T) {
	f.mu.Lock()
	f.items = append(f.items, x)
	f.mu.Unlock()
	select {
	case f.more <- struct{}{}:
	default:
	}
}

// next returns the next item, failing the test when none comes within patience.
func (f *feed[T]) next(t *testing.T, what string) T {
	t.Helper()
	deadline := time.After(patience)
	for {
		f.mu.Lock()
		if f.read < len(f.items) {
			x := f.items[f.read]
			f.read++
			f.mu.Unlock()
			return x
		}
		f.mu.Unlock()
		select {
		case <-f.more:
		case <-deadline:
			t.Fatalf("no %s within %v", what, patience)
		}
	}
}

// none fails the test when a new item arrives within d.
func (f *feed[T]) none(t *testing.T, d time.Duration, what string) {
	t.Helper()
	time.Sleep(d)
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.read < len(f.items) {
		t.Fatalf("unexpected %s: %+v", what, f.items[f.read])
	}
}

// skip marks everything reported so far as read.
func (f *feed[T]) skip() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.read = len(f.items)
}

// fetchCall is one call of a runRig's fetch.
type fetchCall struct {
	name string
	n    int // 1 for the account's first call
	at   time.Time
}

// script plays the nth fetch of a; it may block until ctx is done.
type script func(ctx context.Context, a Account, n int, opts FetchOptions) (Result, error)

// runRig is a Runner whose checks run a script instead of a POP3 session.
type runRig struct {
	r      *Runner
	events *feed[RunEvent]
	calls  *feed[fetchCall]
}

func newRunRig(t *testing.T, cfg RunnerConfig, play script) *runRig {
	t.Helper()
	rig := &runRig{events: newFeed[RunEvent](), calls: newFeed[fetchCall]()}
	var mu sync.Mutex
	counts, busy := map[string]int{}, map[string]bool{}
	cfg.Store = func(string) (*storage.Store, error) { return nil, nil }
	cfg.Observe = rig.events.add
	cfg.Fetch = func(ctx context.Context, a Account, _ *storage.Store, opts FetchOptions) (Result, error) {
		mu.Lock()
		if busy[a.Name] {
			t.Errorf("two checks of %s at once", a.Name)
		}
		busy[a.Name] = true
		counts[a.Name]++
		n := counts[a.Name]
		mu.Unlock()
		defer func() {
			mu.Lock()
			busy[a.Name] = false
			mu.Unlock()
		}()
		rig.calls.add(fetchCall{name: a.Name, n: n, at: time.Now()})
		return play(ctx, a, n, opts)
	}
	rig.r = NewRunner(cfg)
	t.Cleanup(rig.r.Close)
	return rig
}

// finished skips to the next RunFinished of name.
func (rig *runRig) finished(t *testing.T, name string) RunEvent {
	t.Helper()
	for {
		if e := rig.events.next(t, "RunFinished of "+name); e.Kind == RunFinished && e.Account == name {
			return e
		}
	}
}

// runAcct is an enabled account checked every minutes (0: by hand).
func runAcct(name string, minutes int) Account {
	a := New(name, "pop.example.org", "dana")
	a.CheckEveryMinutes = minutes
	return a
}

func succeed(context.Context, Account, int, FetchOptions) (Result, error) { return Result{}, nil }

// blockFirst blocks the first call of each account until ctx is done; the others succeed.
func blockFirst(ctx context.Context, _ Account, n int, _ FetchOptions) (Result, error) {
	if n == 1 {
		<-ctx.Done()
		return Result{}, ctx.Err()
	}
	return Result{}, nil
}

// TestRunnerFetchesFromServer: a check through each way of starting one downloads the mailbox of
// a real POP3 server and reports Started, the fetch's progress and messages, then one Finished.
func TestRunnerFetchesFromServer(t *testing.T) {
	const n = 12
	tests := []struct {
		name  string
		start func(r *Runner) bool
	}{
		{"Check", func(r *Runner) bool { return r.Check("work") }},
		{"CheckAll", func(r *Runner) bool { r.CheckAll(); return true }},
		{"Start", func(r *Runner) bool { r.Start(); return true }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := startPopserver(t, popserver.Config{}, testMail(n, 21))
			a := srv.acct
			a.CheckAtStartup = tc.name == "Start"
			s := openTestStore(t)
			events := newFeed[RunEvent]()
			var opened atomic.Int32
			r := NewRunner(RunnerConfig{
				Store:   func(name string) (*storage.Store, error) { opened.Add(1); return s, nil },
				Secrets: secrets(),
				Observe: events.add,
			})
			defer r.Close()
			r.Configure([]Account{a})
			if !tc.start(r) {
				t.Fatalf("%s did not start a check", tc.name)
			}
			if e := events.next(t, "RunStarted"); e.Kind != RunStarted || e.Account != "work" {
				t.Fatalf("first event %v of %q, want started of work", e.Kind, e.Account)
			}
			stored := 0
			for {
				e := events.next(t, "event")
				if e.Account != "work" {
					t.Fatalf("event of %q, want work", e.Account)
				}
				if e.Kind == RunFinished {
					if e.Err != nil || e.Result.New != n || !e.RetryAt.IsZero() {
						t.Fatalf("finished with %+v, %v, retry at %v; want %d new", e.Result, e.Err, e.RetryAt, n)
					}
					break
				}
				if e.Kind != RunProgress {
					t.Fatalf("%v event inside a check", e.Kind)
				}
				switch e.Event.Kind {
				case Progress, Note:
				case MessageStored:
					stored++
				default:
					t.Fatalf("fetch event %v passed on", e.Event.Kind)
				}
			}
			if stored != n || len(localUIDLs(t, s)) != n || opened.Load() != 1 {
				t.Fatalf("%d MessageStored, %d stored, store opened %d times; want %d, %d, 1", stored, len(localUIDLs(t, s)), opened.Load(), n, n)
			}
			if got := r.Running(); len(got) != 0 {
				t.Fatalf("Running() = %v after RunFinished", got)
			}
			r.Start() // a second Start, or one without startup accounts, checks nothing
			events.none(t, quiet, "event after Start")
		})
	}
}

// TestRunnerCheckRefuses: Check starts only an enabled, known account that is not being checked,
// on a runner that is not closed.
func TestRunnerCheckRefuses(t *testing.T) {
	off := runAcct("off", 0)
	off.Enabled = false
	tests := []struct {
		name    string
		prepare func(t *testing.T, rig *runRig)
		check   string
		want    bool
	}{
		{"enabled", func(*testing.T, *runRig) {}, "on", true},
		{"unknown", func(*testing.T, *runRig) {}, "nobody", false},
		{"disabled", func(*testing.T, *runRig) {}, "off", false},
		{"running", func(t *testing.T, rig *runRig) { rig.r.Check("on"); rig.calls.next(t, "check") }, "on", false},
		{"removed", func(_ *testing.T, rig *runRig) { rig.r.Configure([]Account{off}) }, "on", false},
		{"closed", func(_ *testing.T, rig *runRig) { rig.r.Close() }, "on", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			play := succeed
			if tc.name == "running" {
				play = blockFirst
			}
			rig := newRunRig(t, RunnerConfig{}, play)
			rig.r.Configure([]Account{runAcct("on", 0), off})
			tc.prepare(t, rig)
			if got := rig.r.Check(tc.check); got != tc.want {
				t.Fatalf("Check(%q) = %v, want %v", tc.check, got, tc.want)
			}
		})
	}
}

// TestRunnerSchedule: an enabled account with an interval is checked again and again; a manual
// or disabled one is not.
func TestRunnerSchedule(t *testing.T) {
	rig := newRunRig(t, RunnerConfig{Minute: time.Millisecond}, succeed)
	off := runAcct("off", 5)
	off.Enabled = false
	rig.r.Configure([]Account{runAcct("manual", 0), runAcct("ticks", 5), off})
	for i := 1; i <= 3; i++ {
		if c := rig.calls.next(t, "scheduled check"); c.name != "ticks" || c.n != i {
			t.Fatalf("check %d is %s's #%d, want ticks' #%d", i, c.name, c.n, i)
		}
	}
}

// TestRunnerSkipsTickWhileRunning: scheduled checks that come while the account is being checked
// are skipped (the fetch hook fails the test on two at once); the schedule goes on afterwards.
func TestRunnerSkipsTickWhileRunning(t *testing.T) {
	rig := newRunRig(t, RunnerConfig{Minute: time.Millisecond}, blockFirst)
	rig.r.Configure([]Account{runAcct("work", 2)})
	rig.calls.next(t, "first check")
	rig.calls.none(t, quiet, "check while one runs") // about 100 ticks
	rig.r.Cancel("work")
	rig.finished(t, "work")
	if c := rig.calls.next(t, "check after the running one"); c.n != 2 {
		t.Fatalf("next check is #%d, want #2", c.n)
	}
}

// TestRunnerConfigureIntervalAtOnce: a shorter interval applies at once, not after the old one.
func TestRunnerConfigureIntervalAtOnce(t *testing.T) {
	rig := newRunRig(t, RunnerConfig{Minute: time.Millisecond}, succeed)
	rig.r.Configure([]Account{runAcct("work", 1_000_000)}) // 1000 s
	rig.calls.none(t, quiet, "check before the interval")
	rig.r.Configure([]Account{runAcct("work", 10)})
	if c := rig.calls.next(t, "check at the new interval"); c.n != 1 {
		t.Fatalf("check #%d, want #1", c.n)
	}
}

// TestRunnerConfigureStops: disabling or removing an account stops its schedule and drops its
// pending retry, which stays dropped when the account is enabled or added again; removing also
// cancels its running check.
func TestRunnerConfigureStops(t *testing.T) {
	tests := []struct {
		name    string
		play    script
		retry   bool // the first check fails for a while, so a retry is pending, and the interval is long
		disable bool // disable the account (keeping its interval) rather than remove it
	}{
		{"disable stops the schedule", succeed, false, true},
		{"remove stops the schedule", succeed, false, false},
		{"disable drops the retry", failFirst(&net.OpError{Op: "dial", Err: syscall.ECONNREFUSED}), true, true},
		{"remove drops the retry", failFirst(&net.OpError{Op: "dial", Err: syscall.ECONNREFUSED}), true, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rig := newRunRig(t, RunnerConfig{Minute: time.Millisecond, RetryAfter: quiet / 4}, tc.play)
			minutes := 5
			if tc.retry {
				minutes = 1_000_000
				rig.r.Configure([]Account{runAcct("work", minutes)})
				rig.r.Check("work")
				if e := rig.finished(t, "work"); e.RetryAt.IsZero() {
					t.Fatalf("no retry after %v", e.Err)
				}
			} else {
				rig.r.Configure([]Account{runAcct("work", minutes)})
				rig.calls.next(t, "scheduled check")
				rig.calls.next(t, "scheduled check")
			}
			var after []Account
			if tc.disable {
				a := runAcct("work", minutes)
				a.Enabled = false
				after = append(after, a)
			}
			rig.r.Configure(after)
			if tc.retry {
				rig.r.Configure([]Account{runAcct("work", minutes)}) // back before the retry was due
			}
			for len(rig.r.Running()) > 0 {
				rig.finished(t, "work")
			}
			rig.calls.skip()
			rig.calls.none(t, quiet, "check after Configure stopped the account")
		})
	}
	t.Run("remove cancels the running check", func(t *testing.T) {
		rig := newRunRig(t, RunnerConfig{}, blockFirst)
		rig.r.Configure([]Account{runAcct("work", 0)})
		rig.r.Check("work")
		rig.calls.next(t, "check")
		rig.r.Configure(nil)
		if e := rig.finished(t, "work"); !errors.Is(e.Err, context.Canceled) {
			t.Fatalf("removed account's check ended with %v, want context.Canceled", e.Err)
		}
	})
}

// failFirst fails each account's first check with err; the others succeed.
func failFirst(err error) script {
	return func(_ context.Context, _ Account, n int, _ FetchOptions) (Result, error) {
		if n == 1 {
			return Result{}, err
		}
		return Result{}, nil
	}
}

// TestRunnerRetry: a temporary failure is checked again once after RetryAfter; a wrong password,
// an untrusted certificate or a local failure is not retried.
func TestRunnerRetry(t *testing.T) {
	const after = 50 * time.Millisecond
	tests := []struct {
		name  string
		err   error
		retry bool
	}{
		{"network", &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}, true},
		{"in use", &pop.Error{Command: "PASS", Code: pop.CodeInUse, Text: "locked"}, true},
		{"stalled", fmt.Errorf("pop: RETR: %w", pop.ErrStalled), true},
		{"wrong password", &pop.Error{Command: "PASS", Code: pop.CodeAuth, Text: "bad password"}, false},
		{"certificate", &pop.CertificateError{Err: errors.New("unknown authority")}, false},
		{"disk full", &StoreError{Err: ErrNoSpace}, false},
		{"no password", fmt.Errorf("%w for %q", ErrNoSecret, "work"), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rig := newRunRig(t, RunnerConfig{RetryAfter: after}, failFirst(tc.err))
			rig.r.Configure([]Account{runAcct("work", 0)})
			rig.r.Check("work")
			e := rig.finished(t, "work")
			if !errors.Is(e.Err, tc.err) {
				t.Fatalf("finished with %v, want %v", e.Err, tc.err)
			}
			if !tc.retry {
				if !e.RetryAt.IsZero() {
					t.Fatalf("RetryAt = %v after %v, want none", e.RetryAt, tc.err)
				}
				rig.calls.next(t, "check")
				rig.calls.none(t, 4*after, "retry")
				return
			}
			if !e.RetryAt.Equal(e.At.Add(after)) {
				t.Fatalf("RetryAt = %v, want %v + %v", e.RetryAt, e.At, after)
			}
			rig.calls.next(t, "check")
			if c := rig.calls.next(t, "retry"); c.n != 2 || c.at.Before(e.RetryAt) {
				t.Fatalf("retry #%d at %v, want #2 at %v or later", c.n, c.at, e.RetryAt)
			}
			if e := rig.finished(t, "work"); e.Err != nil || !e.RetryAt.IsZero() {
				t.Fatalf("retry finished with %v, retry at %v", e.Err, e.RetryAt)
			}
			rig.calls.none(t, 4*after, "second retry after a success")
		})
	}
}

// TestRunnerLoginDelay: a LOGIN-DELAY is retried at the time the server gave, and scheduled
// checks before it are skipped.
func TestRunnerLoginDelay(t *testing.T) {
	for _, minutes := range []int{0, 2} {
		t.Run(fmt.Sprintf("every %d", minutes), func(t *testing.T) {
			var le *LoginDelayError
			rig := newRunRig(t, RunnerConfig{Minute: time.Millisecond, RetryAfter: time.Hour}, func(_ context.Context, _ Account, n int, _ FetchOptions) (Result, error) {
				if n == 1 {
					// As read back from the store: wall clock only.
					le = &LoginDelayError{RetryAt: time.Now().Add(quiet).Round(0)}
					return Result{}, le
				}
				return Result{}, nil
			})
			rig.r.Configure([]Account{runAcct("work", minutes)})
			rig.r.Check("work")
			e := rig.finished(t, "work")
			if !errors.As(e.Err, new(*LoginDelayError)) || !e.RetryAt.Equal(le.RetryAt) {
				t.Fatalf("finished with %v, retry at %v; want the LOGIN-DELAY's %v", e.Err, e.RetryAt, le.RetryAt)
			}
			rig.calls.next(t, "check")
			if c := rig.calls.next(t, "check after the delay"); c.n != 2 || c.at.Round(0).Before(le.RetryAt) {
				t.Fatalf("check #%d at %v, want #2 at %v or later", c.n, c.at, le.RetryAt)
			}
		})
	}
}

// TestRunnerCancel: a cancelled check finishes with context.Canceled, whatever the session
// returned, and is not retried; cancelling also drops a pending retry.
func TestRunnerCancel(t *testing.T) {
	closedConn := func(ctx context.Context, _ Account, n int, _ FetchOptions) (Result, error) {
		if n == 1 {
			<-ctx.Done()
			return Result{New: 1}, &net.OpError{Op: "read", Net: "tcp", Err: net.ErrClosed} // retryable, were it not cancelled
		}
		return Result{}, nil
	}
	tests := []struct {
		name   string
		cancel func(r *Runner)
	}{
		{"Cancel", func(r *Runner) { r.Cancel("work") }},
		{"CancelAll", func(r *Runner) { r.CancelAll() }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rig := newRunRig(t, RunnerConfig{RetryAfter: quiet / 4}, closedConn)
			rig.r.Configure([]Account{runAcct("work", 0), runAcct("idle", 0)})
			rig.r.Check("work")
			rig.calls.next(t, "check")
			if got := rig.r.Running(); !slices.Equal(got, []string{"work"}) {
				t.Fatalf("Running() = %v, want [work]", got)
			}
			tc.cancel(rig.r)
			e := rig.finished(t, "work")
			if !errors.Is(e.Err, context.Canceled) || !e.RetryAt.IsZero() || e.Result.New != 1 {
				t.Fatalf("cancelled check finished with %+v, %v, retry at %v", e.Result, e.Err, e.RetryAt)
			}
			if got := rig.r.Running(); len(got) != 0 {
				t.Fatalf("Running() = %v after the cancelled check", got)
			}
			rig.calls.none(t, quiet, "retry after cancel")
		})
		t.Run(tc.name+" drops the retry", func(t *testing.T) {
			rig := newRunRig(t, RunnerConfig{RetryAfter: quiet / 2}, failFirst(&net.OpError{Op: "dial", Err: syscall.ECONNREFUSED}))
			rig.r.Configure([]Account{runAcct("work", 0)})
			rig.r.Check("work")
			if e := rig.finished(t, "work"); e.RetryAt.IsZero() {
				t.Fatalf("no retry after %v", e.Err)
			}
			tc.cancel(rig.r)
			rig.calls.next(t, "check")
			rig.calls.none(t, 2*quiet, "retry after cancel")
		})
	}
}

// TestRunnerClose: Close cancels the running checks and drops the retries and schedules, and
// returns only when every check has returned and every event has been observed, by a slow
// observer; afterwards nothing starts and no goroutine is left.
func TestRunnerClose(t *testing.T) {
	before := runtime.NumGoroutine()
	var returned atomic.Bool
	var observed, afterClose atomic.Int32
	var closed atomic.Bool
	var canceled atomic.Bool
	r := NewRunner(RunnerConfig{
		Store:      func(string) (*storage.Store, error) { return nil, nil },
		Minute:     time.Millisecond,
		RetryAfter: time.Hour,
		Observe: func(e RunEvent) {
			time.Sleep(5 * time.Millisecond)
			if closed.Load() {
				afterClose.Add(1)
			}
			if e.Kind == RunFinished && e.Account == "busy" && errors.Is(e.Err, context.Canceled) {
				canceled.Store(true)
			}
			observed.Add(1)
		},
		Fetch: func(ctx context.Context, a Account, _ *storage.Store, _ FetchOptions) (Result, error) {
			switch a.Name {
			case "busy":
				<-ctx.Done()
				time.Sleep(50 * time.Millisecond) // a session taking its time to end
				returned.Store(true)
				return Result{}, ctx.Err()
			case "flaky":
				return Result{}, &net.OpError{Op: "dial", Err: syscall.ECONNREFUSED}
			}
			return Result{}, nil
		},
	})
	r.Configure([]Account{runAcct("busy", 0), runAcct("flaky", 0), runAcct("ticks", 3)})
	r.Check("busy")
	r.Check("flaky")
	for observed.Load() < 6 { // a few events queued behind the slow observer
		time.Sleep(time.Millisecond)
	}
	closeWithin(t, r)
	closed.Store(true)
	if !returned.Load() || !canceled.Load() {
		t.Fatalf("Close returned before the check returned (%v) or its RunFinished was observed (%v)", returned.Load(), canceled.Load())
	}
	if r.Check("ticks") {
		t.Fatal("Check on a closed runner started a check")
	}
	r.CheckAll()
	r.Start()
	r.Configure([]Account{runAcct("new", 1)})
	r.Close()
	time.Sleep(quiet)
	if n := afterClose.Load(); n > 0 {
		t.Fatalf("%d events observed after Close", n)
	}
	deadline := time.Now().Add(patience)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond) // a goroutine that signalled the WaitGroup may still be exiting
	}
	if n := runtime.NumGoroutine(); n > before {
		t.Fatalf("%d goroutines after Close, %d before NewRunner", n, before)
	}
}

// closeWithin closes r, failing the test when Close does not return within patience.
func closeWithin(t *testing.T, r *Runner) {
	t.Helper()
	done := make(chan struct{})
	go func() { r.Close(); close(done) }()
	select {
	case <-done:
	case <-time.After(patience):
		t.Fatalf("Close did not return within %v", patience)
	}
}

// TestRunnerEventsInOrder: each account's events reach the observer in order, from one goroutine
// at a time, while the checks run on without waiting for it; progress a slow observer has not
// taken yet is merged into the latest figures.
func TestRunnerEventsInOrder(t *testing.T) {
	const stored, bursts = 40, 100
	names := []string{"one", "two"}
	fetched := make(chan string, len(names))
	allFetched := make(chan struct{})
	release := sync.OnceFunc(func() { close(allFetched) })
	var inside atomic.Int32
	var waited atomic.Bool
	mu := sync.Mutex{}
	got := map[string][]RunEvent{}
	finished := make(chan string, len(names))
	r := NewRunner(RunnerConfig{
		Store: func(string) (*storage.Store, error) { return nil, nil },
		Observe: func(e RunEvent) {
			if inside.Add(1) > 1 {
				t.Errorf("Observe called from two goroutines at once")
			}
			defer inside.Add(-1)
			if !waited.Swap(true) {
				<-allFetched // the first event waits until every check has returned
			}
			mu.Lock()
			got[e.Account] = append(got[e.Account], e)
			mu.Unlock()
			if e.Kind == RunFinished {
				finished <- e.Account
			}
		},
		Fetch: func(_ context.Context, a Account, _ *storage.Store, opts FetchOptions) (Result, error) {
			defer func() { fetched <- a.Name }()
			opts.Events(Event{Kind: Started, Account: a.Name})
			for i := 1; i <= stored; i++ {
				opts.Events(Event{Kind: Progress, Account: a.Name, Messages: i})
				opts.Events(Event{Kind: MessageStored, Account: a.Name, Summary: storage.Summary{UIDL: fmt.Sprint(i)}})
			}
			for i := 1; i <= bursts; i++ {
				opts.Events(Event{Kind: Progress, Account: a.Name, Messages: stored + i})
			}
			opts.Events(Event{Kind: Finished, Account: a.Name, Result: Result{New: stored}})
			return Result{New: stored}, nil
		},
	})
	defer r.Close()
	defer release() // a failing test does not leave the observer waiting
	r.Configure([]Account{runAcct(names[0], 0), runAcct(names[1], 0)})
	for _, name := range names { // one after the other, so each account's events are together in the queue
		if !r.Check(name) {
			t.Fatalf("Check(%q) = false", name)
		}
		select {
		case <-fetched:
		case <-time.After(patience):
			t.Fatalf("the check of %s waited for the observer", name)
		}
	}
	release()
	for range names {
		select {
		case <-finished:
		case <-time.After(patience):
			t.Fatal("the checks did not finish")
		}
	}
	mu.Lock()
	defer mu.Unlock()
	for _, name := range names {
		evs := got[name]
		if len(evs) < 2+2*stored+1 || evs[0].Kind != RunStarted || evs[len(evs)-1].Kind != RunFinished {
			t.Fatalf("%s: %d events, want RunStarted, %d or more progress events, RunFinished", name, len(evs), 2*stored+1)
		}
		mid := evs[1 : len(evs)-1]
		for i := 0; i < 2*stored; i += 2 {
			p, m := mid[i].Event, mid[i+1].Event
			if p.Kind != Progress || p.Messages != i/2+1 || m.Kind != MessageStored || m.Summary.UIDL != fmt.Sprint(i/2+1) {
				t.Fatalf("%s: events %d-%d are %v %d, %v %q; want progress and message %d", name, i+1, i+2, p.Kind, p.Messages, m.Kind, m.Summary.UIDL, i/2+1)
			}
		}
		burst := mid[2*stored:]
		if last := burst[len(burst)-1].Event; len(burst) >= bursts || last.Messages != stored+bursts {
			t.Fatalf("%s: %d progress events for a burst of %d ending at %d; want fewer, ending at %d", name, len(burst), bursts, last.Messages, stored+bursts)
		}
		for i, e := range burst {
			if e.Kind != RunProgress || e.Event.Kind != Progress || (i > 0 && e.Event.Messages <= burst[i-1].Event.Messages) {
				t.Fatalf("%s: burst event %d is %v %v %d", name, i, e.Kind, e.Event.Kind, e.Event.Messages)
			}
		}
	}
}
