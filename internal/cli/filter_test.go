package cli

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/poplar-mail/poplar/account"
	"github.com/poplar-mail/poplar/storage"
)

// TestFilterCommands: poplar filter add, list, run --test, run and remove, with their exit codes.
func TestFilterCommands(t *testing.T) {
	cfgDir, dataDir := t.TempDir(), t.TempDir()
	dirs := []string{"--config-dir", cfgDir, "--data-dir", dataDir}
	if code, _, errs := run(t, "", append([]string{"account", "add", "work", "--host", "pop.example.org", "--user", "me"}, dirs...)...); code != 0 {
		t.Fatalf("account add: exit %d: %s", code, errs)
	}
	s, err := storage.Open(account.DataDir(dataDir, "work"))
	if err != nil {
		t.Fatal(err)
	}
	b := s.NewBatch()
	for i := range 5 {
		to := "me@example.org"
		if i < 3 {
			to = "dev@lists.example.org"
		}
		msg := fmt.Sprintf("From: José García <jose@example.es>\nTo: %s\nSubject: note %d\n\nbody\n", to, i)
		if _, err := b.Deliver(strings.NewReader(msg), storage.DeliverInfo{UIDL: fmt.Sprintf("u%d", i)}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := b.Commit(); err != nil {
		t.Fatal(err)
	}
	s.Close()

	steps := []struct {
		name string
		args []string
		code int
		out  string // in stdout (code 0) or stderr
	}{
		{"add", []string{"filter", "add", "--name", "Lists", "--if", "tocc:contains:lists.example.org", "--then", "move:Lists", "--then", "mark-read"}, 0, `Filter "Lists" added to work`},
		{"add any", []string{"filter", "add", "--account", "work", "--name", "Jose", "--any", "--if", "from:contains:garcia", "--if", "size:greater:1M", "--then", "flag"}, 0, "number 2"},
		{"add same name", []string{"filter", "add", "--name", "Lists", "--if", "subject:contains:x", "--then", "flag"}, 1, "filters[2].name"},
		{"add bad field", []string{"filter", "add", "--name", "Bad", "--if", "date:contains:x", "--then", "flag"}, 1, "filters[2].conditions[0].field"},
		{"add no folder", []string{"filter", "add", "--name", "Bad", "--if", "subject:contains:x", "--then", "move"}, 1, "filters[2].actions[0].folder"},
		{"add bad --if", []string{"filter", "add", "--name", "Bad", "--if", "subject", "--then", "flag"}, 2, "FIELD:OP:VALUE"},
		{"add no account", []string{"filter", "add", "--account", "home", "--name", "X", "--if", "subject:contains:x", "--then", "flag"}, 1, `no account "home"`},
		{"list", []string{"filter", "list"}, 0, "  1. Lists: if tocc contains \"lists.example.org\" then move to Lists, mark-read\n  2. Jose: if from contains \"garcia\" or size greater \"1M\" then flag"},
		{"test", []string{"filter", "run", "--test"}, 0, "Lists: would match 3 messages in Inbox\nJose: would match 5 messages in Inbox\nin all: would match 5 messages in Inbox"},
		{"test one", []string{"filter", "run", "--test", "--filter", "Lists"}, 0, "Lists: would match 3 messages in Inbox\n"},
		{"test unknown", []string{"filter", "run", "--test", "--filter", "Nope"}, 1, `no filter "Nope"`},
		{"test no folder", []string{"filter", "run", "--test", "--folder", "Nope"}, 1, "no such folder"},
		{"run", []string{"filter", "run", "--account", "work"}, 0, "moved 3 messages to Lists\nmarked 3 messages read\nflagged 5 messages\n"},
		{"run again", []string{"filter", "run"}, 0, "2 messages in Inbox matched; nothing to change"},
		{"run Lists", []string{"filter", "run", "--folder", "Lists", "--filter", "Lists"}, 0, "3 messages in Lists matched; nothing to change"},
		{"run none", []string{"filter", "run", "--folder", "Trash"}, 0, "no filter matched any of the 0 messages in Trash"},
		{"remove", []string{"filter", "remove", "Jose"}, 0, `Filter "Jose" removed from work`},
		{"remove again", []string{"filter", "remove", "Jose"}, 1, `no filter "Jose"`},
		{"remove no name", []string{"filter", "remove"}, 2, "give the filter's NAME"},
		{"list after", []string{"filter", "list", "--account", "work"}, 0, "work:\n  1. Lists:"},
		{"extra argument", []string{"filter", "run", "extra"}, 2, `unexpected argument "extra"`},
		{"bad sub", []string{"filter", "frobnicate"}, 2, "Usage:"},
		{"bad flag", []string{"filter", "list", "--nope"}, 2, "flag provided but not defined"},
	}
	for _, st := range steps {
		code, out, errs := run(t, "", append(st.args, dirs...)...)
		got := out
		if st.code != 0 {
			got = errs
		}
		if code != st.code || !strings.Contains(got, st.out) {
			t.Fatalf("%s: poplar %v: exit %d, stdout %q, stderr %q; want exit %d with %q", st.name, st.args, code, out, errs, st.code, st.out)
		}
	}
	code, out, _ := run(t, "", append([]string{"filter", "list", "--json"}, dirs...)...)
	var items []struct {
		Account, Name, Match string
		Conditions           []struct{ Field, Op, Value string }
		Actions              []struct{ Action, Folder string }
	}
	if err := json.Unmarshal([]byte(out), &items); code != 0 || err != nil || len(items) != 1 || items[0].Account != "work" ||
		items[0].Match != "all" || items[0].Conditions[0].Value != "lists.example.org" || items[0].Actions[0].Folder != "Lists" {
		t.Fatalf("filter list --json: exit %d, %v: %s", code, err, out)
	}

	s, err = storage.Open(account.DataDir(dataDir, "work"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	lists, err := s.Summaries("Lists")
	if err != nil || len(lists) != 3 || lists[0].Unread() || lists[0].Flags&storage.FlagFlagged == 0 {
		t.Fatalf("Lists: %+v, %v", lists, err)
	}
	if n, err := account.StoredOnServer(s); err != nil || n != 5 {
		t.Fatalf("StoredOnServer = %d, %v after filtering; want 5", n, err)
	}

	// With two accounts, --account is needed.
	if code, _, errs := run(t, "", append([]string{"account", "add", "home", "--host", "pop.example.org", "--user", "me"}, dirs...)...); code != 0 {
		t.Fatalf("account add: exit %d: %s", code, errs)
	}
	if code, _, errs := run(t, "", append([]string{"filter", "run"}, dirs...)...); code != 1 || !strings.Contains(errs, "choose one with --account") {
		t.Fatalf("filter run with two accounts: exit %d, %q", code, errs)
	}
	if code, _, errs := run(t, "", append([]string{"filter", "run", "--account", "home"}, dirs...)...); code != 1 || !strings.Contains(errs, "has no filters") {
		t.Fatalf("filter run of an account without filters: exit %d, %q", code, errs)
	}
	if code, out, _ := run(t, "", append([]string{"filter", "list"}, dirs...)...); code != 0 || !strings.Contains(out, "home: no filters") {
		t.Fatalf("filter list of two accounts: exit %d, %q", code, out)
	}
}
