package account

import (
	"context"
	"errors"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/poplar-mail/poplar/internal/dovecot"
	"github.com/poplar-mail/poplar/pop"
	"github.com/poplar-mail/poplar/pop/popserver"
	"github.com/poplar-mail/poplar/storage"
)

// testMail returns n distinct messages, some large.
func testMail(n int, seed int64) [][]byte {
	rng := rand.New(rand.NewSource(seed))
	out := make([][]byte, n)
	for i := range out {
		body := strings.Repeat(fmt.Sprintf("line %d of message %d\n", i, i), 1+rng.Intn(400))
		if i%7 == 3 {
			body += strings.Repeat("x", 200<<10) + "\n"
		}
		out[i] = []byte(fmt.Sprintf("From: sender%d@example.org\nTo: me@example.org\nSubject: message %d\nMessage-ID: <m%d.%d@example.org>\nDate: Mon, 2 Jan 2006 15:04:%02d +0000\n\n%s", i, i, i, seed, i%60, body))
	}
	return out
}

type dovecotRig struct {
	srv  *dovecot.Server
	acct Account
}

func startDovecot(t *testing.T, msgs [][]byte) *dovecotRig {
	t.Helper()
	srv := dovecot.StartT(t, dovecot.Options{Users: []dovecot.User{{Name: "dana", Password: "s3cret pw", Messages: msgs}}})
	host, port, _ := strings.Cut(srv.POP3SAddr, ":")
	p, _ := strconv.Atoi(port)
	a := New("work", host, "dana")
	a.Port = p
	a.LeaveOnServer = false // the rigs start in delete mode; tests that keep mail say so
	a.CAFile = srv.CAFile
	return &dovecotRig{srv: srv, acct: a}
}

func secrets() SecretStore { return MemSecrets{"work": "s3cret pw"} }

func openTestStore(t *testing.T) *storage.Store {
	t.Helper()
	s, err := storage.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// localUIDLs counts stored messages per UIDL over all folders.
func localUIDLs(t *testing.T, s *storage.Store) map[string]int {
	t.Helper()
	out := map[string]int{}
	fs, err := s.Folders()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fs {
		sums, err := s.Summaries(f.Name)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range sums {
			out[m.UIDL]++
		}
	}
	return out
}

func mustFetch(t *testing.T, a Account, s *storage.Store, opts FetchOptions) Result {
	t.Helper()
	if opts.Secrets == nil {
		opts.Secrets = secrets()
	}
	res, err := Fetch(context.Background(), a, s, opts)
	if err != nil {
		t.Fatalf("Fetch: %v", err)
	}
	return res
}

func serverCount(t *testing.T, r *dovecotRig) int {
	t.Helper()
	n, err := r.srv.Count("dana")
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestFetchDovecotPolicies(t *testing.T) {
	msgs := testMail(30, 1)

	t.Run("delete after download", func(t *testing.T) {
		r := startDovecot(t, msgs)
		s := openTestStore(t)
		var events []Event
		res := mustFetch(t, r.acct, s, FetchOptions{Events: func(e Event) { events = append(events, e) }})
		if res.New != len(msgs) || res.DeletedOnServer != len(msgs) {
			t.Fatalf("first fetch: %+v", res)
		}
		if n := serverCount(t, r); n != 0 {
			t.Fatalf("%d messages left on the server", n)
		}
		u := localUIDLs(t, s)
		if len(u) != len(msgs) {
			t.Fatalf("%d distinct messages stored, want %d", len(u), len(msgs))
		}
		checkEvents(t, events, Finished, len(msgs))
		if res := mustFetch(t, r.acct, s, FetchOptions{}); res.New != 0 {
			t.Fatalf("second fetch: %+v", res)
		}
	})

	t.Run("leave on server", func(t *testing.T) {
		r := startDovecot(t, msgs)
		a := r.acct
		a.LeaveOnServer = true
		s := openTestStore(t)
		if res := mustFetch(t, a, s, FetchOptions{}); res.New != len(msgs) || res.DeletedOnServer != 0 {
			t.Fatalf("first fetch: %+v", res)
		}
		if res := mustFetch(t, a, s, FetchOptions{}); res.New != 0 || res.Skipped != len(msgs) {
			t.Fatalf("re-check: %+v", res)
		}
		r.srv.Deliver("dana", []byte("Subject: late\n\nlate arrival\n"))
		if res := mustFetch(t, a, s, FetchOptions{}); res.New != 1 {
			t.Fatalf("after one new message: %+v", res)
		}
		if n := serverCount(t, r); n != len(msgs)+1 {
			t.Fatalf("server holds %d, want %d", n, len(msgs)+1)
		}
	})

	t.Run("delete after N days", func(t *testing.T) {
		r := startDovecot(t, msgs[:5])
		a := r.acct
		a.LeaveOnServer, a.DeleteAfterDays = true, 3
		s := openTestStore(t)
		now := time.Now()
		clock := func() time.Time { return now }
		mustFetch(t, a, s, FetchOptions{Now: clock})
		now = now.Add(2 * 24 * time.Hour)
		if res := mustFetch(t, a, s, FetchOptions{Now: clock}); res.DeletedOnServer != 0 {
			t.Fatalf("deleted after 2 of 3 days: %+v", res)
		}
		now = now.Add(2 * 24 * time.Hour)
		if res := mustFetch(t, a, s, FetchOptions{Now: clock}); res.DeletedOnServer != 5 {
			t.Fatalf("after 4 days: %+v", res)
		}
		if n := serverCount(t, r); n != 0 {
			t.Fatalf("server holds %d", n)
		}
	})

	t.Run("delete when deleted here", func(t *testing.T) {
		r := startDovecot(t, msgs[:4])
		a := r.acct
		a.LeaveOnServer, a.DeleteWhenDeletedHere = true, true
		s := openTestStore(t)
		mustFetch(t, a, s, FetchOptions{})
		sums, _ := s.Summaries(storage.Inbox)
		s.CreateFolder("Kept")
		s.Move(storage.Inbox, "Kept", []string{sums[0].Key})
		s.Delete(storage.Inbox, []string{sums[1].Key})
		if res := mustFetch(t, a, s, FetchOptions{}); res.DeletedOnServer != 0 {
			t.Fatalf("a move or a trashed message deleted on the server: %+v", res)
		}
		if err := s.EmptyTrash(); err != nil {
			t.Fatal(err)
		}
		if res := mustFetch(t, a, s, FetchOptions{}); res.DeletedOnServer != 1 || res.New != 0 {
			t.Fatalf("after emptying the trash: %+v", res)
		}
		if n := serverCount(t, r); n != 3 {
			t.Fatalf("server holds %d, want 3", n)
		}
	})

	t.Run("size limit and fetch rest", func(t *testing.T) {
		r := startDovecot(t, msgs[:8])
		a := r.acct
		a.SizeLimitKB = 100
		s := openTestStore(t)
		res := mustFetch(t, a, s, FetchOptions{})
		if res.Partial != 1 || res.New != 8 {
			t.Fatalf("fetch with a size limit: %+v", res)
		}
		// The partial message stays on the server; the others are gone.
		if n := serverCount(t, r); n != 1 {
			t.Fatalf("server holds %d, want the 1 partial", n)
		}
		var partial storage.Summary
		sums, _ := s.Summaries(storage.Inbox)
		for _, m := range sums {
			if m.Partial {
				partial = m
			}
		}
		// msgs[3] is the big one; Dovecot's LIST counts it with CRLF line ends.
		if want := int64(len(msgs[3]) + strings.Count(string(msgs[3]), "\n")); partial.Subject != "message 3" || partial.ServerSize != want {
			t.Fatalf("partial message %q has ServerSize %d, want %d (the LIST size)", partial.Subject, partial.ServerSize, want)
		}
		full, err := FetchRest(context.Background(), a, s, partial.UIDL, secrets())
		if err != nil {
			t.Fatal(err)
		}
		if full.Partial || full.ServerSize != 0 || full.Key != partial.Key || full.Size < 200<<10 {
			t.Fatalf("after FetchRest: %+v", full)
		}
		if res := mustFetch(t, a, s, FetchOptions{}); res.DeletedOnServer != 1 {
			t.Fatalf("the completed message was not deleted next time: %+v", res)
		}
	})

	t.Run("wrong password", func(t *testing.T) {
		r := startDovecot(t, msgs[:1])
		s := openTestStore(t)
		var events []Event
		_, err := Fetch(context.Background(), r.acct, s, FetchOptions{Secrets: MemSecrets{"work": "nope"}, Events: func(e Event) { events = append(events, e) }})
		var pe *pop.Error
		if !errors.As(err, &pe) || !pe.IsAuthFailure() {
			t.Fatalf("Fetch with a wrong password = %v", err)
		}
		checkEvents(t, events, Failed, 0)
		if what, _ := Explain(err, "work"); !strings.Contains(what, "Wrong user name or password") {
			t.Errorf("Explain = %q", what)
		}
	})
}

// checkEvents asserts one Started, exactly one outcome (the last event), and stored counts.
func checkEvents(t *testing.T, events []Event, outcome EventKind, stored int) {
	t.Helper()
	if len(events) == 0 || events[0].Kind != Started {
		t.Fatalf("events do not start with Started: %+v", events)
	}
	outcomes, n := 0, 0
	for _, e := range events {
		switch e.Kind {
		case Finished, Failed, Cancelled:
			outcomes++
		case MessageStored:
			n++
		}
	}
	if outcomes != 1 || events[len(events)-1].Kind != outcome {
		t.Fatalf("%d outcomes, last %v; want one %v", outcomes, events[len(events)-1].Kind, outcome)
	}
	if n != stored {
		t.Fatalf("%d MessageStored events, want %d", n, stored)
	}
}

// popRig serves messages from pop/popserver, with fault hooks.
type popRig struct {
	srv  *popserver.Server
	mbox *popserver.MemMailbox
	acct Account
}

func startPopserver(t *testing.T, cfg popserver.Config, msgs [][]byte) *popRig {
	t.Helper()
	cfg.Password = popserver.Users(map[string]string{"dana": "s3cret pw"})
	srv, err := popserver.Start(cfg, true, msgs...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	a := New("work", srv.Host, "dana")
	a.Port = srv.Port
	a.LeaveOnServer = false // the rigs start in delete mode; tests that keep mail say so
	a.Fingerprint = pop.CertFingerprint(srv.Cert.DER)
	return &popRig{srv: srv.Server, mbox: srv.Mailbox, acct: a}
}

// TestNoDeleBeforeDurable checks, at the moment each DELE reaches the server, that the message's
// file and ledger record are already on disk, as read by an independent Store.
func TestNoDeleBeforeDurable(t *testing.T) {
	msgs := testMail(40, 2)
	dir := t.TempDir()
	var mu sync.Mutex
	var violations []string
	deles := 0
	var rig *popRig
	rig = startPopserver(t, popserver.Config{Faults: &popserver.Faults{Reply: func(verb, args string) string {
		if verb != "DELE" {
			return ""
		}
		id, _ := strconv.Atoi(strings.TrimSpace(args))
		uid := rig.mbox.UIDs()[id-1]
		check, err := storage.Open(dir)
		if err != nil {
			mu.Lock()
			violations = append(violations, err.Error())
			mu.Unlock()
			return ""
		}
		l, _ := check.Ledger()
		e, ok := l[uid]
		mu.Lock()
		defer mu.Unlock()
		deles++
		if !ok {
			violations = append(violations, "DELE of "+uid+" before its ledger record")
			return ""
		}
		if p, err := check.MessagePath(storage.Inbox, e.Key); err != nil {
			violations = append(violations, "DELE of "+uid+" before its file: "+err.Error())
		} else if fi, err := os.Stat(p); err != nil || fi.Size() == 0 {
			violations = append(violations, "DELE of "+uid+" with no data")
		}
		return ""
	}}}, msgs)
	s, err := storage.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	res := mustFetch(t, rig.acct, s, FetchOptions{CommitEvery: 7})
	if res.DeletedOnServer != len(msgs) || deles != len(msgs) {
		t.Fatalf("result %+v, %d DELE seen", res, deles)
	}
	if len(violations) > 0 {
		t.Fatalf("%d violations, first: %s", len(violations), violations[0])
	}
	if rig.mbox.Len() != 0 {
		t.Fatalf("%d left on the server", rig.mbox.Len())
	}
}

func TestFetchServerErrors(t *testing.T) {
	tests := []struct {
		name     string
		reply    func(verb, args string) string
		retries  int
		wantCode string
		auth     bool
	}{
		{"in use is retried", func(v, _ string) string {
			if v == "PASS" || v == "AUTH" {
				return "-ERR [IN-USE] mailbox locked"
			}
			return ""
		}, 2, pop.CodeInUse, false},
		{"sys/temp is retried", func(v, _ string) string {
			if v == "UIDL" {
				return "-ERR [SYS/TEMP] try later"
			}
			return ""
		}, 2, pop.CodeSysTemp, false},
		{"auth failure is not retried", func(v, _ string) string {
			if v == "PASS" || v == "AUTH" {
				return "-ERR [AUTH] bad password"
			}
			return ""
		}, 0, pop.CodeAuth, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rig := startPopserver(t, popserver.Config{Faults: &popserver.Faults{Reply: tc.reply}}, testMail(2, 3))
			s := openTestStore(t)
			res, err := Fetch(context.Background(), rig.acct, s, FetchOptions{Secrets: secrets(), MaxRetries: 2, RetryDelay: 10 * time.Millisecond})
			var pe *pop.Error
			if !errors.As(err, &pe) || pe.Code != tc.wantCode || pe.IsAuthFailure() != tc.auth {
				t.Fatalf("Fetch = %v, want code %s", err, tc.wantCode)
			}
			if res.Retries != tc.retries || rig.srv.Sessions() != int64(tc.retries+1) {
				t.Fatalf("%d retries, %d sessions; want %d retries", res.Retries, rig.srv.Sessions(), tc.retries)
			}
		})
	}
}

func TestFetchQuitFailure(t *testing.T) {
	fail := true
	var mu sync.Mutex
	rig := startPopserver(t, popserver.Config{Faults: &popserver.Faults{Reply: func(v, _ string) string {
		mu.Lock()
		defer mu.Unlock()
		if v == "QUIT" && fail {
			fail = false
			return "-ERR [SYS/PERM] could not commit"
		}
		return ""
	}}}, testMail(5, 4))
	s := openTestStore(t)
	res, err := Fetch(context.Background(), rig.acct, s, FetchOptions{Secrets: secrets()})
	var qe *QuitError
	if !errors.As(err, &qe) || res.New != 5 {
		t.Fatalf("Fetch with a failing QUIT = %+v, %v", res, err)
	}
	res = mustFetch(t, rig.acct, s, FetchOptions{})
	if res.New != 0 || res.DeletedOnServer != 5 || len(localUIDLs(t, s)) != 5 {
		t.Fatalf("next fetch: %+v", res)
	}
}

func TestFetchWithoutUIDL(t *testing.T) {
	rig := startPopserver(t, popserver.Config{DisableUIDL: true}, testMail(6, 5))
	a := rig.acct
	a.LeaveOnServer = true
	s := openTestStore(t)
	notes := 0
	mustFetch(t, a, s, FetchOptions{Events: func(e Event) {
		if e.Kind == Note {
			notes++
		}
	}})
	if res := mustFetch(t, a, s, FetchOptions{}); res.New != 0 {
		t.Fatalf("re-check without UIDL fetched again: %+v", res)
	}
	if u := localUIDLs(t, s); len(u) != 6 || notes != 1 {
		t.Fatalf("%d messages, %d notes", len(u), notes)
	}
}

func TestFetchCancel(t *testing.T) {
	rig := startPopserver(t, popserver.Config{Faults: &popserver.Faults{ByteDelay: time.Millisecond}}, testMail(3, 6))
	s := openTestStore(t)
	ctx, cancel := context.WithCancel(context.Background())
	var events []Event
	go func() { time.Sleep(300 * time.Millisecond); cancel() }()
	_, err := Fetch(ctx, rig.acct, s, FetchOptions{Secrets: secrets(), Events: func(e Event) { events = append(events, e) }})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Fetch after cancel = %v", err)
	}
	if events[len(events)-1].Kind != Cancelled {
		t.Fatalf("last event %v, want Cancelled", events[len(events)-1].Kind)
	}
	if rig.mbox.Len() != 3 {
		t.Fatal("a cancelled fetch deleted messages")
	}
}

func TestFetchLocked(t *testing.T) {
	rig := startPopserver(t, popserver.Config{}, testMail(1, 7))
	s := openTestStore(t)
	unlock, _ := s.LockFetch()
	defer unlock()
	if _, err := Fetch(context.Background(), rig.acct, s, FetchOptions{Secrets: secrets()}); !errors.Is(err, storage.ErrFetchInProgress) {
		t.Fatalf("Fetch while locked = %v", err)
	}
}

func TestStoreDirPerAccount(t *testing.T) {
	if got := DataDir("/d", "work"); got != filepath.Join("/d", "work") {
		t.Fatal(got)
	}
}

// TestFetchIndexIsAScans: after a fetch in several commit groups, during which another program
// drops a message into new/, the Inbox index the store saves at Close holds every fetched message
// and the other program's, each as a fresh scan of the Maildir summarises it.
func TestFetchIndexIsAScans(t *testing.T) {
	msgs := testMail(40, 5)
	rig := startPopserver(t, popserver.Config{}, msgs)
	s := openTestStore(t)
	foreign := "1600000000.M1P1.other"
	dropped := false
	mustFetch(t, rig.acct, s, FetchOptions{CommitEvery: 6, Events: func(e Event) {
		if e.Kind == MessageStored && !dropped {
			dropped = true
			m := "From: other@example.org\nSubject: dropped in meanwhile\nDate: Mon, 2 Jan 2006 15:04:05 +0000\n\nhello\n"
			if err := os.WriteFile(filepath.Join(s.Dir(), "Maildir", "new", foreign), []byte(m), 0o600); err != nil {
				t.Error(err)
			}
		}
	}})
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	read := func() []string {
		t.Helper()
		fresh, err := storage.Open(s.Dir())
		if err != nil {
			t.Fatal(err)
		}
		sums, err := fresh.Newest(storage.Inbox, 1000) // from the index file when it is in step
		if err != nil {
			t.Fatal(err)
		}
		out := make([]string, len(sums))
		for i, m := range sums {
			m.Date = m.Date.UTC() // a Date from the index file has a zone of its own
			out[i] = fmt.Sprintf("%+v", m)
		}
		return out
	}
	saved := read()
	if err := os.Remove(filepath.Join(s.Dir(), "poplar", "index", "Inbox.idx")); err != nil {
		t.Fatal(err)
	}
	scanned := read()
	if len(scanned) != len(msgs)+1 || !strings.Contains(strings.Join(scanned, "\n"), "Key:"+foreign+" ") {
		t.Fatalf("a scan finds %d messages (want %d, %s among them)", len(scanned), len(msgs)+1, foreign)
	}
	if strings.Join(saved, "\n") != strings.Join(scanned, "\n") {
		t.Errorf("index saved after the fetch:\n%s\na fresh scan:\n%s", strings.Join(saved, "\n"), strings.Join(scanned, "\n"))
	}
}
