package helper

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/authos/authos-credential-helper/cache"
	"github.com/authos/authos-credential-helper/internal/authos"
	"github.com/authos/authos-credential-helper/internal/authos/jwks"
	"github.com/authos/authos-credential-helper/internal/config"
	"github.com/authos/authos-credential-helper/internal/devserver"
	"github.com/authos/authos-credential-helper/protocol"
)

// The key of an identity without a resource is what it was before
// resources existed (existing caches stay valid); each resource has its own.
func TestIdentityKeyResource(t *testing.T) {
	const before = "id-c9250935680d5b53857903ed543ba733" // HashName of the four fields, as released
	if got := id.Key(); got != before {
		t.Fatalf("key without resource = %s, want the released %s", got, before)
	}
	a, b := id, id
	a.Resource, b.Resource = "https://git.acme.example", "https://registry.acme.example"
	if a.Key() == before || b.Key() == before || a.Key() == b.Key() {
		t.Fatalf("keys: none %s, A %s, B %s: want three different", before, a.Key(), b.Key())
	}
	p := FromProfile("git", Profile{Server: "https://sso.example/", Org: "acme", Service: "cli", ClientID: "acme-cli", Resource: a.Resource, TokenEnv: "CI_GIT"})
	if p.Key() != a.Key() || p.Resource != a.Resource || p.TokenEnv != "CI_GIT" {
		t.Fatalf("FromProfile: %+v", p)
	}
	// Explicit fields make another identity: the profile's resource does not carry over.
	cfg := &Config{Profiles: map[string]Profile{"git": {Server: "https://sso.example", Org: "acme", Service: "cli", ClientID: "acme-cli", Resource: a.Resource}}}
	got, err := Resolve(cfg, Selector{Profile: "git", Service: "other"}, Selector{})
	if err != nil || got.Resource != "" {
		t.Fatalf("Resolve with an override: %+v %v", got, err)
	}
	for _, tc := range []struct {
		id   Identity
		want string
	}{{id, "service:acme/cli"}, {a, a.Resource}, {Identity{Org: "platform", Service: "admin-cli"}, "platform"}} {
		if got := tc.id.Audience(); got != tc.want {
			t.Errorf("Audience(%+v) = %q, want %q", tc.id, got, tc.want)
		}
	}
}

// A token cached for resource A is never served to a client of a profile
// that names resource B or none, though all share server, org, service and
// client id.
func TestCredentialsNeverCrossResources(t *testing.T) {
	ctx := context.Background()
	profiles := func(name, resource, host string) string {
		r := ""
		if resource != "" {
			r = fmt.Sprintf("resource = %q\n", resource)
		}
		return fmt.Sprintf("[profiles.%s]\nserver = \"https://sso.example\"\norg = \"acme\"\nservice = \"cli\"\nclient_id = \"acme-cli\"\n%sgit = [\"https://%s/\"]\n", name, r, host)
	}
	w := newCredWorld(t, "")
	w.text = []byte(profiles("a", "https://a.acme.example", "git.a.example") + profiles("b", "https://b.acme.example", "git.b.example") + profiles("plain", "", "git.plain.example"))
	delete(w.cache.entries, id.Key())
	resA := id
	resA.Resource = "https://a.acme.example"
	tokA := testJWT(`{"sub":"a"}`)
	now := time.Now()
	w.cache.entries[resA.Key()] = cache.Entry{AccessToken: tokA, ObtainedAt: now, ExpiresAt: now.Add(time.Hour)}

	a, ok, err := w.c.GitGet(ctx, Selector{}, protocol.GitRequest{Protocol: "https", Host: "git.a.example"})
	if err != nil || !ok || a.Password != tokA {
		t.Fatalf("profile a: %+v %v %v", a, ok, err)
	}
	for _, host := range []string{"git.b.example", "git.plain.example"} {
		a, _, err := w.c.GitGet(ctx, Selector{}, protocol.GitRequest{Protocol: "https", Host: host})
		if a.Password == tokA || err == nil {
			t.Fatalf("%s got resource A's token (%v) or no error (%v)", host, a.Password == tokA, err)
		}
	}
}

// jwtWith is a JWT-shaped token with the given JOSE header and claims.
func jwtWith(header, claims string) string {
	return b64(header) + "." + b64(claims) + "." + b64("signature")
}

func TestCheckBound(t *testing.T) {
	res := id
	res.Resource = "https://git.acme.example"
	mgmt := jwtWith(`{"typ":"authos-management+jwt"}`, `{"aud":"service:acme/cli"}`)
	bound := jwtWith(`{"typ":"at+jwt"}`, `{"aud":"https://git.acme.example"}`)
	other := jwtWith(`{"typ":"at+jwt"}`, `{"aud":["https://registry.acme.example"]}`)
	tests := []struct {
		name string
		id   Identity
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

// CI tokens: served as given for the identities they are for, never
// cached, never a sign-in; an expired or malformed one fails naming its
// variable; login (Force) ignores them.
func TestEnvToken(t *testing.T) {
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	exp := now.Add(time.Hour).Unix()
	mgmtTok := jwtWith(`{"typ":"authos-management+jwt"}`, fmt.Sprintf(`{"iss":"https://sso.example","aud":"service:acme/cli","sub":"ci","exp":%d}`, exp))
	gitTok := jwtWith(`{"typ":"at+jwt"}`, fmt.Sprintf(`{"iss":"https://sso.example","aud":"https://git.acme.example","exp":%d}`, exp))
	otherServer := jwtWith(`{"typ":"authos-management+jwt"}`, fmt.Sprintf(`{"iss":"https://sso.other.example","aud":"service:acme/cli","exp":%d}`, exp))
	expired := jwtWith(`{"typ":"authos-management+jwt"}`, fmt.Sprintf(`{"iss":"https://sso.example","aud":"service:acme/cli","exp":%d}`, now.Add(-time.Minute).Unix()))
	res := id
	res.Resource = "https://git.acme.example"
	withEnv := func(i Identity, v string) Identity { i.TokenEnv = v; return i }
	tests := []struct {
		name    string
		id      Identity
		env     map[string]string
		force   bool
		want    string // the token served; "" when the request falls through to the cache/login
		wantErr string
	}{
		{name: "AUTHOS_TOKEN for the identity", id: id, env: map[string]string{"AUTHOS_TOKEN": mgmtTok}, want: mgmtTok},
		{name: "AUTHOS_TOKEN of another server is not used", id: id, env: map[string]string{"AUTHOS_TOKEN": otherServer}},
		{name: "AUTHOS_TOKEN (management) is not used for a resource identity", id: res, env: map[string]string{"AUTHOS_TOKEN": mgmtTok}},
		{name: "AUTHOS_TOKEN holding the resource's token", id: res, env: map[string]string{"AUTHOS_TOKEN": gitTok}, want: gitTok},
		{name: "token_env wins over AUTHOS_TOKEN", id: withEnv(res, "CI_GIT"), env: map[string]string{"AUTHOS_TOKEN": mgmtTok, "CI_GIT": gitTok}, want: gitTok},
		{name: "token_env unset: AUTHOS_TOKEN, then the cache", id: withEnv(id, "CI_GIT"), env: map[string]string{"AUTHOS_TOKEN": mgmtTok}, want: mgmtTok},
		{name: "token_env for another identity", id: withEnv(id, "CI_GIT"), env: map[string]string{"CI_GIT": gitTok}, wantErr: "the token in CI_GIT is not for acme/cli at sso.example"},
		{name: "expired", id: id, env: map[string]string{"AUTHOS_TOKEN": expired}, wantErr: "the token in AUTHOS_TOKEN expired at 2026-12-01 11:59:00 UTC (1m ago)"},
		{name: "malformed", id: withEnv(id, "CI_TOK"), env: map[string]string{"CI_TOK": "not a token\n"}, wantErr: "the token in CI_TOK is not a well-formed JWT"},
		{name: "no exp", id: withEnv(id, "CI_TOK"), env: map[string]string{"CI_TOK": testJWT(`{"sub":"x"}`)}, wantErr: "the token in CI_TOK has no exp claim"},
		{name: "login ignores it", id: id, env: map[string]string{"AUTHOS_TOKEN": mgmtTok}, force: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := newMemCache()
			logins := 0
			h := &Helper{Cache: c, Locks: busyLocker{}, Now: func() time.Time { return now }, Getenv: func(k string) string { return tc.env[k] },
				Login: func(context.Context, Identity, Prompter) (authos.Token, error) {
					logins++
					return authos.Token{}, errors.New("no sign-in here")
				}}
			cred, err := h.Token(context.Background(), Request{Identity: tc.id, Force: tc.force, NonInteractive: !tc.force})
			switch {
			case tc.wantErr != "":
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				for _, v := range tc.env {
					if len(v) > 20 && strings.Contains(err.Error(), v) {
						t.Fatal("the error holds the token")
					}
				}
			case tc.want != "":
				if err != nil || cred.Token != tc.want || cred.ExpiresAt.Unix() != exp {
					t.Fatalf("got %v (expires %v), %v; want the env token", cred.Token == tc.want, cred.ExpiresAt, err)
				}
			default:
				if err == nil || cred.Token != "" {
					t.Fatalf("served %v, err %v: want the cache/login path", cred.Token != "", err)
				}
			}
			if len(c.entries) != 0 {
				t.Fatal("something was cached")
			}
			if logins != 0 && !tc.force {
				t.Fatalf("%d sign-ins", logins)
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

func (p approvingPrompt) ShowCode(_ Identity, _, code string, _ time.Time) {
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

	git := Identity{Profile: "git", Server: srv.BaseURL(), Org: "acme", Service: "cli", ClientID: "acme-cli", Resource: devserver.AcmeGitURI}
	keys := &JWKSStore{Dir: t.TempDir()}
	v := &Verifier{Keys: keys}
	c := newMemCache()
	h := &Helper{Cache: c, Locks: busyLocker{}, Login: DeviceLoginWith("test", &stepClock{now: time.Now()}, v)}
	cred, err := h.Token(context.Background(), Request{Identity: git, Prompt: approvingPrompt{srv: srv}})
	if err != nil {
		t.Fatal(err)
	}
	if typ, aud := tokenProfile(cred.Token); typ != jwks.TypeResource || len(aud) != 1 || aud[0] != devserver.AcmeGitURI {
		t.Fatalf("typ %q aud %q", typ, aud)
	}
	if keys.Load(git.Server) == nil {
		t.Fatal("login kept no JWKS")
	}
	cfg := &config.Config{Profiles: map[string]config.Profile{"git": {Server: git.Server, Org: "acme", Service: "cli", ClientID: "acme-cli", Resource: git.Resource}}}
	check := func(want jwks.Kind, evicted bool) {
		t.Helper()
		rep, err := h.Status(cfg, entryNames{newMemRecords(), c})
		if err != nil || len(rep.Identities) != 1 {
			t.Fatalf("status: %+v %v", rep, err)
		}
		h.VerifyStatus(context.Background(), &rep, v)
		st := rep.Identities[0]
		if st.Verification == nil || st.Verification.Result.Kind != want || st.Evicted != evicted || st.Identity.Resource != git.Resource {
			t.Fatalf("verification %+v (err %v), evicted %v; want %v, evicted %v", st.Verification, st.VerifyErr, st.Evicted, want, evicted)
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
	i := Identity{Server: srv.BaseURL(), Org: "acme", Service: "cli", ClientID: "acme-cli"}
	_, err = DeviceLogin("test", &stepClock{now: time.Now()})(context.Background(), i, nopPrompt{})
	var no *authos.NotOfferedError
	if !errors.As(err, &no) || srv.DeviceCodeRequests() != 0 {
		t.Fatalf("err %v, %d device codes", err, srv.DeviceCodeRequests())
	}
}

func b64(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

// entryNames lists a memCache's entries as the store's records would.
type entryNames struct {
	*memRecords
	c *memCache
}

func (e entryNames) Names(prefix string) ([]string, error) {
	if prefix != EntryPrefix {
		return e.memRecords.Names(prefix)
	}
	var out []string
	for n := range e.c.entries {
		out = append(out, n)
	}
	return out, nil
}

// Logout of a resource token says it stays valid rather than claiming the
// session ended (AuthOS's API answers 401 to such tokens).
func TestRevokeResourceToken(t *testing.T) {
	err := RevokeSession("test")(context.Background(), Identity{Server: "http://127.0.0.1:1"}, jwtWith(`{"typ":"at+jwt"}`, `{"aud":"https://git.acme.example"}`))
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
	i := Identity{Server: server, Org: "acme", Service: "cli", ClientID: "acme-cli"}
	c := newMemCache()
	c.entries[i.Key()] = cache.Entry{Server: server, Org: "acme", Service: "cli", ClientID: "acme-cli", AccessToken: tok, ObtainedAt: now, ExpiresAt: now.Add(time.Hour)}
	h := &Helper{Cache: c, Locks: busyLocker{}}
	rep, err := h.Status(&config.Config{}, entryNames{newMemRecords(), c})
	if err != nil {
		t.Fatal(err)
	}
	h.VerifyStatus(context.Background(), &rep, &Verifier{Keys: keys})
	st := rep.Identities[0]
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
	i := Identity{Server: server, Org: "acme", Service: "cli", ClientID: "acme-cli"}
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
