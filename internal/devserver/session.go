package devserver

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"time"
)

func seconds(n int) time.Duration { return time.Duration(n) * time.Second }

var b64 = base64.RawURLEncoding

// jwtHeader is serialised in jsonwebtoken's field order.
type jwtHeader struct {
	Typ string `json:"typ"`
	Alg string `json:"alg"`
	Kid string `json:"kid"`
}

// Claims are the claims of an access token issued by the device flow
// (newest server, docs/authos-wire.md §11), in AuthOS's field order. Org and
// Service are absent for platform tokens.
type Claims struct {
	TokenUse        string `json:"token_use"`
	Sub             string `json:"sub"`
	Email           string `json:"email"`
	IsPlatformOwner bool   `json:"is_platform_owner"`
	Jti             string `json:"jti"`
	Org             string `json:"org,omitempty"`
	Service         string `json:"service,omitempty"`
	Aud             string `json:"aud"`
	Iss             string `json:"iss"`
	Exp             int64  `json:"exp"`
	Iat             int64  `json:"iat"`
}

// JOSE typ of the two device-flow token profiles (AuthOS api/src/auth/jwt.rs).
const (
	managementTyp = "authos-management+jwt"
	resourceTyp   = "at+jwt"
)

func (s *Server) signToken(g *grant, now time.Time) (string, error) {
	jti, err := newUUID()
	if err != nil {
		return "", err
	}
	c := Claims{
		Sub: g.user.id, Email: g.user.email, IsPlatformOwner: g.user.platformOwner, Jti: jti,
		Aud: "platform", Iss: s.baseURL, TokenUse: "management_access",
		Iat: now.Unix(), Exp: now.Add(s.opts.TokenLifetime).Unix(),
	}
	typ := managementTyp
	if g.svc != nil {
		c.Org, c.Service = g.svc.orgSlug, g.svc.slug
		c.Aud = "service:" + g.svc.orgSlug + "/" + g.svc.slug
	}
	if g.resource != "" {
		c.Aud, c.TokenUse, typ = g.resource, "external_resource_access", resourceTyp
	}
	return s.sign(typ, c)
}

// sign makes an RS256 JWT with the active key and its kid.
func (s *Server) sign(typ string, claims any) (string, error) {
	key, kid := s.activeKey()
	h := jwtHeader{Typ: typ, Alg: "RS256", Kid: kid}
	hb, err := json.Marshal(h)
	if err != nil {
		return "", fmt.Errorf("encoding the JWT header: %w", err)
	}
	cb, err := json.Marshal(claims)
	if err != nil {
		return "", fmt.Errorf("encoding the JWT claims: %w", err)
	}
	signingInput := b64.EncodeToString(hb) + "." + b64.EncodeToString(cb)
	sum := sha256.Sum256([]byte(signingInput))
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, sum[:])
	if err != nil {
		return "", fmt.Errorf("signing the JWT: %w", err)
	}
	return signingInput + "." + b64.EncodeToString(sig), nil
}

// errTokenExpired and errBadToken distinguish jsonwebtoken's rejection
// (outside its 60 s leeway) from AuthOS's own exp < now check.
var (
	errBadToken     = errors.New("invalid token")
	errTokenExpired = errors.New("token expired")
)

// verify checks a token like AuthOS's validate_token: RS256 with a kid of
// the ring, exp with jsonwebtoken's default 60 s leeway, then a strict exp
// check.
func (s *Server) verify(token string, now time.Time) (*Claims, error) {
	_, cb, err := s.checkSignature(token)
	if err != nil {
		return nil, err
	}
	var c Claims
	if json.Unmarshal(cb, &c) != nil {
		return nil, errBadToken
	}
	switch {
	case c.Exp < now.Unix()-60:
		return nil, errBadToken
	case c.Exp < now.Unix():
		return nil, errTokenExpired
	}
	return &c, nil
}

// parseJWT splits a compact JWT and decodes its header.
func parseJWT(token string) (h jwtHeader, parts []string, err error) {
	parts = strings.Split(token, ".")
	if len(parts) != 3 {
		return h, nil, errBadToken
	}
	hb, err := b64.DecodeString(parts[0])
	if err != nil || json.Unmarshal(hb, &h) != nil {
		return h, nil, errBadToken
	}
	return h, parts, nil
}

// checkSignature checks that token is an RS256 JWT signed by the active key
// or a previous one and returns its header and raw claims.
func (s *Server) checkSignature(token string) (jwtHeader, []byte, error) {
	h, parts, err := parseJWT(token)
	if err != nil {
		return h, nil, err
	}
	cb, err1 := b64.DecodeString(parts[1])
	sig, err2 := b64.DecodeString(parts[2])
	if err1 != nil || err2 != nil || h.Alg != "RS256" {
		return h, nil, errBadToken
	}
	pub, err := s.verificationKey(h.Kid)
	if err != nil {
		return h, nil, err
	}
	sum := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if rsa.VerifyPKCS1v15(pub, crypto.SHA256, sum[:], sig) != nil {
		return h, nil, errBadToken
	}
	return h, cb, nil
}

type jwk struct {
	Kty string `json:"kty"`
	Alg string `json:"alg"`
	Use string `json:"use"`
	Kid string `json:"kid"`
	N   string `json:"n"`
	E   string `json:"e"`
}

// authenticate is AuthOS's /api middleware: a Bearer JWT that verifies and
// a live session row matching its hash.
func (s *Server) authenticate(r *http.Request) (string, *Claims, *apiError) {
	token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok {
		return "", nil, unauthorized("Missing or invalid Authorization header")
	}
	// AuthOS's validate_authos_token: only management (and impersonation)
	// tokens are for AuthOS's own API; a resource token is refused before
	// anything else is checked.
	if h, _, err := parseJWT(token); err == nil && h.Typ != managementTyp {
		return "", nil, unauthorized("Token profile is not valid for the AuthOS API")
	}
	now := s.now()
	c, err := s.verify(token, now)
	switch {
	case errors.Is(err, errUnknownKid):
		return "", nil, unauthorized("JWT key identifier is not recognized")
	case errors.Is(err, errTokenExpired):
		return "", nil, &apiError{http.StatusUnauthorized, "TOKEN_EXPIRED", "Token expired"}
	case err != nil:
		return "", nil, &apiError{http.StatusUnauthorized, "JWT_ERROR", "Invalid token"}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	sess := s.sessions[hashToken(token)]
	if sess == nil || !sess.expiresAt.After(now) {
		return "", nil, unauthorized("Session revoked or expired")
	}
	if u := s.users[c.Sub]; u == nil || u.deleted {
		return "", nil, unauthorized("User not found")
	}
	return token, c, nil
}

type userResponse struct {
	ID      string `json:"id"`
	Email   string `json:"email"`
	Org     string `json:"org"`
	Service string `json:"service"`
}

// handleUser is GET /api/user.
func (s *Server) handleUser(w http.ResponseWriter, r *http.Request) {
	_, c, apiErr := s.authenticate(r)
	if apiErr != nil {
		s.writeError(w, apiErr)
		return
	}
	s.mu.Lock()
	email := s.users[c.Sub].email
	s.mu.Unlock()
	s.writeJSON(w, http.StatusOK, userResponse{ID: c.Sub, Email: email, Org: c.Org, Service: c.Service})
}

// handleLogout is POST /api/auth/logout: it deletes the session.
func (s *Server) handleLogout(w http.ResponseWriter, r *http.Request) {
	token, _, apiErr := s.authenticate(r)
	if apiErr != nil {
		s.writeError(w, apiErr)
		return
	}
	s.mu.Lock()
	delete(s.sessions, hashToken(token))
	s.mu.Unlock()
	s.writeJSON(w, http.StatusOK, map[string]string{"message": "Logged out successfully"})
}

// handleRevoke is POST /auth/revoke (RFC 7009 style). It reads an axum
// Form: a non-form content type is a plain 415 and a missing token a plain
// 422; otherwise the answer is always 200 with an empty body.
func (s *Server) handleRevoke(w http.ResponseWriter, r *http.Request) {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/x-www-form-urlencoded" {
		writePlain(w, http.StatusUnsupportedMediaType, "Form requests must have `Content-Type: application/x-www-form-urlencoded`")
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, maxBody))
	if err != nil {
		writePlain(w, http.StatusRequestEntityTooLarge, "Failed to buffer the request body: length limit exceeded")
		return
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		writePlain(w, http.StatusUnprocessableEntity, "Failed to deserialize form body: "+err.Error())
		return
	}
	if !form.Has("token") {
		writePlain(w, http.StatusUnprocessableEntity, "Failed to deserialize form body: missing field `token`")
		return
	}
	token := form.Get("token")
	// Refresh tokens are never handed out by the device flow, so only the
	// access-token branch can match anything here.
	if form.Get("token_type_hint") != "refresh_token" && strings.TrimSpace(token) != "" && len(token) <= 1000 {
		s.mu.Lock()
		delete(s.sessions, hashToken(token))
		s.mu.Unlock()
	}
	w.WriteHeader(http.StatusOK)
}
