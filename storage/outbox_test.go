package storage

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestOutbox: Queue stores the message as given (its X-Poplar-* fields renamed) with its
// envelope; states are recorded, the later record wins, a torn last line is skipped; "sending"
// with no sender holding the lock reads as "may have been sent"; moving to Sent works.
func TestOutbox(t *testing.T) {
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if e, err := s.OutboxEntries(); err != nil || len(e) != 0 {
		t.Fatalf("OutboxEntries of a new store = %v, %v", e, err)
	}
	msg := "X-Poplar-UIDL: forged\r\nFrom: me@example.org\r\nSubject: out\r\n\r\nbody\r\n"
	key, err := s.Queue(strings.NewReader(msg), OutboxState{From: "me@example.org", To: []string{"a@example.org", "bcc@example.org"}})
	if err != nil {
		t.Fatal(err)
	}
	p, err := s.MessagePath(Outbox, key)
	if err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(p)
	if want := "X-Original-Poplar-UIDL: forged\r\nFrom: me@example.org\r\nSubject: out\r\n\r\nbody\r\n"; string(data) != want {
		t.Fatalf("stored %q, want %q", data, want)
	}
	e, err := s.OutboxEntry(key)
	if err != nil || e.State.Status != OutboxQueued || e.State.From != "me@example.org" || len(e.State.To) != 2 || e.UIDL != "" || e.Subject != "out" {
		t.Fatalf("OutboxEntry = %+v, %v", e, err)
	}
	now := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	st := e.State
	st.Status, st.Attempts, st.LastTry = OutboxSending, 1, now
	if err := s.SetOutboxState(key, st); err != nil {
		t.Fatal(err)
	}
	// A torn record after it (a crash mid-append) is skipped.
	f, _ := os.OpenFile(filepath.Join(s.Dir(), "poplar", "outbox"), os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString(`{"key":"` + key + `","status":"fai`)
	f.Close()
	entries, err := s.OutboxEntries()
	if err != nil || len(entries) != 1 || entries[0].State.Status != OutboxMaybeSent || !entries[0].State.LastTry.Equal(now) {
		t.Fatalf("OutboxEntries with a dead sender's record = %+v, %v", entries, err)
	}
	unlock, err := s.LockSend()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.LockSend(); err != ErrSendInProgress {
		t.Fatalf("second LockSend = %v", err)
	}
	if entries, _ := s.OutboxEntries(); entries[0].State.Status != OutboxSending {
		t.Fatalf("with the send lock held, the entry reads %v, want sending", entries[0].State.Status)
	}
	unlock()
	st.Status, st.Error = OutboxFailed, "550 5.1.1 no such user"
	if err := s.SetOutboxState(key, st); err != nil {
		t.Fatal(err)
	}
	if e, _ := s.OutboxEntry(key); e.State.Status != OutboxFailed || e.State.Error != st.Error {
		t.Fatalf("after a record following a torn line: %+v", e.State)
	}
	if err := s.CreateFolder(Sent); err != nil {
		t.Fatal(err)
	}
	if err := s.Move(Outbox, Sent, []string{key}); err != nil {
		t.Fatal(err)
	}
	if entries, _ := s.OutboxEntries(); len(entries) != 0 {
		t.Fatalf("Outbox after the move: %+v", entries)
	}
	if m, err := s.Summary(Sent, key); err != nil || m.Flags&FlagSeen == 0 {
		t.Fatalf("Sent: %+v, %v", m, err)
	}
}

// TestOutboxCompact: past outboxCompactSize the records of messages gone from the Outbox are
// dropped, and the others kept.
func TestOutboxCompact(t *testing.T) {
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	keep, err := s.Queue(strings.NewReader("Subject: keep\r\n\r\n"), OutboxState{From: "a@b", To: []string{"c@d"}})
	if err != nil {
		t.Fatal(err)
	}
	pad := strings.Repeat("x", 1000)
	for i := 0; i < 300; i++ {
		if err := s.SetOutboxState("gone"+pad, OutboxState{Status: OutboxFailed, Error: pad}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.SetOutboxState(keep, OutboxState{Status: OutboxFailed, Error: "x", From: "a@b", To: []string{"c@d"}}); err != nil {
		t.Fatal(err)
	}
	fi, _ := os.Stat(filepath.Join(s.Dir(), "poplar", "outbox"))
	if fi.Size() > outboxCompactSize {
		t.Fatalf("outbox file is %d bytes after compaction", fi.Size())
	}
	if e, _ := s.OutboxEntry(keep); e.State.Status != OutboxFailed || e.State.From != "a@b" {
		t.Fatalf("kept entry = %+v", e.State)
	}
}
