package cli

import "context"

// runAccount is a placeholder until the command is built; the file is owned by the helper who builds it.
func runAccount(ctx context.Context, e *Env, g Globals, args []string) int {
	return notBuilt(e, "account")
}
