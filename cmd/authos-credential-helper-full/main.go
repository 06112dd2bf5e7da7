// Command authos-credential-helper-full is the full helper: every command,
// the sign-in, the keyring backends and the servers. On Linux it is
// installed beside the front door, authos-credential-helper, which hands it
// every request it does not answer itself (a cache miss, login, setup, ...),
// with argv unchanged; elsewhere authos-credential-helper is this program
// and this binary is not shipped. See docs/cli.md, section 1.
package main

import (
	"os"

	"github.com/authos/authos-credential-helper/internal/cli"
	"github.com/authos/authos-credential-helper/internal/stack"
)

func main() {
	stack.Grow()
	os.Exit(cli.RunProcess())
}
