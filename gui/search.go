package gui

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"strings"
	"time"
	"unicode"

	"fyne.io/fyne/v2/widget"

	"github.com/poplar-mail/poplar/storage"
	"github.com/poplar-mail/poplar/storage/search"
)

// Search: the search box searches all of the open account's mail with the full-text index
// (storage/search: names, addresses, subject, body text, attachment names; accents and case
// ignored; from:, to:, subject:, has:attachment, is:unread, is:flagged, before:, after:,
// folder:, "phrases"). Results replace the list, with their count; Esc returns to the folder.
// The index is opened and brought up to date in the background, never on the UI goroutine.

// searchDelay is how long typing pauses before the search runs.
const searchDelay = 150 * time.Millisecond

// indexFresh is how long an index brought up to date is trusted before the next search updates it
// again (fetches and moves in between are caught then).
const indexFresh = 10 * time.Second

// indexIdle is how long an unused full-text index stays open (its files mapped in memory); other
// processes (`poplar search`) share it meanwhile.
const indexIdle = 30 * time.Second

// searchState is the search of the open account (UI goroutine).
type searchState struct {
	query   string // the query shown; "" when the list shows the folder
	pending string // the query waiting for searchDelay
	count   *widget.Label
	timer   *time.Timer
	updated map[string]time.Time // account → when its index was last brought up to date
	idle    *time.Timer          // closes the indexes after indexIdle without a search
}

// searchChanged runs a search once typing pauses; an empty box returns to the folder.
func (u *UI) searchChanged(q string) {
	st := &u.searchSt
	st.pending = q
	if st.timer != nil {
		st.timer.Stop()
	}
	if strings.TrimSpace(q) == "" {
		u.endSearch()
		return
	}
	st.timer = time.AfterFunc(searchDelay, func() {
		u.do(func() {
			if st.pending == q {
				u.runSearch(q)
			}
		})
	})
}

// endSearch shows the open folder again.
func (u *UI) endSearch() {
	st := &u.searchSt
	if st.query == "" {
		return
	}
	st.query = ""
	st.count.Hide()
	u.reader.highlight = nil
	if u.acct != "" {
		u.restoring = u.list.model.cursor // the message read stays selected and comes into view
		u.loadFolder(u.acct, u.folder)
	}
}

// runSearch searches the open account for q in the background and shows the results.
func (u *UI) runSearch(q string) {
	acct := u.acct
	if acct == "" {
		return
	}
	st := &u.searchSt
	if st.updated == nil {
		st.updated = map[string]time.Time{}
	}
	update := time.Since(st.updated[acct]) > indexFresh
	if st.idle != nil {
		st.idle.Stop()
	}
	st.idle = time.AfterFunc(indexIdle, func() { u.bg(u.closeIndexes) })
	u.bg(func() {
		idx, err := u.searchIndex(acct)
		if err == nil && update {
			err = idx.Update(context.Background(), func(done, total int) {
				if total > 500 && done%500 == 0 {
					u.do(func() { u.setStatus(fmt.Sprintf("Indexing %s for search: %d of %d messages", acct, done, total)) })
				}
			})
		}
		if err != nil {
			u.do(func() { u.showSearchError(err) })
			return
		}
		res, total, err := idx.SearchListing(q, search.Options{Limit: searchLimit})
		u.do(func() {
			if update && err == nil {
				st.updated[acct] = time.Now()
			}
			if st.pending != q || u.acct != acct {
				return // the user typed on or left
			}
			if err != nil {
				u.showSearchError(err)
				return
			}
			st.query = q
			u.setList(listingSource{res, false})
			u.list.model.keepSelection()
			u.listShown()
			u.reader.highlight = searchWords(q)
			u.showCount(res.Len(), total)
			u.env.Logf("search %q: %d of %d shown", q, res.Len(), total)
		})
	})
}

// searchLimit bounds the results listed (the count says how many match in all).
const searchLimit = 2000

// bigList is how many messages a list must hold for setList to give memory back when it comes or
// goes.
const bigList = 10000

// freeDelay is how long after a big list goes setList gives its memory back: by then the list has
// drawn its rows again, and they no longer point into the old list.
const freeDelay = 2 * time.Second

// setList shows sums in the list (UI goroutine). When that drops or loads a big list (a large
// folder replaced by search results, or opened), the memory left over is given back to the system
// soon after, on another goroutine: Go's collector keeps freed memory for reuse up to twice what is
// in use, so after search results replaced a 100,000-message folder the app held some 60 MB it
// no longer used (docs/benchmarks.md, "List and first open"). It costs one collection, once per
// such change: 0.1-0.35 s of CPU at 100,000 messages, most of it on an idle core. Changes in quick
// succession (typing in the search box) put it off again, so they share one collection.
func (u *UI) setList(src source) {
	dropped := u.list.model.n
	u.list.model.setSource(src)
	if max(dropped, src.Len()) < bigList {
		return
	}
	if u.freeMem == nil {
		u.freeMem = time.AfterFunc(freeDelay, u.releaseMemory)
	} else {
		u.freeMem.Reset(freeDelay)
	}
}

// releaseMemory gives back to the system what a big list no longer holds (setList): the Go heap
// it left, the pages of the stores' index files that reading every summary brought in
// (storage.Store.ReleaseMemory) and those of the search indexes' segments a search read
// (search.Index.ReleaseMemory). Safe from any goroutine.
func (u *UI) releaseMemory() {
	debug.FreeOSMemory()
	u.mu.Lock()
	stores := make([]*storage.Store, 0, len(u.stores))
	for _, s := range u.stores {
		stores = append(stores, s)
	}
	indexes := make([]*search.Index, 0, len(u.indexes))
	for _, x := range u.indexes {
		indexes = append(indexes, x)
	}
	u.mu.Unlock()
	for _, s := range stores {
		s.ReleaseMemory()
	}
	for _, x := range indexes {
		x.ReleaseMemory()
	}
}

func (u *UI) showCount(found, total int) {
	c := u.searchSt.count
	switch {
	case total == 0:
		c.SetText("No messages match")
	case total == 1:
		c.SetText("1 message matches — Esc returns to the folder")
	case found < total:
		c.SetText(fmt.Sprintf("%d messages match (the newest %d shown) — Esc returns to the folder", total, found))
	default:
		c.SetText(fmt.Sprintf("%d messages match — Esc returns to the folder", total))
	}
	c.Show()
}

func (u *UI) showSearchError(err error) {
	var se *search.SyntaxError
	if errors.As(err, &se) {
		u.searchSt.count.SetText(se.Error())
	} else {
		u.searchSt.count.SetText("Search failed: " + err.Error())
	}
	u.searchSt.count.Show()
}

// stopSearch stops the idle timer (Poplar is quitting: Close closes the indexes itself).
func (u *UI) stopSearch() {
	if u.searchSt.idle != nil {
		u.searchSt.idle.Stop()
	}
}

// closeIndexes closes the open full-text indexes (idle: their memory is given back); the next
// search opens them again. Off the UI goroutine.
func (u *UI) closeIndexes() {
	u.mu.Lock()
	idxs := u.indexes
	u.indexes = nil
	u.mu.Unlock()
	for _, idx := range idxs {
		idx.Close()
	}
	u.do(func() { u.searchSt.updated = nil }) // reopened indexes are brought up to date again
}

// searchIndex opens (once) the full-text index of an account. Off the UI goroutine.
func (u *UI) searchIndex(acct string) (*search.Index, error) {
	s, err := u.store(acct)
	if err != nil {
		return nil, err
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	if idx, ok := u.indexes[acct]; ok {
		return idx, nil
	}
	idx, err := search.Open(s)
	if err != nil {
		return nil, err
	}
	if u.indexes == nil {
		u.indexes = map[string]*search.Index{}
	}
	u.indexes[acct] = idx
	return idx, nil
}

// searchWords are the plain words of a query, for highlighting in the reader: operators
// (from:, is:...) and their values are left out.
func searchWords(q string) []string {
	var out []string
	for _, w := range strings.FieldsFunc(q, func(r rune) bool { return unicode.IsSpace(r) || r == '"' }) {
		if strings.Contains(w, ":") || strings.HasPrefix(w, "-") {
			continue
		}
		if len([]rune(w)) >= 2 {
			out = append(out, w)
		}
	}
	return out
}
