package account

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/poplar-mail/poplar/account/compose"
	"github.com/poplar-mail/poplar/pop"
	"github.com/poplar-mail/poplar/storage"
)

// Sending. A message to send is first stored in the account's Outbox with its envelope
// (storage.Queue: durable before any network I/O). Send then, for one Outbox entry, under the
// account's send lock:
//
//  1. connects (implicit TLS, STARTTLS or none), says EHLO, signs in (AUTH);
//  2. MAIL FROM, RCPT TO for each envelope recipient (a recipient refused for good fails the whole
//     message before DATA, so fixing the address and sending again reaches nobody twice);
//  3. streams the stored file as DATA and, before the final dot, records the entry
//     storage.OutboxSending durably;
//  4. reads the reply: 250 records storage.OutboxSent and moves the message to Sent (and flags the
//     message it answers); 4xx records OutboxQueued with the server's words; 5xx OutboxFailed.
//
// A connection lost, or a process killed, after step 3 leaves OutboxSending: the server may have
// accepted the message, so it becomes storage.OutboxMaybeSent and is never sent again unless the
// user says so (SendOptions.Force).

// SendOptions configure SendEntry and Flush.
type SendOptions struct {
	Secrets SecretStore   // where the outgoing password is; nil means the OS keyring
	Timeout time.Duration // network deadline of each read and write; 0 means 60 s
	// Force sends an entry that may have been sent already (storage.OutboxMaybeSent), after the
	// user was told. Without it such an entry is refused with a *SendError.
	Force bool
	Now   func() time.Time // the clock of LastTry; nil means time.Now
}

// SendError is a Send that did not deliver the message: the entry's state after it (Status:
// storage.OutboxQueued for a temporary failure or a local problem, OutboxFailed for a refusal,
// OutboxMaybeSent when the server may have taken it) and why.
type SendError struct {
	Account string
	Key     string
	Status  storage.OutboxStatus
	// Temporary reports whether trying again later, unchanged, may work: a 4xx reply, a network
	// failure, another sender at work. Wrong passwords, certificates and settings are not.
	Temporary bool
	Err       error
}

func (e *SendError) Error() string {
	switch e.Status {
	case storage.OutboxMaybeSent:
		return fmt.Sprintf("account: a message of %s may have been sent (the connection ended before the server confirmed it); it was not sent again: %v", e.Account, e.Err)
	case storage.OutboxFailed:
		return fmt.Sprintf("account: the outgoing server of %s refused the message: %v", e.Account, e.Err)
	}
	return fmt.Sprintf("account: sending a message of %s: %v", e.Account, e.Err)
}

func (e *SendError) Unwrap() error { return e.Err }

// IsTemporarySend reports whether err is a Send that failed for now and left the message queued to
// be tried again (exit status 75 of the command line).
func IsTemporarySend(err error) bool {
	var se *SendError
	return errors.As(err, &se) && se.Temporary
}

// RecipientError is one recipient the server refused at RCPT.
type RecipientError struct {
	Address string
	Err     *smtp.SMTPError
}

// RecipientsError lists the recipients the server refused; nothing was sent to anyone.
type RecipientsError struct{ Refused []RecipientError }

func (e *RecipientsError) Error() string {
	parts := make([]string, len(e.Refused))
	for i, r := range e.Refused {
		parts[i] = fmt.Sprintf("<%s>: %s", r.Address, smtpWords(r.Err))
	}
	return "account: recipients refused: " + strings.Join(parts, "; ")
}

// temporary reports whether every refusal is temporary (4xx).
func (e *RecipientsError) temporary() bool {
	for _, r := range e.Refused {
		if !r.Err.Temporary() {
			return false
		}
	}
	return true
}

// ErrMaybeSent means the entry may have been sent already and Force was not given.
var ErrMaybeSent = errors.New("account: this message may have been sent already; send it again only if its recipients did not get it")

// Send sends the Outbox entry key of account a through its outgoing server, with the password
// from secrets (nil: the OS keyring). See SendEntry.
func Send(ctx context.Context, a Account, s *storage.Store, key string, secrets SecretStore) error {
	return SendEntry(ctx, a, s, key, SendOptions{Secrets: secrets})
}

// SendEntry sends one Outbox entry (see the order above) and returns nil when the server accepted
// it and it is in Sent, else a *SendError (or a *NoOutgoingServerError, or storage.ErrNotFound).
// A failed entry (OutboxFailed) is tried again: the caller asked for it. It takes the account's
// send lock (storage.ErrSendInProgress, temporary, when another sender holds it).
func SendEntry(ctx context.Context, a Account, s *storage.Store, key string, opts SendOptions) error {
	if !a.CanSend() {
		return &NoOutgoingServerError{Account: a.Name}
	}
	unlock, err := s.LockSend()
	if err != nil {
		return &SendError{Account: a.Name, Key: key, Status: storage.OutboxQueued, Temporary: true, Err: err}
	}
	defer unlock()
	return sendLocked(ctx, a, s, key, opts)
}

// Flush sends every queued Outbox entry of a once, oldest first, and finishes the move to Sent of
// entries a crash left behind. Entries that failed for good or may have been sent are left alone
// (Force sends the latter too). It stops at the first failure that is not about one message (no
// password, network down, wrong password, certificate) and returns how many it sent and the
// failures joined.
func Flush(ctx context.Context, a Account, s *storage.Store, opts SendOptions) (sent int, err error) {
	if !a.CanSend() {
		return 0, &NoOutgoingServerError{Account: a.Name}
	}
	unlock, err := s.LockSend()
	if err != nil {
		return 0, &SendError{Account: a.Name, Status: storage.OutboxQueued, Temporary: true, Err: err}
	}
	defer unlock()
	entries, err := s.OutboxEntries()
	if err != nil {
		return 0, err
	}
	var errs []error
	for _, e := range entries {
		switch st := e.State.Status; {
		case st == storage.OutboxFailed:
			continue
		case (st == storage.OutboxMaybeSent || st == storage.OutboxSending) && !opts.Force:
			// OutboxEntries saw "sending" as ours (the lock is held here): a dead sender's.
			if st == storage.OutboxSending {
				markMaybeSent(s, e.Key, e.State)
			}
			continue
		}
		err := sendLocked(ctx, a, s, e.Key, opts)
		if err == nil {
			sent++
			continue
		}
		errs = append(errs, err)
		var se *SendError
		var re *RecipientsError
		if ctx.Err() != nil || !errors.As(err, &se) || (se.Status == storage.OutboxQueued && !errors.As(err, &re)) {
			break // not about this message: the others would fail alike
		}
	}
	return sent, errors.Join(errs...)
}

// FlushOutbox sends every queued Outbox entry once (Flush without Force).
func FlushOutbox(ctx context.Context, a Account, s *storage.Store, secrets SecretStore) (sent int, err error) {
	return Flush(ctx, a, s, SendOptions{Secrets: secrets})
}

// markMaybeSent records an entry a dead sender left "sending" as "may have been sent".
func markMaybeSent(s *storage.Store, key string, st storage.OutboxState) error {
	st.Status = storage.OutboxMaybeSent
	if st.Error == "" {
		st.Error = "the connection ended after the whole message was sent and before the server confirmed it"
	}
	return s.SetOutboxState(key, st)
}

// sendLocked is SendEntry with the send lock held.
func sendLocked(ctx context.Context, a Account, s *storage.Store, key string, opts SendOptions) error {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	e, err := s.OutboxEntry(key)
	if err != nil {
		return err
	}
	st := e.State
	fail := func(status storage.OutboxStatus, temporary bool, err error) error {
		st.Status = status
		st.Error = errorWords(err)
		if serr := s.SetOutboxState(key, st); serr != nil {
			err = errors.Join(err, serr)
		}
		return &SendError{Account: a.Name, Key: key, Status: status, Temporary: temporary, Err: err}
	}
	switch st.Status {
	case storage.OutboxSent:
		return finishSent(s, key, st) // a crash came between the server's yes and the move
	case storage.OutboxSending:
		// With the send lock held, "sending" is a dead sender's: the server may have it.
		if !opts.Force {
			markMaybeSent(s, key, st)
			return &SendError{Account: a.Name, Key: key, Status: storage.OutboxMaybeSent, Err: ErrMaybeSent}
		}
	case storage.OutboxMaybeSent:
		if !opts.Force {
			return &SendError{Account: a.Name, Key: key, Status: storage.OutboxMaybeSent, Err: ErrMaybeSent}
		}
	}
	f, err := s.OpenMessage(storage.Outbox, key)
	if err != nil {
		return err
	}
	defer f.Close()
	var body io.Reader = f
	from, to := st.From, st.To
	if from == "" || len(to) == 0 {
		// Put in the Outbox without an envelope (storage.AddToFolder, another program): take it
		// from the header, as `poplar send --raw` does, and leave the Bcc fields out (every time:
		// the envelope is not recorded, so a retry does the same).
		hf, rcpts, msg, err := compose.PrepareRaw(f)
		if err != nil {
			return fail(storage.OutboxFailed, false, fmt.Errorf("account: the message has no envelope and its header gives none: %w", err))
		}
		from, to, body = hf, rcpts, msg
	}
	size := int64(0)
	if sf, ok := f.(interface{ Stat() (os.FileInfo, error) }); ok {
		if fi, err := sf.Stat(); err == nil {
			size = fi.Size()
		}
	}
	st.Attempts++
	st.LastTry = opts.Now().UTC()

	c, stop, err := dialSMTP(ctx, a, opts.Timeout)
	if err != nil {
		return fail(storage.OutboxQueued, retryableSend(ctx, err), err)
	}
	defer stop()
	defer c.Close()
	if err := smtpAuth(c, a, func() (string, error) { return SMTPLoginSecret(ctx, a, opts.Secrets) }); err != nil {
		forgetToken(a, opts.Secrets, err)
		return fail(storage.OutboxQueued, retryableSend(ctx, err), err)
	}
	mo := &smtp.MailOptions{Size: size}
	if !isASCII(from) || !allASCII(to) {
		if ok, _ := c.Extension("SMTPUTF8"); !ok {
			return fail(storage.OutboxFailed, false, errors.New("account: an address is not ASCII and the outgoing server does not accept such addresses (no SMTPUTF8)"))
		}
		mo.UTF8 = true
	}
	if err := c.Mail(from, mo); err != nil {
		return fail(replyStatus(err), retryableSend(ctx, err), err)
	}
	var refused []RecipientError
	for _, rcpt := range to {
		err := c.Rcpt(rcpt, nil)
		var se *smtp.SMTPError
		switch {
		case err == nil:
		case errors.As(err, &se):
			refused = append(refused, RecipientError{Address: rcpt, Err: se})
		default:
			return fail(storage.OutboxQueued, retryableSend(ctx, err), err)
		}
	}
	if len(refused) > 0 {
		c.Reset()
		re := &RecipientsError{Refused: refused}
		if re.temporary() {
			return fail(storage.OutboxQueued, true, re)
		}
		return fail(storage.OutboxFailed, false, re)
	}
	w, err := c.Data()
	if err != nil {
		return fail(replyStatus(err), retryableSend(ctx, err), err)
	}
	if _, err := io.Copy(w, body); err != nil {
		if errors.Is(err, os.ErrClosed) || isLocalReadErr(err) {
			return fail(storage.OutboxQueued, false, err)
		}
		return fail(storage.OutboxQueued, retryableSend(ctx, err), err)
	}
	// From here the server may have the whole message: record so before it can.
	st.Status, st.Error = storage.OutboxSending, ""
	if err := s.SetOutboxState(key, st); err != nil {
		return &SendError{Account: a.Name, Key: key, Status: storage.OutboxQueued, Err: err}
	}
	_, err = w.CloseWithResponse()
	var se *smtp.SMTPError
	switch {
	case errors.As(err, &se):
		return fail(replyStatus(se), se.Temporary(), se)
	case err != nil:
		return fail(storage.OutboxMaybeSent, false, err)
	}
	st.Status, st.Error = storage.OutboxSent, ""
	if err := s.SetOutboxState(key, st); err != nil {
		// Sent, but not recorded: "sending" stays, and says "may have been sent". Never resent.
		return &SendError{Account: a.Name, Key: key, Status: storage.OutboxMaybeSent, Err: err}
	}
	c.Quit()
	return finishSent(s, key, st)
}

// finishSent moves a sent message to Sent and flags the message it answers. The message is sent:
// a failure here is about the local copy only.
func finishSent(s *storage.Store, key string, st storage.OutboxState) error {
	if err := s.CreateFolder(storage.Sent); err != nil {
		return &StoreError{Err: err}
	}
	if err := s.Move(storage.Outbox, storage.Sent, []string{key}); err != nil {
		return &StoreError{Err: fmt.Errorf("the message was sent, but not moved to Sent: %w", err)}
	}
	if st.AnswersKey != "" && st.AnswerFlag != 0 {
		// The answered message may have been moved or deleted since: that is no failure.
		s.SetFlags(st.AnswersFolder, []string{st.AnswersKey}, st.AnswerFlag, 0)
	}
	return nil
}

// replyStatus is the Outbox state after an SMTP reply error: queued for 4xx, failed for 5xx,
// queued for anything else (a network failure before the message was whole).
func replyStatus(err error) storage.OutboxStatus {
	var se *smtp.SMTPError
	if errors.As(err, &se) && se.Code >= 500 {
		return storage.OutboxFailed
	}
	return storage.OutboxQueued
}

// retryableSend reports whether trying again later may help: 4xx replies and network failures.
func retryableSend(ctx context.Context, err error) bool {
	var se *smtp.SMTPError
	var ce *pop.CertificateError
	switch {
	case ctx.Err() != nil:
		return false
	case errors.As(err, &se):
		return se.Temporary()
	case errors.As(err, &ce), errors.Is(err, ErrSMTPNoSTARTTLS), errors.Is(err, ErrSMTPInsecureAuth), errors.Is(err, ErrSMTPInjection),
		errors.Is(err, ErrSMTPNoMechanism), errors.Is(err, ErrNoSecret), errors.Is(err, ErrNoKeyring):
		return false
	}
	var oe *net.OpError
	var de *net.DNSError
	return errors.As(err, &oe) || errors.As(err, &de) || errors.Is(err, os.ErrDeadlineExceeded) || errors.Is(err, io.EOF) ||
		errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, net.ErrClosed)
}

// isLocalReadErr reports whether a DATA copy failed reading the stored file rather than writing
// to the server.
func isLocalReadErr(err error) bool {
	var pe *os.PathError
	return errors.As(err, &pe) && pe.Op == "read"
}

// errorWords is what the Outbox keeps of a failure: the server's words when it gave some.
func errorWords(err error) string {
	var se *smtp.SMTPError
	var re *RecipientsError
	switch {
	case errors.As(err, &re):
		return strings.TrimPrefix(re.Error(), "account: ")
	case errors.As(err, &se):
		return smtpWords(se)
	}
	return pop.CleanText(strings.TrimPrefix(err.Error(), "account: "))
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

func allASCII(ss []string) bool {
	for _, s := range ss {
		if !isASCII(s) {
			return false
		}
	}
	return true
}
