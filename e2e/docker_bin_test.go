package e2e

// The real docker CLI (28.2, no engine on this machine kind): `docker
// manifest inspect` talks to the registry itself and finds the helper
// through the credHelpers entry `setup docker` writes, against a minimal
// registry that accepts only AuthOS tokens, in both registry auth flows:
// Basic with the token as the password, and the Bearer-token flow
// (WWW-Authenticate: Bearer realm=…, a token endpoint that takes the AuthOS
// token as Basic credentials and hands out a registry token).

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

const (
	fakeRepo     = "acme/app"
	fakeTag      = "v1"
	fakeService  = "fake-registry"
	manifestType = "application/vnd.docker.distribution.manifest.v2+json"
)

// fakeRegistry is a read-only registry with one image, fakeRepo:fakeTag.
type fakeRegistry struct {
	srv    *httptest.Server
	host   string // 127.0.0.1:PORT, what docker sends the helper
	scheme string
	ca     string // PEM file of its certificate (https only)
	bearer bool   // the Bearer-token flow, else Basic
	// log has the AuthOS tokens presented: at the registry (Basic) or at
	// the token endpoint (Bearer).
	log tokenLog

	blobs          map[string][]byte // digest -> content
	manifest       []byte
	manifestDigest string

	mu     sync.Mutex
	issued map[string]bool // registry tokens the token endpoint issued

	authosURL string
}

func sha256Digest(b []byte) string {
	s := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(s[:])
}

// startFakeRegistry starts the registry over https (a self-signed
// certificate, its CA given to docker with SSL_CERT_FILE; docker 28 also
// skips verification for 127.0.0.0/8, which it treats as an insecure
// registry, so this keeps working if it ever stops) or plain http (for
// which `docker manifest inspect` needs --insecure, loopback or not),
// checking tokens against authosURL.
func startFakeRegistry(t *testing.T, authosURL string, tls, bearerFlow bool) *fakeRegistry {
	t.Helper()
	r := &fakeRegistry{bearer: bearerFlow, blobs: map[string][]byte{}, issued: map[string]bool{}}
	config := []byte(`{"architecture":"amd64","os":"linux","config":{},"rootfs":{"type":"layers","diff_ids":["sha256:` + strings.Repeat("0", 64) + `"]}}`)
	layer := []byte("not really a layer: docker manifest inspect never reads it")
	r.blobs[sha256Digest(config)] = config
	r.blobs[sha256Digest(layer)] = layer
	r.manifest = []byte(fmt.Sprintf(`{"schemaVersion":2,"mediaType":%q,"config":{"mediaType":"application/vnd.docker.container.image.v1+json","size":%d,"digest":%q},"layers":[{"mediaType":"application/vnd.docker.image.rootfs.diff.tar.gzip","size":%d,"digest":%q}]}`,
		manifestType, len(config), sha256Digest(config), len(layer), sha256Digest(layer)))
	r.manifestDigest = sha256Digest(r.manifest)

	h := http.HandlerFunc(r.serve)
	if tls {
		r.srv = httptest.NewTLSServer(h)
		r.ca = writeCA(t, r.srv)
		r.scheme = "https"
	} else {
		r.srv = httptest.NewServer(h)
		r.scheme = "http"
	}
	t.Cleanup(r.srv.Close)
	r.host = strings.TrimPrefix(strings.TrimPrefix(r.srv.URL, "https://"), "http://")
	r.authosURL = authosURL
	return r
}

func (r *fakeRegistry) serve(w http.ResponseWriter, req *http.Request) {
	if req.URL.Path == "/token" {
		r.serveToken(w, req)
		return
	}
	if !r.authorised(req) {
		r.challenge(w, req)
		return
	}
	w.Header().Set("Docker-Distribution-API-Version", "registry/2.0")
	prefix := "/v2/" + fakeRepo + "/"
	switch {
	case req.URL.Path == "/v2/":
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte("{}"))
	case req.URL.Path == prefix+"manifests/"+fakeTag || req.URL.Path == prefix+"manifests/"+r.manifestDigest:
		r.content(w, req, manifestType, r.manifest)
	case strings.HasPrefix(req.URL.Path, prefix+"blobs/") && r.blobs[strings.TrimPrefix(req.URL.Path, prefix+"blobs/")] != nil:
		r.content(w, req, "application/octet-stream", r.blobs[strings.TrimPrefix(req.URL.Path, prefix+"blobs/")])
	default:
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusNotFound)
		w.Write([]byte(`{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}]}`))
	}
}

func (r *fakeRegistry) content(w http.ResponseWriter, req *http.Request, contentType string, b []byte) {
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("Docker-Content-Digest", sha256Digest(b))
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	if req.Method != http.MethodHead {
		w.Write(b)
	}
}

// authorised checks the request's credentials: Basic with username oauth2
// and a live AuthOS token as the password, or (Bearer flow) a registry
// token the token endpoint issued.
func (r *fakeRegistry) authorised(req *http.Request) bool {
	if r.bearer {
		tok, ok := bearer(req)
		r.mu.Lock()
		defer r.mu.Unlock()
		return ok && r.issued[tok]
	}
	return r.checkBasic(req)
}

func (r *fakeRegistry) checkBasic(req *http.Request) bool {
	r.log.seen()
	user, pass, ok := req.BasicAuth()
	if ok && user == "oauth2" {
		if _, err := checkToken(r.authosURL, pass); err == nil {
			r.log.accept(pass)
			return true
		}
	}
	r.log.reject()
	return false
}

func (r *fakeRegistry) challenge(w http.ResponseWriter, req *http.Request) {
	if r.bearer {
		scope := ""
		if strings.HasPrefix(req.URL.Path, "/v2/"+fakeRepo+"/") {
			scope = `,scope="repository:` + fakeRepo + `:pull"`
		}
		w.Header().Set("WWW-Authenticate", `Bearer realm="`+r.scheme+"://"+r.host+`/token",service="`+fakeService+`"`+scope)
	} else {
		w.Header().Set("WWW-Authenticate", `Basic realm="fake-registry"`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Docker-Distribution-API-Version", "registry/2.0")
	w.WriteHeader(http.StatusUnauthorized)
	w.Write([]byte(`{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}`))
}

// serveToken is the Bearer flow's token endpoint (the realm): Basic
// credentials with a live AuthOS token buy a registry token.
func (r *fakeRegistry) serveToken(w http.ResponseWriter, req *http.Request) {
	if !r.bearer || req.URL.Query().Get("service") != fakeService {
		http.Error(w, "no such service", http.StatusBadRequest)
		return
	}
	if !r.checkBasic(req) {
		w.Header().Set("WWW-Authenticate", `Basic realm="fake-registry-token"`)
		http.Error(w, `{"errors":[{"code":"UNAUTHORIZED","message":"bad credentials"}]}`, http.StatusUnauthorized)
		return
	}
	b := make([]byte, 16)
	rand.Read(b)
	tok := "registry-" + hex.EncodeToString(b)
	r.mu.Lock()
	r.issued[tok] = true
	r.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{"token": tok, "access_token": tok, "expires_in": 300, "issued_at": time.Now().UTC().Format(time.RFC3339)})
}

// ref is the image reference docker is given.
func (r *fakeRegistry) ref() string { return r.host + "/" + fakeRepo + ":" + fakeTag }

// newDockerSandbox is a sandbox whose profile serves the registry, with
// the credHelpers entry written by `setup docker` (into $DOCKER_CONFIG).
func newDockerSandbox(t *testing.T, d *devServer, reg *fakeRegistry) *binSandbox {
	t.Helper()
	s := newBinSandbox(t, d, `docker = [`+strconv.Quote(reg.host)+`]`)
	errOut := s.setup(t, "docker", "--profile", "acme")
	want := `credHelpers["` + reg.host + `"] = "authos"`
	if !strings.Contains(errOut, want) {
		t.Fatalf("setup docker did not say %s:\n%s", want, errOut)
	}
	if reg.ca != "" {
		s.env["SSL_CERT_FILE"] = reg.ca
	}
	return s
}

// dockerInspectArgs is `docker manifest inspect` of the image, with
// --insecure when the registry speaks plain http.
func dockerInspectArgs(reg *fakeRegistry) []string {
	args := []string{"manifest", "inspect"}
	if reg.scheme == "http" {
		args = append(args, "--insecure")
	}
	return append(args, reg.ref())
}

// assertInspected checks docker printed the registry's manifest.
func assertInspected(t *testing.T, c *clientProc, code int, reg *fakeRegistry) {
	t.Helper()
	var m struct {
		MediaType string `json:"mediaType"`
		Config    struct {
			Digest string `json:"digest"`
		} `json:"config"`
	}
	if code != 0 || json.Unmarshal([]byte(c.stdout.String()), &m) != nil || m.MediaType != manifestType {
		t.Fatalf("docker manifest inspect: exit %d\n%s", code, c.output())
	}
	if _, ok := reg.blobs[m.Config.Digest]; !ok {
		t.Fatalf("docker printed a manifest with config %s, not the registry's\n%s", m.Config.Digest, c.output())
	}
}

var dockerFlows = []struct {
	name        string
	tls, bearer bool
}{
	{"Basic over https", true, false},
	{"Bearer token over https", true, true},
	{"Basic over http with --insecure", false, false},
	{"Bearer token over http with --insecure", false, true},
}

// After `login`, docker gets the cached token through credHelpers in each
// flow; the registry really requires it (anonymous access and a wrong
// password are refused), and no device flow runs.
func TestDockerBinaryManifestInspectCacheHit(t *testing.T) {
	t.Parallel()
	for _, f := range dockerFlows {
		t.Run(f.name, func(t *testing.T) {
			t.Parallel()
			d := startDevServer(t)
			reg := startFakeRegistry(t, d.URL, f.tls, f.bearer)
			s := newDockerSandbox(t, d, reg)

			// Without the helper the registry refuses: no credentials (an
			// empty docker config), and a password that is not an AuthOS
			// token (a static `auths` entry).
			for _, cfg := range []string{`{}`, `{"auths":{"` + reg.host + `":{"auth":"` + base64.StdEncoding.EncodeToString([]byte("oauth2:not-an-authos-token")) + `"}}}`} {
				dir := t.TempDir()
				if err := os.WriteFile(filepath.Join(dir, "config.json"), []byte(cfg), 0o600); err != nil {
					t.Fatal(err)
				}
				c, code := s.runClient(t, []string{"DOCKER_CONFIG=" + dir}, "docker", dockerInspectArgs(reg)...)
				if msg := strings.ToLower(c.stderr.String()); code == 0 || !strings.Contains(msg, "unauthorized") && !strings.Contains(msg, "no basic auth credentials") {
					t.Fatalf("docker with config %s: exit %d, want a refusal\n%s", cfg, code, c.output())
				}
			}
			if _, rejected, distinct := reg.log.snapshot(); rejected == 0 || len(distinct) != 0 {
				t.Fatalf("the registry rejected %d and accepted %d AuthOS tokens before login", rejected, len(distinct))
			}

			tok := s.login(t, 1)
			for i := range 2 {
				c, code := s.runClient(t, nil, "docker", dockerInspectArgs(reg)...)
				assertInspected(t, c, code, reg)
				if c.stderr.String() != "" {
					t.Errorf("inspect #%d, a cache hit, printed on stderr:\n%s", i+1, c.stderr.String())
				}
			}
			s.assertDeviceCodes(t, 1, "two inspects after login")
			_, _, distinct := reg.log.snapshot()
			if len(distinct) != 1 || distinct[0] != tok {
				t.Fatalf("the registry accepted %d distinct AuthOS tokens (the cached one: %v), want the cached token only",
					len(distinct), len(distinct) == 1 && distinct[0] == tok)
			}
		})
	}
}

// A miss with no terminal but nobody saying the prompt goes unseen: docker
// passes the helper's stderr through, so the prompt is on docker's stderr,
// and the inspect succeeds after the approval; CI=true there fails at once
// with the login command instead.
func TestDockerBinaryManifestInspectMiss(t *testing.T) {
	t.Parallel()
	t.Run("prompt on docker's stderr", func(t *testing.T) {
		t.Parallel()
		d := startDevServer(t)
		reg := startFakeRegistry(t, d.URL, true, true)
		s := newDockerSandbox(t, d, reg)
		c := s.client(t, nil, "docker", dockerInspectArgs(reg)...)
		s.approveOnScreen(t, 1, "docker's stderr", c.stderr.String)
		assertInspected(t, c, c.wait(t), reg)
		s.assertDeviceCodes(t, 1, "an inspect with a sign-in")
		c, code := s.runClient(t, nil, "docker", dockerInspectArgs(reg)...)
		assertInspected(t, c, code, reg)
		s.assertDeviceCodes(t, 1, "the next inspect")
	})
	t.Run("CI=true with no terminal", func(t *testing.T) {
		t.Parallel()
		d := startDevServer(t)
		reg := startFakeRegistry(t, d.URL, true, true)
		s := newDockerSandbox(t, d, reg)
		start := time.Now()
		c, code := s.runClient(t, []string{"CI=true"}, "docker", dockerInspectArgs(reg)...)
		if el := time.Since(start); el > 15*time.Second {
			t.Errorf("a miss nobody could see took %v", el)
		}
		if code == 0 || !strings.Contains(c.stderr.String(), "authos-credential-helper login --profile acme") {
			t.Fatalf("docker exited %d; want a failure naming the login command\n%s", code, c.output())
		}
		s.assertDeviceCodes(t, 0, "a miss nobody could see")
	})
}
