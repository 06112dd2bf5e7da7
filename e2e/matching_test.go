package e2e

import (
	"strings"
	"testing"
)

// TestTokenOnlyForNamedHosts: Terraform sends every host it meets to its one
// credentials helper, with the arguments setup gave it (--profile acme). The
// acme token must still go only to hosts acme's patterns name.
func TestTokenOnlyForNamedHosts(t *testing.T) {
	t.Parallel()
	d := startDevServer(t)
	s := newSandbox(t, "")
	s.writeConfig(t, protoConfig(d.URL, []string{"docker.io"}, []string{"tf.acme.example:443"}))
	s.env["AUTHOS_PROFILE"] = "acme"
	s.login(t, d, 1, "alice@acme.example")
	delete(s.env, "AUTHOS_PROFILE")
	links := helperLinks(t, "terraform-credentials-authos", "docker-credential-authos")

	tests := []struct {
		name, argv0 string
		args        []string
		stdin       string
		wantToken   bool
	}{
		{"terraform --profile, unnamed host", "terraform-credentials-authos", []string{"--profile", "acme", "get", "registry.terraform.io"}, "", false},
		{"terraform --profile, named host (pattern with :443)", "terraform-credentials-authos", []string{"--profile", "acme", "get", "tf.acme.example"}, "", true},
		{"docker pattern docker.io serves Hub's key", "docker-credential-authos", []string{"get"}, "https://index.docker.io/v1/", true},
		{"docker pattern docker.io, other registry", "docker-credential-authos", []string{"get"}, "ghcr.io", false},
	}
	for _, tc := range tests {
		out, errOut, _ := runWithStdin(t, s, links, tc.argv0, tc.args, tc.stdin, nil)
		if got := strings.Contains(out, "eyJ"); got != tc.wantToken {
			t.Errorf("%s: token handed out = %v, want %v (stdout %.40q, stderr %q)", tc.name, got, tc.wantToken, out, errOut)
		}
	}
}
