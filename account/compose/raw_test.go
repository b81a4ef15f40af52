package compose

import (
	"errors"
	"io"
	"strings"
	"testing"
)

func TestPrepareRaw(t *testing.T) {
	tests := []struct {
		name      string
		in        string
		wantFrom  string
		wantRcpts string
		wantOut   string // "" = in
		wantErr   error
		wantInErr string // a header an error must name
	}{
		{"simple", "From: a@x.org\nTo: b@y.org\nSubject: s\n\nbody\n", "a@x.org", "b@y.org", "", nil, ""},
		{"crlf kept", "From: a@x.org\r\nTo: b@y.org\r\n\r\nbody\r\n.\r\n", "a@x.org", "b@y.org", "", nil, ""},
		{"bcc removed", "From: A <a@x.org>\nTo: b@y.org\nBcc: c@z.org, d@z.org\nSubject: s\n\nbody\n", "a@x.org", "b@y.org c@z.org d@z.org",
			"From: A <a@x.org>\nTo: b@y.org\nSubject: s\n\nbody\n", nil, ""},
		{"folded bcc removed", "From: a@x.org\nBCC: c@z.org,\n\td@z.org,\n  e@z.org\nCc: B <b@y.org>\n\nbody\n", "a@x.org", "b@y.org c@z.org d@z.org e@z.org",
			"From: a@x.org\nCc: B <b@y.org>\n\nbody\n", nil, ""},
		{"empty bcc removed", "From: a@x.org\nTo: b@y.org\nBcc:\n\nbody", "a@x.org", "b@y.org", "From: a@x.org\nTo: b@y.org\n\nbody", nil, ""},
		{"bcc only", "From: a@x.org\nBcc: c@z.org\n\n", "a@x.org", "c@z.org", "From: a@x.org\n\n", nil, ""},
		{"duplicates", "From: a@x.org\nTo: b@y.org, B@Y.org\nCc: b@y.org\nTo: e@z.org\n\n", "a@x.org", "b@y.org e@z.org", "", nil, ""},
		{"sender", "From: a@x.org, b@x.org\nSender: s@x.org\nTo: b@y.org\n\n", "s@x.org", "b@y.org", "", nil, ""},
		{"encoded names, group", "From: =?utf-8?q?=C3=84da?= <a@x.org>\nTo: team: b@y.org, c@y.org;, =?iso-8859-1?q?D=E9?= <d@y.org>\n\nx", "a@x.org", "b@y.org c@y.org d@y.org", "", nil, ""},
		{"no header end", "From: a@x.org\nTo: b@y.org", "a@x.org", "b@y.org", "", nil, ""},
		{"8-bit body unchanged", "From: a@x.org\nTo: b@y.org\n\n\xff\x00\r\n.\n", "a@x.org", "b@y.org", "", nil, ""},
		{"no recipients", "From: a@x.org\nSubject: s\n\nbody\n", "", "", "", ErrNoRecipient, ""},
		{"empty group only", "From: a@x.org\nTo: undisclosed-recipients:;\n\nbody\n", "", "", "", ErrNoRecipient, ""},
		{"no from", "To: b@y.org\n\nbody\n", "", "", "", ErrNoFrom, ""},
		{"bad to", "From: a@x.org\nTo: b@y.org, <broken\n\nbody\n", "", "", "", nil, "To"},
		{"bad bcc", "From: a@x.org\nTo: b@y.org\nBcc: @@\n\nbody\n", "", "", "", nil, "Bcc"},
		{"bad from", "From: <a@x.org\nTo: b@y.org\n\n", "", "", "", nil, "From"},
		{"malformed header", "From: a@x.org\nnot a header line\n\n", "", "", "", nil, "malformed"},
		{"empty", "", "", "", "", ErrNoFrom, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			from, rcpts, msg, err := PrepareRaw(strings.NewReader(tt.in))
			if tt.wantErr != nil || tt.wantInErr != "" {
				if err == nil || tt.wantErr != nil && !errors.Is(err, tt.wantErr) || !strings.Contains(err.Error(), tt.wantInErr) {
					t.Errorf("PrepareRaw(%q) error = %v, want %v naming %q", tt.in, err, tt.wantErr, tt.wantInErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("PrepareRaw(%q) = %v", tt.in, err)
			}
			out, err := io.ReadAll(msg)
			if err != nil {
				t.Fatal(err)
			}
			want := tt.wantOut
			if want == "" {
				want = tt.in
			}
			if from != tt.wantFrom || strings.Join(rcpts, " ") != tt.wantRcpts || string(out) != want {
				t.Errorf("PrepareRaw(%q) = %q, %q, %q; want %q, %q, %q", tt.in, from, rcpts, out, tt.wantFrom, tt.wantRcpts, want)
			}
		})
	}
}

func TestPrepareRawLongHeader(t *testing.T) {
	in := "From: a@x.org\nTo: b@y.org\nX-Long: " + strings.Repeat("x", 2<<20) + "\n\nbody"
	if _, _, _, err := PrepareRaw(strings.NewReader(in)); !errors.Is(err, ErrHeaderTooLong) {
		t.Errorf("PrepareRaw(a 2 MiB header) = %v, want %v", err, ErrHeaderTooLong)
	}
}

func FuzzPrepareRaw(f *testing.F) {
	f.Add("From: a@x.org\nTo: b@y.org\nBcc: c@z.org,\n d@z.org\n\nbody\n")
	f.Add("From: a@x.org\r\nCc: team: b@y.org;\r\n\r\n")
	f.Add(" leading\nFrom: a@x.org\n")
	f.Add("From: =?utf-8?b?w4Q=?= <a@x.org>\nTo: <>\n\n")
	f.Fuzz(func(t *testing.T, in string) {
		from, rcpts, msg, err := PrepareRaw(strings.NewReader(in))
		if err != nil {
			return
		}
		if from == "" || len(rcpts) == 0 {
			t.Fatalf("PrepareRaw(%q) = %q, %q without an error", in, from, rcpts)
		}
		out, err := io.ReadAll(msg)
		if err != nil || len(out) > len(in) {
			t.Fatalf("PrepareRaw(%q) message %q, %v", in, out, err)
		}
		if _, _, _, err := PrepareRaw(strings.NewReader(string(out))); err != nil && !errors.Is(err, ErrNoRecipient) {
			t.Fatalf("PrepareRaw(PrepareRaw(%q)) = %v", in, err)
		}
	})
}

func FuzzParseAddressList(f *testing.F) {
	f.Add("A <a@x.org>, b@y.org")
	f.Add(`"Last, First" <f@x.org>; (c) g@y.org`)
	f.Add("=?utf-8?q?Gr=C3=BC=C3=9Fe?= <g@x.org>,,")
	f.Add(`"\`)
	f.Add("=?utf-8?q?a=0D=0Ab?= <a@x.org>")
	f.Fuzz(func(t *testing.T, in string) {
		list, err := ParseAddressList(in)
		if err != nil {
			var ae *AddressError
			if !errors.As(err, &ae) {
				t.Fatalf("ParseAddressList(%q) error %v is not an *AddressError", in, err)
			}
			return
		}
		for _, a := range list {
			if checkAddress(a.Address) != nil {
				t.Fatalf("ParseAddressList(%q) gave the invalid address %q", in, a.Address)
			}
		}
		// What it accepts can be written in a draft.
		d := &Draft{From: ada, To: list, Body: "x"}
		if err := d.validateHeader(); err != nil {
			t.Fatalf("ParseAddressList(%q) = %q, which a draft refuses: %v", in, list, err)
		}
	})
}
