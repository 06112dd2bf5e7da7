// Command rawkeyring links 99designs/keyring without the nobus guard: the
// control case showing that the start-up trap the guard prevents is real.
package main

import (
	"fmt"

	"github.com/99designs/keyring"
)

func main() { fmt.Println(keyring.AvailableBackends()) }
