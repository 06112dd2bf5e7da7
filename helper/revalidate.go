package helper

import (
	"context"
	"fmt"
	"time"

	"github.com/authos/authos-credential-helper/cache"
)

// CheckFunc asks whether the session accessToken belongs to is still
// alive: (false, nil) means it has ended; an error means no answer.
type CheckFunc func(ctx context.Context, id Identity, accessToken string) (alive bool, err error)

// CheckTimeout bounds one revalidation: an offline laptop pays at most this
// once per interval.
const CheckTimeout = 2 * time.Second

// Session is what a revalidation found.
type Session int

const (
	// SessionUnchecked: no check was due, or none can be made.
	SessionUnchecked Session = iota
	// SessionAlive: the server still accepts the token.
	SessionAlive
	// SessionRevoked: the server ended the session; the token was evicted.
	SessionRevoked
	// SessionUnknown: the server did not answer; the token is still served.
	SessionUnknown
)

func (s Session) String() string {
	return [...]string{"unchecked", "alive", "revoked", "unknown"}[s]
}

// RevokedText is the line a person is shown when revalidation evicts id's
// token.
func RevokedText(id Identity) string {
	return fmt.Sprintf("the AuthOS session for %s has ended at the server (signed out elsewhere, or revoked); the cached token was dropped", id)
}

// DroppedText is the line a person is shown when a client's own signal
// (git's erase after a 401, docker logout, terraform logout) dropped id's
// cached token.
func DroppedText(id Identity, why string) string {
	return fmt.Sprintf("%s: dropped the cached token for %s; every client using it (git, docker, kubectl, Terraform) signs in again at its next request; the session at AuthOS is not ended (to end it too, run: %s)",
		why, id, logoutCommand(id))
}

func logoutCommand(id Identity) string {
	if id.Profile != "" {
		return "authos-credential-helper logout --profile " + id.Profile
	}
	return fmt.Sprintf("authos-credential-helper logout --server %s --org %s --service %s --client-id %s", id.Server, id.Org, id.Service, id.ClientID)
}

// checkDue reports whether e's last online check is older than id's
// interval. It reads only e and the clock: a hit with no check due costs
// nothing more than before.
func (h *Helper) checkDue(id Identity, e cache.Entry) bool {
	if h.Check == nil || h.Revalidate == nil {
		return false
	}
	every := h.Revalidate(id)
	if every <= 0 {
		return false
	}
	last := e.ObtainedAt
	if e.CheckedAt.After(last) {
		last = e.CheckedAt
	}
	return h.now().Sub(last) >= every
}

// revalidate asks the server about e's session now. Revoked: the entry is
// deleted (if it still holds that token). Alive or no answer: the attempt
// time is recorded in the entry, so that the next check waits a whole
// interval. It takes no lock: two processes checking at once only ask twice.
func (h *Helper) revalidate(ctx context.Context, id Identity, e cache.Entry) (Session, error) {
	ctx, cancel := context.WithTimeout(ctx, CheckTimeout)
	alive, err := h.Check(ctx, id, e.AccessToken)
	cancel()
	name := id.Key()
	// Act only on the entry checked: another process may have signed in
	// meanwhile, and its new token must not be touched.
	cur, gerr := h.Cache.Get(name)
	same := gerr == nil && cur.AccessToken == e.AccessToken
	switch {
	case err == nil && !alive:
		if same {
			h.Cache.Delete(name)
		}
		return SessionRevoked, nil
	case same:
		cur.CheckedAt = h.now().UTC()
		h.Cache.Put(name, cur) // failing only costs another check next time
	}
	if err != nil {
		return SessionUnknown, err
	}
	return SessionAlive, nil
}

// CheckNow asks the server about the token cached for id at once (`status
// --check`), whether or not a check is due, and evicts it if its session
// has ended: a dead token must not be served. SessionUnchecked: nothing
// valid is cached, or no Check is wired. With SessionUnknown the error
// says why the server gave no answer.
func (h *Helper) CheckNow(ctx context.Context, id Identity) (Session, error) {
	if h.Check == nil {
		return SessionUnchecked, nil
	}
	_, e, ok, _, err := h.lookupEntry(id)
	if err != nil || !ok {
		return SessionUnchecked, err
	}
	return h.revalidate(ctx, id, e)
}

// RejectedText is the line a person is shown when client reported the
// token it was given rejected and it was dropped.
func RejectedText(id Identity, client string) string {
	return fmt.Sprintf("%s reported the token for %s rejected; dropped it, so the next command signs in again", client, id)
}

// DropText is the line a client's logout (`docker logout`, `terraform
// logout`) gets when it dropped a profile's token; "" when it dropped
// none (docker tries several spellings of a registry: one line is enough).
func DropText(d Dropped, what string) string {
	if !d.Found {
		return ""
	}
	return DroppedText(d.Identity, what)
}
