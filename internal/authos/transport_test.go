package authos

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// hop is a test server that redirects every request outside /moved/ to
// target (+"/moved"+path) with status, and answers requests under /moved/
// (or every request, when status is 0) with an answer that is both a device
// code and a token. It records what reached it.
type hop struct {
	srv    *httptest.Server
	status int
	target *hop   // nil: redirect to url
	url    string // absolute target when target is nil
	loop   bool   // redirect every request to itself

	mu   sync.Mutex
	seen []seenRequest
}

type seenRequest struct {
	Method, Path, Body, Auth string
}

func newHop(t *testing.T, tlsOn bool) *hop {
	h := &hop{}
	if tlsOn {
		h.srv = httptest.NewTLSServer(h)
	} else {
		h.srv = httptest.NewServer(h)
	}
	t.Cleanup(h.srv.Close)
	return h
}

func (h *hop) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	h.mu.Lock()
	h.seen = append(h.seen, seenRequest{r.Method, r.URL.Path, string(b), r.Header.Get("Authorization")})
	h.mu.Unlock()
	if h.status != 0 && (h.loop || !strings.HasPrefix(r.URL.Path, "/moved/")) {
		loc := h.url
		switch {
		case h.loop:
			loc = r.URL.Path
		case h.target != nil:
			loc = h.target.srv.URL + "/moved" + r.URL.Path
		}
		w.Header().Set("Location", loc)
		w.WriteHeader(h.status)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Write([]byte(`{"device_code":"dc-secret","user_code":"ABCD-EFGH","verification_uri":"https://x/activate","expires_in":900,"interval":5,` +
		`"access_token":"other.host.token","token_type":"Bearer","expires_in":60}`))
}

func (h *hop) requests() []seenRequest {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]seenRequest(nil), h.seen...)
}

// caFile writes the certificate every httptest TLS server shares as a PEM file.
func caFile(t *testing.T, srv *httptest.Server) string {
	path := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestRedirects: every request follows a redirect only to https (or loopback
// http from a loopback http server), and nothing with a body or a bearer
// leaves the first request's origin; same-origin redirects work as before.
func TestRedirects(t *testing.T) {
	const (
		device  = "device code" // POST with a body
		token   = "token poll"  // POST with a body
		logout  = "logout"      // POST with a bearer, no body
		get     = "get"         // GET, neither
		getAuth = "get with bearer"
	)
	type where int
	const (
		self where = iota
		otherTLS
		otherPlain
		remotePlain // http:// on a host that is not loopback
	)
	tests := []struct {
		name      string
		plainBase bool // the base server is loopback http instead of https
		to        where
		statuses  []int
		call      string
		refuse    string // substring of the reason; "" = followed
	}{
		{name: "https to plain http", to: otherPlain, call: token, statuses: []int{301, 302, 303, 307, 308}, refuse: "leaves https for plain http"},
		{name: "https to plain http, device code", to: otherPlain, call: device, statuses: []int{307}, refuse: "leaves https for plain http"},
		{name: "https to plain http, logout", to: otherPlain, call: logout, statuses: []int{307}, refuse: "leaves https for plain http"},
		{name: "https to plain http, GET", to: otherPlain, call: get, statuses: []int{302}, refuse: "leaves https for plain http"},
		{name: "cross-origin https with a body", to: otherTLS, call: device, statuses: []int{301, 302, 303, 307, 308}, refuse: "another server"},
		{name: "cross-origin https, token poll", to: otherTLS, call: token, statuses: []int{307, 308}, refuse: "another server"},
		{name: "cross-origin https with a bearer", to: otherTLS, call: logout, statuses: []int{301, 302, 303, 307, 308}, refuse: "another server"},
		{name: "cross-origin https, GET with a bearer", to: otherTLS, call: getAuth, statuses: []int{302}, refuse: "another server"},
		{name: "cross-origin https, GET without secrets", to: otherTLS, call: get, statuses: []int{301, 302, 303, 307, 308}},
		{name: "same origin", to: self, call: token, statuses: []int{301, 302, 303, 307, 308}},
		{name: "same origin, logout", to: self, call: logout, statuses: []int{307, 308}},
		{name: "loopback http to itself", plainBase: true, to: self, call: device, statuses: []int{302, 307, 308}},
		{name: "loopback http to other loopback http, GET", plainBase: true, to: otherPlain, call: get, statuses: []int{302, 307}},
		{name: "loopback http to other loopback http with a body", plainBase: true, to: otherPlain, call: token, statuses: []int{307}, refuse: "another server"},
		{name: "loopback http to other loopback http with a bearer", plainBase: true, to: otherPlain, call: logout, statuses: []int{307}, refuse: "another server"},
		{name: "loopback http to non-loopback http", plainBase: true, to: remotePlain, call: get, statuses: []int{302}, refuse: "only on loopback"},
	}
	for _, tc := range tests {
		for _, status := range tc.statuses {
			for _, built := range []string{"NewClient", "injected http.Client"} {
				t.Run(tc.name+"/"+http.StatusText(status)+"/"+built, func(t *testing.T) {
					base := newHop(t, !tc.plainBase)
					base.status = status
					var dest *hop
					switch tc.to {
					case self:
						dest = base
					case otherTLS:
						dest = newHop(t, true)
					case otherPlain:
						dest = newHop(t, false)
					}
					base.target = dest
					if tc.to == remotePlain {
						base.url = "http://sso.example.test/moved/x"
					}
					var c *Client
					if built == "NewClient" {
						var err error
						ca := ""
						if !tc.plainBase {
							ca = caFile(t, base.srv)
						}
						if c, err = NewClient(base.srv.URL, ca, "test"); err != nil {
							t.Fatal(err)
						}
					} else {
						c = &Client{BaseURL: base.srv.URL, HTTP: &http.Client{Transport: base.srv.Client().Transport}}
						if !tc.plainBase {
							// trust the other httptest servers too (same certificate)
							c.HTTP = base.srv.Client()
						}
					}

					ctx := context.Background()
					var err error
					route, method, body, sentAuth := "", http.MethodPost, "", false
					switch tc.call {
					case device:
						route, body = "/auth/device/code", `{"client_id":"cli","org":"acme","service":"svc"}`
						_, err = c.StartDeviceFlow(ctx, "cli", "acme", "svc")
					case token:
						route, body = "/auth/token", `{"client_id":"cli","device_code":"dc-secret","grant_type":"`+DeviceGrantType+`"}`
						var tok Token
						tok, err = c.ExchangeDeviceCode(ctx, "dc-secret", "cli")
						if err != nil && tok.AccessToken != "" {
							t.Errorf("a token came back with the error")
						}
					case logout:
						route, sentAuth = "/api/auth/logout", true
						err = c.Logout(ctx, "bearer-secret")
					case get, getAuth:
						route, method = "/api/user", http.MethodGet
						bearer := ""
						if tc.call == getAuth {
							bearer, sentAuth = "bearer-secret", true
						}
						var out map[string]any
						_, err = c.do(ctx, http.MethodGet, route, nil, bearer, &out)
					}

					var atDest []seenRequest
					if dest != nil {
						for _, r := range dest.requests() {
							if strings.HasPrefix(r.Path, "/moved/") {
								atDest = append(atDest, r)
							}
						}
					}
					if tc.refuse != "" {
						var re *RedirectError
						if !errors.As(err, &re) || !Permanent(err) {
							t.Fatalf("err = %v, want a refused redirect", err)
						}
						msg := err.Error()
						if !strings.Contains(msg, tc.refuse) || !strings.Contains(msg, base.srv.URL+route) || strings.Contains(msg, "\n") {
							t.Errorf("message = %q: want one line with the reason %q and both URLs", msg, tc.refuse)
						}
						if dest != nil && !strings.Contains(msg, dest.srv.URL+"/moved"+route) {
							t.Errorf("message = %q does not name the target", msg)
						}
						if len(atDest) != 0 {
							t.Errorf("the redirect target received %+v", atDest)
						}
						return
					}
					if err != nil {
						t.Fatalf("redirect not followed: %v", err)
					}
					if len(atDest) != 1 {
						t.Fatalf("target saw %+v, want one request", atDest)
					}
					got := atDest[0]
					wantMethod, wantBody := method, body
					if status != 307 && status != 308 {
						// net/http turns a POST into a GET without a body on 301/302/303
						wantMethod, wantBody = http.MethodGet, ""
					}
					if got.Method != wantMethod || got.Body != wantBody {
						t.Errorf("the target got %s %q, want %s %q", got.Method, got.Body, wantMethod, wantBody)
					}
					if sentAuth && got.Auth != "Bearer bearer-secret" {
						t.Errorf("same-origin redirect lost the bearer: %+v", got)
					}
					if !sentAuth && got.Auth != "" {
						t.Errorf("an Authorization header appeared: %+v", got)
					}
				})
			}
		}
	}
}

// TestRedirectLoopStops: a server redirecting to itself forever is refused
// after a bounded number of hops, with one clear line.
func TestRedirectLoopStops(t *testing.T) {
	h := newHop(t, true)
	h.status, h.loop = http.StatusFound, true
	c := &Client{BaseURL: h.srv.URL, HTTP: h.srv.Client()}
	_, err := c.StartDeviceFlow(context.Background(), "cli", "acme", "svc")
	if err == nil || !strings.Contains(err.Error(), "stopped after 10 redirects") || !Permanent(err) {
		t.Fatalf("err = %v", err)
	}
	if n := len(h.requests()); n != 10 {
		t.Fatalf("server saw %d requests, want 10", n)
	}
}

// TestTokenServerDate: the Date header of the token answer is kept for the
// clock skew check; absent or unparsable, it stays zero.
func TestTokenServerDate(t *testing.T) {
	tests := []struct {
		name   string
		header []string // nil: no Date header at all
		want   time.Time
	}{
		{"http date", []string{"Tue, 01 Dec 2026 10:00:00 GMT"}, time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)},
		{"absent", nil, time.Time{}},
		{"unparsable", []string{"yesterday"}, time.Time{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header()["Date"] = tc.header // nil keeps net/http from adding one
				w.Write([]byte(`{"access_token":"a.b.c","token_type":"Bearer","expires_in":60}`))
			}))
			defer srv.Close()
			c := &Client{BaseURL: srv.URL, HTTP: srv.Client()}
			tok, err := c.ExchangeDeviceCode(context.Background(), "dc", "cli")
			if err != nil {
				t.Fatal(err)
			}
			if !tok.ServerDate.Equal(tc.want) {
				t.Fatalf("ServerDate = %v, want %v", tok.ServerDate, tc.want)
			}
		})
	}
}

// countingTLSServer is a TLS server that counts the connections it accepts
// and keeps its handshake complaints out of the test log.
func countingTLSServer(t *testing.T, h http.Handler) (*httptest.Server, *atomic.Int32) {
	var conns atomic.Int32
	srv := httptest.NewUnstartedServer(h)
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv, &conns
}

// TestCertificateErrors: a certificate that does not verify is a final,
// typed error whose message says what to set, and the poller does not retry it.
func TestCertificateErrors(t *testing.T) {
	srv, conns := countingTLSServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(`{"access_token":"a.b.c"}`))
	}))
	bundle := caFile(t, srv)
	wrongBundle := filepath.Join(t.TempDir(), "other.pem")
	writeSelfSigned(t, wrongBundle)
	host := strings.TrimPrefix(srv.URL, "https://")
	_, port, _ := net.SplitHostPort(host)

	tests := []struct {
		name, base, bundle string
		want               []string
	}{
		{"unknown CA, no bundle", srv.URL, "", []string{"TLS certificate of " + host + " could not be verified", "x509: certificate signed by unknown authority", `set ca_bundle = "/path/ca.pem" in the profile`}},
		{"unknown CA, bundle without it", srv.URL, wrongBundle, []string{"could not be verified", "the CA bundle " + wrongBundle + " (ca_bundle in the profile) does not hold"}},
		{"wrong host name", "https://localhost:" + port, bundle, []string{"TLS certificate of localhost:" + port, "not localhost", "check server in the profile"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := NewClient(tc.base, tc.bundle, "test")
			if err != nil {
				t.Fatal(err)
			}
			clock := &fakeClock{now: time.Now()}
			before := conns.Load()
			_, err = c.Poll(context.Background(), DeviceCode{DeviceCode: "dc", ExpiresIn: 900, Interval: 5}, "cli", PollOptions{Clock: clock})
			var ce *CertificateError
			if !errors.As(err, &ce) || !Permanent(err) {
				t.Fatalf("err = %v, want a CertificateError", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("message %q lacks %q", err, w)
				}
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("message is not one line: %q", err)
			}
			if n := conns.Load() - before; n != 1 {
				t.Errorf("server saw %d connections, want 1 (no retry)", n)
			}
			if len(clock.slept) != 1 {
				t.Errorf("poller slept %v, want only the first interval", clock.slept)
			}
		})
	}
}

// writeSelfSigned writes a fresh self-signed CA certificate, one that did
// not sign the httptest servers' certificate.
func writeSelfSigned(t *testing.T, path string) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "another test CA"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestCheckRedirectRule: the rule on its own, for chains and spellings the
// servers above do not produce.
func TestCheckRedirectRule(t *testing.T) {
	tests := []struct {
		name   string
		chain  []string // the requests made so far, first one first
		to     string
		secret string // "body", "bearer" or "" for what the first request carried
		refuse string // "" = allowed
	}{
		{"same origin, default port spelled out", []string{"https://sso.example/auth/token"}, "https://SSO.example:443/v2/auth/token", "body", ""},
		{"subdomain keeps no bearer", []string{"https://example.com/api/auth/logout"}, "https://sso.example.com/api/auth/logout", "bearer", "another server"},
		{"same host, other port", []string{"https://sso.example/auth/token"}, "https://sso.example:8443/auth/token", "body", "another server"},
		{"same host, plain http", []string{"https://sso.example/auth/token"}, "http://sso.example/auth/token", "", "leaves https"},
		{"loopback http to https and back", []string{"http://127.0.0.1:3000/x", "https://sso.example/x"}, "http://127.0.0.1:3000/x", "", "leaves https"},
		{"loopback http to localhost http", []string{"http://127.0.0.1:3000/x"}, "http://localhost:3001/x", "", ""},
		{"loopback http to another host's http", []string{"http://127.0.0.1:3000/x"}, "http://10.0.0.1/x", "", "only on loopback"},
		{"other scheme", []string{"https://sso.example/x"}, "ftp://sso.example/x", "", "only https"},
		{"cross-origin https without secrets", []string{"https://sso.example/x"}, "https://cdn.example/x", "", ""},
		{"secret in the first request counts after a clean hop", []string{"https://sso.example/auth/token", "https://sso.example/v2/auth/token"}, "https://evil.example/auth/token", "body", "another server"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var via []*http.Request
			for _, u := range tc.chain {
				var body io.Reader
				if tc.secret == "body" && len(via) == 0 {
					body = strings.NewReader(`{"device_code":"x"}`)
				}
				r := httptest.NewRequest(http.MethodPost, u, body)
				if tc.secret == "bearer" {
					r.Header.Set("Authorization", "Bearer x")
				}
				via = append(via, r)
			}
			req := httptest.NewRequest(http.MethodPost, tc.to, nil)
			req.Response = &http.Response{StatusCode: http.StatusTemporaryRedirect}
			err := CheckRedirect(req, via)
			switch {
			case tc.refuse == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tc.refuse != "" && (err == nil || !strings.Contains(err.Error(), tc.refuse)):
				t.Fatalf("err = %v, want %q", err, tc.refuse)
			}
		})
	}
}

// TestCertificateErrorText: each kind of verification failure is told
// apart, with the hint that fits it; other errors are not certificate errors.
func TestCertificateErrorText(t *testing.T) {
	wrap := func(err error) error {
		return &url.Error{Op: "Post", URL: "https://sso.acme.example/auth/token", Err: err}
	}
	tests := []struct {
		name, bundle string
		err          error
		want         string // "" = not a certificate error
	}{
		{"unknown authority", "", wrap(&tls.CertificateVerificationError{Err: x509.UnknownAuthorityError{}}),
			`TLS certificate of sso.acme.example could not be verified (x509: certificate signed by unknown authority); if the server uses a private CA, set ca_bundle = "/path/ca.pem" in the profile`},
		{"unknown authority with a bundle", "/etc/acme-ca.pem", wrap(&tls.CertificateVerificationError{Err: x509.UnknownAuthorityError{}}),
			"the CA bundle /etc/acme-ca.pem (ca_bundle in the profile) does not hold the CA that signed it"},
		{"expired", "", wrap(&tls.CertificateVerificationError{Err: x509.CertificateInvalidError{Reason: x509.Expired, Detail: "now is after then"}}),
			"certificate has expired or is not yet valid: now is after then); check the server's certificate and this machine's clock"},
		{"host name", "", wrap(x509.HostnameError{Certificate: &x509.Certificate{DNSNames: []string{"other.example\x1b[2J"}}, Host: "sso.acme.example"}),
			"(x509: certificate is valid for other.example, not sso.acme.example); the certificate is for another host name"},
		{"no system roots", "", wrap(x509.SystemRootsError{}), `set ca_bundle = "/path/ca.pem"`},
		{"connection refused", "", wrap(errors.New("dial tcp: connection refused")), ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ce := certificateError(tc.bundle, tc.err)
			if tc.want == "" {
				if ce != nil || Permanent(tc.err) {
					t.Fatalf("%v taken for a certificate error", tc.err)
				}
				return
			}
			if ce == nil || !Permanent(ce) {
				t.Fatalf("%v not taken for a certificate error", tc.err)
			}
			if msg := ce.Error(); !strings.Contains(msg, tc.want) || strings.ContainsAny(msg, "\n\x1b") {
				t.Fatalf("message %q, want one clean line with %q", msg, tc.want)
			}
		})
	}
}
