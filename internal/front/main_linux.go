package front

import (
	"fmt"
	"io"
)

// Main runs one invocation. Until the hit paths land it hands everything
// to the full binary.
func Main(args []string, stderr io.Writer) int {
	err := handoff(args, false, nil)
	fmt.Fprintf(stderr, "authos-credential-helper: %v\n", err)
	return 1
}
