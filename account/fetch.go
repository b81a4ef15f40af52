package account

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sort"
	"sync"
	"time"

	"github.com/poplar-mail/poplar/pop"
	"github.com/poplar-mail/poplar/storage"
)

// EventKind says what an Event reports.
type EventKind int

const (
	Started       EventKind = iota // a fetch began
	Progress                       // Messages/TotalMessages and Bytes/TotalBytes moved (at most ~10 a second)
	MessageStored                  // Summary is durable locally, in the folder the account's filters chose (Summary.Folder)
	Note                           // Text says something worth knowing once (e.g. no UIDL support)
	Finished                       // the outcome: success, Result filled
	Failed                         // the outcome: Err says why
	Cancelled                      // the outcome: the context was cancelled
)

// Event is one report of a running fetch. Exactly one of Finished, Failed and Cancelled ends it.
type Event struct {
	Kind          EventKind
	Account       string
	Messages      int
	TotalMessages int
	Bytes         int64
	TotalBytes    int64
	Summary       storage.Summary
	Text          string
	Result        Result
	Err           error
}

// Result is what a fetch did.
type Result struct {
	New             int   // messages stored
	Partial         int   // of those, stored as header only (size limit)
	DeletedOnServer int   // messages deleted on the server (QUIT succeeded)
	Skipped         int   // messages already stored earlier
	Bytes           int64 // bytes downloaded
	Retries         int
}

// FetchOptions configure Fetch.
type FetchOptions struct {
	Secrets SecretStore // where the password is; nil means the OS keyring
	// Events, when set, receives every event of the fetch in order, on the goroutine that called
	// Fetch, and all of them before Fetch returns.
	Events func(Event)
	Now    func() time.Time // the clock, for "delete after N days"; nil means time.Now
	Trace  io.Writer        // protocol trace (never contains the password)
	// MaxRetries bounds the retries of temporary failures (IN-USE, SYS/TEMP, network); default 3.
	MaxRetries int
	// RetryDelay is the first backoff delay, doubled each time; default 2 s.
	RetryDelay time.Duration
	// CommitEvery and CommitBytes bound a group commit: messages are made durable together
	// after this many messages or bytes (defaults 64 and 16 MB), and always at the end.
	CommitEvery int
	CommitBytes int64
	// Timeout is the network deadline: each status line must arrive within it, and a message
	// must keep arriving at pop's minimum rate; default 60 s (pop.DefaultTimeout).
	Timeout time.Duration
	// MaxMessageSize is the largest message downloaded; a larger one is left on the server with a
	// Note. 0 means DefaultMaxMessageSize.
	MaxMessageSize int64
	// MinFreeSpace is the disk space a fetch leaves free: it stops, with a StoreError wrapping
	// ErrNoSpace, before storing a message that would leave less. 0 means DefaultMinFreeSpace.
	MinFreeSpace int64
}

// DefaultMaxMessageSize is the largest message a fetch downloads unless FetchOptions says otherwise.
const DefaultMaxMessageSize = 1 << 30

// DefaultMinFreeSpace is the disk space a fetch leaves free unless FetchOptions says otherwise.
const DefaultMinFreeSpace = 32 << 20

// MaxLoginDelay caps the server's LOGIN-DELAY: a bogus value never blocks an account for longer.
const MaxLoginDelay = time.Hour

// ErrNoSpace means the disk holding the mail has too little free space for the next message.
var ErrNoSpace = errors.New("account: not enough free disk space")

// LoginDelayError means the server's LOGIN-DELAY forbids logging in before RetryAt.
type LoginDelayError struct{ RetryAt time.Time }

func (e *LoginDelayError) Error() string {
	return "account: the server allows the next login at " + e.When() + " (LOGIN-DELAY)"
}

// When is RetryAt as a user reads it: local date and time.
func (e *LoginDelayError) When() string { return e.RetryAt.Local().Format("Mon 2 Jan 2006 15:04:05") }

// QuitError means QUIT failed after DELE: the server did not commit the deletions. The messages
// are stored locally; the next fetch deletes them again and never downloads them twice.
type QuitError struct{ Err error }

func (e *QuitError) Error() string {
	return "account: the server did not confirm the deletions (QUIT failed); they will be retried next time: " + e.Err.Error()
}

func (e *QuitError) Unwrap() error { return e.Err }

// StoreError means a message could not be stored locally (a full disk, a read-only or missing
// folder). It is not retried: trying the download again cannot help until the user acts. Nothing
// that was not stored is deleted on the server.
type StoreError struct{ Err error }

func (e *StoreError) Error() string { return "account: storing mail: " + e.Err.Error() }

func (e *StoreError) Unwrap() error { return e.Err }

// ErrNoUIDL means the server supports neither UIDL nor TOP, so messages cannot be told apart and
// leaving them on the server would fetch them again every time.
var ErrNoUIDL = errors.New("account: the server supports neither UIDL nor TOP, so messages left on it cannot be told apart; turn off \"leave on server\"")

// Fetch downloads new mail of account a into store, then deletes on the server what the
// leave-on-server policy says, and reports through opts.Events. Only one fetch per account runs
// at a time (storage.ErrFetchInProgress otherwise). A message is deleted on the server only after
// its local copy and its ledger record are durable.
func Fetch(ctx context.Context, a Account, store *storage.Store, opts FetchOptions) (Result, error) {
	f := &fetcher{a: a, store: store, opts: opts}
	if f.opts.Now == nil {
		f.opts.Now = time.Now
	}
	if f.opts.Secrets == nil {
		f.opts.Secrets = Keyring()
	}
	if f.opts.MaxRetries == 0 {
		f.opts.MaxRetries = 3
	}
	if f.opts.RetryDelay <= 0 {
		f.opts.RetryDelay = 2 * time.Second
	}
	if f.opts.CommitEvery <= 0 {
		f.opts.CommitEvery = 64
	}
	if f.opts.CommitBytes <= 0 {
		f.opts.CommitBytes = 16 << 20
	}
	if f.opts.MaxMessageSize <= 0 {
		f.opts.MaxMessageSize = DefaultMaxMessageSize
	}
	if f.opts.MinFreeSpace <= 0 {
		f.opts.MinFreeSpace = DefaultMinFreeSpace
	}
	f.emit(Event{Kind: Started})
	res, err := f.run(ctx)
	switch {
	case err == nil:
		f.emit(Event{Kind: Finished, Result: res})
	case ctx.Err() != nil && errors.Is(err, context.Canceled):
		err = context.Canceled
		f.emit(Event{Kind: Cancelled, Result: res})
	default:
		f.emit(Event{Kind: Failed, Err: err, Result: res})
	}
	return res, err
}

type fetcher struct {
	a        Account
	store    *storage.Store
	opts     FetchOptions
	res      Result
	lastProg time.Time
	noted    map[string]bool

	// stored holds the summaries the commit goroutine made durable and the fetching goroutine
	// has not yet reported: every event is emitted by the goroutine that called Fetch.
	storedMu sync.Mutex
	stored   []storage.Summary
	notes    []string // the filters' failures, reported as Note events
}

func (f *fetcher) emit(e Event) {
	if f.opts.Events != nil {
		e.Account = f.a.Name
		f.opts.Events(e)
	}
}

// emitStored reports, as MessageStored events, what the commit goroutine made durable so far.
func (f *fetcher) emitStored() {
	f.storedMu.Lock()
	sums, notes := f.stored, f.notes
	f.stored, f.notes = nil, nil
	f.storedMu.Unlock()
	for _, n := range notes {
		f.note(n)
	}
	for _, s := range sums {
		f.emit(Event{Kind: MessageStored, Summary: s})
	}
}

func (f *fetcher) note(text string) {
	if f.noted == nil {
		f.noted = map[string]bool{}
	}
	if !f.noted[text] {
		f.noted[text] = true
		f.emit(Event{Kind: Note, Text: text})
	}
}

func (f *fetcher) run(ctx context.Context) (Result, error) {
	unlock, err := f.store.LockFetch()
	if err != nil {
		return f.res, err
	}
	defer unlock()
	// A run killed mid-download left its partial message in tmp/; with the fetch lock held no
	// other delivery is under way, so whatever Poplar left there is garbage.
	if _, err := f.store.RemoveTmp(); err != nil {
		return f.res, &StoreError{Err: err}
	}
	delay := f.opts.RetryDelay
	stalls := 0
	for attempt := 0; ; attempt++ {
		if err := f.waitLoginDelay(ctx); err != nil {
			return f.res, err
		}
		err := f.session(ctx)
		if err == nil || !retryable(err) || attempt >= f.opts.MaxRetries || ctx.Err() != nil {
			return f.res, err
		}
		if stalled(err) {
			// A server that stalls once may stall again: one more try, so a stalled fetch
			// ends within about twice the network timeout.
			if stalls++; stalls > 1 {
				return f.res, err
			}
		}
		f.res.Retries++
		f.note(fmt.Sprintf("retrying after: %v", err))
		if err := sleep(ctx, delay); err != nil {
			return f.res, err
		}
		delay *= 2
	}
}

// waitLoginDelay waits out a short LOGIN-DELAY recorded by an earlier session (of this or another
// process) and fails with a *LoginDelayError for a long one. A recorded time further ahead than
// MaxLoginDelay is not the server's word (no session records more): it is ignored.
func (f *fetcher) waitLoginDelay(ctx context.Context) error {
	now := f.opts.Now()
	next := f.store.NextLogin()
	if !now.Before(next) || next.Sub(now) > MaxLoginDelay {
		return nil
	}
	if wait := next.Sub(now); wait > 2*time.Minute {
		return &LoginDelayError{RetryAt: next}
	}
	return sleep(ctx, next.Sub(now))
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// retryable reports whether trying again may help: temporary server replies and network
// failures; never wrong credentials, certificates, policy or local (disk) errors.
func retryable(err error) bool {
	var pe *pop.Error
	if errors.As(err, &pe) {
		return pe.Temporary()
	}
	var ce *pop.CertificateError
	var qe *QuitError
	var le *LoginDelayError
	var se *StoreError
	if errors.As(err, &se) || errors.As(err, &ce) || errors.As(err, &qe) || errors.As(err, &le) || errors.Is(err, pop.ErrSTARTTLSUnavailable) ||
		errors.Is(err, pop.ErrInsecureAuth) || errors.Is(err, pop.ErrServerAuth) || errors.Is(err, ErrNoUIDL) || errors.Is(err, pop.ErrMessageTooLarge) {
		return false
	}
	return stalled(err) || isNetErr(err) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, net.ErrClosed) || errors.Is(err, pop.ErrClosed)
}

// stalled reports whether the server stopped sending or sent too slowly.
func stalled(err error) bool {
	return errors.Is(err, pop.ErrStalled) || errors.Is(err, pop.ErrTooSlow) || errors.Is(err, os.ErrDeadlineExceeded) ||
		errors.Is(err, context.DeadlineExceeded) // a connection or TLS handshake that did not finish in time
}

// isNetErr reports whether err came from the network: a *net.OpError or a deadline. (Not any
// net.Error: a bare syscall.Errno, such as a full disk's, satisfies that interface too.)
func isNetErr(err error) bool {
	var oe *net.OpError
	var de *net.DNSError
	return errors.As(err, &oe) || errors.Is(err, os.ErrDeadlineExceeded) ||
		(errors.As(err, &de) && (de.IsTemporary || de.IsTimeout))
}

// message is one message on the server in this session.
type message struct {
	id   int
	uid  string
	size int64
}

// session is one POP3 session: login, list, download, delete, quit.
func (f *fetcher) session(ctx context.Context) error {
	po := f.a.PopOptions()
	po.Trace = f.opts.Trace
	po.Timeout = f.opts.Timeout
	po.MaxMessageSize = f.opts.MaxMessageSize
	// Read the ledger and the folders' indexes while the server is dialled and lists its
	// messages: on a check with nothing new, that local work takes about as long as the network's.
	// The fetch lock is held, so nothing but this session records a UIDL meanwhile.
	var lookup func([]string) []storage.LedgerEntry
	var lookupErr error
	warm := make(chan struct{})
	go func() {
		defer close(warm)
		lookup, lookupErr = f.store.LedgerSnapshot()
	}()
	defer func() { <-warm }()
	c, err := dialSignIn(ctx, f.a, f.opts.Secrets, po)
	if err != nil {
		return err
	}
	defer c.Close()
	if d := c.Capabilities().LoginDelay; d > 0 {
		f.store.SetNextLogin(f.opts.Now().Add(min(d, MaxLoginDelay)))
	}
	msgs, err := f.list(ctx, c)
	if err != nil {
		return err
	}
	<-warm
	if lookupErr != nil {
		return lookupErr
	}
	known := lookup(uidsOf(msgs))
	var todo []message
	var totalBytes int64
	for i, m := range msgs {
		if known[i].UIDL != "" {
			f.res.Skipped++
			continue
		}
		if m.size > f.opts.MaxMessageSize {
			f.note(fmt.Sprintf("message %d is %s, larger than the %s limit: it is left on the server", m.id, FormatSize(m.size), FormatSize(f.opts.MaxMessageSize)))
			continue
		}
		todo = append(todo, m)
		totalBytes += m.size
	}
	if err := f.download(ctx, c, todo, totalBytes); err != nil {
		return err
	}
	dele, err := f.toDelete(msgs)
	if err != nil {
		return err
	}
	if len(dele) > 0 {
		reqs := make([]pop.Request, len(dele))
		for i, m := range dele {
			reqs[i] = pop.Request{Op: pop.OpDele, ID: m.id}
		}
		err := c.Batch(ctx, reqs, func(i int, _ io.Reader, err error) error { return err })
		if err != nil {
			return err
		}
	}
	if err := c.Quit(ctx); err != nil {
		if len(dele) > 0 {
			return &QuitError{Err: err}
		}
		return nil // nothing depended on it
	}
	if len(dele) > 0 {
		uids := make([]string, len(dele))
		for i, m := range dele {
			uids[i] = m.uid
		}
		if err := f.store.MarkServerDeleted(uids); err != nil {
			return err
		}
		f.res.DeletedOnServer += len(dele)
	}
	return nil
}

// uidsOf returns the unique ids of msgs, in their order.
func uidsOf(msgs []message) []string {
	out := make([]string, len(msgs))
	for i, m := range msgs {
		out[i] = m.uid
	}
	return out
}

// FormatSize writes a byte count the way a user reads it: "512 bytes", "3.2 KB", "1.5 GB".
func FormatSize(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d bytes", n)
}

// list returns the server's messages with their unique ids (as the store keeps them) and sizes.
func (f *fetcher) list(ctx context.Context, c *pop.Client) ([]message, error) {
	listing, err := c.ListAll(ctx)
	if err != nil {
		return nil, err
	}
	msgs := make([]message, len(listing.Sizes))
	byID := make(map[int]int, len(msgs))
	for i, s := range listing.Sizes {
		msgs[i] = message{id: s.ID, size: s.Size}
		byID[s.ID] = i
	}
	caps := c.Capabilities()
	if err = listing.UIDLErr; err == nil {
		for _, u := range listing.UIDs {
			if i, ok := byID[u.ID]; ok {
				uid, hashed := storage.StorableUIDL(u.UID)
				if hashed {
					f.note(fmt.Sprintf("the server's unique ids are longer than %d bytes; Poplar keeps a hash of each instead", storage.MaxUIDL))
				}
				msgs[i].uid = uid
			}
		}
		var out []message
		for _, m := range msgs {
			if m.uid == "" {
				return nil, fmt.Errorf("account: the server listed message %d without a unique id", m.id)
			}
			out = append(out, m)
		}
		return out, nil
	}
	var pe *pop.Error
	if !errors.As(err, &pe) || pe.Temporary() {
		return nil, err
	}
	// No UIDL: identify messages by a fingerprint of their header (TOP n 0).
	if caps.Known && !caps.Top && f.a.LeaveOnServer {
		return nil, ErrNoUIDL
	}
	f.note("the server does not support UIDL: messages are identified by a fingerprint of their header")
	reqs := make([]pop.Request, len(msgs))
	for i, m := range msgs {
		reqs[i] = pop.Request{Op: pop.OpTop, ID: m.id, Lines: 0}
	}
	err = c.Batch(ctx, reqs, func(i int, r io.Reader, err error) error {
		if err != nil {
			return err
		}
		h := sha256.New()
		if _, err := io.Copy(h, io.LimitReader(r, 1<<20)); err != nil {
			return err
		}
		fmt.Fprintf(h, "\x00%d", msgs[i].size)
		msgs[i].uid = "poplar-fp-" + hex.EncodeToString(h.Sum(nil))[:40]
		return nil
	})
	if err != nil {
		if errors.As(err, &pe) && f.a.LeaveOnServer {
			return nil, ErrNoUIDL
		}
		if errors.As(err, &pe) {
			// Neither UIDL nor TOP, and nothing is left on the server: fetch everything.
			for i := range msgs {
				msgs[i].uid = fmt.Sprintf("poplar-nouid-%d-%d", f.opts.Now().UnixNano(), msgs[i].id)
			}
			return msgs, nil
		}
		return nil, err
	}
	return msgs, nil
}

// headerOnlyRoom is the disk space a header-only (TOP n 0) message is assumed to need.
const headerOnlyRoom = 64 << 10

// checkRoom fails with a StoreError wrapping ErrNoSpace when storing need more bytes would leave
// less than MinFreeSpace free on the store's disk.
func (f *fetcher) checkRoom(m message, need int64) error {
	free, err := f.store.FreeSpace()
	if err != nil {
		return &StoreError{Err: err}
	}
	if free-need < f.opts.MinFreeSpace {
		return &StoreError{Err: fmt.Errorf("%w: message %d needs %s and %s is free (Poplar keeps %s free)",
			ErrNoSpace, m.id, FormatSize(need), FormatSize(max(free, 0)), FormatSize(f.opts.MinFreeSpace))}
	}
	return nil
}

// download retrieves todo with pipelined RETR (or TOP n 0 above the size limit), streaming each
// message into the store, and commits in groups.
func (f *fetcher) download(ctx context.Context, c *pop.Client, todo []message, totalBytes int64) error {
	if len(todo) == 0 {
		return nil
	}
	limit := int64(f.a.SizeLimitKB) * 1024
	reqs := make([]pop.Request, len(todo))
	for i, m := range todo {
		reqs[i] = pop.Request{Op: pop.OpRetr, ID: m.id}
		if limit > 0 && m.size > limit {
			reqs[i] = pop.Request{Op: pop.OpTop, ID: m.id, Lines: 0}
		}
	}
	// Group commit runs beside the download: while one group of messages is being made durable,
	// the next streams into tmp/. Every group is committed before any DELE is sent.
	groups := make(chan *storage.Batch, 1)
	committed := make(chan error, 1)
	go func() {
		var first error
		for b := range groups {
			if first != nil {
				b.Abort()
				continue
			}
			sums, err := b.Commit()
			if err != nil {
				first = &StoreError{Err: err}
				continue
			}
			// The group is durable and in the ledger: the filters may move it (never lose it).
			sums, notes := filterNew(f.store, f.a.Filters, sums)
			f.storedMu.Lock()
			f.notes = append(f.notes, notes...)
			f.stored = append(f.stored, sums...)
			f.storedMu.Unlock()
		}
		committed <- first
	}()
	batch := f.store.NewBatch()
	var pendingBytes int64
	done := 0
	var doneBytes int64
	flush := func() {
		if batch.Len() > 0 {
			groups <- batch
			batch = f.store.NewBatch()
		}
		pendingBytes = 0
	}
	f.emit(Event{Kind: Progress, TotalMessages: len(todo), TotalBytes: totalBytes})
	err := c.Batch(ctx, reqs, func(i int, r io.Reader, err error) error {
		f.emitStored()
		if err != nil {
			return err
		}
		partial := reqs[i].Op == pop.OpTop
		need := todo[i].size
		if partial {
			need = headerOnlyRoom
		}
		if err := f.checkRoom(todo[i], need); err != nil {
			return err
		}
		cr := &countingReader{r: r}
		if _, err := batch.Deliver(cr, storage.DeliverInfo{UIDL: todo[i].uid, Partial: partial, ServerSize: todo[i].size, Received: f.opts.Now()}); err != nil {
			if cr.err != nil {
				return err // the message stream broke, not the store
			}
			return &StoreError{Err: err}
		}
		f.res.New++
		if partial {
			f.res.Partial++
		}
		f.res.Bytes += cr.n
		pendingBytes += cr.n
		done++
		doneBytes += todo[i].size
		if batch.Len() >= f.opts.CommitEvery || pendingBytes >= f.opts.CommitBytes {
			flush()
		}
		if now := time.Now(); now.Sub(f.lastProg) >= 100*time.Millisecond || done == len(todo) {
			f.lastProg = now
			f.emit(Event{Kind: Progress, Messages: done, TotalMessages: len(todo), Bytes: doneBytes, TotalBytes: totalBytes})
		}
		return nil
	})
	// Keep what arrived whole, even when the download failed: commit it before reporting.
	flush()
	close(groups)
	cerr := <-committed
	f.emitStored()
	if cerr != nil {
		return errors.Join(err, cerr)
	}
	return err
}

type countingReader struct {
	r   io.Reader
	n   int64
	err error // the first read error other than io.EOF
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	if err != nil && err != io.EOF && c.err == nil {
		c.err = err
	}
	return n, err
}

// toDelete applies the leave-on-server policy to the messages on the server. Only messages the
// ledger knows (durable locally) and stored whole are ever candidates.
func (f *fetcher) toDelete(msgs []message) ([]message, error) {
	if f.a.LeaveOnServer && f.a.DeleteAfterDays == 0 && !f.a.DeleteWhenDeletedHere {
		return nil, nil // the policy keeps everything
	}
	ledger, err := f.store.LedgerLookup(uidsOf(msgs))
	if err != nil {
		return nil, err
	}
	partial, err := f.store.PartialUIDLs()
	if err != nil {
		return nil, err
	}
	expunged := map[string]bool{}
	if f.a.DeleteWhenDeletedHere {
		ex, err := f.store.ExpungedUIDLs()
		if err != nil {
			return nil, err
		}
		for _, u := range ex {
			expunged[u] = true
		}
	}
	now := f.opts.Now()
	var out []message
	for i, m := range msgs {
		e := ledger[i]
		if e.UIDL == "" || partial[m.uid] {
			continue
		}
		switch {
		case !f.a.LeaveOnServer:
			out = append(out, m)
		case f.a.DeleteAfterDays > 0 && now.Sub(e.Fetched) >= time.Duration(f.a.DeleteAfterDays)*24*time.Hour:
			out = append(out, m)
		case f.a.DeleteWhenDeletedHere && expunged[m.uid]:
			out = append(out, m)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].id < out[j].id })
	return out, nil
}

// StoredOnServer counts the messages Poplar stored whole that the server still holds as far as the
// ledger knows: what switching the account to "delete from the server after downloading" would
// remove there at its next fetch.
func StoredOnServer(s *storage.Store) (int, error) {
	ledger, err := s.Ledger()
	if err != nil {
		return 0, err
	}
	partial, err := s.PartialUIDLs()
	if err != nil {
		return 0, err
	}
	n := 0
	for u, e := range ledger {
		if !e.ServerDeleted && !partial[u] {
			n++
		}
	}
	return n, nil
}
