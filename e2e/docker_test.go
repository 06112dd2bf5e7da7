package e2e

// The docker credential helper protocol, driven through the reference client
// library (github.com/docker/docker-credential-helpers/client), the code the
// docker CLI itself uses to run `docker-credential-<name>`.

import (
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/docker/docker-credential-helpers/client"
	"github.com/docker/docker-credential-helpers/credentials"
)

// protoConfig is config.toml with one profile "acme" on the dev server that
// serves the given docker registries and Terraform hosts. Sandboxes use the
// kernel keyring (auto's choice here), where `store` is refused unless
// allow_volatile_store says otherwise (e2e/store_test.go tests the refusal).
func protoConfig(server string, docker, terraform []string) string {
	list := func(xs []string) string {
		q := make([]string, len(xs))
		for i, x := range xs {
			q[i] = fmt.Sprintf("%q", x)
		}
		return "[" + strings.Join(q, ", ") + "]"
	}
	return fmt.Sprintf(`[profiles.acme]
server = %q
org = "acme"
service = "cli"
client_id = "acme-cli"
git = ["https://git.acme.example/"]
docker = %s
terraform = %s
username = "oauth2"

[cache]
allow_volatile_store = true
`, server, list(docker), list(terraform))
}

// helperLinks makes a directory of symlinks to the binary under the given
// client-facing names (docker-credential-authos, ...) and returns it.
func helperLinks(t *testing.T, names ...string) string {
	t.Helper()
	return linksTo(t, bin, names...)
}

// lookPathIn is exec.LookPath over a PATH value other than our own.
func lookPathIn(t *testing.T, pathList, name string) string {
	t.Helper()
	for _, dir := range filepath.SplitList(pathList) {
		p := filepath.Join(dir, name)
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0 {
			return p
		}
	}
	t.Fatalf("%s not found on PATH %s", name, pathList)
	return ""
}

// dockerProgram is a client.Program: one helper process.
type dockerProgram struct{ cmd *exec.Cmd }

func (p *dockerProgram) Output() ([]byte, error) { return p.cmd.Output() }
func (p *dockerProgram) Input(in io.Reader)      { p.cmd.Stdin = in }

// dockerProgramFunc is client.NewShellProgramFunc("docker-credential-authos")
// with the sandbox's environment instead of ours: the program is looked up
// on the sandbox PATH, runs in a session of its own (no controlling
// terminal, as under an IDE or CI) and its stderr, which docker passes
// through to the person, goes to stderr. (The library's own
// NewShellProgramFuncWithEnv rebuilds cmd.Env from os.Environ() for every
// variable, keeping only the last one, so it cannot isolate a sandbox.)
func dockerProgramFunc(t *testing.T, s *sandbox, stderr io.Writer) client.ProgramFunc {
	t.Helper()
	path := lookPathIn(t, s.env["PATH"], "docker-credential-authos")
	ctx, cancel := context.WithTimeout(context.Background(), 45*time.Second)
	t.Cleanup(cancel)
	return func(args ...string) client.Program {
		cmd := exec.CommandContext(ctx, path, args...)
		cmd.Args[0] = "docker-credential-authos"
		cmd.Env = s.environ()
		cmd.Stderr = stderr
		cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
		return &dockerProgram{cmd: cmd}
	}
}

// dockerSandbox is a sandbox whose only identity is the profile "acme",
// bound to registry, with docker-credential-authos on its PATH. No AUTHOS_*
// variables: the registry alone must choose the profile.
func dockerSandbox(t *testing.T, d *devServer, registry string) *sandbox {
	t.Helper()
	s := newSandbox(t, "")
	s.writeConfig(t, protoConfig(d.URL, []string{registry}, []string{"tf.acme.example"}))
	s.env["PATH"] = helperLinks(t, "docker-credential-authos") + string(os.PathListSeparator) + s.env["PATH"]
	return s
}

type dockerGetResult struct {
	creds *credentials.Credentials
	err   error
}

func TestDockerGetBoundRegistrySignsInOnce(t *testing.T) {
	t.Parallel()
	d := startDevServer(t)
	const registry = "127.0.0.1:5999"
	s := dockerSandbox(t, d, registry)
	var stderr syncBuffer
	prog := dockerProgramFunc(t, s, &stderr)

	done := make(chan dockerGetResult, 1)
	go func() {
		c, err := client.Get(prog, registry)
		done <- dockerGetResult{c, err}
	}()
	code := d.waitPendingCode(t, 1)
	// docker passes the helper's stderr through: the prompt must be there.
	waitFor(t, "the prompt on the helper's stderr", 10*time.Second, func() bool { return strings.Contains(stderr.String(), code.UserCode) })
	d.control(t, "approve", code.UserCode, "alice@acme.example")
	var r dockerGetResult
	select {
	case r = <-done:
	case <-time.After(45 * time.Second):
		t.Fatalf("docker get did not return; stderr: %s", stderr.String())
	}
	if r.err != nil {
		t.Fatalf("docker get: %v; stderr: %s", r.err, stderr.String())
	}
	if r.creds.ServerURL != registry || r.creds.Username != "oauth2" {
		t.Fatalf("docker get: ServerURL %q Username %q, want %s and oauth2", r.creds.ServerURL, r.creds.Username, registry)
	}
	tok := r.creds.Secret
	c, err := verifyJWT(d.URL, tok)
	if err != nil {
		t.Fatalf("Secret is not a valid AuthOS JWT: %v", err)
	}
	if c.Email != "alice@acme.example" {
		t.Fatalf("token for %q, want alice@acme.example", c.Email)
	}
	if strings.Contains(stderr.String(), tok) {
		t.Fatal("the token was printed on stderr")
	}

	before := d.codes(t)
	r2, err := client.Get(prog, registry)
	if err != nil {
		t.Fatalf("second docker get: %v", err)
	}
	if r2.Secret != tok || r2.Username != "oauth2" {
		t.Fatal("second docker get returned a different token")
	}
	if after := d.codes(t); after.DeviceCodeRequests != 1 || after.TokenRequests != before.TokenRequests {
		t.Fatalf("second get contacted the server: %+v -> %+v", before, after)
	}

	// `docker login` hands our own token back with store: nothing is kept,
	// and list (which shows stored credentials only) stays empty.
	if err := client.Store(prog, &credentials.Credentials{ServerURL: registry, Username: "oauth2", Secret: tok}); err != nil {
		t.Fatalf("store for the bound registry: %v", err)
	}
	list, err := client.List(prog)
	if err != nil {
		t.Fatalf("list: %v", err)
	}
	if len(list) != 0 {
		t.Fatalf("list after storing the bound registry's token = %v, want {}", list)
	}
}

func TestDockerUnboundRegistryIsNotFound(t *testing.T) {
	t.Parallel()
	d := startDevServer(t)
	s := dockerSandbox(t, d, "127.0.0.1:5999")
	// With a token cached for the profile, which is also the default and
	// named in the environment, a registry nobody bound must still not get it.
	s.writeConfig(t, "default_profile = \"acme\"\n"+protoConfig(d.URL, []string{"127.0.0.1:5999"}, []string{"tf.acme.example"}))
	s.env["AUTHOS_PROFILE"] = "acme"
	tok := s.login(t, d, 1, "alice@acme.example")
	var stderr syncBuffer
	prog := dockerProgramFunc(t, s, &stderr)
	for _, server := range []string{"https://index.docker.io/v1/", "registry.example.com", "127.0.0.1:5998", "127.0.0.1"} {
		start := time.Now()
		c, err := client.Get(prog, server)
		if !credentials.IsErrCredentialsNotFound(err) {
			t.Fatalf("get %s: credentials %t, error %v; want the not-found error", server, c != nil, err)
		}
		if el := time.Since(start); el > 5*time.Second {
			t.Errorf("not-found answer for %s took %v", server, el)
		}
	}
	if out := stderr.String(); out != "" {
		t.Errorf("not-found answers wrote on stderr (docker shows it on every pull): %q", out)
	}
	if strings.Contains(stderr.String(), tok) {
		t.Fatal("token on stderr")
	}
	if n := d.codes(t).DeviceCodeRequests; n != 1 {
		t.Fatalf("%d device flows; unbound registries must not start one", n)
	}
}

func TestDockerStoreGetListErase(t *testing.T) {
	t.Parallel()
	d := startDevServer(t)
	s := dockerSandbox(t, d, "127.0.0.1:5999")
	var stderr syncBuffer
	prog := dockerProgramFunc(t, s, &stderr)
	const server, user, secret = "other.example:5000", "u", "s3cr3t-MARKER"

	entries := func() []string {
		names, _ := filepath.Glob(filepath.Join(s.tokensDir(), "*"))
		return names
	}
	if err := client.Store(prog, &credentials.Credentials{ServerURL: server, Username: user, Secret: secret}); err != nil {
		t.Fatalf("store: %v; stderr: %s", err, stderr.String())
	}
	if len(entries()) == 0 {
		t.Fatal("store kept nothing in the cache folder")
	}
	c, err := client.Get(prog, server)
	if err != nil {
		t.Fatalf("get after store: %v; stderr: %s", err, stderr.String())
	}
	if c.ServerURL != server || c.Username != user || c.Secret != secret {
		t.Fatalf("get after store = %+v", *c)
	}
	list, err := client.List(prog)
	if err != nil {
		t.Fatalf("list: %v", err)
	}
	if list[server] != user || len(list) != 1 {
		t.Fatalf("list = %v, want {%q: %q}", list, server, user)
	}

	// Stored credentials are sealed: not the secret, nor its usual
	// encodings, in any file under the sandbox.
	forms := map[string]string{
		"secret":            secret,
		"base64(secret)":    base64.StdEncoding.EncodeToString([]byte(secret)),
		"base64(u:secret)":  base64.StdEncoding.EncodeToString([]byte(user + ":" + secret)),
		"base64url(secret)": base64.RawURLEncoding.EncodeToString([]byte(secret)),
	}
	assertNotOnDisk(t, forms, s.root)

	if err := client.Erase(prog, server); err != nil {
		t.Fatalf("erase: %v", err)
	}
	if c, err := client.Get(prog, server); !credentials.IsErrCredentialsNotFound(err) {
		t.Fatalf("get after erase = %+v, %v; want not found", c, err)
	}
	if list, err := client.List(prog); err != nil || len(list) != 0 {
		t.Fatalf("list after erase = %v, %v; want {}", list, err)
	}
	for _, e := range entries() {
		if !strings.HasPrefix(filepath.Base(e), ".") {
			t.Errorf("entry left after erase: %s", e)
		}
	}
	// Erasing what is not there is not an error (docker logout tries up to
	// four spellings of a registry).
	if err := client.Erase(prog, "never-stored.example"); err != nil {
		t.Fatalf("erase of an unknown registry: %v", err)
	}
	if n := d.codes(t).DeviceCodeRequests; n != 0 {
		t.Fatalf("%d device flows for stored credentials", n)
	}
}

func TestDockerVersion(t *testing.T) {
	t.Parallel()
	s := newSandbox(t, "")
	s.env["PATH"] = helperLinks(t, "docker-credential-authos") + string(os.PathListSeparator) + s.env["PATH"]
	path := lookPathIn(t, s.env["PATH"], "docker-credential-authos")
	for _, arg := range []string{"version", "--version", "-v"} {
		cmd := exec.Command(path, arg)
		cmd.Env = s.environ()
		var stderr strings.Builder
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		line := strings.TrimSuffix(string(out), "\n")
		if err != nil || line == "" || strings.Contains(line, "\n") || !strings.Contains(line, "docker-credential-authos") {
			t.Fatalf("%s: %v, stdout %q, stderr %q; want one line naming docker-credential-authos", arg, err, out, stderr.String())
		}
	}
}
