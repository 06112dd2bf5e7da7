package cli

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/authos/authos-credential-helper/internal/config"
)

// BenchmarkUnknownHost is the in-process work of answering a git request
// for a host no profile serves: what every git fetch to another host pays
// on top of process start.
func BenchmarkUnknownHost(b *testing.B) {
	dir := b.TempDir()
	cfg := filepath.Join(dir, "config.toml")
	os.WriteFile(cfg, []byte(`default_profile = "acme"
[profiles.acme]
server = "https://sso.acme.example"
org = "acme"
service = "cli"
client_id = "acme-cli"
git = ["https://git.acme.example/"]
docker = ["registry.acme.example"]
terraform = ["tf.acme.example"]
`), 0o600)
	env := Env{Args: []string{"git-credential-authos", "get"}, Stdout: io.Discard, Stderr: io.Discard,
		Getenv: func(string) string { return "" },
		Paths:  config.Paths{ConfigFile: cfg, Tokens: filepath.Join(dir, "t"), State: dir, Locks: dir}}
	for b.Loop() {
		env.Stdin = strings.NewReader("protocol=https\nhost=github.com\n\n")
		if code := Main(context.Background(), env); code != 0 {
			b.Fatal(code)
		}
	}
}
