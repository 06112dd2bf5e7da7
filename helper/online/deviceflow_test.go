package online

import (
	"context"
	"encoding/pem"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/authos/authos-credential-helper/helper"
	"github.com/authos/authos-credential-helper/internal/authos"
)

// stepClock advances only when slept on, and records each sleep.
type stepClock struct {
	mu    sync.Mutex
	now   time.Time
	slept []time.Duration
}

func (c *stepClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *stepClock) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	c.slept = append(c.slept, d)
	return nil
}

// recordingPrompter keeps what the person would have been shown, in order.
type recordingPrompter struct {
	mu  sync.Mutex
	log []string
	evs []authos.Event
}

func (p *recordingPrompter) add(s string) { p.mu.Lock(); defer p.mu.Unlock(); p.log = append(p.log, s) }
func (p *recordingPrompter) ShowCode(_ helper.Identity, _, code string, _ time.Time) {
	p.add("code " + code)
}
func (p *recordingPrompter) Event(ev authos.Event) {
	p.mu.Lock()
	p.evs = append(p.evs, ev)
	p.mu.Unlock()
	p.add(helper.EventText(ev))
}
func (p *recordingPrompter) Waiting(helper.Identity) { p.add("waiting") }
func (p *recordingPrompter) Finish(err error)        { p.add(fmt.Sprintf("finish %v", err != nil)) }

type reply struct {
	status     int
	body       string
	retryAfter string
}

var (
	codeOK      = reply{200, `{"device_code":"dc","user_code":"ABCD-EFGH","verification_uri":"https://sso.example/activate","expires_in":900,"interval":5}`, ""}
	tokenReply  = reply{200, `{"access_token":"a.b.c","token_type":"Bearer","expires_in":3600}`, ""}
	unavailable = reply{503, `{"error":"database is down","error_code":"INTERNAL_SERVER_ERROR"}`, ""}
	badClient   = reply{400, `{"error":"Invalid client credentials","error_code":"BAD_REQUEST"}`, ""}
)

func limited(after string) reply {
	return reply{429, "Too Many Requests! Wait for " + after + "s", after}
}

// scriptedServer answers /auth/device/code with codes in order (repeating
// the last) and /auth/token with a token.
func scriptedServer(t *testing.T, codes ...reply) (*httptest.Server, *atomic.Int32) {
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a := tokenReply
		if r.URL.Path == "/auth/device/code" {
			a = codes[min(int(n.Add(1))-1, len(codes)-1)]
		}
		if a.retryAfter != "" {
			w.Header().Set("Retry-After", a.retryAfter)
		}
		w.WriteHeader(a.status)
		w.Write([]byte(a.body))
	}))
	t.Cleanup(srv.Close)
	return srv, &n
}

// TestDeviceLoginRetriesTheDeviceCode: retries of the device-code request
// are said on the status line, honour retry-after plus a second, and
// give up at once on what retrying cannot fix.
func TestDeviceLoginRetriesTheDeviceCode(t *testing.T) {
	tests := []struct {
		name      string
		codes     []reply
		wantErr   string // "" means a token
		wantCalls int32
		wantSleep []time.Duration // before the code is shown
		wantLog   []string
	}{
		{name: "server errors, then a code", codes: []reply{unavailable, unavailable, codeOK},
			wantCalls: 3, wantSleep: []time.Duration{2 * time.Second, 4 * time.Second},
			wantLog: []string{"server trouble (/auth/device/code answered 503 INTERNAL_SERVER_ERROR: database is down); retrying in 2s",
				"server trouble (/auth/device/code answered 503 INTERNAL_SERVER_ERROR: database is down); retrying in 4s",
				"code ABCD-EFGH", "finish false"}},
		{name: "429 waits retry-after plus a second", codes: []reply{limited("3"), codeOK},
			wantCalls: 1 + 1, wantSleep: []time.Duration{4 * time.Second},
			wantLog: []string{"server trouble (/auth/device/code answered 429: Too Many Requests! Wait for 3s); retrying in 4s", "code ABCD-EFGH", "finish false"}},
		{name: "429 with a short retry-after keeps the backoff", codes: []reply{limited("0"), codeOK},
			wantCalls: 2, wantSleep: []time.Duration{2 * time.Second}},
		{name: "429 asking for more than two minutes is passed on", codes: []reply{limited("600")},
			wantErr: "answered 429", wantCalls: 1, wantLog: []string{}},
		{name: "three failures give up", codes: []reply{unavailable},
			wantErr: "answered 503", wantCalls: 3, wantSleep: []time.Duration{2 * time.Second, 4 * time.Second}},
		{name: "a final answer is not retried", codes: []reply{badClient},
			wantErr: "check them in the profile", wantCalls: 1, wantLog: []string{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv, calls := scriptedServer(t, tc.codes...)
			clock := &stepClock{now: time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)}
			p := &recordingPrompter{}
			id := helper.Identity{Server: srv.URL, Org: "acme", Service: "cli", ClientID: "acme-cli"}
			tok, err := DeviceLogin("test", clock)(context.Background(), id, p)
			if tc.wantErr == "" {
				if err != nil || tok.AccessToken != "a.b.c" {
					t.Fatalf("DeviceLogin = %+v, %v", tok, err)
				}
			} else if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("err = %v, want it to mention %q", err, tc.wantErr)
			}
			if n := calls.Load(); n != tc.wantCalls {
				t.Errorf("device code requests = %d, want %d", n, tc.wantCalls)
			}
			sleeps := clock.slept
			if tc.wantErr == "" {
				sleeps = sleeps[:len(sleeps)-1] // the poll interval
			}
			if fmt.Sprint(sleeps) != fmt.Sprint(tc.wantSleep) {
				t.Errorf("waits before the code = %v, want %v", sleeps, tc.wantSleep)
			}
			for i, ev := range p.evs {
				if i < len(tc.wantSleep) && (ev.Kind != authos.EventRetrying || ev.Interval != tc.wantSleep[i]) {
					t.Errorf("event %d = %+v, want retrying in %v", i, ev, tc.wantSleep[i])
				}
			}
			if retries := len(p.evs); tc.wantErr != "" && retries != len(tc.wantSleep) {
				t.Errorf("%d retry events, want one per wait (%d)", retries, len(tc.wantSleep))
			}
			if tc.wantLog != nil && fmt.Sprintf("%q", p.log) != fmt.Sprintf("%q", tc.wantLog) {
				t.Errorf("shown:\n%q\nwant:\n%q", p.log, tc.wantLog)
			}
		})
	}
}

// TestDeviceLoginFinalTransportErrors: an unverifiable certificate or a
// refused redirect ends the sign-in on the first attempt, silently retried
// by nobody.
func TestDeviceLoginFinalTransportErrors(t *testing.T) {
	var plainHits atomic.Int32
	plain := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { plainHits.Add(1) }))
	defer plain.Close()

	tests := []struct {
		name    string
		handler http.HandlerFunc
		want    []string
	}{
		{"certificate of a private CA", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte(codeOK.body)) },
			[]string{"could not be verified", `set ca_bundle = "/path/ca.pem"`}},
		{"redirect to plain http", func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, plain.URL+r.URL.Path, http.StatusTemporaryRedirect)
		}, []string{"redirected (307) to " + plain.URL + "/.well-known/authos-configuration", "refusing to follow it"}}, // the metadata document comes first
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var conns atomic.Int32
			srv := httptest.NewUnstartedServer(tc.handler)
			srv.Config.ErrorLog = log.New(io.Discard, "", 0)
			srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
				if s == http.StateNew {
					conns.Add(1)
				}
			}
			srv.StartTLS()
			defer srv.Close()
			id := helper.Identity{Server: srv.URL, Org: "acme", Service: "cli", ClientID: "acme-cli"}
			if tc.name == "redirect to plain http" {
				id.CABundle = writeCA(t, srv)
			}
			clock := &stepClock{now: time.Now()}
			p := &recordingPrompter{}
			_, err := DeviceLogin("test", clock)(context.Background(), id, p)
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("err = %q, want it to mention %q", err, w)
				}
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("not one line: %q", err)
			}
			if n := conns.Load(); n != 1 {
				t.Errorf("server saw %d connections, want 1", n)
			}
			if len(clock.slept) != 0 || len(p.log) != 0 {
				t.Errorf("retried: slept %v, shown %q", clock.slept, p.log)
			}
			if n := plainHits.Load(); n != 0 {
				t.Errorf("the plain http server was reached %d times", n)
			}
		})
	}
}

// writeCA writes srv's certificate as a PEM file, for a profile's ca_bundle.
func writeCA(t *testing.T, srv *httptest.Server) string {
	path := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}
