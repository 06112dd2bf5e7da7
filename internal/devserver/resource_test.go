package devserver

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
)

// smallKeys hands out distinct 1024-bit keys for rotations: the dev server
// does not care about the size and 2048-bit generation is slow.
func smallKeys(t *testing.T) func() (*rsa.PrivateKey, error) {
	t.Helper()
	var mu sync.Mutex
	return func() (*rsa.PrivateKey, error) {
		mu.Lock()
		defer mu.Unlock()
		return rsa.GenerateKey(rand.Reader, 1024)
	}
}

func tokenHeader(t *testing.T, token string) map[string]any {
	t.Helper()
	hb, err := base64.RawURLEncoding.DecodeString(strings.Split(token, ".")[0])
	if err != nil {
		t.Fatal(err)
	}
	var h map[string]any
	if err := json.Unmarshal(hb, &h); err != nil {
		t.Fatal(err)
	}
	return h
}

// issue runs one approved device flow and returns the /auth/token answer.
func (h *harness) issue(clientID, org, svc, email string, extra ...string) reply {
	h.t.Helper()
	dc := h.start(clientID, org, svc)
	h.must(h.srv.Approve(dc.UserCode, email))
	return h.poll(dc.DeviceCode, clientID, extra...)
}

func TestResourceTokens(t *testing.T) {
	const extraURI = "https://charts.acme.example/v2"
	tests := []struct {
		name               string
		clientID, org, svc string
		email              string
		resource           *string
		wantTyp, wantUse   string
		wantAud            string
		status             int
		code, msg          string
		wantOrgClaim       bool
	}{
		{name: "no resource: management token", clientID: ClientIDAcmeCLI, org: OrgAcme, svc: ServiceCLI, email: UserAlice,
			wantTyp: "authos-management+jwt", wantUse: "management_access", wantAud: "service:acme/cli", status: 200, wantOrgClaim: true},
		{name: "git", clientID: ClientIDAcmeCLI, org: OrgAcme, svc: ServiceCLI, email: UserAlice, resource: ptr(AcmeGitURI),
			wantTyp: "at+jwt", wantUse: "external_resource_access", wantAud: AcmeGitURI, status: 200, wantOrgClaim: true},
		{name: "registry", clientID: ClientIDAcmeCLI, org: OrgAcme, svc: ServiceCLI, email: UserAlice, resource: ptr(AcmeRegistryURI),
			wantTyp: "at+jwt", wantUse: "external_resource_access", wantAud: AcmeRegistryURI, status: 200, wantOrgClaim: true},
		{name: "added by option", clientID: ClientIDAcmeCLI, org: OrgAcme, svc: ServiceCLI, email: UserAlice, resource: ptr(extraURI),
			wantTyp: "at+jwt", wantUse: "external_resource_access", wantAud: extraURI, status: 200, wantOrgClaim: true},
		{name: "access checks come first (row 8 before 9)", clientID: ClientIDDormantCLI, org: OrgDormant, svc: ServiceCLI, email: UserOwner,
			resource: ptr(AcmeGitURI), status: 403, code: "FORBIDDEN", msg: "Organization is not active"},
		{name: "not registered", clientID: ClientIDAcmeCLI, org: OrgAcme, svc: ServiceCLI, email: UserAlice, resource: ptr("https://git.other.example"),
			status: 400, code: "BAD_REQUEST", msg: "invalid_target: resource is not registered for this service"},
		{name: "trailing slash is another URI", clientID: ClientIDAcmeCLI, org: OrgAcme, svc: ServiceCLI, email: UserAlice, resource: ptr(AcmeGitURI + "/"),
			status: 400, code: "BAD_REQUEST", msg: "invalid_target: resource is not registered for this service"},
		{name: "empty", clientID: ClientIDAcmeCLI, org: OrgAcme, svc: ServiceCLI, email: UserAlice, resource: ptr(""),
			status: 400, code: "BAD_REQUEST", msg: "invalid_target: resource must be a non-empty URI"},
		{name: "spaces", clientID: ClientIDAcmeCLI, org: OrgAcme, svc: ServiceCLI, email: UserAlice, resource: ptr(" " + AcmeGitURI),
			status: 400, code: "BAD_REQUEST", msg: "invalid_target: resource must be a non-empty URI"},
		{name: "fragment", clientID: ClientIDAcmeCLI, org: OrgAcme, svc: ServiceCLI, email: UserAlice, resource: ptr(AcmeGitURI + "#x"),
			status: 400, code: "BAD_REQUEST", msg: "invalid_target: resource URI must not contain a fragment"},
		{name: "too long", clientID: ClientIDAcmeCLI, org: OrgAcme, svc: ServiceCLI, email: UserAlice, resource: ptr("https://a.example/" + strings.Repeat("x", 2048)),
			status: 400, code: "BAD_REQUEST", msg: "invalid_target: resource URI is too long"},
		// AuthOS's platform branch never reads resource: a management token.
		{name: "platform ignores resource", clientID: PlatformClientID, org: PlatformOrg, svc: PlatformService, email: UserOwner, resource: ptr("https://anything.example"),
			wantTyp: "authos-management+jwt", wantUse: "management_access", wantAud: "platform", status: 200},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, Options{ResourceURIs: map[string][]string{"acme/cli": {extraURI}}}, false)
			var extra []string
			if tc.resource != nil {
				extra = []string{"resource", *tc.resource}
			}
			r := h.issue(tc.clientID, tc.org, tc.svc, tc.email, extra...)
			if tc.status != 200 {
				wantError(t, r, tc.status, tc.code, tc.msg)
				return
			}
			tok := decodeToken(t, r).AccessToken
			hdr, c := verifyWithJWKS(t, h, tok)
			if hdr["typ"] != tc.wantTyp || c["token_use"] != tc.wantUse || c["aud"] != tc.wantAud || c["iss"] != h.url {
				t.Errorf("typ %v token_use %v aud %v iss %v", hdr["typ"], c["token_use"], c["aud"], c["iss"])
			}
			if _, ok := c["org"]; ok != tc.wantOrgClaim {
				t.Errorf("org claim present %v, want %v", ok, tc.wantOrgClaim)
			}
			if _, ok := c["scope"]; ok {
				t.Error("scope claim present: the device flow sets none")
			}
			// AuthOS serialises token_use first.
			if cb, _ := base64.RawURLEncoding.DecodeString(strings.Split(tok, ".")[1]); !bytes.HasPrefix(cb, []byte(`{"token_use":`)) {
				t.Errorf("claims %s do not start with token_use", cb)
			}
		})
	}
}

func ptr(s string) *string { return &s }

func TestResourceTokenRefusedByAuthOSAPI(t *testing.T) {
	h := newHarness(t, Options{}, false)
	bearer := func(tok string) []string { return []string{"Authorization", "Bearer " + tok} }
	res := decodeToken(t, h.issue(ClientIDAcmeCLI, OrgAcme, ServiceCLI, UserAlice, "resource", AcmeGitURI)).AccessToken
	mgmt := decodeToken(t, h.issue(ClientIDAcmeCLI, OrgAcme, ServiceCLI, UserAlice)).AccessToken
	for _, tc := range []struct{ method, path string }{{http.MethodGet, "/api/user"}, {http.MethodPost, "/api/auth/logout"}} {
		wantError(t, h.do(tc.method, tc.path, "", "", bearer(res)...), 401, "UNAUTHORIZED", "Token profile is not valid for the AuthOS API")
	}
	if r := h.do(http.MethodGet, "/api/user", "", "", bearer(mgmt)...); r.status != 200 {
		t.Errorf("management token: %d %s", r.status, r.body)
	}
}

func TestResourceURIOptionErrors(t *testing.T) {
	for _, tc := range []struct {
		add  map[string][]string
		want string
	}{
		{map[string][]string{"acme/nope": {"https://x.example"}}, "no such service"},
		{map[string][]string{"acme": {"https://x.example"}}, "no such service"},
		{map[string][]string{"acme/cli": {"relative/path"}}, "absolute URI"},
		{map[string][]string{"acme/cli": {"https://x.example#f"}}, "fragment"},
	} {
		_, err := New(Options{Key: testKey(), ResourceURIs: tc.add})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: err %v, want %q", tc.add, err, tc.want)
		}
	}
	if _, err := New(Options{Key: testKey(), DeviceAuthorizationStatus: "no way"}); err == nil {
		t.Error("a status with a space was accepted")
	}
}

type jwksDoc struct {
	Keys []jwk `json:"keys"`
}

func (h *harness) jwks(hdr ...string) (reply, []string) {
	h.t.Helper()
	r := h.do(http.MethodGet, "/.well-known/jwks.json", "", "", hdr...)
	if r.status != http.StatusOK {
		return r, nil
	}
	var doc jwksDoc
	if err := json.Unmarshal([]byte(r.body), &doc); err != nil {
		h.t.Fatalf("jwks %s: %v", r.body, err)
	}
	var kids []string
	for _, k := range doc.Keys {
		if k.Kty != "RSA" || k.Alg != "RS256" || k.Use != "sig" || k.N == "" || k.E == "" {
			h.t.Errorf("jwk %+v", k)
		}
		kids = append(kids, k.Kid)
	}
	return r, kids
}

func TestKeyRotation(t *testing.T) {
	h := newHarness(t, Options{KeyGen: smallKeys(t)}, false)
	bearer := func(tok string) []string { return []string{"Authorization", "Bearer " + tok} }
	first := h.srv.KeyID()
	old := decodeToken(t, h.issue(ClientIDAcmeCLI, OrgAcme, ServiceCLI, UserAlice)).AccessToken

	ring, err := h.srv.RotateKey()
	if err != nil {
		t.Fatal(err)
	}
	if ring.Active == first || !slices.Equal(ring.Previous, []string{first}) || h.srv.KeyID() != ring.Active {
		t.Fatalf("ring after rotation %+v (first %s)", ring, first)
	}
	if _, kids := h.jwks(); !slices.Equal(kids, []string{ring.Active, first}) {
		t.Fatalf("jwks kids %v", kids)
	}
	fresh := decodeToken(t, h.issue(ClientIDAcmeCLI, OrgAcme, ServiceCLI, UserAlice)).AccessToken
	if kid := tokenHeader(t, fresh)["kid"]; kid != ring.Active {
		t.Errorf("new token signed with %v, want %s", kid, ring.Active)
	}
	// A token of a previous key still works at AuthOS's API.
	for _, tok := range []string{old, fresh} {
		if r := h.do(http.MethodGet, "/api/user", "", "", bearer(tok)...); r.status != 200 {
			t.Errorf("before drop: %d %s", r.status, r.body)
		}
	}

	// Over HTTP: drop the previous keys; the old token is dead everywhere.
	r := h.postJSON("/_dev/keys", map[string]string{"action": "drop-previous"})
	if r.status != 200 || r.body != `{"active_kid":"`+ring.Active+`","previous_kids":[]}` {
		t.Fatalf("drop: %d %s", r.status, r.body)
	}
	if _, kids := h.jwks(); !slices.Equal(kids, []string{ring.Active}) {
		t.Errorf("jwks after drop %v", kids)
	}
	wantError(t, h.do(http.MethodGet, "/api/user", "", "", bearer(old)...), 401, "UNAUTHORIZED", "JWT key identifier is not recognized")
	if r := h.do(http.MethodGet, "/api/user", "", "", bearer(fresh)...); r.status != 200 {
		t.Errorf("active key's token after drop: %d %s", r.status, r.body)
	}

	// The ring keeps at most 10 previous keys, listed in kid order.
	for range 12 {
		if r := h.postJSON("/_dev/keys", map[string]string{"action": "rotate"}); r.status != 200 {
			t.Fatalf("rotate: %d %s", r.status, r.body)
		}
	}
	ring = h.srv.Keys()
	_, kids := h.jwks()
	if len(ring.Previous) != 10 || len(kids) != 11 || kids[0] != ring.Active || !slices.IsSorted(kids[1:]) {
		t.Errorf("ring %+v, jwks %v", ring, kids)
	}
	if slices.Contains(kids, first) {
		t.Error("a dropped key came back")
	}
	if r := h.do(http.MethodGet, "/_dev/keys", "", ""); r.status != 200 || !strings.Contains(r.body, ring.Active) {
		t.Errorf("GET /_dev/keys: %d %s", r.status, r.body)
	}
	if r := h.postJSON("/_dev/keys", map[string]string{"action": "bless"}); r.status != 400 {
		t.Errorf("unknown action: %d %s", r.status, r.body)
	}
}

func TestJWKSCaching(t *testing.T) {
	h := newHarness(t, Options{KeyGen: smallKeys(t), JWKSMaxAge: 90 * 1e9}, false)
	r, _ := h.jwks()
	etag := r.header.Get("ETag")
	if r.header.Get("Cache-Control") != "public, max-age=90" || !strings.HasPrefix(etag, `"`) || !strings.HasSuffix(etag, `"`) {
		t.Fatalf("headers %v", r.header)
	}
	tests := []struct {
		name, inm string
		status    int
	}{
		{"same etag", etag, 304},
		{"weak form", "W/" + etag, 304},
		{"in a list", `"zzz", ` + etag, 304},
		{"star", "*", 304},
		{"other", `"zzz"`, 200},
	}
	for _, tc := range tests {
		got := h.do(http.MethodGet, "/.well-known/jwks.json", "", "", "If-None-Match", tc.inm)
		if got.status != tc.status || (tc.status == 304 && (got.body != "" || got.header.Get("ETag") != etag)) {
			t.Errorf("%s: %d %q %v", tc.name, got.status, got.body, got.header)
		}
	}
	if _, err := h.srv.RotateKey(); err != nil {
		t.Fatal(err)
	}
	got := h.do(http.MethodGet, "/.well-known/jwks.json", "", "", "If-None-Match", etag)
	if got.status != 200 || got.header.Get("ETag") == etag {
		t.Errorf("after rotation: %d, etag %q", got.status, got.header.Get("ETag"))
	}
}

func TestMetadataDocument(t *testing.T) {
	doc := func(base, status string) string {
		dev := `"oauth_device_authorization":{"status":"` + status + `","device_authorization_endpoint":"` + base + `/auth/device/code",` +
			`"token_endpoint":"` + base + `/auth/token","grant_types_supported":["urn:ietf:params:oauth:grant-type:device_code"],` +
			`"token_endpoint_auth_methods_supported":["none"]},`
		if status == "absent" {
			dev = ""
		}
		return `{"service":"AuthOS","metadata_version":1,"issuer":"` + base + `","jwks_uri":"` + base + `/.well-known/jwks.json",` +
			`"openid_connect":{"status":"unsupported","authorization_code_provider":false,"id_token_issuance":false},` + dev +
			`"enterprise_managed_authorization":{"status":"beta","token_endpoint":"` + base + `/oauth/token",` +
			`"token_endpoint_aliases":["` + base + `/oauth2/token"],` +
			`"grant_types_supported":["urn:ietf:params:oauth:grant-type:token-exchange","urn:ietf:params:oauth:grant-type:jwt-bearer"],` +
			`"authorization_grant_profiles_supported":["urn:ietf:params:oauth:grant-profile:id-jag"],` +
			`"requested_token_types_supported":["urn:ietf:params:oauth:token-type:id-jag"],` +
			`"client_authentication":"grant-specific: token exchange accepts an authenticated subject token; JWT bearer exchange also requires the service client secret"}}`
	}
	tests := []struct {
		name   string
		opts   Options
		status int
		want   string // body; "" for an empty 404
	}{
		{name: "newest", status: 200, want: "beta"},
		{name: "device flow unsupported", opts: Options{DeviceAuthorizationStatus: "unsupported"}, status: 200, want: "unsupported"},
		{name: "device section absent", opts: Options{DeviceAuthorizationStatus: "absent"}, status: 200, want: "absent"},
		{name: "older server", opts: Options{NoMetadata: true}, status: 404},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, tc.opts, false)
			r := h.do(http.MethodGet, "/.well-known/authos-configuration", "", "")
			if r.status != tc.status {
				t.Fatalf("status %d %s", r.status, r.body)
			}
			want := ""
			if tc.want != "" {
				want = doc(h.url, tc.want)
				if ct := r.header.Get("Content-Type"); ct != "application/json" {
					t.Errorf("Content-Type %q", ct)
				}
			}
			if r.body != want {
				t.Errorf("body\n%s\nwant\n%s", r.body, want)
			}
			for _, p := range []string{"/.well-known/openid-configuration", "/.well-known/oauth-authorization-server"} {
				if r := h.do(http.MethodGet, p, "", ""); r.status != 404 || r.body != "" {
					t.Errorf("%s: %d %q", p, r.status, r.body)
				}
			}
			// The document only advertises: the device routes still answer.
			h.start(ClientIDAcmeCLI, OrgAcme, ServiceCLI)
		})
	}
}

// TestKeyCommands runs the control subcommands against a server over HTTP.
func TestKeyCommands(t *testing.T) {
	srv, err := New(Options{Key: testKey(), KeyGen: smallKeys(t)})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv)
	defer ts.Close()
	first := srv.KeyID()
	var stderr bytes.Buffer
	if code := runCommand(context.Background(), []string{"control", "rotate-key", "--server", ts.URL}, io.Discard, &stderr); code != 0 {
		t.Fatalf("rotate-key: exit %d %s", code, stderr.String())
	}
	if !strings.Contains(stderr.String(), "previous kids "+first) || srv.KeyID() == first {
		t.Errorf("rotate-key said %q", stderr.String())
	}
	stderr.Reset()
	if code := runCommand(context.Background(), []string{"control", "--server", ts.URL, "drop-previous-keys"}, io.Discard, &stderr); code != 0 {
		t.Fatalf("drop-previous-keys: exit %d %s", code, stderr.String())
	}
	if !strings.Contains(stderr.String(), "previous kids none") || len(srv.Keys().Previous) != 0 {
		t.Errorf("drop-previous-keys said %q", stderr.String())
	}
	for _, args := range [][]string{
		{"control", "rotate-key", "extra"},
		{"--resource-uri", "acme/cli"},
		{"--resource-uri", "nothing=https://x.example"},
		{"--jwks-max-age", "0"},
	} {
		stderr.Reset()
		if code := runCommand(context.Background(), args, io.Discard, &stderr); code != 2 {
			t.Errorf("%v: exit %d %q", args, code, stderr.String())
		}
	}
}
