package storage

import "testing"

// TestParseName: Maildir file names with the standard ':' and with Windows's ';' before the info
// both give their key and flags, so a store copied from Windows keeps its flags.
func TestParseName(t *testing.T) {
	tests := []struct {
		name, key string
		flags     Flags
	}{
		{"1700000000.M1P2Q3.host", "1700000000.M1P2Q3.host", 0},
		{"1700000000.M1P2Q3.host:2,", "1700000000.M1P2Q3.host", 0},
		{"1700000000.M1P2Q3.host:2,FS", "1700000000.M1P2Q3.host", FlagFlagged | FlagSeen},
		{"1700000000.M1P2Q3.host;2,S", "1700000000.M1P2Q3.host", FlagSeen},
		{"1700000000.M1P2Q3.host;2,", "1700000000.M1P2Q3.host", 0},
		{"a;b.host", "a;b.host", 0}, // a ';' not before "2," belongs to the key
	}
	for _, tc := range tests {
		key, flags := parseName(tc.name)
		if key != tc.key || flags != tc.flags {
			t.Errorf("parseName(%q) = %q, %v; want %q, %v", tc.name, key, flags, tc.key, tc.flags)
		}
	}
	// A name Poplar writes reads back as it was written, with this system's separator.
	for _, f := range []Flags{0, FlagSeen, FlagSeen | FlagFlagged} {
		if key, flags := parseName(fileName("k.host", f)); key != "k.host" || flags != f {
			t.Errorf("parseName(fileName(%q, %v)) = %q, %v", "k.host", f, key, flags)
		}
	}
}
