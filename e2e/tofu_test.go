package e2e

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// TestSetupTofu: no OpenTofu binary can be installed here (no registry this
// machine reaches ships it; building it takes minutes), so this checks what
// OpenTofu would read: `setup tofu` puts the credentials_helper block in
// ~/.terraformrc and in OpenTofu's ~/.tofurc, links the helper into
// OpenTofu's plugin folder under XDG data, and that link answers the
// credentials-helper protocol as OpenTofu calls it; OpenTofu's OCI sources
// use Docker-style credential helpers, which docker-credential-authos
// answers. --undo removes all of it.
func TestSetupTofu(t *testing.T) {
	t.Parallel()
	d := startDevServer(t)
	s := newSandbox(t, "")
	s.writeConfig(t, protoConfig(d.URL, []string{"registry.acme.example"}, []string{"tf.acme.example"}))
	home := s.env["HOME"]
	tofurc := filepath.Join(home, ".tofurc")
	if err := os.WriteFile(tofurc, []byte("# OpenTofu only\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, errOut, code := s.run(t, "setup", "tofu", "--profile", "acme"); code != 0 {
		t.Fatalf("setup tofu: %d %s", code, errOut)
	}
	const block = "credentials_helper \"authos\" {\n  args = [\"--profile\", \"acme\"]\n}\n"
	for _, f := range []string{tofurc, filepath.Join(home, ".terraformrc")} {
		if b, _ := os.ReadFile(f); !strings.Contains(string(b), block) {
			t.Fatalf("%s lacks the block:\n%s", f, b)
		}
	}
	link := filepath.Join(s.env["XDG_DATA_HOME"], "opentofu", "plugins", runtime.GOOS+"_"+runtime.GOARCH, "terraform-credentials-authos")
	if target, err := os.Readlink(link); err != nil || target != bin {
		t.Fatalf("OpenTofu's plugin link %s -> %q (%v), want %s", link, target, err, bin)
	}

	tok := loginAs(t, s, d, 1, "acme")
	// As OpenTofu runs it: <plugin> <args...> get <host>.
	cmd := exec.Command(link, "--profile", "acme", "get", "tf.acme.example")
	cmd.Env = s.environ()
	out, err := cmd.Output()
	var got struct{ Token string }
	if err != nil || json.Unmarshal(out, &got) != nil || got.Token != tok {
		t.Fatalf("the OpenTofu plugin link: %v, token served %v", err, got.Token == tok)
	}
	// OpenTofu's OCI registries: a Docker-style helper, called by name.
	links := helperLinks(t, "docker-credential-authos")
	dc := exec.Command(filepath.Join(links, "docker-credential-authos"), "get")
	dc.Env, dc.Stdin = s.environ(), strings.NewReader("registry.acme.example")
	out, err = dc.Output()
	var cred struct{ Username, Secret string }
	if err != nil || json.Unmarshal(out, &cred) != nil || cred.Secret != tok {
		t.Fatalf("docker-credential-authos get for an OCI registry: %v, secret served %v", err, cred.Secret == tok)
	}

	if _, errOut, code := s.run(t, "setup", "tofu", "--undo", "--profile", "acme"); code != 0 {
		t.Fatalf("setup tofu --undo: %d %s", code, errOut)
	}
	if b, _ := os.ReadFile(tofurc); string(b) != "# OpenTofu only\n" {
		t.Fatalf("after --undo ~/.tofurc = %q", b)
	}
	if _, err := os.Stat(filepath.Join(home, ".terraformrc")); !os.IsNotExist(err) {
		t.Fatalf("after --undo ~/.terraformrc, which setup created, remains (%v)", err)
	}
	if _, err := os.Lstat(link); !os.IsNotExist(err) {
		t.Fatalf("after --undo the plugin link remains (%v)", err)
	}
}
