package e2e

// Issue 11, items 2-4 with the real client binaries: a session revoked at
// AuthOS stops being served to kubectl (revalidation), Terraform with no
// terminal leaves a record `status` shows, and `docker logout` / `terraform
// logout` for a profile's host log out.

import (
	"path/filepath"
	"strings"
	"testing"
)

// configPath is the sandbox's config.toml.
func (s *binSandbox) configPath() string {
	return filepath.Join(s.env["XDG_CONFIG_HOME"], "authos-credential-helper", "config.toml")
}

// kubectl has no signal for a rejected token: client-go re-runs the exec
// plugin after a 401, which would serve the same token. Revalidation
// (`revalidate`, here a millisecond so every run is due) asks AuthOS,
// finds the session ended, drops the token and signs in again on
// kubectl's terminal; kubectl then succeeds with the new token.
func TestKubectlBinaryRevokedSessionSignsInAgain(t *testing.T) {
	t.Parallel()
	d := startDevServer(t)
	api := startFakeAPIServer(t, d.URL)
	s := newKubectlSandbox(t, d, api)
	replaceInFile(t, s.configPath(), `username = "oauth2"`, "username = \"oauth2\"\nrevalidate = \"1ms\"")
	tok := s.login(t, 1)
	assertKubectlWorks(t, s, api, tok) // checked each time: alive, served

	revokeAtServer(t, d, tok)
	c := s.clientOnPTY(t, nil, "kubectl", "--request-timeout=60s", "get", "namespaces")
	s.approveOnScreen(t, 2, "kubectl's terminal", c.screen.String)
	if code := c.wait(t); code != 0 || !strings.Contains(c.stdout.String(), "acme-prod") {
		t.Fatalf("kubectl after the revocation: exit %d\n%s", code, c.output())
	}
	if !strings.Contains(c.screen.String(), "has ended at the server") {
		t.Errorf("the terminal did not say why a sign-in was needed:\n%s", c.screen.String())
	}
	if tok2 := s.cachedToken(t); tok2 == "" || tok2 == tok {
		t.Fatal("no new token cached after the revocation")
	}
	s.assertDeviceCodes(t, 2, "a sign-in, a revocation, a sign-in")
}

// Terraform hides the helper's stderr, so with no terminal a miss shows
// only the registry's 401. The miss is recorded, and `status` says what
// was needed and the command to run, until the identity signs in.
func TestTerraformBinaryMissWithNoTerminalIsRecorded(t *testing.T) {
	t.Parallel()
	d := startDevServer(t)
	m := startFakeModuleRegistry(t, d.URL)
	s := newTerraformSandbox(t, d, m)
	c := s.terraform(t, nil, false, tfInitArgs...)
	if code := c.wait(t); code == 0 {
		t.Fatalf("terraform init with no token and no terminal succeeded\n%s", c.output())
	}
	s.assertDeviceCodes(t, 0, "a miss with nobody to prompt")
	out, errOut, code := s.run(t, "status")
	want := "sign-in needed: terraform asked for " + tfHostName + " at "
	if code != 0 || !strings.Contains(out, want) || !strings.Contains(out, "run: authos-credential-helper login --profile acme") {
		t.Fatalf("status: exit %d, want %q\n%s%s", code, want, out, errOut)
	}
	s.login(t, 1)
	if out, _, _ := s.run(t, "status"); strings.Contains(out, "sign-in needed") {
		t.Fatalf("status after login still asks for a sign-in:\n%s", out)
	}
	c = s.terraform(t, nil, false, tfInitArgs...)
	s.assertModuleInstalled(t, c, c.wait(t))
}

// `docker logout REGISTRY` for a registry the profile serves drops the
// identity's cached token and says so on docker's stderr.
func TestDockerBinaryLogoutDropsTheToken(t *testing.T) {
	t.Parallel()
	d := startDevServer(t)
	reg := startFakeRegistry(t, d.URL, false, false)
	s := newDockerSandbox(t, d, reg)
	s.login(t, 1)
	c, code := s.runClient(t, nil, "docker", "logout", reg.host)
	if code != 0 || !strings.Contains(c.stderr.String(), "docker logout: dropped the cached token for acme/cli") ||
		!strings.Contains(c.stderr.String(), "signs in again") {
		t.Fatalf("docker logout: exit %d\n%s", code, c.output())
	}
	if s.cachedToken(t) != "" {
		t.Fatal("the token is still cached after docker logout")
	}
	if n := strings.Count(c.stderr.String(), "authos:"); n != 1 {
		t.Errorf("%d lines from the helper for one logout, want 1:\n%s", n, c.stderr.String())
	}
}

// `terraform logout HOST` for a host the profile serves drops the
// identity's cached token; Terraform hides the helper's stderr, so the
// line is on the terminal.
func TestTerraformBinaryLogoutDropsTheToken(t *testing.T) {
	t.Parallel()
	d := startDevServer(t)
	m := startFakeModuleRegistry(t, d.URL)
	s := newTerraformSandbox(t, d, m)
	s.login(t, 1)
	c := s.terraform(t, nil, true, "logout", tfHostName)
	if code := c.wait(t); code != 0 {
		t.Fatalf("terraform logout: exit %d\n%s", code, c.output())
	}
	if !strings.Contains(c.screen.String(), "terraform logout: dropped the cached token for acme/cli") {
		t.Errorf("the terminal does not say what the logout did:\n%s", c.output())
	}
	if s.cachedToken(t) != "" {
		t.Fatalf("the token is still cached after terraform logout\n%s", c.output())
	}
}
