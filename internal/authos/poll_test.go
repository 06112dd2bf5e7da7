package authos

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeClock advances only when the poller sleeps, so tests never wait.
type fakeClock struct {
	mu    sync.Mutex
	now   time.Time
	slept []time.Duration
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *fakeClock) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	c.slept = append(c.slept, d)
	return nil
}

type answer struct {
	status  int
	body    string
	ctype   string
	headers map[string]string
}

func envelope(status int, code, msg string) answer {
	b, _ := json.Marshal(map[string]string{"error": msg, "error_code": code, "timestamp": "2026-11-26T00:00:00Z"})
	return answer{status: status, body: string(b), ctype: "application/json"}
}

var (
	pending      = envelope(400, "DEVICE_CODE_PENDING", "Authorization pending")
	tokenOK      = answer{status: 200, body: `{"access_token":"a.b.c","token_type":"Bearer","expires_in":86400}`, ctype: "application/json"}
	expired      = envelope(400, "DEVICE_CODE_EXPIRED", "Device code expired")
	invalid      = envelope(400, "BAD_REQUEST", "Invalid device code")
	mfa          = envelope(400, "BAD_REQUEST", "MFA verification required. Please complete MFA verification in your browser before the device can be authorized.")
	tooMany      = answer{status: 429, body: "Too Many Requests! Wait for 30s", ctype: "text/plain", headers: map[string]string{"retry-after": "30", "x-ratelimit-after": "30"}}
	tooManyShort = answer{status: 429, body: "Too Many Requests! Wait for 2s", ctype: "text/plain", headers: map[string]string{"retry-after": "2"}}
	tooMany0     = answer{status: 429, body: "Too Many Requests!", ctype: "text/plain"}
	oops         = envelope(500, "INTERNAL_SERVER_ERROR", "database is down")
	htmlPage     = answer{status: 502, body: "<html><body>Bad Gateway</body></html>", ctype: "text/html"}
	garbage      = answer{status: 200, body: "{not json", ctype: "application/json"}
)

// script serves the answers in order, repeating the last one, and records
// the fake time of each request.
type script struct {
	t       *testing.T
	clock   *fakeClock
	answers []answer
	mu      sync.Mutex
	times   []time.Time
}

func (s *script) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var body map[string]string
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil || r.Header.Get("Content-Type") != "application/json" {
		s.t.Errorf("poll body is not JSON: %v", err)
	}
	if body["grant_type"] != DeviceGrantType || body["device_code"] != "dc" || body["client_id"] != "cli" {
		s.t.Errorf("poll body = %v", body)
	}
	s.mu.Lock()
	i := len(s.times)
	s.times = append(s.times, s.clock.Now())
	s.mu.Unlock()
	a := s.answers[min(i, len(s.answers)-1)]
	for k, v := range a.headers {
		w.Header().Set(k, v)
	}
	w.Header().Set("Content-Type", a.ctype)
	w.WriteHeader(a.status)
	w.Write([]byte(a.body))
}

func TestPoll(t *testing.T) {
	rep := func(a answer, n int) []answer {
		out := make([]answer, n)
		for i := range out {
			out[i] = a
		}
		return out
	}
	cat := func(parts ...[]answer) []answer {
		var out []answer
		for _, p := range parts {
			out = append(out, p...)
		}
		return out
	}
	tests := []struct {
		name      string
		answers   []answer
		expiresIn int
		wantErr   string // substring; "" means a token
		wantIs    error
		wantGaps  []time.Duration // gaps between consecutive polls (first from issue)
		wantPolls int
		wantKinds []EventKind
	}{
		{name: "pending then token", answers: cat(rep(pending, 2), []answer{tokenOK}),
			wantGaps: []time.Duration{5 * time.Second, 5 * time.Second, 5 * time.Second}, wantPolls: 3,
			wantKinds: []EventKind{EventPending, EventPending}},
		{name: "MFA keeps waiting and is told once", answers: cat([]answer{pending}, rep(mfa, 3), []answer{tokenOK}),
			wantPolls: 5, wantKinds: []EventKind{EventPending, EventMFA}},
		{name: "429 with retry-after slows down for good, one second past it", answers: []answer{pending, tooMany, pending, tokenOK},
			wantGaps:  []time.Duration{5 * time.Second, 5 * time.Second, 31 * time.Second, 31 * time.Second},
			wantPolls: 4, wantKinds: []EventKind{EventPending, EventSlowDown, EventPending}},
		{name: "429 with a short retry-after still adds 5s", answers: []answer{tooManyShort, tokenOK},
			wantGaps:  []time.Duration{5 * time.Second, 10 * time.Second},
			wantPolls: 2, wantKinds: []EventKind{EventSlowDown}},
		{name: "429 without retry-after adds 5s", answers: []answer{tooMany0, tooMany0, tokenOK},
			wantGaps:  []time.Duration{5 * time.Second, 10 * time.Second, 15 * time.Second},
			wantPolls: 3},
		{name: "expired code", answers: []answer{pending, expired}, wantIs: ErrCodeExpired, wantPolls: 2},
		{name: "invalid after pending is expiry", answers: []answer{pending, invalid}, wantIs: ErrCodeExpired, wantPolls: 2},
		{name: "invalid on first poll is fatal", answers: []answer{invalid}, wantErr: "Invalid device code", wantPolls: 1},
		{name: "wrong client id", answers: []answer{envelope(401, "UNAUTHORIZED", "Invalid client")}, wantErr: "check client_id", wantPolls: 1},
		{name: "no access", answers: []answer{envelope(403, "FORBIDDEN", "You do not currently have access to this service")}, wantErr: "no access to this service", wantPolls: 1},
		{name: "not platform owner", answers: []answer{envelope(403, "FORBIDDEN", "Platform device authorization requires a current platform owner")}, wantErr: "not a platform owner", wantPolls: 1},
		{name: "user gone", answers: []answer{envelope(404, "NOT_FOUND", "User not found")}, wantErr: "no longer exists", wantPolls: 1},
		{name: "plain-text 422", answers: []answer{{status: 422, body: "Failed to deserialize the JSON body into the target type: missing field `client_id`", ctype: "text/plain"}}, wantErr: "missing field", wantPolls: 1},
		{name: "5xx retried with backoff", answers: []answer{oops, htmlPage, tokenOK},
			wantGaps: []time.Duration{5 * time.Second, 5 * time.Second, 10 * time.Second}, wantPolls: 3,
			wantKinds: []EventKind{EventRetrying, EventRetrying}},
		{name: "garbage 200 retried", answers: []answer{garbage, tokenOK}, wantPolls: 2, wantKinds: []EventKind{EventRetrying}},
		{name: "5xx gives up after a bounded run", answers: rep(oops, 10), wantErr: "giving up after 6 failed polls", wantPolls: 6},
		{name: "pending until local expiry", answers: rep(pending, 1000), expiresIn: 60, wantIs: ErrCodeExpired, wantPolls: 12},
		{name: "HTML proxy page is described", answers: rep(htmlPage, 10), wantErr: "HTML page", wantPolls: 6},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			clock := &fakeClock{now: time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)}
			s := &script{t: t, clock: clock, answers: tc.answers}
			srv := httptest.NewServer(s)
			defer srv.Close()
			c := &Client{BaseURL: srv.URL, HTTP: srv.Client()}
			exp := tc.expiresIn
			if exp == 0 {
				exp = 900
			}
			issued := clock.Now()
			var kinds []EventKind
			tok, err := c.Poll(context.Background(), DeviceCode{DeviceCode: "dc", ExpiresIn: exp, Interval: 5}, "cli",
				PollOptions{Clock: clock, OnEvent: func(e Event) { kinds = append(kinds, e.Kind) }})
			switch {
			case tc.wantIs != nil:
				if !errors.Is(err, tc.wantIs) {
					t.Fatalf("err = %v, want %v", err, tc.wantIs)
				}
			case tc.wantErr != "":
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want it to mention %q", err, tc.wantErr)
				}
			default:
				if err != nil || tok.AccessToken != "a.b.c" {
					t.Fatalf("Poll = %+v, %v", tok, err)
				}
			}
			if len(s.times) != tc.wantPolls {
				t.Errorf("polls = %d, want %d", len(s.times), tc.wantPolls)
			}
			prev := issued
			for i, at := range s.times {
				gap := at.Sub(prev)
				if gap < 5*time.Second {
					t.Errorf("poll %d came %v after the previous one: faster than the interval", i, gap)
				}
				if i < len(tc.wantGaps) && gap != tc.wantGaps[i] {
					t.Errorf("gap before poll %d = %v, want %v", i, gap, tc.wantGaps[i])
				}
				prev = at
			}
			if last := clock.Now(); last.Sub(issued) > time.Duration(exp)*time.Second {
				t.Errorf("kept going %v past the code's expiry", last.Sub(issued)-time.Duration(exp)*time.Second)
			}
			if tc.wantKinds != nil && !equalKinds(kinds, tc.wantKinds) {
				t.Errorf("events = %v, want %v", kinds, tc.wantKinds)
			}
		})
	}
}

func equalKinds(a, b []EventKind) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestPollStopsOnCancel(t *testing.T) {
	clock := &fakeClock{now: time.Now()}
	srv := httptest.NewServer(&script{t: t, clock: clock, answers: []answer{pending}})
	defer srv.Close()
	ctx, cancel := context.WithCancel(context.Background())
	n := 0
	c := &Client{BaseURL: srv.URL, HTTP: srv.Client()}
	_, err := c.Poll(ctx, DeviceCode{DeviceCode: "dc", ExpiresIn: 900, Interval: 5}, "cli", PollOptions{Clock: clock, OnEvent: func(Event) {
		if n++; n == 2 {
			cancel()
		}
	}})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}

func TestStartDeviceFlowErrors(t *testing.T) {
	tests := []struct {
		name string
		a    answer
		want string
	}{
		{"unknown client", envelope(400, "BAD_REQUEST", "Invalid client credentials"), "check them in the profile"},
		{"no activation uri", envelope(400, "BAD_REQUEST", "Device activation URI not configured for this service"), "no device activation URI"},
		{"rate limited", tooMany, "429"},
		{"html", htmlPage, "HTML page"},
		{"garbage", garbage, "unreadable body"},
		{"missing fields", answer{status: 200, body: `{"device_code":"x"}`, ctype: "application/json"}, "missing"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				var body map[string]string
				json.NewDecoder(r.Body).Decode(&body)
				if r.URL.Path != "/auth/device/code" || body["client_id"] != "platform-x" || body["org"] != "platform" || body["service"] != "admin-cli" {
					t.Errorf("request %s %v", r.URL.Path, body)
				}
				for k, v := range tc.a.headers {
					w.Header().Set(k, v)
				}
				w.Header().Set("Content-Type", tc.a.ctype)
				w.WriteHeader(tc.a.status)
				w.Write([]byte(tc.a.body))
			}))
			defer srv.Close()
			c := &Client{BaseURL: srv.URL, HTTP: srv.Client()}
			_, err := c.StartDeviceFlow(context.Background(), "platform-x", "platform", "admin-cli")
			if err == nil {
				t.Fatal("no error")
			}
			var apiErr *APIError
			if errors.As(err, &apiErr) {
				err = Explain(apiErr)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to mention %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("error is not one line: %q", err)
			}
		})
	}
}

func TestCheckBaseURL(t *testing.T) {
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"https://sso.example/", "https://sso.example", true},
		{"http://127.0.0.1:8080", "http://127.0.0.1:8080", true},
		{"http://[::1]:3000/", "http://[::1]:3000", true},
		{"http://localhost:3001", "http://localhost:3001", true},
		{"http://sso.example", "", false},
		{"http://10.0.0.1", "", false},
		{"ftp://x", "", false},
		{"sso.example", "", false},
	}
	for _, tc := range tests {
		got, err := CheckBaseURL(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("CheckBaseURL(%q) = %q, %v", tc.in, got, err)
		}
	}
}
