package wiring

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"

	"github.com/authos/authos-credential-helper/internal/config"
)

// TestBuildWiresTheStoreSettings: the config's allow_volatile_store reaches
// the store, the helper's other folders are checked with the cache's, and
// warnings reach the writer as one "authos: warning:" line each.
func TestBuildWiresTheStoreSettings(t *testing.T) {
	root := t.TempDir()
	paths := config.Paths{
		Tokens: filepath.Join(root, "tokens"), State: filepath.Join(root, "state"),
		Locks: filepath.Join(root, "locks"), FileRing: filepath.Join(root, "ring"),
	}
	for _, allow := range []bool{false, true} {
		var warn bytes.Buffer
		cfg := &config.Config{Cache: config.Cache{AllowVolatileStore: allow}}
		p := Build(cfg, Options{Paths: paths, Getenv: func(string) string { return "" }, Warn: &warn})
		if p.Store.AllowVolatile != allow {
			t.Errorf("AllowVolatile = %v, want %v", p.Store.AllowVolatile, allow)
		}
		if strings.Join(p.Store.Related, " ") != strings.Join([]string{paths.State, paths.Locks, paths.FileRing}, " ") {
			t.Errorf("Related = %v", p.Store.Related)
		}
		p.Store.Warn("x is loose")
		if warn.String() != "authos: warning: x is loose\n" {
			t.Errorf("warning written as %q", warn.String())
		}
	}
	if p := Build(&config.Config{}, Options{Paths: paths, Getenv: func(string) string { return "" }}); p.Store.Warn != nil {
		t.Error("no writer, yet a Warn func that would write somewhere")
	}
}
