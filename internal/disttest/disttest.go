// Package disttest checks Poplar's release artifacts as a user meets them: `make dist-test` (.ci/dist-test)
// points its tests at poplar extracted from the .deb (POPLAR_DIST_LINUX), at poplar installed by
// the tar.xz's Makefile (POPLAR_DIST_TAR) and at poplar.exe from the Windows zip
// (POPLAR_DIST_WINDOWS, run under wine64). Each prints its version, adds an account with its
// password on standard input (kept in the system's keyring: the Secret Service on Linux, the
// Credential Manager on Windows) and fetches from a private Dovecot, storing every message exactly
// once. The command line loads no GUI library, and hands the window over to poplar-gui (exec'd in
// the same process on Linux, started detached on Windows), or says it is not installed. The
// package holds no code: only those tests.
package disttest
