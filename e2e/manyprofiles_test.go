package e2e

// A config.toml with a thousand profiles: every protocol's hit decodes only
// the profiles the request can use, so a mistake in another profile goes
// unnoticed there, while login and status, which check the whole file,
// report it on one line naming the file and the line.

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
)

func manyProfilesConfig(server, extra string) string {
	var b strings.Builder
	b.WriteString("default_profile = \"acme\"\n")
	for i := range 500 {
		fmt.Fprintf(&b, "\n[profiles.team%[1]d]\nserver = \"https://sso.example\"\norg = \"o%[1]d\"\nservice = \"cli\"\nclient_id = \"c%[1]d\"\ngit = [\"https://git.team%[1]d.example/\"]\ndocker = [\"registry.team%[1]d.example\"]\nterraform = [\"tf.team%[1]d.example\"]\n", i)
	}
	fmt.Fprintf(&b, `
[profiles.acme]
server = %[1]q
org = "acme"
service = "cli"
client_id = "acme-cli"
git = ["https://git.acme.example/"]
docker = ["registry.acme.example"]
terraform = ["tf.acme.example"]

[profiles.hub]
server = %[1]q
org = "acme"
service = "cli"
client_id = "acme-cli"
docker = ["Docker.IO"]
`, server)
	b.WriteString(extra)
	for i := 500; i < 1000; i++ {
		fmt.Fprintf(&b, "\n[profiles.team%[1]d]\nserver = \"https://sso.example\"\norg = \"o%[1]d\"\nservice = \"cli\"\nclient_id = \"c%[1]d\"\n", i)
	}
	return b.String()
}

func TestManyProfiles(t *testing.T) {
	d := startDevServer(t)
	s := newSandbox(t, "")
	s.writeConfig(t, manyProfilesConfig(d.URL, ""))
	token := s.login(t, d, 1, "alice@acme.example")
	d.stop() // a hit must not need the server

	const execInfo = `{"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1","spec":{"interactive":false}}`
	hits := []struct {
		name  string
		args  []string
		stdin string
		env   map[string]string
	}{
		{"token", []string{"token"}, "", nil},
		{"git get", []string{"git", "get"}, "protocol=https\nhost=git.acme.example\n\n", nil},
		{"docker get", []string{"docker", "get"}, "registry.acme.example", nil},
		// Served by profile hub (acme's identity, not the default profile).
		{"docker get, Docker Hub by another of its names", []string{"docker", "get"}, "https://index.docker.io/v1/", nil},
		{"terraform get", []string{"terraform", "get", "tf.acme.example"}, "", nil},
		{"kube", []string{"kube"}, "", map[string]string{"KUBERNETES_EXEC_INFO": execInfo}},
		{"token --profile", []string{"token", "--profile", "hub"}, "", nil},
		{"kube, AUTHOS_PROFILE", []string{"kube"}, "", map[string]string{"KUBERNETES_EXEC_INFO": execInfo, "AUTHOS_PROFILE": "hub"}},
		{"docker get, AUTHOS_PROFILE", []string{"docker", "get"}, "docker.io", map[string]string{"AUTHOS_PROFILE": "hub"}},
	}
	run := func(t *testing.T, extra string) {
		s.writeConfig(t, manyProfilesConfig(d.URL, extra))
		for _, h := range hits {
			stdout, stderr, code := runWithStdin(t, s, "", "authos-credential-helper", h.args, h.stdin, h.env)
			if code != 0 || !strings.Contains(stdout, token) {
				t.Errorf("%s: exit %d, stdout without the token, stderr %q", h.name, code, stderr)
			}
		}
	}
	t.Run("every protocol hits", func(t *testing.T) { run(t, "") })

	// The mistake sits in a profile no request above uses.
	const broken = "\n[profiles.broken]\nserver = \"https://sso.example\"\nsevrer = \"typo\"\n"
	wantLine := fmt.Sprintf("line %d: unknown key profiles.broken.sevrer", lineOf(manyProfilesConfig(d.URL, broken), "sevrer"))
	t.Run("a mistake in an unused profile passes a hit", func(t *testing.T) { run(t, broken) })
	config := filepath.Join(s.env["XDG_CONFIG_HOME"], "authos-credential-helper", "config.toml")
	for _, args := range [][]string{{"status"}, {"login"}, {"logout"}} {
		t.Run(strings.Join(args, " ")+" reports it", func(t *testing.T) {
			_, stderr, code := s.run(t, args...)
			want := "authos-credential-helper: config " + config + " " + wantLine + "\n"
			if code == 0 || stderr != want {
				t.Fatalf("exit %d, stderr %q; want %q", code, stderr, want)
			}
		})
	}

	// The same mistake in the profile a request uses fails that request.
	t.Run("a mistake in the profile used fails the hit", func(t *testing.T) {
		cfg := strings.Replace(manyProfilesConfig(d.URL, ""), "org = \"acme\"\n", "org = \"acme\"\nsevrer = \"typo\"\n", 1)
		s.writeConfig(t, cfg)
		_, stderr, code := runWithStdin(t, s, "", "authos-credential-helper", []string{"git", "get"}, "protocol=https\nhost=git.acme.example\n\n", nil)
		want := fmt.Sprintf("authos-credential-helper: config %s line %d: unknown key profiles.acme.sevrer\n", config, lineOf(cfg, "sevrer"))
		if stderr != want {
			t.Fatalf("exit %d, stderr %q; want %q", code, stderr, want)
		}
	})
}

// lineOf is the 1-based line of text where substr first appears.
func lineOf(text, substr string) int {
	return strings.Count(text[:strings.Index(text, substr)], "\n") + 1
}
