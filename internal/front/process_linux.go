package front

import (
	"io"
	"os"

	"github.com/authos/authos-credential-helper/helper"
	"github.com/authos/authos-credential-helper/internal/config"
	"github.com/authos/authos-credential-helper/internal/wiring/cacheonly"
)

// Main serves the process's invocation: answered here, or handed to the
// full binary (then it does not return).
func Main(args []string, stderr io.Writer) int {
	src := &cacheonly.Source{Paths: config.DefaultPaths(), Env: os.Getenv}
	return Serve(Env{
		Args: args, Stdin: os.Stdin, Stdout: os.Stdout, Stderr: stderr, Getenv: os.Getenv,
		Creds:   &helper.Credentials{Source: src},
		Handoff: handoff,
	})
}
