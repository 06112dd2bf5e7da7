package e2e

import (
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
)

// What `setup kube` warns about and doctor flags, shown with the real
// kubectl: for an http:// cluster kubectl never runs the exec plugin, so
// the request goes out with no credentials and the helper sees nothing.
func TestDoctorKubectlPlainHTTPCluster(t *testing.T) {
	t.Parallel()
	d := startDevServer(t)
	var unauthenticated, withToken atomic.Int32
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") == "" {
			unauthenticated.Add(1)
		} else {
			withToken.Add(1)
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		w.Write([]byte(`{"kind":"Status","apiVersion":"v1","status":"Failure","message":"Unauthorized","reason":"Unauthorized","code":401}`))
	}))
	t.Cleanup(api.Close)
	s := newBinSandbox(t, d)
	writeFile(t, s.env["KUBECONFIG"], "apiVersion: v1\nkind: Config\nclusters:\n- name: plain\n  cluster:\n    server: "+api.URL+"\n"+
		"contexts:\n- name: plain\n  context:\n    cluster: plain\n    user: nobody\ncurrent-context: plain\nusers:\n- name: nobody\n  user: {}\n")
	errOut := s.setup(t, "kube", "--profile", "acme", "--context", "plain")
	if !strings.Contains(errOut, "kube: warning: context plain's cluster plain is "+api.URL+": kubectl runs no exec plugin over plain http") {
		t.Fatalf("setup kube gave no warning:\n%s", errOut)
	}
	s.login(t, 1)
	cnt := newCounter(t, s.root, "kube-plugin")
	replaceInFile(t, s.env["KUBECONFIG"], "command: authos-credential-helper\n", "command: "+cnt.path+"\n")

	c, code := s.kubectl(t, nil, "get", "--raw", "/version")
	if code == 0 {
		t.Fatalf("kubectl succeeded against a server that refuses everything:\n%s", c.output())
	}
	if runs := cnt.runs(t); len(runs) != 0 || withToken.Load() != 0 || unauthenticated.Load() == 0 {
		t.Fatalf("kubectl ran the plugin %d times and sent %d requests with a token, %d without; want 0, 0 and some",
			len(runs), withToken.Load(), unauthenticated.Load())
	}

	out, code := s.doctor(t, "--offline")
	if code != 1 {
		t.Fatalf("doctor exit %d:\n%s", code, out)
	}
	checkLine(t, out, "✗", "kube", "context plain: cluster plain is "+api.URL+", and kubectl runs no exec plugin over plain http", "use the cluster's https:// address")
}

// With the real docker: a credsStore naming another helper (and no
// credHelpers entry) answers for the registry instead of authos; doctor
// names it, and its fix (setup docker: a credHelpers entry wins over
// credsStore) makes docker use the helper again, credsStore untouched.
func TestDoctorDockerCredsStoreAhead(t *testing.T) {
	t.Parallel()
	d := startDevServer(t)
	reg := startFakeRegistry(t, d.URL, false, false)
	s := newDockerSandbox(t, d, reg)
	s.login(t, 1)
	cfgPath := filepath.Join(s.env["DOCKER_CONFIG"], "config.json")
	writeFile(t, cfgPath, `{"credsStore": "desktop"}`)

	c, code := s.runClient(t, nil, "docker", dockerInspectArgs(reg)...)
	// docker asks docker-credential-desktop (not installed here), gets
	// nothing, and goes without credentials: the helper is never asked.
	if msg := strings.ToLower(c.stderr.String()); code == 0 || !strings.Contains(msg, "no basic auth credentials") && !strings.Contains(msg, "unauthorized") {
		t.Fatalf("docker with credsStore desktop: exit %d, want a refusal\n%s", code, c.output())
	}
	out, code := s.doctor(t, "--offline")
	if code != 1 {
		t.Fatalf("doctor exit %d:\n%s", code, out)
	}
	checkLine(t, out, "✗", "docker", reg.host+`: docker asks credsStore "desktop"`, "authos-credential-helper setup docker --profile acme")

	s.setup(t, "docker", "--profile", "acme")
	c, code = s.runClient(t, nil, "docker", dockerInspectArgs(reg)...)
	assertInspected(t, c, code, reg)
	if got := setupRead(t, cfgPath); !strings.Contains(got, `"credsStore": "desktop"`) {
		t.Errorf("the fix changed credsStore:\n%s", got)
	}
	if out, code := s.doctor(t, "--offline"); code != 0 {
		t.Errorf("after the fix: exit %d\n%s", code, out)
	}
	s.assertDeviceCodes(t, 1, "docker after login, before and after the fix")
}
