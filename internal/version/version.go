// Package version tells which build of Poplar is running: the release version, the commit and the
// build date. Release builds (.ci/dist) set them with the linker:
//
//	-X github.com/poplar-mail/poplar/internal/version.version=0.1.0
//	-X github.com/poplar-mail/poplar/internal/version.commit=0123abc
//	-X github.com/poplar-mail/poplar/internal/version.date=2026-11-30T12:00:00Z
//
// Other builds fall back to what the Go tool records (runtime/debug.ReadBuildInfo): the module
// version and, when built in a Git checkout with VCS stamping on, the revision and commit time.
package version

import (
	"fmt"
	"runtime"
	"runtime/debug"
)

// Set by the linker (-X); empty in a plain `go build`. They are never written at run time.
var (
	version string
	commit  string
	date    string
)

// Info is one build's identity.
type Info struct {
	Version string // e.g. "0.1.0", or "devel"
	Commit  string // the Git revision, "+dirty" when built from a modified tree; "unknown" if not recorded
	Date    string // the build date (RFC 3339, UTC), or the commit time; "unknown" if not recorded
	Go      string // the Go toolchain, e.g. "go1.26.8"
}

// Get returns the running build's identity: the linker's values first, then the build info's.
func Get() Info {
	return resolve(version, commit, date, readBuildInfo())
}

func readBuildInfo() *debug.BuildInfo {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return nil
	}
	return bi
}

// resolve fills what the linker left empty from bi (which may be nil).
func resolve(v, c, d string, bi *debug.BuildInfo) Info {
	in := Info{Version: v, Commit: c, Date: d, Go: runtime.Version()}
	if bi != nil {
		if in.Version == "" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			in.Version = bi.Main.Version
		}
		var rev, at string
		dirty := false
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.time":
				at = s.Value
			case "vcs.modified":
				dirty = s.Value == "true"
			}
		}
		if in.Commit == "" && rev != "" {
			in.Commit = rev
			if dirty {
				in.Commit += "+dirty"
			}
		}
		if in.Date == "" {
			in.Date = at
		}
		if bi.GoVersion != "" {
			in.Go = bi.GoVersion
		}
	}
	if in.Version == "" {
		in.Version = "devel"
	}
	if in.Commit == "" {
		in.Commit = "unknown"
	}
	if in.Date == "" {
		in.Date = "unknown"
	}
	return in
}

// String is the line `poplar --version` prints, e.g.
// "poplar 0.1.0 (commit 0123abc, built 2026-11-30T12:00:00Z, go1.26.8 linux/amd64)".
func (in Info) String() string {
	return fmt.Sprintf("poplar %s (commit %s, built %s, %s %s/%s)", in.Version, in.Commit, in.Date, in.Go, runtime.GOOS, runtime.GOARCH)
}
