package pop

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
)

// TestListAll: with PIPELINING, STAT, LIST and UIDL leave together (the script reads all three
// before it answers, so waiting for a reply in between would stall); without it, one at a time.
// A -ERR to UIDL still gives the listing, a -ERR to LIST is an *Error, and after either the
// session goes on in step (NOOP answered).
func TestListAll(t *testing.T) {
	list := "+OK 2 messages\r\n1 120\r\n2 340\r\n.\r\n"
	uidl := "+OK\r\n1 aaa\r\n2 bbb\r\n.\r\n"
	tooLong := "+OK\r\n" + strings.Repeat("1 5\r\n", 2+listSlack+1) + ".\r\n"
	tests := []struct {
		name             string
		pipelining       bool
		stat, list, uidl string
		wantErr          string // "": a listing; "reply": an *Error; "too large": ErrReplyTooLarge
		wantUIDLErr      bool
	}{
		{"pipelined", true, "+OK 2 460\r\n", list, uidl, "", false},
		{"one at a time", false, "+OK 2 460\r\n", list, uidl, "", false},
		{"pipelined, no UIDL", true, "+OK 2 460\r\n", list, "-ERR no UIDL here\r\n", "", true},
		{"one at a time, no UIDL", false, "+OK 2 460\r\n", list, "-ERR no UIDL here\r\n", "", true},
		{"pipelined, LIST refused", true, "+OK 2 460\r\n", "-ERR [SYS/TEMP] try later\r\n", uidl, "reply", false},
		{"pipelined, STAT refused", true, "-ERR [SYS/TEMP] try later\r\n", "-ERR no\r\n", "-ERR no\r\n", "reply", false},
		{"pipelined, LIST beyond the STAT count", true, "+OK 2 460\r\n", tooLong, uidl, "too large", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := client(t, Options{}, func(p *peer) {
				p.send("+OK ready\r\n")
				p.expect("CAPA")
				capa := "+OK\r\nUIDL\r\n"
				if tt.pipelining {
					capa += "PIPELINING\r\n"
				}
				p.send(capa + ".\r\n")
				if tt.pipelining {
					p.expect("STAT")
					p.expect("LIST")
					p.expect("UIDL")
					p.send(tt.stat + tt.list + tt.uidl)
				} else {
					for _, step := range [][2]string{{"STAT", tt.stat}, {"LIST", tt.list}, {"UIDL", tt.uidl}} {
						p.expect(step[0])
						p.send(step[1])
					}
				}
				if tt.wantErr != "too large" {
					p.expect("NOOP")
					p.send("+OK\r\n")
				}
			})
			ctx := context.Background()
			if err := c.Capa(ctx); err != nil {
				t.Fatal(err)
			}
			l, err := c.ListAll(ctx)
			switch tt.wantErr {
			case "reply":
				if !errors.As(err, new(*Error)) {
					t.Fatalf("ListAll = %v, want an *Error", err)
				}
			case "too large":
				if !errors.Is(err, ErrReplyTooLarge) {
					t.Fatalf("ListAll = %v, want ErrReplyTooLarge", err)
				}
			default:
				if err != nil {
					t.Fatalf("ListAll = %v", err)
				}
				got := fmt.Sprint(l.Count, l.Size, l.Sizes, l.UIDs, l.UIDLErr != nil)
				want := fmt.Sprint(2, 460, []MessageInfo{{1, 120}, {2, 340}}, []UIDEntry{{1, "aaa"}, {2, "bbb"}}, false)
				if tt.wantUIDLErr {
					want = fmt.Sprint(2, 460, []MessageInfo{{1, 120}, {2, 340}}, []UIDEntry(nil), true)
				}
				if got != want {
					t.Fatalf("ListAll = %s, want %s", got, want)
				}
			}
			if tt.wantErr != "too large" {
				if err := c.Noop(ctx); err != nil {
					t.Fatalf("NOOP after ListAll: %v", err)
				}
			}
		})
	}
}
