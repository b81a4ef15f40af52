package gui

import (
	"fmt"
	"testing"

	"github.com/poplar-mail/poplar/storage"
	"github.com/poplar-mail/poplar/storage/mailview"
)

func sums(n int) []storage.Summary {
	out := make([]storage.Summary, n)
	for i := range out {
		out[i] = storage.Summary{Key: fmt.Sprintf("k%d", i), Summary: mailview.Summary{
			From: fmt.Sprintf("Sender %d", i%1000), Subject: fmt.Sprintf("Subject number %d about poplar trees", i)}}
	}
	return out
}

func TestListModelFilter(t *testing.T) {
	tests := []struct {
		query string
		want  int
	}{
		{"", 1000},
		{"sender 7", 271},         // every word anywhere: the numbers 0-999 with a 7 in them
		{"SUBJECT NUMBER 99", 19}, // 99, x99 (9 more), 990-998
		{"sender 7 about 7", 271}, // repeated words change nothing
		{"poplar sender 999", 1},
		{"nothing", 0},
	}
	var m listModel
	m.set(sums(1000))
	for _, tc := range tests {
		m.filter(tc.query)
		if m.len() != tc.want {
			t.Errorf("filter(%q) = %d rows, want %d", tc.query, m.len(), tc.want)
		}
	}
	m.filter("number 5")
	if r := m.row("k5"); r != 0 || m.at(r).Key != "k5" {
		t.Errorf("row(k5) = %d", r)
	}
	if m.row("k6") != -1 || m.at(-1) != nil {
		t.Error("rows outside the view")
	}
}

// BenchmarkListModelOpen100k measures loading a 100,000-message folder into the list model.
func BenchmarkListModelOpen100k(b *testing.B) {
	s := sums(100000)
	b.ReportAllocs()
	for b.Loop() {
		var m listModel
		m.set(s)
	}
}

// BenchmarkListModelFilter100k measures one keystroke of search in a 100,000-message folder.
func BenchmarkListModelFilter100k(b *testing.B) {
	var m listModel
	m.set(sums(100000))
	qs := []string{"s", "se", "sender 4", "sender 42"}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		m.filter(qs[i%len(qs)])
		i++
	}
}
