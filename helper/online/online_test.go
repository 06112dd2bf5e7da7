package online

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/authos/authos-credential-helper/cache"
	"github.com/authos/authos-credential-helper/helper"
	"github.com/authos/authos-credential-helper/internal/authos"
	"github.com/authos/authos-credential-helper/internal/authos/jwks"
	"github.com/authos/authos-credential-helper/internal/authos/wire"
	"github.com/authos/authos-credential-helper/internal/config"
	"github.com/authos/authos-credential-helper/internal/devserver"
	"github.com/authos/authos-credential-helper/internal/termsafe"
)

// The fakes below are helper's own test fakes, cut to what these tests use.

type memCache struct {
	mu      sync.Mutex
	entries map[string]cache.Entry
}

func newMemCache() *memCache { return &memCache{entries: map[string]cache.Entry{}} }

func (m *memCache) Get(n string) (cache.Entry, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	e, ok := m.entries[n]
	if !ok {
		return cache.Entry{}, cache.ErrMiss
	}
	return e, nil
}
func (m *memCache) Put(n string, e cache.Entry) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.entries[n] = e
	return nil
}
func (m *memCache) Ready() error { return nil }
func (m *memCache) Delete(n string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.entries, n)
	return nil
}

// entryNames lists a memCache's entries as the store's records would, and
// holds no other record.
type entryNames struct{ c *memCache }

func (e entryNames) Names(prefix string) ([]string, error) {
	if prefix != helper.EntryPrefix {
		return nil, nil
	}
	return slices.Sorted(maps.Keys(e.c.entries)), nil
}
func (entryNames) GetRecord(string, any) error { return cache.ErrMiss }
func (entryNames) PutStatic(string, any) error { return errors.New("no records here") }
func (entryNames) Delete(string) error         { return nil }

// busyLocker reports that another process held the lock.
type busyLocker struct{}

func (busyLocker) Lock(_ context.Context, _ string, waiting func()) (func(), bool, error) {
	waiting()
	return func() {}, true, nil
}
func (busyLocker) Failed(string, time.Time, error)              {}
func (busyLocker) LastFailure(string, time.Time) (string, bool) { return "", false }
func (busyLocker) Succeeded(string)                             {}

type nopPrompt struct{}

func (nopPrompt) ShowCode(helper.Identity, string, string, time.Time) {}
func (nopPrompt) Event(helper.Event)                                  {}
func (nopPrompt) Waiting(helper.Identity)                             {}
func (nopPrompt) Finish(error)                                        {}

var id = helper.Identity{Server: "https://sso.example", Org: "acme", Service: "cli", ClientID: "acme-cli"}

// testJWT is an unsigned JWT-shaped token with the given JSON claims.
func testJWT(claims string) string {
	return b64(`{"alg":"RS256","typ":"JWT"}`) + "." + b64(claims) + "." + b64("signature")
}

// jwtWith is a JWT-shaped token with the given JOSE header and claims.
func jwtWith(header, claims string) string {
	return b64(header) + "." + b64(claims) + "." + b64("signature")
}

func b64(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

// terminalSafe fails if s holds anything a terminal acts on.
func terminalSafe(t *testing.T, what, s string) {
	t.Helper()
	for _, r := range s {
		if r != '\n' && termsafe.Unsafe(r) {
			t.Errorf("%s: %U reached the terminal: %q", what, r, s)
			return
		}
	}
}

func TestCheckBound(t *testing.T) {
	res := id
	res.Resource = "https://git.acme.example"
	mgmt := jwtWith(`{"typ":"authos-management+jwt"}`, `{"aud":"service:acme/cli"}`)
	bound := jwtWith(`{"typ":"at+jwt"}`, `{"aud":"https://git.acme.example"}`)
	other := jwtWith(`{"typ":"at+jwt"}`, `{"aud":["https://registry.acme.example"]}`)
	tests := []struct {
		name string
		id   helper.Identity
		tok  string
		want string // "" for accepted
	}{
		{"resource token for its resource", res, bound, ""},
		{"management token where a resource was asked (server ignored it)", res, mgmt, "not bound to resource https://git.acme.example (typ \"authos-management+jwt\", aud \"service:acme/cli\"): the server ignored the resource"},
		{"another resource's token", res, other, "not bound to resource"},
		{"management token", id, mgmt, ""},
		{"resource token where the management token was asked", id, bound, "returned a resource token"},
		{"older server's token without typ or aud", id, testJWT(`{"sub":"x"}`), ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := checkBound(tc.id, tc.tok)
			if (err == nil) != (tc.want == "") || (err != nil && !strings.Contains(err.Error(), tc.want)) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
		})
	}
}

// devKeys are generated once: RSA generation is slow.
var devKeys = sync.OnceValue(func() []*rsa.PrivateKey {
	var out []*rsa.PrivateKey
	for range 2 {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			panic(err)
		}
		out = append(out, k)
	}
	return out
})

type approvingPrompt struct {
	nopPrompt
	srv *devserver.Server
}

func (p approvingPrompt) ShowCode(_ helper.Identity, _, code string, _ time.Time) {
	if err := p.srv.Approve(code, devserver.UserAlice); err != nil {
		panic(err)
	}
}

// Against the dev server: a resource login yields the resource's token,
// status verifies it locally, a rotation keeps it verified, dropping the
// previous keys makes it "signature unknown after key rotation" and
// VerifyStatus evicts it; the metadata document saying the flow is not
// offered fails before any code.
func TestResourceLoginAndLocalVerification(t *testing.T) {
	ts := httptest.NewUnstartedServer(nil)
	next := 1
	opts := devserver.Options{BaseURL: "http://" + ts.Listener.Addr().String(), Key: devKeys()[0], DisableRateLimit: true, JWKSMaxAge: time.Nanosecond,
		KeyGen: func() (*rsa.PrivateKey, error) { next++; return devKeys()[next-1], nil }}
	srv, err := devserver.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	ts.Config.Handler = srv
	ts.Start()
	defer ts.Close()

	git := helper.Identity{Profile: "git", Server: srv.BaseURL(), Org: "acme", Service: "cli", ClientID: "acme-cli", Resource: devserver.AcmeGitURI}
	keys := &JWKSStore{Dir: t.TempDir()}
	v := &Verifier{Keys: keys}
	c := newMemCache()
	h := &helper.Helper{Cache: c, Locks: busyLocker{}, Login: DeviceLoginWith("test", &stepClock{now: time.Now()}, v)}
	cred, err := h.Token(context.Background(), helper.Request{Identity: git, Prompt: approvingPrompt{srv: srv}})
	if err != nil {
		t.Fatal(err)
	}
	if typ, aud := wire.TokenProfile(cred.Token); typ != jwks.TypeResource || len(aud) != 1 || aud[0] != devserver.AcmeGitURI {
		t.Fatalf("typ %q aud %q", typ, aud)
	}
	if keys.Load(git.Server) == nil {
		t.Fatal("login kept no JWKS")
	}
	cfg := &config.Config{Profiles: map[string]config.Profile{"git": {Server: git.Server, Org: "acme", Service: "cli", ClientID: "acme-cli", Resource: git.Resource}}}
	check := func(want jwks.Kind, evicted bool) {
		t.Helper()
		rep, err := h.Status(cfg, entryNames{c})
		if err != nil || len(rep.Identities) != 1 {
			t.Fatalf("status: %+v %v", rep, err)
		}
		checked := VerifyStatus(context.Background(), h, &rep, v)
		st, ck := rep.Identities[0], checked[0]
		if ck.Verification == nil || ck.Verification.Result.Kind != want || ck.Evicted != evicted || st.Valid == evicted || st.Identity.Resource != git.Resource {
			t.Fatalf("verification %+v (err %v), evicted %v, valid %v; want %v, evicted %v", ck.Verification, ck.Err, ck.Evicted, st.Valid, want, evicted)
		}
	}
	check(jwks.Verified, false)
	if _, err := srv.RotateKey(); err != nil {
		t.Fatal(err)
	}
	check(jwks.Verified, false)
	srv.DropPreviousKeys()
	check(jwks.UnknownKey, true)
	if len(c.entries) != 0 {
		t.Fatal("the dead token is still cached")
	}

	// invalid_target: the message names the resource, org/service and server.
	bad := git
	bad.Resource = "https://wiki.acme.example"
	_, err = DeviceLogin("test", &stepClock{now: time.Now()})(context.Background(), bad, approvingPrompt{srv: srv})
	want := "resource https://wiki.acme.example is not registered for acme/cli at " + srv.BaseURL() + "; ask your AuthOS administrator to add it to the service's resource URIs"
	if err == nil || err.Error() != want {
		t.Fatalf("err = %v\nwant %s", err, want)
	}
}

func TestDeviceLoginNotOffered(t *testing.T) {
	ts := httptest.NewUnstartedServer(nil)
	srv, err := devserver.New(devserver.Options{BaseURL: "http://" + ts.Listener.Addr().String(), Key: devKeys()[0], DisableRateLimit: true, DeviceAuthorizationStatus: "unsupported"})
	if err != nil {
		t.Fatal(err)
	}
	ts.Config.Handler = srv
	ts.Start()
	defer ts.Close()
	i := helper.Identity{Server: srv.BaseURL(), Org: "acme", Service: "cli", ClientID: "acme-cli"}
	_, err = DeviceLogin("test", &stepClock{now: time.Now()})(context.Background(), i, nopPrompt{})
	var no *authos.NotOfferedError
	if !errors.As(err, &no) || srv.DeviceCodeRequests() != 0 {
		t.Fatalf("err %v, %d device codes", err, srv.DeviceCodeRequests())
	}
}

// Logout of a resource token says it stays valid rather than claiming the
// session ended (AuthOS's API answers 401 to such tokens).
func TestRevokeResourceToken(t *testing.T) {
	err := RevokeSession("test")(context.Background(), helper.Identity{Server: "http://127.0.0.1:1"}, jwtWith(`{"typ":"at+jwt"}`, `{"aud":"https://git.acme.example"}`))
	if !errors.Is(err, errResourceTokenLives) {
		t.Fatalf("err = %v", err)
	}
}

// Offline, a kept JWKS that lacks the token's kid proves nothing (the
// token may be newer than the copy): it is reported, not evicted.
func TestVerifyStatusOfflineKeepsToken(t *testing.T) {
	now := time.Now()
	server := "http://127.0.0.1:1" // nothing listens
	keys := &JWKSStore{Dir: t.TempDir()}
	if err := keys.Save(server, &jwks.Set{URL: server + "/.well-known/jwks.json", FetchedAt: now.Add(-time.Hour), Keys: []jwks.Key{}}); err != nil {
		t.Fatal(err)
	}
	tok := jwtWith(`{"alg":"RS256","typ":"authos-management+jwt","kid":"new"}`, fmt.Sprintf(`{"exp":%d}`, now.Add(time.Hour).Unix()))
	i := helper.Identity{Server: server, Org: "acme", Service: "cli", ClientID: "acme-cli"}
	c := newMemCache()
	c.entries[i.Key()] = cache.Entry{Server: server, Org: "acme", Service: "cli", ClientID: "acme-cli", AccessToken: tok, ObtainedAt: now, ExpiresAt: now.Add(time.Hour)}
	h := &helper.Helper{Cache: c, Locks: busyLocker{}}
	rep, err := h.Status(&config.Config{}, entryNames{c})
	if err != nil {
		t.Fatal(err)
	}
	st := VerifyStatus(context.Background(), h, &rep, &Verifier{Keys: keys})[0]
	if st.Verification == nil || st.Verification.Result.Kind != jwks.UnknownKey || !st.Verification.Stale || st.Evicted || len(c.entries) != 1 {
		t.Fatalf("verification %+v, evicted %v, %d entries", st.Verification, st.Evicted, len(c.entries))
	}
	if d := st.Verification.Describe(); !strings.Contains(d, "signature unknown after key rotation") || !strings.Contains(d, "against the JWKS fetched") {
		t.Fatalf("Describe = %q", d)
	}
}

// VerifyLocally (the revalidation check) keeps a token it cannot judge:
// no JWKS at all, or only a kept copy lacking its kid while the server is
// unreachable.
func TestVerifyLocallyOffline(t *testing.T) {
	now := time.Now()
	server := "http://127.0.0.1:1"
	i := helper.Identity{Server: server, Org: "acme", Service: "cli", ClientID: "acme-cli"}
	tok := jwtWith(`{"alg":"RS256","typ":"authos-management+jwt","kid":"new"}`, fmt.Sprintf(`{"exp":%d}`, now.Add(time.Hour).Unix()))
	empty := &Verifier{Keys: &JWKSStore{Dir: t.TempDir()}}
	if alive, err := empty.VerifyLocally(context.Background(), i, tok); !alive || !errors.Is(err, ErrNoJWKS) {
		t.Fatalf("no JWKS: alive %v, err %v", alive, err)
	}
	kept := &JWKSStore{Dir: t.TempDir()}
	kept.Save(server, &jwks.Set{URL: server + "/.well-known/jwks.json", FetchedAt: now.Add(-time.Hour)})
	if alive, err := (&Verifier{Keys: kept}).VerifyLocally(context.Background(), i, tok); !alive || err == nil {
		t.Fatalf("stale copy without the kid: alive %v, err %v", alive, err)
	}
}

// codeRecorder keeps the codes a prompt was asked to show.
type codeRecorder struct{ shown []string }

func (r *codeRecorder) ShowCode(_ helper.Identity, uri, code string, _ time.Time) {
	r.shown = append(r.shown, uri+" "+code)
}
func (r *codeRecorder) Event(authos.Event)      {}
func (r *codeRecorder) Waiting(helper.Identity) {}
func (r *codeRecorder) Finish(error)            {}

// A user code nobody could type stops the sign-in before anything is shown
// or polled; an unusual printable one goes on.
func TestDeviceLoginRefusesUntypeableUserCode(t *testing.T) {
	for _, tt := range []struct {
		code   string
		refuse bool
	}{
		{"ABCD-\x1b]52;c;aGk=\x07", true},
		{"ABCD\u202e-EFGH", true},
		{strings.Repeat("A", 40), true},
		{"abcd-1234", false},
	} {
		var polls atomic.Int32
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			if r.URL.Path == "/auth/token" {
				polls.Add(1)
				w.WriteHeader(http.StatusBadRequest)
				io.WriteString(w, `{"error":"Invalid device code","error_code":"BAD_REQUEST","timestamp":"2026-11-26T00:00:00Z"}`)
				return
			}
			json.NewEncoder(w).Encode(map[string]any{"device_code": "d", "user_code": tt.code,
				"verification_uri": "https://sso.example/activate", "expires_in": 900, "interval": 1})
		}))
		rec := &codeRecorder{}
		_, err := DeviceLogin("test", authos.RealClock{})(context.Background(), helper.Identity{Server: srv.URL, Org: "acme", Service: "cli", ClientID: "acme-cli"}, rec)
		srv.Close()
		if err == nil {
			t.Fatalf("%q: the sign-in succeeded", tt.code)
		}
		refused := strings.Contains(err.Error(), "cannot be shown and typed safely")
		if refused != tt.refuse || (len(rec.shown) == 0) != tt.refuse || (polls.Load() == 0) != tt.refuse {
			t.Errorf("%q: refused=%v (%v), shown %q, %d polls; want refused=%v", tt.code, refused, err, rec.shown, polls.Load(), tt.refuse)
		}
		if refused {
			terminalSafe(t, "the refusal", err.Error())
		}
	}
}

func TestCheckSession(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.Header.Get("Authorization") {
		case "Bearer alive":
			w.Write([]byte(`{"id":"u","email":"","org":"acme","service":"cli"}`))
		case "Bearer broken":
			w.WriteHeader(http.StatusBadGateway)
		default:
			w.WriteHeader(http.StatusUnauthorized)
		}
	}))
	defer srv.Close()
	check := CheckSession("test")
	sid := helper.Identity{Server: srv.URL}
	for tok, want := range map[string]struct {
		alive, err bool
	}{"alive": {true, false}, "dead": {false, false}, "broken": {false, true}} {
		alive, err := check(context.Background(), sid, tok)
		if alive != want.alive || (err != nil) != want.err {
			t.Errorf("%s: alive = %v, err = %v", tok, alive, err)
		}
	}
}
