// Command authos-credential-plugin serves AuthOS tokens to Go programs over
// hashicorp/go-plugin (gRPC), from the same encrypted cache and under the
// same per-identity lock as authos-credential-helper. Hosts start it through
// the tokensource package; a person never needs to run it.
//
// It is a binary of its own so that the gRPC stack never slows the start of
// the per-call helper (see docs/cli.md).
package main

import (
	"fmt"
	"io"
	"os"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"

	"github.com/authos/authos-credential-helper/internal/config"
	"github.com/authos/authos-credential-helper/internal/tokenservice"
	"github.com/authos/authos-credential-helper/internal/version"
	"github.com/authos/authos-credential-helper/tokenplugin"
)

const byHand = `authos-credential-plugin serves AuthOS tokens to Go programs (Terraform
providers, long-running tools) over hashicorp/go-plugin. Those programs start
it themselves, through github.com/authos/authos-credential-helper/tokensource;
it is not meant to be run by hand.

For a token in a shell or script:  authos-credential-helper token
To check that the plugin works:    go run github.com/authos/authos-credential-helper/examples/tokenhost
`

func main() {
	os.Exit(run(os.Args, os.Getenv, os.Stdout, os.Stderr))
}

func run(args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	if len(args) == 2 && (args[1] == "version" || args[1] == "--version") {
		fmt.Fprintf(stdout, "authos-credential-plugin %s (commit %s), token service protocol %d\n",
			version.Version, version.Commit, tokenplugin.ProtocolVersion)
		return 0
	}
	hs := tokenplugin.Handshake()
	if len(args) > 1 || getenv(hs.MagicCookieKey) != hs.MagicCookieValue {
		fmt.Fprint(stderr, byHand)
		return 2
	}
	go exitWithParent(os.Getppid(), time.Second)
	// Serve writes the handshake line to stdout; nothing else may before it.
	// Its own logs go to stderr as JSON, which the host's go-plugin reads.
	plugin.Serve(&plugin.ServeConfig{
		HandshakeConfig: hs,
		Plugins: plugin.PluginSet{
			tokenplugin.Name: &tokenplugin.Plugin{Impl: tokenservice.New(config.DefaultPaths(), getenv)},
		},
		GRPCServer: plugin.DefaultGRPCServer,
		Logger:     hclog.New(&hclog.LoggerOptions{Level: hclog.Warn, Output: stderr, JSONFormat: true}),
	})
	return 0
}

// exitWithParent ends the plugin when its host dies without stopping it
// (kill -9, a crash): go-plugin would otherwise leave it serving an empty
// socket, and possibly a sign-in nobody waits for, forever. A Unix orphan is
// re-parented, so a changed parent pid means the host is gone.
func exitWithParent(parent int, every time.Duration) {
	if parent <= 1 {
		return
	}
	for range time.Tick(every) {
		if os.Getppid() != parent {
			os.Exit(1)
		}
	}
}
