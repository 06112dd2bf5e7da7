package e2e

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os/exec"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// Resource URIs the dev server registers for acme/cli.
const (
	gitResource      = "https://git.acme.example"
	registryResource = "https://registry.acme.example"
)

// resourceConfig: "git" and "reg" bind a git host and a registry with
// tokens for their own resource; "mgmt" binds a Terraform host with the
// management token.
func resourceConfig(server string) string {
	return fmt.Sprintf(`[profiles.git]
server = %[1]q
org = "acme"
service = "cli"
client_id = "acme-cli"
resource = %[2]q
git = ["https://git.acme.example/"]

[profiles.reg]
server = %[1]q
org = "acme"
service = "cli"
client_id = "acme-cli"
resource = %[3]q
docker = ["registry.acme.example"]

[profiles.mgmt]
server = %[1]q
org = "acme"
service = "cli"
client_id = "acme-cli"
terraform = ["tf.acme.example"]
`, server, gitResource, registryResource)
}

// runWith runs the helper with stdin and extra environment.
func (s *sandbox) runWith(t *testing.T, stdin string, env []string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = append(s.environ(), env...)
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return out.String(), errb.String(), code
}

// loginAs runs `login --profile p`, approves the n-th code and returns the
// token `token --profile p` then serves.
func loginAs(t *testing.T, s *sandbox, d *devServer, n int, profile string) string {
	t.Helper()
	p := s.start(t, "login", "--profile", profile)
	c := d.waitPendingCode(t, n)
	d.control(t, "approve", c.UserCode, "alice@acme.example")
	if code := p.wait(t); code != 0 {
		t.Fatalf("login --profile %s exited %d: %s", profile, code, p.stderr.String())
	}
	out, errOut, code := s.run(t, "token", "--profile", profile)
	if code != 0 {
		t.Fatalf("token --profile %s: %d %s", profile, code, errOut)
	}
	return strings.TrimSpace(out)
}

// joseHeader decodes a JWT's header.
func joseHeader(t *testing.T, jwt string) map[string]any {
	t.Helper()
	head, _, _ := strings.Cut(jwt, ".")
	raw, err := base64.RawURLEncoding.DecodeString(head)
	if err != nil {
		t.Fatal(err)
	}
	var h map[string]any
	json.Unmarshal(raw, &h)
	return h
}

// noPrompt: a miss fails at once (as in CI) instead of showing a code.
var noPrompt = []string{"AUTHOS_NONINTERACTIVE=1"}

func gitGet(t *testing.T, s *sandbox, host string) (password, stderr string, code int) {
	t.Helper()
	out, errOut, code := s.runWith(t, "protocol=https\nhost="+host+"\n\n", noPrompt, "git", "get")
	for _, l := range strings.Split(out, "\n") {
		if v, ok := strings.CutPrefix(l, "password="); ok {
			password = v
		}
	}
	return password, errOut, code
}

func dockerGet(t *testing.T, s *sandbox, registry string) (secret, stderr string, code int) {
	t.Helper()
	out, errOut, code := s.runWith(t, registry, noPrompt, "docker", "get")
	var c struct{ Secret string }
	json.Unmarshal([]byte(out), &c)
	return c.Secret, errOut, code
}

func terraformGet(t *testing.T, s *sandbox, host string) (token, stderr string, code int) {
	t.Helper()
	out, errOut, code := s.runWith(t, "", noPrompt, "terraform", "get", host)
	var c struct{ Token string }
	json.Unmarshal([]byte(out), &c)
	return c.Token, errOut, code
}

// TestResourceTokensReachOnlyTheirOwnClients: each profile's client gets a
// token bound to its own resource (at+jwt, aud = the URI), a profile
// without one gets the management token, and no token crosses over, even
// while another profile's token is cached.
func TestResourceTokensReachOnlyTheirOwnClients(t *testing.T) {
	t.Parallel()
	d := startDevServer(t)
	s := newSandbox(t, "")
	s.writeConfig(t, resourceConfig(d.URL))

	gitTok := loginAs(t, s, d, 1, "git")
	if h, c := joseHeader(t, gitTok), claims(t, gitTok); h["typ"] != "at+jwt" || c["aud"] != gitResource || c["token_use"] != "external_resource_access" {
		t.Fatalf("git profile's token: header %v, aud %v, token_use %v", h["typ"], c["aud"], c["token_use"])
	}
	if _, err := verifyJWT(d.URL, gitTok); err != nil {
		t.Fatalf("the resource token does not verify against the server's JWKS: %v", err)
	}
	if got := d.userStatus(t, gitTok); got != 401 {
		t.Fatalf("AuthOS's own API answered %d to the resource token, want 401", got)
	}

	// Only the git token is cached: the registry and the Terraform host
	// get nothing (no one to sign in), certainly not the git token.
	if sec, errOut, code := dockerGet(t, s, "registry.acme.example"); code == 0 || sec != "" {
		t.Fatalf("docker get before the reg profile signed in: exit %d, secret served (%v), stderr %q", code, sec == gitTok, errOut)
	}
	if tok, errOut, code := terraformGet(t, s, "tf.acme.example"); code == 0 || tok != "" {
		t.Fatalf("terraform get before the mgmt profile signed in: exit %d, token served (%v), stderr %q", code, tok == gitTok, errOut)
	}

	regTok := loginAs(t, s, d, 2, "reg")
	mgmtTok := loginAs(t, s, d, 3, "mgmt")
	if c := claims(t, regTok); c["aud"] != registryResource {
		t.Fatalf("reg profile's token aud %v", c["aud"])
	}
	if h, c := joseHeader(t, mgmtTok), claims(t, mgmtTok); h["typ"] != "authos-management+jwt" || c["aud"] != "service:acme/cli" {
		t.Fatalf("mgmt profile's token: typ %v, aud %v", h["typ"], c["aud"])
	}

	if pw, errOut, code := gitGet(t, s, "git.acme.example"); code != 0 || pw != gitTok {
		t.Fatalf("git get: exit %d, got the git token %v (registry's %v, management %v), stderr %q", code, pw == gitTok, pw == regTok, pw == mgmtTok, errOut)
	}
	if sec, errOut, code := dockerGet(t, s, "registry.acme.example"); code != 0 || sec != regTok {
		t.Fatalf("docker get: exit %d, got the registry token %v (git's %v, management %v), stderr %q", code, sec == regTok, sec == gitTok, sec == mgmtTok, errOut)
	}
	if tok, errOut, code := terraformGet(t, s, "tf.acme.example"); code != 0 || tok != mgmtTok {
		t.Fatalf("terraform get: exit %d, got the management token %v (git's %v, registry's %v), stderr %q", code, tok == mgmtTok, tok == gitTok, tok == regTok, errOut)
	}
	if n := d.codes(t).DeviceCodeRequests; n != 3 {
		t.Fatalf("%d device codes, want one sign-in per resource (3)", n)
	}
}

// TestUnregisteredResource: the server's invalid_target answer names the
// resource, org/service and server, and what to ask for.
func TestUnregisteredResource(t *testing.T) {
	t.Parallel()
	d := startDevServer(t)
	s := newSandbox(t, "")
	s.writeConfig(t, fmt.Sprintf("[profiles.x]\nserver = %q\norg = \"acme\"\nservice = \"cli\"\nclient_id = \"acme-cli\"\nresource = \"https://wiki.acme.example\"\n", d.URL))
	p := s.start(t, "login", "--profile", "x")
	c := d.waitPendingCode(t, 1)
	d.control(t, "approve", c.UserCode, "alice@acme.example")
	if code := p.wait(t); code == 0 {
		t.Fatal("login succeeded for an unregistered resource")
	}
	want := "resource https://wiki.acme.example is not registered for acme/cli at " + d.URL + "; ask your AuthOS administrator to add it to the service's resource URIs"
	if !strings.Contains(p.stderr.String(), want) {
		t.Fatalf("stderr %q\nwant it to say %q", p.stderr.String(), want)
	}
	assertOneLineError(t, lastLine(p.stderr.String()))
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return lines[len(lines)-1] + "\n"
}

// TestKeyRotation: status verifies cached tokens locally; a rotation keeps
// them verified (the previous key is still published), dropping the
// previous keys makes them "signature unknown after key rotation", evicted,
// and the next call signs in again.
func TestKeyRotation(t *testing.T) {
	t.Parallel()
	d := startDevServer(t, "--jwks-max-age", "1s")
	s := newSandbox(t, "")
	s.writeConfig(t, resourceConfig(d.URL))
	loginAs(t, s, d, 1, "git")
	loginAs(t, s, d, 2, "mgmt")

	status := func() string {
		out, errOut, code := s.run(t, "status")
		if code != 0 {
			t.Fatalf("status: %d %s", code, errOut)
		}
		return out
	}
	checkLine := func(out, profile string) string {
		for _, l := range strings.Split(out, "\n") {
			if f := strings.Fields(l); len(f) > 2 && f[0] == profile && strings.Contains(l, "token)") {
				return l
			}
		}
		t.Fatalf("status has no check line for %s:\n%s", profile, out)
		return ""
	}
	out := status()
	for _, p := range []string{"git", "mgmt"} {
		if l := checkLine(out, p); !strings.HasSuffix(strings.TrimSpace(l), "verified") {
			t.Fatalf("before rotation, %s: %q", p, l)
		}
	}
	if l := checkLine(out, "git"); !strings.Contains(l, gitResource+" (resource token)") {
		t.Fatalf("git's check line does not name its resource: %q", l)
	}
	// doctor reports the same local check.
	if out, _, _ := s.run(t, "doctor", "--profile", "git"); !strings.Contains(out, "verified locally against the server's keys: verified") {
		t.Fatalf("doctor does not report the local verification:\n%s", out)
	}

	d.post(t, "/_dev/keys", map[string]string{"action": "rotate"})
	var after string
	waitFor(t, "status after the rotation (JWKS max-age 1s)", 10*time.Second, func() bool {
		after = status()
		return strings.HasSuffix(strings.TrimSpace(checkLine(after, "git")), "verified")
	})

	d.post(t, "/_dev/keys", map[string]string{"action": "drop-previous"})
	waitFor(t, "status to see the previous keys gone", 10*time.Second, func() bool {
		after = status()
		return strings.Contains(checkLine(after, "git"), "signature unknown after key rotation")
	})
	for _, p := range []string{"git", "mgmt"} {
		if l := checkLine(after, p); !strings.Contains(l, "signature unknown after key rotation") || !strings.Contains(l, "the next use signs in again") {
			t.Fatalf("after the previous keys were dropped, %s: %q", p, l)
		}
	}
	// Evicted: the next call signs in again instead of serving a dead token.
	if _, errOut, code := gitGet(t, s, "git.acme.example"); code == 0 || !strings.Contains(errOut, "no valid AuthOS token") {
		t.Fatalf("git get after eviction: exit %d, stderr %q", code, errOut)
	}
	tok := loginAs(t, s, d, 3, "git")
	if l := checkLine(status(), "git"); !strings.HasSuffix(strings.TrimSpace(l), "verified") {
		t.Fatalf("after signing in again: %q", l)
	}
	if joseHeader(t, tok)["kid"] == nil {
		t.Fatal("no kid")
	}
}

// TestMetadataDocument: a server whose document says device authorization
// is unsupported gets a clear error before any code is requested; a server
// without a document is signed in to through the fixed paths.
func TestMetadataDocument(t *testing.T) {
	t.Parallel()
	t.Run("unsupported", func(t *testing.T) {
		t.Parallel()
		d := startDevServer(t, "--device-authorization-status", "unsupported")
		s := newSandbox(t, d.URL)
		_, errOut, code := s.run(t, "login")
		if code == 0 || !strings.Contains(errOut, "does not offer device authorization (its metadata document says status unsupported)") {
			t.Fatalf("login: exit %d, stderr %q", code, errOut)
		}
		assertOneLineError(t, errOut)
		if r := d.codes(t); r.DeviceCodeRequests != 0 || r.TokenRequests != 0 {
			t.Fatalf("%d device codes and %d token requests, want none", r.DeviceCodeRequests, r.TokenRequests)
		}
	})
	t.Run("no document", func(t *testing.T) {
		t.Parallel()
		d := startDevServer(t, "--no-metadata")
		s := newSandbox(t, "")
		s.writeConfig(t, resourceConfig(d.URL))
		tok := loginAs(t, s, d, 1, "git")
		if c := claims(t, tok); c["aud"] != gitResource {
			t.Fatalf("aud %v", c["aud"])
		}
	})
}

// TestMetadataEndpoints: the device flow goes where the metadata document
// says. A proxy in front of the dev server moves both device routes under
// /alt/ in its document and refuses the fixed paths; login still works.
func TestMetadataEndpoints(t *testing.T) {
	t.Parallel()
	d := startDevServer(t)
	target, _ := url.Parse(d.URL)
	var alt, fixed atomic.Int32
	var proxyURL string
	rp := httputil.NewSingleHostReverseProxy(target)
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/.well-known/authos-configuration":
			resp, err := http.Get(d.URL + r.URL.Path)
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadGateway)
				return
			}
			var doc map[string]any
			json.NewDecoder(resp.Body).Decode(&doc)
			resp.Body.Close()
			dev := doc["oauth_device_authorization"].(map[string]any)
			dev["device_authorization_endpoint"] = proxyURL + "/alt/device/code"
			dev["token_endpoint"] = proxyURL + "/alt/token"
			doc["issuer"] = proxyURL
			w.Header().Set("Content-Type", "application/json")
			json.NewEncoder(w).Encode(doc)
			return
		case "/auth/device/code", "/auth/token":
			fixed.Add(1)
			http.NotFound(w, r)
			return
		case "/alt/device/code", "/alt/token":
			alt.Add(1)
			r.URL.Path = "/auth/" + strings.TrimPrefix(r.URL.Path, "/alt/")
		}
		rp.ServeHTTP(w, r)
	}))
	defer proxy.Close()
	proxyURL = proxy.URL
	s := newSandbox(t, "")
	s.writeConfig(t, resourceConfig(proxy.URL))
	tok := loginAs(t, s, d, 1, "git")
	if c := claims(t, tok); c["aud"] != gitResource {
		t.Fatalf("aud %v", c["aud"])
	}
	if alt.Load() < 2 || fixed.Load() != 0 {
		t.Fatalf("%d requests to the document's endpoints, %d to the fixed paths", alt.Load(), fixed.Load())
	}
}
