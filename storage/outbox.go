package storage

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"time"
)

// The Outbox holds mail waiting to be sent, one message file each, stored as it will be sent (no
// Poplar lines in front; its own X-Poplar-* fields renamed as at delivery). What the sender needs
// beside the file - the envelope (MAIL FROM and every RCPT, Bcc included, which the message does
// not show), the state of each attempt and the message it answers - is in DIR/poplar/outbox, a
// text file of JSON records, one per line, appended and fsynced under the store lock; the later
// record of a key wins, and a line that does not parse (a torn last line) is skipped. Once the file
// passes outboxCompactSize it is rewritten atomically with the records of the messages still in the
// Outbox. Nothing here touches the network: the sender (package account) drives the states.
const outboxFile = "outbox"

// outboxCompactSize is the size from which SetOutboxState tries to compact the file.
const outboxCompactSize = 256 << 10

// OutboxStatus is the state of a message in the Outbox.
type OutboxStatus string

// The states of an Outbox message. A message without a record is OutboxQueued.
const (
	OutboxQueued OutboxStatus = "queued" // waiting to be sent (also after a temporary failure, with Error)
	// OutboxSending is recorded, durably, before the end of the message (DATA's final dot) goes to
	// the server. Found while no sender holds the send lock (LockSend), it means the sender died
	// or lost the connection before the server's answer: OutboxEntries reports it as
	// OutboxMaybeSent.
	OutboxSending   OutboxStatus = "sending"
	OutboxMaybeSent OutboxStatus = "may-have-been-sent" // the server may have accepted it: never resent silently
	OutboxFailed    OutboxStatus = "failed"             // refused for good (Error has the server's words)
	OutboxSent      OutboxStatus = "sent"               // accepted: it moves to Sent (a crash may leave it here; the sender finishes the move)
)

// String returns the status as users read it: "queued", "sending", "may have been sent",
// "failed" or "sent".
func (st OutboxStatus) String() string {
	if st == OutboxMaybeSent {
		return "may have been sent"
	}
	if st == "" {
		return string(OutboxQueued)
	}
	return string(st)
}

// OutboxState is what the store records about a message in the Outbox.
type OutboxState struct {
	Status OutboxStatus `json:"status"`
	// From and To are the envelope: the MAIL FROM address and every RCPT address (Bcc included).
	From string   `json:"from,omitempty"`
	To   []string `json:"to,omitempty"`
	// Error is the reason of the last failed attempt, in the server's words when it gave some.
	Error    string    `json:"error,omitempty"`
	Attempts int       `json:"attempts,omitempty"`
	LastTry  time.Time `json:"last_try,omitzero"`
	// AnswersFolder and AnswersKey name the message this one answers or forwards; AnswerFlag
	// (FlagAnswered or FlagPassed) is set on it once this one is sent.
	AnswersFolder string `json:"answers_folder,omitempty"`
	AnswersKey    string `json:"answers_key,omitempty"`
	AnswerFlag    Flags  `json:"answer_flag,omitempty"`
}

// outboxRecord is one line of the outbox file.
type outboxRecord struct {
	Key string `json:"key"`
	OutboxState
}

// OutboxEntry is a message in the Outbox with its state.
type OutboxEntry struct {
	Summary
	State OutboxState
}

// ErrSendInProgress means another sender holds the account's send lock.
var ErrSendInProgress = errors.New("storage: another Poplar is sending mail of this account")

func (s *Store) outboxPath() string { return filepath.Join(s.state, outboxFile) }

// AddToFolder stores the message read from r in folder (made when missing) and returns its key:
// the delivery path (write into the folder's tmp/, fsync, rename into cur/ as read, fsync cur/),
// so the message is durable when it returns nil. The message's own X-Poplar-* fields are renamed as
// at delivery; no Poplar lines are put in front and no ledger record is made (the message did not
// come from the server). It holds the store lock while it writes; r is read to its end.
func (s *Store) AddToFolder(folder string, r io.Reader) (key string, err error) {
	return s.addToFolder(folder, r, nil)
}

// Queue stores the message read from r in the Outbox, as AddToFolder does, with st as its first
// state record (Status "" means OutboxQueued). The record is made durable before the message is
// renamed into the Outbox, so a message in the Outbox always has its envelope; a crash in between
// leaves a record without a message, which is ignored. It returns the message's key.
func (s *Store) Queue(r io.Reader, st OutboxState) (key string, err error) {
	if st.Status == "" {
		st.Status = OutboxQueued
	}
	return s.addToFolder(Outbox, r, func(key string) error { return s.appendOutbox(outboxRecord{Key: key, OutboxState: st}) })
}

// addToFolder stores r in folder; before, when set, runs after the data is durable and before the
// rename. The store lock is held throughout, so RemoveTmp leaves the file in tmp/ alone.
func (s *Store) addToFolder(folder string, r io.Reader, before func(key string) error) (string, error) {
	if folder != Inbox && folder != "" {
		if err := s.CreateFolder(folder); err != nil {
			return "", err
		}
	}
	p, err := s.folderPath(folder)
	if err != nil {
		return "", err
	}
	unlock, err := s.lock()
	if err != nil {
		return "", err
	}
	defer unlock()
	key := newKey(time.Now())
	tmp := filepath.Join(p, "tmp", key)
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return "", fmt.Errorf("storage: %w", err)
	}
	var nr neutralReader
	err = writeMessage(f, r, make([]byte, deliverBuffer), &nr, ownInfo{})
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil && before != nil {
		err = before(key)
	}
	if err == nil {
		err = renameNoReplace(tmp, filepath.Join(p, "cur", fileName(key, FlagSeen)))
	}
	if err != nil {
		os.Remove(tmp)
		return "", fmt.Errorf("storage: storing a message in %s: %w", folder, err)
	}
	if err := syncDir(filepath.Join(p, "cur")); err != nil {
		return "", err
	}
	if fo, err := s.folder(folder); err == nil {
		fo.invalidate()
	}
	return key, nil
}

// SetOutboxState records st as the state of the Outbox message key, durably (appended and fsynced
// under the store lock) when it returns nil.
func (s *Store) SetOutboxState(key string, st OutboxState) error {
	if key == "" {
		return errors.New("storage: empty key")
	}
	unlock, err := s.lock()
	if err != nil {
		return err
	}
	defer unlock()
	if fi, err := os.Stat(s.outboxPath()); err == nil && fi.Size() > outboxCompactSize {
		s.compactOutbox(fi.Size()) // failing costs only room on the disk
	}
	return s.appendOutbox(outboxRecord{Key: key, OutboxState: st})
}

// appendOutbox appends one record to the outbox file. The store lock is held.
func (s *Store) appendOutbox(rec outboxRecord) error {
	line, err := json.Marshal(rec)
	if err != nil {
		return fmt.Errorf("storage: %w", err)
	}
	if err := appendRecordLines(s.outboxPath(), s.state, []string{string(line)}); err != nil {
		return fmt.Errorf("storage: recording the state of an outgoing message: %w", err)
	}
	return nil
}

// readOutbox returns the latest record of each key.
func (s *Store) readOutbox() map[string]OutboxState {
	data, _ := os.ReadFile(s.outboxPath())
	return parseOutbox(data)
}

// parseOutbox reads the records of an outbox file, skipping the lines that do not parse.
func parseOutbox(data []byte) map[string]OutboxState {
	m := map[string]OutboxState{}
	for line := range bytes.Lines(data) {
		if !bytes.HasSuffix(line, []byte("\n")) {
			continue // torn
		}
		var rec outboxRecord
		if json.Unmarshal(line, &rec) != nil || rec.Key == "" {
			continue
		}
		m[rec.Key] = rec.OutboxState
	}
	return m
}

// compactOutbox rewrites the outbox file (size bytes) with the records of the messages in the
// Outbox, when that halves it at least. The store lock is held.
func (s *Store) compactOutbox(size int64) error {
	f, err := s.folder(Outbox)
	if err != nil {
		return err
	}
	states := s.readOutbox()
	var b bytes.Buffer
	f.mu.Lock()
	for _, e := range f.sorted {
		if st, ok := states[e.key()]; ok {
			line, _ := json.Marshal(outboxRecord{Key: e.key(), OutboxState: st})
			b.Write(line)
			b.WriteByte('\n')
		}
	}
	f.mu.Unlock()
	if int64(b.Len()) > size/2 {
		return nil
	}
	return writeFileAtomic(s.outboxPath(), b.Bytes())
}

// OutboxEntries lists the messages in the Outbox, oldest first, with their states. A message
// without a record is OutboxQueued; a message recorded OutboxSending while no sender holds the
// send lock is reported OutboxMaybeSent (the record is not changed). No Outbox folder means none.
func (s *Store) OutboxEntries() ([]OutboxEntry, error) {
	sums, err := s.Summaries(Outbox)
	if errors.Is(err, ErrNoFolder) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	states := s.readOutbox()
	sending := false
	for _, st := range states {
		sending = sending || st.Status == OutboxSending
	}
	if sending {
		if unlock, err := s.LockSend(); err == nil {
			unlock()
		} else {
			sending = false // a sender is at work: "sending" is true
		}
	}
	out := make([]OutboxEntry, 0, len(sums))
	for _, m := range slices.Backward(sums) {
		st := states[m.Key]
		if st.Status == "" {
			st.Status = OutboxQueued
		}
		if st.Status == OutboxSending && sending {
			st.Status = OutboxMaybeSent
		}
		out = append(out, OutboxEntry{Summary: m, State: st})
	}
	return out, nil
}

// OutboxEntry returns the Outbox message key with its recorded state (as recorded: OutboxSending
// is not turned into OutboxMaybeSent; a sender holding LockSend knows it is its own or a dead
// one's). It returns ErrNotFound when the Outbox has no such message.
func (s *Store) OutboxEntry(key string) (OutboxEntry, error) {
	m, err := s.Summary(Outbox, key)
	if errors.Is(err, ErrNoFolder) {
		err = fmt.Errorf("%w: %s/%s", ErrNotFound, Outbox, key)
	}
	if err != nil {
		return OutboxEntry{}, err
	}
	st := s.readOutbox()[key]
	if st.Status == "" {
		st.Status = OutboxQueued
	}
	return OutboxEntry{Summary: m, State: st}, nil
}

// LockSend takes the account's send lock without waiting: one sender per account at a time,
// across processes. It returns ErrSendInProgress when another holds it. Call unlock once.
func (s *Store) LockSend() (unlock func(), err error) {
	u, err := flock(filepath.Join(s.state, "send.lock"), false)
	if errors.Is(err, errLockHeld) {
		return nil, ErrSendInProgress
	}
	return u, err
}
