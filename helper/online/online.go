// Package online is the helper's calls to an AuthOS server: the device
// flow sign-in (DeviceLogin, a helper.LoginFunc), ending a session
// (RevokeSession, a helper.RevokeFunc), asking whether one is alive
// (CheckSession, a helper.CheckFunc), and the local verification of tokens
// against the server's JWKS (Verifier, VerifyStatus).
//
// What an importer may rely on: these plug into helper.Helper's fields and
// nothing else; package helper never imports this one, so a program that
// only serves cached tokens (the cache-only path) links no HTTP or TLS.
// The JWKS files JWKSStore keeps are public keys, never a secret.
package online

import (
	"context"
	"errors"
	"net/http"

	"github.com/authos/authos-credential-helper/helper"
	"github.com/authos/authos-credential-helper/internal/authos"
	"github.com/authos/authos-credential-helper/internal/authos/jwks"
)

// CheckSession asks AuthOS at GET {server}/api/user; 401 means the session
// is gone. Only for tokens AuthOS's own /api accepts: a resource token
// needs a Check of its own (Verifier.VerifyLocally).
func CheckSession(userAgent string) helper.CheckFunc {
	return func(ctx context.Context, id helper.Identity, accessToken string) (bool, error) {
		c, err := authos.NewClient(id.Server, id.CABundle, userAgent)
		if err != nil {
			return false, err
		}
		c.Timeout = helper.CheckTimeout
		_, err = c.User(ctx, accessToken)
		var apiErr *authos.APIError
		if errors.As(err, &apiErr) && apiErr.Status == http.StatusUnauthorized {
			return false, nil
		}
		return err == nil, err
	}
}

// Checked is what VerifyStatus found for one row of a helper.StatusReport.
type Checked struct {
	// Verification is the local check against the server's JWKS; nil when
	// not checked (unreadable entry, or Err).
	Verification *Verification
	// Err says why the token could not be checked (no JWKS known).
	Err error
	// Evicted: the token's key is gone from the JWKS, so it was deleted and
	// the next call signs in again.
	Evicted bool
}

// VerifyStatus checks each readable cached token of rep against its
// server's JWKS (fetched when stale, once more for an unknown kid), and
// evicts a token whose key the server, asked just now, no longer
// publishes: it refuses the token, and the next call signs in again (its
// row's Valid turns false). Offline, with only a kept copy to go by,
// nothing is evicted. The result has one Checked per rep.Identities row.
func VerifyStatus(ctx context.Context, h *helper.Helper, rep *helper.StatusReport, v *Verifier) []Checked {
	out := make([]Checked, len(rep.Identities))
	for i := range rep.Identities {
		st := &rep.Identities[i]
		if st.Unreadable != nil {
			continue
		}
		e, err := h.CachedEntry(st.Name)
		if err != nil {
			continue
		}
		r, err := v.Verify(ctx, st.Identity, e.AccessToken)
		if err != nil {
			out[i].Err = err
			continue
		}
		out[i].Verification = &r
		// Delete only the token checked: another process may have stored a
		// new one while the server was asked.
		if r.Result.Kind == jwks.UnknownKey && r.Current && holds(h, st.Name, e.AccessToken) {
			if h.Cache.Delete(st.Name) == nil {
				out[i].Evicted, st.Valid = true, false
			}
		}
	}
	return out
}

// holds reports whether the entry called name still holds token.
func holds(h *helper.Helper, name, token string) bool {
	e, err := h.Cache.Get(name)
	return err == nil && e.AccessToken == token
}
