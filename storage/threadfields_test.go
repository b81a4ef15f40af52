package storage

import (
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/poplar-mail/poplar/storage/mailview"
)

// TestIndexThreadFields: In-Reply-To and References survive the index file (written at Close,
// read by a reopened store) exactly as ingest took them from the message, in each of the
// encodings a record can use for them.
func TestIndexThreadFields(t *testing.T) {
	var long strings.Builder
	for i := 0; i < 30; i++ {
		fmt.Fprintf(&long, " <l%d@x>", i)
	}
	tests := []struct{ name, header string }{
		{"neither", ""},
		{"references only", "References: <r@x> <p@x>\n"},
		{"in-reply-to only", "In-Reply-To: <p@x>\n"},
		{"in-reply-to is the last reference", "In-Reply-To: <p@x>\nReferences: <r@x> <p@x>\n"},
		{"in-reply-to elsewhere", "In-Reply-To: <q@x>\nReferences: <r@x> <p@x>\n"},
		{"long references", "In-Reply-To: <l29@x>\nReferences:" + long.String() + "\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := openStore(t)
			raw := tt.header + msg("a", "")
			want, err := mailview.Summarize(strings.NewReader(raw))
			if err != nil {
				t.Fatal(err)
			}
			b := s.NewBatch()
			key, err := b.Deliver(strings.NewReader(raw), DeliverInfo{UIDL: "u1"})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := b.Commit(); err != nil {
				t.Fatal(err)
			}
			check := func(step string, m Summary) {
				t.Helper()
				if m.InReplyTo != want.InReplyTo || !slices.Equal(m.References, want.References) {
					t.Errorf("%s: InReplyTo %q, References %q; want %q, %q", step, m.InReplyTo, m.References, want.InReplyTo, want.References)
				}
			}
			m, err := s.Summary(Inbox, key)
			if err != nil {
				t.Fatal(err)
			}
			check("Summary", m)
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			data, err := os.ReadFile(indexFile(s.Dir()))
			if err != nil {
				t.Fatal(err)
			}
			entries, _, _, err := decodeIndex(data, Inbox)
			if err != nil || len(entries) != 1 {
				t.Fatalf("decodeIndex: %d entries, %v", len(entries), err)
			}
			check("in the index file", decodeSummary(&recordDecoder{}, data, Inbox, entries[0]))
			s2, err := Open(s.Dir())
			if err != nil {
				t.Fatal(err)
			}
			defer s2.Close()
			m, err = s2.Summary(Inbox, key)
			if err != nil {
				t.Fatal(err)
			}
			check("after reopening", m)
		})
	}
}
