package version

import (
	"runtime/debug"
	"strings"
	"testing"
)

func TestResolve(t *testing.T) {
	vcs := &debug.BuildInfo{
		GoVersion: "go1.99",
		Main:      debug.Module{Path: "github.com/poplar-mail/poplar", Version: "(devel)"},
		Settings: []debug.BuildSetting{
			{Key: "vcs.revision", Value: "abc123"},
			{Key: "vcs.time", Value: "2026-11-29T10:00:00Z"},
			{Key: "vcs.modified", Value: "true"},
		},
	}
	tagged := &debug.BuildInfo{Main: debug.Module{Version: "v0.2.0"}}
	tests := []struct {
		name    string
		v, c, d string
		bi      *debug.BuildInfo
		want    Info
	}{
		{"linker wins", "0.1.0", "deadbeef", "2026-11-30T12:00:00Z", vcs,
			Info{Version: "0.1.0", Commit: "deadbeef", Date: "2026-11-30T12:00:00Z", Go: "go1.99"}},
		{"vcs stamping", "", "", "", vcs,
			Info{Version: "devel", Commit: "abc123+dirty", Date: "2026-11-29T10:00:00Z", Go: "go1.99"}},
		{"go install of a tag", "", "", "", tagged,
			Info{Version: "v0.2.0", Commit: "unknown", Date: "unknown"}},
		{"nothing recorded", "", "", "", nil,
			Info{Version: "devel", Commit: "unknown", Date: "unknown"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := resolve(tt.v, tt.c, tt.d, tt.bi)
			if tt.want.Go == "" {
				tt.want.Go = got.Go // the running toolchain's
			}
			if got != tt.want {
				t.Errorf("resolve(%q, %q, %q) = %+v, want %+v", tt.v, tt.c, tt.d, got, tt.want)
			}
		})
	}
}

func TestString(t *testing.T) {
	s := Info{Version: "1.2.3", Commit: "abc", Date: "2026-11-30T12:00:00Z", Go: "go1.26"}.String()
	for _, want := range []string{"poplar 1.2.3 ", "commit abc", "built 2026-11-30T12:00:00Z", "go1.26"} {
		if !strings.Contains(s, want) {
			t.Errorf("String() = %q, want it to contain %q", s, want)
		}
	}
}
