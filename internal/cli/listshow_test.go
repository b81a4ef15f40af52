package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// foreignMaildir writes a Maildir as another program (mutt, mpop) would: names without Poplar's
// header, one message seen in cur/.
func foreignMaildir(t *testing.T, data string) {
	t.Helper()
	md := filepath.Join(data, "home", "Maildir")
	for _, d := range []string{"cur", "new", "tmp"} {
		os.MkdirAll(filepath.Join(md, d), 0o700)
	}
	write := func(p, s string) {
		if err := os.WriteFile(filepath.Join(md, p), []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("new/1700000100.M1P1.otherhost", "From: Zoë <zoe@example.org>\nSubject: =?utf-8?q?Gr=C3=BC=C3=9Fe?=\nDate: Tue, 14 Nov 2023 22:15:00 +0000\n\nHallo!\n")
	write("cur/1600000000.M2P2.otherhost:2,S", "From: old@example.org\nSubject: older\nDate: Sun, 13 Sep 2020 12:26:40 +0000\nContent-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: text/html\n\n<p>Hi <img src=\"http://127.0.0.1:47124/t.gif\"></p>\n--b\nContent-Type: application/octet-stream\nContent-Disposition: attachment; filename=\"../../etc/passwd\"\n\nsecret\n--b--\n")
}

func TestListAndShowForeignMaildir(t *testing.T) {
	data := t.TempDir()
	foreignMaildir(t, data)
	code, out, errs := run(t, "", "list", "--data-dir", data)
	if code != 0 {
		t.Fatalf("list: exit %d: %s", code, errs)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 || !strings.Contains(lines[0], "Grüße") || !strings.HasPrefix(lines[0], "N") || !strings.Contains(lines[1], "older") || !strings.Contains(lines[1], "@") {
		t.Fatalf("list output:\n%s", out)
	}
	code, out, _ = run(t, "", "list", "--data-dir", data, "--json", "--limit", "1")
	var items []map[string]any
	if code != 0 || json.Unmarshal([]byte(out), &items) != nil || len(items) != 1 || items[0]["subject"] != "Grüße" {
		t.Fatalf("list --json: %d %s", code, out)
	}
	save := t.TempDir()
	code, out, errs = run(t, "", "show", "--data-dir", data, "--save-attachments", save, "home/1600000000.M2P2.otherhost")
	if code != 0 {
		t.Fatalf("show: exit %d: %s", code, errs)
	}
	for _, want := range []string{"From:    old@example.org", "Subject: older", "Hi", "remote content blocked (1 references)", "passwd (application/octet-stream"} {
		if !strings.Contains(out, want) {
			t.Errorf("show output lacks %q:\n%s", want, out)
		}
	}
	if b, err := os.ReadFile(filepath.Join(save, "passwd")); err != nil || string(b) != "secret" {
		t.Errorf("saved attachment: %q, %v", b, err)
	}
	// Saving again never overwrites.
	run(t, "", "show", "--data-dir", data, "--save-attachments", save, "home/1600000000.M2P2.otherhost")
	if _, err := os.Stat(filepath.Join(save, "passwd (2)")); err != nil {
		t.Errorf("second save did not pick a new name: %v", err)
	}
	code, _, errs = run(t, "", "show", "--data-dir", data, "home/nosuchkey")
	if code != 1 || !strings.Contains(errs, "no message") {
		t.Errorf("show of a missing key: %d %s", code, errs)
	}
}

// TestListLimitTwice: the second `list --limit`, which reads the start of the index file the
// first one wrote, prints what the first printed, and a message that arrived in between shows.
func TestListLimitTwice(t *testing.T) {
	data := t.TempDir()
	foreignMaildir(t, data)
	var outs []string
	for range 2 {
		code, out, errs := run(t, "", "list", "--data-dir", data, "--limit", "1")
		if code != 0 {
			t.Fatalf("list --limit 1: exit %d: %s", code, errs)
		}
		outs = append(outs, out)
	}
	if outs[0] != outs[1] || !strings.Contains(outs[0], "Grüße") || strings.Count(outs[0], "\n") != 1 {
		t.Fatalf("list --limit 1, twice:\n%s\n%s", outs[0], outs[1])
	}
	m := "From: new@example.org\nSubject: newer\nDate: Wed, 15 Nov 2023 08:00:00 +0000\n\nhi\n"
	if err := os.WriteFile(filepath.Join(data, "home", "Maildir", "new", "1700030000.M3P3.otherhost"), []byte(m), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, _ := run(t, "", "list", "--data-dir", data, "--limit", "1")
	if code != 0 || !strings.Contains(out, "newer") {
		t.Fatalf("list --limit 1 after a message arrived: %d\n%s", code, out)
	}
}
