package gui

import (
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2/test"

	"github.com/poplar-mail/poplar/account"
	"github.com/poplar-mail/poplar/account/compose"
	"github.com/poplar-mail/poplar/internal/dovecot"
	"github.com/poplar-mail/poplar/internal/postfix"
	"github.com/poplar-mail/poplar/storage"
	"github.com/poplar-mail/poplar/storage/mailview"
)

// TestComposerRoundTripPostfix: a message written in the composer goes through a real Postfix
// (submission with STARTTLS, AUTH through Dovecot), is delivered to the Maildir Dovecot serves,
// and Get Mail brings it back over POP3S: subject, text and the attachment's bytes are equal, the
// Bcc recipient got it too and no copy shows the Bcc, and the sent copy is in Sent.
func TestComposerRoundTripPostfix(t *testing.T) {
	dv := dovecot.StartT(t, dovecot.Options{Users: []dovecot.User{{Name: "alice", Password: "pw"}, {Name: "bob", Password: "pw2"}}})
	pf := postfix.StartT(t, dv, postfix.Options{})
	dir := t.TempDir()
	env := Env{ConfigDir: dir + "/config", DataDir: dir + "/data", Secrets: account.MemSecrets{"alice": "pw"}}
	host, port, _ := net.SplitHostPort(dv.POP3SAddr)
	a := account.New("alice", host, "alice")
	a.Port, _ = strconv.Atoi(port)
	a.CAFile, a.Email, a.DisplayName = dv.CAFile, pf.Address("alice"), "Alice Ünal"
	a.LeaveOnServer, a.CheckAtStartup = false, false
	sh, sp, _ := net.SplitHostPort(pf.SubmissionSTARTTLSAddr)
	spn, _ := strconv.Atoi(sp)
	a.SMTP = account.SMTPServer{Host: sh, Port: spn, Security: account.SecuritySTARTTLS}
	u, logs := startUI(t, env, a)

	attachment := make([]byte, 300<<10)
	for i := range attachment {
		attachment[i] = byte(i*7 + i/251)
	}
	file := filepath.Join(t.TempDir(), "data.bin")
	if err := os.WriteFile(file, attachment, 0o600); err != nil {
		t.Fatal(err)
	}
	var c *composer
	u.ui(func() {
		c = u.openComposer("alice", *compose.NewDraft(u.identity("alice")), nil)
		c.to.entry.SetText("Alice <" + pf.Address("alice") + ">")
		c.bcc.entry.SetText(pf.Address("bob"))
		c.subject.SetText("Round trip — ☕ café")
		c.body.SetText("Line one.\n.A line starting with a dot\nFrom here on.\n")
		c.attachFile(file)
		test.Tap(c.sendBtn)
	})
	waitFor(t, u, "the message in Sent", func() bool {
		s, err := u.store("alice")
		return err == nil && folderLen(s, storage.Sent) == 1
	})
	for _, user := range []string{"alice", "bob"} {
		if err := pf.WaitDelivered(user, 1, 20*time.Second); err != nil {
			t.Fatalf("not delivered to %s: %v\n%s", user, err, pf.Log())
		}
	}
	u.ui(u.getMail)
	waitLog(t, logs, "fetch of alice finished: 1 new")
	u.wait()
	s, _ := u.store("alice")
	sums, _ := s.Summaries(storage.Inbox)
	if len(sums) != 1 {
		t.Fatalf("Inbox holds %d", len(sums))
	}
	rc, err := s.OpenMessage(storage.Inbox, sums[0].Key)
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(rc)
	rc.Close()
	if err != nil {
		t.Fatal(err)
	}
	raw := string(b)
	m, err := mailview.Read(strings.NewReader(raw), mailview.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if m.Subject != "Round trip — ☕ café" || !strings.Contains(m.Text(), ".A line starting with a dot\nFrom here on.") {
		t.Errorf("fetched subject %q, text %q", m.Subject, m.Text())
	}
	if len(m.Attachments) != 1 || m.Attachments[0].Name != "data.bin" {
		t.Fatalf("attachments %+v", m.Attachments)
	}
	var got strings.Builder
	if _, err := mailview.ExtractAttachment(strings.NewReader(raw), m.Attachments[0].Index, &got); err != nil || got.String() != string(attachment) {
		t.Errorf("the attachment came back with %d bytes (%v), want the %d sent", got.Len(), err, len(attachment))
	}
	if strings.Contains(raw, pf.Address("bob")) {
		t.Error("the delivered copy names the Bcc recipient")
	}
}
