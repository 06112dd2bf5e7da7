package e2e

// jwtcheck: what a resource server in front of AuthOS does with a bearer
// token (the git server and the Kubernetes API stub below use it): verify the
// RS256 signature against the issuer's JWKS, the expiry and the issuer, then
// ask AuthOS whether the session behind the token is still alive.

import (
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

var jwksCache struct {
	mu   sync.Mutex
	keys map[string]map[string]*rsa.PublicKey // server URL -> kid -> key
}

// jwks fetches the issuer's RS256 keys by kid, once per server unless
// fresh: a later dev server can get an earlier one's port (and other keys),
// and a server may rotate its keys.
func jwks(server string, fresh bool) (map[string]*rsa.PublicKey, error) {
	jwksCache.mu.Lock()
	defer jwksCache.mu.Unlock()
	if k, ok := jwksCache.keys[server]; ok && !fresh {
		return k, nil
	}
	client := &http.Client{Timeout: 10 * time.Second}
	resp, err := client.Get(server + "/.well-known/jwks.json")
	if err != nil {
		return nil, fmt.Errorf("fetching the JWKS: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("JWKS answered %d", resp.StatusCode)
	}
	var set struct {
		Keys []struct {
			Kty, Alg, Kid, N, E string
		} `json:"keys"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&set); err != nil {
		return nil, fmt.Errorf("decoding the JWKS: %w", err)
	}
	keys := map[string]*rsa.PublicKey{}
	for _, k := range set.Keys {
		if k.Kty != "RSA" || (k.Alg != "" && k.Alg != "RS256") || k.Kid == "" {
			continue
		}
		n, err1 := base64.RawURLEncoding.DecodeString(k.N)
		e, err2 := base64.RawURLEncoding.DecodeString(k.E)
		if err1 != nil || err2 != nil || len(e) == 0 || len(e) > 4 {
			return nil, fmt.Errorf("JWKS key %q has a bad n or e", k.Kid)
		}
		keys[k.Kid] = &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(new(big.Int).SetBytes(e).Int64())}
	}
	if len(keys) == 0 {
		return nil, errors.New("JWKS has no RS256 key")
	}
	if jwksCache.keys == nil {
		jwksCache.keys = map[string]map[string]*rsa.PublicKey{}
	}
	jwksCache.keys[server] = keys
	return keys, nil
}

// jwtClaims are the claims the checks below read.
type jwtClaims struct {
	Sub   string `json:"sub"`
	Email string `json:"email"`
	Iss   string `json:"iss"`
	Exp   int64  `json:"exp"`
	Iat   int64  `json:"iat"`
}

// verifyJWT checks an AuthOS access token offline: RS256 signature with the
// key its kid names in server's JWKS, exp in the future, iss == server.
func verifyJWT(server, token string) (jwtClaims, error) {
	var c jwtClaims
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return c, errors.New("not a JWT")
	}
	hb, err1 := base64.RawURLEncoding.DecodeString(parts[0])
	cb, err2 := base64.RawURLEncoding.DecodeString(parts[1])
	sig, err3 := base64.RawURLEncoding.DecodeString(parts[2])
	if err1 != nil || err2 != nil || err3 != nil {
		return c, errors.New("JWT part is not base64url")
	}
	var h struct{ Alg, Kid string }
	if err := json.Unmarshal(hb, &h); err != nil {
		return c, fmt.Errorf("JWT header: %w", err)
	}
	if h.Alg != "RS256" {
		return c, fmt.Errorf("JWT alg %q, want RS256", h.Alg)
	}
	sum := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	verified := false
	for _, fresh := range []bool{false, true} {
		keys, err := jwks(server, fresh)
		if err != nil {
			return c, err
		}
		if key, ok := keys[h.Kid]; ok && rsa.VerifyPKCS1v15(key, crypto.SHA256, sum[:], sig) == nil {
			verified = true
			break
		}
	}
	if !verified {
		return c, fmt.Errorf("JWT kid %q is not in the JWKS, or its signature does not verify", h.Kid)
	}
	if err := json.Unmarshal(cb, &c); err != nil {
		return c, fmt.Errorf("JWT claims: %w", err)
	}
	if c.Exp == 0 || !time.Unix(c.Exp, 0).After(time.Now()) {
		return c, fmt.Errorf("JWT expired at %s", time.Unix(c.Exp, 0).UTC().Format(time.RFC3339))
	}
	if c.Iss != server {
		return c, fmt.Errorf("JWT iss %q, want %q", c.Iss, server)
	}
	return c, nil
}

// checkToken is verifyJWT plus revocation: GET {server}/api/user with the
// token must answer 200 (a logged-out or revoked session answers 401).
func checkToken(server, token string) (jwtClaims, error) {
	c, err := verifyJWT(server, token)
	if err != nil {
		return c, err
	}
	req, err := http.NewRequest(http.MethodGet, server+"/api/user", nil)
	if err != nil {
		return c, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	client := &http.Client{Timeout: 10 * time.Second}
	resp, err := client.Do(req)
	if err != nil {
		return c, fmt.Errorf("asking /api/user: %w", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return c, fmt.Errorf("/api/user answered %d: session not alive", resp.StatusCode)
	}
	return c, nil
}

// tokenLog records what a test resource server saw.
type tokenLog struct {
	mu       sync.Mutex
	requests int      // every request
	rejected int      // answered 401
	accepted []string // tokens accepted, in order
}

func (l *tokenLog) seen()   { l.mu.Lock(); l.requests++; l.mu.Unlock() }
func (l *tokenLog) reject() { l.mu.Lock(); l.rejected++; l.mu.Unlock() }
func (l *tokenLog) accept(tok string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.accepted = append(l.accepted, tok)
}

// snapshot returns the request count, the 401 count and the distinct
// accepted tokens in first-seen order.
func (l *tokenLog) snapshot() (requests, rejected int, distinct []string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, t := range l.accepted {
		if len(distinct) == 0 || !containsStr(distinct, t) {
			distinct = append(distinct, t)
		}
	}
	return l.requests, l.rejected, distinct
}

func (l *tokenLog) last() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.accepted) == 0 {
		return ""
	}
	return l.accepted[len(l.accepted)-1]
}

func containsStr(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// profileConfig is config.toml with one profile "acme" for the dev server,
// plus extra lines inside the profile (e.g. git = [...]).
func profileConfig(server string, extra ...string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "[profiles.acme]\nserver = %q\norg = \"acme\"\nservice = \"cli\"\nclient_id = \"acme-cli\"\n", server)
	for _, e := range extra {
		b.WriteString(e + "\n")
	}
	return b.String()
}

// loginProfile runs `token --profile acme` and approves its n-th device
// code as alice; it returns the token.
func loginProfile(t *testing.T, s *sandbox, d *devServer, n int) string {
	t.Helper()
	p := s.start(t, "token", "--profile", "acme")
	c := d.waitPendingCode(t, n)
	d.control(t, "approve", c.UserCode, "alice@acme.example")
	if code := p.wait(t); code != 0 {
		t.Fatalf("token exited %d: %s", code, p.stderr.String())
	}
	return strings.TrimSuffix(p.stdout.String(), "\n")
}
