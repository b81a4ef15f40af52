package account

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/poplar-mail/poplar/storage"
	"github.com/poplar-mail/poplar/storage/mailview"
)

func TestConditions(t *testing.T) {
	m := &MessageInfo{
		From:          []mailview.Address{{Name: "José García", Email: "jose@example.es"}},
		To:            []mailview.Address{{Name: "Ann", Email: "ann@example.org"}, {Email: "dev@lists.example.org"}},
		Cc:            []mailview.Address{{Name: "Zoë", Email: "zoe@example.net"}},
		Subject:       "Réunion de l'équipe",
		Body:          "Hello,\nthe INVOICE is attached.\n",
		Size:          150 << 10,
		HasAttachment: true,
	}
	tests := []struct {
		field, op, value string
		want             bool
	}{
		{"from", "contains", "garcia", true}, // accents and case
		{"from", "contains", "GARCÍA", true},
		{"from", "contains", "example.es", true},
		{"from", "contains", "<jose@", true}, // "Name <address>"
		{"from", "equals", "jose@example.es", true},
		{"from", "equals", "jose garcia", true},
		{"from", "equals", "jose", false},
		{"from", "not-contains", "garcia", false},
		{"from", "not-contains", "smith", true},
		{"to", "contains", "lists.example.org", true},
		{"to", "contains", "zoe", false},
		{"cc", "contains", "zoe", true},
		{"cc", "contains", "ann", false},
		{"tocc", "contains", "zoe", true},
		{"tocc", "contains", "ann@", true},
		{"tocc", "not-contains", "ann", false},
		{"subject", "contains", "reunion", true},
		{"subject", "contains", "EQUIPE", true},
		{"subject", "equals", "reunion de l'equipe", true},
		{"subject", "equals", "reunion", false},
		{"subject", "not-contains", "invoice", true},
		{"body", "contains", "invoice", true},
		{"body", "not-contains", "invoice", false},
		{"size", "greater", "100K", true},
		{"size", "greater", "1M", false},
		{"size", "less", "1MB", true},
		{"size", "less", "153600", false}, // equal is neither
		{"size", "greater", "153600", false},
		{"attachment", "is", "true", true},
		{"attachment", "is", "false", false},
	}
	for _, tt := range tests {
		c := Condition{tt.field, tt.op, tt.value}
		if err := c.validate(); err != nil {
			t.Errorf("%+v does not validate: %v", c, err.msg)
		}
		f := Filter{Name: "x", Conditions: []Condition{c}}
		if got := f.Matches(m); got != tt.want {
			t.Errorf("Matches(%s %s %q) = %v, want %v", tt.field, tt.op, tt.value, got, tt.want)
		}
	}
}

func TestMatchAnyAll(t *testing.T) {
	m := &MessageInfo{Subject: "hello", Size: 10}
	yes := Condition{"subject", "contains", "hell"}
	no := Condition{"size", "greater", "1K"}
	tests := []struct {
		match string
		conds []Condition
		want  bool
	}{
		{"", []Condition{yes, no}, false},
		{MatchAll, []Condition{yes, no}, false},
		{MatchAll, []Condition{yes, yes}, true},
		{MatchAny, []Condition{yes, no}, true},
		{MatchAny, []Condition{no, no}, false},
	}
	for _, tt := range tests {
		f := Filter{Name: "x", Match: tt.match, Conditions: tt.conds}
		if got := f.Matches(m); got != tt.want {
			t.Errorf("match %q of %v = %v, want %v", tt.match, tt.conds, got, tt.want)
		}
	}
}

func goodFilter(name string) Filter {
	return Filter{Name: name, Conditions: []Condition{{"subject", "contains", "x"}}, Actions: []Action{{Action: ActionMove, Folder: "Lists"}}}
}

func TestValidateFilters(t *testing.T) {
	tests := []struct {
		name  string
		edit  func(fs []Filter) []Filter
		field string // "" = valid
	}{
		{"good", func(fs []Filter) []Filter { return fs }, ""},
		{"move to Inbox", func(fs []Filter) []Filter { fs[1].Actions[0].Folder = "Inbox"; return fs }, ""},
		{"no name", func(fs []Filter) []Filter { fs[1].Name = " "; return fs }, "filters[1].name"},
		{"same name", func(fs []Filter) []Filter { fs[1].Name = fs[0].Name; return fs }, "filters[1].name"},
		{"match", func(fs []Filter) []Filter { fs[0].Match = "some"; return fs }, "filters[0].match"},
		{"no conditions", func(fs []Filter) []Filter { fs[2].Conditions = nil; return fs }, "filters[2].conditions"},
		{"no actions", func(fs []Filter) []Filter { fs[2].Actions = nil; return fs }, "filters[2].actions"},
		{"field", func(fs []Filter) []Filter { fs[2].Conditions[0].Field = "date"; return fs }, "filters[2].conditions[0].field"},
		{"op", func(fs []Filter) []Filter { fs[2].Conditions[0].Op = "greater"; return fs }, "filters[2].conditions[0].op"},
		{"empty value", func(fs []Filter) []Filter { fs[2].Conditions[0].Value = ""; return fs }, "filters[2].conditions[0].value"},
		{"size value", func(fs []Filter) []Filter { fs[2].Conditions[0] = Condition{"size", "greater", "big"}; return fs }, "filters[2].conditions[0].value"},
		{"size op", func(fs []Filter) []Filter { fs[2].Conditions[0] = Condition{"size", "contains", "1K"}; return fs }, "filters[2].conditions[0].op"},
		{"attachment value", func(fs []Filter) []Filter { fs[2].Conditions[0] = Condition{"attachment", "is", "maybe"}; return fs }, "filters[2].conditions[0].value"},
		{"line break", func(fs []Filter) []Filter { fs[2].Conditions[0].Value = "a\nb"; return fs }, "filters[2].conditions[0].value"},
		{"no folder", func(fs []Filter) []Filter { fs[2].Actions[0].Folder = ""; return fs }, "filters[2].actions[0].folder"},
		{"bad folder", func(fs []Filter) []Filter { fs[2].Actions[0].Folder = "a/b"; return fs }, "filters[2].actions[0].folder"},
		{"folder on flag", func(fs []Filter) []Filter { fs[2].Actions = []Action{{Action: ActionFlag, Folder: "X"}}; return fs }, "filters[2].actions[0].folder"},
		{"action", func(fs []Filter) []Filter { fs[2].Actions[0] = Action{Action: "delete"}; return fs }, "filters[2].actions[0].action"},
		{"two moves", func(fs []Filter) []Filter {
			fs[2].Actions = append(fs[2].Actions, Action{Action: ActionTrash})
			return fs
		}, "filters[2].actions"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := New("work", "pop.example.org", "me")
			a.Filters = tt.edit([]Filter{goodFilter("a"), goodFilter("b"), goodFilter("c")})
			err := a.Validate()
			if tt.field == "" {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			var fe *FieldError
			if !errors.As(err, &fe) || fe.Field != tt.field {
				t.Fatalf("Validate() = %v, want a FieldError for %s", err, tt.field)
			}
			if name := a.Filters[int(tt.field[len("filters[")]-'0')].Name; !strings.Contains(err.Error(), fmt.Sprintf("filter %q", name)) {
				t.Fatalf("Validate() = %v, does not name filter %q", err, name)
			}
		})
	}
}

func TestFilterConfigRoundTrip(t *testing.T) {
	dir := t.TempDir()
	// A settings file without filters is loaded and saved as before (version 2 at most).
	plain := New("home", "pop.example.org", "me")
	c := &Config{Accounts: []Account{plain}}
	if err := c.Save(dir); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(filepath.Join(dir, ConfigFile))
	if strings.Contains(string(data), "filters") || !strings.Contains(string(data), "version = 1") {
		t.Fatalf("a file without filters:\n%s", data)
	}
	got, err := LoadConfig(dir)
	if err != nil || !reflect.DeepEqual(got.Accounts, c.Accounts) {
		t.Fatalf("LoadConfig = %+v, %v; want %+v", got, err, c.Accounts)
	}

	a := New("work", "pop.example.org", "me")
	a.Filters = []Filter{
		{Name: "Lists", Match: MatchAny, Conditions: []Condition{{"tocc", "contains", "lists.example.org"}, {"subject", "contains", "[dev]"}},
			Actions: []Action{{Action: ActionMove, Folder: "Lists"}, {Action: ActionStop}}},
		{Name: "Big", Conditions: []Condition{{"size", "greater", "5M"}, {"attachment", "is", "true"}}, Actions: []Action{{Action: ActionFlag}}},
	}
	c.Accounts = append(c.Accounts, a)
	clone := c.Clone()
	clone.Accounts[1].Filters[0].Actions[0].Folder = "Changed"
	if c.Accounts[1].Filters[0].Actions[0].Folder != "Lists" {
		t.Fatal("Clone shares the filters")
	}
	if err := c.Save(dir); err != nil {
		t.Fatal(err)
	}
	data, _ = os.ReadFile(filepath.Join(dir, ConfigFile))
	for _, want := range []string{"version = 3", "[[accounts.filters]]", "[[accounts.filters.conditions]]", `folder = "Lists"`} {
		if !strings.Contains(string(data), want) {
			t.Fatalf("the file lacks %q:\n%s", want, data)
		}
	}
	got, err = LoadConfig(dir)
	if err != nil || !reflect.DeepEqual(got.Accounts, c.Accounts) {
		t.Fatalf("LoadConfig = %+v, %v; want %+v", got, err, c.Accounts)
	}

	// A hand-written file with a bad filter names it.
	bad := strings.Replace(string(data), `folder = "Lists"`, `folder = ""`, 1)
	os.WriteFile(filepath.Join(dir, ConfigFile), []byte(bad), 0o600)
	_, err = LoadConfig(dir)
	var fe *FieldError
	if !errors.As(err, &fe) || fe.Field != "filters[0].actions[0].folder" || !strings.Contains(err.Error(), `filter "Lists"`) {
		t.Fatalf("LoadConfig of a bad filter = %v", err)
	}
}

// deliverTest stores msgs in the Inbox of s as fetched messages with UIDLs u0, u1...
func deliverTest(t *testing.T, s *storage.Store, msgs []string) []string {
	t.Helper()
	b := s.NewBatch()
	for i, m := range msgs {
		if _, err := b.Deliver(strings.NewReader(m), storage.DeliverInfo{UIDL: fmt.Sprintf("u%d", i), Received: time.Now()}); err != nil {
			t.Fatal(err)
		}
	}
	sums, err := b.Commit()
	if err != nil {
		t.Fatal(err)
	}
	keys := make([]string, len(sums))
	for i, m := range sums {
		keys[i] = m.Key
	}
	return keys
}

func folderSubjects(t *testing.T, s *storage.Store, folder string) map[string]storage.Flags {
	t.Helper()
	sums, err := s.Summaries(folder)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]storage.Flags{}
	for _, m := range sums {
		out[m.Subject] = m.Flags
	}
	return out
}

func TestApplyFilters(t *testing.T) {
	s := openTestStore(t)
	defer s.Close()
	keys := deliverTest(t, s, []string{
		"From: Ann <ann@example.org>\nTo: dev@lists.example.org\nSubject: list 1\n\nbody\n",
		"From: Bob <bob@example.org>\nTo: me@example.org\nCc: dev@lists.example.org\nSubject: list 2\n\nbody\n",
		"From: spam@example.com\nTo: me@example.org\nSubject: WIN a prize\n\nclick\n",
		"From: Boss <boss@example.org>\nTo: me@example.org\nSubject: urgent\n\nnow\n",
		"From: Boss <boss@example.org>\nTo: dev@lists.example.org\nSubject: boss on the list\n\nnow\n",
		"From: Carol <carol@example.org>\nTo: me@example.org\nSubject: hello\n\nhi\n",
		"From: Dan <dan@example.org>\nTo: dev@lists.example.org\nSubject: win on the list\n\nbody\n", // the first move wins
	})
	filters := []Filter{
		{Name: "Boss", Conditions: []Condition{{"from", "contains", "boss@"}}, Actions: []Action{{Action: ActionFlag}, {Action: ActionStop}}},
		{Name: "Lists", Conditions: []Condition{{"tocc", "contains", "lists.example.org"}}, Actions: []Action{{Action: ActionMove, Folder: "Lists.Dev"}, {Action: ActionMarkRead}}},
		{Name: "Spam", Match: MatchAny, Conditions: []Condition{{"subject", "contains", "win"}, {"body", "contains", "unsubscribe"}}, Actions: []Action{{Action: ActionTrash}}},
	}
	plans, err := PlanFilters(s, storage.Inbox, keys, filters)
	if err != nil || len(plans) != 6 {
		t.Fatalf("PlanFilters = %d plans, %v; want 6", len(plans), err)
	}
	if n := len(folderSubjects(t, s, storage.Inbox)); n != 7 {
		t.Fatalf("PlanFilters changed the Inbox: %d messages", n)
	}
	res, err := ApplyFilters(s, storage.Inbox, keys, filters)
	if err != nil {
		t.Fatal(err)
	}
	want := FilterResult{Matched: 6, Moved: map[string]int{"Lists.Dev": 3, storage.Trash: 1}, MarkedRead: 3, Flagged: 2}
	if !reflect.DeepEqual(res, want) {
		t.Fatalf("ApplyFilters = %+v, want %+v", res, want)
	}
	checks := []struct {
		folder string
		want   map[string]storage.Flags
	}{
		{storage.Inbox, map[string]storage.Flags{"urgent": storage.FlagFlagged, "boss on the list": storage.FlagFlagged, "hello": 0}},
		{"Lists.Dev", map[string]storage.Flags{"list 1": storage.FlagSeen, "list 2": storage.FlagSeen, "win on the list": storage.FlagSeen}},
		{storage.Trash, map[string]storage.Flags{"WIN a prize": 0}},
	}
	for _, c := range checks {
		if got := folderSubjects(t, s, c.folder); !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s holds %v, want %v", c.folder, got, c.want)
		}
	}
	// The ledger still has every message as stored here: none expunged, all counted as on the
	// server, and none would be deleted there by "delete when deleted here".
	ledger, err := s.Ledger()
	if err != nil || len(ledger) != 7 {
		t.Fatalf("ledger %v, %v", ledger, err)
	}
	for u, e := range ledger {
		if e.Expunged || e.ServerDeleted {
			t.Errorf("ledger %s = %+v after filtering", u, e)
		}
	}
	if ex, err := s.ExpungedUIDLs(); err != nil || len(ex) != 0 {
		t.Fatalf("ExpungedUIDLs = %v, %v", ex, err)
	}
	if n, err := StoredOnServer(s); err != nil || n != 7 {
		t.Fatalf("StoredOnServer = %d, %v; want 7", n, err)
	}
	var onServer []message
	for i := range 7 {
		onServer = append(onServer, message{id: i + 1, uid: fmt.Sprintf("u%d", i)})
	}
	policies := []struct {
		name string
		edit func(a *Account)
		now  time.Time
		want int
	}{
		{"delete when deleted here", func(a *Account) { a.DeleteWhenDeletedHere = true }, time.Now(), 0},
		{"delete after 7 days, too early", func(a *Account) { a.DeleteAfterDays = 7 }, time.Now(), 0},
		{"delete after 7 days", func(a *Account) { a.DeleteAfterDays = 7 }, time.Now().Add(8 * 24 * time.Hour), 7},
		{"delete after download", func(a *Account) { a.LeaveOnServer = false }, time.Now(), 7},
	}
	for _, p := range policies {
		a := New("work", "pop.example.org", "me")
		p.edit(&a)
		f := &fetcher{a: a, store: s, opts: FetchOptions{Now: func() time.Time { return p.now }}}
		dele, err := f.toDelete(onServer)
		if err != nil || len(dele) != p.want {
			t.Errorf("%s: toDelete = %d messages, %v; want %d", p.name, len(dele), err, p.want)
		}
	}
	// Filters run again on the Trash never delete for good.
	trash, _ := s.Summaries(storage.Trash)
	if _, err := ApplyFilters(s, storage.Trash, []string{trash[0].Key}, filters); err != nil {
		t.Fatal(err)
	}
	if got := folderSubjects(t, s, storage.Trash); len(got) != 1 {
		t.Fatalf("the Trash after filtering it: %v", got)
	}
}

// TestFetchFilters: filters sort mail during a real fetch from Dovecot: the messages are in their
// folder and not in the Inbox, the ledger has them (a second fetch downloads nothing), and with
// delete-from-server they go from the server only once stored.
func TestFetchFilters(t *testing.T) {
	var msgs [][]byte
	for i := range 6 {
		to := "me@example.org"
		if i%2 == 0 {
			to = "dev@lists.example.org"
		}
		msgs = append(msgs, fmt.Appendf(nil, "From: a%d@example.org\nTo: %s\nSubject: message %d\nMessage-ID: <f%d@example.org>\n\nbody %d\n", i, to, i, i, i))
	}
	rig := startDovecot(t, msgs)
	a := rig.acct
	a.LeaveOnServer = true
	a.Filters = []Filter{{Name: "Lists", Conditions: []Condition{{"to", "contains", "lists.example.org"}},
		Actions: []Action{{Action: ActionMove, Folder: "Lists"}, {Action: ActionMarkRead}}}}
	if err := a.Validate(); err != nil {
		t.Fatal(err)
	}
	s := openTestStore(t)
	defer s.Close()
	var stored []storage.Summary
	opts := FetchOptions{Secrets: secrets(), CommitEvery: 2, Events: func(e Event) {
		switch e.Kind {
		case MessageStored:
			stored = append(stored, e.Summary)
		case Note:
			t.Errorf("note: %s", e.Text)
		}
	}}
	res, err := Fetch(context.Background(), a, s, opts)
	if err != nil || res.New != 6 {
		t.Fatalf("Fetch = %+v, %v", res, err)
	}
	inbox, lists := folderSubjects(t, s, storage.Inbox), folderSubjects(t, s, "Lists")
	if len(inbox) != 3 || len(lists) != 3 {
		t.Fatalf("Inbox %v, Lists %v; want 3 each", inbox, lists)
	}
	for subj, fl := range lists {
		if fl&storage.FlagSeen == 0 || !strings.HasSuffix(subj, "0") && !strings.HasSuffix(subj, "2") && !strings.HasSuffix(subj, "4") {
			t.Errorf("Lists holds %q (flags %s)", subj, fl)
		}
	}
	// MessageStored says where each message is now.
	inLists := 0
	for _, m := range stored {
		if m.Folder == "Lists" {
			inLists++
		}
	}
	if len(stored) != 6 || inLists != 3 {
		t.Fatalf("MessageStored: %d events, %d in Lists; want 6 and 3", len(stored), inLists)
	}
	opts.Events = nil
	res, err = Fetch(context.Background(), a, s, opts)
	if err != nil || res.New != 0 || res.Skipped != 6 {
		t.Fatalf("second Fetch = %+v, %v; want nothing new", res, err)
	}
	if n, err := rig.srv.Count("dana"); err != nil || n != 6 {
		t.Fatalf("%d messages on the server with leave-on-server, %v", n, err)
	}
	a.LeaveOnServer = false
	res, err = Fetch(context.Background(), a, s, opts)
	if err != nil || res.New != 0 || res.DeletedOnServer != 6 {
		t.Fatalf("Fetch with delete-from-server = %+v, %v", res, err)
	}
	if n, err := rig.srv.Count("dana"); err != nil || n != 0 {
		t.Fatalf("%d messages on the server after delete-from-server, %v", n, err)
	}
	if got := localUIDLs(t, s); len(got) != 6 {
		t.Fatalf("local messages %v, want 6", got)
	}
	if len(folderSubjects(t, s, "Lists")) != 3 {
		t.Fatal("the filtered messages left Lists")
	}

	// New mail with delete-from-server: filtered, stored, then deleted there.
	if err := rig.srv.Deliver("dana", []byte("From: x@example.org\nTo: dev@lists.example.org\nSubject: late\n\nbody\n")); err != nil {
		t.Fatal(err)
	}
	res, err = Fetch(context.Background(), a, s, opts)
	if err != nil || res.New != 1 || res.DeletedOnServer != 1 {
		t.Fatalf("Fetch of new mail = %+v, %v", res, err)
	}
	if _, ok := folderSubjects(t, s, "Lists")["late"]; !ok {
		t.Fatal("the new message is not in Lists")
	}
}

// TestFetchFilterFailure: a filter that cannot act (its folder cannot be made) is a Note; the
// fetch succeeds, the messages stay in the Inbox, and they are deleted on the server only as
// stored messages.
func TestFetchFilterFailure(t *testing.T) {
	rig := startDovecot(t, [][]byte{[]byte("From: a@example.org\nSubject: one\n\nx\n"), []byte("From: b@example.org\nSubject: two\n\ny\n")})
	a := rig.acct // delete from the server after download
	a.Filters = []Filter{{Name: "All", Conditions: []Condition{{"from", "contains", "example.org"}}, Actions: []Action{{Action: ActionMove, Folder: "Blocked"}}}}
	s := openTestStore(t)
	defer s.Close()
	// A file where the folder would go: the folder cannot be made.
	if err := os.WriteFile(filepath.Join(s.Dir(), "Maildir", ".Blocked"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	var notes []string
	res, err := Fetch(context.Background(), a, s, FetchOptions{Secrets: secrets(), Events: func(e Event) {
		if e.Kind == Note {
			notes = append(notes, e.Text)
		}
	}})
	if err != nil || res.New != 2 || res.DeletedOnServer != 2 {
		t.Fatalf("Fetch = %+v, %v", res, err)
	}
	if len(notes) != 1 || !strings.Contains(notes[0], "filters:") {
		t.Fatalf("notes %q, want one about the filters", notes)
	}
	if got := folderSubjects(t, s, storage.Inbox); len(got) != 2 {
		t.Fatalf("Inbox holds %v, want both messages", got)
	}
}

func FuzzParseSize(f *testing.F) {
	for _, s := range []string{"0", "500", "100K", "2mb", " 1 G", "-1", "9999999999999G", "K"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := ParseSize(s)
		if err == nil && n < 0 {
			t.Fatalf("ParseSize(%q) = %d, want >= 0", s, n)
		}
	})
}
