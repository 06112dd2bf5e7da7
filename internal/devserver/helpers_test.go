package devserver

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// testKey is shared by all tests: generating RSA keys is slow.
var testKey = sync.OnceValue(func() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return k
})

type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *fakeClock {
	return &fakeClock{t: time.Date(2026, 3, 4, 10, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

type harness struct {
	t     *testing.T
	srv   *Server
	clock *fakeClock
	url   string
}

// newHarness starts a server behind httptest with an injected clock. The
// limiter is off unless the options say otherwise via limit.
func newHarness(t *testing.T, opts Options, limit bool) *harness {
	t.Helper()
	ts := httptest.NewUnstartedServer(nil)
	base := "http://" + ts.Listener.Addr().String()
	clock := newClock()
	opts.BaseURL = base
	opts.Now = clock.Now
	opts.Key = testKey()
	opts.DisableRateLimit = !limit
	srv, err := New(opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	ts.Config.Handler = srv
	ts.Start()
	t.Cleanup(ts.Close)
	return &harness{t: t, srv: srv, clock: clock, url: base}
}

type reply struct {
	status int
	header http.Header
	body   string
}

func (r reply) envelope(t *testing.T) envelope {
	t.Helper()
	var e envelope
	if err := json.Unmarshal([]byte(r.body), &e); err != nil {
		t.Fatalf("body %q is not an envelope: %v", r.body, err)
	}
	if _, err := time.Parse(time.RFC3339Nano, e.Timestamp); err != nil {
		t.Fatalf("timestamp %q is not RFC 3339: %v", e.Timestamp, err)
	}
	return e
}

func (h *harness) do(method, path, contentType, body string, hdr ...string) reply {
	h.t.Helper()
	req, err := http.NewRequest(method, h.url+path, strings.NewReader(body))
	if err != nil {
		h.t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		h.t.Fatal(err)
	}
	return reply{resp.StatusCode, resp.Header, string(b)}
}

func (h *harness) postJSON(path string, v any) reply {
	h.t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		h.t.Fatal(err)
	}
	return h.do(http.MethodPost, path, "application/json", string(b))
}

// start requests a device code and returns the answer.
func (h *harness) start(clientID, org, svc string) deviceCodeResponse {
	h.t.Helper()
	r := h.postJSON("/auth/device/code", map[string]string{"client_id": clientID, "org": org, "service": svc})
	if r.status != http.StatusOK {
		h.t.Fatalf("device code: %d %s", r.status, r.body)
	}
	var dc deviceCodeResponse
	if err := json.Unmarshal([]byte(r.body), &dc); err != nil {
		h.t.Fatal(err)
	}
	return dc
}

func (h *harness) poll(deviceCode, clientID string, extra ...string) reply {
	h.t.Helper()
	body := map[string]string{"grant_type": deviceCodeGrantType, "device_code": deviceCode, "client_id": clientID}
	for i := 0; i+1 < len(extra); i += 2 {
		body[extra[i]] = extra[i+1]
	}
	return h.postJSON("/auth/token", body)
}

func (h *harness) must(err error) {
	h.t.Helper()
	if err != nil {
		h.t.Fatal(err)
	}
}

// wantError asserts an envelope answer.
func wantError(t *testing.T, r reply, status int, code, msg string) {
	t.Helper()
	if r.status != status {
		t.Fatalf("status = %d, want %d (body %s)", r.status, status, r.body)
	}
	if ct := r.header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q", ct)
	}
	e := r.envelope(t)
	if e.ErrorCode != code || e.Error != msg {
		t.Fatalf("got %s %q, want %s %q", e.ErrorCode, e.Error, code, msg)
	}
}

func decodeToken(t *testing.T, r reply) tokenResponse {
	t.Helper()
	if r.status != http.StatusOK {
		t.Fatalf("token: %d %s", r.status, r.body)
	}
	var raw map[string]any
	if err := json.Unmarshal([]byte(r.body), &raw); err != nil {
		t.Fatal(err)
	}
	if len(raw) != 3 {
		t.Errorf("token answer has fields %v, want exactly access_token, token_type, expires_in", raw)
	}
	var tr tokenResponse
	if err := json.Unmarshal([]byte(r.body), &tr); err != nil {
		t.Fatal(err)
	}
	return tr
}
