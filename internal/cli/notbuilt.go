package cli

import "fmt"

// notBuilt reports a command that does not exist yet in this build.
func notBuilt(e *Env, name string) int {
	fmt.Fprintf(e.Stderr, "poplar %s: not available in this build yet\n", name)
	return 2
}
