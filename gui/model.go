package gui

import (
	"slices"
	"strings"

	"github.com/poplar-mail/poplar/storage"
	"github.com/poplar-mail/poplar/storage/thread"
)

// sortKey names a column the message list sorts by.
type sortKey string

// The columns the list sorts by; the zero value sorts by date.
const (
	byDate    sortKey = "date"
	bySender  sortKey = "sender"
	bySubject sortKey = "subject"
	bySize    sortKey = "size"
)

// sortOrder is a column and a direction. The default is newest first.
type sortOrder struct {
	key       sortKey
	ascending bool
}

// String is the form kept in the preferences ("date-desc").
func (o sortOrder) String() string {
	d := "desc"
	if o.ascending {
		d = "asc"
	}
	return string(o.key) + "-" + d
}

// parseSortOrder reads String's form; anything else is newest first.
func parseSortOrder(s string) sortOrder {
	k, d, _ := strings.Cut(s, "-")
	switch sortKey(k) {
	case bySender, bySubject, bySize, byDate:
		return sortOrder{key: sortKey(k), ascending: d == "asc"}
	}
	return sortOrder{key: byDate}
}

// listModel holds one folder's messages, their order, the rows the filter leaves and the
// selection. It is plain data with no Fyne in it, so it is tested and benchmarked at 100,000
// messages. Items never move (indices are stable); order and view hold indices.
//
// The messages come from a source: for a folder its storage.Listing, which holds where each
// summary is and decodes one when asked, so a 100,000-message folder costs the list its order,
// view and key map (about 5 MB) instead of 25 MB of summaries, and a row on screen is decoded
// when it is drawn. A sort by another column, a grouping by conversation and the filter read
// every summary for the moment they take. The model never changes a summary it was given:
// setFlags and insert put a changed copy in its item's place (own).
type listModel struct {
	src source
	own map[int]*storage.Summary // items changed or added here; added ones follow src's
	n   int                      // items: src's and those added
	// search is the lower-cased "from subject" of each item, made when a filter first needs it
	// (nil until then: at 100,000 messages it is some 8 MB the app does not otherwise use).
	search []string
	gone   []bool         // removed items (tombstones until the next set)
	added  map[string]int // the items added after src's, by key (src finds its own: index)
	order  []int          // live items in sort order
	view   []int          // the rows shown: order filtered by query
	query  string
	words  []string
	sortBy sortOrder
	// threaded groups the list by conversation (storage/thread): threads newest first, replies
	// under what they answer; depth is each item's depth in its thread then.
	threaded bool
	depth    []int
	threadOf []int           // each item's conversation number, when threaded
	sel      map[string]bool // selected keys
	cursor   string          // the message the reader shows and the keys move from
	anchor   string          // where a Shift range starts
}

// source is where a list's messages come from: a folder's storage.Listing (listingSource) or
// summaries in memory (refSource: tests).
type source interface {
	Len() int
	Key(i int) string
	// Index returns the number of the message key, and whether the source holds it.
	Index(key string) (int, bool)
	Flags(i int) storage.Flags
	// Ref returns message i's summary, which the caller must not change.
	Ref(i int) *storage.Summary
	// Refs returns every message's summary, in order, which the caller must not change.
	Refs() []*storage.Summary
	// Newest reports whether the messages come newest first, in the list's default order.
	Newest() bool
}

// listingSource is a storage.Listing as a list's source: each summary is decoded when asked for.
// newest says it is a folder's, newest first; a search's hits are not in the list's order.
type listingSource struct {
	*storage.Listing
	newest bool
}

func (l listingSource) Ref(i int) *storage.Summary { s := l.Summary(i); return &s }
func (l listingSource) Refs() []*storage.Summary   { return refsOf(l.Summaries()) }
func (l listingSource) Newest() bool               { return l.newest }

// refSource is summaries in memory as a list's source.
type refSource struct {
	sums  []*storage.Summary
	byKey map[string]int
}

// newRefSource makes sums a list's source.
func newRefSource(sums []*storage.Summary) refSource {
	r := refSource{sums: sums, byKey: make(map[string]int, len(sums))}
	for i, s := range sums {
		r.byKey[s.Key] = i
	}
	return r
}

func (r refSource) Len() int                   { return len(r.sums) }
func (r refSource) Key(i int) string           { return r.sums[i].Key }
func (r refSource) Flags(i int) storage.Flags  { return r.sums[i].Flags }
func (r refSource) Ref(i int) *storage.Summary { return r.sums[i] }
func (r refSource) Newest() bool               { return false }
func (r refSource) Index(key string) (int, bool) {
	i, ok := r.byKey[key]
	return i, ok
}
func (r refSource) Refs() []*storage.Summary { return slices.Clone(r.sums) }

// set replaces the folder's messages with sums (search results; tests), as setSource does.
func (m *listModel) set(sums []storage.Summary) { m.setRefs(refsOf(sums)) }

// setRefs replaces the folder's messages with sums, as setSource does.
func (m *listModel) setRefs(sums []*storage.Summary) { m.setSource(newRefSource(sums)) }

// refsOf points to each of sums.
func refsOf(sums []storage.Summary) []*storage.Summary {
	refs := make([]*storage.Summary, len(sums))
	for i := range sums {
		refs[i] = &sums[i]
	}
	return refs
}

// setSource replaces the folder's messages, keeping the query and the sort order; the selection
// keeps the keys that are still there.
func (m *listModel) setSource(src source) {
	m.src, m.own, m.n = src, nil, src.Len()
	m.search = nil
	m.gone = make([]bool, m.n)
	m.added = nil
	m.order = make([]int, m.n)
	for i := range m.n {
		m.order[i] = i
	}
	m.sortOrder()
	m.filter(m.query)
	m.keepSelection()
}

// index returns the number of the live item key, and whether there is one.
func (m *listModel) index(key string) (int, bool) {
	if i, ok := m.added[key]; ok && !m.gone[i] {
		return i, true
	}
	if m.src == nil {
		return -1, false
	}
	if i, ok := m.src.Index(key); ok && !m.gone[i] {
		return i, true
	}
	return -1, false
}

// item returns item i's summary, which the caller must not change.
func (m *listModel) item(i int) *storage.Summary {
	if s, ok := m.own[i]; ok {
		return s
	}
	return m.src.Ref(i)
}

// key returns item i's key.
func (m *listModel) key(i int) string {
	if s, ok := m.own[i]; ok {
		return s.Key
	}
	return m.src.Key(i)
}

// flags returns item i's flags.
func (m *listModel) flags(i int) storage.Flags {
	if s, ok := m.own[i]; ok {
		return s.Flags
	}
	return m.src.Flags(i)
}

// setOwn puts s in item i's place.
func (m *listModel) setOwn(i int, s *storage.Summary) {
	if m.own == nil {
		m.own = map[int]*storage.Summary{}
	}
	m.own[i] = s
}

// all returns every item's summary, by item number, which the caller must not change: the
// source's, read at once, with the model's own in their places.
func (m *listModel) all() []*storage.Summary {
	var out []*storage.Summary
	if m.src != nil {
		out = m.src.Refs()
	}
	out = slices.Grow(out, m.n-len(out))[:m.n]
	for i, s := range m.own {
		out[i] = s
	}
	return out
}

func searchText(s *storage.Summary) string {
	return strings.ToLower(s.From + "\x00" + s.Subject)
}

// less orders items i and j by the sort order (see compare).
func (m *listModel) less(i, j int) int { return m.compare(m.item(i), m.item(j)) }

// compare orders a and b by the sort order; ties go newest first, then by arrival and key, so
// the order is total and stable whatever the input order. Newest first by date is the order of a
// folder's Listing.
func (m *listModel) compare(a, b *storage.Summary) int {
	c := 0
	switch m.sortBy.key {
	case bySender:
		c = strings.Compare(strings.ToLower(a.From), strings.ToLower(b.From))
	case bySubject:
		c = strings.Compare(subjectKey(a.Subject), subjectKey(b.Subject))
	case bySize:
		c = cmpInt(shownSize(a), shownSize(b))
	}
	if c == 0 {
		c = a.Date.Compare(b.Date)
		if c == 0 {
			c = a.Received.Compare(b.Received)
		}
		if c == 0 {
			c = strings.Compare(a.Key, b.Key)
		}
		if m.sortBy.key != byDate || !m.sortBy.ascending {
			return -c // newest first within equal senders, subjects, sizes
		}
		return c
	}
	if !m.sortBy.ascending {
		return -c
	}
	return c
}

// shownSize is a message's size as the list shows it: for a message of which only the header was
// downloaded, its size on the server when known.
func shownSize(m *storage.Summary) int64 {
	if m.Partial && m.ServerSize > 0 {
		return m.ServerSize
	}
	return m.Size
}

func cmpInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// subjectKey sorts "Re: Fwd: x" with "x", in any case.
func subjectKey(s string) string {
	s = strings.ToLower(strings.TrimSpace(s))
	for {
		t := s
		for _, p := range []string{"re:", "fwd:", "fw:", "aw:", "sv:", "wg:"} {
			t = strings.TrimSpace(strings.TrimPrefix(t, p))
		}
		if t == s {
			return s
		}
		s = t
	}
}

func (m *listModel) sortOrder() {
	if !m.threaded && m.sortBy == (sortOrder{key: byDate}) && m.src != nil && m.src.Newest() && m.n == m.src.Len() {
		// The source's order, which order still has unless a sort changed it.
		slices.Sort(m.order)
		return
	}
	all := m.all()
	if !m.threaded {
		slices.SortFunc(m.order, func(i, j int) int { return m.compare(all[i], all[j]) })
		return
	}
	live := make([]storage.Summary, len(m.order))
	for i, it := range m.order {
		live[i] = *all[it]
	}
	all = nil
	idx := append([]int(nil), m.order...)
	if len(m.depth) < m.n {
		m.depth = make([]int, m.n)
		m.threadOf = make([]int, m.n)
	}
	order := m.order[:0]
	for tn, t := range thread.Build(live) {
		lift := 0
		if t.Root.Empty() {
			lift = 1 // replies to a message that is not here start at the left
		}
		t.Walk(func(n *thread.Node, d int) {
			if !n.Empty() {
				it := idx[n.Msg]
				order = append(order, it)
				m.depth[it] = max(d-lift, 0)
				m.threadOf[it] = tn
			}
		})
	}
	m.order = order
}

// setThreaded groups the list by conversation, or not.
func (m *listModel) setThreaded(on bool) {
	m.threaded = on
	m.sortOrder()
	m.filter(m.query)
}

// conversation returns the messages of key's conversation in thread order (nil when the list is
// not grouped).
func (m *listModel) conversation(key string) []storage.Summary {
	i, ok := m.index(key)
	if !m.threaded || !ok || i >= len(m.threadOf) {
		return nil
	}
	var out []storage.Summary
	for _, it := range m.order {
		if m.threadOf[it] == m.threadOf[i] {
			out = append(out, *m.item(it))
		}
	}
	return out
}

// depthOf is a shown message's depth in its conversation (0 when not grouped).
func (m *listModel) depthOf(r int) int {
	if !m.threaded || r < 0 || r >= len(m.view) || m.view[r] >= len(m.depth) {
		return 0
	}
	return m.depth[m.view[r]]
}

// setSort changes the sort order and re-sorts.
func (m *listModel) setSort(o sortOrder) {
	m.sortBy = o
	m.sortOrder()
	m.filter(m.query)
}

// filter keeps the messages whose sender or subject contains every word of q (any case).
func (m *listModel) filter(q string) {
	m.query = q
	m.words = strings.Fields(strings.ToLower(q))
	if len(m.words) == 0 {
		m.view = append(m.view[:0], m.order...)
		return
	}
	if m.search == nil {
		all := m.all()
		m.search = make([]string, len(all))
		for i := range all {
			m.search[i] = searchText(all[i])
		}
	}
	if cap(m.view) < len(m.order) {
		m.view = make([]int, 0, len(m.order))
	}
	m.view = m.view[:0]
	for _, i := range m.order {
		if m.matches(i) {
			m.view = append(m.view, i)
		}
	}
}

func (m *listModel) matches(i int) bool {
	for _, w := range m.words {
		if !strings.Contains(m.search[i], w) {
			return false
		}
	}
	return true
}

// insert adds messages that arrived (a fetch) in their sorted place without disturbing the
// others or the selection; a key already shown is updated in place.
func (m *listModel) insert(sums ...storage.Summary) {
	if m.added == nil {
		m.added = map[string]int{}
	}
	for _, s := range sums {
		if i, ok := m.index(s.Key); ok {
			m.setOwn(i, &s)
			if m.search != nil {
				m.search[i] = searchText(&s)
			}
			continue
		}
		i := m.n
		m.n++
		m.setOwn(i, &s)
		if m.search != nil {
			m.search = append(m.search, searchText(&s))
		}
		m.gone = append(m.gone, false)
		m.added[s.Key] = i
		if m.threaded {
			m.order = append(m.order, i)
			continue
		}
		at, _ := slices.BinarySearchFunc(m.order, i, m.less)
		m.order = slices.Insert(m.order, at, i)
		if m.matches(i) {
			at, _ := slices.BinarySearchFunc(m.view, i, m.less)
			m.view = slices.Insert(m.view, at, i)
		}
	}
	if m.threaded { // a reply belongs under what it answers: group again
		m.sortOrder()
		m.filter(m.query)
	}
}

// remove drops messages from the list (deleted or moved away). It returns the key the cursor
// should go to: the first remaining row below the removed cursor, else the one above.
func (m *listModel) remove(keys []string) (next string) {
	drop := map[int]bool{}
	for _, k := range keys {
		if i, ok := m.index(k); ok {
			drop[i] = true
		}
	}
	if len(drop) == 0 {
		return m.cursor
	}
	cur := m.row(m.cursor)
	if i, ok := m.index(m.cursor); ok && drop[i] {
		next = ""
		for r := cur + 1; r < len(m.view) && next == ""; r++ {
			if !drop[m.view[r]] {
				next = m.key(m.view[r])
			}
		}
		for r := cur - 1; r >= 0 && next == ""; r-- {
			if !drop[m.view[r]] {
				next = m.key(m.view[r])
			}
		}
	} else {
		next = m.cursor
	}
	for i := range drop {
		m.gone[i] = true
		delete(m.added, m.key(i))
		delete(m.sel, m.key(i))
	}
	keep := func(s []int) []int {
		return slices.DeleteFunc(s, func(i int) bool { return drop[i] })
	}
	m.order = keep(m.order)
	m.view = keep(m.view)
	return next
}

// len is the number of rows shown.
func (m *listModel) len() int { return len(m.view) }

// at returns the summary shown at row i.
func (m *listModel) at(i int) *storage.Summary {
	if i < 0 || i >= len(m.view) {
		return nil
	}
	return m.item(m.view[i])
}

// get returns the summary of key, shown or not.
func (m *listModel) get(key string) *storage.Summary {
	if i, ok := m.index(key); ok {
		return m.item(i)
	}
	return nil
}

// row returns the row showing key, or -1.
func (m *listModel) row(key string) int {
	idx, ok := m.index(key)
	if !ok {
		return -1
	}
	return slices.Index(m.view, idx)
}

// setFlags gives a message new flags (after mark read/unread): a copy with them takes its place.
func (m *listModel) setFlags(key string, f storage.Flags) {
	if i, ok := m.index(key); ok {
		m.setFlagsAt(i, f)
	}
}

// setFlagsAt is setFlags for item i.
func (m *listModel) setFlagsAt(i int, f storage.Flags) {
	c := *m.item(i)
	c.Flags = f
	m.setOwn(i, &c)
}

// Selection. The cursor is the message the reader shows; sel holds every selected key (the cursor
// among them when anything is selected).

// selected returns the selected keys in row order (rows hidden by the search are not included).
func (m *listModel) selected() []string {
	var out []string
	for _, i := range m.view {
		if k := m.key(i); m.sel[k] {
			out = append(out, k)
		}
	}
	return out
}

func (m *listModel) isSelected(key string) bool { return m.sel[key] }

// selectOnly makes row r the whole selection and the cursor.
func (m *listModel) selectOnly(r int) {
	s := m.at(r)
	m.sel = map[string]bool{}
	if s == nil {
		m.cursor, m.anchor = "", ""
		return
	}
	m.sel[s.Key] = true
	m.cursor, m.anchor = s.Key, s.Key
}

// toggle adds row r to the selection or takes it out (Ctrl+click); the cursor moves there.
func (m *listModel) toggle(r int) {
	s := m.at(r)
	if s == nil {
		return
	}
	if m.sel == nil {
		m.sel = map[string]bool{}
	}
	if m.sel[s.Key] {
		delete(m.sel, s.Key)
	} else {
		m.sel[s.Key] = true
	}
	m.cursor, m.anchor = s.Key, s.Key
}

// extend selects the rows from the anchor to row r (Shift+click, Shift+arrows).
func (m *listModel) extend(r int) {
	s := m.at(r)
	if s == nil {
		return
	}
	a := m.row(m.anchor)
	if a < 0 {
		a = r
		m.anchor = s.Key
	}
	lo, hi := min(a, r), max(a, r)
	m.sel = map[string]bool{}
	for i := lo; i <= hi; i++ {
		m.sel[m.at(i).Key] = true
	}
	m.cursor = s.Key
}

// selectAll selects every row shown.
func (m *listModel) selectAll() {
	m.sel = make(map[string]bool, len(m.view))
	for _, i := range m.view {
		m.sel[m.key(i)] = true
	}
	if m.cursor == "" && len(m.view) > 0 {
		m.cursor = m.key(m.view[0])
	}
	if m.anchor == "" {
		m.anchor = m.cursor
	}
}

// clearSelection selects nothing.
func (m *listModel) clearSelection() {
	m.sel, m.cursor, m.anchor = nil, "", ""
}

// keepSelection drops selected keys that are no longer in the folder.
func (m *listModel) keepSelection() {
	for k := range m.sel {
		if _, ok := m.index(k); !ok {
			delete(m.sel, k)
		}
	}
	if _, ok := m.index(m.cursor); !ok {
		m.cursor = ""
	}
	if _, ok := m.index(m.anchor); !ok {
		m.anchor = m.cursor
	}
}
