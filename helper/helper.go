// Package helper is the use case every front end shares: serve a cached
// token, or take the identity's lock, check again, run a sign-in, store
// and hand back token and expiry (Helper.Token). Credentials answers the
// client protocols' verbs (a decoded request in, what the encoder needs
// out); Helper.Status reads the cache for status and the plugin. It draws
// nothing: prompts go to a Prompter the front end supplies.
//
// What an importer may rely on: Helper.Token, Credentials, Status and
// SignOut with the Cache, Locker, Prompter, LoginFunc, RevokeFunc and
// CheckFunc they are built on, and Identity's key (the cache entry name)
// staying stable. This package makes no network call of its own and links
// no HTTP or TLS: the calls to an AuthOS server are in helper/online and
// come in through Helper's fields. Revalidation (Helper.Check every
// Revalidate interval, CheckNow) is the one such call a hit may make.
// With CacheOnly (Wired, Request) an answer needs the cache alone: whatever
// needs more fails with ErrCacheOnly and does nothing. The wire types and
// the config file are internal; the types of theirs this API uses are
// named here (types.go).
package helper

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/authos/authos-credential-helper/cache"
	"github.com/authos/authos-credential-helper/internal/authos/wire"
	"github.com/authos/authos-credential-helper/internal/redact"
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

// Locker serialises logins per identity across processes (cache.FileLocker).
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
type LoginFunc func(ctx context.Context, id Identity, p Prompter) (Token, error)

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
	// Check asks whether a cached token's session is still alive
	// (revalidation); nil never asks. online.CheckSession asks AuthOS; tokens
	// its /api cannot see (resource tokens) need another, local one.
	Check CheckFunc
	// Revalidate is how long a token is served after its last online
	// check (or its sign-in) before Check is asked again; nil or 0: never.
	Revalidate func(Identity) time.Duration
	// Flows shares the code of a sign-in in progress with the processes
	// waiting for it; nil shares nothing.
	Flows FlowBoard
	// Getenv reads the token a CI job hands over (AUTHOS_TOKEN, a
	// profile's token_env); nil: none is looked for.
	Getenv func(string) string
}

// Request asks for a token.
type Request struct {
	Identity Identity
	// Force runs a login even when a valid token is cached (`login`).
	Force bool
	// NonInteractive fails a miss at once instead of prompting nobody.
	NonInteractive bool
	// Prompt shows the sign-in; nil shows nothing.
	Prompt Prompter
	// CacheOnly answers from the cache alone: a request that needs a
	// sign-in, a revalidation or the lock fails with ErrCacheOnly instead,
	// having done nothing.
	CacheOnly bool
}

// ErrCacheOnly is a CacheOnly request that needs more than the cache (a
// sign-in, a revalidation, a lock, a write): the caller hands it to
// something that may do that.
var ErrCacheOnly = errors.New("answering this needs more than the cache")

// silent is the Prompter of a request that gave none.
type silent struct{}

func (silent) ShowCode(Identity, string, string, time.Time) {}
func (silent) Event(Event)                                  {}
func (silent) Waiting(Identity)                             {}
func (silent) Finish(error)                                 {}

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
	// CacheErr, after a login, says why its token could not be stored; the
	// token is still good for this caller, and the person has been told
	// through the prompt (Noticer). Nil when stored or served from the cache.
	CacheErr error
}

// Noticer is an optional Prompter method for lines outside the device flow:
// why a sign-in is needed, or that its token could not be cached.
// Prompters without it do not show them.
type Noticer interface {
	Notice(line string)
}

func notice(p Prompter, line string) {
	if n, ok := p.(Noticer); ok {
		n.Notice(redact.String(line))
	}
}

// LoginRequiredError is a miss where nobody can see a prompt.
type LoginRequiredError struct {
	Identity Identity
	// Revoked: the miss is a token whose session revalidation found ended.
	Revoked bool
}

func (e *LoginRequiredError) Error() string {
	why := "no valid AuthOS token"
	if e.Revoked {
		why = "the AuthOS session has ended at the server (signed out elsewhere, or revoked), so there is no valid token"
	}
	return fmt.Sprintf("%s for %s and no one to show a sign-in prompt to; run: %s", why, e.Identity, e.Identity.LoginCommand())
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
// no network call, except the revalidation due once per Revalidate interval
// (bounded by CheckTimeout; no answer serves the token).
func (h *Helper) Token(ctx context.Context, req Request) (Credential, error) {
	if req.Prompt == nil {
		req.Prompt = silent{}
	}
	var unreadable error // why the cached entry could not be used, if corrupt
	revoked := false
	if !req.Force {
		if c, ok, err := h.envToken(req.Identity); ok {
			return c, err // a CI token: served as given, never cached, never a sign-in
		}
		c, e, ok, corrupt, err := h.lookupEntry(req.Identity)
		if err != nil {
			return c, err
		}
		if ok && h.checkDue(req.Identity, e) {
			if req.CacheOnly {
				return Credential{}, fmt.Errorf("%w: the token for %s is due for revalidation", ErrCacheOnly, req.Identity)
			}
			if s, _ := h.revalidate(ctx, req.Identity, e); s == SessionRevoked {
				ok, revoked = false, true
			}
		}
		if ok {
			return c, nil
		}
		unreadable = corrupt
	}
	if req.CacheOnly {
		why := "no token for %s is served from the cache"
		if req.Force {
			why = "a new sign-in to %s was asked for"
		}
		return Credential{}, fmt.Errorf("%w: "+why, ErrCacheOnly, req.Identity)
	}
	if req.NonInteractive {
		return Credential{}, &LoginRequiredError{Identity: req.Identity, Revoked: revoked}
	}
	if revoked {
		notice(req.Prompt, RevokedText(req.Identity)+"; signing in again")
	}
	name := req.Identity.Key() // a hit names its entry in lookupEntry
	started := h.now()
	var watching <-chan bool
	stopWatch := make(chan struct{})
	unlock, waited, err := h.Locks.Lock(ctx, name, func() {
		req.Prompt.Waiting(req.Identity)
		if h.Flows != nil {
			watching = h.watchFlow(ctx, req.Identity, req.Prompt, stopWatch)
		}
	})
	if watching != nil {
		close(stopWatch)
		if <-watching {
			req.Prompt.Finish(err) // the code another process showed is done with
		}
	}
	if err != nil {
		return Credential{}, err
	}
	defer unlock()
	if waited || !req.Force {
		// Look again under the lock: another process may have just signed
		// in (we waited for it, or it finished before we took the lock).
		c, ok, corrupt, err := h.lookup(req.Identity)
		if ok || err != nil {
			return c, err
		}
		unreadable = corrupt
	}
	if waited {
		// Share the failure of the login we waited for rather than
		// prompting the person again.
		if msg, failed := h.Locks.LastFailure(name, started); failed {
			return Credential{}, fmt.Errorf("the sign-in another process ran for %s failed: %s", req.Identity, msg)
		}
	}
	// Before anyone is asked to sign in: a store that cannot keep the token
	// would throw away the person's work.
	if err := h.Cache.Ready(); err != nil {
		return Credential{}, err
	}
	if unreadable != nil {
		notice(req.Prompt, fmt.Sprintf("the cached token for %s could not be read (%s); signing in again", req.Identity, corruptReason(unreadable)))
	}
	prompt := req.Prompt
	if h.Flows != nil {
		h.Flows.Remove(name) // one a killed process left
		prompt = &sharing{Prompter: req.Prompt, board: h.Flows, name: name}
		defer h.Flows.Remove(name)
	}
	tok, err := h.Login(ctx, req.Identity, prompt)
	if err == nil {
		err = CheckToken(req.Identity, tok, h.now())
	}
	if err != nil {
		if ctx.Err() == nil {
			h.Locks.Failed(name, h.now(), err)
		}
		return Credential{}, err
	}
	e := h.entry(req.Identity, tok)
	c := h.credential(req.Identity, e)
	c.FromCache = false
	if err := h.Cache.Put(name, e); err != nil {
		// The person approved this sign-in: the caller still gets its token.
		// Waiters cannot (it is not cached), so they share this as a failure.
		c.CacheErr = fmt.Errorf("storing the token: %w", err)
		h.Locks.Failed(name, h.now(), fmt.Errorf("its token could not be cached: %w", err))
		notice(req.Prompt, fmt.Sprintf("warning: the token for %s could not be cached (%s), so the next request signs in again",
			req.Identity, strings.Join(strings.Fields(err.Error()), " ")))
		return c, nil
	}
	h.Locks.Succeeded(name)
	return c, nil
}

// Cached returns the cached token if it is still served (no login, no lock).
func (h *Helper) Cached(id Identity) (Credential, bool, error) { return h.cached(id) }

func (h *Helper) cached(id Identity) (Credential, bool, error) {
	c, ok, _, err := h.lookup(id)
	return c, ok, err
}

// lookup is cached, and also says why an entry that exists could not be
// used (an error wrapping cache.ErrCorrupt), for the next sign-in to explain.
func (h *Helper) lookup(id Identity) (c Credential, ok bool, corrupt, err error) {
	c, _, ok, corrupt, err = h.lookupEntry(id)
	return c, ok, corrupt, err
}

// lookupEntry is lookup that also returns the entry served.
func (h *Helper) lookupEntry(id Identity) (c Credential, e cache.Entry, ok bool, corrupt, err error) {
	e, err = h.get(id.Key())
	switch {
	case errors.Is(err, cache.ErrMiss):
		return Credential{}, e, false, nil, nil
	case errors.Is(err, cache.ErrCorrupt):
		return Credential{}, e, false, err, nil // replaced by the next login
	case err != nil:
		return Credential{}, e, false, nil, err
	}
	c = h.credential(id, e)
	if !h.now().Before(c.ExpiresAt) {
		return Credential{}, e, false, nil, nil
	}
	return c, e, true, nil, nil
}

// CachedEntry reads the entry called name as the hit path does: one whose
// token is not a well-formed JWT is corrupt (wraps cache.ErrCorrupt).
func (h *Helper) CachedEntry(name string) (cache.Entry, error) { return h.get(name) }

// get reads an entry; one whose token is not a well-formed JWT (written by
// an older version, or tampered with) is corrupt: never served.
func (h *Helper) get(name string) (cache.Entry, error) {
	e, err := h.Cache.Get(name)
	if err != nil {
		return e, err
	}
	if err := checkShape(e.AccessToken); err != nil {
		return cache.Entry{}, fmt.Errorf("%w: it holds no well-formed token (%v)", cache.ErrCorrupt, err)
	}
	return e, nil
}

// corruptReason is the part of a cache.ErrCorrupt error after its own text.
func corruptReason(err error) string {
	msg := err.Error()
	if r, ok := strings.CutPrefix(msg, cache.ErrCorrupt.Error()+": "); ok {
		return r
	}
	if msg == cache.ErrCorrupt.Error() {
		return "damaged"
	}
	return msg
}

// maxTokenLen bounds an access token: AuthOS's are about 1 KiB, and HTTP
// servers refuse headers much larger than this anyway.
const maxTokenLen = 16 << 10

// checkShape accepts exactly three non-empty base64url parts joined by dots
// and nothing else: no padding, whitespace, CR, LF or escape sequence can
// reach a client's header, a protocol line or a terminal. It names no byte
// of the token, only offsets.
func checkShape(tok string) error {
	if tok == "" {
		return errors.New("it is empty")
	}
	if len(tok) > maxTokenLen {
		return fmt.Errorf("it is %d bytes long, more than %d", len(tok), maxTokenLen)
	}
	parts, partLen := 1, 0
	for i := 0; i < len(tok); i++ {
		switch c := tok[i]; {
		case c == '.':
			if partLen == 0 {
				return errors.New("it has an empty part")
			}
			parts, partLen = parts+1, 0
		case c >= 'A' && c <= 'Z', c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '-', c == '_':
			partLen++
		default:
			return fmt.Errorf("byte %d is 0x%02x, not base64url", i, c)
		}
	}
	if partLen == 0 {
		return errors.New("it has an empty part")
	}
	if parts != 3 {
		return fmt.Errorf("it has %d parts, not 3", parts)
	}
	return nil
}

// maxSkew is how far the server's Date may be from our clock before an
// expired token is blamed on a clock.
const maxSkew = 60 * time.Second

// CheckToken is the one check every token from a login passes before it is
// stored or handed out: a well-formed JWT with a JSON header and payload,
// not already expired by our clock.
func CheckToken(id Identity, tok Token, now time.Time) error {
	bad := func(why string) error {
		return fmt.Errorf("the sign-in to %s returned an unusable access token: %s; nothing was stored", id, why)
	}
	if err := checkShape(tok.AccessToken); err != nil {
		return bad("it is not a well-formed JWT (" + err.Error() + ")")
	}
	head, _, _ := strings.Cut(tok.AccessToken, ".")
	if raw, err := base64.RawURLEncoding.DecodeString(head); err != nil || !json.Valid(raw) {
		return bad("it is not a well-formed JWT (its header is not base64url JSON)")
	}
	claims, err := wire.ParseClaims(tok.AccessToken)
	if err != nil {
		return bad("it is not a well-formed JWT (" + strings.TrimPrefix(err.Error(), "access token ") + ")")
	}
	exp := claims.ExpiresAt()
	if exp.IsZero() || exp.After(now) {
		return nil
	}
	why := fmt.Sprintf("it expired at %s, %s ago by this machine's clock", exp.UTC().Format("2006-01-02 15:04:05 UTC"), roughDuration(now.Sub(exp)))
	if !tok.ServerDate.IsZero() {
		switch skew := tok.ServerDate.Sub(now); {
		case skew > maxSkew:
			why += fmt.Sprintf("; the server's clock is %s ahead of this machine's; fix the clock", roughDuration(skew))
		case skew < -maxSkew:
			why += fmt.Sprintf("; the server's clock is %s behind this machine's; fix the clock", roughDuration(-skew))
		}
	}
	return bad(why)
}

// roughDuration is d for a person: "2h", "1h30m", "5m", "40s".
func roughDuration(d time.Duration) string {
	switch {
	case d >= time.Hour:
		d = d.Round(time.Minute)
		if m := int(d.Minutes()) % 60; m != 0 {
			return fmt.Sprintf("%dh%dm", int(d.Hours()), m)
		}
		return fmt.Sprintf("%dh", int(d.Hours()))
	case d >= time.Minute:
		return fmt.Sprintf("%dm", int(d.Round(time.Minute).Minutes()))
	}
	return fmt.Sprintf("%ds", int(d.Round(time.Second).Seconds()))
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
func (h *Helper) entry(id Identity, tok Token) cache.Entry {
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
	if claims, err := wire.ParseClaims(tok.AccessToken); err == nil {
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
	// Identity is the cached entry's identity (zero for an unreadable entry).
	Identity Identity
	// Revoked says the server ended the session (or it had already ended).
	Revoked bool
	// RevokeErr says why the session could not be ended at the server; the
	// local copy is gone anyway. Nil when the token had already expired.
	RevokeErr error
	// ExpiresAt is when the token stops working at the server.
	ExpiresAt time.Time
}

// SignOut forgets the token cached under name, then ends its session at the
// server (if it has not expired), holding the token in memory between the
// two. That order means no step can fail, or be killed, leaving a token
// that is revoked at the server but still served from here. If the local
// delete fails, the session is not ended: SignOut returns the error and the
// cached token stays one that works. An unreachable server does not keep
// the local copy alive. caBundle is the identity's CA bundle.
func (h *Helper) SignOut(ctx context.Context, name, caBundle string) (SignOutResult, error) {
	e, err := h.get(name)
	switch {
	case errors.Is(err, cache.ErrMiss):
		return SignOutResult{}, nil
	case errors.Is(err, cache.ErrCorrupt):
		// Nothing usable to revoke; its server is unknown.
		if err := h.Cache.Delete(name); err != nil {
			return SignOutResult{Found: true}, fmt.Errorf("forgetting the unreadable cached token: %w", err)
		}
		return SignOutResult{Found: true}, nil
	case err != nil:
		return SignOutResult{}, err
	}
	r := SignOutResult{
		Found:     true,
		Identity:  Identity{Server: e.Server, Org: e.Org, Service: e.Service, ClientID: e.ClientID, CABundle: caBundle},
		ExpiresAt: e.ExpiresAt,
	}
	if err := h.Cache.Delete(name); err != nil {
		return r, fmt.Errorf("could not forget the cached token for %s (%w); the session was not ended, so that token still works; fix the cache folder and log out again", r.Identity, err)
	}
	if e.ExpiresAt.After(h.now()) && h.Revoke != nil {
		r.RevokeErr = h.Revoke(ctx, r.Identity, e.AccessToken)
		r.Revoked = r.RevokeErr == nil
	}
	return r, nil
}
