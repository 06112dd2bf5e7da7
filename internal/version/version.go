// Package version holds what install.sh stamps in with -ldflags -X.
package version

import "runtime"

var (
	Version = "0.1.0-dev"
	Commit  = "unknown"
)

// UserAgent identifies the helper to AuthOS servers.
func UserAgent() string {
	return "authos-credential-helper/" + Version + " (" + runtime.GOOS + "/" + runtime.GOARCH + ")"
}
