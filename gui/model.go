package gui

import (
	"strings"

	"github.com/poplar-mail/poplar/storage"
)

// listModel holds one folder's summaries (newest first) and the view the search box leaves. It is
// plain data with no Fyne in it, so it can be benchmarked at 100,000 messages.
type listModel struct {
	all    []storage.Summary
	search []string // lower-cased "from subject" per message, built once per load
	view   []int    // indices into all, in order
	query  string
	byKey  map[string]int
}

// set replaces the folder's messages, keeping the current query.
func (m *listModel) set(sums []storage.Summary) {
	m.all = sums
	m.search = make([]string, len(sums))
	m.byKey = make(map[string]int, len(sums))
	for i := range sums {
		m.search[i] = strings.ToLower(sums[i].From + "\x00" + sums[i].Subject)
		m.byKey[sums[i].Key] = i
	}
	m.filter(m.query)
}

// filter keeps the messages whose sender or subject contains every word of q (any case).
func (m *listModel) filter(q string) {
	m.query = q
	words := strings.Fields(strings.ToLower(q))
	if cap(m.view) < len(m.all) {
		m.view = make([]int, 0, len(m.all))
	}
	m.view = m.view[:0]
outer:
	for i, s := range m.search {
		for _, w := range words {
			if !strings.Contains(s, w) {
				continue outer
			}
		}
		m.view = append(m.view, i)
	}
}

// len is the number of rows shown.
func (m *listModel) len() int { return len(m.view) }

// at returns the summary shown at row i.
func (m *listModel) at(i int) *storage.Summary {
	if i < 0 || i >= len(m.view) {
		return nil
	}
	return &m.all[m.view[i]]
}

// row returns the row showing key, or -1.
func (m *listModel) row(key string) int {
	idx, ok := m.byKey[key]
	if !ok {
		return -1
	}
	for r, i := range m.view {
		if i == idx {
			return r
		}
	}
	return -1
}

// setFlags updates the flags of a message in place (after mark read/unread).
func (m *listModel) setFlags(key string, f storage.Flags) {
	if i, ok := m.byKey[key]; ok {
		m.all[i].Flags = f
	}
}
