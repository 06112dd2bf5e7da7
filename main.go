// Command authos-credential-helper gives command-line tools short-lived
// AuthOS tokens: see README.md and shared/spec/cli.md.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/authos/authos-credential-helper/cli"
	"github.com/authos/authos-credential-helper/config"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Main(ctx, cli.Env{
		Args:   os.Args,
		Stdout: os.Stdout,
		Stderr: os.Stderr,
		Getenv: os.Getenv,
		Paths:  config.DefaultPaths(),
	})
	stop()
	os.Exit(code)
}
