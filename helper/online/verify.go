package online

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/authos/authos-credential-helper/helper"
	"github.com/authos/authos-credential-helper/internal/atomicfile"
	"github.com/authos/authos-credential-helper/internal/authos"
	"github.com/authos/authos-credential-helper/internal/authos/jwks"
	"github.com/authos/authos-credential-helper/internal/rawfile"
)

// JWKSStore keeps each server's fetched JWKS as a file (0600) with its
// fetch time, ETag and max-age, so that status, doctor and revalidation
// revalidate it instead of downloading it each time. Public keys, no secret;
// the hit path never reads it.
type JWKSStore struct{ Dir string }

func (s *JWKSStore) path(server string) string {
	return filepath.Join(s.Dir, "jwks-"+helper.HashName("jwks", server)+".json")
}

// Load returns the stored set for server, nil when there is none or it
// cannot be read (it is fetched again).
func (s *JWKSStore) Load(server string) *jwks.Set {
	if s == nil || s.Dir == "" {
		return nil
	}
	b, err := rawfile.ReadFile(s.path(server))
	if err != nil {
		return nil
	}
	var set jwks.Set
	if json.Unmarshal(b, &set) != nil || set.URL == "" {
		return nil
	}
	return &set
}

// Save stores set for server.
func (s *JWKSStore) Save(server string, set *jwks.Set) error {
	if s == nil || s.Dir == "" || set == nil {
		return nil
	}
	b, err := json.Marshal(set)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(s.Dir, 0o700); err != nil {
		return fmt.Errorf("keeping the JWKS: %w", err)
	}
	if err := atomicfile.WriteFile(s.path(server), b, 0o600); err != nil {
		return fmt.Errorf("keeping the JWKS: %w", err)
	}
	return nil
}

// Verifier checks tokens locally against their server's JWKS (RS256, a
// known kid, the JOSE typ and token_use of the identity's token profile,
// iss, aud, exp). It fetches the JWKS when the stored one is stale, and
// once more when a token names a kid the stored one lacks. It is for
// login, status, doctor and revalidation: never the hit path.
type Verifier struct {
	Keys      *JWKSStore
	UserAgent string
	Now       func() time.Time
	// HTTP, if set, replaces the client's transport (tests).
	HTTP *http.Client
	// unreachable remembers servers whose JWKS fetch failed during this
	// Verifier's life, so that one status run asks each at most once.
	mu          sync.Mutex
	unreachable map[string]error
}

// Verification is the outcome of one local check.
type Verification struct {
	Result jwks.Result
	// Refreshed says the JWKS was fetched again for an unknown kid.
	Refreshed bool
	// Current says the server confirmed the set during this check (fetched
	// or revalidated): only then does an unknown kid mean the key is gone.
	Current bool
	// Stale says the JWKS could not be fetched and the stored copy
	// (fetched at KeysFetchedAt) was used.
	Stale         bool
	KeysFetchedAt time.Time
	FetchErr      error
}

// ErrNoJWKS is a server whose keys could not be had: nothing to verify
// against (an older AuthOS has no JWKS, or it is unreachable).
var ErrNoJWKS = errors.New("the server's JWKS is not known")

func (v *Verifier) now() time.Time {
	if v.Now != nil {
		return v.Now()
	}
	return time.Now()
}

// Want is what id's tokens must be for Verify.
func Want(id helper.Identity, now time.Time) jwks.Want {
	typ := jwks.TypeManagement
	if id.Resource != "" {
		typ = jwks.TypeResource
	}
	return jwks.Want{Issuer: id.Server, Audience: id.Audience(), Type: typ, Now: now}
}

// Verify checks token for id. It errs (wrapping ErrNoJWKS) only when no
// JWKS at all is known for the server.
func (v *Verifier) Verify(ctx context.Context, id helper.Identity, token string) (Verification, error) {
	c, err := authos.NewClient(id.Server, id.CABundle, v.UserAgent)
	if err != nil {
		return Verification{}, err
	}
	if v.HTTP != nil {
		c.HTTP = v.HTTP
	}
	c.Now, c.Timeout = v.now, 5*time.Second
	stored := v.Keys.Load(id.Server)
	set, fetched, fetchErr := v.fetch(ctx, c, id.Server, stored, false)
	var out Verification
	if set == nil {
		return out, fmt.Errorf("%w: %v", ErrNoJWKS, fetchErr)
	}
	out.Stale, out.FetchErr, out.KeysFetchedAt, out.Current = fetchErr != nil, fetchErr, set.FetchedAt, fetched
	out.Result = jwks.Verify(token, set, Want(id, v.now()))
	if out.Result.Kind == jwks.UnknownKey && !fetched {
		// A key the stored set lacks: maybe newer than our copy. Ask once.
		if fresh, _, err := v.fetch(ctx, c, id.Server, set, true); err == nil {
			out.Refreshed, out.Current, out.Stale, out.FetchErr, out.KeysFetchedAt = true, true, false, nil, fresh.FetchedAt
			out.Result = jwks.Verify(token, fresh, Want(id, v.now()))
		} else {
			out.Stale, out.FetchErr = true, err // the kid may be new: not proof it is gone
		}
	}
	return out, nil
}

// fetch returns a usable set: the stored one while fresh (unless force),
// else the server's (saved). fetched says the server was asked and
// answered; on failure the stored set is returned with the error.
func (v *Verifier) fetch(ctx context.Context, c *authos.Client, server string, stored *jwks.Set, force bool) (*jwks.Set, bool, error) {
	if stored != nil && !force && stored.Fresh(v.now()) {
		return stored, false, nil
	}
	v.mu.Lock()
	err, failed := v.unreachable[server]
	v.mu.Unlock()
	if failed {
		return stored, false, err
	}
	remember := func(err error) (*jwks.Set, bool, error) {
		v.mu.Lock()
		defer v.mu.Unlock()
		if v.unreachable == nil {
			v.unreachable = map[string]error{}
		}
		v.unreachable[server] = err
		return stored, false, err
	}
	// The metadata document may move the JWKS; only its own origin counts.
	if _, err := c.Discover(ctx); err != nil {
		var no *authos.NotOfferedError
		var api *authos.APIError
		switch {
		case errors.As(err, &no): // no device flow, but the keys are still there
		case errors.As(err, &api):
			c.Endpoints = authos.Endpoints{} // it answered: the fixed paths
		default:
			return remember(err) // unreachable: do not wait for it twice
		}
	}
	set, err := c.FetchJWKS(ctx, stored, force)
	if err != nil {
		return remember(err)
	}
	_ = v.Keys.Save(server, set) // a set that cannot be kept is fetched again next time
	return set, true, nil
}

// FetchKeys refreshes the stored JWKS of id's server (login does this, so
// that status can verify its token later without asking first).
func (v *Verifier) FetchKeys(ctx context.Context, id helper.Identity) error {
	c, err := authos.NewClient(id.Server, id.CABundle, v.UserAgent)
	if err != nil {
		return err
	}
	if v.HTTP != nil {
		c.HTTP = v.HTTP
	}
	c.Now, c.Timeout = v.now, 5*time.Second
	_, _, err = v.fetch(ctx, c, id.Server, v.Keys.Load(id.Server), false)
	return err
}

// VerifyLocally is the revalidation check (helper.Helper.Check) for tokens
// AuthOS's own API refuses: resource tokens, checked against the JWKS.
// alive is false when the token is not one the server would accept now
// (a key rotated out, a bad signature, wrong issuer or audience, expired);
// err is set when no JWKS could be had, and the caller keeps the token.
func (v *Verifier) VerifyLocally(ctx context.Context, id helper.Identity, token string) (alive bool, err error) {
	r, err := v.Verify(ctx, id, token)
	if err != nil {
		return true, err
	}
	if r.Result.Kind == jwks.UnknownKey && !r.Current {
		// Only a kept copy to go by, and the token may be newer than it.
		return true, fmt.Errorf("checking the token's key: %w", r.FetchErr)
	}
	return r.Result.OK(), nil
}

// Describe is the one-line status text of a verification.
func (r Verification) Describe() string {
	s := r.Result.Kind.String()
	if !r.Result.OK() && r.Result.Detail != "" {
		s += " (" + r.Result.Detail + ")"
	}
	if r.Stale {
		s += "; against the JWKS fetched " + r.KeysFetchedAt.Local().Format("2006-01-02 15:04") + " (" + strings.Join(strings.Fields(r.FetchErr.Error()), " ") + ")"
	}
	return s
}
