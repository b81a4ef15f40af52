package account

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"unicode"

	"golang.org/x/text/cases"
	"golang.org/x/text/runes"
	"golang.org/x/text/transform"
	"golang.org/x/text/unicode/norm"

	"github.com/poplar-mail/poplar/storage"
	"github.com/poplar-mail/poplar/storage/mailview"
)

// Filter is one rule of an account, kept in the settings file as [[accounts.filters]]: when its
// conditions hold (all of them, or any with Match "any"), its actions are taken, through the
// store. A filter never deletes a message from the server, nor for good here: "trash" moves it to
// the Trash, from where it can be restored.
type Filter struct {
	Name       string      `toml:"name"`
	Match      string      `toml:"match,omitempty"` // "all" (the default when empty) or "any"
	Conditions []Condition `toml:"conditions"`
	Actions    []Action    `toml:"actions"`
}

// Condition is one test of a Filter on a message.
//
// Field is from, to, cc, tocc (to or cc), subject or body, with Op contains, not-contains or
// equals (case- and accent-insensitive; an address field compares each address, "Name
// <address>" for contains, the name or the address alone for equals); size, with Op greater or
// less and Value a size such as 500, 100K or 2M (bytes, KB, MB); or attachment, with Op is and
// Value true or false.
type Condition struct {
	Field string `toml:"field"`
	Op    string `toml:"op"`
	Value string `toml:"value"`
}

// Action is one thing a Filter does to a message that matches: move (to Folder), mark-read, flag,
// trash (move to the Trash) or stop (no later filter looks at the message).
type Action struct {
	Action string `toml:"action"`
	Folder string `toml:"folder,omitempty"` // for move
}

// Filter match modes, fields, operators and actions as stored in the settings file.
const (
	MatchAll = "all"
	MatchAny = "any"

	ActionMove     = "move"
	ActionMarkRead = "mark-read"
	ActionFlag     = "flag"
	ActionTrash    = "trash"
	ActionStop     = "stop"
)

var (
	textFields   = []string{"from", "to", "cc", "tocc", "subject", "body"}
	textOps      = []string{"contains", "not-contains", "equals"}
	filterFields = append(slices.Clone(textFields), "size", "attachment")
	filterAction = []string{ActionMove, ActionMarkRead, ActionFlag, ActionTrash, ActionStop}
)

// ValidateFilters checks an account's filters and returns a *FieldError naming the first wrong
// setting by its place, e.g. "filters[2].actions[0].folder", and the filter by its name.
func ValidateFilters(account string, filters []Filter) error {
	names := map[string]bool{}
	for i, f := range filters {
		bad := func(field, format string, args ...any) error {
			return &FieldError{Account: account, Field: fmt.Sprintf("filters[%d]%s", i, field),
				Msg: fmt.Sprintf(format, args...) + fmt.Sprintf(" (filter %q)", f.Name)}
		}
		switch {
		case strings.TrimSpace(f.Name) == "" || strings.ContainsAny(f.Name, "\r\n"):
			return bad(".name", "is empty or has a line break")
		case names[f.Name]:
			return bad(".name", "is taken by another filter of the account")
		case f.Match != "" && f.Match != MatchAll && f.Match != MatchAny:
			return bad(".match", "%q must be all or any", f.Match)
		case len(f.Conditions) == 0:
			return bad(".conditions", "are missing: a filter needs at least one")
		case len(f.Actions) == 0:
			return bad(".actions", "are missing: a filter needs at least one")
		}
		names[f.Name] = true
		for j, c := range f.Conditions {
			if err := c.validate(); err != nil {
				return bad(fmt.Sprintf(".conditions[%d].%s", j, err.field), "%s", err.msg)
			}
		}
		moves := 0
		for j, a := range f.Actions {
			at := fmt.Sprintf(".actions[%d]", j)
			switch a.Action {
			case ActionMove:
				moves++
				if a.Folder != storage.Inbox {
					if err := storage.ValidFolderName(a.Folder); err != nil {
						return bad(at+".folder", "%q is not a folder name", a.Folder)
					}
				}
			case ActionTrash:
				moves++
			case ActionMarkRead, ActionFlag, ActionStop:
			default:
				return bad(at+".action", "%q must be one of %s", a.Action, strings.Join(filterAction, ", "))
			}
			if a.Action != ActionMove && a.Folder != "" {
				return bad(at+".folder", "is only for the move action")
			}
		}
		if moves > 1 {
			return bad(".actions", "move a message to more than one place (one move or trash per filter)")
		}
	}
	return nil
}

type condError struct{ field, msg string }

func (c Condition) validate() *condError {
	if !contains(filterFields, c.Field) {
		return &condError{"field", fmt.Sprintf("%q must be one of %s", c.Field, strings.Join(filterFields, ", "))}
	}
	if strings.ContainsAny(c.Value, "\r\n") {
		return &condError{"value", "has a line break"}
	}
	switch c.Field {
	case "size":
		if c.Op != "greater" && c.Op != "less" {
			return &condError{"op", fmt.Sprintf("%q must be greater or less for size", c.Op)}
		}
		if _, err := ParseSize(c.Value); err != nil {
			return &condError{"value", fmt.Sprintf("%q is not a size (such as 500, 100K or 2M)", c.Value)}
		}
	case "attachment":
		if c.Op != "is" {
			return &condError{"op", fmt.Sprintf("%q must be is for attachment", c.Op)}
		}
		if _, err := strconv.ParseBool(c.Value); err != nil {
			return &condError{"value", fmt.Sprintf("%q must be true or false", c.Value)}
		}
	default:
		if !contains(textOps, c.Op) {
			return &condError{"op", fmt.Sprintf("%q must be one of %s for %s", c.Op, strings.Join(textOps, ", "), c.Field)}
		}
		if strings.TrimSpace(c.Value) == "" {
			return &condError{"value", "is empty"}
		}
	}
	return nil
}

// ParseSize reads a size as filters write it: bytes, or a number followed by K, KB, M, MB, G or
// GB (powers of 1024), in any case.
func ParseSize(s string) (int64, error) {
	t := strings.ToUpper(strings.TrimSpace(s))
	t = strings.TrimSuffix(t, "B")
	mult := int64(1)
	switch {
	case strings.HasSuffix(t, "K"):
		mult, t = 1<<10, t[:len(t)-1]
	case strings.HasSuffix(t, "M"):
		mult, t = 1<<20, t[:len(t)-1]
	case strings.HasSuffix(t, "G"):
		mult, t = 1<<30, t[:len(t)-1]
	}
	n, err := strconv.ParseInt(strings.TrimSpace(t), 10, 64)
	if err != nil || n < 0 || n > (1<<62)/mult {
		return 0, fmt.Errorf("account: %q is not a size", s)
	}
	return n * mult, nil
}

// MessageInfo is what filters look at in a message: the decoded addresses ("Name <address>"),
// subject and body text, the size and whether it has attachments.
type MessageInfo struct {
	From, To, Cc  []mailview.Address
	Subject       string
	Body          string
	Size          int64
	HasAttachment bool
}

// Matches reports whether the filter's conditions hold for m. It does no I/O.
func (f Filter) Matches(m *MessageInfo) bool {
	anyOf := f.Match == MatchAny
	for _, c := range f.Conditions {
		if c.holds(m) == anyOf {
			return anyOf
		}
	}
	return !anyOf
}

func (c Condition) holds(m *MessageInfo) bool {
	switch c.Field {
	case "size":
		n, err := ParseSize(c.Value)
		if err != nil {
			return false
		}
		if c.Op == "greater" {
			return m.Size > n
		}
		return m.Size < n
	case "attachment":
		want, err := strconv.ParseBool(c.Value)
		return err == nil && m.HasAttachment == want
	case "subject", "body":
		text := m.Subject
		if c.Field == "body" {
			text = m.Body
		}
		return c.textHolds(func(match func(string) bool) bool { return match(text) })
	}
	var addrs []mailview.Address
	switch c.Field {
	case "from":
		addrs = m.From
	case "to":
		addrs = m.To
	case "cc":
		addrs = m.Cc
	case "tocc":
		addrs = append(slices.Clone(m.To), m.Cc...)
	}
	return c.textHolds(func(match func(string) bool) bool {
		for _, a := range addrs {
			if c.Op == "equals" && (match(a.Name) || match(a.Email)) || c.Op != "equals" && match(a.String()) {
				return true
			}
		}
		return false
	})
}

// textHolds applies a text operator: some checks whether any of the message's strings passes
// the test it is given.
func (c Condition) textHolds(some func(func(string) bool) bool) bool {
	want := Fold(c.Value)
	switch c.Op {
	case "contains":
		return some(func(s string) bool { return strings.Contains(Fold(s), want) })
	case "not-contains":
		return !some(func(s string) bool { return strings.Contains(Fold(s), want) })
	case "equals":
		return some(func(s string) bool { return Fold(strings.TrimSpace(s)) == strings.TrimSpace(want) })
	}
	return false
}

// Fold returns s as filters compare it: case-folded and without accents ("García" and "garcia"
// are the same).
func Fold(s string) string {
	t := transform.Chain(norm.NFD, runes.Remove(runes.In(unicode.Mn)), norm.NFC, cases.Fold())
	out, _, err := transform.String(t, s)
	if err != nil {
		return strings.ToLower(s)
	}
	return out
}

// needsBody reports whether any condition of filters looks at more than the message list's
// summary has, so the message must be read.
func needsMessage(filters []Filter) bool {
	for _, f := range filters {
		for _, c := range f.Conditions {
			if c.Field != "subject" && c.Field != "size" && c.Field != "attachment" {
				return true
			}
		}
	}
	return false
}

// messageInfo reads what filters look at of a stored message; read says whether to open the file
// (addresses and body) or to use the summary alone.
func messageInfo(s *storage.Store, sum storage.Summary, read bool) (*MessageInfo, error) {
	mi := &MessageInfo{Subject: sum.Subject, Size: sum.Size, HasAttachment: sum.HasAttachments}
	if sum.Partial && sum.ServerSize > 0 {
		mi.Size = sum.ServerSize
	}
	if !read {
		return mi, nil
	}
	r, err := s.OpenMessage(sum.Folder, sum.Key)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	m, err := mailview.Read(r, mailview.Options{MaxTextBytes: 1 << 20, PreferPlain: true})
	if err != nil {
		return nil, fmt.Errorf("account: reading %s/%s: %w", sum.Folder, sum.Key, err)
	}
	mi.From, mi.To, mi.Cc, mi.Subject = m.From, m.To, m.Cc, m.Subject
	mi.Body = m.Text()
	return mi, nil
}

// FilterPlan is what the filters do to one message.
type FilterPlan struct {
	Key     string
	Matched []string      // the names of the filters that matched, in order
	Folder  string        // where it goes; "" = it stays
	Add     storage.Flags // flags to add (FlagSeen, FlagFlagged)
}

// PlanFilters returns, without changing anything, what filters would do to the messages keys of
// folder (in the order of keys; only the messages some filter matched). Filters run in order; the
// first move or trash decides where a message goes, and stop ends the filters for it. It reads
// the messages when a condition needs more than their summary. A message that cannot be read is
// left out and its error returned with the others.
func PlanFilters(s *storage.Store, folder string, keys []string, filters []Filter) ([]FilterPlan, error) {
	if folder == "" {
		folder = storage.Inbox
	}
	var sums []storage.Summary
	var errs []error
	for _, k := range keys {
		sum, err := s.Summary(folder, k)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		sums = append(sums, sum)
	}
	plans, err := planSummaries(s, sums, filters)
	return plans, errors.Join(append(errs, err)...)
}

func planSummaries(s *storage.Store, sums []storage.Summary, filters []Filter) ([]FilterPlan, error) {
	if len(filters) == 0 {
		return nil, nil
	}
	read := needsMessage(filters)
	var plans []FilterPlan
	var errs []error
	for _, sum := range sums {
		mi, err := messageInfo(s, sum, read)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		p := FilterPlan{Key: sum.Key}
		for _, f := range filters {
			if !f.Matches(mi) {
				continue
			}
			p.Matched = append(p.Matched, f.Name)
			stop := false
			for _, a := range f.Actions {
				switch a.Action {
				case ActionMove:
					if p.Folder == "" {
						p.Folder = a.Folder
					}
				case ActionTrash:
					if p.Folder == "" {
						p.Folder = storage.Trash
					}
				case ActionMarkRead:
					p.Add |= storage.FlagSeen
				case ActionFlag:
					p.Add |= storage.FlagFlagged
				case ActionStop:
					stop = true
				}
			}
			if stop {
				break
			}
		}
		if len(p.Matched) > 0 {
			if p.Folder == sum.Folder || (p.Folder == storage.Inbox && sum.Folder == "") {
				p.Folder = ""
			}
			p.Add &^= sum.Flags
			plans = append(plans, p)
		}
	}
	return plans, errors.Join(errs...)
}

// FilterResult is what ApplyFilters did.
type FilterResult struct {
	Matched    int            // messages some filter matched
	Moved      map[string]int // messages moved, by the folder they went to (the Trash too)
	MarkedRead int
	Flagged    int
}

// ApplyFilters runs filters on the messages keys of folder and carries out their actions through
// the store: flags first, in the folder, then moves (a missing folder is made). A move is a
// rename within the Maildir and is not a deletion: the ledger still counts the message as stored
// here, so it is not downloaded again and the leave-on-server policy treats it as any other.
// Nothing is ever deleted for good, nor from the server. What could not be done is returned as an
// error; those messages stay where they were.
func ApplyFilters(s *storage.Store, folder string, keys []string, filters []Filter) (FilterResult, error) {
	plans, err := PlanFilters(s, folder, keys, filters)
	res, aerr := carryOut(s, folder, plans)
	return res, errors.Join(err, aerr)
}

func carryOut(s *storage.Store, folder string, plans []FilterPlan) (FilterResult, error) {
	res := FilterResult{Moved: map[string]int{}, Matched: len(plans)}
	if folder == "" {
		folder = storage.Inbox
	}
	var errs []error
	for _, fl := range []storage.Flags{storage.FlagSeen, storage.FlagFlagged} {
		var keys []string
		for _, p := range plans {
			if p.Add&fl != 0 {
				keys = append(keys, p.Key)
			}
		}
		if len(keys) == 0 {
			continue
		}
		if err := s.SetFlags(folder, keys, fl, 0); err != nil {
			errs = append(errs, err)
			continue
		}
		if fl == storage.FlagSeen {
			res.MarkedRead += len(keys)
		} else {
			res.Flagged += len(keys)
		}
	}
	byFolder := map[string][]string{}
	for _, p := range plans {
		if p.Folder != "" {
			byFolder[p.Folder] = append(byFolder[p.Folder], p.Key)
		}
	}
	for _, to := range slices.Sorted(maps.Keys(byFolder)) {
		keys := byFolder[to] // never the folder itself (see planSummaries): Move, not Delete
		if to != storage.Inbox && to != storage.Trash {
			if err := s.CreateFolder(to); err != nil {
				errs = append(errs, err)
				continue
			}
		}
		if err := s.Move(folder, to, keys); err != nil {
			errs = append(errs, err)
			continue
		}
		res.Moved[to] += len(keys)
	}
	return res, errors.Join(errs...)
}

// filterNew runs the account's filters on messages a fetch has just made durable and returns
// their summaries as they are now (a moved message with its new folder, flags added), with the
// errors in plain words: a filter that fails leaves its messages in the Inbox and never fails
// the fetch.
func filterNew(s *storage.Store, filters []Filter, sums []storage.Summary) ([]storage.Summary, []string) {
	if len(filters) == 0 || len(sums) == 0 {
		return sums, nil
	}
	var notes []string
	plans, err := planSummaries(s, sums, filters)
	if err != nil {
		notes = append(notes, fmt.Sprintf("filters: %v", err))
	}
	if _, err := carryOut(s, storage.Inbox, plans); err != nil {
		notes = append(notes, fmt.Sprintf("filters: %v", err))
	}
	byKey := map[string]FilterPlan{}
	for _, p := range plans {
		byKey[p.Key] = p
	}
	out := make([]storage.Summary, len(sums))
	for i, sum := range sums {
		out[i] = sum
		p, ok := byKey[sum.Key]
		if !ok {
			continue
		}
		// Report where the message is now, as the store says.
		for _, in := range []string{p.Folder, sum.Folder} {
			if in == "" {
				continue
			}
			if now, err := s.Summary(in, sum.Key); err == nil {
				out[i] = now
				break
			}
		}
	}
	return out, notes
}

// cloneFilters returns a copy of filters that shares nothing with them.
func cloneFilters(filters []Filter) []Filter {
	if filters == nil {
		return nil
	}
	out := make([]Filter, len(filters))
	for i, f := range filters {
		f.Conditions = slices.Clone(f.Conditions)
		f.Actions = slices.Clone(f.Actions)
		out[i] = f
	}
	return out
}
