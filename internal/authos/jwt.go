package authos

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"time"

	"github.com/authos/authos-credential-helper/internal/termsafe"
)

// Claims are the parts of an AuthOS access token the helper reads. The
// signature is not checked: the helper only needs expiry and display fields,
// and servers it sends the token to do their own verification.
type Claims struct {
	Subject         string `json:"sub"`
	Email           string `json:"email"`
	Org             string `json:"org"`
	Service         string `json:"service"`
	IsPlatformOwner bool   `json:"is_platform_owner"`
	Expiry          int64  `json:"exp"`
	IssuedAt        int64  `json:"iat"`
}

// ExpiresAt is the exp claim as a time, zero if absent.
func (c Claims) ExpiresAt() time.Time {
	if c.Expiry <= 0 {
		return time.Time{}
	}
	return time.Unix(c.Expiry, 0)
}

// ParseClaims decodes a JWT's payload without verifying it; its text fields
// come back free of control and bidi characters.
func ParseClaims(token string) (Claims, error) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return Claims{}, errors.New("access token is not a JWT")
	}
	raw, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return Claims{}, errors.New("access token payload is not base64url")
	}
	var c Claims
	if err := json.Unmarshal(raw, &c); err != nil {
		return Claims{}, errors.New("access token payload is not JSON")
	}
	// The display fields reach terminals (login's "signed in as", status):
	// what the server put in them must not act on one.
	for _, f := range []*string{&c.Subject, &c.Email, &c.Org, &c.Service} {
		*f = termsafe.Strip(*f)
	}
	return c, nil
}
