// Package thread groups message summaries into conversations with Jamie Zawinski's threading
// algorithm (https://www.jwz.org/doc/threading.html): the Message-ID, In-Reply-To and References
// fields of RFC 5322 section 3.6.4 link each message to its parent; messages that carry none of
// them but say they answer ("Re:", "Fwd:") join a conversation of the same subject. It is pure
// computation: no files, no I/O.
package thread

import (
	"cmp"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/poplar-mail/poplar/storage"
)

// SubjectWindow is how far apart in time a message may be from the newest message of a
// conversation and still join it by subject alone.
const SubjectWindow = 30 * 24 * time.Hour

// maxWalk bounds the walk up a chain of parents that proves a new link makes no loop. A chain
// longer than that (which mail never has) is treated as a loop, so the link is not made.
const maxWalk = 2048

// Node is one place in a conversation: a message, or an empty container standing for a message
// that is referred to but not among those given to Build, under which two or more replies meet.
// Only a Thread's Root may be empty.
type Node struct {
	Msg      int     // the index of the message in the slice given to Build; -1 for an empty container
	Children []*Node // the replies, oldest first
}

// Empty reports whether n stands for a message that is not there.
func (n *Node) Empty() bool { return n.Msg < 0 }

// Thread is one conversation.
type Thread struct {
	Root   *Node
	Count  int       // the messages in it
	Newest time.Time // the time of its newest message (Date, or Received when there is none)
	newest int       // the index of its newest message
}

// Walk calls fn for every node of t, a parent before its replies, replies oldest first (the
// order a list shows them), with the depth of the node (0 for the root).
func (t *Thread) Walk(fn func(n *Node, depth int)) {
	type item struct {
		n     *Node
		depth int
	}
	stack := []item{{t.Root, 0}}
	for len(stack) > 0 {
		it := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		fn(it.n, it.depth)
		for i := len(it.n.Children) - 1; i >= 0; i-- {
			stack = append(stack, item{it.n.Children[i], it.depth + 1})
		}
	}
}

// Messages returns the indices of t's messages in tree order (see Walk), without the empty
// container.
func (t *Thread) Messages() []int {
	out := make([]int, 0, t.Count)
	t.Walk(func(n *Node, _ int) {
		if !n.Empty() {
			out = append(out, n.Msg)
		}
	})
	return out
}

// container is one Message-ID while linking: a message, or an id that only References name.
type container struct {
	msg    int32 // -1 when no message has this id
	parent int32 // -1 for none
	kids   int32 // how many containers have this one as parent
}

// Build groups msgs into conversations and returns them newest first (by each one's newest
// message; Date, or Received when a message has no Date); within a conversation replies are
// under the message they answer, oldest first. Every message of msgs is in exactly one Thread,
// once. Build reads msgs and does not keep it.
//
// Linking follows JWZ: a message's References (with its In-Reply-To after them when References
// lacks it) are linked as a chain of parents, a link that would make a loop is not made, a
// message's own last reference wins over a parent guessed from other messages, and an id that
// names no message becomes an empty container, which stays only as the root of two or more
// replies. A message whose Message-ID another message already has, or that has none, is linked
// by its own References only. A reference to the message itself is ignored.
//
// Subject fallback: a message with neither References nor In-Reply-To and no replies of its own,
// whose subject has a reply or forward prefix ("Re:", "Fwd:", "AW:"... and list tags such as
// "[team]" stripped), joins as a reply the conversation with the same remaining subject (case
// and spacing ignored) whose newest message is latest among those that began no later than it,
// when it is at most SubjectWindow after that newest message. So a stray "Re: Lunch" joins this
// week's "Lunch", while a "Re: Lunch" a year later, or one without a prefix, stands alone.
func Build(msgs []storage.Summary) []*Thread {
	n := len(msgs)
	when := make([]int64, n)
	for i := range msgs {
		when[i] = msgTime(&msgs[i]).Unix()
	}
	// Link oldest first: a parent then usually comes before its replies, so a new link needs no
	// walk to prove it makes no loop.
	type timed struct {
		when int64
		i    int32
	}
	order := make([]timed, n)
	for i := range order {
		order[i] = timed{when[i], int32(i)}
	}
	slices.SortFunc(order, func(a, b timed) int {
		if a.when != b.when {
			return cmp.Compare(a.when, b.when)
		}
		return int(a.i - b.i)
	})

	l := linker{
		byID: make(map[string]int32, n+n/2),
		c:    make([]container, n, n+n/2),
	}
	self := make([]int32, n) // each message's container: container i for message i
	for i := range l.c {
		l.c[i] = container{msg: int32(i), parent: -1}
		self[i] = int32(i)
	}
	for _, o := range order {
		i := o.i
		m := &msgs[i]
		if id := m.MessageID; id != "" {
			if c, ok := l.byID[id]; !ok {
				l.byID[id] = i
			} else if l.c[c].msg < 0 {
				// Named by References before: the message takes the empty container over.
				l.c[c].msg = i
				l.c[i].msg = -1 // container i stays unused
				self[i] = c
			}
			// else: a duplicate id; container i is its own, outside the table.
		}
		l.linkRefs(self[i], m)
	}

	// Each message's parent after pruning: the nearest message above it, or an empty root,
	// or none. Non-root empty containers are dropped, their replies moved up.
	up := make([]int32, len(l.c)) // memo for empty containers: their nearest message or root
	for i := range up {
		up[i] = -2 // not computed
	}
	resolve := func(c int32) int32 { // the nearest ancestor-or-self that is a message or a root
		var path []int32
		for {
			if l.c[c].msg >= 0 || l.c[c].parent < 0 {
				break
			}
			if up[c] != -2 {
				c = up[c]
				break
			}
			path = append(path, c)
			c = l.c[c].parent
		}
		for _, p := range path {
			up[p] = c
		}
		return c
	}
	parent := make([]int32, len(l.c)) // the pruned parent of each message's container, or -1
	rootKids := make([]int32, len(l.c))
	for i := range msgs {
		c := self[i]
		p := l.c[c].parent
		if p >= 0 {
			p = resolve(p)
			if l.c[p].msg < 0 {
				rootKids[p]++
			}
		}
		parent[c] = p
	}
	// An empty root with a single reply is dropped: that reply is the root.
	for i := range msgs {
		c := self[i]
		if p := parent[c]; p >= 0 && l.c[p].msg < 0 && rootKids[p] < 2 {
			parent[c] = -1
		}
	}

	// Nodes: one per message, one per kept empty root; children carved from one array.
	nodeOf := make([]int32, len(l.c))
	var nodes []Node
	nkids := []int32{}
	add := func(c int32) {
		nodeOf[c] = int32(len(nodes))
		nodes = append(nodes, Node{Msg: int(l.c[c].msg)})
		nkids = append(nkids, 0)
	}
	nodes = make([]Node, 0, n+n/8)
	for i := range msgs {
		add(self[i])
	}
	for c := range l.c {
		if l.c[c].msg < 0 && rootKids[c] >= 2 {
			add(int32(c))
		}
	}
	var roots []int32 // node indices
	for i := range msgs {
		c := self[i]
		if p := parent[c]; p >= 0 {
			nkids[nodeOf[p]]++
		} else {
			roots = append(roots, nodeOf[c])
		}
	}
	for k := n; k < len(nodes); k++ {
		roots = append(roots, int32(k))
	}
	kids := make([]*Node, n) // every message but the roots is someone's child
	off := 0
	for k := range nodes {
		nodes[k].Children = kids[off : off : off+int(nkids[k])]
		off += int(nkids[k])
	}
	for i := range msgs {
		c := self[i]
		if p := parent[c]; p >= 0 {
			pn := &nodes[nodeOf[p]]
			pn.Children = append(pn.Children, &nodes[nodeOf[c]])
		}
	}

	threads := make([]*Thread, 0, len(roots))
	byRoot := make(map[*Node]*Thread, len(roots))
	ts := make([]Thread, len(roots))
	for k, r := range roots {
		t := &ts[k]
		t.Root = &nodes[r]
		t.newest = -1
		byRoot[t.Root] = t
		threads = append(threads, t)
	}
	oldest := make([]int64, len(threads))
	var stack []*Node
	for k, t := range threads {
		first := true
		stack = append(stack[:0], t.Root)
		for len(stack) > 0 {
			nd := stack[len(stack)-1]
			stack = append(stack[:len(stack)-1], nd.Children...)
			if nd.Empty() {
				continue
			}
			t.Count++
			w := when[nd.Msg]
			if first || w < oldest[k] {
				oldest[k] = w
			}
			if first || w > when[t.newest] || (w == when[t.newest] && nd.Msg < t.newest) {
				t.newest = nd.Msg
			}
			first = false
		}
	}
	threads = joinBySubject(msgs, threads, oldest, when)

	for k := range nodes {
		slices.SortFunc(nodes[k].Children, func(a, b *Node) int {
			if when[a.Msg] != when[b.Msg] {
				return cmp.Compare(when[a.Msg], when[b.Msg])
			}
			return a.Msg - b.Msg
		})
	}
	for _, t := range threads {
		t.Newest = msgTime(&msgs[t.newest])
	}
	slices.SortFunc(threads, func(a, b *Thread) int {
		if when[a.newest] != when[b.newest] {
			return cmp.Compare(when[b.newest], when[a.newest])
		}
		return a.newest - b.newest
	})
	return threads
}

// linker holds the id table and the containers while linking.
type linker struct {
	byID map[string]int32
	c    []container
}

// get returns the container of id, making an empty one.
func (l *linker) get(id string) int32 {
	if c, ok := l.byID[id]; ok {
		return c
	}
	c := int32(len(l.c))
	l.c = append(l.c, container{msg: -1, parent: -1})
	l.byID[id] = c
	return c
}

// linkRefs links the References chain of m, whose container is c, and makes the last of them
// c's parent.
func (l *linker) linkRefs(c int32, m *storage.Summary) {
	refs := m.References
	last := int32(-1)
	for _, id := range refs {
		last = l.step(c, last, id, m.MessageID)
	}
	if irt := m.InReplyTo; irt != "" && !slices.Contains(refs, irt) {
		last = l.step(c, last, irt, m.MessageID)
	}
	if last >= 0 && l.c[c].parent != last {
		l.link(c, last) // the message's own word wins over a guessed parent, unless it loops
	}
}

// step links the container of id under prev (when it has no parent yet) and returns it; an id
// that is empty or names the message itself (own is its Message-ID) is skipped.
func (l *linker) step(c, prev int32, id, own string) int32 {
	if id == "" || id == own {
		return prev
	}
	r := l.get(id)
	if r == c {
		return prev
	}
	if prev >= 0 && l.c[r].parent < 0 {
		l.link(r, prev)
	}
	return r
}

// link makes p the parent of c unless that would make a loop (p is c or below it).
func (l *linker) link(c, p int32) {
	if c == p || (l.c[c].kids > 0 && l.below(p, c)) {
		return
	}
	if old := l.c[c].parent; old >= 0 {
		l.c[old].kids--
	}
	l.c[c].parent = p
	l.c[p].kids++
}

// below reports whether x is a descendant of a, or may be (the chain above x is too long to
// walk).
func (l *linker) below(x, a int32) bool {
	for k := 0; k < maxWalk; k++ {
		x = l.c[x].parent
		if x < 0 {
			return false
		}
		if x == a {
			return true
		}
	}
	return true
}

// joinBySubject moves lone replies without References or In-Reply-To into the conversation of
// their subject (see Build) and returns the threads that remain.
func joinBySubject(msgs []storage.Summary, threads []*Thread, oldest, when []int64) []*Thread {
	type cand struct {
		t      int // index in threads
		lone   bool
		oldest int64
	}
	var groups map[string][]cand
	for k, t := range threads {
		r := t.Root
		if r.Empty() || len(r.Children) > 0 {
			continue
		}
		m := &msgs[r.Msg]
		if len(m.References) > 0 || m.InReplyTo != "" {
			continue
		}
		base, prefixed := BaseSubject(m.Subject)
		if !prefixed || base == "" {
			continue
		}
		if groups == nil {
			groups = map[string][]cand{}
		}
		groups[base] = append(groups[base], cand{t: k, lone: true, oldest: oldest[k]})
	}
	if len(groups) == 0 {
		return threads
	}
	for k, t := range threads {
		r := t.Root
		if !r.Empty() && len(r.Children) == 0 {
			m := &msgs[r.Msg]
			if len(m.References) == 0 && m.InReplyTo == "" {
				if _, prefixed := BaseSubject(m.Subject); prefixed {
					continue // already a candidate
				}
			}
		}
		s := r
		if s.Empty() {
			s = r.Children[0] // an empty root has two or more replies; any names the subject
		}
		base, _ := BaseSubject(msgs[s.Msg].Subject)
		if g, ok := groups[base]; ok {
			groups[base] = append(g, cand{t: k, oldest: oldest[k]})
		}
	}
	gone := make([]bool, len(threads))
	for _, g := range groups {
		slices.SortFunc(g, func(a, b cand) int {
			if a.oldest != b.oldest {
				return cmp.Compare(a.oldest, b.oldest)
			}
			return a.t - b.t
		})
		best := -1 // the thread whose newest message is latest so far
		for _, x := range g {
			xt := threads[x.t]
			if x.lone && best >= 0 {
				bt := threads[best]
				if when[xt.Root.Msg]-when[bt.newest] <= int64(SubjectWindow/time.Second) {
					bt.Root.Children = append(bt.Root.Children, xt.Root)
					bt.Count++
					if w := when[xt.Root.Msg]; w > when[bt.newest] || (w == when[bt.newest] && xt.Root.Msg < bt.newest) {
						bt.newest = xt.Root.Msg
					}
					gone[x.t] = true
					continue
				}
			}
			if best < 0 || when[xt.newest] > when[threads[best].newest] {
				best = x.t
			}
		}
	}
	out := threads[:0]
	for k, t := range threads {
		if !gone[k] {
			out = append(out, t)
		}
	}
	return out
}

// msgTime is when a message was written: its Date, or when it arrived if it has none.
func msgTime(s *storage.Summary) time.Time {
	if !s.Date.IsZero() {
		return s.Date
	}
	return s.Received
}

// replyPrefixes are the words that mark a reply or a forward in a subject, lower case: English,
// German (AW, WG), Scandinavian (SV, VS), Dutch (Antw), French (TR), Italian (RIF).
var replyPrefixes = []string{"re", "fwd", "fw", "aw", "wg", "sv", "vs", "antw", "tr", "rif"}

// BaseSubject returns subject without its reply and forward prefixes ("Re:", "Fwd:", "Re[2]:",
// "AW:"...) and mailing-list tags ("[team] "), lower case with spaces collapsed, and whether a
// reply or forward prefix was there.
func BaseSubject(subject string) (base string, prefixed bool) {
	s := subject
	for {
		s = strings.TrimLeft(s, " \t")
		if strings.HasPrefix(s, "[") {
			if j := strings.IndexByte(s, ']'); j > 0 && strings.TrimSpace(s[j+1:]) != "" {
				s = s[j+1:]
				continue
			}
		}
		rest, ok := cutReplyPrefix(s)
		if !ok {
			break
		}
		s, prefixed = rest, true
	}
	return fold(s), prefixed
}

// fold returns s in lower case with its runs of spaces made one space and no space at either
// end; s itself when it is so already (no allocation).
func fold(s string) string {
	clean := true
	space := true // at the start, a space is not wanted
	for _, r := range s {
		switch {
		case unicode.IsSpace(r):
			if space || r != ' ' {
				clean = false
			}
			space = true
		case r >= utf8.RuneSelf && unicode.ToLower(r) != r, r >= 'A' && r <= 'Z':
			clean = false
			space = false
		default:
			space = false
		}
		if !clean {
			break
		}
	}
	if clean && !space || s == "" {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	gap := false
	for _, r := range s {
		if unicode.IsSpace(r) {
			gap = b.Len() > 0
			continue
		}
		if gap {
			b.WriteByte(' ')
			gap = false
		}
		b.WriteRune(unicode.ToLower(r))
	}
	return b.String()
}

// cutReplyPrefix removes one reply or forward prefix: a word of replyPrefixes (any case),
// optionally a count in brackets ("[2]", "(2)"), then a colon (ASCII or full width).
func cutReplyPrefix(s string) (string, bool) {
	j := 0
	for j < len(s) && (s[j] >= 'a' && s[j] <= 'z' || s[j] >= 'A' && s[j] <= 'Z') {
		j++
	}
	if j == 0 || j > 4 || !slices.Contains(replyPrefixes, strings.ToLower(s[:j])) {
		return s, false
	}
	rest := strings.TrimLeft(s[j:], " ")
	if len(rest) > 0 && (rest[0] == '[' || rest[0] == '(') {
		k := 1
		for k < len(rest) && rest[k] >= '0' && rest[k] <= '9' {
			k++
		}
		closing := byte(']')
		if rest[0] == '(' {
			closing = ')'
		}
		if k == 1 || k >= len(rest) || rest[k] != closing {
			return s, false
		}
		rest = strings.TrimLeft(rest[k+1:], " ")
	}
	switch {
	case strings.HasPrefix(rest, ":"):
		return rest[1:], true
	case strings.HasPrefix(rest, "："):
		return rest[len("："):], true
	}
	return s, false
}
