package account

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/poplar-mail/poplar/pop"
	"github.com/poplar-mail/poplar/pop/popserver"
	"github.com/poplar-mail/poplar/storage"
)

// The tests in this file cover the holes of issue 10: hostile messages, hostile servers and
// unsafe defaults, each through a whole fetch.

// TestForgedPoplarHeaders: a sender who writes Poplar's own header fields into a message changes
// nothing Poplar believes: the message they name is still fetched and never deleted unstored, and
// a forged "partial" mark neither keeps a whole message on the server nor hides it.
func TestForgedPoplarHeaders(t *testing.T) {
	rig := startPopserver(t, popserver.Config{}, nil)
	forged := "From: mallory@example.org\nX-Poplar-UIDL: victim-2\nX-Poplar-Partial: yes\nSubject: forged\n\nhello\n"
	victim := "From: bank@example.org\nSubject: your statement\n\nsecret\n"
	rig.mbox.Add("mallory-1", []byte(forged))
	rig.mbox.Add("victim-2", []byte(victim))
	s := openTestStore(t)
	res := mustFetch(t, rig.acct, s, FetchOptions{}) // delete mode
	if res.New != 2 || res.DeletedOnServer != 2 {
		t.Fatalf("fetch: %+v, want both stored and then deleted", res)
	}
	check := func(when string) {
		t.Helper()
		u := localUIDLs(t, s)
		if u["mallory-1"] != 1 || u["victim-2"] != 1 || len(u) != 2 {
			t.Fatalf("%s: stored UIDLs %v, want mallory-1 and victim-2 once each", when, u)
		}
		partial, err := s.PartialUIDLs()
		if err != nil || len(partial) != 0 {
			t.Fatalf("%s: partial UIDLs %v, %v; want none", when, partial, err)
		}
		sums, err := s.Summaries(storage.Inbox)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range sums {
			if m.UIDL == "victim-2" && m.Subject != "your statement" {
				t.Fatalf("%s: UIDL victim-2 belongs to %q", when, m.Subject)
			}
		}
	}
	check("after the fetch")
	if err := s.RebuildLedger(); err != nil {
		t.Fatal(err)
	}
	check("after a ledger rebuild")
	// The sender's fields stay visible in the source, but not as Poplar's own.
	for _, m := range mustSummaries(t, s) {
		if m.UIDL != "mallory-1" {
			continue
		}
		raw := readMessage(t, s, m)
		if !strings.HasPrefix(raw, "X-Poplar-UIDL: mallory-1\n") || !strings.Contains(raw, "victim-2") {
			t.Fatalf("stored forged message:\n%s", raw)
		}
	}
}

func mustSummaries(t *testing.T, s *storage.Store) []storage.Summary {
	t.Helper()
	sums, err := s.Summaries(storage.Inbox)
	if err != nil {
		t.Fatal(err)
	}
	return sums
}

func readMessage(t *testing.T, s *storage.Store, m storage.Summary) string {
	t.Helper()
	rc, err := s.OpenMessage(m.Folder, m.Key)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	var b strings.Builder
	buf := make([]byte, 4096)
	for {
		n, err := rc.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			break
		}
	}
	return b.String()
}

// goroutineID is the id of the calling goroutine, read from its stack header.
func goroutineID() string {
	buf := make([]byte, 64)
	buf = buf[:runtime.Stack(buf, false)]
	f := strings.Fields(string(buf))
	if len(f) < 2 {
		return ""
	}
	return f[1]
}

// TestEventsInOrderFromOneGoroutine: with several commit groups, every event comes from the
// goroutine that called Fetch, in order: Started first, one outcome last, every message stored
// reported once, and progress never going backwards. The slice is appended without a lock, so
// -race also catches a second goroutine.
func TestEventsInOrderFromOneGoroutine(t *testing.T) {
	msgs := testMail(60, 11)
	rig := startPopserver(t, popserver.Config{}, msgs)
	s := openTestStore(t)
	me := goroutineID()
	var events []Event
	var others []string
	mustFetch(t, rig.acct, s, FetchOptions{CommitEvery: 4, Events: func(e Event) {
		if id := goroutineID(); id != me {
			others = append(others, fmt.Sprintf("%v on goroutine %s", e.Kind, id))
		}
		events = append(events, e)
	}})
	if len(others) > 0 {
		t.Fatalf("%d events came from another goroutine than Fetch's (%s), first: %s", len(others), me, others[0])
	}
	checkEvents(t, events, Finished, len(msgs))
	last := 0
	for _, e := range events {
		if e.Kind == Progress {
			if e.Messages < last {
				t.Fatalf("progress went back from %d to %d", last, e.Messages)
			}
			last = e.Messages
		}
	}
}

// TestOversizeMessageLeftOnServer: a message above the maximum size is not downloaded, is left on
// the server even in delete mode, and the user is told.
func TestOversizeMessageLeftOnServer(t *testing.T) {
	rig := startPopserver(t, popserver.Config{}, [][]byte{[]byte("Subject: small\n\nhi\n"), []byte("Subject: big\n\n" + strings.Repeat("x", 5000) + "\n")})
	s := openTestStore(t)
	var notes []string
	res := mustFetch(t, rig.acct, s, FetchOptions{MaxMessageSize: 1000, Events: func(e Event) {
		if e.Kind == Note {
			notes = append(notes, e.Text)
		}
	}})
	if res.New != 1 || res.DeletedOnServer != 1 || rig.mbox.Len() != 1 {
		t.Fatalf("fetch: %+v, %d left on the server; want the small one stored and deleted, the big one left", res, rig.mbox.Len())
	}
	if len(notes) != 1 || !strings.Contains(notes[0], "larger than the 1000 bytes limit") || !strings.Contains(notes[0], "left on the server") {
		t.Fatalf("notes %q", notes)
	}
}

// TestNoRoomStopsBeforeTheDiskFills: when storing the next message would leave less free space
// than Poplar keeps, the fetch stops with a plain error before writing it, deletes nothing, and is
// not retried; with room again the next fetch finishes the job.
func TestNoRoomStopsBeforeTheDiskFills(t *testing.T) {
	msgs := testMail(5, 12)
	rig := startPopserver(t, popserver.Config{}, msgs)
	s := openTestStore(t)
	free, err := s.FreeSpace()
	if err != nil || free <= 0 {
		t.Fatalf("FreeSpace = %d, %v", free, err)
	}
	res, err := Fetch(context.Background(), rig.acct, s, FetchOptions{Secrets: secrets(), MinFreeSpace: free + 1<<30})
	var se *StoreError
	if !errors.As(err, &se) || !errors.Is(err, ErrNoSpace) || res.Retries != 0 {
		t.Fatalf("Fetch with no room = %+v, %v; want a StoreError wrapping ErrNoSpace, no retry", res, err)
	}
	if what, _ := Explain(err, "work"); !strings.Contains(what, "No room left on the disk") {
		t.Fatalf("Explain = %q", what)
	}
	if n := len(localUIDLs(t, s)); n != 0 || rig.mbox.Len() != len(msgs) {
		t.Fatalf("%d stored, %d on the server; want nothing stored and nothing deleted", n, rig.mbox.Len())
	}
	res = mustFetch(t, rig.acct, s, FetchOptions{})
	if res.New != len(msgs) || rig.mbox.Len() != 0 {
		t.Fatalf("fetch with room: %+v", res)
	}
}

// TestLoginDelayIsCapped: a server announcing a LOGIN-DELAY of ten years blocks the account for
// at most MaxLoginDelay, a bogus time on disk is ignored, and the error shows date and time.
func TestLoginDelayIsCapped(t *testing.T) {
	rig := startPopserver(t, popserver.Config{LoginDelay: 10 * 365 * 24 * 3600}, testMail(1, 13))
	a := rig.acct
	a.LeaveOnServer = true
	s := openTestStore(t)
	start := time.Now()
	mustFetch(t, a, s, FetchOptions{})
	if next := s.NextLogin(); next.After(start.Add(MaxLoginDelay + time.Minute)) {
		t.Fatalf("next login recorded at %v, more than %v ahead", next, MaxLoginDelay)
	}
	_, err := Fetch(context.Background(), a, s, FetchOptions{Secrets: secrets()})
	var le *LoginDelayError
	if !errors.As(err, &le) {
		t.Fatalf("a check right after = %v, want a LoginDelayError", err)
	}
	if want := le.RetryAt.Local().Format("2006"); !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), le.RetryAt.Local().Format("15:04")) {
		t.Fatalf("LoginDelayError %q lacks the date and time", err)
	}
	later := func() time.Time { return time.Now().Add(MaxLoginDelay + time.Minute) }
	if _, err := Fetch(context.Background(), a, s, FetchOptions{Secrets: secrets(), Now: later}); err != nil {
		t.Fatalf("a check after the capped delay = %v", err)
	}
	// A time far ahead on disk (written by a bug, or a server's bogus value) is not obeyed.
	if err := s.SetNextLogin(time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC)); err != nil {
		t.Fatal(err)
	}
	rig2 := startPopserver(t, popserver.Config{}, testMail(1, 14))
	b := rig2.acct
	if _, err := Fetch(context.Background(), b, s, FetchOptions{Secrets: secrets()}); err != nil {
		t.Fatalf("a check with a next-login time in 2100 on disk = %v", err)
	}
}

// TestUTF8HeadersStoredAsSent: a server that replaces mail with raw UTF-8 headers by a notice
// unless the client enables UTF8 (as Courier does) still delivers the original bytes.
func TestUTF8HeadersStoredAsSent(t *testing.T) {
	orig := "From: Zoë Brontë <zoe@example.org>\nSubject: Grüße aus Köln — 你好\nTo: me@example.org\n\nHallo!\n"
	rig := startPopserver(t, popserver.Config{UTF8Downgrade: true}, [][]byte{[]byte(orig)})
	s := openTestStore(t)
	mustFetch(t, rig.acct, s, FetchOptions{})
	sums := mustSummaries(t, s)
	if len(sums) != 1 {
		t.Fatalf("%d messages stored", len(sums))
	}
	raw := readMessage(t, s, sums[0])
	_, body, _ := strings.Cut(raw, "\n") // Poplar's own first line
	if body != orig {
		t.Fatalf("stored\n%q\nwant\n%q", body, orig)
	}
}

// TestStalledServerEndsTheFetch: a server that stops in the middle of a message, or sends a byte
// now and then, ends the fetch with a plain error after one retry at most; nothing partial stays
// in tmp/, nothing is deleted, and what a killed run left in tmp/ is cleared by the next fetch.
func TestStalledServerEndsTheFetch(t *testing.T) {
	tests := []struct {
		name   string
		delay  time.Duration // after each byte of a message; 0: the server falls silent instead
		target error
		what   string
	}{
		{"stops sending", 0, pop.ErrStalled, "stopped sending"},
		{"trickles", 150 * time.Millisecond, pop.ErrTooSlow, "sending too slowly"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var mu sync.Mutex
			downloads := 0 // sessions that asked for the first message
			rig := startPopserver(t, popserver.Config{Faults: &popserver.Faults{ByteDelay: tt.delay, Reply: func(verb, args string) string {
				if verb == "RETR" && strings.TrimSpace(args) == "1" {
					mu.Lock()
					downloads++
					mu.Unlock()
					if tt.delay == 0 {
						time.Sleep(1500 * time.Millisecond) // silent: not even the status line
					}
				}
				return ""
			}}}, testMail(2, 15))
			s := openTestStore(t)
			tmp := filepath.Join(s.Dir(), "Maildir", "tmp")
			left := filepath.Join(tmp, "1700000000.M1P99Q1Rdeadbeef.host")
			if err := os.WriteFile(left, []byte("X-Poplar-UIDL: m000001\nFrom: half"), 0o600); err != nil {
				t.Fatal(err)
			}
			// The stalled server's own session holds the mailbox lock until it notices the client
			// left, so a retry may first meet IN-USE, which is retried as usual.
			_, err := Fetch(context.Background(), rig.acct, s, FetchOptions{Secrets: secrets(), Timeout: 700 * time.Millisecond,
				MaxRetries: 6, RetryDelay: 300 * time.Millisecond})
			if !errors.Is(err, tt.target) {
				t.Fatalf("Fetch = %v, want %v", err, tt.target)
			}
			mu.Lock()
			defer mu.Unlock()
			if downloads != 2 {
				t.Fatalf("%d sessions downloaded; a stall is retried once", downloads)
			}
			if what, _ := Explain(err, "work"); !strings.Contains(what, tt.what) {
				t.Fatalf("Explain = %q, want %q", what, tt.what)
			}
			des, _ := os.ReadDir(tmp)
			if len(des) != 0 {
				t.Fatalf("tmp/ holds %d files after the fetch, first %s", len(des), des[0].Name())
			}
			if rig.mbox.Len() != 2 || len(localUIDLs(t, s)) != 0 {
				t.Fatalf("%d on the server, %d stored", rig.mbox.Len(), len(localUIDLs(t, s)))
			}
		})
	}
}

// TestLongUIDLs: a server whose unique ids exceed what the store keeps as is still works: each
// message is stored once, found again on the next check, and deleted when the policy says so.
func TestLongUIDLs(t *testing.T) {
	rig := startPopserver(t, popserver.Config{}, nil)
	for i := range 3 {
		rig.mbox.Add(fmt.Sprintf("%d-%s", i, strings.Repeat("u", 600)), testMail(3, 16)[i])
	}
	a := rig.acct
	a.LeaveOnServer = true
	s := openTestStore(t)
	var notes []string
	res := mustFetch(t, a, s, FetchOptions{Events: func(e Event) {
		if e.Kind == Note {
			notes = append(notes, e.Text)
		}
	}})
	if res.New != 3 || len(notes) != 1 || !strings.Contains(notes[0], "longer than 512 bytes") {
		t.Fatalf("first fetch %+v, notes %q", res, notes)
	}
	if res := mustFetch(t, a, s, FetchOptions{}); res.New != 0 || res.Skipped != 3 {
		t.Fatalf("second fetch %+v, want all 3 recognised", res)
	}
	a.LeaveOnServer = false
	if res := mustFetch(t, a, s, FetchOptions{}); res.DeletedOnServer != 3 || rig.mbox.Len() != 0 {
		t.Fatalf("delete-mode fetch %+v, %d left", res, rig.mbox.Len())
	}
}

// TestOAuth2TokenOnEveryPath: an OAuth2 account signs in with its token on every path that logs
// in — fetch, Test connection and "Download the rest" — since they share one dial-and-login.
func TestOAuth2TokenOnEveryPath(t *testing.T) {
	big := "Subject: big\n\n" + strings.Repeat("the rest of the message\n", 200)
	rig := startPopserver(t, popserver.Config{Tokens: popserver.Users(map[string]string{"dana": "ya29.token"})}, [][]byte{[]byte(big)})
	a := rig.acct
	a.Auth, a.LeaveOnServer, a.SizeLimitKB = "oauth2", true, 1
	sec := MemSecrets{"work": "ya29.token"}
	if _, _, err := TestConnection(context.Background(), a, "ya29.token"); err != nil {
		t.Fatalf("TestConnection with a token: %v", err)
	}
	s := openTestStore(t)
	if res := mustFetch(t, a, s, FetchOptions{Secrets: sec}); res.New != 1 || res.Partial != 1 {
		t.Fatalf("fetch: %+v, want one header-only message", res)
	}
	// The header-only copy knows the message's size on the server, for "Download the rest".
	list, err := rig.mbox.List()
	if err != nil || len(list) != 1 {
		t.Fatalf("server list %+v, %v", list, err)
	}
	if m := mustSummaries(t, s); len(m) != 1 || !m[0].Partial || m[0].ServerSize != list[0].Size || m[0].Size >= list[0].Size {
		t.Fatalf("stored %+v; want partial with ServerSize %d (the server's LIST size)", m, list[0].Size)
	}
	sum, err := FetchRest(context.Background(), a, s, "m000001", sec)
	if err != nil || sum.Partial || sum.ServerSize != 0 {
		t.Fatalf("FetchRest with a token = %+v, %v; want whole, ServerSize 0", sum, err)
	}
	if raw := readMessage(t, s, sum); !strings.HasSuffix(raw, big) {
		t.Fatalf("after FetchRest the message is %d bytes, want the whole %d", len(raw), len(big))
	}
}
