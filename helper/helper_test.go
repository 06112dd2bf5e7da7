package helper

import (
	"context"
	"encoding/base64"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/authos/authos-credential-helper/cache"
	"github.com/authos/authos-credential-helper/internal/authos"
	"github.com/authos/authos-credential-helper/internal/config"
)

type memCache struct {
	mu      sync.Mutex
	entries map[string]cache.Entry
	corrupt map[string]bool
	// corruptErr, when set, is what a corrupt entry's Get returns.
	corruptErr error
	// Failures to inject.
	readyErr, putErr, deleteErr error
}

func newMemCache() *memCache {
	return &memCache{entries: map[string]cache.Entry{}, corrupt: map[string]bool{}}
}

func (m *memCache) Get(n string) (cache.Entry, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.corrupt[n] {
		if m.corruptErr != nil {
			return cache.Entry{}, m.corruptErr
		}
		return cache.Entry{}, cache.ErrCorrupt
	}
	e, ok := m.entries[n]
	if !ok {
		return cache.Entry{}, cache.ErrMiss
	}
	return e, nil
}
func (m *memCache) Put(n string, e cache.Entry) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.putErr != nil {
		return m.putErr
	}
	delete(m.corrupt, n)
	m.entries[n] = e
	return nil
}
func (m *memCache) Ready() error { return m.readyErr }
func (m *memCache) Delete(n string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.deleteErr != nil {
		return m.deleteErr
	}
	delete(m.entries, n)
	delete(m.corrupt, n)
	return nil
}

type nopPrompt struct{}

func (nopPrompt) ShowCode(Identity, string, string, time.Time) {}
func (nopPrompt) Event(authos.Event)                           {}
func (nopPrompt) Waiting(Identity)                             {}
func (nopPrompt) Finish(error)                                 {}

// waitSignal reports the Waiting call.
type waitSignal struct {
	nopPrompt
	ch chan struct{}
}

func (w waitSignal) Waiting(Identity) { close(w.ch) }

var id = Identity{Server: "https://sso.example", Org: "acme", Service: "cli", ClientID: "acme-cli"}

// testJWT is an unsigned JWT-shaped token with the given JSON claims.
func testJWT(claims string) string {
	b := base64.RawURLEncoding.EncodeToString
	return b([]byte(`{"alg":"RS256","typ":"JWT"}`)) + "." + b([]byte(claims)) + "." + b([]byte("signature"))
}

// Tokens without exp (their expiry comes from expires_in).
var (
	cachedTok = testJWT(`{"sub":"cached"}`)
	newTok    = testJWT(`{"sub":"new"}`)
)

func TestToken(t *testing.T) {
	now := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	fresh := cache.Entry{AccessToken: cachedTok, TokenType: "Bearer", ObtainedAt: now.Add(-time.Hour), ExpiresAt: now.Add(23 * time.Hour)}
	nearEnd := fresh
	nearEnd.ExpiresAt = now.Add(4 * time.Minute) // inside the 5 min margin
	tests := []struct {
		name       string
		entry      *cache.Entry
		corrupt    bool
		req        Request
		loginErr   error
		wantToken  string
		wantLogins int
		wantErr    string
	}{
		{name: "hit", entry: &fresh, wantToken: cachedTok},
		{name: "miss logs in", wantToken: newTok, wantLogins: 1},
		{name: "inside the margin logs in", entry: &nearEnd, wantToken: newTok, wantLogins: 1},
		{name: "corrupt entry is a miss", entry: &fresh, corrupt: true, wantToken: newTok, wantLogins: 1},
		{name: "force logs in despite a hit", entry: &fresh, req: Request{Force: true}, wantToken: newTok, wantLogins: 1},
		{name: "non-interactive miss fails with the fix", req: Request{NonInteractive: true}, wantErr: "run: authos-credential-helper login --server https://sso.example"},
		{name: "non-interactive hit is served", entry: &fresh, req: Request{NonInteractive: true}, wantToken: cachedTok},
		{name: "login failure", loginErr: errors.New("denied"), wantErr: "denied", wantLogins: 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := &memCache{entries: map[string]cache.Entry{}, corrupt: map[string]bool{}}
			if tc.entry != nil {
				c.entries[id.Key()] = *tc.entry
			}
			if tc.corrupt {
				c.corrupt[id.Key()] = true
			}
			logins := 0
			h := &Helper{Cache: c, Locks: cache.FileLocker{Dir: t.TempDir()}, Now: func() time.Time { return now },
				Login: func(context.Context, Identity, Prompter) (authos.Token, error) {
					logins++
					return authos.Token{AccessToken: newTok, TokenType: "Bearer", ExpiresIn: 3600}, tc.loginErr
				}}
			req := tc.req
			req.Identity, req.Prompt = id, nopPrompt{}
			cred, err := h.Token(context.Background(), req)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
			} else if err != nil || cred.Token != tc.wantToken {
				t.Fatalf("Token = %q, %v; want %q", cred.Token, err, tc.wantToken)
			}
			if logins != tc.wantLogins {
				t.Errorf("logins = %d, want %d", logins, tc.wantLogins)
			}
			if tc.wantToken == newTok {
				e := c.entries[id.Key()]
				if e.AccessToken != newTok || !e.ExpiresAt.Equal(now.Add(time.Hour)) {
					t.Errorf("stored %+v", e)
				}
				if !cred.ExpiresAt.Equal(now.Add(55 * time.Minute)) {
					t.Errorf("handed-out expiry %v, want real expiry minus the margin", cred.ExpiresAt)
				}
			}
		})
	}
}

// TestServedExpiryIsAWholeSecondInTheFuture: whatever the fractions, a token
// is served only while its handed-out (whole-second) expiry is still ahead.
func TestServedExpiryIsAWholeSecondInTheFuture(t *testing.T) {
	obtained := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	e := cache.Entry{AccessToken: cachedTok, ObtainedAt: obtained, ExpiresAt: obtained.Add(time.Hour + 700*time.Millisecond)}
	c := &memCache{entries: map[string]cache.Entry{id.Key(): e}, corrupt: map[string]bool{}}
	for _, offset := range []time.Duration{0, 30 * time.Minute, 54*time.Minute + 59*time.Second, 55*time.Minute + 300*time.Millisecond, 55*time.Minute + 800*time.Millisecond} {
		now := obtained.Add(offset)
		h := &Helper{Cache: c, Now: func() time.Time { return now }}
		cred, ok, err := h.Cached(id)
		if err != nil {
			t.Fatal(err)
		}
		if ok && (!cred.ExpiresAt.After(now) || cred.ExpiresAt.Nanosecond() != 0) {
			t.Errorf("at +%v served with expiry %v: not a whole second ahead", offset, cred.ExpiresAt)
		}
		if wantOK := offset < 55*time.Minute; ok != wantOK {
			t.Errorf("at +%v served = %v, want %v", offset, ok, wantOK)
		}
	}
}

func TestEntryExpiryIsTheEarlierOfExpiresInAndExp(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	h := &Helper{Now: func() time.Time { return now }}
	// payload {"sub":"u1","email":"a@x","exp":1800000600}
	jwt := "e30.eyJzdWIiOiJ1MSIsImVtYWlsIjoiYUB4IiwiZXhwIjoxODAwMDAwNjAwfQ.sig"
	e := h.entry(id, authos.Token{AccessToken: jwt, ExpiresIn: 86400})
	if !e.ExpiresAt.Equal(time.Unix(1_800_000_600, 0)) || e.Email != "a@x" || e.Subject != "u1" {
		t.Fatalf("entry = %+v", e)
	}
	// A 10-minute token with a 5-minute margin is served for its first half.
	if m := h.margin(e); m != 5*time.Minute {
		t.Fatalf("margin = %v", m)
	}
	e.ExpiresAt = now.Add(4 * time.Minute)
	e.ObtainedAt = now
	if m := h.margin(e); m != 2*time.Minute {
		t.Fatalf("short-token margin = %v, want half its life", m)
	}
}

func TestWaiterSharesTheLeadersFailure(t *testing.T) {
	dir := t.TempDir()
	locks := cache.FileLocker{Dir: dir, Poll: time.Millisecond}
	unlock, _, err := locks.Lock(context.Background(), id.Key(), nil)
	if err != nil {
		t.Fatal(err)
	}
	c := &memCache{entries: map[string]cache.Entry{}, corrupt: map[string]bool{}}
	logins := 0
	h := &Helper{Cache: c, Locks: locks, Login: func(context.Context, Identity, Prompter) (authos.Token, error) {
		logins++
		return authos.Token{AccessToken: newTok, ExpiresIn: 60}, nil
	}}
	done := make(chan error)
	blocked := waitSignal{ch: make(chan struct{})}
	go func() {
		_, err := h.Token(context.Background(), Request{Identity: id, Prompt: blocked})
		done <- err
	}()
	<-blocked.ch // the waiter found the lock taken
	locks.Failed(id.Key(), time.Now(), errors.New("the sign-in code expired"))
	unlock()
	if err := <-done; err == nil || !strings.Contains(err.Error(), "another process") || logins != 0 {
		t.Fatalf("waiter: err=%v logins=%d; want the leader's failure and no new prompt", err, logins)
	}
}

func TestResolve(t *testing.T) {
	cfg := &config.Config{DefaultProfile: "acme", Profiles: map[string]config.Profile{
		"acme":  {Server: "https://sso.acme.example/", Org: "acme", Service: "cli", ClientID: "acme-cli"},
		"other": {Server: "https://sso.other.example", Org: "o", Service: "s", ClientID: "c"},
	}}
	tests := []struct {
		name       string
		flags, env Selector
		want       string // "org/service at host" or error substring
		wantErr    bool
	}{
		{name: "default profile", want: "acme/cli at sso.acme.example"},
		{name: "env profile", env: Selector{Profile: "other"}, want: "o/s at sso.other.example"},
		{name: "flags beat env", flags: Selector{Profile: "acme"}, env: Selector{Profile: "other"}, want: "acme/cli at sso.acme.example"},
		{name: "flag field overrides profile", flags: Selector{Profile: "acme", Service: "api"}, want: "acme/api at sso.acme.example"},
		{name: "explicit fields", env: Selector{Server: "http://127.0.0.1:1", Org: "a", Service: "b", ClientID: "c"}, want: "a/b at 127.0.0.1:1"},
		{name: "incomplete", flags: Selector{Server: "https://x"}, want: "lacks org, service, client-id", wantErr: true},
		{name: "unknown profile", flags: Selector{Profile: "nope"}, want: "no profile", wantErr: true},
		{name: "plain http remote", flags: Selector{Server: "http://x.example", Org: "a", Service: "b", ClientID: "c"}, want: "only https", wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Resolve(cfg, tc.flags, tc.env)
			if tc.wantErr {
				if err == nil || !strings.Contains(err.Error(), tc.want) {
					t.Fatalf("err = %v, want %q", err, tc.want)
				}
				return
			}
			if err != nil || got.String() != tc.want {
				t.Fatalf("Resolve = %v, %v; want %s", got, err, tc.want)
			}
		})
	}
}

func TestMatchHost(t *testing.T) {
	cfg := &config.Config{DefaultProfile: "acme", Profiles: map[string]config.Profile{
		"acme": {Server: "https://sso.acme.example", Org: "acme", Service: "cli", ClientID: "acme-cli",
			Git: []string{"https://git.acme.example/"}, Docker: []string{"registry.acme.example", "127.0.0.1:5000"}, Terraform: []string{"tf.acme.example"}, Username: "bot"},
		"team": {Server: "https://sso.acme.example", Org: "acme", Service: "team", ClientID: "team-cli",
			Git: []string{"https://git.acme.example/team"}},
	}}
	noenv := func(string) string { return "" }
	tests := []struct {
		kind, target string
		env          map[string]string
		flags        Selector
		want         string // service of the matched identity, "" for no match
	}{
		{"git", "https://git.acme.example/org/repo.git", nil, Selector{}, "cli"},
		{"git", "https://git.acme.example/team/repo.git", nil, Selector{}, "team"},
		{"git", "https://git.acme.example/teamster/repo.git", nil, Selector{}, "cli"},
		{"git", "https://git.acme.example", nil, Selector{}, "cli"},
		{"git", "http://git.acme.example/org/repo.git", nil, Selector{}, ""},
		{"git", "https://github.com/org/repo.git", nil, Selector{}, ""},
		{"git", "https://github.com/org/repo.git", map[string]string{"AUTHOS_SERVER": "https://sso.acme.example", "AUTHOS_ORG": "a", "AUTHOS_SERVICE": "b", "AUTHOS_CLIENT_ID": "c"}, Selector{}, ""},
		{"git", "https://git.acme.example/team/x", map[string]string{"AUTHOS_PROFILE": "acme"}, Selector{}, "cli"},
		{"git", "https://anything.example/x", nil, Selector{Profile: "team"}, ""},
		{"git", "https://git.acme.example/team/x", nil, Selector{Profile: "team"}, "team"},
		{"git", "https://git.acme.example/org/x", nil, Selector{Profile: "team"}, ""},
		{"terraform", "registry.terraform.io", nil, Selector{Profile: "acme"}, ""},
		{"docker", "registry.acme.example", nil, Selector{}, "cli"},
		{"docker", "REGISTRY.acme.example", nil, Selector{}, "cli"},
		{"docker", "127.0.0.1:5000", nil, Selector{}, "cli"},
		{"docker", "index.docker.io", nil, Selector{}, ""},
		{"terraform", "tf.acme.example", nil, Selector{}, "cli"},
		{"terraform", "registry.terraform.io", nil, Selector{}, ""},
	}
	for _, tc := range tests {
		getenv := noenv
		if tc.env != nil {
			getenv = func(k string) string { return tc.env[k] }
		}
		m, ok, err := MatchHost(cfg, tc.flags, getenv, tc.kind, tc.target, nil)
		if err != nil {
			t.Fatalf("%s %s: %v", tc.kind, tc.target, err)
		}
		got := ""
		if ok {
			got = m.Identity.Service
		}
		if got != tc.want {
			t.Errorf("%s %s (env %v, flags %+v) matched %q, want %q", tc.kind, tc.target, tc.env, tc.flags, got, tc.want)
		}
		if ok && got == "cli" && m.Username() != "bot" {
			t.Errorf("username %q", m.Username())
		}
	}
	if _, _, err := MatchHost(cfg, Selector{Server: "https://x"}, noenv, "terraform", "tf.acme.example", nil); err == nil {
		t.Error("field flags accepted for a host-based protocol")
	}
	// Patterns are normalised like targets.
	hub := &config.Config{Profiles: map[string]config.Profile{"h": {Server: "https://s.example", Org: "o", Service: "s", ClientID: "c", Docker: []string{"docker.io"}}}}
	norm := func(s string) string {
		if s == "docker.io" {
			return "index.docker.io"
		}
		return s
	}
	if _, ok, _ := MatchHost(hub, Selector{}, noenv, "docker", "index.docker.io", norm); !ok {
		t.Error("a normalised pattern did not match")
	}
}

func TestSignOut(t *testing.T) {
	now := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	id := Identity{Server: "https://sso.example", Org: "acme", Service: "cli", ClientID: "acme-cli"}
	live := cache.Entry{Server: id.Server, Org: id.Org, Service: id.Service, ClientID: id.ClientID,
		AccessToken: cachedTok, ExpiresAt: now.Add(time.Hour)}
	expired := live
	expired.ExpiresAt = now.Add(-time.Minute)
	down := errors.New("connection refused")
	tests := []struct {
		name        string
		entry       *cache.Entry
		corrupt     bool
		revokeErr   error
		wantFound   bool
		wantRevoked bool
		wantCalls   int
		wantErr     error
	}{
		{name: "nothing cached", wantFound: false},
		{name: "corrupt entry is deleted without a server call", corrupt: true, wantFound: true},
		{name: "live token is revoked then deleted", entry: &live, wantFound: true, wantRevoked: true, wantCalls: 1},
		{name: "server down: deleted anyway, error reported", entry: &live, revokeErr: down, wantFound: true, wantCalls: 1, wantErr: down},
		{name: "expired token: no server call", entry: &expired, wantFound: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &memCache{entries: map[string]cache.Entry{}, corrupt: map[string]bool{}}
			if tt.entry != nil {
				c.entries[id.Key()] = *tt.entry
			}
			c.corrupt[id.Key()] = tt.corrupt
			calls := 0
			h := &Helper{Cache: c, Now: func() time.Time { return now },
				Revoke: func(_ context.Context, got Identity, token string) error {
					calls++
					if got.Key() != id.Key() || got.CABundle != "/ca.pem" || token != cachedTok {
						t.Errorf("Revoke(%v, %q)", got, token)
					}
					return tt.revokeErr
				}}
			r, err := h.SignOut(context.Background(), id.Key(), "/ca.pem")
			if err != nil {
				t.Fatal(err)
			}
			if r.Found != tt.wantFound || r.Revoked != tt.wantRevoked || calls != tt.wantCalls || !errors.Is(r.RevokeErr, tt.wantErr) {
				t.Fatalf("SignOut = %+v with %d server calls", r, calls)
			}
			if _, err := c.Get(id.Key()); !errors.Is(err, cache.ErrMiss) {
				t.Fatalf("entry still there after SignOut: %v", err)
			}
		})
	}
}
