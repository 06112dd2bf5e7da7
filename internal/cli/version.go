package cli

import (
	"encoding/json"
	"fmt"
	"runtime"
	"slices"
	"strings"

	"github.com/authos/authos-credential-helper/cache/keyring"
	"github.com/authos/authos-credential-helper/internal/version"
)

// versionInfo is `version --json`: what a bug report or a packaging check
// needs to know about this build.
type versionInfo struct {
	Version   string   `json:"version"`
	Commit    string   `json:"commit"`
	GoVersion string   `json:"go_version"`
	Platform  string   `json:"platform"` // GOOS/GOARCH
	Backends  []string `json:"backends"` // keyring backends compiled in
	// Keychain says whether this build has the macOS Keychain backend
	// (a darwin build with cgo); without it a Mac needs another backend.
	Keychain bool `json:"keychain"`
}

func runVersion(env Env, args []string) error {
	fs := newFlagSet(env, "version")
	asJSON := fs.Bool("json", false, flagHelp("version", "json"))
	if err := parse(fs, args); err != nil {
		return err
	}
	backends := keyring.CompiledBackends()
	if !*asJSON {
		note := ""
		if runtime.GOOS == "darwin" && !slices.Contains(backends, "keychain") {
			note = " (no macOS Keychain: built without cgo)"
		}
		_, err := fmt.Fprintf(env.Stdout, "authos-credential-helper %s (commit %s)\ncache backends compiled in: %s%s\n",
			version.Version, version.Commit, strings.Join(backends, ", "), note)
		return err
	}
	enc := json.NewEncoder(env.Stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(versionInfo{
		Version: version.Version, Commit: version.Commit, GoVersion: runtime.Version(),
		Platform: runtime.GOOS + "/" + runtime.GOARCH, Backends: backends,
		Keychain: slices.Contains(backends, "keychain"),
	})
}
