package cli

import (
	"context"
	"os"

	"github.com/authos/authos-credential-helper/internal/config"
)

// RunProcess runs Main for this process (its arguments, standard streams,
// environment and folders) and returns the exit code: the body of both
// mains that are the full helper (cmd/authos-credential-helper-full, and
// authos-credential-helper outside Linux).
func RunProcess() int {
	// No signal handler here: os/signal costs ~0.8 ms of start-up (a thread
	// of its own), which every cache hit would pay. The device flow installs
	// one when it starts (cli.interruptible).
	return Main(context.Background(), Env{
		Args:   os.Args,
		Stdin:  os.Stdin,
		Stdout: os.Stdout,
		Stderr: os.Stderr,
		Getenv: os.Getenv,
		Paths:  config.DefaultPaths(),
	})
}
