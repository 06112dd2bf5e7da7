package authos

import (
	"context"
	"encoding/pem"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestTLSVerificationAndCABundle: a server with a private CA is refused
// until the profile's CA bundle names that CA.
func TestTLSVerificationAndCABundle(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if ua := r.Header.Get("User-Agent"); ua != "authos-credential-helper/test" {
			t.Errorf("User-Agent = %q", ua)
		}
		w.Write([]byte(`{"device_code":"d","user_code":"ABCD-EFGH","verification_uri":"https://x/activate","expires_in":900,"interval":5}`))
	}))
	defer srv.Close()

	c, err := NewClient(srv.URL, "", "authos-credential-helper/test")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.StartDeviceFlow(context.Background(), "a", "b", "c"); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("untrusted certificate accepted: %v", err)
	}

	bundle := filepath.Join(t.TempDir(), "ca.pem")
	pemBytes := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	os.WriteFile(bundle, pemBytes, 0o600)
	c, err = NewClient(srv.URL, bundle, "authos-credential-helper/test")
	if err != nil {
		t.Fatal(err)
	}
	if dc, err := c.StartDeviceFlow(context.Background(), "a", "b", "c"); err != nil || dc.UserCode != "ABCD-EFGH" {
		t.Fatalf("with the CA bundle: %+v %v", dc, err)
	}

	empty := filepath.Join(t.TempDir(), "empty.pem")
	os.WriteFile(empty, []byte("not a certificate"), 0o600)
	if _, err := NewClient(srv.URL, empty, ""); err == nil {
		t.Fatal("accepted a CA bundle with no certificate")
	}
}

// TestProxyFromEnvironment runs in a child process: net/http reads the proxy
// variables once per process.
func TestProxyFromEnvironment(t *testing.T) {
	if os.Getenv("AUTHOS_PROXY_CHILD") == "1" {
		c, err := NewClient("https://sso.example.test", "", "")
		if err != nil {
			t.Fatal(err)
		}
		c.BaseURL = "http://sso.example.test" // plain http so the proxy sees the request
		if err := c.Logout(context.Background(), "tok"); err != nil {
			t.Fatalf("through the proxy: %v", err)
		}
		return
	}
	var proxiedHost string
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		proxiedHost = r.URL.Host
		w.Write([]byte(`{"message":"ok"}`))
	}))
	defer proxy.Close()
	cmd := exec.Command(os.Args[0], "-test.run=^TestProxyFromEnvironment$")
	cmd.Env = append(os.Environ(), "AUTHOS_PROXY_CHILD=1", "HTTP_PROXY="+proxy.URL, "NO_PROXY=", "no_proxy=")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	if proxiedHost != "sso.example.test" {
		t.Fatalf("proxy saw host %q, want the request to go through HTTP_PROXY", proxiedHost)
	}
}

// TestUser: GET /api/user with the bearer; 401 is an APIError, and a
// redirect to another origin is not followed with the token.
func TestUser(t *testing.T) {
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("followed a redirect to another origin with %q", r.Header.Get("Authorization"))
	}))
	defer other.Close()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.Header.Get("Authorization") {
		case "Bearer alive":
			if r.Method != http.MethodGet || r.URL.Path != "/api/user" {
				t.Errorf("%s %s", r.Method, r.URL.Path)
			}
			w.Write([]byte(`{"id":"u1","email":"a@acme.example","org":"acme","service":"cli"}`))
		case "Bearer moved":
			http.Redirect(w, r, other.URL+"/api/user", http.StatusFound)
		default:
			w.WriteHeader(http.StatusUnauthorized)
			w.Write([]byte(`{"error":"Unauthorized"}`))
		}
	}))
	defer srv.Close()
	c, err := NewClient(srv.URL, "", "")
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if u, err := c.User(ctx, "alive"); err != nil || u.Email != "a@acme.example" {
		t.Fatalf("alive: %+v %v", u, err)
	}
	var apiErr *APIError
	if _, err := c.User(ctx, "dead"); !errors.As(err, &apiErr) || apiErr.Status != http.StatusUnauthorized {
		t.Fatalf("dead: %v", err)
	}
	if _, err := c.User(ctx, "moved"); err == nil {
		t.Fatal("moved: no error")
	}
}
