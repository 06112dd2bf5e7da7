// Package helper is the use case every front end shares: serve a cached
// token, or take the identity's lock, check again, run the device flow,
// store and hand back token and expiry.
package helper

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/authos/authos-credential-helper/authos"
	"github.com/authos/authos-credential-helper/cache"
)

// DefaultMargin is how long before expiry a token stops being served.
const DefaultMargin = 5 * time.Minute

// Cache is the token store (cache.Store in production).
type Cache interface {
	Get(name string) (cache.Entry, error)
	Put(name string, e cache.Entry) error
	Delete(name string) error
	// Ready reports whether Put can work, before a person is asked to sign in.
	Ready() error
}

// Locker serialises logins per identity across processes.
type Locker interface {
	// Lock blocks until name's lock is held or ctx ends; waiting is called
	// once if another process holds it. Lock reports whether it waited.
	Lock(ctx context.Context, name string, waiting func()) (unlock func(), waited bool, err error)
	// Failed records, while holding the lock, that a login failed, so that
	// processes that waited for it fail too instead of prompting again.
	Failed(name string, at time.Time, err error)
	// LastFailure is the failure recorded after since, if any.
	LastFailure(name string, since time.Time) (string, bool)
	// Succeeded clears a recorded failure.
	Succeeded(name string)
}

// LoginFunc runs an interactive login for id, telling p what to show.
type LoginFunc func(ctx context.Context, id Identity, p Prompter) (authos.Token, error)

// RevokeFunc ends the session a token belongs to at id's server.
type RevokeFunc func(ctx context.Context, id Identity, accessToken string) error

// Helper hands out tokens.
type Helper struct {
	Cache Cache
	Locks Locker
	Login LoginFunc
	// Revoke ends a session at the server (SignOut); nil skips that step.
	Revoke RevokeFunc
	Now    func() time.Time
	Margin time.Duration // 0 means DefaultMargin
}

// Request asks for a token.
type Request struct {
	Identity Identity
	// Force runs a login even when a valid token is cached (`login`).
	Force bool
	// NonInteractive fails a miss at once instead of prompting nobody.
	NonInteractive bool
	Prompt         Prompter
}

// Credential is what front ends hand to their client.
type Credential struct {
	Identity  Identity
	Token     string
	TokenType string
	// ExpiresAt is the real expiry minus the margin: clients that renew at
	// this time come back while we would still serve the old token no more.
	ExpiresAt time.Time
	Subject   string
	Email     string
	// FromCache is false when this call ran a login.
	FromCache bool
}

// LoginRequiredError is a miss where nobody can see a prompt.
type LoginRequiredError struct{ Identity Identity }

func (e *LoginRequiredError) Error() string {
	return fmt.Sprintf("no valid AuthOS token for %s and no one to show a sign-in prompt to; run: %s", e.Identity, e.Identity.LoginCommand())
}

func (h *Helper) now() time.Time {
	if h.Now != nil {
		return h.Now()
	}
	return time.Now()
}

func (h *Helper) margin(e cache.Entry) time.Duration {
	m := h.Margin
	if m == 0 {
		m = DefaultMargin
	}
	// A token that lives shorter than twice the margin would never be served
	// again after its login; serve it for the first half of its life instead.
	if life := e.ExpiresAt.Sub(e.ObtainedAt); life > 0 && m > life/2 {
		m = life / 2
	}
	return m
}

// Token returns a valid token for req.Identity. A hit takes no lock and makes
// no network call.
func (h *Helper) Token(ctx context.Context, req Request) (Credential, error) {
	name := req.Identity.Key()
	if !req.Force {
		if c, ok, err := h.cached(req.Identity); ok || err != nil {
			return c, err
		}
	}
	if req.NonInteractive {
		return Credential{}, &LoginRequiredError{Identity: req.Identity}
	}
	started := h.now()
	unlock, waited, err := h.Locks.Lock(ctx, name, func() { req.Prompt.Waiting(req.Identity) })
	if err != nil {
		return Credential{}, err
	}
	defer unlock()
	if waited {
		// Another process ran a login while we waited: use its result, or
		// share its failure rather than prompting the person again.
		if c, ok, err := h.cached(req.Identity); ok || err != nil {
			return c, err
		}
		if msg, failed := h.Locks.LastFailure(name, started); failed {
			return Credential{}, fmt.Errorf("the sign-in another process ran for %s failed: %s", req.Identity, msg)
		}
	} else if !req.Force {
		if c, ok, err := h.cached(req.Identity); ok || err != nil {
			return c, err
		}
	}
	if err := h.Cache.Ready(); err != nil {
		return Credential{}, err
	}
	tok, err := h.Login(ctx, req.Identity, req.Prompt)
	if err != nil {
		if ctx.Err() == nil {
			h.Locks.Failed(name, h.now(), err)
		}
		return Credential{}, err
	}
	e := h.entry(req.Identity, tok)
	if err := h.Cache.Put(name, e); err != nil {
		return Credential{}, fmt.Errorf("storing the token: %w", err)
	}
	h.Locks.Succeeded(name)
	c := h.credential(req.Identity, e)
	c.FromCache = false
	return c, nil
}

// Cached returns the cached token if it is still served (no login, no lock).
func (h *Helper) Cached(id Identity) (Credential, bool, error) { return h.cached(id) }

func (h *Helper) cached(id Identity) (Credential, bool, error) {
	e, err := h.Cache.Get(id.Key())
	switch {
	case errors.Is(err, cache.ErrMiss), errors.Is(err, cache.ErrCorrupt):
		return Credential{}, false, nil // a corrupt entry is replaced by the next login
	case err != nil:
		return Credential{}, false, err
	}
	c := h.credential(id, e)
	if !h.now().Before(c.ExpiresAt) {
		return Credential{}, false, nil
	}
	return c, true, nil
}

// credential hands out e. Its expiry is the real expiry minus the margin,
// cut to a whole second, and a token is served only until then: clients get
// whole seconds (git's password_expiry_utc, client-go's RFC 3339 time), and
// must never get one already past (client-go would re-run us per request).
func (h *Helper) credential(id Identity, e cache.Entry) Credential {
	return Credential{
		Identity: id, Token: e.AccessToken, TokenType: e.TokenType,
		ExpiresAt: e.ExpiresAt.Add(-h.margin(e)).Truncate(time.Second),
		Subject:   e.Subject, Email: e.Email, FromCache: true,
	}
}

// entry builds the cache entry; expiry is the earlier of expires_in and the
// JWT's exp.
func (h *Helper) entry(id Identity, tok authos.Token) cache.Entry {
	now := h.now()
	e := cache.Entry{
		Server: id.Server, Org: id.Org, Service: id.Service, ClientID: id.ClientID,
		AccessToken: tok.AccessToken, TokenType: tok.TokenType, ObtainedAt: now.UTC(),
	}
	if e.TokenType == "" {
		e.TokenType = "Bearer"
	}
	if tok.ExpiresIn > 0 {
		e.ExpiresAt = now.Add(time.Duration(tok.ExpiresIn) * time.Second)
	}
	if claims, err := authos.ParseClaims(tok.AccessToken); err == nil {
		e.Subject, e.Email = claims.Subject, claims.Email
		if exp := claims.ExpiresAt(); !exp.IsZero() && (e.ExpiresAt.IsZero() || exp.Before(e.ExpiresAt)) {
			e.ExpiresAt = exp
		}
	}
	if e.ExpiresAt.IsZero() {
		e.ExpiresAt = now.Add(time.Hour) // no expiry given at all: assume short-lived
	}
	e.ExpiresAt = e.ExpiresAt.UTC()
	return e
}

// Evict forgets id's token locally (a client reported it rejected), so the
// next request signs in again.
func (h *Helper) Evict(id Identity) error { return h.Cache.Delete(id.Key()) }

// SignOutResult says what SignOut did.
type SignOutResult struct {
	// Found is false when nothing was cached under the name.
	Found bool
	// Identity is the cached entry's identity.
	Identity Identity
	// Revoked says the server ended the session (or it had already ended).
	Revoked bool
	// RevokeErr says why the session could not be ended at the server; the
	// local copy is deleted anyway. Nil when the token had already expired.
	RevokeErr error
	// ExpiresAt is when the token stops working at the server.
	ExpiresAt time.Time
}

// SignOut ends the session of the token cached under name at the server
// (if it has not expired), then deletes the entry: an unreachable server
// does not keep the local copy alive. caBundle is the identity's CA bundle.
func (h *Helper) SignOut(ctx context.Context, name, caBundle string) (SignOutResult, error) {
	e, err := h.Cache.Get(name)
	switch {
	case errors.Is(err, cache.ErrMiss):
		return SignOutResult{}, nil
	case errors.Is(err, cache.ErrCorrupt):
		return SignOutResult{Found: true}, h.Cache.Delete(name)
	case err != nil:
		return SignOutResult{}, err
	}
	r := SignOutResult{
		Found:     true,
		Identity:  Identity{Server: e.Server, Org: e.Org, Service: e.Service, ClientID: e.ClientID, CABundle: caBundle},
		ExpiresAt: e.ExpiresAt,
	}
	if e.ExpiresAt.After(h.now()) && h.Revoke != nil {
		r.RevokeErr = h.Revoke(ctx, r.Identity, e.AccessToken)
		r.Revoked = r.RevokeErr == nil
	}
	return r, h.Cache.Delete(name)
}
