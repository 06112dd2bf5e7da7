package e2e

// The kubectl exec credential plugin protocol through client-go's own exec
// authenticator (k8s.io/client-go/plugin/pkg/client/auth/exec, which
// rest.Config wires in for ExecProvider), against an API server stub that
// accepts only live AuthOS tokens.

import (
	"context"
	"encoding/json"
	"io/fs"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

const (
	kubeV1      = "client.authentication.k8s.io/v1"
	kubeV1beta1 = "client.authentication.k8s.io/v1beta1"
)

// apiStub answers GET /api and /version with a Bearer token that passes
// checkToken, else 401.
type apiStub struct {
	URL string
	log tokenLog
}

func startAPIStub(t *testing.T, authosURL string) *apiStub {
	t.Helper()
	a := &apiStub{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a.log.seen()
		w.Header().Set("Content-Type", "application/json")
		tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if ok {
			_, err := checkToken(authosURL, tok)
			ok = err == nil
		}
		if !ok {
			a.log.reject()
			w.WriteHeader(http.StatusUnauthorized)
			w.Write([]byte(`{"kind":"Status","apiVersion":"v1","status":"Failure","message":"Unauthorized","reason":"Unauthorized","code":401}`))
			return
		}
		a.log.accept(tok)
		switch r.URL.Path {
		case "/api":
			w.Write([]byte(`{"kind":"APIVersions","versions":["v1"],"serverAddressByClientCIDRs":[]}`))
		case "/version":
			w.Write([]byte(`{"major":"1","minor":"37","gitVersion":"v1.37.0-stub"}`))
		default:
			w.WriteHeader(http.StatusNotFound)
			w.Write([]byte(`{"kind":"Status","apiVersion":"v1","status":"Failure","reason":"NotFound","code":404}`))
		}
	}))
	t.Cleanup(srv.Close)
	a.URL = srv.URL
	return a
}

// kubeSandbox is a sandbox with profile "acme" and a plugin command that
// counts its runs, then execs the binary with its arguments unchanged.
type kubeSandbox struct {
	*sandbox
	plugin, runLog string
}

func newKubeSandbox(t *testing.T, d *devServer) *kubeSandbox {
	t.Helper()
	s := newSandbox(t, "")
	s.writeConfig(t, profileConfig(d.URL))
	k := &kubeSandbox{sandbox: s, plugin: filepath.Join(s.root, "authos-kube-plugin"), runLog: filepath.Join(s.root, "plugin-runs")}
	script := "#!/bin/sh\necho run >> '" + k.runLog + "'\nexec '" + bin + "' \"$@\"\n"
	if err := os.WriteFile(k.plugin, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return k
}

// runs is how many times client-go has run the plugin.
func (k *kubeSandbox) runs(t *testing.T) int {
	t.Helper()
	b, err := os.ReadFile(k.runLog)
	if os.IsNotExist(err) {
		return 0
	}
	if err != nil {
		t.Fatal(err)
	}
	return strings.Count(string(b), "run\n")
}

// execConfig is the kubeconfig exec stanza. client-go runs the plugin with
// the test process's environment plus Env, so Env carries the sandbox and
// blanks whatever in the test process's environment could change the
// helper's behaviour. marker makes configs distinct (client-go shares one
// authenticator, and its credential, among identical exec configs).
func (k *kubeSandbox) execConfig(apiVersion, marker string) *clientcmdapi.ExecConfig {
	var env []clientcmdapi.ExecEnvVar
	for _, name := range slices.Sorted(maps.Keys(k.env)) {
		env = append(env, clientcmdapi.ExecEnvVar{Name: name, Value: k.env[name]})
	}
	for _, name := range []string{
		"AUTHOS_NONINTERACTIVE", "CI", "GIT_TERMINAL_PROMPT",
		"AUTHOS_PROFILE", "AUTHOS_SERVER", "AUTHOS_ORG", "AUTHOS_SERVICE", "AUTHOS_CLIENT_ID",
		"AUTHOS_CACHE_BACKEND", "AUTHOS_CACHE_PASSPHRASE", "DBUS_SESSION_BUS_ADDRESS",
	} {
		if _, set := k.env[name]; !set {
			env = append(env, clientcmdapi.ExecEnvVar{Name: name, Value: ""})
		}
	}
	env = append(env, clientcmdapi.ExecEnvVar{Name: "E2E_CLIENT", Value: marker})
	return &clientcmdapi.ExecConfig{
		Command:         k.plugin,
		Args:            []string{"kube", "--profile", "acme"},
		APIVersion:      apiVersion,
		Env:             env,
		InteractiveMode: clientcmdapi.IfAvailableExecInteractiveMode,
		InstallHint:     "build authos-credential-helper",
	}
}

// kubeClient is a client-go clientset for the stub with the exec plugin.
func kubeClient(t *testing.T, host string, ec *clientcmdapi.ExecConfig) *kubernetes.Clientset {
	t.Helper()
	cs, err := kubernetes.NewForConfig(&rest.Config{Host: host, ExecProvider: ec, Timeout: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return cs
}

// getAPI does GET /api; it returns the body or the error.
func getAPI(cs *kubernetes.Clientset) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	defer cancel()
	b, err := cs.Discovery().RESTClient().Get().AbsPath("/api").DoRaw(ctx)
	return string(b), err
}

func mustGetAPI(t *testing.T, cs *kubernetes.Clientset, what string) {
	t.Helper()
	body, err := getAPI(cs)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	if !strings.Contains(body, `"APIVersions"`) {
		t.Fatalf("%s: body %q", what, body)
	}
}

func TestKubeExecPlugin(t *testing.T) {
	t.Parallel()
	for _, apiVersion := range []string{kubeV1, kubeV1beta1} {
		t.Run(strings.TrimPrefix(apiVersion, "client.authentication.k8s.io/"), func(t *testing.T) {
			t.Parallel()
			d := startDevServer(t)
			stub := startAPIStub(t, d.URL)
			k := newKubeSandbox(t, d)

			// (a) The first request runs the plugin, which signs in.
			cs := kubeClient(t, stub.URL, k.execConfig(apiVersion, "first"))
			type result struct {
				body string
				err  error
			}
			done := make(chan result, 1)
			go func() { b, err := getAPI(cs); done <- result{b, err} }()
			c := d.waitPendingCode(t, 1)
			d.control(t, "approve", c.UserCode, "alice@acme.example")
			var r result
			select {
			case r = <-done:
			case <-time.After(40 * time.Second):
				t.Fatal("first request did not finish")
			}
			if r.err != nil || !strings.Contains(r.body, `"APIVersions"`) {
				t.Fatalf("first request: %v %q", r.err, r.body)
			}
			if n := d.codes(t).DeviceCodeRequests; n != 1 {
				t.Fatalf("first request: %d device-code requests, want 1", n)
			}
			_, _, distinct := stub.log.snapshot()
			if len(distinct) != 1 {
				t.Fatalf("stub accepted %d distinct tokens, want 1", len(distinct))
			}
			tok := distinct[0]
			if c, err := checkToken(d.URL, tok); err != nil || c.Email != "alice@acme.example" {
				t.Fatalf("token client-go sent: %v (email %q)", err, c.Email)
			}

			// Later requests in this process reuse client-go's credential:
			// the plugin does not run again.
			mustGetAPI(t, cs, "second request")
			mustGetAPI(t, cs, "third request")
			if n := k.runs(t); n != 1 {
				t.Fatalf("plugin ran %d times for three requests with an unexpired credential, want 1", n)
			}
			requests, rejected, distinct := stub.log.snapshot()
			if requests != 3 || rejected != 0 || len(distinct) != 1 {
				t.Fatalf("stub: %d requests, %d rejected, %d distinct tokens; want 3, 0, 1", requests, rejected, len(distinct))
			}

			// A fresh client (another kubectl, in effect) runs the plugin
			// again, which serves the helper's cache: no new device flow.
			cs2 := kubeClient(t, stub.URL, k.execConfig(apiVersion, "second"))
			mustGetAPI(t, cs2, "fresh client")
			if n := k.runs(t); n != 2 {
				t.Fatalf("fresh client: plugin ran %d times in all, want 2", n)
			}
			if r := d.codes(t); r.DeviceCodeRequests != 1 {
				t.Fatalf("fresh client: %d device-code requests in all, want 1", r.DeviceCodeRequests)
			}
			if last := stub.log.last(); last != tok {
				t.Fatal("fresh client sent a different token than the cached one")
			}
		})
	}
}

// execCredentialOut is the plugin's answer.
type execCredentialOut struct {
	Kind       string `json:"kind"`
	APIVersion string `json:"apiVersion"`
	Status     struct {
		Token               string `json:"token"`
		ExpirationTimestamp string `json:"expirationTimestamp"`
	} `json:"status"`
}

// runKubeDirect runs `kube --profile acme` in the sandbox with
// KUBERNETES_EXEC_INFO set (not through client-go).
func runKubeDirect(t *testing.T, s *sandbox, execInfo string) (stdout, stderr string, code int) {
	t.Helper()
	s.env["KUBERNETES_EXEC_INFO"] = execInfo
	defer delete(s.env, "KUBERNETES_EXEC_INFO")
	return s.run(t, "kube", "--profile", "acme")
}

func execInfo(apiVersion string) string {
	return `{"kind":"ExecCredential","apiVersion":"` + apiVersion + `","spec":{"interactive":false}}`
}

func TestKubeExpiryReExec(t *testing.T) {
	t.Parallel()
	d := startDevServer(t, "--token-lifetime", "8s", "--auto-approve", "alice@acme.example")
	stub := startAPIStub(t, d.URL)
	k := newKubeSandbox(t, d)
	cs := kubeClient(t, stub.URL, k.execConfig(kubeV1, "expiry"))

	mustGetAPI(t, cs, "first request (auto-approved sign-in)")
	mustGetAPI(t, cs, "second request")
	if n := k.runs(t); n != 1 {
		t.Fatalf("plugin ran %d times before the credential expired, want 1", n)
	}
	if n := d.codes(t).DeviceCodeRequests; n != 1 {
		t.Fatalf("%d device-code requests, want 1", n)
	}
	tokA := stub.log.last()
	claimsA, err := verifyJWT(d.URL, tokA)
	if err != nil {
		t.Fatal(err)
	}

	// What the helper told client-go: the same token, expiring at the real
	// expiry minus the margin (capped at half the 8 s life).
	out, errOut, code := runKubeDirect(t, k.sandbox, execInfo(kubeV1))
	if code != 0 {
		t.Fatalf("kube (cache hit) exited %d: %s", code, errOut)
	}
	var ec execCredentialOut
	if err := json.Unmarshal([]byte(out), &ec); err != nil {
		t.Fatalf("kube output: %v\n%s", err, out)
	}
	if ec.Kind != "ExecCredential" || ec.APIVersion != kubeV1 || ec.Status.Token != tokA {
		t.Fatalf("kube output: kind %q apiVersion %q, same token: %v", ec.Kind, ec.APIVersion, ec.Status.Token == tokA)
	}
	exp, err := time.Parse(time.RFC3339, ec.Status.ExpirationTimestamp)
	if err != nil {
		t.Fatalf("expirationTimestamp %q: %v", ec.Status.ExpirationTimestamp, err)
	}
	jwtExp := time.Unix(claimsA.Exp, 0)
	if gap := jwtExp.Sub(exp); gap < 3*time.Second || gap > 5*time.Second {
		t.Fatalf("expirationTimestamp %v is %v before the JWT's exp %v; want about half the 8 s life", exp, gap, jwtExp)
	}

	// Past that time (the timestamp has whole seconds, so the helper's own
	// cut-off is within a second after it), client-go runs the plugin again
	// and the helper signs in again.
	waitFor(t, "the credential's expirationTimestamp to pass", 15*time.Second, func() bool {
		return time.Now().After(exp.Add(time.Second))
	})
	mustGetAPI(t, cs, "request after expiry")
	if n := k.runs(t); n != 2 {
		t.Fatalf("plugin ran %d times in all after expiry, want 2", n)
	}
	if n := d.codes(t).DeviceCodeRequests; n != 2 {
		t.Fatalf("%d device-code requests in all after expiry, want 2", n)
	}
	tokB := stub.log.last()
	if tokB == tokA {
		t.Fatal("after expiry the stub saw the old token again")
	}
	mustGetAPI(t, cs, "request with the renewed credential")
	if n := k.runs(t); n != 2 {
		t.Fatalf("plugin ran %d times in all after renewal, want 2", n)
	}
	if stub.log.last() != tokB {
		t.Fatal("the renewed credential was not reused")
	}
}

// cacheSnapshot is every file under the sandbox's XDG cache and state dirs
// with its content and modification time.
func cacheSnapshot(t *testing.T, s *sandbox) map[string]string {
	t.Helper()
	snap := map[string]string{}
	for _, root := range []string{s.env["XDG_CACHE_HOME"], s.env["XDG_STATE_HOME"], s.env["XDG_DATA_HOME"]} {
		filepath.WalkDir(root, func(path string, de fs.DirEntry, err error) error {
			if err != nil || de.IsDir() {
				return nil
			}
			info, err := de.Info()
			if err != nil {
				return nil
			}
			b, _ := os.ReadFile(path)
			snap[path] = info.ModTime().String() + "\x00" + string(b)
			return nil
		})
	}
	return snap
}

func TestKubeMalformedExecInfo(t *testing.T) {
	t.Parallel()
	d := startDevServer(t)
	k := newKubeSandbox(t, d)
	tok := loginProfile(t, k.sandbox, d, 1)
	before := cacheSnapshot(t, k.sandbox)
	if len(before) == 0 {
		t.Fatal("no cache files after login")
	}
	codes := d.codes(t)

	// A raw NUL cannot travel in an environment variable (execve strings
	// end at NUL), so the NUL cases are JSON-escaped ones.
	cases := map[string]string{
		"not JSON":          `ExecCredential please`,
		"truncated JSON":    `{"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1"`,
		"JSON array":        `[]`,
		"JSON null":         `null`,
		"wrong kind":        `{"kind":"Pod","apiVersion":"client.authentication.k8s.io/v1","spec":{}}`,
		"no kind":           `{"apiVersion":"client.authentication.k8s.io/v1","spec":{}}`,
		"v1alpha1":          `{"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1alpha1","spec":{}}`,
		"other group":       `{"kind":"ExecCredential","apiVersion":"v1","spec":{}}`,
		"NUL in kind":       `{"kind":"ExecCredential\u0000","apiVersion":"client.authentication.k8s.io/v1","spec":{}}`,
		"NUL in apiVersion": `{"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1\u0000","spec":{}}`,
		"invalid UTF-8":     "{\"kind\":\"ExecCredential\xff\",\"apiVersion\":\"client.authentication.k8s.io/v1\",\"spec\":{}}",
	}
	for name, info := range cases {
		out, errOut, code := runKubeDirect(t, k.sandbox, info)
		if code != 1 || out != "" {
			t.Errorf("%s: exit %d, %d bytes on stdout; want 1 and nothing", name, code, len(out))
		}
		if strings.Count(errOut, "\n") != 1 || !strings.HasSuffix(errOut, "\n") || !strings.HasPrefix(errOut, "authos-credential-helper: ") {
			t.Errorf("%s: stderr is not one line: %q", name, errOut)
		}
		if strings.Contains(errOut, tok) || strings.ContainsRune(errOut, 0) {
			t.Errorf("%s: stderr carries the token or a NUL: %q", name, errOut)
		}
	}
	if after := cacheSnapshot(t, k.sandbox); !maps.Equal(before, after) {
		t.Fatal("malformed KUBERNETES_EXEC_INFO changed the cache files")
	}
	if after := d.codes(t); after.DeviceCodeRequests != codes.DeviceCodeRequests || after.TokenRequests != codes.TokenRequests {
		t.Fatalf("malformed KUBERNETES_EXEC_INFO contacted the server: %+v -> %+v", codes, after)
	}

	// The same sandbox answers well-formed requests, in the version asked.
	for _, v := range []string{kubeV1, kubeV1beta1} {
		out, errOut, code := runKubeDirect(t, k.sandbox, execInfo(v))
		var ec execCredentialOut
		if code != 0 || errOut != "" || json.Unmarshal([]byte(out), &ec) != nil {
			t.Fatalf("%s: exit %d, stderr %q, stdout %q", v, code, errOut, out)
		}
		if ec.Kind != "ExecCredential" || ec.APIVersion != v || ec.Status.Token != tok {
			t.Fatalf("%s: kind %q apiVersion %q, same token: %v", v, ec.Kind, ec.APIVersion, ec.Status.Token == tok)
		}
		if exp, err := time.Parse(time.RFC3339, ec.Status.ExpirationTimestamp); err != nil || !exp.After(time.Now()) {
			t.Fatalf("%s: expirationTimestamp %q: %v", v, ec.Status.ExpirationTimestamp, err)
		}
	}
}
