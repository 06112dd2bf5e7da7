package devserver

import (
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"
)

// verifyWithJWKS checks token against the server's published JWKS only, as a
// third party would, and returns the header and claims.
func verifyWithJWKS(t *testing.T, h *harness, token string) (map[string]any, map[string]any) {
	t.Helper()
	r := h.do(http.MethodGet, "/.well-known/jwks.json", "", "")
	if r.status != 200 {
		t.Fatalf("jwks: %d", r.status)
	}
	var set struct {
		Keys []map[string]string `json:"keys"`
	}
	if err := json.Unmarshal([]byte(r.body), &set); err != nil || len(set.Keys) != 1 {
		t.Fatalf("jwks %s: %v", r.body, err)
	}
	k := set.Keys[0]
	if k["kty"] != "RSA" || k["alg"] != "RS256" || k["use"] != "sig" || k["kid"] == "" {
		t.Fatalf("jwk %v", k)
	}
	n, err := base64.RawURLEncoding.DecodeString(k["n"])
	if err != nil {
		t.Fatalf("n: %v", err)
	}
	e, err := base64.RawURLEncoding.DecodeString(k["e"])
	if err != nil {
		t.Fatalf("e: %v", err)
	}
	pub := &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(new(big.Int).SetBytes(e).Int64())}

	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		t.Fatalf("token has %d parts", len(parts))
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if err := rsa.VerifyPKCS1v15(pub, crypto.SHA256, sum[:], sig); err != nil {
		t.Fatalf("signature does not verify against the JWKS: %v", err)
	}
	var hdr, claims map[string]any
	hb, _ := base64.RawURLEncoding.DecodeString(parts[0])
	cb, _ := base64.RawURLEncoding.DecodeString(parts[1])
	if err := json.Unmarshal(hb, &hdr); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(cb, &claims); err != nil {
		t.Fatal(err)
	}
	if hdr["kid"] != k["kid"] {
		t.Errorf("kid %v not in JWKS (%v)", hdr["kid"], k["kid"])
	}
	return hdr, claims
}

func TestJWT(t *testing.T) {
	tests := []struct {
		name, clientID, org, svc, email string
		extra                           []string
		wantTyp                         string
		want                            map[string]any
		absent                          []string
	}{
		{name: "service", clientID: ClientIDAcmeCLI, org: OrgAcme, svc: ServiceCLI, email: UserAlice,
			wantTyp: "authos-management+jwt",
			want: map[string]any{"sub": AliceID, "email": UserAlice, "is_platform_owner": false, "org": "acme",
				"service": "cli", "aud": "service:acme/cli", "token_use": "management_access"}},
		{name: "platform", clientID: PlatformClientID, org: PlatformOrg, svc: PlatformService, email: UserOwner,
			wantTyp: "authos-management+jwt",
			want: map[string]any{"sub": OwnerID, "email": UserOwner, "is_platform_owner": true,
				"aud": "platform", "token_use": "management_access"},
			absent: []string{"org", "service"}},
		{name: "resource", clientID: ClientIDAcmeCLI, org: OrgAcme, svc: ServiceCLI, email: UserAlice,
			extra: []string{"resource", AcmeResourceURI}, wantTyp: "at+jwt",
			want: map[string]any{"aud": AcmeResourceURI, "token_use": "external_resource_access", "org": "acme"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, Options{TokenLifetime: 2 * time.Hour}, false)
			dc := h.start(tc.clientID, tc.org, tc.svc)
			h.must(h.srv.Approve(dc.UserCode, tc.email))
			tok := decodeToken(t, h.poll(dc.DeviceCode, tc.clientID, tc.extra...))
			if tok.ExpiresIn != 7200 {
				t.Errorf("expires_in %d", tok.ExpiresIn)
			}
			hdr, c := verifyWithJWKS(t, h, tok.AccessToken)
			if hdr["alg"] != "RS256" || hdr["typ"] != tc.wantTyp {
				t.Errorf("header %v", hdr)
			}
			for k, v := range tc.want {
				if c[k] != v {
					t.Errorf("claim %s = %v, want %v", k, c[k], v)
				}
			}
			for _, k := range tc.absent {
				if _, ok := c[k]; ok {
					t.Errorf("claim %s present", k)
				}
			}
			for _, k := range []string{"mfa_required", "mfa_verified", "device_code_id", "act", "saml_state"} {
				if _, ok := c[k]; ok {
					t.Errorf("claim %s present", k)
				}
			}
			now := h.clock.Now().Unix()
			if c["iss"] != h.url || c["iat"] != float64(now) || c["exp"] != float64(now+7200) {
				t.Errorf("iss/iat/exp %v %v %v", c["iss"], c["iat"], c["exp"])
			}
			if jti, _ := c["jti"].(string); !uuidV4Re.MatchString(jti) {
				t.Errorf("jti %q", jti)
			}
		})
	}
}

func TestIssuerTrimmed(t *testing.T) {
	srv, err := New(Options{BaseURL: "http://sso.example:3001/", Key: testKey()})
	if err != nil {
		t.Fatal(err)
	}
	if srv.BaseURL() != "http://sso.example:3001" {
		t.Errorf("issuer %q", srv.BaseURL())
	}
}

func TestUserLogoutRevoke(t *testing.T) {
	h := newHarness(t, Options{}, false)
	issue := func(email string) string {
		dc := h.start(ClientIDAcmeCLI, OrgAcme, ServiceCLI)
		h.must(h.srv.Approve(dc.UserCode, email))
		return decodeToken(t, h.poll(dc.DeviceCode, ClientIDAcmeCLI)).AccessToken
	}
	bearer := func(tok string) []string { return []string{"Authorization", "Bearer " + tok} }

	tok := issue(UserAlice)
	r := h.do(http.MethodGet, "/api/user", "", "", bearer(tok)...)
	if r.status != 200 || r.body != `{"id":"`+AliceID+`","email":"alice@acme.example","org":"acme","service":"cli"}` {
		t.Fatalf("user: %d %s", r.status, r.body)
	}
	wantError(t, h.do(http.MethodGet, "/api/user", "", ""), 401, "UNAUTHORIZED", "Missing or invalid Authorization header")
	wantError(t, h.do(http.MethodGet, "/api/user", "", "", bearer("garbage")...), 401, "JWT_ERROR", "Invalid token")

	r = h.do(http.MethodPost, "/api/auth/logout", "", "", bearer(tok)...)
	if r.status != 200 || r.body != `{"message":"Logged out successfully"}` {
		t.Fatalf("logout: %d %s", r.status, r.body)
	}
	wantError(t, h.do(http.MethodGet, "/api/user", "", "", bearer(tok)...), 401, "UNAUTHORIZED", "Session revoked or expired")
	wantError(t, h.do(http.MethodPost, "/api/auth/logout", "", "", bearer(tok)...), 401, "UNAUTHORIZED", "Session revoked or expired")
	wantError(t, h.do(http.MethodPost, "/api/auth/logout", "", ""), 401, "UNAUTHORIZED", "Missing or invalid Authorization header")

	// Revoke: always 200 with an empty body, and the session is gone.
	tok2 := issue(UserAlice)
	for _, form := range []url.Values{
		{"token": {"not-a-token"}},
		{"token": {tok2}, "token_type_hint": {"refresh_token"}}, // wrong hint: nothing revoked
	} {
		r = h.do(http.MethodPost, "/auth/revoke", "application/x-www-form-urlencoded", form.Encode())
		if r.status != 200 || r.body != "" {
			t.Errorf("revoke %v: %d %q", form, r.status, r.body)
		}
	}
	if r = h.do(http.MethodGet, "/api/user", "", "", bearer(tok2)...); r.status != 200 {
		t.Fatalf("token revoked by a refresh_token hint: %d", r.status)
	}
	r = h.do(http.MethodPost, "/auth/revoke", "application/x-www-form-urlencoded", url.Values{"token": {tok2}, "token_type_hint": {"access_token"}}.Encode())
	if r.status != 200 || r.body != "" {
		t.Fatalf("revoke: %d %q", r.status, r.body)
	}
	wantError(t, h.do(http.MethodGet, "/api/user", "", "", bearer(tok2)...), 401, "UNAUTHORIZED", "Session revoked or expired")
	if r = h.do(http.MethodPost, "/auth/revoke", "application/json", `{"token":"x"}`); r.status != 415 {
		t.Errorf("revoke with JSON: %d", r.status)
	}
	if r = h.do(http.MethodPost, "/auth/revoke", "application/x-www-form-urlencoded", "a=b"); r.status != 422 {
		t.Errorf("revoke without token: %d", r.status)
	}

	// Expiry: inside jsonwebtoken's 60 s leeway AuthOS says "Token expired",
	// beyond it the token is simply invalid.
	tok3 := issue(UserAlice)
	h.clock.Advance(24*time.Hour + 30*time.Second)
	wantError(t, h.do(http.MethodGet, "/api/user", "", "", bearer(tok3)...), 401, "TOKEN_EXPIRED", "Token expired")
	h.clock.Advance(time.Minute)
	wantError(t, h.do(http.MethodGet, "/api/user", "", "", bearer(tok3)...), 401, "JWT_ERROR", "Invalid token")
}

func TestPlatformUserHasNoOrg(t *testing.T) {
	h := newHarness(t, Options{}, false)
	dc := h.start(PlatformClientID, PlatformOrg, PlatformService)
	h.must(h.srv.Approve(dc.UserCode, UserOwner))
	tok := decodeToken(t, h.poll(dc.DeviceCode, PlatformClientID)).AccessToken
	r := h.do(http.MethodGet, "/api/user", "", "", "Authorization", "Bearer "+tok)
	if r.body != `{"id":"`+OwnerID+`","email":"owner@acme.example","org":"","service":""}` {
		t.Errorf("got %d %s", r.status, r.body)
	}
}

func TestRateLimit(t *testing.T) {
	h := newHarness(t, Options{}, true)
	body := `{"client_id":"acme-cli","org":"acme","service":"cli"}`
	// The three device routes share one budget of 10.
	paths := []string{"/auth/device/code", "/auth/token", "/auth/device/verify"}
	for i := range 10 {
		if r := h.do(http.MethodPost, paths[i%3], "application/json", body); r.status == 429 {
			t.Fatalf("request %d limited", i+1)
		}
	}
	r := h.do(http.MethodPost, "/auth/token", "application/json", body)
	if r.status != 429 || r.body != "Too Many Requests! Wait for 5s" ||
		r.header.Get("retry-after") != "5" || r.header.Get("x-ratelimit-after") != "5" ||
		r.header.Get("Content-Type") != "text/plain; charset=utf-8" {
		t.Fatalf("got %d %q %v", r.status, r.body, r.header)
	}
	// Other routes are not limited.
	if r := h.do(http.MethodGet, "/.well-known/jwks.json", "", ""); r.status != 200 {
		t.Errorf("jwks limited: %d", r.status)
	}
	h.clock.Advance(2 * time.Second)
	if r := h.do(http.MethodPost, "/auth/device/verify", "application/json", `{"user_code":"x"}`); r.status != 429 || r.header.Get("retry-after") != "3" {
		t.Errorf("after 2 s: %d retry-after %q", r.status, r.header.Get("retry-after"))
	}
	h.clock.Advance(3 * time.Second)
	if r := h.do(http.MethodPost, "/auth/device/code", "application/json", body); r.status != 200 {
		t.Errorf("after 5 s: %d %s", r.status, r.body)
	}
	if r := h.do(http.MethodPost, "/auth/device/code", "application/json", body); r.status != 429 {
		t.Errorf("second after refill: %d", r.status)
	}
	// The key is the client IP.
	req := httptest.NewRequest(http.MethodPost, "/auth/device/code", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.RemoteAddr = "192.0.2.7:4242"
	rec := httptest.NewRecorder()
	h.srv.ServeHTTP(rec, req)
	if rec.Code != 200 {
		t.Errorf("other IP: %d", rec.Code)
	}
}

func TestRateLimitOptions(t *testing.T) {
	t.Run("disabled", func(t *testing.T) {
		h := newHarness(t, Options{}, false)
		for i := range 25 {
			if r := h.do(http.MethodPost, "/auth/token", "application/json", `{}`); r.status == 429 {
				t.Fatalf("request %d limited", i+1)
			}
		}
	})
	t.Run("older server period", func(t *testing.T) {
		h := newHarness(t, Options{RateLimitPeriod: time.Minute, RateLimitBurst: 2}, true)
		for range 2 {
			h.do(http.MethodPost, "/auth/token", "application/json", `{}`)
		}
		r := h.do(http.MethodPost, "/auth/token", "application/json", `{}`)
		if r.status != 429 || r.header.Get("retry-after") != "60" {
			t.Errorf("got %d %q", r.status, r.header.Get("retry-after"))
		}
	})
}

func TestRFC3339(t *testing.T) {
	base := time.Date(2026, 1, 2, 3, 4, 5, 0, time.FixedZone("x", 3600))
	for _, tc := range []struct {
		ns   int
		want string
	}{
		{0, "2026-01-02T02:04:05+00:00"},
		{120_000_000, "2026-01-02T02:04:05.120+00:00"},
		{123_456_000, "2026-01-02T02:04:05.123456+00:00"},
		{123_456_789, "2026-01-02T02:04:05.123456789+00:00"},
	} {
		if got := rfc3339(base.Add(time.Duration(tc.ns))); got != tc.want {
			t.Errorf("rfc3339 = %s, want %s", got, tc.want)
		}
	}
}
