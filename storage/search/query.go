package search

import (
	"fmt"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/analysis"
	"github.com/blevesearch/bleve/v2/search/query"

	"github.com/poplar-mail/poplar/storage"
)

// SyntaxError is a query that does not parse: Part is the piece of it at fault.
type SyntaxError struct {
	Part string
	Msg  string
}

func (e *SyntaxError) Error() string { return fmt.Sprintf("search: %q: %s", e.Part, e.Msg) }

// analyzer returns the analyzer of the text fields, the one queries are broken into terms with.
var analyzer = sync.OnceValue(func() analysis.Analyzer {
	m, err := newMapping()
	if err != nil {
		panic(err) // a static mapping: fails only when the code is wrong
	}
	a := m.AnalyzerNamed(analyzerName)
	if a == nil {
		panic("search: no analyzer " + analyzerName)
	}
	return a
})

// terms returns the terms the index holds for text: folded, lower-cased, CJK in pairs.
func terms(text string) []string {
	var out []string
	for _, t := range analyzer().Analyze([]byte(text)) {
		out = append(out, string(t.Term))
	}
	return out
}

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

// parse turns a query into a bleve query.
func parse(q string) (query.Query, error) {
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
	var must, mustNot []query.Query
	for i, p := range parts {
		qq, err := partQuery(p, i == lastWord)
		if err != nil {
			return nil, err
		}
		if qq == nil {
			continue
		}
		if p.neg {
			mustNot = append(mustNot, qq)
		} else {
			must = append(must, qq)
		}
	}
	if len(must) == 0 && len(mustNot) == 0 {
		return nil, &SyntaxError{Part: q, Msg: "nothing to search for"}
	}
	if len(must) == 0 {
		must = append(must, bleve.NewMatchAllQuery())
	}
	b := bleve.NewBooleanQuery()
	b.AddMust(must...)
	if len(mustNot) > 0 {
		b.AddMustNot(mustNot...)
	}
	return b, nil
}

// partQuery is the query of one part; nil for a word with nothing to search (punctuation).
func partQuery(p part, prefix bool) (query.Query, error) {
	switch p.field {
	case "", "from", "to", "subject":
		fields := textFields
		if p.field != "" {
			fields = []string{p.field}
		}
		ts := terms(p.value)
		if len(ts) == 0 {
			if p.field != "" {
				return nil, &SyntaxError{Part: p.raw, Msg: "has no word to search for"}
			}
			return nil, nil
		}
		return textQuery(ts, fields, prefix), nil
	case "has":
		switch strings.ToLower(p.value) {
		case "attachment", "attachments":
			return boolQuery(fHasAttach, true), nil
		}
		return nil, &SyntaxError{Part: p.raw, Msg: "has: takes attachment"}
	case "is":
		switch strings.ToLower(p.value) {
		case "unread":
			return boolQuery(fUnread, true), nil
		case "read":
			return boolQuery(fUnread, false), nil
		case "flagged", "starred":
			return boolQuery(fFlagged, true), nil
		case "unflagged":
			return boolQuery(fFlagged, false), nil
		}
		return nil, &SyntaxError{Part: p.raw, Msg: "is: takes unread, read, flagged or unflagged"}
	case "before", "after":
		d, err := time.ParseInLocation("2006-01-02", p.value, time.Local)
		if err != nil {
			return nil, &SyntaxError{Part: p.raw, Msg: "the date must be YYYY-MM-DD"}
		}
		t, f := true, false
		var dq *query.DateRangeQuery
		if p.field == "before" {
			dq = bleve.NewDateRangeInclusiveQuery(time.Time{}, d, &t, &f)
		} else {
			dq = bleve.NewDateRangeInclusiveQuery(d, time.Time{}, &t, &f)
		}
		dq.SetField(fDate)
		return dq, nil
	case "folder":
		return folderQuery(p.value), nil
	}
	return nil, &SyntaxError{Part: p.raw, Msg: "unknown field"}
}

// textQuery matches terms (one word or a phrase) in any of fields; with prefix, a single term
// also matches as the start of a word.
func textQuery(ts []string, fields []string, prefix bool) query.Query {
	var qs []query.Query
	for _, f := range fields {
		switch {
		case len(ts) > 1:
			pq := bleve.NewPhraseQuery(ts, f)
			qs = append(qs, pq)
		case prefix && utf8.RuneCountInString(ts[0]) >= 2:
			pq := bleve.NewPrefixQuery(ts[0])
			pq.SetField(f)
			qs = append(qs, pq)
		default:
			tq := bleve.NewTermQuery(ts[0])
			tq.SetField(f)
			qs = append(qs, tq)
		}
	}
	if len(qs) == 1 {
		return qs[0]
	}
	return bleve.NewDisjunctionQuery(qs...)
}

func boolQuery(field string, v bool) query.Query {
	q := bleve.NewBoolFieldQuery(v)
	q.SetField(field)
	return q
}

// folderQuery matches one folder; "inbox" in any case is the Inbox.
func folderQuery(name string) query.Query {
	if strings.EqualFold(name, storage.Inbox) {
		name = storage.Inbox
	}
	q := bleve.NewTermQuery(name)
	q.SetField(fFolder)
	return q
}
