package e2e

// The Terraform/OpenTofu credentials helper protocol, driven through
// Terraform's own client code (terraform-svchost's
// HelperProgramCredentialsSource), which runs the helper with the current
// process environment: these tests set it, so none of them is parallel.

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	svchost "github.com/hashicorp/terraform-svchost"
	"github.com/hashicorp/terraform-svchost/auth"
	"github.com/zclconf/go-cty/cty"
)

// tfSetup is a sandbox with profile "acme" bound to tf.acme.example, the
// process environment set to it, and the helper under Terraform's plugin
// names (plain and versioned).
func tfSetup(t *testing.T, d *devServer) (s *sandbox, links []string) {
	t.Helper()
	s = newSandbox(t, "")
	s.writeConfig(t, protoConfig(d.URL, []string{"127.0.0.1:5999"}, []string{"tf.acme.example"}))
	dir := helperLinks(t, "terraform-credentials-authos", "terraform-credentials-authos_v1.2.3")
	setProcessEnv(t, s, nil)
	return s, []string{filepath.Join(dir, "terraform-credentials-authos"), filepath.Join(dir, "terraform-credentials-authos_v1.2.3")}
}

// tfHost is a host name in the comparison form Terraform sends.
func tfHost(t *testing.T, given string) svchost.Hostname {
	t.Helper()
	h, err := svchost.ForComparison(given)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// tfNoTerminalSource runs the helper as Terraform does, but without a
// controlling terminal even when the tests themselves run in one (setsid),
// as in CI; argv[0] stays the plugin name.
func tfNoTerminalSource(t *testing.T, link string) auth.CredentialsSource {
	t.Helper()
	if f, err := os.OpenFile("/dev/tty", os.O_RDWR, 0); err == nil {
		f.Close()
		setsid := lookPathIn(t, "/usr/bin:/bin", "setsid")
		return auth.HelperProgramCredentialsSource(setsid, "--wait", link)
	}
	return auth.HelperProgramCredentialsSource(link)
}

func TestTerraformMissWithoutTerminalFailsFast(t *testing.T) {
	d := startDevServer(t)
	s, links := tfSetup(t, d)
	before := snapshot(t, s.root)
	for _, link := range links {
		start := time.Now()
		creds, err := tfNoTerminalSource(t, link).ForHost(tfHost(t, "tf.acme.example"))
		if el := time.Since(start); el > 10*time.Second {
			t.Errorf("%s: a miss with no terminal took %v", filepath.Base(link), el)
		}
		if err == nil {
			t.Fatalf("%s: ForHost: credentials %t, no error; want an error", filepath.Base(link), creds != nil)
		}
		msg := err.Error()
		if !strings.Contains(msg, "authos-credential-helper login --profile acme") {
			t.Fatalf("%s: error lacks the login hint: %q", filepath.Base(link), msg)
		}
		// Terraform quotes the helper's stderr: one line is all it should be.
		if _, stderr, ok := strings.Cut(msg, ": "); !ok || strings.Count(strings.TrimSpace(stderr), "\n") != 0 {
			t.Fatalf("%s: stderr is not one line: %q", filepath.Base(link), msg)
		}
	}
	if n := d.codes(t).DeviceCodeRequests; n != 0 {
		t.Fatalf("%d device-code requests; with nobody to show the code there must be none", n)
	}
	// Only the record of the sign-in needed, which status shows.
	misses := filepath.Join(s.env["XDG_STATE_HOME"], "authos-credential-helper", "misses.json")
	if b, err := os.ReadFile(misses); err != nil || !strings.Contains(string(b), `"client":"terraform","host":"tf.acme.example"`) {
		t.Fatalf("the miss was not recorded: %s %v", b, err)
	}
	os.Remove(misses)
	if after := snapshot(t, s.root); after != before {
		t.Fatalf("a failed get changed the sandbox:\n%s\n---\n%s", before, after)
	}
}

// tfCredsWithExtra is what a future `terraform login` might store: a token
// and a property this helper does not know.
type tfCredsWithExtra struct{ token, extra string }

func (c tfCredsWithExtra) PrepareRequest(req *http.Request) {
	req.Header.Set("Authorization", "Bearer "+c.token)
}
func (c tfCredsWithExtra) Token() string { return c.token }
func (c tfCredsWithExtra) ToStore() cty.Value {
	return cty.ObjectVal(map[string]cty.Value{"token": cty.StringVal(c.token), "refresh_hint": cty.StringVal(c.extra)})
}

func TestTerraformHelperProgram(t *testing.T) {
	d := startDevServer(t)
	s, links := tfSetup(t, d)
	// acme is the default profile and named in the environment: neither may
	// make it answer for a host it does not list.
	s.writeConfig(t, "default_profile = \"acme\"\n"+protoConfig(d.URL, []string{"127.0.0.1:5999"}, []string{"tf.acme.example"}))
	s.env["AUTHOS_PROFILE"] = "acme"
	t.Setenv("AUTHOS_PROFILE", "acme")
	tok := s.login(t, d, 1, "alice@acme.example")
	before := d.codes(t)

	for _, link := range links {
		src := auth.HelperProgramCredentialsSource(link)
		name := filepath.Base(link)

		// (a) the bound host: the cached token, as a bearer token.
		for _, given := range []string{"tf.acme.example", "TF.Acme.Example", "tf.acme.example:443"} {
			creds, err := src.ForHost(tfHost(t, given))
			if err != nil {
				t.Fatalf("%s: ForHost(%s): %v", name, given, err)
			}
			if creds == nil || creds.Token() != tok {
				t.Fatalf("%s: ForHost(%s) did not return the cached token", name, given)
			}
			req, _ := http.NewRequest(http.MethodGet, "https://tf.acme.example/v1/modules/", nil)
			creds.PrepareRequest(req)
			if req.Header.Get("Authorization") != "Bearer "+tok {
				t.Fatalf("%s: request header %q", name, req.Header.Get("Authorization"))
			}
		}

		// (b) a host nobody bound: no credentials, no error, quickly.
		for _, given := range []string{"registry.terraform.io", "app.terraform.io", "tf.acme.example:8443", "acme.example"} {
			start := time.Now()
			creds, err := src.ForHost(tfHost(t, given))
			if err != nil || creds != nil {
				t.Fatalf("%s: ForHost(%s): credentials %t, error %v; want none and no error", name, given, creds != nil, err)
			}
			if el := time.Since(start); el > 3*time.Second {
				t.Errorf("%s: {} for %s took %v", name, given, el)
			}
		}

		// (c) store, get, forget for another host.
		other := tfHost(t, "other.example.com")
		secret := "tf-MARKER-" + name
		if err := src.StoreForHost(other, auth.HostCredentialsToken(secret)); err != nil {
			t.Fatalf("%s: StoreForHost: %v", name, err)
		}
		creds, err := src.ForHost(other)
		if err != nil || creds == nil || creds.Token() != secret {
			t.Fatalf("%s: ForHost after store: credentials %t, error %v; want the stored token", name, creds != nil, err)
		}
		if err := src.ForgetForHost(other); err != nil {
			t.Fatalf("%s: ForgetForHost: %v", name, err)
		}
		if creds, err := src.ForHost(other); err != nil || creds != nil {
			t.Fatalf("%s: ForHost after forget: credentials %t, error %v; want none and no error", name, creds != nil, err)
		}
		// Forgetting what was never stored succeeds.
		if err := src.ForgetForHost(tfHost(t, "never.example.com")); err != nil {
			t.Fatalf("%s: ForgetForHost of an unknown host: %v", name, err)
		}
	}

	// Unknown properties survive store and get.
	src := auth.HelperProgramCredentialsSource(links[0])
	extraHost := tfHost(t, "extra.example.com")
	if err := src.StoreForHost(extraHost, tfCredsWithExtra{token: "tf-EXTRA-token", extra: "keep-me"}); err != nil {
		t.Fatalf("StoreForHost with an extra property: %v", err)
	}
	out, errOut, code := s.run(t, "terraform", "get", "extra.example.com")
	var got map[string]any
	if code != 0 || json.Unmarshal([]byte(out), &got) != nil || got["token"] != "tf-EXTRA-token" || got["refresh_hint"] != "keep-me" {
		t.Fatalf("get after storing an extra property: %d %q %s", code, out, errOut)
	}
	if creds, err := src.ForHost(extraHost); err != nil || creds == nil || creds.Token() != "tf-EXTRA-token" {
		t.Fatalf("ForHost with an extra property: credentials %t, error %v", creds != nil, err)
	}

	// Stored tokens are sealed like ours.
	assertNotOnDisk(t, map[string]string{"stored token": "tf-MARKER-", "extra token": "tf-EXTRA-token", "extra property": "keep-me"}, s.root)

	if after := d.codes(t); after.DeviceCodeRequests != before.DeviceCodeRequests || after.TokenRequests != before.TokenRequests {
		t.Fatalf("the Terraform helper contacted AuthOS on a cache hit: %+v -> %+v", before, after)
	}
}
