package cli

import (
	"context"

	"github.com/authos/authos-credential-helper/internal/devserver"
	"github.com/authos/authos-credential-helper/internal/httpserve"
)

func runDevServer(ctx context.Context, env Env, args []string) int {
	ctx, stop := httpserve.OnSignal(ctx)
	defer stop()
	return devserver.Command(ctx, args, env.Stdout, env.Stderr, protocolFlagSet)
}
