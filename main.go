// Command authos-credential-helper gives command-line tools short-lived
// AuthOS tokens: see README.md and docs/cli.md.
package main

import (
	"context"
	"os"

	"github.com/authos/authos-credential-helper/internal/cli"
	"github.com/authos/authos-credential-helper/internal/config"
)

func main() {
	growStack()
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

// growStack grows the main goroutine's stack once, here, where it holds two
// frames. Otherwise it starts at 2 KB and is copied as the request goes
// deeper, each copy walking every frame's stack map: two copies on a "not my
// host" answer and three on a cache hit, which cost 0.2-0.3 ms of page faults
// in the runtime's tables (bench/startup.sh, measured with a uprobe on
// runtime.copystack). A 16 KB stack holds every hit path.
//
//go:noinline
func growStack() {
	var frame [8 << 10]byte
	keep(frame[:])
}

//go:noinline
func keep([]byte) {}
