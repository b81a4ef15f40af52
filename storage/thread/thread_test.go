package thread

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/poplar-mail/poplar/storage"
	"github.com/poplar-mail/poplar/storage/mailview"
)

// day0 is the date of the first test message; spec.at counts hours after it.
var day0 = time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)

// spec is a test message: name is how render shows it (its id when name is "").
type spec struct {
	name, id, subject string
	at                int // hours after day0
	irt               string
	refs              []string
}

func summaries(specs []spec) []storage.Summary {
	out := make([]storage.Summary, len(specs))
	for i, s := range specs {
		out[i] = storage.Summary{Key: fmt.Sprint(i), Summary: mailview.Summary{
			MessageID: s.id, Subject: s.subject, InReplyTo: s.irt, References: s.refs,
			Date: day0.Add(time.Duration(s.at) * time.Hour),
		}}
	}
	return out
}

// render shows threads as "a(b c(d)) | e": each thread in order, replies in brackets, "_" for an
// empty container.
func render(threads []*Thread, specs []spec) string {
	var parts []string
	for _, t := range threads {
		var b strings.Builder
		var node func(n *Node)
		node = func(n *Node) {
			if n.Empty() {
				b.WriteString("_")
			} else if s := specs[n.Msg]; s.name != "" {
				b.WriteString(s.name)
			} else {
				b.WriteString(s.id)
			}
			if len(n.Children) > 0 {
				b.WriteString("(")
				for i, c := range n.Children {
					if i > 0 {
						b.WriteString(" ")
					}
					node(c)
				}
				b.WriteString(")")
			}
		}
		node(t.Root)
		parts = append(parts, b.String())
	}
	return strings.Join(parts, " | ")
}

// check verifies what holds for every Build: each message in exactly one thread once, no loop,
// only roots empty, Count and Newest right, replies oldest first, threads newest first.
func check(t *testing.T, msgs []storage.Summary, threads []*Thread) {
	t.Helper()
	seen := make([]int, len(msgs))
	for ti, th := range threads {
		count := 0
		var newest time.Time
		visited := 0
		th.Walk(func(n *Node, depth int) {
			visited++
			if visited > len(msgs)+1 {
				t.Fatalf("thread %d: a loop", ti)
			}
			if n.Empty() {
				if depth > 0 {
					t.Errorf("thread %d: an empty container below the root", ti)
				}
				if len(n.Children) < 2 {
					t.Errorf("thread %d: an empty root with %d replies", ti, len(n.Children))
				}
			} else {
				if n.Msg >= len(msgs) {
					t.Fatalf("thread %d: message %d of %d", ti, n.Msg, len(msgs))
				}
				seen[n.Msg]++
				count++
				if w := msgTime(&msgs[n.Msg]); w.After(newest) {
					newest = w
				}
			}
			for i := 1; i < len(n.Children); i++ {
				if msgTime(&msgs[n.Children[i].Msg]).Before(msgTime(&msgs[n.Children[i-1].Msg])) {
					t.Errorf("thread %d: replies out of date order", ti)
				}
			}
		})
		if th.Count != count || !th.Newest.Equal(newest) {
			t.Errorf("thread %d: Count %d, Newest %v; counted %d, %v", ti, th.Count, th.Newest, count, newest)
		}
		if len(th.Messages()) != count {
			t.Errorf("thread %d: Messages() has %d, Count %d", ti, len(th.Messages()), count)
		}
		if ti > 0 && th.Newest.After(threads[ti-1].Newest) {
			t.Errorf("thread %d is newer than thread %d before it", ti, ti-1)
		}
	}
	for i, k := range seen {
		if k != 1 {
			t.Errorf("message %d appears %d times", i, k)
		}
	}
}

func TestBuild(t *testing.T) {
	longRefs := []string{"a"}
	for i := 0; i < 10000; i++ {
		longRefs = append(longRefs, fmt.Sprintf("gone%d", i))
	}
	tests := []struct {
		name  string
		msgs  []spec
		want  string
		notes string
	}{
		{name: "reply chain", msgs: []spec{
			{id: "c", at: 2, irt: "b", refs: []string{"a", "b"}},
			{id: "a", at: 0},
			{id: "b", at: 1, irt: "a", refs: []string{"a"}},
		}, want: "a(b(c))"},
		{name: "reply-all fan-out", msgs: []spec{
			{id: "a", at: 0},
			{id: "d", at: 3, irt: "a", refs: []string{"a"}},
			{id: "b", at: 1, irt: "a", refs: []string{"a"}},
			{id: "e", at: 4, irt: "c", refs: []string{"a", "c"}},
			{id: "c", at: 2, irt: "a", refs: []string{"a"}},
		}, want: "a(b c(e) d)"},
		{name: "in-reply-to only", msgs: []spec{
			{id: "a", at: 0}, {id: "b", at: 1, irt: "a"}, {id: "c", at: 2, irt: "b"},
		}, want: "a(b(c))"},
		{name: "in-reply-to missing from references", msgs: []spec{
			{id: "a", at: 0}, {id: "b", at: 1, refs: []string{"a"}}, {id: "c", at: 2, irt: "b", refs: []string{"a"}},
		}, want: "a(b(c))"},
		{name: "missing middle message", msgs: []spec{
			{id: "a", at: 0}, {id: "c", at: 2, irt: "b", refs: []string{"a", "b"}},
		}, want: "a(c)"},
		{name: "missing root, two replies", msgs: []spec{
			{id: "b", at: 1, irt: "x", refs: []string{"x"}}, {id: "c", at: 2, irt: "x", refs: []string{"x"}},
		}, want: "_(b c)"},
		{name: "missing root, one reply", msgs: []spec{
			{id: "b", at: 1, irt: "x", refs: []string{"w", "x"}},
		}, want: "b"},
		{name: "duplicate ids", msgs: []spec{
			{name: "a1", id: "a", at: 0},
			{name: "a2", id: "a", at: 1},
			{id: "b", at: 2, irt: "a", refs: []string{"a"}},
			{name: "a3", id: "a", at: 3, irt: "b", refs: []string{"a", "b"}},
		}, want: "a1(b(a3)) | a2", notes: "the first (oldest) holds the id; another with it is linked by its own References only"},
		{name: "missing ids", msgs: []spec{
			{id: "a", at: 0},
			{name: "n1", at: 1, refs: []string{"a"}},
			{name: "n2", at: 2},
			{name: "n3", at: 3},
		}, want: "n3 | n2 | a(n1)"},
		{name: "self-reference", msgs: []spec{
			{id: "a", at: 0, irt: "a", refs: []string{"a", "a"}},
		}, want: "a"},
		{name: "two-message cycle", msgs: []spec{
			{id: "a", at: 0, refs: []string{"b"}}, {id: "b", at: 1, refs: []string{"a"}},
		}, want: "b(a)", notes: "a, linked first, goes under b; b under a would close the loop"},
		{name: "cycle inside references", msgs: []spec{
			{id: "a", at: 0}, {id: "z", at: 1, refs: []string{"a", "b", "a", "b"}},
		}, want: "a(z)"},
		{name: "three-message cycle", msgs: []spec{
			{id: "a", at: 0, refs: []string{"c"}}, {id: "b", at: 1, refs: []string{"a"}}, {id: "c", at: 2, refs: []string{"b"}},
		}, want: "c(a(b))"},
		{name: "own parent wins over a guessed one", msgs: []spec{
			{id: "a", at: 0},
			{id: "b", at: 1, refs: []string{"a"}},
			{id: "d", at: 3, refs: []string{"a", "b", "c"}},
			{id: "c", at: 4, refs: []string{"a"}},
		}, want: "a(b c(d))"},
		{name: "huge references", msgs: []spec{
			{id: "a", at: 0}, {id: "z", at: 1, refs: longRefs},
		}, want: "a(z)"},
		{name: "subject fallback", msgs: []spec{
			{id: "a", subject: "Lunch", at: 0},
			{id: "b", subject: "Re: lunch", at: 1},
			{id: "c", subject: "FWD: Re[2]: [team]  Lunch", at: 30},
			{id: "d", subject: "Re: Lunch", at: 2, irt: "a"},
		}, want: "a(b d c)"},
		{name: "subject fallback joins the latest conversation", msgs: []spec{
			{id: "a", subject: "Status", at: 0},
			{id: "b", subject: "Status", at: 24},
			{id: "c", subject: "Re: Status", at: 25},
		}, want: "b(c) | a", notes: "a message without a prefix never joins: two \"Status\" are two conversations"},
		{name: "stray replies alone", msgs: []spec{
			{id: "b", subject: "Re: Lunch", at: 1},
			{id: "c", subject: "Re: Lunch", at: 2},
		}, want: "b(c)"},
		{name: "same subject far apart", msgs: []spec{
			{id: "a", subject: "Lunch", at: 0},
			{id: "b", subject: "Re: Lunch", at: 24 * 31},
		}, want: "b | a", notes: "more than SubjectWindow after the conversation's newest message"},
		{name: "same subject, threaded by references", msgs: []spec{
			{id: "a", subject: "Lunch", at: 0},
			{id: "b", subject: "Re: Lunch", at: 1, irt: "x"},
		}, want: "b | a", notes: "a message with In-Reply-To is already threaded, even to an absent message"},
		{name: "subject fallback into an empty root", msgs: []spec{
			{id: "b", subject: "Re: Lunch", at: 1, refs: []string{"x"}},
			{id: "c", subject: "Re: Lunch", at: 2, refs: []string{"x"}},
			{id: "d", subject: "Re: Lunch", at: 3},
		}, want: "_(b c d)"},
		{name: "empty subject never joins", msgs: []spec{
			{id: "a", subject: "", at: 0}, {id: "b", subject: "Re:", at: 1},
		}, want: "b | a"},
		{name: "threads newest first", msgs: []spec{
			{id: "a", at: 0}, {id: "x", at: 1}, {id: "b", at: 2, refs: []string{"a"}}, {id: "y", at: 3},
		}, want: "y | a(b) | x"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			msgs := summaries(tt.msgs)
			threads := Build(msgs)
			check(t, msgs, threads)
			if got := render(threads, tt.msgs); got != tt.want {
				t.Errorf("Build = %s, want %s (%s)", got, tt.want, tt.notes)
			}
		})
	}
}

// TestNoDate: a message without a Date is placed by when it arrived.
func TestNoDate(t *testing.T) {
	msgs := summaries([]spec{{id: "a", at: 0}, {id: "b", at: 5, irt: "a"}, {id: "c", at: 0, irt: "a"}})
	msgs[2].Date = time.Time{}
	msgs[2].Received = day0.Add(7 * time.Hour)
	threads := Build(msgs)
	check(t, msgs, threads)
	if len(threads) != 1 {
		t.Fatalf("%d threads, want 1", len(threads))
	}
	if got := threads[0].Messages(); !slices.Equal(got, []int{0, 1, 2}) || !threads[0].Newest.Equal(msgs[2].Received) {
		t.Errorf("Messages() = %v, Newest %v; want [0 1 2], %v", got, threads[0].Newest, msgs[2].Received)
	}
}

func TestBaseSubject(t *testing.T) {
	tests := []struct {
		in, base string
		prefixed bool
	}{
		{"Lunch", "lunch", false},
		{"Re: Lunch", "lunch", true},
		{"RE: re:Lunch", "lunch", true},
		{"Fwd: Re[3]: Lunch  plans", "lunch plans", true},
		{"AW: WG: Angebot", "angebot", true},
		{"[team] Re: Lunch", "lunch", true},
		{"Re: [team] Lunch", "lunch", true},
		{"[team]", "[team]", false},
		{"Re：昼食", "昼食", true},
		{"Reply: x", "reply: x", false},
		{"Re(2): x", "x", true},
		{"Re[x]: y", "re[x]: y", false},
		{"", "", false},
		{"lunch plans", "lunch plans", false},
		{"lunch plans ", "lunch plans", false},
		{"  Re:  Lunch \t Plans ", "lunch plans", true},
		{"Re: ÄRGER im Büro", "ärger im büro", true},
		{"re: lunch\tplans", "lunch plans", true},
	}
	for _, tt := range tests {
		if base, p := BaseSubject(tt.in); base != tt.base || p != tt.prefixed {
			t.Errorf("BaseSubject(%q) = %q, %v; want %q, %v", tt.in, base, p, tt.base, tt.prefixed)
		}
	}
}

// FuzzBuild: whatever the ids, references and subjects, Build does not panic, makes no loop,
// and puts every message in exactly one thread once.
func FuzzBuild(f *testing.F) {
	f.Add([]byte("abcdefghij"))
	f.Add([]byte{0, 1, 2, 3, 1, 0, 2, 2, 2, 9, 9, 9, 4, 1, 0})
	f.Add([]byte("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"))
	f.Fuzz(func(t *testing.T, data []byte) {
		// Each message takes 4 bytes: id, in-reply-to, a References list, subject and date.
		ids := []string{"", "a", "b", "c", "d", "e", "f", "g"}
		subjects := []string{"", "x", "Re: x", "Fwd: x", "y", "Re: y"}
		var msgs []storage.Summary
		for len(data) >= 4 && len(msgs) < 64 {
			b := data[:4]
			data = data[4:]
			var refs []string
			for k := 0; k < int(b[2]>>5); k++ {
				refs = append(refs, ids[(int(b[2])+k*int(b[0]))%len(ids)])
			}
			msgs = append(msgs, storage.Summary{Summary: mailview.Summary{
				MessageID: ids[b[0]%8], InReplyTo: ids[b[1]%8], References: refs,
				Subject: subjects[int(b[3])%len(subjects)],
				Date:    day0.Add(time.Duration(b[3]>>2) * 24 * time.Hour),
			}})
		}
		check(t, msgs, Build(msgs))
	})
}

// genMessages makes n summaries shaped like a mailbox: conversations of 1 to 30 messages over
// a few days (replies with References of their ancestors, as mail clients write them, and an
// In-Reply-To), a tenth of the parents absent (deleted or never received), some replies without
// References but with "Re:" (subject fallback), and lone messages.
func genMessages(n int) []storage.Summary {
	r := rand.New(rand.NewPCG(1, 2))
	msgs := make([]storage.Summary, 0, n)
	conv := 0
	for len(msgs) < n {
		conv++
		size := 1 + r.IntN(30)
		if r.IntN(3) == 0 {
			size = 1
		}
		start := day0.Add(-time.Duration(r.IntN(5*365*24)) * time.Hour)
		subject := fmt.Sprintf("Conversation %d about things", conv)
		var ids []string
		var refsOf [][]string
		for k := 0; k < size && len(msgs) < n; k++ {
			id := fmt.Sprintf("%d.%d@example.org", conv, k)
			s := storage.Summary{Key: id, Summary: mailview.Summary{
				MessageID: id, Subject: subject,
				Date: start.Add(time.Duration(k*r.IntN(12)) * time.Hour),
			}}
			var refs []string
			if k > 0 {
				p := r.IntN(k)
				refs = append(slices.Clone(refsOf[p]), ids[p])
				if len(refs) > mailview.MaxReferences {
					refs = append(refs[:1:1], refs[len(refs)-mailview.MaxReferences+1:]...)
				}
				s.Subject = "Re: " + subject
				if r.IntN(20) > 0 {
					s.References, s.InReplyTo = refs, ids[p]
				}
			}
			ids = append(ids, id)
			refsOf = append(refsOf, refs)
			if k > 0 && r.IntN(10) == 0 {
				continue // absent
			}
			msgs = append(msgs, s)
		}
	}
	r.Shuffle(len(msgs), func(i, j int) { msgs[i], msgs[j] = msgs[j], msgs[i] })
	return msgs
}

func TestGenerated(t *testing.T) {
	msgs := genMessages(5000)
	check(t, msgs, Build(msgs))
}

// BenchmarkBuild100k threads 100,000 generated messages (genMessages).
func BenchmarkBuild100k(b *testing.B) {
	msgs := genMessages(100000)
	var threads []*Thread
	for b.Loop() {
		threads = Build(msgs)
	}
	b.ReportMetric(float64(len(threads)), "threads")
}

func ExampleBuild() {
	msgs := []storage.Summary{
		{Summary: mailview.Summary{MessageID: "2@x", InReplyTo: "1@x", References: []string{"1@x"}, Subject: "Re: Lunch",
			Date: time.Date(2026, 11, 2, 12, 30, 0, 0, time.UTC)}},
		{Summary: mailview.Summary{MessageID: "1@x", Subject: "Lunch", Date: time.Date(2026, 11, 2, 11, 0, 0, 0, time.UTC)}},
		{Summary: mailview.Summary{MessageID: "3@x", Subject: "Minutes", Date: time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC)}},
	}
	for _, t := range Build(msgs) {
		fmt.Printf("%d messages, newest %s\n", t.Count, t.Newest.Format("Jan 2 15:04"))
		t.Walk(func(n *Node, depth int) {
			fmt.Printf("%s%s\n", strings.Repeat("  ", depth+1), msgs[n.Msg].Subject)
		})
	}
	// Output:
	// 2 messages, newest Nov 2 12:30
	//   Lunch
	//     Re: Lunch
	// 1 messages, newest Nov 1 09:00
	//   Minutes
}

// TestDeepChain: a conversation 20,000 replies deep, each naming its parent (References bounded
// as Summarize bounds them), threads as one chain whichever order the messages come in, and
// quickly (no walk per link over the whole chain).
func TestDeepChain(t *testing.T) {
	const n = 20000
	msgs := make([]storage.Summary, n)
	var refs []string
	for i := 0; i < n; i++ {
		id := fmt.Sprintf("%d@x", i)
		r := refs
		if len(r) > mailview.MaxReferences {
			r = append(r[:1:1], r[len(r)-mailview.MaxReferences+1:]...)
		}
		msgs[i] = storage.Summary{Summary: mailview.Summary{MessageID: id, References: slices.Clone(r), Subject: "Re: deep",
			Date: day0.Add(time.Duration(i) * time.Minute)}}
		if i > 0 {
			msgs[i].InReplyTo = refs[len(refs)-1]
		}
		refs = append(refs, id)
	}
	for _, order := range []string{"oldest first", "newest first", "same date"} {
		t.Run(order, func(t *testing.T) {
			in := slices.Clone(msgs)
			switch order {
			case "newest first":
				slices.Reverse(in)
			case "same date":
				slices.Reverse(in)
				for i := range in {
					in[i].Date = day0
				}
			}
			start := time.Now()
			threads := Build(in)
			if d := time.Since(start); d > 2*time.Second {
				t.Errorf("Build took %v", d)
			}
			check(t, in, threads)
			depth := 0
			if len(threads) == 1 {
				threads[0].Walk(func(_ *Node, d int) { depth = max(depth, d) })
			}
			if len(threads) != 1 || depth != n-1 {
				t.Errorf("%d threads, depth %d; want 1, %d", len(threads), depth, n-1)
			}
		})
	}
}
