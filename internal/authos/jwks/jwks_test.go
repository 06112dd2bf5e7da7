package jwks

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// Keys are generated once: RSA generation is slow.
var testKeys = sync.OnceValue(func() []*rsa.PrivateKey {
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

var b64 = base64.RawURLEncoding

func jwkOf(kid string, pub *rsa.PublicKey) Key {
	return Key{Kty: "RSA", Alg: "RS256", Use: "sig", Kid: kid,
		N: b64.EncodeToString(pub.N.Bytes()), E: b64.EncodeToString(big.NewInt(int64(pub.E)).Bytes())}
}

func sign(t *testing.T, key *rsa.PrivateKey, header, claims map[string]any) string {
	t.Helper()
	hb, _ := json.Marshal(header)
	cb, _ := json.Marshal(claims)
	in := b64.EncodeToString(hb) + "." + b64.EncodeToString(cb)
	sum := sha256.Sum256([]byte(in))
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, sum[:])
	if err != nil {
		t.Fatal(err)
	}
	return in + "." + b64.EncodeToString(sig)
}

func TestVerify(t *testing.T) {
	keys := testKeys()
	active, retired := keys[0], keys[1]
	set := &Set{Keys: []Key{jwkOf("k1", &active.PublicKey)}}
	const iss = "https://sso.example"
	now := time.Unix(1_800_000_000, 0)
	mgmtHeader := func() map[string]any { return map[string]any{"typ": TypeManagement, "alg": "RS256", "kid": "k1"} }
	resHeader := func() map[string]any { return map[string]any{"typ": TypeResource, "alg": "RS256", "kid": "k1"} }
	mgmtClaims := func() map[string]any {
		return map[string]any{"token_use": UseManagement, "sub": "u1", "email": "a@example", "aud": "service:acme/cli",
			"iss": iss, "exp": now.Unix() + 3600, "iat": now.Unix()}
	}
	resClaims := func() map[string]any {
		c := mgmtClaims()
		c["token_use"], c["aud"] = UseResource, "https://git.acme.example"
		return c
	}
	with := func(m map[string]any, kv ...any) map[string]any {
		for i := 0; i+1 < len(kv); i += 2 {
			if kv[i+1] == nil {
				delete(m, kv[i].(string))
			} else {
				m[kv[i].(string)] = kv[i+1]
			}
		}
		return m
	}
	mgmtWant := Want{Issuer: iss, Audience: "service:acme/cli", Type: TypeManagement, Now: now}
	resWant := Want{Issuer: iss + "/", Audience: "https://git.acme.example", Type: TypeResource, Now: now}

	tests := []struct {
		name  string
		token string
		want  Want
		kind  Kind
	}{
		{"management verified", sign(t, active, mgmtHeader(), mgmtClaims()), mgmtWant, Verified},
		{"resource verified (issuer slash trimmed)", sign(t, active, resHeader(), resClaims()), resWant, Verified},
		{"aud as array", sign(t, active, resHeader(), with(resClaims(), "aud", []string{"x", "https://git.acme.example"})), resWant, Verified},
		{"kid rotated out", sign(t, retired, with(mgmtHeader(), "kid", "k0"), mgmtClaims()), mgmtWant, UnknownKey},
		{"known kid, other key", sign(t, retired, mgmtHeader(), mgmtClaims()), mgmtWant, BadSignature},
		{"alg none", unsigned(map[string]any{"typ": TypeManagement, "alg": "none", "kid": "k1"}, mgmtClaims()), mgmtWant, BadSignature},
		{"alg HS256", sign(t, active, with(mgmtHeader(), "alg", "HS256"), mgmtClaims()), mgmtWant, BadSignature},
		{"resource token where management wanted", sign(t, active, resHeader(), resClaims()), Want{Issuer: iss, Audience: "https://git.acme.example", Type: TypeManagement, Now: now}, WrongType},
		{"management token where resource wanted", sign(t, active, mgmtHeader(), mgmtClaims()), Want{Issuer: iss, Audience: "service:acme/cli", Type: TypeResource, Now: now}, WrongType},
		{"typ missing (older server)", sign(t, active, with(mgmtHeader(), "typ", nil), mgmtClaims()), mgmtWant, WrongType},
		{"typ and token_use disagree", sign(t, active, resHeader(), with(resClaims(), "token_use", UseManagement)), resWant, WrongType},
		{"wrong issuer", sign(t, active, mgmtHeader(), with(mgmtClaims(), "iss", "https://evil.example")), mgmtWant, WrongIssuer},
		{"no issuer", sign(t, active, mgmtHeader(), with(mgmtClaims(), "iss", nil)), mgmtWant, WrongIssuer},
		{"resource A token for resource B", sign(t, active, resHeader(), resClaims()), with2(resWant, "https://registry.acme.example"), WrongAudience},
		{"no audience", sign(t, active, mgmtHeader(), with(mgmtClaims(), "aud", nil)), mgmtWant, WrongAudience},
		{"expired", sign(t, active, mgmtHeader(), with(mgmtClaims(), "exp", now.Unix())), mgmtWant, Expired},
		{"no exp", sign(t, active, mgmtHeader(), with(mgmtClaims(), "exp", nil)), mgmtWant, Malformed},
		{"no kid", sign(t, active, with(mgmtHeader(), "kid", nil), mgmtClaims()), mgmtWant, Malformed},
		{"two parts", "a.b", mgmtWant, Malformed},
		{"header not base64", "!!.e30.e30", mgmtWant, Malformed},
		{"tampered claims", tamper(sign(t, active, mgmtHeader(), mgmtClaims())), mgmtWant, BadSignature},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := Verify(tc.token, set, tc.want)
			if r.Kind != tc.kind {
				t.Fatalf("kind %v (%s), want %v", r.Kind, r.Detail, tc.kind)
			}
			if (r.Kind == Verified) != r.OK() || (r.Kind != Verified && r.Detail == "") {
				t.Errorf("OK %v, detail %q", r.OK(), r.Detail)
			}
			if r.Kind == Verified && (r.Claims.Subject != "u1" || r.Claims.Audience != tc.want.Audience && r.Claims.Audience != "") {
				t.Errorf("claims %+v", r.Claims)
			}
		})
	}
	if Verify(sign(t, active, mgmtHeader(), mgmtClaims()), nil, mgmtWant).Kind != UnknownKey {
		t.Error("a nil set verified a token")
	}
	if UnknownKey.String() != "signature unknown after key rotation" || Verified.String() != "verified" || WrongIssuer.String() != "wrong issuer" {
		t.Error("status texts changed")
	}
}

func with2(w Want, aud string) Want { w.Audience = aud; return w }

func unsigned(h, c map[string]any) string {
	hb, _ := json.Marshal(h)
	cb, _ := json.Marshal(c)
	return b64.EncodeToString(hb) + "." + b64.EncodeToString(cb) + "."
}

// tamper swaps the claims for others, keeping the signature.
func tamper(tok string) string {
	p := strings.Split(tok, ".")
	cb, _ := json.Marshal(map[string]any{"sub": "someone-else"})
	return p[0] + "." + b64.EncodeToString(cb) + "." + p[2]
}

func TestParse(t *testing.T) {
	k := &testKeys()[0].PublicKey
	small, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	good := jwkOf("a", k)
	noAlg := good
	noAlg.Kid, noAlg.Alg, noAlg.Use = "b", "", ""
	tests := []struct {
		name string
		keys []Key
		want []string
	}{
		{"active and previous", []Key{good, jwkOf("p", &testKeys()[1].PublicKey)}, []string{"a", "p"}},
		{"alg and use optional", []Key{noAlg}, []string{"b"}},
		{"skips other kinds", []Key{{Kty: "EC", Kid: "ec"}, func() Key { x := good; x.Kid, x.Alg = "ps", "PS256"; return x }(),
			func() Key { x := good; x.Kid, x.Use = "enc", "enc"; return x }(), good}, []string{"a"}},
		{"skips weak and kid-less keys", []Key{jwkOf("small", &small.PublicKey), func() Key { x := good; x.Kid = ""; return x }()}, nil},
		{"first of a duplicated kid wins", []Key{good, func() Key { x := jwkOf("a", &testKeys()[1].PublicKey); return x }()}, []string{"a"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			body, _ := json.Marshal(map[string]any{"keys": tc.keys})
			keys, err := Parse(body)
			if err != nil {
				t.Fatal(err)
			}
			s := &Set{Keys: keys}
			if got := strings.Join(s.Kids(), ","); got != strings.Join(tc.want, ",") {
				t.Errorf("kids %q, want %v", got, tc.want)
			}
		})
	}
	for _, body := range []string{"", "[]", `{"other":1}`, "<html>"} {
		if _, err := Parse([]byte(body)); err == nil {
			t.Errorf("%q parsed", body)
		}
	}
}

func TestCacheMaxAgeAndFresh(t *testing.T) {
	tests := []struct {
		header []string
		want   time.Duration
	}{
		{nil, 0},
		{[]string{"public, max-age=300"}, 300 * time.Second},
		{[]string{"max-age=\"60\""}, time.Minute},
		{[]string{"max-age=300, no-cache"}, 0},
		{[]string{"no-store"}, 0},
		{[]string{"max-age=abc"}, 0},
		{[]string{"max-age=-1"}, 0},
		{[]string{"max-age=31536000"}, MaxAgeCap},
		{[]string{"public", "max-age=10"}, 10 * time.Second},
	}
	for _, tc := range tests {
		h := http.Header{"Cache-Control": tc.header}
		if got := CacheMaxAge(h); got != tc.want {
			t.Errorf("%q: %v, want %v", tc.header, got, tc.want)
		}
	}
	t0 := time.Unix(1_800_000_000, 0)
	s := &Set{FetchedAt: t0, MaxAge: time.Minute}
	if !s.Fresh(t0.Add(59*time.Second)) || s.Fresh(t0.Add(time.Minute)) || (&Set{FetchedAt: t0}).Fresh(t0) || (*Set)(nil).Fresh(t0) {
		t.Error("freshness")
	}
	if (&Set{FetchedAt: t0, MaxAge: 48 * time.Hour}).Fresh(t0.Add(25 * time.Hour)) {
		t.Error("a stored max-age beyond the cap kept the set fresh")
	}
}

// TestSetJSON: the caller keeps a Set in the cache dir; it must come back
// verifying the same tokens.
func TestSetJSON(t *testing.T) {
	k := testKeys()[0]
	s := &Set{URL: "https://sso.example/.well-known/jwks.json", Keys: []Key{jwkOf("k1", &k.PublicKey)},
		ETag: `"abc"`, FetchedAt: time.Unix(1_800_000_000, 0).UTC(), MaxAge: 5 * time.Minute}
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	var back Set
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if back.URL != s.URL || back.ETag != s.ETag || !back.FetchedAt.Equal(s.FetchedAt) || back.MaxAge != s.MaxAge || len(back.Keys) != 1 {
		t.Fatalf("round trip %+v", back)
	}
	now := time.Unix(1_800_000_000, 0)
	tok := sign(t, k, map[string]any{"typ": TypeManagement, "alg": "RS256", "kid": "k1"},
		map[string]any{"token_use": UseManagement, "sub": "u", "aud": "platform", "iss": "https://sso.example", "exp": now.Unix() + 60})
	if r := Verify(tok, &back, Want{Issuer: "https://sso.example", Audience: "platform", Type: TypeManagement, Now: now}); !r.OK() {
		t.Errorf("after the round trip: %v %s", r.Kind, r.Detail)
	}
}
