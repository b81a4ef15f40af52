package search

import (
	"bytes"
	"cmp"
	"fmt"
	"math/bits"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/poplar-mail/poplar/storage"
)

// SyntaxError is a query that does not parse: Part is the piece of it at fault.
type SyntaxError struct {
	Part string
	Msg  string
}

func (e *SyntaxError) Error() string { return fmt.Sprintf("search: %q: %s", e.Part, e.Msg) }

// fieldNames are the field names of the query syntax (see Index.Search).
var fieldNames = map[string]bool{"from": true, "to": true, "subject": true, "has": true, "is": true, "before": true, "after": true, "folder": true}

// part is one piece of a query.
type part struct {
	raw    string // as typed, for errors
	neg    bool
	field  string // "" for a word or phrase
	value  string
	quoted bool
}

// split breaks a query into parts.
func split(q string) ([]part, error) {
	var parts []part
	i := 0
	for {
		for i < len(q) && isSpace(q, i) {
			_, n := utf8.DecodeRuneInString(q[i:])
			i += n
		}
		if i >= len(q) {
			return parts, nil
		}
		start := i
		p := part{}
		if q[i] == '-' && i+1 < len(q) && !isSpace(q, i+1) {
			p.neg = true
			i++
		}
		// A field name: letters then ':'.
		j := i
		for j < len(q) && (q[j] >= 'a' && q[j] <= 'z' || q[j] >= 'A' && q[j] <= 'Z') {
			j++
		}
		if j < len(q) && q[j] == ':' && fieldNames[strings.ToLower(q[i:j])] {
			p.field = strings.ToLower(q[i:j])
			i = j + 1
		}
		if i < len(q) && q[i] == '"' {
			end := strings.IndexByte(q[i+1:], '"')
			if end < 0 {
				return nil, &SyntaxError{Part: q[start:], Msg: "the quote is not closed"}
			}
			p.value, p.quoted = q[i+1:i+1+end], true
			i += end + 2
		} else {
			j := i
			for j < len(q) && !isSpace(q, j) {
				j++
			}
			p.value = q[i:j]
			i = j
		}
		p.raw = q[start:i]
		if p.field != "" && strings.TrimSpace(p.value) == "" {
			return nil, &SyntaxError{Part: p.raw, Msg: p.field + ": needs a value"}
		}
		parts = append(parts, p)
	}
}

func isSpace(s string, i int) bool {
	r, _ := utf8.DecodeRuneInString(s[i:])
	return unicode.IsSpace(r)
}

// parse turns a query into the tree evaluated against the index.
func parse(q string) (node, error) {
	parts, err := split(q)
	if err != nil {
		return nil, err
	}
	lastWord := -1
	for i, p := range parts {
		if p.field == "" && !p.quoted && !p.neg {
			lastWord = i
		}
	}
	if lastWord >= 0 && lastWord != len(parts)-1 {
		lastWord = -1 // only the word being typed, at the end, is a prefix
	}
	b := &boolNode{}
	for i, p := range parts {
		qq, err := partQuery(p, i == lastWord)
		if err != nil {
			return nil, err
		}
		if qq == nil {
			continue
		}
		if p.neg {
			b.not = append(b.not, qq)
		} else {
			b.must = append(b.must, qq)
		}
	}
	if len(b.must) == 0 && len(b.not) == 0 {
		return nil, &SyntaxError{Part: q, Msg: "nothing to search for"}
	}
	return b, nil
}

// partQuery is the query of one part; nil for a word with nothing to search (punctuation).
func partQuery(p part, prefix bool) (node, error) {
	switch p.field {
	case "", "from", "to", "subject":
		fields := textFields
		switch p.field {
		case "from":
			fields = []byte{fFrom}
		case "to":
			fields = []byte{fTo}
		case "subject":
			fields = []byte{fSubject}
		}
		ts := terms(p.value)
		if len(ts) == 0 {
			if p.field != "" {
				return nil, &SyntaxError{Part: p.raw, Msg: "has no word to search for"}
			}
			return nil, nil
		}
		return &textNode{fields: fields, terms: ts, prefix: prefix && len(ts) == 1 && utf8.RuneCountInString(ts[0]) >= 2}, nil
	case "has":
		switch strings.ToLower(p.value) {
		case "attachment", "attachments":
			return filterNode(func(d *docInfo) bool { return d.attach }), nil
		}
		return nil, &SyntaxError{Part: p.raw, Msg: "has: takes attachment"}
	case "is":
		switch strings.ToLower(p.value) {
		case "unread":
			return filterNode(func(d *docInfo) bool { return d.flags&storage.FlagSeen == 0 }), nil
		case "read":
			return filterNode(func(d *docInfo) bool { return d.flags&storage.FlagSeen != 0 }), nil
		case "flagged", "starred":
			return filterNode(func(d *docInfo) bool { return d.flags&storage.FlagFlagged != 0 }), nil
		case "unflagged":
			return filterNode(func(d *docInfo) bool { return d.flags&storage.FlagFlagged == 0 }), nil
		}
		return nil, &SyntaxError{Part: p.raw, Msg: "is: takes unread, read, flagged or unflagged"}
	case "before", "after":
		d, err := time.ParseInLocation("2006-01-02", p.value, time.Local)
		if err != nil {
			return nil, &SyntaxError{Part: p.raw, Msg: "the date must be YYYY-MM-DD"}
		}
		u := d.Unix()
		if p.field == "before" {
			return filterNode(func(d *docInfo) bool { return d.date < u }), nil
		}
		return filterNode(func(d *docInfo) bool { return d.date >= u }), nil
	case "folder":
		return folderNode(p.value), nil
	}
	return nil, &SyntaxError{Part: p.raw, Msg: "unknown field"}
}

// folderNode matches one folder; "inbox" in any case is the Inbox.
func folderNode(name string) node {
	if strings.EqualFold(name, storage.Inbox) {
		name = storage.Inbox
	}
	return folderMatch(name)
}

// A node is a query, or a part of one, evaluated to the set of documents it matches.
type node interface {
	eval(c *evalCtx) (bitmap, error)
}

// evalCtx is what a query is evaluated against: a committed table and its open segments.
type evalCtx struct {
	t     *table
	segs  []*segment
	p, q  []uint32 // position buffers for phrases
	order []int
	key   []byte
}

// bitmap is a set of document numbers.
type bitmap []uint64

func newBitmap(n int) bitmap { return make(bitmap, (n+63)/64) }

func (b bitmap) has(i uint32) bool { return int(i>>6) < len(b) && b[i>>6]&(1<<(i&63)) != 0 }

func (b bitmap) set(i uint32) { b[i>>6] |= 1 << (i & 63) }

// count returns the number of documents in b.
func (b bitmap) count() int {
	n := 0
	for _, w := range b {
		n += bits.OnesCount64(w)
	}
	return n
}

// boolNode matches the documents that every node of must matches and none of not does.
type boolNode struct{ must, not []node }

func (n *boolNode) eval(c *evalCtx) (bitmap, error) {
	out := newBitmap(len(c.t.docs))
	for i, d := range c.t.docs {
		if d.live {
			out.set(uint32(i))
		}
	}
	for _, m := range n.must {
		b, err := m.eval(c)
		if err != nil {
			return nil, err
		}
		for i := range out {
			out[i] &= b[i]
		}
	}
	for _, m := range n.not {
		b, err := m.eval(c)
		if err != nil {
			return nil, err
		}
		for i := range out {
			out[i] &^= b[i]
		}
	}
	return out, nil
}

// filterNode matches the documents whose table entry it accepts.
type filterNode func(d *docInfo) bool

func (f filterNode) eval(c *evalCtx) (bitmap, error) {
	out := newBitmap(len(c.t.docs))
	for i := range c.t.docs {
		if d := &c.t.docs[i]; d.live && f(d) {
			out.set(uint32(i))
		}
	}
	return out, nil
}

// folderMatch matches the documents of one folder.
type folderMatch string

func (f folderMatch) eval(c *evalCtx) (bitmap, error) {
	out := newBitmap(len(c.t.docs))
	for fi, name := range c.t.folders {
		if name != string(f) {
			continue
		}
		for i := range c.t.docs {
			if d := &c.t.docs[i]; d.live && d.folder == uint32(fi) {
				out.set(uint32(i))
			}
		}
	}
	return out, nil
}

// textNode matches a word (or, with prefix, the start of one) or a phrase in any of fields.
type textNode struct {
	fields []byte
	terms  []string
	prefix bool
}

func (n *textNode) eval(c *evalCtx) (bitmap, error) {
	// Segments hold disjoint documents: each is searched on its own goroutine (into its own
	// bitmap: neighbours may share a word of one).
	outs := make([]bitmap, len(c.segs))
	errs := make([]error, len(c.segs))
	var wg sync.WaitGroup
	for k, s := range c.segs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sc := &evalCtx{t: c.t}
			out := newBitmap(len(c.t.docs))
			for _, f := range n.fields {
				var err error
				switch {
				case len(n.terms) > 1:
					err = sc.phrase(out, s, f, n.terms)
				case n.prefix:
					err = sc.prefix(out, s, f, n.terms[0])
				default:
					err = sc.term(out, s, f, n.terms[0])
				}
				if err != nil {
					errs[k] = err
					return
				}
			}
			outs[k] = out
		}()
	}
	wg.Wait()
	out := newBitmap(len(c.t.docs))
	for k := range outs {
		if errs[k] != nil {
			return nil, errs[k]
		}
		for i, w := range outs[k] {
			out[i] |= w
		}
	}
	return out, nil
}

func (c *evalCtx) keyOf(f byte, term string) []byte {
	c.key = append(append(c.key[:0], f), term...)
	return c.key
}

// addDocs sets the documents of a document list in out.
func addDocs(out bitmap, docs []byte) error {
	it := newDocIter(docs)
	for it.next() {
		if int(it.doc>>6) >= len(out) {
			return errDamaged
		}
		out.set(it.doc)
	}
	return it.err
}

func (c *evalCtx) term(out bitmap, s *segment, f byte, term string) error {
	e, ok, err := s.lookup(c.keyOf(f, term))
	if err != nil || !ok {
		return err
	}
	docs, _ := s.postings(e)
	return addDocs(out, docs)
}

func (c *evalCtx) prefix(out bitmap, s *segment, f byte, prefix string) error {
	key := c.keyOf(f, prefix)
	i, err := s.search(key)
	if err != nil {
		return err
	}
	for ; i < s.nTerms; i++ {
		e, err := s.entry(i)
		if err != nil {
			return err
		}
		if !bytes.HasPrefix(e.key, key) {
			return nil
		}
		docs, _ := s.postings(e)
		if err := addDocs(out, docs); err != nil {
			return err
		}
	}
	return nil
}

// phrasePart is a term a phrase is looked for by: its key, and its offset in the phrase.
type phrasePart struct {
	key []byte
	off uint32
}

// phraseParts returns the terms to look for the phrase terms by in field f: the pair of each two
// neighbours whose first is common, as docAnalyzer indexes it, and each word in no such pair.
func phraseParts(f byte, terms []string) []phrasePart {
	var parts []phrasePart
	covered := make([]bool, len(terms))
	for i := 0; i+1 < len(terms); i++ {
		if isCommon([]byte(terms[i])) {
			parts = append(parts, phrasePart{appendGram([]byte{gramField(f)}, terms[i], terms[i+1]), uint32(i)})
			covered[i], covered[i+1] = true, true
		}
	}
	for i, t := range terms {
		if !covered[i] {
			parts = append(parts, phrasePart{append([]byte{f}, t...), uint32(i)})
		}
	}
	return parts
}

// phrase sets the documents in which terms follow each other in field f.
func (c *evalCtx) phrase(out bitmap, s *segment, f byte, terms []string) error {
	parts := phraseParts(f, terms)
	if len(parts) == 1 { // two words, the first common: a term of its own
		e, ok, err := s.lookup(parts[0].key)
		if err != nil || !ok {
			return err
		}
		docs, _ := s.postings(e)
		return addDocs(out, docs)
	}
	its := make([]docIter, len(parts))
	pos := make([][]byte, len(parts))
	offs := make([]uint32, len(parts))
	for i, p := range parts {
		e, ok, err := s.lookup(p.key)
		if err != nil || !ok {
			return err
		}
		var docs []byte
		docs, pos[i] = s.postings(e)
		offs[i] = p.off
		its[i] = newDocIter(docs)
		if !its[i].next() {
			return its[i].err
		}
	}
	for {
		target := its[0].doc
		for i := range its {
			target = max(target, its[i].doc)
		}
		same := true
		for i := range its {
			for its[i].doc < target {
				if !its[i].next() {
					return its[i].err
				}
			}
			same = same && its[i].doc == target
		}
		if !same {
			continue
		}
		ok, err := c.adjacent(its, pos, offs)
		if err != nil {
			return err
		}
		if ok {
			if int(target>>6) >= len(out) {
				return errDamaged
			}
			out.set(target)
		}
		if !its[0].next() {
			return its[0].err
		}
	}
}

// adjacent reports whether the terms, all in the current document of its, occur there each at
// its offset offs[i] from a common start. It reads the positions of the term with the fewest first (as starts of the
// phrase), narrows them with the others', and reads the last one only until one fits.
func (c *evalCtx) adjacent(its []docIter, pos [][]byte, offs []uint32) (bool, error) {
	at := func(i int) ([]byte, error) {
		it := &its[i]
		if it.posOff+it.posLen > uint64(len(pos[i])) {
			return nil, errDamaged
		}
		return pos[i][it.posOff : it.posOff+it.posLen], nil
	}
	c.order = c.order[:0]
	for i := range its {
		c.order = append(c.order, i)
	}
	slices.SortFunc(c.order, func(a, b int) int { return cmp.Compare(its[a].posLen, its[b].posLen) })
	var err error
	c.p = c.p[:0]
	for k, i := range c.order {
		b, err := at(i)
		if err != nil {
			return false, err
		}
		off := offs[i]
		if k == 0 {
			// Starts: where the phrase begins if term i is at p.
			if c.q, err = positions(c.q, b); err != nil {
				return false, err
			}
			for _, p := range c.q {
				if p >= off {
					c.p = append(c.p, p-off)
				}
			}
			continue
		}
		if len(c.p) == 0 {
			return false, nil
		}
		last := k == len(c.order)-1
		// Keep the starts s for which term i is at s+i; for the last term, stop at the first.
		keep, j := c.p[:0], 0
		q := uint32(0)
		for len(b) > 0 && j < len(c.p) {
			if b, q, err = nextPos(b, q); err != nil {
				return false, err
			}
			for j < len(c.p) && c.p[j]+off < q {
				j++
			}
			if j < len(c.p) && c.p[j]+off == q {
				if last {
					return true, nil
				}
				keep = append(keep, c.p[j])
				j++
			}
		}
		c.p = keep
	}
	return len(c.p) > 0 && len(c.order) == 1, err
}
