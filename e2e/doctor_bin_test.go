package e2e

import (
	"net/http"
	"net/http/httptest"
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
