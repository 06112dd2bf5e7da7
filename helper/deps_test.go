package helper

import (
	"os/exec"
	"strings"
	"testing"
)

// The front door links helper: none of the network's packages, nor the
// keyring library's, may come with it (their init runs at every hit).
func TestNoNetworkDeps(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "-f", "{{.ImportPath}}{{range .Imports}} {{.}}{{end}}", ".").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	imports := map[string][]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(line)
		imports[f[0]] = f[1:]
	}
	// Each is a package path or the root of a tree of them.
	forbidden := []string{"net/http", "crypto/tls", "crypto/x509", "rsc.io/qr", "gopkg.in/yaml", "go.yaml.in/yaml", "github.com/goccy/go-yaml", "github.com/authos/authos-credential-helper/internal/authos/jwks",
		"github.com/99designs/keyring", "github.com/godbus/dbus", "github.com/dvsekhvalnov/jose2go"}
	const self = "github.com/authos/authos-credential-helper/helper"
	via := map[string]string{self: ""} // package -> who imports it, for the message
	queue := []string{self}
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		for _, f := range forbidden {
			if p == f || strings.HasPrefix(p, f+"/") {
				chain := p
				for q := via[p]; q != ""; q = via[q] {
					chain = q + " -> " + chain
				}
				t.Errorf("helper links %s: %s", p, chain)
			}
		}
		for _, q := range imports[p] {
			if _, seen := via[q]; !seen {
				via[q] = p
				queue = append(queue, q)
			}
		}
	}
}
