// Command authos-credential-helper gives command-line tools short-lived
// AuthOS tokens: see README.md and shared/spec/cli.md.
package main

import (
	"context"
	"os"

	"github.com/authos/authos-credential-helper/cli"
	"github.com/authos/authos-credential-helper/config"
)

func main() {
	// No signal handler here: os/signal costs ~0.8 ms of start-up (a thread
	// of its own), which every cache hit would pay. The device flow installs
	// one when it starts (cli.interruptible).
	os.Exit(cli.Main(context.Background(), cli.Env{
		Args:   os.Args,
		Stdin:  os.Stdin,
		Stdout: os.Stdout,
		Stderr: os.Stderr,
		Getenv: os.Getenv,
		Paths:  config.DefaultPaths(),
	}))
}
