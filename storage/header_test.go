package storage

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/iotest"
	"time"
)

func TestOwnFields(t *testing.T) {
	long := strings.Repeat("x", MaxUIDL)
	tests := []struct {
		name, head  string
		uidl        string
		wantPartial bool
		wantSize    int64
	}{
		{"uidl only", "X-Poplar-UIDL: u1\nFrom: a\n\nbody\n", "u1", false, 0},
		{"uidl and partial (old stores too)", "X-Poplar-UIDL: u1\nX-Poplar-Partial: yes\nFrom: a\n\n", "u1", true, 0},
		{"crlf", "X-Poplar-UIDL: u1\r\nX-Poplar-Partial: yes\r\nFrom: a\r\n\r\n", "u1", true, 0},
		{"partial without uidl", "X-Poplar-Partial: yes\nFrom: a\n\n", "", true, 0},
		{"escaped uidl", "X-Poplar-UIDL: a%20b%25\n\n", "a b%", false, 0},
		{"longest uidl", "X-Poplar-UIDL: " + long + "\n\n", long, false, 0},
		{"uidl too long", "X-Poplar-UIDL: " + long + "x\n\n", "", false, 0},
		{"bad escape", "X-Poplar-UIDL: a%zz\n\n", "", false, 0},
		{"escaped newline", "X-Poplar-UIDL: a%0Ab\n\n", "", false, 0},
		{"empty value", "X-Poplar-UIDL: \n\n", "", false, 0},
		{"no trailing newline", "X-Poplar-UIDL: u1", "u1", false, 0},
		{"uidl below line 1", "From: a\nX-Poplar-UIDL: u2\n\n", "", false, 0},
		{"partial below line 2", "X-Poplar-UIDL: u1\nFrom: a\nX-Poplar-Partial: yes\n\n", "u1", false, 0},
		{"partial line 2 without uidl line", "From: a\nX-Poplar-Partial: yes\n\n", "", false, 0},
		{"uidl line twice", "X-Poplar-UIDL: u1\nX-Poplar-UIDL: u2\n\n", "u1", false, 0},
		{"partial no", "X-Poplar-UIDL: u1\nX-Poplar-Partial: no\n\n", "u1", false, 0},
		{"other case is not Poplar's", "x-poplar-uidl: u1\n\n", "", false, 0},
		{"folded line 1 reads line 1 only", "X-Poplar-UIDL: u1\n X-Poplar-Partial: yes\n\n", "u1", false, 0},
		{"neutralised fields", "X-Poplar-UIDL: u1\nX-Original-Poplar-Partial: yes\nX-Original-Poplar-UIDL: u2\n\n", "u1", false, 0},
		{"empty", "", "", false, 0},

		// The server size on the partial line.
		{"size", "X-Poplar-UIDL: u1\nX-Poplar-Partial: yes; size=3355443\nFrom: a\n\n", "u1", true, 3355443},
		{"size crlf", "X-Poplar-UIDL: u1\r\nX-Poplar-Partial: yes; size=3355443\r\n\r\n", "u1", true, 3355443},
		{"size without uidl line", "X-Poplar-Partial: yes; size=12\n\n", "", true, 12},
		{"size, no trailing newline", "X-Poplar-Partial: yes; size=12", "", true, 12},
		{"size, other spacing and case", "X-Poplar-UIDL: u1\nX-Poplar-Partial: YES ;\tSIZE=7 \n\n", "u1", true, 7},
		{"size among other parameters", "X-Poplar-Partial: yes; lines=0; size=42; more\n\n", "", true, 42},
		{"first size counts", "X-Poplar-Partial: yes; size=1; size=2\n\n", "", true, 1},
		{"empty parameters", "X-Poplar-Partial: yes;;\n\n", "", true, 0},
		{"size 1 TiB", "X-Poplar-Partial: yes; size=1099511627776\n\n", "", true, 1 << 40},
		{"size over 1 TiB", "X-Poplar-Partial: yes; size=1099511627777\n\n", "", true, 0},
		{"size overflowing int64", "X-Poplar-Partial: yes; size=99999999999999999999999\n\n", "", true, 0},
		{"size zero", "X-Poplar-Partial: yes; size=0\n\n", "", true, 0},
		{"size negative", "X-Poplar-Partial: yes; size=-5\n\n", "", true, 0},
		{"size with plus", "X-Poplar-Partial: yes; size=+5\n\n", "", true, 0},
		{"size with underscore", "X-Poplar-Partial: yes; size=1_000\n\n", "", true, 0},
		{"size hex", "X-Poplar-Partial: yes; size=0x10\n\n", "", true, 0},
		{"size with unit", "X-Poplar-Partial: yes; size=3MB\n\n", "", true, 0},
		{"size empty", "X-Poplar-Partial: yes; size=\n\n", "", true, 0},
		{"size with space inside", "X-Poplar-Partial: yes; size=1 2\n\n", "", true, 0},
		{"size not unicode digits", "X-Poplar-Partial: yes; size=\u0663\n\n", "", true, 0},
		{"size parameter misspelt", "X-Poplar-Partial: yes; sizes=5\n\n", "", true, 0},
		{"size without the mark", "X-Poplar-Partial: size=5\n\n", "", false, 0},
		{"size on a no", "X-Poplar-Partial: no; size=5\n\n", "", false, 0},
		{"size without semicolon", "X-Poplar-Partial: yes size=5\n\n", "", false, 0},
		{"size on the uidl line is part of the UIDL", "X-Poplar-UIDL: u1; size=5\n\n", "u1; size=5", false, 0},
		{"size below line 2", "X-Poplar-UIDL: u1\nX-Poplar-Partial: yes\nX-Poplar-Partial: yes; size=5\n\n", "u1", true, 0},
		{"size folded onto line 3", "X-Poplar-Partial: yes\n ; size=5\n\n", "", true, 0},
		// What delivery leaves of a size a sender wrote into the message's own header.
		{"forged size, neutralised", "X-Poplar-UIDL: u1\nX-Original-Poplar-Partial: yes; size=999\n\n", "u1", false, 0},
		{"forged size below Poplar's", "X-Poplar-UIDL: u1\nX-Poplar-Partial: yes\nX-Original-Poplar-Partial: yes; size=999\n\n", "u1", true, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := ownFields([]byte(tt.head))
			want := ownInfo{tt.uidl, tt.wantPartial, tt.wantSize}
			if got != want {
				t.Errorf("ownFields(%q) = %+v, want %+v", tt.head, got, want)
			}
		})
	}
}

// TestOwnLines: what ownLines writes reads back the same through ownFields, sizes that cannot
// be recorded (unknown, negative, over 1 TiB, or for a whole message) are left out, and the
// line is the documented one.
func TestOwnLines(t *testing.T) {
	tests := []struct {
		in   ownInfo
		line string // the whole of ownLines
		want ownInfo
	}{
		{ownInfo{"u1", true, 3355443}, "X-Poplar-UIDL: u1\nX-Poplar-Partial: yes; size=3355443\n", ownInfo{"u1", true, 3355443}},
		{ownInfo{"", true, 1}, "X-Poplar-Partial: yes; size=1\n", ownInfo{"", true, 1}},
		{ownInfo{"u1", true, 1 << 40}, "X-Poplar-UIDL: u1\nX-Poplar-Partial: yes; size=1099511627776\n", ownInfo{"u1", true, 1 << 40}},
		{ownInfo{"u1", true, 0}, "X-Poplar-UIDL: u1\nX-Poplar-Partial: yes\n", ownInfo{"u1", true, 0}},
		{ownInfo{"u1", true, -1}, "X-Poplar-UIDL: u1\nX-Poplar-Partial: yes\n", ownInfo{"u1", true, 0}},
		{ownInfo{"u1", true, 1<<40 + 1}, "X-Poplar-UIDL: u1\nX-Poplar-Partial: yes\n", ownInfo{"u1", true, 0}},
		{ownInfo{"u1", false, 5}, "X-Poplar-UIDL: u1\n", ownInfo{"u1", false, 0}},
		{ownInfo{"a b", false, 0}, "X-Poplar-UIDL: a%20b\n", ownInfo{"a b", false, 0}},
		{ownInfo{}, "", ownInfo{}},
	}
	for _, tt := range tests {
		b := ownLines(tt.in)
		if string(b) != tt.line {
			t.Errorf("ownLines(%+v) = %q, want %q", tt.in, b, tt.line)
		}
		if got := ownFields(append(b, "From: a\n\n"...)); got != tt.want {
			t.Errorf("ownFields(ownLines(%+v)) = %+v, want %+v", tt.in, got, tt.want)
		}
	}
}

// FuzzOwnFields: ownFields never panics, says only what ownLines can write, and reads back what
// ownLines writes for it.
func FuzzOwnFields(f *testing.F) {
	f.Add("X-Poplar-UIDL: u1\nX-Poplar-Partial: yes; size=3355443\nFrom: a\n\n")
	f.Add("X-Poplar-Partial: YES ; size=99999999999999999999; size=1\r\n")
	f.Add("X-Poplar-UIDL: a%20b\r\nX-Poplar-Partial: yes\r\n\r\n")
	f.Add("X-Poplar-Partial: yes; size=1099511627776\n")
	f.Fuzz(func(t *testing.T, head string) {
		o := ownFields([]byte(head))
		if o.serverSize < 0 || o.serverSize > maxServerSize || (!o.partial && o.serverSize != 0) {
			t.Fatalf("ownFields(%q) = %+v: size out of range", head, o)
		}
		if o.uidl != "" && validUIDL(o.uidl) != nil {
			t.Fatalf("ownFields(%q) = %+v: a UIDL that cannot be stored", head, o)
		}
		if again := ownFields(ownLines(o)); again != o {
			t.Fatalf("ownFields(ownLines(%+v)) = %+v (from %q)", o, again, head)
		}
	})
}

// readers splits a message into reads of various sizes, so that header lines straddle reads.
var readers = map[string]func(io.Reader) io.Reader{
	"whole":    func(r io.Reader) io.Reader { return r },
	"one byte": iotest.OneByteReader,
	"halves":   iotest.HalfReader,
	"data+EOF": iotest.DataErrReader,
}

func neutralise(r io.Reader) ([]byte, error) {
	var nr neutralReader
	nr.reset(r)
	return io.ReadAll(&nr)
}

func TestNeutralReader(t *testing.T) {
	longLine := "Subject: " + strings.Repeat("s", 3*neutralBuffer) + "X-Poplar-UIDL: not a field\n"
	tests := []struct{ name, in, want string }{
		{"no poplar fields", msg("hi", "X-Poplar-UIDL: body"), msg("hi", "X-Poplar-UIDL: body")},
		{"first line", "X-Poplar-UIDL: u2\nFrom: a\n\nb\n", "X-Original-Poplar-UIDL: u2\nFrom: a\n\nb\n"},
		{"middle, any case", "From: a\nx-poplar-partial: yes\nX-POPLAR-UIDL:u2\nTo: b\n\nb\n",
			"From: a\nX-Original-poplar-partial: yes\nX-Original-POPLAR-UIDL:u2\nTo: b\n\nb\n"},
		{"space before colon", "X-Poplar-UIDL : u2\n\n", "X-Original-Poplar-UIDL : u2\n\n"},
		{"any X-Poplar- field", "X-Poplar-Future: 1\n\n", "X-Original-Poplar-Future: 1\n\n"},
		{"folded value kept", "Subject: a\n X-Poplar-UIDL: u2\nX-Poplar-UIDL: u3\n\tmore\n\n",
			"Subject: a\n X-Poplar-UIDL: u2\nX-Original-Poplar-UIDL: u3\n\tmore\n\n"},
		{"crlf", "From: a\r\nX-Poplar-UIDL: u2\r\n\r\nX-Poplar-UIDL: body\r\n",
			"From: a\r\nX-Original-Poplar-UIDL: u2\r\n\r\nX-Poplar-UIDL: body\r\n"},
		{"body untouched", "From: a\n\nX-Poplar-UIDL: u2\n\nX-Poplar-Partial: yes\n",
			"From: a\n\nX-Poplar-UIDL: u2\n\nX-Poplar-Partial: yes\n"},
		{"no header", "\nX-Poplar-UIDL: u2\n", "\nX-Poplar-UIDL: u2\n"},
		{"header only, no newline", "From: a\nX-Poplar-Partial: yes", "From: a\nX-Original-Poplar-Partial: yes"},
		{"line longer than the buffer", longLine + "X-Poplar-UIDL: u2\n\nX-Poplar-UIDL: u3\n",
			longLine + "X-Original-Poplar-UIDL: u2\n\nX-Poplar-UIDL: u3\n"},
		{"short lines", "X-Po\nX\n\n", "X-Po\nX\n\n"},
		{"empty", "", ""},
	}
	for _, tt := range tests {
		for rn, wrap := range readers {
			t.Run(tt.name+"/"+rn, func(t *testing.T) {
				got, err := neutralise(wrap(strings.NewReader(tt.in)))
				if err != nil || string(got) != tt.want {
					t.Errorf("neutralise(%.60q) = %.200q, %v; want %.200q", tt.in, got, err, tt.want)
				}
			})
		}
	}
}

// TestNeutralReaderError: an error of the underlying reader comes through.
func TestNeutralReaderError(t *testing.T) {
	if _, err := neutralise(io.MultiReader(strings.NewReader("From: a\nX-Poplar"), &failingReader{})); err == nil {
		t.Error("neutralise of a failing reader succeeded")
	}
}

func FuzzNeutralReader(f *testing.F) {
	f.Add("X-Poplar-UIDL: u2\nFrom: a\n\nX-Poplar-UIDL: b\n", 1)
	f.Add("From: a\r\n x-poplar-partial: yes\r\nx-POPLAR-x\r\n\r\nbody", 3)
	f.Add("X-Poplar-Partial: yes; size=999999\nFrom: a\n\n", 2)
	f.Fuzz(func(t *testing.T, in string, chunk int) {
		whole, err := neutralise(strings.NewReader(in))
		if err != nil {
			t.Fatal(err)
		}
		if chunk < 1 || chunk > 64 {
			chunk = 1
		}
		pieces, err := neutralise(&chunkReader{s: in, n: chunk})
		if err != nil || !bytes.Equal(whole, pieces) {
			t.Fatalf("neutralise(%q) in pieces of %d = %q, whole %q", in, chunk, pieces, whole)
		}
		// After Poplar's own lines, the stored message never has a line Poplar reads as its own:
		// no UIDL, partial mark or server size of the sender's.
		if o := ownFields(append([]byte("X-Poplar-UIDL: me\n"), whole...)); o != (ownInfo{uidl: "me"}) {
			t.Fatalf("ownFields after neutralise(%q) = %+v", in, o)
		}
		if o := ownFields(whole); o != (ownInfo{}) {
			t.Fatalf("ownFields(neutralise(%q)) = %+v", in, o)
		}
		if want := neutraliseModel(in); string(whole) != want {
			t.Fatalf("neutralise(%q) = %q, want %q", in, whole, want)
		}
	})
}

// neutraliseModel is neutralReader on a whole message in memory.
func neutraliseModel(in string) string {
	var b strings.Builder
	header := true
	for _, line := range strings.SplitAfter(in, "\n") {
		if header && (line == "\n" || line == "\r\n") {
			header = false
		}
		if header && len(line) >= 9 && strings.EqualFold(line[:9], "X-Poplar-") {
			line = "X-Original-" + line[2:]
		}
		b.WriteString(line)
	}
	return b.String()
}

type chunkReader struct {
	s string
	n int
}

func (c *chunkReader) Read(p []byte) (int, error) {
	if c.s == "" {
		return 0, io.EOF
	}
	n := copy(p[:min(len(p), c.n)], c.s)
	c.s = c.s[n:]
	return n, nil
}

// TestSenderCannotSpeakForPoplar: X-Poplar-* fields a sender writes into a message change nothing
// Poplar believes about it or about another message, through delivery, the index, the ledger's
// reconciliation and rebuild, and a fresh open with the index rebuilt.
func TestSenderCannotSpeakForPoplar(t *testing.T) {
	forged := []struct{ name, header string }{
		{"first line", "X-Poplar-UIDL: u2\nX-Poplar-Partial: yes\nFrom: a@example.org\nSubject: forged\n"},
		{"partial first", "X-Poplar-Partial: yes\nX-Poplar-UIDL: u2\nFrom: a@example.org\nSubject: forged\n"},
		{"below", "From: a@example.org\nSubject: forged\nX-Poplar-Partial: yes\nX-Poplar-UIDL: u2\n"},
		{"other case", "x-poplar-uidl: u2\nx-poplar-partial: YES\nFrom: a@example.org\nSubject: forged\n"},
		{"crlf", "X-Poplar-UIDL: u2\r\nX-Poplar-Partial: yes\r\nFrom: a@example.org\r\nSubject: forged\r\n"},
		{"with a server size", "X-Poplar-UIDL: u2\nX-Poplar-Partial: yes; size=3355443\nFrom: a@example.org\nSubject: forged\n"},
	}
	for _, fc := range forged {
		for _, ownUIDL := range []string{"u1", ""} {
			for rn, wrap := range readers {
				t.Run(fmt.Sprintf("%s/uidl=%q/%s", fc.name, ownUIDL, rn), func(t *testing.T) {
					s := openStore(t)
					nl := "\n"
					if strings.HasSuffix(fc.header, "\r\n") {
						nl = "\r\n"
					}
					b := s.NewBatch()
					keyA, err := b.Deliver(wrap(strings.NewReader(fc.header+nl+"body"+nl)), DeliverInfo{UIDL: ownUIDL})
					if err != nil {
						t.Fatal(err)
					}
					if _, err := b.Commit(); err != nil {
						t.Fatal(err)
					}
					if s.Fetched("u2") {
						t.Fatal("after the forged message, Fetched(u2) = true before u2 arrived")
					}
					checkA := func(step string, s *Store) {
						t.Helper()
						m, err := s.Summary(Inbox, keyA)
						if err != nil {
							t.Fatal(err)
						}
						if m.UIDL != ownUIDL || m.Partial || m.ServerSize != 0 {
							t.Errorf("%s: forged message has UIDL %q, partial %v, server size %d; want %q, false, 0", step, m.UIDL, m.Partial, m.ServerSize, ownUIDL)
						}
						p, err := s.PartialUIDLs()
						if err != nil || len(p) != 0 {
							t.Errorf("%s: PartialUIDLs = %v, %v; want none", step, p, err)
						}
					}
					checkA("after delivery", s)
					// The sender's fields are still in the message, under another name.
					data, _ := os.ReadFile(mustPath(t, s, keyA))
					if !bytes.Contains(bytes.ToLower(data), []byte("x-original-poplar-uidl: u2")) {
						t.Errorf("stored message lost the sender's field:\n%s", data)
					}
					keyB := deliver(t, s, map[string]string{"u2": msg("real u2", "x")})["u2"]
					check := func(step string, s *Store) {
						t.Helper()
						checkA(step, s)
						l, err := s.Ledger()
						if err != nil {
							t.Fatal(err)
						}
						want := 1
						if ownUIDL != "" {
							want = 2
						}
						if l["u2"].Key != keyB || (ownUIDL != "" && l["u1"].Key != keyA) || len(l) != want {
							t.Errorf("%s: ledger = %+v; want u2 -> %s, u1 -> %s", step, l, keyB, keyA)
						}
						if m, err := s.Summary(Inbox, keyB); err != nil || m.UIDL != "u2" {
							t.Errorf("%s: u2 has UIDL %q, %v", step, m.UIDL, err)
						}
					}
					check("after u2 arrived", s)
					if err := s.RebuildLedger(); err != nil {
						t.Fatal(err)
					}
					check("after RebuildLedger", s)
					os.Remove(filepath.Join(s.Dir(), "poplar", "index", "Inbox.idx"))
					os.Remove(filepath.Join(s.Dir(), "poplar", "ledger"))
					s2, err := Open(s.Dir())
					if err != nil {
						t.Fatal(err)
					}
					check("after a fresh Open without index and ledger", s2)
				})
			}
		}
	}
}

func mustPath(t *testing.T, s *Store, key string) string {
	t.Helper()
	p, err := s.MessagePath(Inbox, key)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestForeignFilesAndOldStores: a file another program drops into the Maildir counts as Poplar's
// only when line 1 is an X-Poplar-UIDL field (a copy of a message Poplar stored); messages stored
// by earlier versions (UIDL on line 1, Partial on line 2) read as before.
func TestForeignFilesAndOldStores(t *testing.T) {
	tests := []struct {
		name, data  string
		uidl        string
		wantPartial bool
	}{
		{"uidl below line 1", "From: a@example.org\nX-Poplar-UIDL: u9\nX-Poplar-Partial: yes\nSubject: x\n\nb\n", "", false},
		{"uidl on line 2 after a folded line", "Received: from x\n by y\nX-Poplar-UIDL: u9\n\nb\n", "", false},
		{"old store, whole", "X-Poplar-UIDL: old1\n" + msg("old", "b"), "old1", false},
		{"old store, partial", "X-Poplar-UIDL: old2\nX-Poplar-Partial: yes\n" + msg("old", ""), "old2", true},
		{"old store, escaped", "X-Poplar-UIDL: a%20b\r\n" + msg("old", "b"), "a b", false},
	}
	s := openStore(t)
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			key := fmt.Sprintf("170000000%d.foreign.host", i)
			if err := os.WriteFile(filepath.Join(s.Dir(), "Maildir", "new", key), []byte(tt.data), 0o600); err != nil {
				t.Fatal(err)
			}
			m, err := s.Summary(Inbox, key)
			if err != nil {
				t.Fatal(err)
			}
			if m.UIDL != tt.uidl || m.Partial != tt.wantPartial {
				t.Errorf("%q: UIDL %q, partial %v; want %q, %v", tt.data, m.UIDL, m.Partial, tt.uidl, tt.wantPartial)
			}
			if tt.uidl == "" && s.Fetched("u9") {
				t.Error("the ledger took u9 from below line 1")
			}
		})
	}
}

// TestPoisonedLedgerRepaired: a store where an earlier version recorded a sender's forged UIDL
// for a message (an F record naming the message's key with another UIDL) forgets that record,
// so the real message with that UIDL is fetched; what the ledger knows of real messages stays.
func TestPoisonedLedgerRepaired(t *testing.T) {
	s := openStore(t)
	keys := deliver(t, s, map[string]string{"u1": msg("forged", "a"), "u3": msg("other", "b")})
	if err := s.MarkServerDeleted([]string{"u3"}); err != nil {
		t.Fatal(err)
	}
	// What the old rule appended when it read "X-Poplar-UIDL: u2" further down u1's header, and
	// the record of a message deleted on the server whose copy here is gone.
	if err := s.ledger.appendRecords([]string{fetchedRecord("u2", keys["u1"], time.Now()), fetchedRecord("u4", "1.gone.host", time.Now()), "D u4"}); err != nil {
		t.Fatal(err)
	}
	l, err := s.Ledger()
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := l["u2"]; ok || s.Fetched("u2") {
		t.Errorf("the forged record of u2 survived: %+v", l["u2"])
	}
	if l["u1"].Key != keys["u1"] || l["u3"].Key != keys["u3"] || !l["u3"].ServerDeleted || !l["u4"].ServerDeleted || len(l) != 3 {
		t.Errorf("ledger after the repair = %+v", l)
	}
}

func TestStorableUIDL(t *testing.T) {
	long := strings.Repeat("u", MaxUIDL)
	tests := []struct {
		in     string
		same   bool // stored as it is
		hashed bool
	}{
		{"1", true, false},
		{"abc-123_XYZ", true, false},
		{"with space and ünïcode", true, false},
		{long, true, false},
		{long + "u", false, true},
		{strings.Repeat("é", 300), false, true},
		{"a\rb", false, true},
		{"a\nb", false, true},
		{"a\x00b", false, true},
		{"", false, true},
	}
	seen := map[string]string{}
	for _, tt := range tests {
		got, hashed := StorableUIDL(tt.in)
		if hashed != tt.hashed || (got == tt.in) != tt.same {
			t.Errorf("StorableUIDL(%.40q) = %.40q, %v; want same=%v, hashed=%v", tt.in, got, hashed, tt.same, tt.hashed)
		}
		if err := validUIDL(got); err != nil {
			t.Errorf("StorableUIDL(%.40q) = %q, which cannot be stored: %v", tt.in, got, err)
		}
		if again, _ := StorableUIDL(tt.in); again != got {
			t.Errorf("StorableUIDL(%.40q) is not stable: %q, %q", tt.in, got, again)
		}
		if hashed && !strings.HasPrefix(got, "poplar-sha256:") {
			t.Errorf("StorableUIDL(%.40q) = %q, want a poplar-sha256: id", tt.in, got)
		}
		if prev, dup := seen[got]; dup {
			t.Errorf("StorableUIDL(%.40q) = StorableUIDL(%.40q) = %q", tt.in, prev, got)
		}
		seen[got] = tt.in
		// Deliver takes exactly what StorableUIDL keeps as it is.
		s := openStore(t)
		_, err := s.NewBatch().Deliver(strings.NewReader(msg("a", "b")), DeliverInfo{UIDL: tt.in})
		if (err == nil) != tt.same && tt.in != "" {
			t.Errorf("Deliver with UIDL %.40q: %v; StorableUIDL keeps it: %v", tt.in, err, tt.same)
		}
	}
}
