//go:build !windows

package cli

const ttyPath = "/dev/tty"
