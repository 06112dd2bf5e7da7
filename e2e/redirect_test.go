package e2e

import (
	"encoding/pem"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// tlsFront is an https server in front of the dev server (the legitimate
// parts of a flow) that can be told to 307-redirect chosen routes elsewhere.
type tlsFront struct {
	srv *httptest.Server
	ca  string // its certificate as a PEM file, for ca_bundle

	mu        sync.Mutex
	redirects map[string]string // route → base URL to send it to
}

func newTLSFront(t *testing.T, upstream string) *tlsFront {
	t.Helper()
	target, err := url.Parse(upstream)
	if err != nil {
		t.Fatal(err)
	}
	proxy := &httputil.ReverseProxy{Rewrite: func(r *httputil.ProxyRequest) { r.SetURL(target) }}
	f := &tlsFront{redirects: map[string]string{}}
	f.srv = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		to, ok := f.redirects[r.URL.Path]
		f.mu.Unlock()
		if ok {
			http.Redirect(w, r, to+r.URL.Path, http.StatusTemporaryRedirect)
			return
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(f.srv.Close)
	f.ca = filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(f.ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: f.srv.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *tlsFront) redirect(route, to string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.redirects[route] = to
}

// config is a profile for the front, trusting its certificate.
func (f *tlsFront) config() string {
	return "default_profile = \"acme\"\n" + profileConfig(f.srv.URL, "ca_bundle = "+`"`+f.ca+`"`)
}

// plainHost is the attacker's plain-http server: it records what reaches it
// and answers like AuthOS would, with a token of its own.
type plainHost struct {
	srv  *httptest.Server
	mu   sync.Mutex
	seen []string
}

func newPlainHost(t *testing.T) *plainHost {
	h := &plainHost{}
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		h.mu.Lock()
		h.seen = append(h.seen, r.Method+" "+r.URL.Path+" auth="+r.Header.Get("Authorization")+" body="+string(b))
		h.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"device_code":"evil","user_code":"EVIL-CODE","verification_uri":"http://evil/activate","expires_in":900,"interval":1,`+
			`"access_token":"eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJldmlsIn0.c2ln","token_type":"Bearer","expires_in":3600}`)
	}))
	t.Cleanup(h.srv.Close)
	return h
}

func (h *plainHost) requests() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.seen...)
}

// refusalLine is the one stderr line saying the redirect from front's route
// to other was refused; it fails unless there is exactly one.
func refusalLine(t *testing.T, stderr, from, to string) string {
	t.Helper()
	var found []string
	for _, l := range strings.Split(stderr, "\n") {
		if strings.Contains(l, "redirected") {
			found = append(found, l)
		}
	}
	t.Logf("stderr:\n%s", stderr)
	if len(found) != 1 || !strings.Contains(found[0], from) || !strings.Contains(found[0], to) || !strings.Contains(found[0], "refusing") {
		t.Fatalf("want one line saying %s → %s was refused; stderr:\n%s", from, to, stderr)
	}
	return found[0]
}

// TestRedirectToPlainHTTPIsRefused: an https server redirecting the
// device-code request or the token poll to plain http gets neither the
// request body nor a cached token from the other host.
func TestRedirectToPlainHTTPIsRefused(t *testing.T) {
	t.Parallel()
	d := startDevServer(t)
	for _, route := range []string{"/auth/device/code", "/auth/token"} {
		t.Run(strings.ReplaceAll(route, "/", "_"), func(t *testing.T) {
			front := newTLSFront(t, d.URL)
			other := newPlainHost(t)
			front.redirect(route, other.srv.URL)
			s := newSandbox(t, "")
			s.writeConfig(t, front.config())

			out, errOut, code := s.run(t, "token")
			if code == 0 || out != "" {
				t.Errorf("token: exit %d, stdout %q", code, out)
			}
			if seen := other.requests(); len(seen) != 0 {
				t.Errorf("the plain http host received %q", seen)
			}
			if entries, _ := filepath.Glob(filepath.Join(s.tokensDir(), "*.entry")); len(entries) != 0 {
				t.Errorf("something was cached: %v", entries)
			}
			if route == "/auth/device/code" && strings.Count(strings.TrimSpace(errOut), "\n") != 0 {
				t.Errorf("more than one line on stderr:\n%s", errOut)
			}
			refusalLine(t, errOut, front.srv.URL+route, other.srv.URL+route)
		})
	}
}

// TestLogoutRedirectDoesNotCarryTheToken: logout's bearer does not follow a
// redirect to another host (net/http would send it to the same host name on
// another port).
func TestLogoutRedirectDoesNotCarryTheToken(t *testing.T) {
	t.Parallel()
	d := startDevServer(t)
	front := newTLSFront(t, d.URL)
	s := newSandbox(t, "")
	s.writeConfig(t, front.config())
	tok := s.login(t, d, 1, "alice@acme.example")
	if tok == "" {
		t.Fatal("no token through the TLS front")
	}

	other := newPlainHost(t)
	front.redirect("/api/auth/logout", other.srv.URL)
	_, errOut, _ := s.run(t, "logout")
	if seen := other.requests(); len(seen) != 0 {
		t.Errorf("the other host received %q", seen)
	}
	if strings.Contains(errOut, tok) {
		t.Errorf("the token is on stderr")
	}
	refusalLine(t, errOut, front.srv.URL+"/api/auth/logout", other.srv.URL+"/api/auth/logout")
}
