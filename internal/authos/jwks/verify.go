package jwks

import (
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/authos/authos-credential-helper/internal/termsafe"
)

// JOSE typ and token_use of the two device-flow token profiles (AuthOS
// api/src/auth/jwt.rs). AuthOS's validators require both to match.
const (
	TypeManagement = "authos-management+jwt"
	TypeResource   = "at+jwt"

	UseManagement = "management_access"
	UseResource   = "external_resource_access"
)

// Kind is the outcome of Verify.
type Kind int

const (
	Verified      Kind = iota
	UnknownKey         // kid not in the set: signed by a key rotated out (or never published)
	BadSignature       // the kid is known but the signature does not verify, or alg is not RS256
	WrongType          // JOSE typ or token_use is not the profile asked for
	WrongIssuer        // iss is not the server's base URL
	WrongAudience      // aud is not the identity's audience or resource
	Expired            // exp is past
	Malformed          // not a compact JWS, or header/claims unreadable, no kid, no exp
)

var kindText = map[Kind]string{
	Verified:      "verified",
	UnknownKey:    "signature unknown after key rotation",
	BadSignature:  "bad signature",
	WrongType:     "wrong token type",
	WrongIssuer:   "wrong issuer",
	WrongAudience: "wrong audience",
	Expired:       "expired",
	Malformed:     "malformed",
}

// String is the status text shown by status and doctor.
func (k Kind) String() string {
	if s, ok := kindText[k]; ok {
		return s
	}
	return "unknown"
}

// Want is what a token must be. Type is TypeManagement or TypeResource.
type Want struct {
	Issuer   string // the server's base URL, trailing "/" trimmed
	Audience string // "service:org/svc", "platform", or the resource URI
	Type     string
	Now      time.Time
}

// Claims are the verified token's claims the caller may show.
type Claims struct {
	TokenUse string `json:"token_use"`
	Subject  string `json:"sub"`
	Email    string `json:"email"`
	Issuer   string `json:"iss"`
	Expiry   int64  `json:"exp"`
	IssuedAt int64  `json:"iat"`
	Audience string `json:"-"`
}

// Result is Verify's answer. Kid and Claims are filled as far as the token
// could be read; Detail says what was found when Kind is not Verified.
type Result struct {
	Kind   Kind
	Kid    string
	Claims Claims
	Detail string
}

// OK reports whether the token verified.
func (r Result) OK() bool { return r.Kind == Verified }

// Verify checks token against set. The order follows AuthOS's validator
// (alg, typ, kid, signature, then claims), so a forged token is never
// reported as merely expired or for the wrong audience.
func Verify(token string, set *Set, want Want) Result {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return Result{Kind: Malformed, Detail: "not a JWT"}
	}
	var hdr struct {
		Alg string `json:"alg"`
		Typ string `json:"typ"`
		Kid string `json:"kid"`
	}
	hb, err := base64.RawURLEncoding.DecodeString(parts[0])
	if err != nil || json.Unmarshal(hb, &hdr) != nil {
		return Result{Kind: Malformed, Detail: "unreadable JOSE header"}
	}
	r := Result{Kid: hdr.Kid}
	if hdr.Alg != "RS256" {
		r.Kind, r.Detail = BadSignature, "alg "+quote(hdr.Alg)+", only RS256 is accepted"
		return r
	}
	if hdr.Typ != want.Type {
		r.Kind, r.Detail = WrongType, "typ "+quote(hdr.Typ)+", want "+quote(want.Type)
		return r
	}
	if hdr.Kid == "" {
		r.Kind, r.Detail = Malformed, "no kid"
		return r
	}
	pub, ok := set.lookup(hdr.Kid)
	if !ok {
		r.Kind, r.Detail = UnknownKey, "kid "+quote(hdr.Kid)+" is not in the server's JWKS"
		return r
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil {
		r.Kind, r.Detail = Malformed, "signature is not base64url"
		return r
	}
	sum := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if rsa.VerifyPKCS1v15(pub, crypto.SHA256, sum[:], sig) != nil {
		r.Kind, r.Detail = BadSignature, "signature does not verify with kid "+quote(hdr.Kid)
		return r
	}

	cb, err := base64.RawURLEncoding.DecodeString(parts[1])
	var raw struct {
		Claims
		Aud json.RawMessage `json:"aud"`
		Exp *int64          `json:"exp"`
	}
	if err != nil || json.Unmarshal(cb, &raw) != nil {
		r.Kind, r.Detail = Malformed, "unreadable claims"
		return r
	}
	r.Claims = raw.Claims
	auds := audiences(raw.Aud)
	if len(auds) == 1 {
		r.Claims.Audience = auds[0]
	}
	wantUse := UseManagement
	if want.Type == TypeResource {
		wantUse = UseResource
	}
	switch {
	case raw.TokenUse != wantUse:
		r.Kind, r.Detail = WrongType, "token_use "+quote(raw.TokenUse)+", want "+quote(wantUse)
	case raw.Issuer != strings.TrimRight(want.Issuer, "/") || raw.Issuer == "":
		r.Kind, r.Detail = WrongIssuer, "iss "+quote(raw.Issuer)+", want "+quote(strings.TrimRight(want.Issuer, "/"))
	case !slices.Contains(auds, want.Audience) || want.Audience == "":
		r.Kind, r.Detail = WrongAudience, "aud "+quote(strings.Join(auds, " "))+", want "+quote(want.Audience)
	case raw.Exp == nil:
		r.Kind, r.Detail = Malformed, "no exp"
	case !want.Now.Before(time.Unix(*raw.Exp, 0)):
		r.Kind, r.Detail = Expired, "expired at "+time.Unix(*raw.Exp, 0).UTC().Format(time.RFC3339)
	default:
		r.Kind = Verified
	}
	return r
}

// audiences reads aud as a string or an array of strings.
func audiences(raw json.RawMessage) []string {
	var one string
	if json.Unmarshal(raw, &one) == nil {
		return []string{one}
	}
	var many []string
	if json.Unmarshal(raw, &many) == nil {
		return many
	}
	return nil
}

// quote shows a server-supplied value safely on one line.
func quote(s string) string {
	if len(s) > 100 {
		s = s[:100] + "…"
	}
	return strconv.Quote(termsafe.Strip(s))
}
