// Command authos-credential-helper gives command-line tools short-lived
// AuthOS tokens: see README.md and docs/cli.md.
//
// On Linux this is the front door (main_linux.go, package internal/front):
// it answers cache hits itself and hands everything else to the full
// helper, cmd/authos-credential-helper-full, installed beside it. Elsewhere
// it is the full helper (main_other.go).
package main
