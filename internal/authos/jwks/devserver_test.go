package jwks_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/authos/authos-credential-helper/internal/authos"
	"github.com/authos/authos-credential-helper/internal/authos/jwks"
	"github.com/authos/authos-credential-helper/internal/devserver"
)

// keys are generated once and handed out in turn: the first signs, the
// others are the dev server's rotations.
var keys = sync.OnceValue(func() []*rsa.PrivateKey {
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

type instantClock struct{ now time.Time }

func (c *instantClock) Now() time.Time { return c.now }
func (c *instantClock) Sleep(ctx context.Context, d time.Duration) error {
	c.now = c.now.Add(d)
	return ctx.Err()
}

type env struct {
	t   *testing.T
	srv *devserver.Server
	c   *authos.Client
}

func start(t *testing.T, opts devserver.Options) *env {
	t.Helper()
	ts := httptest.NewUnstartedServer(nil)
	opts.BaseURL = "http://" + ts.Listener.Addr().String()
	opts.Key = keys()[0]
	next := 1
	opts.KeyGen = func() (*rsa.PrivateKey, error) {
		if next >= len(keys()) {
			return nil, errors.New("no more test keys")
		}
		next++
		return keys()[next-1], nil
	}
	opts.DisableRateLimit = true
	srv, err := devserver.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	ts.Config.Handler = srv
	ts.Start()
	t.Cleanup(ts.Close)
	c, err := authos.NewClient(ts.URL, "", "test")
	if err != nil {
		t.Fatal(err)
	}
	return &env{t: t, srv: srv, c: c}
}

// login runs a device flow approved by alice, for resource ("" = none).
func (e *env) login(resource string) (string, error) {
	e.t.Helper()
	ctx := context.Background()
	dc, err := e.c.StartDeviceFlow(ctx, devserver.ClientIDAcmeCLI, devserver.OrgAcme, devserver.ServiceCLI)
	if err != nil {
		e.t.Fatal(err)
	}
	if err := e.srv.Approve(dc.UserCode, devserver.UserAlice); err != nil {
		e.t.Fatal(err)
	}
	clock := &instantClock{now: time.Now()}
	tok, err := e.c.Poll(ctx, dc, devserver.ClientIDAcmeCLI, authos.PollOptions{Clock: clock, Resource: resource})
	return tok.AccessToken, err
}

func (e *env) fetch(cached *jwks.Set, force bool) *jwks.Set {
	e.t.Helper()
	set, err := e.c.FetchJWKS(context.Background(), cached, force)
	if err != nil {
		e.t.Fatal(err)
	}
	return set
}

// TestAgainstDevServer: discovery, a resource login, local verification,
// rotation and dropped keys, all over HTTP against the dev server.
func TestAgainstDevServer(t *testing.T) {
	e := start(t, devserver.Options{})
	d, err := e.c.Discover(context.Background())
	if err != nil || !d.Document || len(d.Warnings) != 0 || d.DeviceStatus != "beta" {
		t.Fatalf("discover: %+v %v", d, err)
	}
	base := e.srv.BaseURL()
	if d.Endpoints.Token != base+"/auth/token" || d.Endpoints.JWKS != base+"/.well-known/jwks.json" {
		t.Fatalf("endpoints %+v", d.Endpoints)
	}

	git, err := e.login(devserver.AcmeGitURI)
	if err != nil {
		t.Fatal(err)
	}
	mgmt, err := e.login("")
	if err != nil {
		t.Fatal(err)
	}
	set := e.fetch(nil, false)
	now := time.Now()
	gitWant := jwks.Want{Issuer: base, Audience: devserver.AcmeGitURI, Type: jwks.TypeResource, Now: now}
	mgmtWant := jwks.Want{Issuer: base, Audience: "service:acme/cli", Type: jwks.TypeManagement, Now: now}
	checks := []struct {
		name  string
		token string
		want  jwks.Want
		kind  jwks.Kind
	}{
		{"resource token", git, gitWant, jwks.Verified},
		{"management token", mgmt, mgmtWant, jwks.Verified},
		{"git token is not the registry's", git, jwks.Want{Issuer: base, Audience: devserver.AcmeRegistryURI, Type: jwks.TypeResource, Now: now}, jwks.WrongAudience},
		{"resource token is no management token", git, jwks.Want{Issuer: base, Audience: devserver.AcmeGitURI, Type: jwks.TypeManagement, Now: now}, jwks.WrongType},
		{"another issuer", mgmt, jwks.Want{Issuer: "https://sso.example", Audience: "service:acme/cli", Type: jwks.TypeManagement, Now: now}, jwks.WrongIssuer},
		{"after expiry", mgmt, jwks.Want{Issuer: base, Audience: "service:acme/cli", Type: jwks.TypeManagement, Now: now.Add(25 * time.Hour)}, jwks.Expired},
	}
	for _, c := range checks {
		if r := jwks.Verify(c.token, set, c.want); r.Kind != c.kind {
			t.Errorf("%s: %v (%s), want %v", c.name, r.Kind, r.Detail, c.kind)
		}
	}

	// AuthOS's own API refuses the resource token: local verification is
	// the only check for it.
	req, _ := http.NewRequest(http.MethodGet, base+"/api/user", nil)
	req.Header.Set("Authorization", "Bearer "+git)
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("/api/user with a resource token: %v %v", resp, err)
	} else {
		resp.Body.Close()
	}

	// Rotation: a token of the new key is unknown to the cached set until
	// it is revalidated; the old one keeps verifying as a previous key.
	if _, err := e.srv.RotateKey(); err != nil {
		t.Fatal(err)
	}
	fresh, err := e.login(devserver.AcmeGitURI)
	if err != nil {
		t.Fatal(err)
	}
	if cached := e.fetch(set, false); cached != set {
		t.Error("a fresh cached set was fetched again")
	}
	if r := jwks.Verify(fresh, set, gitWant); r.Kind != jwks.UnknownKey || r.Kind.String() != "signature unknown after key rotation" {
		t.Errorf("new key against the old set: %v", r.Kind)
	}
	set2 := e.fetch(set, true)
	if set2.ETag == set.ETag || len(set2.Keys) != 2 || set2.Keys[0].Kid != e.srv.KeyID() {
		t.Fatalf("after rotation: etag %q→%q, kids %v", set.ETag, set2.ETag, set2.Kids())
	}
	for _, tok := range []string{fresh, git} {
		if r := jwks.Verify(tok, set2, gitWant); !r.OK() {
			t.Errorf("after rotation: %v %s", r.Kind, r.Detail)
		}
	}
	if again := e.fetch(set2, true); again.ETag != set2.ETag || len(again.Keys) != 2 {
		t.Errorf("304 revalidation lost the keys: %v", again.Kids())
	}

	// Dropping the previous keys kills tokens they signed.
	e.srv.DropPreviousKeys()
	set3 := e.fetch(set2, true)
	if r := jwks.Verify(git, set3, gitWant); r.Kind != jwks.UnknownKey {
		t.Errorf("dropped key: %v", r.Kind)
	}
	if r := jwks.Verify(fresh, set3, gitWant); !r.OK() {
		t.Errorf("active key after drop: %v", r.Kind)
	}

	// An unregistered resource is refused with the typed error.
	_, err = e.login("https://git.other.example")
	var it *authos.InvalidTargetError
	if !errors.As(err, &it) || !it.NotRegistered() {
		t.Fatalf("unregistered resource: %v", err)
	}
	want := "resource https://git.other.example is not registered for acme/cli at " + base +
		"; ask your AuthOS administrator to add it to the service's resource URIs"
	if got := it.Message("acme", "cli"); got != want {
		t.Errorf("message %q", got)
	}
}

func TestDiscoverAgainstDevServerVersions(t *testing.T) {
	tests := []struct {
		name       string
		opts       devserver.Options
		wantDoc    bool
		notOffered bool
	}{
		{"older server without a document", devserver.Options{NoMetadata: true}, false, false},
		{"device flow unsupported", devserver.Options{DeviceAuthorizationStatus: "unsupported"}, true, true},
		{"device section absent", devserver.Options{DeviceAuthorizationStatus: "absent"}, true, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := start(t, tc.opts)
			d, err := e.c.Discover(context.Background())
			var no *authos.NotOfferedError
			if errors.As(err, &no) != tc.notOffered || (!tc.notOffered && err != nil) || d.Document != tc.wantDoc {
				t.Fatalf("discover: %+v %v", d, err)
			}
			if tc.notOffered {
				// Nothing was requested: the caller stops before any code.
				if n := e.srv.DeviceCodeRequests(); n != 0 {
					t.Errorf("%d device code requests", n)
				}
				return
			}
			if d.Endpoints.DeviceAuthorization != e.srv.BaseURL()+"/auth/device/code" {
				t.Errorf("endpoints %+v", d.Endpoints)
			}
			if _, err := e.login(""); err != nil {
				t.Fatal(err)
			}
		})
	}
}
