package helper

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/authos/authos-credential-helper/internal/authos/wire"
	"github.com/authos/authos-credential-helper/internal/termsafe"
)

// TokenVar is the environment variable a CI job puts an AuthOS token in.
const TokenVar = "AUTHOS_TOKEN"

// EnvToken is a token handed over in the environment, read (not verified).
type EnvToken struct {
	Variable string // where it came from: the profile's token_env, or AUTHOS_TOKEN
	Subject  string
	Email    string
	Issuer   string
	Audience []string
	Type     string // JOSE typ
	// ExpiresAt is the exp claim; the token is served until then.
	ExpiresAt time.Time
	token     string
}

// readEnvToken reads the token in variable v: the same shape check as a
// token from a sign-in, a JSON header and claims with an exp. The error
// names the variable, never the token.
func readEnvToken(v, tok string) (EnvToken, error) {
	bad := func(why string) error { return fmt.Errorf("the token in %s %s", v, why) }
	if err := checkShape(tok); err != nil {
		return EnvToken{}, bad("is not a well-formed JWT (" + err.Error() + ")")
	}
	head, _, _ := strings.Cut(tok, ".")
	var hdr struct {
		Typ string `json:"typ"`
	}
	if raw, err := base64.RawURLEncoding.DecodeString(head); err != nil || json.Unmarshal(raw, &hdr) != nil {
		return EnvToken{}, bad("is not a well-formed JWT (its header is not base64url JSON)")
	}
	claims, err := wire.ParseClaims(tok)
	if err != nil {
		return EnvToken{}, bad("is not a well-formed JWT (" + strings.TrimPrefix(err.Error(), "access token ") + ")")
	}
	var extra struct {
		Iss string `json:"iss"`
	}
	body, _, _ := strings.Cut(tok[len(head)+1:], ".")
	if raw, err := base64.RawURLEncoding.DecodeString(body); err == nil {
		_ = json.Unmarshal(raw, &extra)
	}
	_, auds := wire.TokenProfile(tok)
	e := EnvToken{Variable: v, Subject: claims.Subject, Email: claims.Email, Issuer: termsafe.Strip(extra.Iss),
		Audience: auds, Type: termsafe.Strip(hdr.Typ), ExpiresAt: claims.ExpiresAt(), token: tok}
	if e.ExpiresAt.IsZero() {
		return EnvToken{}, bad("has no exp claim, so the helper cannot tell when it stops working")
	}
	return e, nil
}

// For reports whether the token's claims name id: its server as iss and
// id's audience as aud (a resource token for id's resource, the management
// token otherwise).
func (e EnvToken) For(id Identity) bool {
	if e.Issuer == "" || wire.TrimBaseURL(e.Issuer) != id.Server || !slices.Contains(e.Audience, id.Audience()) {
		return false
	}
	return (e.Type == "at+jwt") == (id.Resource != "")
}

// describe is "iss …, aud …" for messages.
func (e EnvToken) describe() string {
	iss := e.Issuer
	if iss == "" {
		iss = "none"
	}
	return fmt.Sprintf("iss %q, aud %q", iss, strings.Join(e.Audience, " "))
}

// LookupEnvToken finds the token the environment hands over for id:
// id's token_env when that variable is set (it must be for id), else
// AUTHOS_TOKEN when its claims name id. ok is false when neither applies;
// then the cache and sign-in serve id as usual.
func LookupEnvToken(id Identity, getenv func(string) string) (e EnvToken, ok bool, err error) {
	if getenv == nil {
		return EnvToken{}, false, nil
	}
	if id.TokenEnv != "" {
		if tok := getenv(id.TokenEnv); tok != "" {
			e, err := readEnvToken(id.TokenEnv, tok)
			if err == nil && e.Issuer != "" && !e.For(id) {
				err = fmt.Errorf("the token in %s is not for %s (%s, want iss %q, aud %q); nothing was served", id.TokenEnv, id, e.describe(), id.Server, id.Audience())
			}
			return e, true, err
		}
	}
	tok := getenv(TokenVar)
	if tok == "" {
		return EnvToken{}, false, nil
	}
	e, err = readEnvToken(TokenVar, tok)
	if err != nil {
		return EnvToken{}, true, err // set, but unreadable: whom it is for is unknown
	}
	if !e.For(id) {
		return EnvToken{}, false, nil
	}
	return e, true, nil
}

// envToken serves the environment's token for id, if one applies: nothing
// is cached and nobody is asked to sign in. An expired one fails, naming
// its variable.
func (h *Helper) envToken(id Identity) (Credential, bool, error) {
	e, ok, err := LookupEnvToken(id, h.Getenv)
	if !ok || err != nil {
		return Credential{}, ok, err
	}
	now := h.now()
	if !now.Before(e.ExpiresAt) {
		return Credential{}, true, fmt.Errorf("the token in %s expired at %s (%s ago); the helper serves it as given and does not sign in instead: put a fresh token in %s",
			e.Variable, e.ExpiresAt.UTC().Format("2006-01-02 15:04:05 UTC"), roughDuration(now.Sub(e.ExpiresAt)), e.Variable)
	}
	return Credential{Identity: id, Token: e.token, TokenType: "Bearer", ExpiresAt: e.ExpiresAt.Truncate(time.Second),
		Subject: e.Subject, Email: e.Email}, true, nil
}
