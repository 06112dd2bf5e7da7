package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// outcome is all a client sees of one run.
type outcome struct {
	stdout, stderr string
	code           int
}

// runBinary runs binary with the sandbox's environment plus extra, stdin
// as given, in a session of its own (no terminal, as under git or CI).
func runBinary(t *testing.T, s *sandbox, binary, stdin string, extra []string, args ...string) outcome {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, args...)
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGQUIT) }
	cmd.WaitDelay = 5 * time.Second
	cmd.Env = append(s.environ(), extra...)
	cmd.Stdin = strings.NewReader(stdin)
	var out, errOut strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errOut
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	code := 0
	if err := cmd.Run(); err != nil {
		ee, ok := err.(*exec.ExitError)
		if !ok {
			t.Fatalf("%s %q: %v\n%s", binary, args, err, errOut.String())
		}
		code = ee.ExitCode()
	}
	return outcome{out.String(), errOut.String(), code}
}

// TestFrontParity drives the front door and the full helper with the same
// requests in the same states: the front door's answer must be the full
// helper's, byte for byte, whether it answered itself or handed over. A
// copy of the front door with no full helper beside it shows which: the
// requests a hit or "not mine" answers must work there too (nothing handed
// over: no sign-in, no network, no lock), every other must be handed over.
func TestFrontParity(t *testing.T) {
	d := startDevServer(t)
	s := newSandbox(t, "")
	s.writeConfig(t, fmt.Sprintf(`default_profile = "main"

[profiles.main]
server = %[1]q
org = "acme"
service = "cli"
client_id = "acme-cli"
git = ["https://git.example/"]
docker = ["registry.example", "docker.io"]
terraform = ["tf.example"]

# The same identity (so the same cache entry), asked about every time.
[profiles.reval]
server = %[1]q
org = "acme"
service = "cli"
client_id = "acme-cli"
git = ["https://reval.example/"]
revalidate = "1ns"

# Never signed in.
[profiles.other]
server = %[1]q
org = "acme"
service = "cli"
client_id = "other-cli"
git = ["https://other.example/"]
terraform = ["tf-other.example"]

[cache]
allow_volatile_store = true
`, d.URL))
	token := s.login(t, d, 1, "alice@acme.example")
	// A miss fails at once: no run waits for a sign-in nobody approves.
	s.env["AUTHOS_NONINTERACTIVE"] = "1"
	// Static credentials for hosts no profile serves, as docker login and
	// terraform login store them.
	for _, st := range []struct {
		stdin string
		args  []string
	}{
		{`{"ServerURL":"stored.example","Username":"bob","Secret":"s3cret"}`, []string{"docker", "store"}},
		{`{"token":"tf-static"}`, []string{"terraform", "store", "tf-stored.example"}},
	} {
		if o := runBinary(t, s, fullBin, st.stdin, nil, st.args...); o.code != 0 {
			t.Fatalf("%q: %+v", st.args, o)
		}
	}

	alone := filepath.Join(t.TempDir(), "authos-credential-helper")
	copyFile(t, bin, alone)
	missing := "authos-credential-helper: " + filepath.Join(filepath.Dir(alone), fullName) + " is missing"

	git := func(host string) string { return "protocol=https\nhost=" + host + "\n\n" }
	v1 := `KUBERNETES_EXEC_INFO={"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1","spec":{"interactive":false}}`
	v1beta1 := `KUBERNETES_EXEC_INFO={"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1beta1","spec":{"interactive":false}}`
	type request struct {
		name    string
		args    []string
		stdin   string
		env     []string
		byFront bool // answered without the full helper
	}
	hits := []request{
		{"git hit", []string{"git", "get"}, git("git.example"), nil, true},
		{"git hit with a path", []string{"git", "get"}, "protocol=https\nhost=git.example\npath=org/repo.git\n\n", nil, true},
		{"git hit --profile", []string{"git", "--profile", "main", "get"}, git("git.example"), nil, true},
		{"git hit -profile=", []string{"git", "-profile=main", "get"}, git("git.example"), nil, true},
		{"git hit AUTHOS_PROFILE", []string{"git", "get"}, git("git.example"), []string{"AUTHOS_PROFILE=main"}, true},
		{"git not mine", []string{"git", "get"}, git("github.com"), nil, true},
		{"git not this profile", []string{"git", "--profile", "other", "get"}, git("git.example"), nil, true},
		{"git miss", []string{"git", "get"}, git("other.example"), nil, false},
		{"git due for revalidation", []string{"git", "get"}, git("reval.example"), nil, false},
		{"git bad input", []string{"git", "get"}, "host", nil, false},
		{"git erase", []string{"git", "erase"}, git("github.com"), nil, false},
		{"git unknown flag", []string{"git", "--org", "acme", "get"}, git("git.example"), nil, false},
		{"docker hit", []string{"docker", "get"}, "registry.example", nil, true},
		{"docker hub alias", []string{"docker", "get"}, "https://index.docker.io/v1/", nil, true},
		{"docker not mine", []string{"docker", "get"}, "quay.io", nil, true},
		{"docker stored", []string{"docker", "get"}, "stored.example", nil, true},
		{"docker list", []string{"docker", "list"}, "", nil, false},
		{"terraform hit", []string{"terraform", "get", "tf.example"}, "", nil, true},
		{"terraform not mine", []string{"terraform", "get", "registry.terraform.io"}, "", nil, true},
		{"terraform stored", []string{"terraform", "get", "tf-stored.example"}, "", nil, true},
		{"terraform miss", []string{"terraform", "get", "tf-other.example"}, "", nil, false},
		{"kube v1", []string{"kube"}, "", []string{v1}, true},
		{"kube v1beta1", []string{"kube"}, "", []string{v1beta1}, true},
		{"kube no exec info", []string{"kube"}, "", nil, true},
		{"kube bad exec info", []string{"kube"}, "", []string{"KUBERNETES_EXEC_INFO={"}, false},
		{"kube miss", []string{"kube", "--profile", "other"}, "", []string{v1}, false},
		{"token", []string{"token"}, "", nil, true},
		{"token --profile", []string{"token", "--profile", "main"}, "", nil, true},
		{"token miss", []string{"token", "--profile", "other"}, "", nil, false},
		{"token no such profile", []string{"token", "--profile", "nope"}, "", nil, false},
		{"token by flags", []string{"token", "--org", "acme"}, "", nil, false},
		{"version", []string{"version"}, "", nil, false},
		{"help after the verb", []string{"terraform", "get", "--help"}, "", nil, false},
		{"help as the profile", []string{"git", "--profile", "--help", "get"}, git("github.com"), nil, false},
		{"-h as the profile", []string{"kube", "--profile", "-h"}, "", []string{v1}, false},
	}
	check := func(t *testing.T, reqs []request) {
		for _, r := range reqs {
			t.Run(r.name, func(t *testing.T) {
				// Alone first: a request it must hand over then changes nothing.
				lone := runBinary(t, s, alone, r.stdin, r.env, r.args...)
				front := runBinary(t, s, bin, r.stdin, r.env, r.args...)
				full := runBinary(t, s, fullBin, r.stdin, r.env, r.args...)
				if front != full {
					t.Fatalf("front door and full helper differ:\nfront %+v\nfull  %+v", front, full)
				}
				if r.byFront && lone != full {
					t.Fatalf("the front door alone did not answer as the full helper:\nalone %+v\nfull  %+v", lone, full)
				}
				if !r.byFront && (lone.code != 1 || !strings.HasPrefix(lone.stderr, missing) || strings.Count(lone.stderr, "\n") != 1) {
					t.Fatalf("the front door alone did not hand over: %+v", lone)
				}
				if strings.Contains(lone.stderr, token) || strings.Contains(front.stderr, token) {
					t.Fatal("the token is on stderr")
				}
			})
		}
	}
	t.Run("signed in", func(t *testing.T) { check(t, hits) })

	// A CI job's token in the environment is served as given: a hit too.
	t.Run("AUTHOS_TOKEN", func(t *testing.T) {
		env := []string{"AUTHOS_TOKEN=" + token}
		check(t, []request{
			{"token", []string{"token"}, "", env, true},
			{"git", []string{"git", "get"}, git("git.example"), env, true},
			{"kube", []string{"kube"}, "", append(env, v1), true},
			{"malformed", []string{"token"}, "", []string{"AUTHOS_TOKEN=not-a-jwt"}, false},
		})
	})

	// Without the kernel keyring's key every entry needs the backend: the
	// full helper's.
	t.Run("key not at hand", func(t *testing.T) {
		forgetKernelKeys(s.env["XDG_CACHE_HOME"])
		check(t, []request{
			{"git", []string{"git", "get"}, git("git.example"), nil, false},
			{"git not mine", []string{"git", "get"}, git("github.com"), nil, true},
			{"docker stored", []string{"docker", "get"}, "stored.example", nil, false},
			{"token", []string{"token"}, "", nil, false},
		})
	})

	// A config file the front door cannot read: the full helper's error.
	t.Run("malformed config", func(t *testing.T) {
		s.writeConfig(t, "default_profile = \"main\"\n[profiles.main]\ngit = [\"https://git.example/\"\n")
		check(t, []request{
			{"token", []string{"token"}, "", nil, false},
			{"git", []string{"git", "get"}, git("git.example"), nil, false},
		})
	})
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o755); err != nil {
		t.Fatal(err)
	}
}
