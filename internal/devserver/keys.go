package devserver

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// maxPreviousKeys is AuthOS's MAX_PREVIOUS_PUBLIC_KEYS.
const maxPreviousKeys = 10

// defaultJWKSMaxAge is what the dev server puts in the JWKS's Cache-Control.
// AuthOS's own header is not known; five minutes is a common choice and
// short enough that a rotation is seen soon.
const defaultJWKSMaxAge = 5 * time.Minute

// errUnknownKid is a token whose kid is neither the active key nor a
// previous one (AuthOS: "JWT key identifier is not recognized").
var errUnknownKid = errors.New("unknown kid")

type verifyKey struct {
	kid string
	pub *rsa.PublicKey
}

// KeyRing describes the published keys: the active one first.
type KeyRing struct {
	Active   string   `json:"active_kid"`
	Previous []string `json:"previous_kids"`
}

func keyID(k *rsa.PublicKey) string {
	sum := sha256.Sum256(k.N.Bytes())
	return "authos-dev-" + hex.EncodeToString(sum[:8])
}

// newKey draws a signing key, through Options.KeyGen when set (tests hand
// out pre-generated keys: RSA generation is slow).
func (s *Server) newKey() (*rsa.PrivateKey, error) {
	if s.opts.KeyGen != nil {
		return s.opts.KeyGen()
	}
	return rsa.GenerateKey(rand.Reader, 2048)
}

// activeKey is the key that signs, with its kid.
func (s *Server) activeKey() (*rsa.PrivateKey, string) {
	s.keyMu.RLock()
	defer s.keyMu.RUnlock()
	return s.key, s.kid
}

// verificationKey finds the public key for kid among the active and the
// previous keys, as AuthOS's verification ring does.
func (s *Server) verificationKey(kid string) (*rsa.PublicKey, error) {
	s.keyMu.RLock()
	defer s.keyMu.RUnlock()
	if kid == s.kid {
		return &s.key.PublicKey, nil
	}
	for _, k := range s.previous {
		if k.kid == kid {
			return k.pub, nil
		}
	}
	return nil, errUnknownKid
}

// Keys lists the published kids, active first.
func (s *Server) Keys() KeyRing {
	s.keyMu.RLock()
	defer s.keyMu.RUnlock()
	ring := KeyRing{Active: s.kid, Previous: []string{}}
	for _, k := range s.previous {
		ring.Previous = append(ring.Previous, k.kid)
	}
	return ring
}

// RotateKey makes a new active key and keeps the old one as a previous key,
// as an operator does by moving JWT_KID's public key into
// JWT_PREVIOUS_PUBLIC_KEYS_JSON. Past maxPreviousKeys the oldest goes.
func (s *Server) RotateKey() (KeyRing, error) {
	k, err := s.newKey()
	if err != nil {
		return KeyRing{}, fmt.Errorf("rotating the signing key: %w", err)
	}
	if err := k.Validate(); err != nil {
		return KeyRing{}, fmt.Errorf("rotating the signing key: %w", err)
	}
	s.keyMu.Lock()
	kid := keyID(&k.PublicKey)
	if kid == s.kid || slices.ContainsFunc(s.previous, func(v verifyKey) bool { return v.kid == kid }) {
		s.keyMu.Unlock()
		return KeyRing{}, errors.New("rotating the signing key: the new key is already in the ring")
	}
	s.retired = append(s.retired, verifyKey{s.kid, &s.key.PublicKey})
	if len(s.retired) > maxPreviousKeys {
		s.retired = s.retired[len(s.retired)-maxPreviousKeys:]
	}
	s.key, s.kid = k, kid
	s.sortPreviousLocked()
	s.keyMu.Unlock()
	return s.Keys(), nil
}

// DropPreviousKeys empties the previous-key ring: tokens signed by those
// keys no longer verify anywhere.
func (s *Server) DropPreviousKeys() KeyRing {
	s.keyMu.Lock()
	s.retired, s.previous = nil, nil
	s.keyMu.Unlock()
	return s.Keys()
}

// sortPreviousLocked publishes the retired keys in kid order, as AuthOS
// lists its BTreeMap of previous keys after the active one.
func (s *Server) sortPreviousLocked() {
	s.previous = slices.Clone(s.retired)
	slices.SortFunc(s.previous, func(a, b verifyKey) int { return strings.Compare(a.kid, b.kid) })
}

func publicJWK(kid string, pub *rsa.PublicKey) jwk {
	return jwk{
		Kty: "RSA", Alg: "RS256", Use: "sig", Kid: kid,
		N: b64.EncodeToString(pub.N.Bytes()),
		E: b64.EncodeToString(big.NewInt(int64(pub.E)).Bytes()),
	}
}

// handleJWKS is GET /.well-known/jwks.json: the active key first, then the
// previous ones. It carries Cache-Control and a strong ETag, and answers
// If-None-Match with 304.
func (s *Server) handleJWKS(w http.ResponseWriter, r *http.Request) {
	s.keyMu.RLock()
	keys := []jwk{publicJWK(s.kid, &s.key.PublicKey)}
	for _, k := range s.previous {
		keys = append(keys, publicJWK(k.kid, k.pub))
	}
	s.keyMu.RUnlock()
	body, err := compactJSON(map[string][]jwk{"keys": keys})
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	sum := sha256.Sum256(body)
	etag := `"` + hex.EncodeToString(sum[:12]) + `"`
	h := w.Header()
	h.Set("Cache-Control", "public, max-age="+strconv.Itoa(int(s.opts.JWKSMaxAge/time.Second)))
	h.Set("ETag", etag)
	if etagMatches(r.Header.Get("If-None-Match"), etag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	h.Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body)
}

// etagMatches is If-None-Match's weak comparison (RFC 9110 §13.1.2).
func etagMatches(header, etag string) bool {
	for _, t := range strings.Split(header, ",") {
		t = strings.TrimSpace(t)
		if t == "*" || strings.TrimPrefix(t, "W/") == etag {
			return true
		}
	}
	return false
}

// handleKeys is GET /_dev/keys (list) and POST /_dev/keys with
// {"action": "rotate" | "drop-previous"}.
func (s *Server) handleKeys(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		s.writeJSON(w, http.StatusOK, s.Keys())
		return
	}
	var req struct {
		Action string `json:"action"`
	}
	if err := decodeControlBody(r, &req); err != nil {
		s.controlError(w, err)
		return
	}
	ring, err := s.KeyAction(req.Action)
	if err != nil {
		s.controlError(w, err)
		return
	}
	s.writeJSON(w, http.StatusOK, ring)
}

// KeyAction runs a key action by name, as the HTTP endpoint and the control
// command do.
func (s *Server) KeyAction(action string) (KeyRing, error) {
	switch action {
	case "rotate":
		return s.RotateKey()
	case "drop-previous":
		return s.DropPreviousKeys(), nil
	default:
		return KeyRing{}, fmt.Errorf("unknown key action %q (want rotate or drop-previous)", action)
	}
}
