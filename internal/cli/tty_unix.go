//go:build !windows

package cli

import (
	"os"

	"golang.org/x/sys/unix"
)

// The controlling terminal, for the prompt and the passphrase.
const ttyPath, ttyInPath = "/dev/tty", "/dev/tty"

// inForeground reports whether this process is in the terminal's foreground
// process group: reading the terminal from the background (git fetch &)
// would stop the process with SIGTTIN.
func inForeground(tty *os.File) bool {
	pgrp, err := unix.IoctlGetInt(int(tty.Fd()), unix.TIOCGPGRP)
	return err == nil && pgrp == unix.Getpgrp()
}
