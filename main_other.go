//go:build !linux

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
