package storage

import (
	"strconv"
	"strings"
	"testing"
	"time"
)

// applyBySplit is the ledger's record grammar written the plain way (split on spaces), the
// reference FuzzLedgerApplySame holds apply to.
func applyBySplit(entries map[string]*LedgerEntry, line string) bool {
	f := strings.Split(line, " ")
	if len(f) < 2 || (f[0] == "F") != (len(f) == 4) || (f[0] != "F" && len(f) != 2) {
		return false
	}
	u := f[len(f)-1]
	if f[0] == "F" {
		u = f[2]
	}
	uidl, err := unescapeUIDL(u)
	if err != nil {
		return false
	}
	var sec int64
	switch f[0] {
	case "F":
		if sec, err = strconv.ParseInt(f[1], 10, 64); err != nil || f[3] == "" {
			return false
		}
	case "D", "X":
	default:
		return false
	}
	e := entries[uidl]
	if e == nil {
		e = &LedgerEntry{UIDL: uidl}
		entries[uidl] = e
	}
	switch f[0] {
	case "F":
		e.Key, e.Fetched, e.Expunged = f[3], time.Unix(sec, 0), false
	case "D":
		e.ServerDeleted = true
	default:
		e.Expunged = true
	}
	return true
}

// FuzzLedgerApplySame: apply accepts exactly the records the plain grammar accepts, and records
// the same entries, for any sequence of lines.
func FuzzLedgerApplySame(f *testing.F) {
	for _, s := range []string{
		"F 1700000000 abc 1700000000.M1P2Q3.host\nD abc\nX abc",
		"F 1 a%20b k\nF 2 a%20b k2", "D", "D ", "F 1 u ", "F 1 u", "F x u k", "F 1 u k extra", "D a b", "Z a", "X %zz", "F  u k", " D a", "",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		l := &ledger{entries: map[string]*LedgerEntry{}}
		want := map[string]*LedgerEntry{}
		for _, line := range strings.Split(text, "\n") {
			got, ok := l.apply(line) == nil, applyBySplit(want, line)
			if got != ok {
				t.Fatalf("apply(%q) accepted = %v, want %v", line, got, ok)
			}
		}
		if len(l.entries) != len(want) {
			t.Fatalf("%d entries, want %d", len(l.entries), len(want))
		}
		for u, e := range want {
			if g := l.entries[u]; g == nil || *g != *e {
				t.Fatalf("entry %q = %+v, want %+v", u, g, e)
			}
		}
	})
}
