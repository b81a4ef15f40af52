package storage

import "testing"

func TestWindowsNameError(t *testing.T) {
	tests := []struct {
		name string
		ok   bool
	}{
		{"Work", true},
		{"me@example.org", true},
		{"Work.Projects", true},
		{".Work", true},
		{"console", true},
		{"COM0", true},
		{"", false},
		{"a:b", false},
		{`a\b`, false},
		{"a/b", false},
		{"what?", false},
		{"star*", false},
		{`"quoted"`, false},
		{"<tag>", false},
		{"pipe|", false},
		{"tab\there", false},
		{"trailing.", false},
		{"trailing ", false},
		{"CON", false},
		{"con", false},
		{"nul.txt", false},
		{"Aux", false},
		{"COM1", false},
		{"lpt9.x", false},
	}
	for _, tc := range tests {
		err := WindowsNameError(tc.name)
		if (err == nil) != tc.ok {
			t.Errorf("WindowsNameError(%q) = %v, want ok=%v", tc.name, err, tc.ok)
		}
	}
}
