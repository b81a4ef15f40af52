package cli

import "context"

// runList is a placeholder until the command is built; the file is owned by the helper who builds it.
func runList(ctx context.Context, e *Env, g Globals, args []string) int {
	return notBuilt(e, "list")
}
