package account

import (
	"context"
	"errors"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/poplar-mail/poplar/storage"
)

// RunnerConfig is what a Runner needs.
type RunnerConfig struct {
	// Store opens (once) an account's store; the runner calls it for every check, on the check's
	// goroutine, never on the caller's. It must not be nil.
	Store func(name string) (*storage.Store, error)
	// Secrets is where the passwords are; nil means the OS keyring (as in FetchOptions).
	Secrets SecretStore
	// Observe receives every RunEvent, from one goroutine of the runner at a time, in order. It
	// may be slow: checks do not wait for it. It may call the runner's methods except Close. Nil
	// discards the events.
	Observe func(RunEvent)
	// Fetch does one check; nil means Fetch (tests wrap or replace it).
	Fetch func(ctx context.Context, a Account, s *storage.Store, opts FetchOptions) (Result, error)
	// RetryAfter is the delay before retrying a temporary failure; 0 means 5 minutes.
	RetryAfter time.Duration
	// Minute is the length of a minute of Account.CheckEveryMinutes; 0 means time.Minute. Tests
	// shorten it.
	Minute time.Duration
}

// RunKind says what a RunEvent reports.
type RunKind int

const (
	RunStarted  RunKind = iota // a check began
	RunProgress                // Event is a fetch event: Progress, MessageStored or Note
	RunFinished                // the check's one outcome: Result, Err (nil, context.Canceled or why) and RetryAt
)

func (k RunKind) String() string {
	switch k {
	case RunStarted:
		return "started"
	case RunProgress:
		return "progress"
	case RunFinished:
		return "finished"
	}
	return "RunKind(" + strconv.Itoa(int(k)) + ")"
}

// RunEvent is one report of a Runner about one account's check. Every check sends one
// RunStarted, then RunProgress events, then one RunFinished.
type RunEvent struct {
	Account string
	Kind    RunKind
	Event   Event  // RunProgress: the fetch event (Progress, MessageStored or Note)
	Result  Result // RunFinished
	Err     error  // RunFinished: nil, context.Canceled when cancelled, or why the check failed
	// RetryAt is, for RunFinished with a temporary error or a LOGIN-DELAY, when the runner checks
	// the account again; zero when it will not retry.
	RetryAt time.Time
	At      time.Time // when the event happened
}

// Runner checks accounts for mail: at startup, on their schedules, when asked, and again after a
// temporary failure. It runs at most one check per account at a time and reports through
// RunnerConfig.Observe. Its methods are safe from any goroutine and never wait for the network.
// Close must be called: it stops everything and waits for it.
type Runner struct {
	cfg RunnerConfig

	mu        sync.Mutex
	accts     map[string]*runAccount // entries stay once made, so one check per name holds across removal
	queue     []RunEvent             // events not yet observed
	observing bool                   // a goroutine is delivering queue
	started   bool                   // Start ran
	closed    bool
	wake      chan struct{} // 1-buffered: the schedule changed
	done      chan struct{} // closed by Close
	ticking   bool          // the scheduler goroutine runs
	wg        sync.WaitGroup
}

// runAccount is one account's state in a Runner; guarded by Runner.mu.
type runAccount struct {
	a          Account
	configured bool               // in the last Configure
	every      time.Duration      // check interval; 0 = none
	next       time.Time          // next scheduled check; zero = none
	retryAt    time.Time          // pending retry; zero = none
	loginDelay bool               // the pending retry waits out a LOGIN-DELAY: scheduled checks before it are skipped
	cancel     context.CancelFunc // cancels the running check; nil when none runs
}

func (ac *runAccount) enabled() bool { return ac.configured && ac.a.Enabled }

// NewRunner returns a Runner with no accounts; Configure gives it some. It starts no goroutine.
func NewRunner(cfg RunnerConfig) *Runner {
	if cfg.Fetch == nil {
		cfg.Fetch = Fetch
	}
	if cfg.RetryAfter <= 0 {
		cfg.RetryAfter = 5 * time.Minute
	}
	if cfg.Minute <= 0 {
		cfg.Minute = time.Minute
	}
	return &Runner{cfg: cfg, accts: map[string]*runAccount{}, wake: make(chan struct{}, 1), done: make(chan struct{})}
}

// Configure applies accts at once: the accounts, whether each is enabled, and its interval. An
// account whose interval changed (or that is new or enabled again) is next checked one interval
// from now; an unchanged one keeps its schedule. Disabling an account stops its schedule and drops
// its pending retry, and a running check of it ends normally; removing an account also cancels
// its running check. Settings changed during a check apply from the next one. Configure may be
// called any number of times; on a closed runner it does nothing.
func (r *Runner) Configure(accts []Account) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return
	}
	now := time.Now()
	seen := map[string]bool{}
	for _, a := range accts {
		seen[a.Name] = true
		ac := r.accts[a.Name]
		if ac == nil {
			ac = &runAccount{}
			r.accts[a.Name] = ac
		}
		var every time.Duration
		if a.Enabled && a.CheckEveryMinutes > 0 {
			every = time.Duration(a.CheckEveryMinutes) * r.cfg.Minute
		}
		if !ac.configured || every != ac.every {
			ac.every, ac.next = every, time.Time{}
			if every > 0 {
				ac.next = now.Add(every)
			}
		}
		ac.a, ac.configured = a, true
		if !a.Enabled {
			ac.dropRetry()
		}
	}
	for name, ac := range r.accts {
		if seen[name] || !ac.configured {
			continue
		}
		ac.configured, ac.every, ac.next = false, 0, time.Time{}
		ac.dropRetry()
		if ac.cancel != nil {
			ac.cancel()
		}
	}
	if !r.ticking {
		r.ticking = true
		r.wg.Add(1)
		go r.schedule()
	}
	r.poke()
}

func (ac *runAccount) dropRetry() { ac.retryAt, ac.loginDelay = time.Time{}, false }

// Start checks the enabled accounts set to check at startup. Only its first call does anything.
func (r *Runner) Start() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.started || r.closed {
		return
	}
	r.started = true
	for _, name := range r.namesLocked() {
		if ac := r.accts[name]; ac.enabled() && ac.a.CheckAtStartup {
			r.startLocked(name, ac)
		}
	}
}

// Check starts a check of the enabled account called name, in the background, and reports whether
// it did: not when the account is unknown or disabled, a check of it is running, or the runner is
// closed. Starting a check drops the account's pending retry.
func (r *Runner) Check(name string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	ac, ok := r.accts[name]
	return ok && r.startLocked(name, ac)
}

// CheckAll starts a check of every enabled account that is not being checked.
func (r *Runner) CheckAll() {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, name := range r.namesLocked() {
		r.startLocked(name, r.accts[name])
	}
}

// Cancel cancels the running check of the account called name, which then finishes with
// context.Canceled and is not retried, and drops its pending retry. Its schedule goes on.
func (r *Runner) Cancel(name string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if ac, ok := r.accts[name]; ok {
		ac.cancelLocked()
	}
}

// CancelAll cancels every running check and drops every pending retry.
func (r *Runner) CancelAll() {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, ac := range r.accts {
		ac.cancelLocked()
	}
}

func (ac *runAccount) cancelLocked() {
	ac.dropRetry()
	if ac.cancel != nil {
		ac.cancel()
	}
}

// Running returns the sorted names of the accounts being checked now.
func (r *Runner) Running() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, name := range r.namesLocked() {
		if r.accts[name].cancel != nil {
			out = append(out, name)
		}
	}
	return out
}

// Close stops the schedules and retries, cancels the running checks, and returns once every
// goroutine of the runner has ended and every event has been observed: Observe is not called
// after Close returns. It must not be called from Observe. Later calls do nothing but wait.
func (r *Runner) Close() {
	r.mu.Lock()
	if !r.closed {
		r.closed = true
		close(r.done)
		for _, ac := range r.accts {
			ac.next = time.Time{}
			ac.cancelLocked()
		}
	}
	r.mu.Unlock()
	r.wg.Wait()
}

func (r *Runner) namesLocked() []string {
	names := make([]string, 0, len(r.accts))
	for name := range r.accts {
		names = append(names, name)
	}
	sort.Strings(names)
	return names
}

// poke wakes the scheduler to look at the schedule again.
func (r *Runner) poke() {
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// startLocked starts a check of ac unless it is disabled or running or the runner is closed.
func (r *Runner) startLocked(name string, ac *runAccount) bool {
	if r.closed || !ac.enabled() || ac.cancel != nil {
		return false
	}
	ctx, cancel := context.WithCancel(context.Background())
	ac.cancel = cancel
	ac.dropRetry()
	r.emitLocked(RunEvent{Account: name, Kind: RunStarted})
	r.wg.Add(1)
	go r.check(ctx, name, ac, ac.a)
	return true
}

// check runs one check of a and reports its outcome; it schedules a retry after a temporary
// failure or a LOGIN-DELAY.
func (r *Runner) check(ctx context.Context, name string, ac *runAccount, a Account) {
	defer r.wg.Done()
	var res Result
	s, err := r.openStore(name)
	if err == nil {
		res, err = r.cfg.Fetch(ctx, a, s, FetchOptions{Secrets: r.cfg.Secrets, Events: func(e Event) {
			switch e.Kind {
			case Progress, MessageStored, Note:
				r.mu.Lock()
				r.emitLocked(RunEvent{Account: name, Kind: RunProgress, Event: e})
				r.mu.Unlock()
			}
		}})
	}
	if err != nil && ctx.Err() != nil {
		err = context.Canceled // however the cancelled session ended, the outcome is "cancelled"
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	ac.cancel()
	ac.cancel = nil
	now := time.Now()
	if err != nil && !errors.Is(err, context.Canceled) && !r.closed && ac.enabled() {
		var le *LoginDelayError
		switch {
		case errors.As(err, &le):
			ac.retryAt, ac.loginDelay = le.RetryAt, true
			if !le.RetryAt.After(now) { // not the server's word (Fetch waits out a short delay itself)
				ac.retryAt = now.Add(r.cfg.RetryAfter)
			}
		case retryable(err):
			ac.retryAt = now.Add(r.cfg.RetryAfter)
		}
		r.poke()
	}
	r.emitLocked(RunEvent{Account: name, Kind: RunFinished, Result: res, Err: err, RetryAt: ac.retryAt, At: now})
}

func (r *Runner) openStore(name string) (*storage.Store, error) {
	if r.cfg.Store == nil {
		return nil, errors.New("account: the runner has no store")
	}
	return r.cfg.Store(name)
}

// emitLocked queues e for the observer. A Progress event replaces the same account's Progress
// still waiting at the end of the queue: a slow observer sees the latest figures, not every one.
func (r *Runner) emitLocked(e RunEvent) {
	if e.At.IsZero() {
		e.At = time.Now()
	}
	if n := len(r.queue); n > 0 && e.Kind == RunProgress && e.Event.Kind == Progress {
		if last := &r.queue[n-1]; last.Account == e.Account && last.Kind == RunProgress && last.Event.Kind == Progress {
			*last = e
			return
		}
	}
	r.queue = append(r.queue, e)
	if !r.observing {
		r.observing = true
		r.wg.Add(1) // never from zero after Close: only a caller holding r.mu before Close, or a goroutine already counted, gets here
		go r.observe()
	}
}

// observe delivers the queued events one at a time, in order, until the queue is empty.
func (r *Runner) observe() {
	defer r.wg.Done()
	for {
		r.mu.Lock()
		if len(r.queue) == 0 {
			r.observing = false
			r.mu.Unlock()
			return
		}
		e := r.queue[0]
		r.queue[0] = RunEvent{}
		r.queue = r.queue[1:]
		r.mu.Unlock()
		if r.cfg.Observe != nil {
			r.cfg.Observe(e)
		}
	}
}

// schedule starts the scheduled checks and the retries when they are due, until Close.
func (r *Runner) schedule() {
	defer r.wg.Done()
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		due := r.startDue(time.Now())
		if due.IsZero() {
			timer.Stop()
		} else {
			timer.Reset(time.Until(due))
		}
		select {
		case <-r.done:
			return
		case <-r.wake:
		case <-timer.C:
		}
	}
}

// startDue starts the checks due at now and returns when the next one is due (zero: none).
// A scheduled check that finds the account being checked, or waiting out a LOGIN-DELAY, is
// skipped; the schedule goes on from now, never catching up on missed checks.
func (r *Runner) startDue(now time.Time) time.Time {
	r.mu.Lock()
	defer r.mu.Unlock()
	var due time.Time
	earlier := func(t time.Time) {
		if !t.IsZero() && (due.IsZero() || t.Before(due)) {
			due = t
		}
	}
	for _, name := range r.namesLocked() {
		ac := r.accts[name]
		if !ac.retryAt.IsZero() && !now.Before(ac.retryAt) {
			ac.dropRetry()
			r.startLocked(name, ac)
		}
		if !ac.next.IsZero() && !now.Before(ac.next) {
			if ac.next = ac.next.Add(ac.every); !ac.next.After(now) {
				ac.next = now.Add(ac.every)
			}
			if !ac.loginDelay {
				r.startLocked(name, ac)
			}
		}
		earlier(ac.retryAt)
		earlier(ac.next)
	}
	return due
}
