package main

import (
	"os"

	"github.com/authos/authos-credential-helper/internal/front"
	"github.com/authos/authos-credential-helper/internal/stack"
)

func main() {
	stack.Grow()
	os.Exit(front.Main(os.Args, os.Stderr))
}
