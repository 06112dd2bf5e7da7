package helper

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/authos/authos-credential-helper/cache"
	"github.com/authos/authos-credential-helper/internal/authos"
)

// recPrompt records what the person would be shown, in order.
type recPrompt struct {
	nopPrompt
	mu    sync.Mutex
	lines []string
}

func (r *recPrompt) Notice(line string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.lines = append(r.lines, "notice: "+line)
}

func (r *recPrompt) ShowCode(Identity, string, string, time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.lines = append(r.lines, "code")
}

func (r *recPrompt) notices() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, l := range r.lines {
		if n, ok := strings.CutPrefix(l, "notice: "); ok {
			out = append(out, n)
		}
	}
	return out
}

// fakeLogin shows a code, then returns tok; it counts its calls.
type fakeLogin struct {
	tok   authos.Token
	err   error
	calls int
}

func (f *fakeLogin) login(_ context.Context, _ Identity, p Prompter) (authos.Token, error) {
	f.calls++
	p.ShowCode(id, "https://sso.example/activate", "ABCD-EFGH", time.Now().Add(time.Minute))
	return f.tok, f.err
}

// TestTokensAreCheckedBeforeTheyAreStored: whatever the server returns, only
// a well-formed, unexpired JWT is stored and handed out; anything else fails
// the login with a reason (the clock when the Date header shows skew),
// stores nothing, and never quotes the token.
func TestTokensAreCheckedBeforeTheyAreStored(t *testing.T) {
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	expired := testJWT(fmt.Sprintf(`{"sub":"u","exp":%d}`, now.Add(-time.Hour).Unix()))
	good := testJWT(fmt.Sprintf(`{"sub":"u","exp":%d}`, now.Add(time.Hour).Unix()))
	tests := []struct {
		name       string
		token      string
		serverDate time.Time
		want       string // "" = accepted; else an error substring
		notWant    string
	}{
		{name: "unexpired JWT", token: good},
		{name: "JWT without exp", token: newTok},
		{name: "expired", token: expired, want: "it expired at 2026-12-01 11:00:00 UTC, 1h ago by this machine's clock", notWant: "clock is"},
		{name: "expired, server clock behind", token: expired, serverDate: now.Add(-2 * time.Hour), want: "the server's clock is 2h behind this machine's; fix the clock"},
		{name: "expired, server clock ahead", token: expired, serverDate: now.Add(90 * time.Minute), want: "the server's clock is 1h30m ahead of this machine's; fix the clock"},
		{name: "expired, skew within a minute", token: expired, serverDate: now.Add(-59 * time.Second), want: "expired", notWant: "clock is"},
		{name: "exp exactly now", token: testJWT(fmt.Sprintf(`{"exp":%d}`, now.Unix())), want: "expired"},
		{name: "CR LF appended", token: good + "\r\n", want: "not base64url"},
		{name: "escape sequence inside", token: good[:10] + "\x1b]52;c;x\x07" + good[10:], want: "0x1b, not base64url"},
		{name: "space", token: good + " ", want: "not base64url"},
		{name: "padding", token: good + "=", want: "not base64url"},
		{name: "two parts", token: "eyJhIjoxfQ.eyJiIjoyfQ", want: "2 parts, not 3"},
		{name: "four parts", token: good + ".x", want: "4 parts, not 3"},
		{name: "empty signature", token: strings.TrimSuffix(good, good[strings.LastIndex(good, ".")+1:]), want: "empty part"},
		{name: "empty middle", token: "eyJhIjoxfQ..c2ln", want: "empty part"},
		{name: "empty", token: "", want: "it is empty"},
		{name: "opaque token", token: "opaque-token", want: "1 parts, not 3"},
		{name: "too long", token: good[:strings.LastIndex(good, ".")+1] + strings.Repeat("A", 16<<10), want: "more than 16384"},
		{name: "header not JSON", token: "bm90LWpzb24" + good[strings.Index(good, "."):], want: "header is not base64url JSON"},
		{name: "payload not JSON", token: "e30.bm90LWpzb24.c2ln", want: "payload is not JSON"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := newMemCache()
			locks := cache.FileLocker{Dir: t.TempDir()}
			login := &fakeLogin{tok: authos.Token{AccessToken: tc.token, ExpiresIn: 3600, ServerDate: tc.serverDate}}
			h := &Helper{Cache: c, Locks: locks, Login: login.login, Now: func() time.Time { return now }}
			cred, err := h.Token(context.Background(), Request{Identity: id, Prompt: &recPrompt{}})
			if tc.want == "" {
				if err != nil || cred.Token != tc.token || c.entries[id.Key()].AccessToken != tc.token {
					t.Fatalf("Token = %q, %v; stored %q", cred.Token, err, c.entries[id.Key()].AccessToken)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "nothing was stored") {
				t.Fatalf("err = %v, want %q and \"nothing was stored\"", err, tc.want)
			}
			if tc.notWant != "" && strings.Contains(err.Error(), tc.notWant) {
				t.Errorf("err = %v, should not say %q", err, tc.notWant)
			}
			if tc.token != "" && strings.Contains(err.Error(), tc.token) {
				t.Errorf("the error quotes the token: %v", err)
			}
			if cred.Token != "" || len(c.entries) != 0 {
				t.Errorf("handed out %q, stored %v", cred.Token, c.entries)
			}
			// Processes that waited for this login share its failure.
			if _, failed := locks.LastFailure(id.Key(), now.Add(-time.Second)); !failed {
				t.Error("no failure recorded for waiters")
			}
		})
	}
}

// TestMalformedCachedTokenIsNeverServed: an entry whose token is not a
// well-formed JWT is corrupt everywhere: not served, not valid, replaced by
// a sign-in that says why, and deleted by logout without a server call.
func TestMalformedCachedTokenIsNeverServed(t *testing.T) {
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	for _, bad := range []string{cachedTok + "\n", "opaque", cachedTok[:5] + "\x1b[2J" + cachedTok[5:]} {
		c := newMemCache()
		c.entries[id.Key()] = cache.Entry{Server: id.Server, Org: id.Org, Service: id.Service, ClientID: id.ClientID,
			AccessToken: bad, ObtainedAt: now, ExpiresAt: now.Add(time.Hour)}
		login := &fakeLogin{tok: authos.Token{AccessToken: newTok, ExpiresIn: 3600}}
		revokes := 0
		h := &Helper{Cache: c, Locks: cache.FileLocker{Dir: t.TempDir()}, Login: login.login, Now: func() time.Time { return now },
			Revoke: func(context.Context, Identity, string) error { revokes++; return nil }}
		if _, ok, err := h.Cached(id); ok || err != nil {
			t.Fatalf("%q: Cached = %v, %v; want not served", bad, ok, err)
		}
		p := &recPrompt{}
		cred, err := h.Token(context.Background(), Request{Identity: id, Prompt: p})
		if err != nil || cred.Token != newTok || login.calls != 1 {
			t.Fatalf("%q: Token = %q, %v after %d logins", bad, cred.Token, err, login.calls)
		}
		if n := p.notices(); len(n) != 1 || !strings.Contains(n[0], "holds no well-formed token") {
			t.Errorf("%q: notices %q", bad, n)
		}
		c.entries[id.Key()] = cache.Entry{AccessToken: bad, ExpiresAt: now.Add(time.Hour)}
		if r, err := h.SignOut(context.Background(), id.Key(), ""); err != nil || !r.Found || revokes != 0 {
			t.Errorf("%q: SignOut = %+v, %v with %d revokes; want deleted without a server call", bad, r, err, revokes)
		}
		if _, ok := c.entries[id.Key()]; ok {
			t.Errorf("%q: still cached after logout", bad)
		}
	}
}

// TestCorruptEntryReplacedBySignInSaysWhyOnce: a miss because the entry is
// unreadable says so, once, before the prompt; a plain miss says nothing.
func TestCorruptEntryReplacedBySignInSaysWhyOnce(t *testing.T) {
	tests := []struct {
		name       string
		corruptErr error
		want       []string
	}{
		{name: "plain miss"},
		{name: "corrupt with a reason", corruptErr: fmt.Errorf("%w: sealed under another data key", cache.ErrCorrupt),
			want: []string{"the cached token for acme/cli at sso.example could not be read (sealed under another data key); signing in again"}},
		{name: "corrupt without a reason", corruptErr: cache.ErrCorrupt,
			want: []string{"the cached token for acme/cli at sso.example could not be read (damaged); signing in again"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := newMemCache()
			if tc.corruptErr != nil {
				c.corrupt[id.Key()], c.corruptErr = true, tc.corruptErr
			}
			login := &fakeLogin{tok: authos.Token{AccessToken: newTok, ExpiresIn: 3600}}
			h := &Helper{Cache: c, Locks: cache.FileLocker{Dir: t.TempDir()}, Login: login.login}
			p := &recPrompt{}
			if _, err := h.Token(context.Background(), Request{Identity: id, Prompt: p}); err != nil {
				t.Fatal(err)
			}
			if got := p.notices(); fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Fatalf("notices %q, want %q", got, tc.want)
			}
			if len(tc.want) > 0 && p.lines[0] != "notice: "+tc.want[0] {
				t.Errorf("shown %q: the reason must come before the code", p.lines)
			}
		})
	}
}

// TestStoreFailures: a store that cannot work is found before anyone is
// asked to sign in; one that fails at the end anyway still hands the
// approved token to the caller, with one warning line, and tells waiters.
func TestStoreFailures(t *testing.T) {
	readOnly := errors.New("creating /c/tokens: read-only file system")
	tests := []struct {
		name           string
		readyErr       error
		putErr         error
		wantErr        string
		wantLogins     int
		wantNotice     string
		wantToken      bool
		wantWaiterFail bool
	}{
		{name: "Ready fails: no sign-in", readyErr: readOnly, wantErr: "read-only file system"},
		{name: "Put fails: token handed over", putErr: readOnly, wantLogins: 1, wantToken: true, wantWaiterFail: true,
			wantNotice: "warning: the token for acme/cli at sso.example could not be cached (creating /c/tokens: read-only file system), so the next request signs in again"},
		{name: "all well", wantLogins: 1, wantToken: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := newMemCache()
			c.readyErr, c.putErr = tc.readyErr, tc.putErr
			locks := cache.FileLocker{Dir: t.TempDir()}
			login := &fakeLogin{tok: authos.Token{AccessToken: newTok, ExpiresIn: 3600}}
			h := &Helper{Cache: c, Locks: locks, Login: login.login}
			p := &recPrompt{}
			started := time.Now().Add(-time.Second)
			cred, err := h.Token(context.Background(), Request{Identity: id, Prompt: p})
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
			} else if err != nil {
				t.Fatal(err)
			}
			if login.calls != tc.wantLogins {
				t.Errorf("%d logins, want %d", login.calls, tc.wantLogins)
			}
			if got := cred.Token == newTok; got != tc.wantToken {
				t.Errorf("token handed over = %v, want %v", got, tc.wantToken)
			}
			if (cred.CacheErr != nil) != (tc.putErr != nil) || (cred.CacheErr != nil && !errors.Is(cred.CacheErr, tc.putErr)) {
				t.Errorf("CacheErr = %v, want %v", cred.CacheErr, tc.putErr)
			}
			var want []string
			if tc.wantNotice != "" {
				want = []string{tc.wantNotice}
			}
			if got := p.notices(); fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("notices %q, want %q", got, want)
			}
			if _, failed := locks.LastFailure(id.Key(), started); failed != tc.wantWaiterFail {
				t.Errorf("failure recorded for waiters = %v, want %v", failed, tc.wantWaiterFail)
			}
		})
	}
}

// TestSignOutForgetsLocallyFirst: the entry is deleted before the session
// is ended at the server, so no failure or kill in between leaves a revoked
// token being served; when the delete fails, the server is not called and
// the error says the token still works.
func TestSignOutForgetsLocallyFirst(t *testing.T) {
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	live := cache.Entry{Server: id.Server, Org: id.Org, Service: id.Service, ClientID: id.ClientID,
		AccessToken: cachedTok, ObtainedAt: now, ExpiresAt: now.Add(time.Hour)}
	tests := []struct {
		name        string
		deleteErr   error
		corrupt     bool
		wantErr     string
		wantRevokes int
		wantCached  bool
	}{
		{name: "delete works: revoked after it", wantRevokes: 1},
		{name: "delete fails: no revoke, error", deleteErr: errors.New("read-only file system"), wantCached: true,
			wantErr: "could not forget the cached token for acme/cli at sso.example (read-only file system); the session was not ended, so that token still works"},
		{name: "corrupt entry, delete fails: error", corrupt: true, deleteErr: errors.New("read-only file system"), wantCached: true,
			wantErr: "forgetting the unreadable cached token: read-only file system"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := newMemCache()
			c.entries[id.Key()] = live
			c.corrupt[id.Key()] = tc.corrupt
			c.deleteErr = tc.deleteErr
			revokes := 0
			h := &Helper{Cache: c, Now: func() time.Time { return now },
				Revoke: func(_ context.Context, _ Identity, token string) error {
					revokes++
					if _, err := c.Get(id.Key()); !errors.Is(err, cache.ErrMiss) {
						t.Errorf("revoking while the token is still cached (%v)", err)
					}
					if token != cachedTok {
						t.Errorf("revoked %q", token)
					}
					return nil
				}}
			r, err := h.SignOut(context.Background(), id.Key(), "")
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
			} else if err != nil || !r.Revoked {
				t.Fatalf("SignOut = %+v, %v", r, err)
			}
			if revokes != tc.wantRevokes {
				t.Errorf("%d revokes, want %d", revokes, tc.wantRevokes)
			}
			if _, still := c.entries[id.Key()]; still != tc.wantCached {
				t.Errorf("still cached = %v, want %v", still, tc.wantCached)
			}
			if _, served, _ := h.Cached(id); served && revokes > 0 {
				t.Error("a revoked token is still served")
			}
		})
	}
}

// Notices are redacted before any prompter sees them.
func TestNoticeIsRedacted(t *testing.T) {
	r := &recPrompt{}
	notice(r, "warning: could not cache eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ1In0.c2lnbmF0dXJl")
	if got := r.notices(); len(got) != 1 || !strings.HasPrefix(got[0], "warning: could not cache [token sha256:") {
		t.Fatalf("notice passed on %q", got)
	}
}
