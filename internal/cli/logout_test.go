package cli

import (
	"context"
	"encoding/pem"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/authos/authos-credential-helper/cache"
	"github.com/authos/authos-credential-helper/helper"
	"github.com/authos/authos-credential-helper/internal/config"
	"github.com/authos/authos-credential-helper/internal/wiring"
)

// testToken is JWT-shaped: the helper serves and revokes nothing else.
const testToken = "e30.eyJzdWIiOiJ1MSJ9.c2ln"

// testWorld is an isolated config and cache on the file backend.
type testWorld struct {
	paths config.Paths
	env   map[string]string
}

func newTestWorld(t *testing.T, configText string) *testWorld {
	t.Helper()
	root := t.TempDir()
	w := &testWorld{
		paths: config.Paths{
			ConfigFile: filepath.Join(root, "config.toml"), Tokens: filepath.Join(root, "tokens"),
			State: filepath.Join(root, "state"), Locks: filepath.Join(root, "locks"), FileRing: filepath.Join(root, "ring"),
		},
		env: map[string]string{"AUTHOS_CACHE_BACKEND": "file", "AUTHOS_CACHE_PASSPHRASE": "correct horse", "AUTHOS_NONINTERACTIVE": "1"},
	}
	if err := os.WriteFile(w.paths.ConfigFile, []byte(configText), 0o600); err != nil {
		t.Fatal(err)
	}
	return w
}

func (w *testWorld) getenv(k string) string { return w.env[k] }

// parts wires the cache the way the commands do.
func (w *testWorld) parts(t *testing.T) *wiring.Parts {
	t.Helper()
	cfg, err := config.Load(w.paths.ConfigFile)
	if err != nil {
		t.Fatal(err)
	}
	p := wiring.Build(cfg, wiring.Options{Paths: w.paths, Getenv: w.getenv})
	t.Cleanup(func() { p.Keys.Remove() })
	return p
}

// cacheToken stores a valid token for the identity sel resolves to.
func (w *testWorld) cacheToken(t *testing.T, sel helper.Selector, ttl time.Duration) helper.Identity {
	t.Helper()
	p := w.parts(t)
	id, err := helper.Resolve(p.Config, sel, helper.Selector{})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	if err := p.Store.Put(id.Key(), cache.Entry{Server: id.Server, Org: id.Org, Service: id.Service, ClientID: id.ClientID,
		AccessToken: testToken, TokenType: "Bearer", ObtainedAt: now, ExpiresAt: now.Add(ttl), Email: "a@acme.example"}); err != nil {
		t.Fatal(err)
	}
	return id
}

// run runs one command in process and returns its exit code and output.
func (w *testWorld) run(t *testing.T, stdin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb strings.Builder
	code = Main(context.Background(), Env{
		Args: args, Stdin: strings.NewReader(stdin), Stdout: &out, Stderr: &errb, Getenv: w.getenv, Paths: w.paths,
		TTY: func() (*os.File, error) { return nil, os.ErrNotExist },
	})
	return code, out.String(), errb.String()
}

// logout --profile P --service X keeps P's ca_bundle: against a server
// with a private CA the session is ended, not left alive by a TLS error
// (it was, for the overridden identity). So do the plain and --all forms.
func TestLogoutOverriddenProfileKeepsCABundle(t *testing.T) {
	var revoked atomic.Int32
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/api/auth/logout" && r.Header.Get("Authorization") == "Bearer "+testToken {
			revoked.Add(1)
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{}`)
	}))
	defer srv.Close()
	bundle := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(bundle, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	config := fmt.Sprintf("[profiles.p]\nserver = %q\norg = \"acme\"\nservice = \"cli\"\nclient_id = \"acme-cli\"\nca_bundle = %q\n", srv.URL, bundle)
	for _, tt := range []struct {
		cached helper.Selector
		args   []string
	}{
		{helper.Selector{Profile: "p", Service: "other"}, []string{"--profile", "p", "--service", "other"}},
		{helper.Selector{Profile: "p"}, []string{"--profile", "p"}},
		{helper.Selector{Profile: "p"}, []string{"--all"}},
	} {
		revoked.Store(0)
		w := newTestWorld(t, config)
		w.cacheToken(t, tt.cached, time.Hour)
		code, _, stderr := w.run(t, "", append([]string{"authos-credential-helper", "logout"}, tt.args...)...)
		if code != ExitOK || revoked.Load() != 1 || !strings.Contains(stderr, "session ended at the server") {
			t.Errorf("logout %q: exit %d, %d revoke calls, stderr %q", tt.args, code, revoked.Load(), stderr)
		}
	}
}
