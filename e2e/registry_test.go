package e2e

// A real registry client (go-containerregistry, what crane and ko use)
// reading credHelpers from a docker config, against a registry that accepts
// only AuthOS JWTs it verifies itself.

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// jwtRegistry is go-containerregistry's in-memory registry behind Basic
// auth whose password must be an AuthOS JWT. Requests carrying the setup
// header skip the check (to seed the registry).
type jwtRegistry struct {
	srv      *httptest.Server
	host     string
	setup    string
	mu       sync.Mutex
	accepted []string // the JWT of every authorised request
	rejected int
}

func startJWTRegistry(t *testing.T, issuer string) *jwtRegistry {
	t.Helper()
	b := make([]byte, 16)
	rand.Read(b)
	r := &jwtRegistry{setup: hex.EncodeToString(b)}
	inner := registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if req.Header.Get("X-Registry-Setup") == r.setup {
			inner.ServeHTTP(w, req)
			return
		}
		if user, pass, ok := req.BasicAuth(); ok && user == "oauth2" {
			if _, err := verifyJWT(issuer, pass); err == nil {
				r.mu.Lock()
				r.accepted = append(r.accepted, pass)
				r.mu.Unlock()
				inner.ServeHTTP(w, req)
				return
			}
		}
		r.mu.Lock()
		r.rejected++
		r.mu.Unlock()
		w.Header().Set("WWW-Authenticate", `Basic realm="registry"`)
		http.Error(w, `{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}`, http.StatusUnauthorized)
	}))
	t.Cleanup(r.srv.Close)
	r.host = strings.TrimPrefix(r.srv.URL, "http://")
	return r
}

func (r *jwtRegistry) seen() (accepted []string, rejected int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.accepted...), r.rejected
}

type setupTransport struct{ secret string }

func (s setupTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	req = req.Clone(req.Context())
	req.Header.Set("X-Registry-Setup", s.secret)
	return http.DefaultTransport.RoundTrip(req)
}

// pullAll pulls ref's manifest, config and every layer (whose digests
// go-containerregistry verifies while reading) and returns the digest.
func pullAll(ref name.Reference, opts ...remote.Option) (v1.Hash, error) {
	img, err := remote.Image(ref, opts...)
	if err != nil {
		return v1.Hash{}, err
	}
	if _, err := img.RawConfigFile(); err != nil {
		return v1.Hash{}, err
	}
	layers, err := img.Layers()
	if err != nil {
		return v1.Hash{}, err
	}
	for _, l := range layers {
		rc, err := l.Compressed()
		if err != nil {
			return v1.Hash{}, err
		}
		_, err = io.Copy(io.Discard, rc)
		if cerr := rc.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return v1.Hash{}, err
		}
	}
	return img.Digest()
}

// setProcessEnv makes this process's environment the sandbox's, for client
// libraries that run helpers with the current environment. Not parallel.
func setProcessEnv(t *testing.T, s *sandbox, extra map[string]string) {
	t.Helper()
	for _, k := range []string{
		"AUTHOS_SERVER", "AUTHOS_ORG", "AUTHOS_SERVICE", "AUTHOS_CLIENT_ID", "AUTHOS_PROFILE",
		"AUTHOS_CACHE_BACKEND", "AUTHOS_CACHE_PASSPHRASE", "AUTHOS_NONINTERACTIVE", "CI",
		"GIT_TERMINAL_PROMPT", "DBUS_SESSION_BUS_ADDRESS", "REGISTRY_AUTH_FILE", "DOCKER_AUTH_CONFIG",
		"HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "NO_PROXY", "no_proxy",
	} {
		t.Setenv(k, "")
	}
	for k, v := range s.env {
		t.Setenv(k, v)
	}
	for k, v := range extra {
		t.Setenv(k, v)
	}
}

// TestDockerRegistryPullWithCredHelper: not parallel (it sets the process
// environment, which authn.DefaultKeychain and the helper it runs read).
func TestDockerRegistryPullWithCredHelper(t *testing.T) {
	d := startDevServer(t)
	reg := startJWTRegistry(t, d.URL)

	s := newSandbox(t, "")
	s.writeConfig(t, protoConfig(d.URL, []string{reg.host}, []string{"tf.acme.example"}))
	s.env["PATH"] = helperLinks(t, "docker-credential-authos") + string(os.PathListSeparator) + s.env["PATH"]
	dockerConfig := t.TempDir()
	cfg, _ := json.Marshal(map[string]any{"credHelpers": map[string]string{reg.host: "authos"}})
	if err := os.WriteFile(filepath.Join(dockerConfig, "config.json"), cfg, 0o600); err != nil {
		t.Fatal(err)
	}
	setProcessEnv(t, s, map[string]string{"DOCKER_CONFIG": dockerConfig})

	ref, err := name.ParseReference(reg.host+"/acme/app:v1", name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	img, err := random.Image(2048, 2)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(ref, img, remote.WithTransport(setupTransport{reg.setup})); err != nil {
		t.Fatalf("seeding the registry: %v", err)
	}
	want, _ := img.Digest()

	// The registry really requires a token.
	_, err = pullAll(ref)
	var terr *transport.Error
	if !errors.As(err, &terr) || terr.StatusCode != http.StatusUnauthorized {
		t.Fatalf("anonymous pull: %v, want 401", err)
	}

	// First pull with an empty cache: the helper signs in (the prompt goes
	// to its stderr, which is ours), then the pull goes through.
	type result struct {
		digest v1.Hash
		err    error
	}
	done := make(chan result, 1)
	go func() {
		h, err := pullAll(ref, remote.WithAuthFromKeychain(authn.DefaultKeychain))
		done <- result{h, err}
	}()
	code := d.waitPendingCode(t, 1)
	d.control(t, "approve", code.UserCode, "alice@acme.example")
	var r result
	select {
	case r = <-done:
	case <-time.After(45 * time.Second):
		t.Fatal("pull did not finish")
	}
	if r.err != nil {
		t.Fatalf("pull through credHelpers: %v", r.err)
	}
	if r.digest != want {
		t.Fatalf("pulled %s, pushed %s", r.digest, want)
	}
	accepted, _ := reg.seen()
	if len(accepted) == 0 {
		t.Fatal("the registry accepted no JWT")
	}
	tok := accepted[0]
	for _, a := range accepted {
		if a != tok {
			t.Fatal("one pull presented different tokens")
		}
	}
	c, err := verifyJWT(d.URL, tok)
	if err != nil || c.Email != "alice@acme.example" {
		t.Fatalf("accepted token: %+v, %v", c, err)
	}
	// It is the cached token.
	s.env["AUTHOS_PROFILE"] = "acme"
	if out, errOut, code := s.run(t, "token"); code != 0 || strings.TrimSpace(out) != tok {
		t.Fatalf("token after the pull: %d %s", code, errOut)
	}

	// Second pull: a cache hit, no device flow, same token.
	before := d.codes(t)
	h, err := pullAll(ref, remote.WithAuthFromKeychain(authn.DefaultKeychain))
	if err != nil || h != want {
		t.Fatalf("second pull: %v %v", h, err)
	}
	after := d.codes(t)
	if after.DeviceCodeRequests != 1 || after.TokenRequests != before.TokenRequests {
		t.Fatalf("second pull contacted AuthOS: %+v -> %+v", before, after)
	}
	accepted2, _ := reg.seen()
	if len(accepted2) <= len(accepted) {
		t.Fatal("second pull presented no token")
	}
	for _, a := range accepted2 {
		if a != tok {
			t.Fatal("second pull presented a different token")
		}
	}
}
