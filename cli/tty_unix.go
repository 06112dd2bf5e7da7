//go:build !windows

package cli

// The controlling terminal, for the prompt and the passphrase.
const ttyPath, ttyInPath = "/dev/tty", "/dev/tty"
