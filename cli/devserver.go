package cli

import (
	"context"

	"github.com/authos/authos-credential-helper/devserver"
)

func runDevServer(ctx context.Context, env Env, args []string) int {
	return devserver.Command(ctx, args, env.Stdout, env.Stderr)
}
