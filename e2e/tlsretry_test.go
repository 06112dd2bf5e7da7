package e2e

import (
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// TestUnverifiedCertificateIsOneLineAndNoRetry: a server whose certificate
// the helper cannot verify (a private CA, no ca_bundle) is tried once, and
// the one line on stderr says which setting fixes it.
func TestUnverifiedCertificateIsOneLineAndNoRetry(t *testing.T) {
	t.Parallel()
	var conns atomic.Int32
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("a request got through: %s %s", r.Method, r.URL.Path)
	}))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.StartTLS()
	defer srv.Close()

	s := newSandbox(t, srv.URL)
	out, errOut, code := s.run(t, "token")
	if code == 0 || out != "" {
		t.Fatalf("token: exit %d, stdout %q", code, out)
	}
	line := strings.TrimSpace(errOut)
	t.Logf("stderr: %s", line)
	host := strings.TrimPrefix(srv.URL, "https://")
	if strings.Contains(line, "\n") || !strings.Contains(line, "TLS certificate of "+host+" could not be verified") ||
		!strings.Contains(line, `set ca_bundle = "/path/ca.pem" in the profile`) {
		t.Errorf("want one line naming the host and ca_bundle; stderr:\n%s", errOut)
	}
	if n := conns.Load(); n != 1 {
		t.Errorf("the server saw %d connections, want 1 (no retries)", n)
	}
}

// retriesThenOneLine reports whether stderr is n retry notices of the
// device-code request (2 s, then doubling) and then one line with the error.
func retriesThenOneLine(stderr string, n int) bool {
	lines := strings.Split(strings.TrimSpace(stderr), "\n")
	if len(lines) != n+1 {
		return false
	}
	wait := 2 * time.Second
	for _, l := range lines[:n] {
		if !strings.HasPrefix(l, "authos: server trouble (") || !strings.HasSuffix(l, "; retrying in "+wait.String()) {
			return false
		}
		wait *= 2
	}
	return !strings.Contains(lines[n], "retrying")
}
