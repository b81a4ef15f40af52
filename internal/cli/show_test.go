package cli

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/poplar-mail/poplar/storage/mailview/mailviewtest"
)

// TestShowDamagedAttachments: a damaged attachment never hides the message. show prints it,
// saves the good attachment byte-exact, keeps what could be decoded of each damaged one under
// NAME.partial only, names each on stderr with the reason, and exits 3.
func TestShowDamagedAttachments(t *testing.T) {
	msg := filepath.Join(t.TempDir(), "damaged.eml")
	if err := os.WriteFile(msg, []byte(mailviewtest.DamagedMessage()), 0o600); err != nil {
		t.Fatal(err)
	}
	save := filepath.Join(t.TempDir(), "out")
	code, out, errs := run(t, "", "show", "--data-dir", t.TempDir(), "--save-attachments", save, msg)
	if code != 3 {
		t.Errorf("show exit status %d, want 3 (shown, not every attachment saved); stderr:\n%s", code, errs)
	}
	for _, want := range []string{"Subject: Damaged parts", "The report is attached.", "good.bin", "Saved " + filepath.Join(save, "good.bin")} {
		if !strings.Contains(out, want) {
			t.Errorf("stdout lacks %q:\n%s", want, out)
		}
	}
	stderrWants := []struct{ name, reason string }{{"bad.doc", "bad base64"}, {"cut.pdf", "truncated"}}
	lines := strings.Split(strings.TrimSpace(errs), "\n")
	if len(lines) != len(stderrWants) {
		t.Errorf("stderr has %d lines, want one per damaged attachment:\n%s", len(lines), errs)
	}
	for _, w := range stderrWants {
		found := false
		for _, l := range lines {
			found = found || (strings.Contains(l, w.name+" is damaged ("+w.reason+")") && strings.Contains(l, "incomplete"))
		}
		if !found {
			t.Errorf("stderr does not name %s with reason %q:\n%s", w.name, w.reason, errs)
		}
	}
	if strings.Contains(errs, "good.bin") {
		t.Errorf("stderr names the intact attachment:\n%s", errs)
	}
	if b, err := os.ReadFile(filepath.Join(save, "good.bin")); err != nil || !bytes.Equal(b, mailviewtest.GoodAttachment()) {
		t.Errorf("good.bin: %d bytes, %v; want the attachment byte-exact", len(b), err)
	}
	entries, _ := os.ReadDir(save)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	sort.Strings(names)
	if got, want := strings.Join(names, " "), "bad.doc.partial cut.pdf.partial good.bin"; got != want {
		t.Errorf("saved files %q, want %q (nothing damaged under its own name, no temporary files)", got, want)
	}

	// --json says the same to a program.
	code, out, _ = run(t, "", "show", "--json", "--save-attachments", t.TempDir(), msg)
	var js struct {
		Text     string
		Saved    []string
		NotSaved []struct{ Name, Reason, Partial string } `json:"not_saved"`
	}
	if err := json.Unmarshal([]byte(out), &js); err != nil || code != 3 {
		t.Fatalf("show --json: exit %d, %v", code, err)
	}
	if len(js.Saved) != 1 || len(js.NotSaved) != 2 || js.NotSaved[0].Reason != "bad base64" || !strings.HasSuffix(js.NotSaved[0].Partial, "bad.doc.partial") {
		t.Errorf("show --json: saved %q, not saved %+v", js.Saved, js.NotSaved)
	}

	// Without --save-attachments the message shows as usual, damage noted, exit 0.
	code, out, _ = run(t, "", "show", msg)
	if code != 0 || !strings.Contains(out, "bad.doc (application/msword, 12 bytes; damaged: bad base64)") {
		t.Errorf("show: exit %d:\n%s", code, out)
	}
	// The help documents the exit statuses.
	_, _, errs = run(t, "", "show", "-h")
	if !strings.Contains(errs, "3  the message was shown, but some attachments could not be saved") {
		t.Errorf("show -h does not document exit status 3:\n%s", errs)
	}
}
