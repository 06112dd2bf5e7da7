package e2e

// The real kubectl (the google-cloud-sdk build this machine kind ships: a
// dispatcher that asks the server's /version, then runs the matching
// kubectl.1.NN) with the exec stanza `setup kube` writes, against a fake
// API server over https that accepts only live AuthOS tokens. kubectl
// applies exec credentials only over TLS, so the fake's self-signed
// certificate goes into the kubeconfig as certificate-authority.

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeAPIServer serves what `kubectl get --raw /version` and `kubectl get
// namespaces` need from Kubernetes 1.32: legacy discovery (/api, /api/v1,
// an empty /apis; kubectl falls back to it when the answer is not the
// aggregated discovery type), /version and one namespace list. Every
// request needs a Bearer token that passes checkToken; others get
// Kubernetes' 401 Status.
type fakeAPIServer struct {
	srv *httptest.Server
	ca  string // PEM file of its certificate
	log tokenLog
	// minor is the Kubernetes minor version /version reports (the
	// dispatcher picks kubectl.1.<minor>); 32 unless set before the first
	// request.
	minor string

	mu    sync.Mutex
	paths []string // every authorised request's path, in order
}

func startFakeAPIServer(t *testing.T, authosURL string) *fakeAPIServer {
	t.Helper()
	a := &fakeAPIServer{minor: "32"}
	a.srv = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a.log.seen()
		w.Header().Set("Content-Type", "application/json")
		tok, ok := bearer(r)
		if ok {
			_, err := checkToken(authosURL, tok)
			ok = err == nil
		}
		if !ok {
			a.log.reject()
			w.WriteHeader(http.StatusUnauthorized)
			w.Write([]byte(`{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"Unauthorized","reason":"Unauthorized","code":401}`))
			return
		}
		a.log.accept(tok)
		a.mu.Lock()
		a.paths = append(a.paths, r.URL.Path)
		a.mu.Unlock()
		switch r.URL.Path {
		case "/version":
			w.Write([]byte(`{"major":"1","minor":"` + a.minor + `","gitVersion":"v1.` + a.minor + `.4","gitCommit":"fake","gitTreeState":"clean","buildDate":"2026-01-01T00:00:00Z","goVersion":"go1.26","compiler":"gc","platform":"linux/amd64"}`))
		case "/api":
			w.Write([]byte(`{"kind":"APIVersions","versions":["v1"],"serverAddressByClientCIDRs":[{"clientCIDR":"0.0.0.0/0","serverAddress":"127.0.0.1"}]}`))
		case "/apis":
			w.Write([]byte(`{"kind":"APIGroupList","apiVersion":"v1","groups":[]}`))
		case "/api/v1":
			w.Write([]byte(`{"kind":"APIResourceList","groupVersion":"v1","resources":[{"name":"namespaces","singularName":"namespace","namespaced":false,"kind":"Namespace","verbs":["get","list"],"shortNames":["ns"]}]}`))
		case "/api/v1/namespaces":
			w.Write([]byte(`{"kind":"NamespaceList","apiVersion":"v1","metadata":{"resourceVersion":"1"},"items":[` +
				`{"metadata":{"name":"default","creationTimestamp":"2026-01-01T00:00:00Z"},"status":{"phase":"Active"}},` +
				`{"metadata":{"name":"acme-prod","creationTimestamp":"2026-01-01T00:00:00Z"},"status":{"phase":"Active"}}]}`))
		default:
			w.WriteHeader(http.StatusNotFound)
			w.Write([]byte(`{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"not found","reason":"NotFound","code":404}`))
		}
	}))
	t.Cleanup(a.srv.Close)
	a.ca = writeCA(t, a.srv)
	return a
}

func (a *fakeAPIServer) seenPaths() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]string(nil), a.paths...)
}

// newKubectlSandbox writes a kubeconfig with one https cluster (the fake's
// CA as certificate-authority) and a context "fake" whose user "nobody"
// has a static token the server refuses, then runs `setup kube --profile
// acme --context fake`, which adds user authos-acme and points the context
// at it.
func newKubectlSandbox(t *testing.T, d *devServer, api *fakeAPIServer) *binSandbox {
	t.Helper()
	s := newBinSandbox(t, d)
	kubeconfig := "apiVersion: v1\nkind: Config\nclusters:\n- name: fake\n  cluster:\n" +
		"    server: " + api.srv.URL + "\n    certificate-authority: " + api.ca + "\n" +
		"contexts:\n- name: fake\n  context:\n    cluster: fake\n    user: nobody\n" +
		"users:\n- name: nobody\n  user:\n    token: not-an-authos-token\n" +
		"current-context: fake\n"
	if err := os.MkdirAll(filepath.Dir(s.env["KUBECONFIG"]), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(s.env["KUBECONFIG"], []byte(kubeconfig), 0o600); err != nil {
		t.Fatal(err)
	}
	errOut := s.setup(t, "kube", "--profile", "acme", "--context", "fake")
	if !strings.Contains(errOut, "authos-acme") {
		t.Fatalf("setup kube said:\n%s", errOut)
	}
	return s
}

// kubectl runs kubectl without a terminal to completion.
func (s *binSandbox) kubectl(t *testing.T, env []string, args ...string) (*clientProc, int) {
	t.Helper()
	return s.runClient(t, env, "kubectl", append([]string{"--request-timeout=30s"}, args...)...)
}

// assertKubectlWorks runs `kubectl get --raw /version` and `kubectl get
// namespaces` (a cache hit: no terminal, so a miss could not prompt) and
// checks that each succeeded with the fake's answer and the given token.
func assertKubectlWorks(t *testing.T, s *binSandbox, api *fakeAPIServer, tok string) {
	t.Helper()
	_, rejectedBefore, _ := api.log.snapshot()
	c, code := s.kubectl(t, nil, "get", "--raw", "/version")
	if code != 0 || !strings.Contains(c.stdout.String(), `"gitVersion":"v1.`+api.minor+`.4"`) {
		t.Fatalf("kubectl get --raw /version: exit %d\n%s", code, c.output())
	}
	c, code = s.kubectl(t, nil, "get", "namespaces")
	if code != 0 || !strings.Contains(c.stdout.String(), "acme-prod") || !strings.Contains(c.stdout.String(), "NAME") {
		t.Fatalf("kubectl get namespaces: exit %d\n%s", code, c.output())
	}
	if c.stderr.String() != "" {
		t.Errorf("kubectl get namespaces, a cache hit, printed on stderr:\n%s", c.stderr.String())
	}
	_, rejected, distinct := api.log.snapshot()
	if rejected != rejectedBefore || len(distinct) != 1 || distinct[0] != tok {
		t.Fatalf("API server: %d rejected, %d distinct tokens (the cached one: %v); want none rejected and the cached token",
			rejected-rejectedBefore, len(distinct), len(distinct) == 1 && distinct[0] == tok)
	}
}

// The cache-hit path: after `login`, kubectl gets the cached token through
// the stanza `setup kube` wrote, for a raw request and for a resource list
// (discovery, then the list), with no device flow.
func TestKubectlBinaryCacheHit(t *testing.T) {
	t.Parallel()
	d := startDevServer(t)
	api := startFakeAPIServer(t, d.URL)
	s := newKubectlSandbox(t, d, api)

	// The server really requires an AuthOS token: the original context's
	// user, with a static token of another kind, gets Unauthorized.
	c, code := s.kubectl(t, nil, "--user", "nobody", "get", "--raw", "/version")
	if code == 0 || !strings.Contains(c.stderr.String(), "Unauthorized") {
		t.Fatalf("kubectl as user nobody: exit %d, want Unauthorized\n%s", code, c.output())
	}

	tok := s.login(t, 1)
	assertKubectlWorks(t, s, api, tok)
	s.assertDeviceCodes(t, 1, "two kubectl calls after login")
	if claims, err := checkToken(d.URL, tok); err != nil || claims.Email != binUser {
		t.Fatalf("the token kubectl sent: %+v %v", claims, err)
	}
	paths := strings.Join(api.seenPaths(), " ")
	for _, p := range []string{"/version", "/api", "/api/v1", "/api/v1/namespaces"} {
		if !strings.Contains(" "+paths+" ", " "+p+" ") {
			t.Errorf("the API server never saw %s (saw %s)", p, paths)
		}
	}
}

// The gcloud build of kubectl is a dispatcher: it asks the server's
// /version with the kubeconfig's credentials (running the exec plugin) and,
// when the server's minor version is not its own 1.32, execs the matching
// kubectl.1.NN, which runs the plugin again. So a kubectl call runs the
// helper once against a 1.32 server and twice against any other: the part
// of kubectl's added latency that is kubectl's own. Counted with a wrapper
// in place of the command setup wrote.
func TestKubectlBinaryPluginRunsPerCall(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		minor   string
		perCall int
	}{{"32", 1}, {"30", 2}} {
		t.Run("server 1."+tc.minor, func(t *testing.T) {
			t.Parallel()
			d := startDevServer(t)
			api := startFakeAPIServer(t, d.URL)
			api.minor = tc.minor
			s := newKubectlSandbox(t, d, api)
			tok := s.login(t, 1)
			cnt := newCounter(t, s.root, "kube-plugin")
			// setup wrote the bare name: the binary is on the sandbox's PATH.
			replaceInFile(t, s.env["KUBECONFIG"], "command: authos-credential-helper\n", "command: "+cnt.path+"\n")

			assertKubectlWorks(t, s, api, tok)
			runs := cnt.runs(t)
			if len(runs) != 2*tc.perCall {
				t.Fatalf("the helper ran %d times for two kubectl calls, want %d: %q", len(runs), 2*tc.perCall, runs)
			}
			for _, r := range runs {
				if r != "kube --profile acme" {
					t.Fatalf("kubectl ran the helper with %q, want the args setup wrote", r)
				}
			}
		})
	}
}

// A miss, then: who can see the prompt decides. With a terminal (whatever
// interactiveMode says: the device flow needs no stdin, and kubectl passes
// the helper's stderr through) the prompt is on the terminal and kubectl
// succeeds after the approval. When nobody can see it (CI=true with no
// terminal, AUTHOS_NONINTERACTIVE=1) it fails at once with the login
// command to run, and no device code is asked for (README: "When nobody can
// see the prompt").
func TestKubectlBinaryMiss(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name            string
		interactiveMode string // replaces setup's IfAvailable when set
		env             []string
		pty             bool
		signsIn         bool
	}{
		{name: "terminal, IfAvailable as setup writes it", pty: true, signsIn: true},
		{name: "terminal, interactiveMode Never", interactiveMode: "Never", pty: true, signsIn: true},
		{name: "terminal, interactiveMode Always", interactiveMode: "Always", pty: true, signsIn: true},
		{name: "terminal and CI=true", env: []string{"CI=true"}, pty: true, signsIn: true},
		{name: "no terminal and CI=true", env: []string{"CI=true"}},
		{name: "terminal and AUTHOS_NONINTERACTIVE=1", env: []string{"AUTHOS_NONINTERACTIVE=1"}, pty: true},
		{name: "no terminal and AUTHOS_NONINTERACTIVE=1", env: []string{"AUTHOS_NONINTERACTIVE=1"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			d := startDevServer(t)
			api := startFakeAPIServer(t, d.URL)
			s := newKubectlSandbox(t, d, api)
			if tc.interactiveMode != "" {
				replaceInFile(t, s.env["KUBECONFIG"], "interactiveMode: IfAvailable", "interactiveMode: "+tc.interactiveMode)
			}
			args := []string{"--request-timeout=60s", "get", "namespaces"}
			var c *clientProc
			if tc.pty {
				c = s.clientOnPTY(t, tc.env, "kubectl", args...)
			} else {
				c = s.client(t, tc.env, "kubectl", args...)
			}
			start := time.Now()
			if tc.signsIn {
				s.approveOnScreen(t, 1, "kubectl's terminal", c.screen.String)
				if code := c.wait(t); code != 0 {
					t.Fatalf("kubectl exited %d after the approval\n%s", code, c.output())
				}
				if !strings.Contains(c.stdout.String(), "acme-prod") {
					t.Fatalf("kubectl printed no namespaces\n%s", c.output())
				}
				s.assertDeviceCodes(t, 1, "one kubectl call with a sign-in")
				_, _, distinct := api.log.snapshot()
				if len(distinct) != 1 {
					t.Fatalf("API server accepted %d distinct tokens, want 1", len(distinct))
				}
				// Signed in once: the next calls are hits (with Always,
				// client-go refuses to run the plugin without a terminal).
				if tc.interactiveMode != "Always" {
					assertKubectlWorks(t, s, api, distinct[0])
				}
				s.assertDeviceCodes(t, 1, "after the next kubectl calls")
				return
			}
			code := c.wait(t)
			if el := time.Since(start); el > 15*time.Second {
				t.Errorf("a miss nobody could see took %v", el)
			}
			shown := c.stderr.String()
			if tc.pty {
				shown = c.screen.String()
			}
			if code == 0 || !strings.Contains(shown, "authos-credential-helper login --profile acme") {
				t.Fatalf("kubectl exited %d; want a failure naming the login command\n%s", code, c.output())
			}
			s.assertDeviceCodes(t, 0, "a miss nobody could see")
			if requests, _, _ := api.log.snapshot(); requests != 0 {
				t.Errorf("the API server saw %d requests; the credential failed first, so want none", requests)
			}
		})
	}
}
