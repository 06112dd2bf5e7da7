// Package jwks verifies AuthOS access tokens locally against the server's
// published keys (GET {base}/.well-known/jwks.json): RS256 only, a known
// kid, the exact JOSE typ of the token's profile, iss, aud and exp.
//
// It is for login, status, doctor and revalidation; the credential hit path
// never calls it (no network, no RSA work there). Fetching goes through
// authos.Client.FetchJWKS so that the client's redirect and TLS rules hold.
package jwks

import (
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// MaxAgeCap bounds how long a fetched set counts as fresh, whatever the
// server's Cache-Control says, so that a rotation is noticed within a day.
const MaxAgeCap = 24 * time.Hour

// minRSABits refuses keys too small to trust; AuthOS generates 2048-bit keys.
const minRSABits = 2048

// Key is one JWK as published, kept verbatim so a Set round-trips through
// JSON.
type Key struct {
	Kty string `json:"kty"`
	Alg string `json:"alg,omitempty"`
	Use string `json:"use,omitempty"`
	Kid string `json:"kid"`
	N   string `json:"n"`
	E   string `json:"e"`
}

// Set is a fetched JWKS with what is needed to revalidate it: the caller
// keeps it in the cache dir as JSON.
type Set struct {
	URL       string        `json:"url"`
	Keys      []Key         `json:"keys"`
	ETag      string        `json:"etag,omitempty"`
	FetchedAt time.Time     `json:"fetched_at"`
	MaxAge    time.Duration `json:"max_age"` // from Cache-Control; 0: revalidate every time
}

// Fresh reports whether the set may be used at now without asking the
// server again.
func (s *Set) Fresh(now time.Time) bool {
	return s != nil && s.MaxAge > 0 && now.Before(s.FetchedAt.Add(min(s.MaxAge, MaxAgeCap)))
}

// Kids lists the key ids, in the server's order (active first).
func (s *Set) Kids() []string {
	var out []string
	for _, k := range s.Keys {
		out = append(out, k.Kid)
	}
	return out
}

// Parse reads a JWKS body. Keys that are not usable RS256 signing keys
// (another kty or alg, use other than sig, no kid, under 2048 bits) are
// left out rather than failing the set: a server may publish other keys.
func Parse(body []byte) ([]Key, error) {
	var doc struct {
		Keys []Key `json:"keys"`
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		return nil, fmt.Errorf("the JWKS is not JSON: %w", err)
	}
	if doc.Keys == nil {
		return nil, errors.New(`the JWKS has no "keys" member`)
	}
	var out []Key
	seen := map[string]bool{}
	for _, k := range doc.Keys {
		if seen[k.Kid] {
			continue // a kid names one key: the first, the active one, wins
		}
		if _, err := k.publicKey(); err != nil {
			continue
		}
		seen[k.Kid] = true
		out = append(out, k)
	}
	return out, nil
}

func (k Key) publicKey() (*rsa.PublicKey, error) {
	switch {
	case k.Kty != "RSA":
		return nil, errors.New("not an RSA key")
	case k.Alg != "" && k.Alg != "RS256":
		return nil, errors.New("not an RS256 key")
	case k.Use != "" && k.Use != "sig":
		return nil, errors.New("not a signing key")
	case k.Kid == "":
		return nil, errors.New("no kid")
	}
	nb, err1 := base64.RawURLEncoding.DecodeString(k.N)
	eb, err2 := base64.RawURLEncoding.DecodeString(k.E)
	if err1 != nil || err2 != nil || len(eb) == 0 || len(eb) > 4 {
		return nil, errors.New("bad n or e")
	}
	n := new(big.Int).SetBytes(nb)
	e := new(big.Int).SetBytes(eb).Int64()
	if n.BitLen() < minRSABits || e < 3 || e%2 == 0 {
		return nil, errors.New("weak key")
	}
	return &rsa.PublicKey{N: n, E: int(e)}, nil
}

// lookup finds kid's public key.
func (s *Set) lookup(kid string) (*rsa.PublicKey, bool) {
	if s == nil {
		return nil, false
	}
	for _, k := range s.Keys {
		if k.Kid == kid {
			pub, err := k.publicKey()
			return pub, err == nil
		}
	}
	return nil, false
}

// CacheMaxAge reads Cache-Control's max-age; no-store, no-cache, a missing
// or unreadable max-age all mean 0 (revalidate every time).
func CacheMaxAge(h http.Header) time.Duration {
	var age time.Duration
	for _, v := range h.Values("Cache-Control") {
		for _, d := range strings.Split(v, ",") {
			name, val, _ := strings.Cut(strings.TrimSpace(d), "=")
			switch strings.ToLower(name) {
			case "no-store", "no-cache":
				return 0
			case "max-age":
				n, err := strconv.Atoi(strings.Trim(val, `"`))
				if err != nil || n < 0 {
					return 0
				}
				age = time.Duration(n) * time.Second
			}
		}
	}
	return min(age, MaxAgeCap)
}
