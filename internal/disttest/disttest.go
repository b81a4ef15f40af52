// Package disttest checks Poplar's release artifacts as a user meets them: `make dist-test` (.ci/dist-test)
// points its test at the binary extracted from the .deb (POPLAR_DIST_LINUX) and at poplar.exe from
// the Windows zip (POPLAR_DIST_WINDOWS, run under wine64), and each one prints its version, adds an
// account with its password on standard input (kept in the system's keyring: the Secret Service on
// Linux, the Credential Manager on Windows) and fetches from a private Dovecot, storing every
// message exactly once. The package holds no code: only that test.
package disttest
