package e2e

import (
	"os/exec"
	"strings"
	"testing"
)

// TestSharedModulesAtTheRootsVersions: the root packages this module links
// into the test process (tokensource, the dev server) are built with the
// versions the root module selects, the ones a program importing tokensource
// gets. A client library here that needs a newer version of a shared module
// would change that silently; raise it in the root's go.mod instead.
func TestSharedModulesAtTheRootsVersions(t *testing.T) {
	t.Parallel()
	versions := func(dir string) map[string]string {
		cmd := exec.Command("go", "list", "-m", "all")
		cmd.Dir = dir
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("go list -m all in %s: %v", dir, err)
		}
		m := map[string]string{}
		for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
			if f := strings.Fields(line); len(f) >= 2 {
				m[f[0]] = f[1]
			}
		}
		return m
	}
	root, here := versions(rootDir), versions(".")
	for path, v := range root {
		if w, ok := here[path]; ok && path != rootModule && w != v {
			t.Errorf("%s: %s here, %s in the root module", path, w, v)
		}
	}
}
