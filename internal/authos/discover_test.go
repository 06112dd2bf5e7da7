package authos

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/authos/authos-credential-helper/internal/authos/jwks"
)

// routes answers by path, filling "{base}" in bodies with the server's URL,
// and records each request.
type routes struct {
	mu      sync.Mutex
	base    string
	answers map[string]answer
	seen    []*http.Request
	bodies  []string
}

func newRoutes(t *testing.T, answers map[string]answer) (*routes, *httptest.Server) {
	rt := &routes{answers: answers}
	srv := httptest.NewServer(rt)
	t.Cleanup(srv.Close)
	rt.base = srv.URL
	return rt, srv
}

func (rt *routes) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	rt.mu.Lock()
	rt.seen = append(rt.seen, r)
	rt.bodies = append(rt.bodies, string(b))
	a, ok := rt.answers[r.URL.Path]
	rt.mu.Unlock()
	if !ok {
		w.WriteHeader(http.StatusNotFound)
		return
	}
	for k, v := range a.headers {
		w.Header().Set(k, v)
	}
	if a.ctype != "" {
		w.Header().Set("Content-Type", a.ctype)
	}
	w.WriteHeader(a.status)
	io.WriteString(w, strings.ReplaceAll(a.body, "{base}", rt.base))
}

func (rt *routes) paths() []string {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	var out []string
	for _, r := range rt.seen {
		out = append(out, r.Method+" "+r.URL.Path)
	}
	return out
}

// metadata builds a document like AuthOS's with the device section given.
func metadata(device string) answer {
	doc := `{"service":"AuthOS","metadata_version":1,"issuer":"{base}","jwks_uri":"{base}/keys/jwks.json",` +
		`"openid_connect":{"status":"unsupported","authorization_code_provider":false,"id_token_issuance":false}`
	if device != "" {
		doc += `,"oauth_device_authorization":` + device
	}
	doc += `,"enterprise_managed_authorization":{"status":"beta","token_endpoint":"{base}/oauth/token"}}`
	return answer{status: 200, body: doc, ctype: "application/json"}
}

func deviceSection(status, code, token string) string {
	return `{"status":"` + status + `","device_authorization_endpoint":"` + code + `","token_endpoint":"` + token + `",` +
		`"grant_types_supported":["urn:ietf:params:oauth:grant-type:device_code"],"token_endpoint_auth_methods_supported":["none"]}`
}

func TestDiscover(t *testing.T) {
	moved := deviceSection("beta", "{base}/v2/device/code", "{base}/v2/token")
	tests := []struct {
		name       string
		doc        *answer // nil: 404
		wantDoc    bool
		wantCode   string // path of the device endpoint used ("" = fixed)
		wantToken  string
		wantJWKS   string
		wantWarn   string // substring of a warning
		wantNotOff bool
		wantErr    bool
	}{
		{name: "older server: 404", wantCode: "/auth/device/code", wantToken: "/auth/token", wantJWKS: "/.well-known/jwks.json"},
		{name: "newest server", doc: ptrA(metadata(moved)), wantDoc: true,
			wantCode: "/v2/device/code", wantToken: "/v2/token", wantJWKS: "/keys/jwks.json"},
		{name: "HTML fallback of a web client", doc: &answer{status: 200, body: "<!doctype html><html></html>", ctype: "text/html"},
			wantCode: "/auth/device/code", wantToken: "/auth/token", wantJWKS: "/.well-known/jwks.json", wantWarn: "not an AuthOS metadata document"},
		{name: "another JSON document", doc: &answer{status: 200, body: `{"issuer":"x"}`, ctype: "application/json"},
			wantCode: "/auth/device/code", wantToken: "/auth/token", wantJWKS: "/.well-known/jwks.json", wantWarn: "not an AuthOS metadata document"},
		{name: "endpoints on another origin are not used",
			doc:      ptrA(metadata(deviceSection("beta", "https://evil.example/auth/device/code", "http://127.0.0.2:1/auth/token"))),
			wantDoc:  true,
			wantCode: "/auth/device/code", wantToken: "/auth/token", wantJWKS: "/keys/jwks.json", wantWarn: "not on the server's origin"},
		{name: "relative endpoint is not used", doc: ptrA(metadata(deviceSection("beta", "/auth/device/code", "{base}/v2/token"))), wantDoc: true,
			wantCode: "/auth/device/code", wantToken: "/v2/token", wantJWKS: "/keys/jwks.json", wantWarn: "not an absolute URL"},
		{name: "endpoint with a query is not used", doc: ptrA(metadata(deviceSection("beta", "{base}/v2/device/code?x=1", "{base}/v2/token"))), wantDoc: true,
			wantCode: "/auth/device/code", wantToken: "/v2/token", wantJWKS: "/keys/jwks.json", wantWarn: "query"},
		{name: "status unsupported", doc: ptrA(metadata(deviceSection("unsupported", "{base}/auth/device/code", "{base}/auth/token"))), wantDoc: true, wantNotOff: true},
		{name: "status Disabled", doc: ptrA(metadata(deviceSection("Disabled", "{base}/auth/device/code", "{base}/auth/token"))), wantDoc: true, wantNotOff: true},
		{name: "a later status still offers it", doc: ptrA(metadata(deviceSection("stable", "{base}/v2/device/code", "{base}/v2/token"))), wantDoc: true,
			wantCode: "/v2/device/code", wantToken: "/v2/token", wantJWKS: "/keys/jwks.json"},
		{name: "section missing", doc: ptrA(metadata("")), wantDoc: true, wantNotOff: true},
		{name: "device grant not listed", doc: ptrA(metadata(`{"status":"beta","grant_types_supported":["authorization_code"]}`)), wantDoc: true, wantNotOff: true},
		{name: "client authentication required", doc: ptrA(metadata(`{"status":"beta","token_endpoint_auth_methods_supported":["client_secret_basic"]}`)), wantDoc: true, wantNotOff: true},
		{name: "server error", doc: ptrA(envelope(500, "INTERNAL_SERVER_ERROR", "down")), wantErr: true},
		{name: "another metadata_version without the section",
			doc:     &answer{status: 200, body: `{"service":"AuthOS","metadata_version":2,"issuer":"{base}"}`, ctype: "application/json"},
			wantDoc: true, wantCode: "/auth/device/code", wantToken: "/auth/token", wantJWKS: "/.well-known/jwks.json", wantWarn: "metadata_version 2"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			answers := map[string]answer{}
			if tc.doc != nil {
				answers[metadataPath] = *tc.doc
			}
			rt, srv := newRoutes(t, answers)
			c, err := NewClient(srv.URL, "", "test")
			if err != nil {
				t.Fatal(err)
			}
			d, err := c.Discover(context.Background())
			var notOffered *NotOfferedError
			switch {
			case tc.wantNotOff:
				if !errors.As(err, &notOffered) || !strings.Contains(err.Error(), "does not offer device authorization") {
					t.Fatalf("err %v, want NotOfferedError", err)
				}
				if d.Endpoints.JWKS != srv.URL+"/keys/jwks.json" {
					t.Errorf("JWKS %q: still wanted for status and doctor", d.Endpoints.JWKS)
				}
				return
			case tc.wantErr:
				if err == nil || c.Endpoints != (Endpoints{}) || d.Endpoints.Token != srv.URL+"/auth/token" {
					t.Fatalf("err %v, endpoints %+v / %+v", err, c.Endpoints, d.Endpoints)
				}
				return
			case err != nil:
				t.Fatal(err)
			}
			if d.Document != tc.wantDoc || c.Endpoints != d.Endpoints {
				t.Errorf("document %v, client endpoints %+v, discovered %+v", d.Document, c.Endpoints, d.Endpoints)
			}
			want := Endpoints{DeviceAuthorization: srv.URL + tc.wantCode, Token: srv.URL + tc.wantToken, JWKS: srv.URL + tc.wantJWKS}
			if d.Endpoints != want {
				t.Errorf("endpoints %+v, want %+v", d.Endpoints, want)
			}
			warnings := strings.Join(d.Warnings, "\n")
			if (tc.wantWarn == "") != (warnings == "") || !strings.Contains(warnings, tc.wantWarn) {
				t.Errorf("warnings %q, want %q", warnings, tc.wantWarn)
			}
			// The flow then uses those endpoints.
			rt.answers[tc.wantCode] = answer{status: 200, ctype: "application/json",
				body: `{"device_code":"dc","user_code":"ABCD-EFGH","verification_uri":"https://x/activate","expires_in":900,"interval":5}`}
			rt.answers[tc.wantToken] = tokenOK
			if _, err := c.StartDeviceFlow(context.Background(), "cli", "acme", "cli"); err != nil {
				t.Fatal(err)
			}
			if _, err := c.ExchangeDeviceCode(context.Background(), "dc", "cli"); err != nil {
				t.Fatal(err)
			}
			got := rt.paths()
			if got[len(got)-2] != "POST "+tc.wantCode || got[len(got)-1] != "POST "+tc.wantToken {
				t.Errorf("requests %v", got)
			}
		})
	}
}

func ptrA(a answer) *answer { return &a }

// TestDiscoverRefusesRedirectElsewhere: the document and the JWKS are
// taken from the server's own origin only, even though a GET carries no
// secret.
func TestDiscoverRefusesRedirectElsewhere(t *testing.T) {
	other, otherSrv := newRoutes(t, map[string]answer{metadataPath: metadata(""), jwksPath: {status: 200, body: `{"keys":[]}`}})
	_, srv := newRoutes(t, map[string]answer{
		metadataPath: {status: 302, headers: map[string]string{"Location": otherSrv.URL + metadataPath}},
		jwksPath:     {status: 307, headers: map[string]string{"Location": otherSrv.URL + jwksPath}},
	})
	c, err := NewClient(srv.URL, "", "test")
	if err != nil {
		t.Fatal(err)
	}
	var re *RedirectError
	if _, err := c.Discover(context.Background()); !errors.As(err, &re) || !Permanent(err) {
		t.Errorf("discover: %v", err)
	}
	if _, err := c.FetchJWKS(context.Background(), nil, false); !errors.As(err, &re) {
		t.Errorf("jwks: %v", err)
	}
	if len(other.paths()) != 0 {
		t.Errorf("the other origin was asked: %v", other.paths())
	}
}

func TestFetchJWKS(t *testing.T) {
	k := jwksKey(t)
	body, _ := json.Marshal(map[string]any{"keys": []jwks.Key{k}})
	etag := `"v1"`
	var mu sync.Mutex
	var inm []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		inm = append(inm, r.Header.Get("If-None-Match"))
		mu.Unlock()
		w.Header().Set("Cache-Control", "public, max-age=60")
		w.Header().Set("ETag", etag)
		if r.Header.Get("If-None-Match") == etag {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write(body)
	}))
	defer srv.Close()
	now := time.Unix(1_800_000_000, 0)
	c, err := NewClient(srv.URL, "", "test")
	if err != nil {
		t.Fatal(err)
	}
	c.Now = func() time.Time { return now }

	set, err := c.FetchJWKS(context.Background(), nil, false)
	if err != nil {
		t.Fatal(err)
	}
	if set.URL != srv.URL+jwksPath || set.ETag != etag || set.MaxAge != time.Minute || !set.FetchedAt.Equal(now) || len(set.Keys) != 1 {
		t.Fatalf("set %+v", set)
	}
	steps := []struct {
		name    string
		advance time.Duration
		cached  *jwks.Set
		force   bool
		wantINM []string // If-None-Match of the requests this step made
	}{
		{name: "fresh: no request", advance: 30 * time.Second, cached: set},
		{name: "force revalidates with the ETag", cached: set, force: true, wantINM: []string{etag}},
		{name: "stale revalidates; 304 keeps the keys", advance: 2 * time.Minute, cached: set, wantINM: []string{etag}},
		{name: "another URL's set is not used", cached: &jwks.Set{URL: "https://other.example/jwks.json", ETag: etag, FetchedAt: now.Add(time.Hour), MaxAge: time.Hour}, wantINM: []string{""}},
	}
	for _, st := range steps {
		now = now.Add(st.advance)
		mu.Lock()
		inm = nil
		mu.Unlock()
		got, err := c.FetchJWKS(context.Background(), st.cached, st.force)
		if err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		mu.Lock()
		seen := strings.Join(inm, ",")
		mu.Unlock()
		if seen != strings.Join(st.wantINM, ",") || len(got.Keys) != 1 || got.Keys[0].Kid != k.Kid {
			t.Errorf("%s: If-None-Match %q, keys %v", st.name, seen, got.Kids())
		}
		if len(st.wantINM) > 0 && !got.FetchedAt.Equal(now) {
			t.Errorf("%s: fetched at %v, want now", st.name, got.FetchedAt)
		}
	}
}

func TestPollResource(t *testing.T) {
	invalidTarget := envelope(400, "BAD_REQUEST", "invalid_target: resource is not registered for this service")
	malformed := envelope(400, "BAD_REQUEST", "invalid_target: resource URI must not contain a fragment")
	tests := []struct {
		name     string
		resource string
		answers  []answer
		wantBody string // the resource member sent; "-" for none
		wantMsg  string // InvalidTargetError.Message("acme", "cli"); "" for a token
	}{
		{name: "no resource: field absent", answers: []answer{tokenOK}, wantBody: "-"},
		{name: "resource sent", resource: "https://git.acme.example", answers: []answer{pending, tokenOK}, wantBody: "https://git.acme.example"},
		{name: "not registered", resource: "https://git.other.example", answers: []answer{pending, invalidTarget}, wantBody: "https://git.other.example",
			wantMsg: "resource https://git.other.example is not registered for acme/cli at {base}; ask your AuthOS administrator to add it to the service's resource URIs"},
		{name: "malformed", resource: "https://git.acme.example#x", answers: []answer{malformed}, wantBody: "https://git.acme.example#x",
			wantMsg: `resource "https://git.acme.example#x" is not a resource URI {base} accepts for acme/cli: resource URI must not contain a fragment`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var mu sync.Mutex
			var bodies []map[string]any
			i := 0
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				var b map[string]any
				json.NewDecoder(r.Body).Decode(&b)
				mu.Lock()
				bodies = append(bodies, b)
				a := tc.answers[min(i, len(tc.answers)-1)]
				i++
				mu.Unlock()
				w.Header().Set("Content-Type", a.ctype)
				w.WriteHeader(a.status)
				io.WriteString(w, a.body)
			}))
			defer srv.Close()
			c, err := NewClient(srv.URL, "", "test")
			if err != nil {
				t.Fatal(err)
			}
			clock := &fakeClock{now: time.Unix(1_800_000_000, 0)}
			_, err = c.Poll(context.Background(), DeviceCode{DeviceCode: "dc", ExpiresIn: 900, Interval: 5}, "cli",
				PollOptions{Clock: clock, Resource: tc.resource})
			for _, b := range bodies {
				got, ok := b["resource"]
				if (tc.wantBody == "-") == ok || (ok && got != tc.wantBody) || len(b) != 3+boolInt(ok) {
					t.Errorf("poll body %v", b)
				}
			}
			if tc.wantMsg == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			var it *InvalidTargetError
			if !errors.As(err, &it) {
				t.Fatalf("err %v, want InvalidTargetError", err)
			}
			if len(bodies) != len(tc.answers) {
				t.Errorf("%d polls: invalid_target must be final", len(bodies))
			}
			if got, want := it.Message("acme", "cli"), strings.ReplaceAll(tc.wantMsg, "{base}", srv.URL); got != want {
				t.Errorf("message\n%s\nwant\n%s", got, want)
			}
			var apiErr *APIError
			if !errors.As(err, &apiErr) || apiErr.Status != 400 || !strings.Contains(err.Error(), tc.resource) {
				t.Errorf("error %v does not carry the answer", err)
			}
		})
	}
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

var testRSAKey = sync.OnceValue(func() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return k
})

func jwksKey(t *testing.T) jwks.Key {
	t.Helper()
	pub := testRSAKey().PublicKey
	return jwks.Key{Kty: "RSA", Alg: "RS256", Use: "sig", Kid: "k1",
		N: base64.RawURLEncoding.EncodeToString(pub.N.Bytes()),
		E: base64.RawURLEncoding.EncodeToString(big.NewInt(int64(pub.E)).Bytes())}
}
