package e2e

// The real terraform (1.11) installing a module from a private registry
// over https with the token from the credentials_helper that `setup
// terraform` configures and links into the plugin folder. A `host` block in
// the CLI config points tf.acme.test's modules.v1 service at the fake (so
// no discovery document is needed), and SSL_CERT_FILE makes terraform trust
// the fake's self-signed certificate. Registry host names must contain a
// dot, hence tf.acme.test rather than the fake's own address.

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

const (
	tfHostName   = "tf.acme.test"
	tfModulePath = "acme/net/aws"
	tfModuleTF   = "output \"greeting\" {\n  value = \"from the private registry\"\n}\n"
)

// fakeModuleRegistry serves one module, acme/net/aws 1.0.0, through the
// module registry protocol: versions and download need a Bearer token
// that passes checkToken; the archive the download points at is public, as
// on object storage.
type fakeModuleRegistry struct {
	srv *httptest.Server
	ca  string
	log tokenLog
}

func startFakeModuleRegistry(t *testing.T, authosURL string) *fakeModuleRegistry {
	t.Helper()
	m := &fakeModuleRegistry{}
	archive := tarGz(t, map[string]string{"main.tf": tfModuleTF})
	base := "/v1/modules/" + tfModulePath + "/"
	m.srv = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/archive/net.tar.gz" {
			w.Header().Set("Content-Type", "application/gzip")
			w.Write(archive)
			return
		}
		m.log.seen()
		tok, ok := bearer(r)
		if ok {
			_, err := checkToken(authosURL, tok)
			ok = err == nil
		}
		if !ok {
			m.log.reject()
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusUnauthorized)
			w.Write([]byte(`{"errors":["Unauthorized"]}`))
			return
		}
		m.log.accept(tok)
		switch r.URL.Path {
		case base + "versions":
			w.Header().Set("Content-Type", "application/json")
			w.Write([]byte(`{"modules":[{"versions":[{"version":"1.0.0"}]}]}`))
		case base + "1.0.0/download":
			w.Header().Set("X-Terraform-Get", m.srv.URL+"/archive/net.tar.gz")
			w.WriteHeader(http.StatusNoContent)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(m.srv.Close)
	m.ca = writeCA(t, m.srv)
	return m
}

func tarGz(t *testing.T, files map[string]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	for name, body := range files {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(body)), ModTime: time.Unix(1767225600, 0)}); err != nil {
			t.Fatal(err)
		}
		tw.Write([]byte(body))
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	gz.Close()
	return buf.Bytes()
}

// tfSandbox is a sandbox whose profile serves tf.acme.test, with a CLI
// config (TF_CLI_CONFIG_FILE, in the sandbox) holding the host block, then
// `setup terraform`'s credentials_helper block and plugin links, and a
// root module using the private module.
type tfSandbox struct {
	*binSandbox
	work string // the root module's folder
}

func newTerraformSandbox(t *testing.T, d *devServer, m *fakeModuleRegistry) *tfSandbox {
	t.Helper()
	s := newBinSandbox(t, d, `terraform = [`+strconv.Quote(tfHostName)+`]`)
	s.env["SSL_CERT_FILE"] = m.ca
	host := "host \"" + tfHostName + "\" {\n  services = {\n    \"modules.v1\" = \"" + m.srv.URL + "/v1/modules/\"\n  }\n}\n"
	if err := os.WriteFile(s.env["TF_CLI_CONFIG_FILE"], []byte(host), 0o600); err != nil {
		t.Fatal(err)
	}
	errOut := s.setup(t, "terraform", "--profile", "acme")
	if !strings.Contains(errOut, `added credentials_helper "authos"`) {
		t.Fatalf("setup terraform said:\n%s", errOut)
	}
	if got := setupRead(t, s.env["TF_CLI_CONFIG_FILE"]); !strings.HasPrefix(got, host) {
		t.Fatalf("setup terraform changed the host block:\n%s", got)
	}
	work := filepath.Join(s.root, "work")
	os.MkdirAll(work, 0o755)
	root := "module \"net\" {\n  source  = \"" + tfHostName + "/" + tfModulePath + "\"\n  version = \"1.0.0\"\n}\n"
	if err := os.WriteFile(filepath.Join(work, "main.tf"), []byte(root), 0o644); err != nil {
		t.Fatal(err)
	}
	return &tfSandbox{binSandbox: s, work: work}
}

// tfInitArgs is `terraform init` for the root module, never asking.
var tfInitArgs = []string{"init", "-input=false", "-no-color"}

// terraform starts terraform in the root module's folder, on a terminal
// or without one.
func (s *tfSandbox) terraform(t *testing.T, env []string, pty bool, args ...string) *clientProc {
	t.Helper()
	args = append([]string{"-chdir=" + s.work}, args...)
	if pty {
		return s.clientOnPTY(t, env, "terraform", args...)
	}
	return s.client(t, env, "terraform", args...)
}

// assertModuleInstalled checks init succeeded and unpacked the module.
func (s *tfSandbox) assertModuleInstalled(t *testing.T, c *clientProc, code int) {
	t.Helper()
	if code != 0 || !strings.Contains(c.stdout.String(), "Terraform has been successfully initialized") {
		t.Fatalf("terraform init: exit %d\n%s", code, c.output())
	}
	b, err := os.ReadFile(filepath.Join(s.work, ".terraform", "modules", "net", "main.tf"))
	if err != nil || string(b) != tfModuleTF {
		t.Fatalf("the installed module: %q %v", b, err)
	}
}

// forgetModules removes what init installed, so the next init asks the
// registry again.
func (s *tfSandbox) forgetModules(t *testing.T) {
	t.Helper()
	if err := os.RemoveAll(filepath.Join(s.work, ".terraform")); err != nil {
		t.Fatal(err)
	}
	os.Remove(filepath.Join(s.work, ".terraform.lock.hcl"))
}

// After `login`, terraform init gets the cached token from the helper
// (found in the plugin folder setup linked it into) and installs the
// module; the registry really requires an AuthOS token (a TF_TOKEN_ of
// another kind, which Terraform prefers to any helper, is refused).
func TestTerraformBinaryInitCacheHit(t *testing.T) {
	t.Parallel()
	d := startDevServer(t)
	m := startFakeModuleRegistry(t, d.URL)
	s := newTerraformSandbox(t, d, m)

	c := s.terraform(t, []string{"TF_TOKEN_tf_acme_test=not-an-authos-token"}, false, tfInitArgs...)
	if code := c.wait(t); code == 0 {
		t.Fatalf("terraform init with a token the registry refuses succeeded\n%s", c.output())
	}
	if _, rejected, _ := m.log.snapshot(); rejected == 0 {
		t.Fatal("the registry rejected nothing")
	}
	s.forgetModules(t)
	s.assertDeviceCodes(t, 0, "init with TF_TOKEN_ (the helper is not asked)")

	tok := s.login(t, 1)
	for i := range 2 {
		_, rejectedBefore, _ := m.log.snapshot()
		c := s.terraform(t, nil, false, tfInitArgs...)
		s.assertModuleInstalled(t, c, c.wait(t))
		_, rejected, distinct := m.log.snapshot()
		if rejected != rejectedBefore || len(distinct) != 1 || distinct[0] != tok {
			t.Fatalf("init #%d: the registry rejected %d and accepted %d distinct tokens (the cached one: %v)",
				i+1, rejected-rejectedBefore, len(distinct), len(distinct) == 1 && distinct[0] == tok)
		}
		s.forgetModules(t)
	}
	s.assertDeviceCodes(t, 1, "two inits after login")
}

// A miss at a terminal: terraform swallows the helper's stderr, so the
// helper shows the prompt on the controlling terminal, and init succeeds
// after the approval.
func TestTerraformBinaryInitMissOnTerminal(t *testing.T) {
	t.Parallel()
	d := startDevServer(t)
	m := startFakeModuleRegistry(t, d.URL)
	s := newTerraformSandbox(t, d, m)
	c := s.terraform(t, nil, true, tfInitArgs...)
	s.approveOnScreen(t, 1, "terraform's terminal", c.screen.String)
	s.assertModuleInstalled(t, c, c.wait(t))
	s.assertDeviceCodes(t, 1, "an init with a sign-in")
	if _, rejected, distinct := m.log.snapshot(); rejected != 0 || len(distinct) != 1 {
		t.Fatalf("the registry rejected %d and accepted %d distinct tokens, want 0 and 1", rejected, len(distinct))
	}
}
