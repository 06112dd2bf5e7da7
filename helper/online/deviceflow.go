package online

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/authos/authos-credential-helper/helper"
	"github.com/authos/authos-credential-helper/internal/authos"
	"github.com/authos/authos-credential-helper/internal/authos/wire"
	"github.com/authos/authos-credential-helper/internal/termsafe"
)

// DeviceLogin is the helper.LoginFunc that runs AuthOS's device flow.
func DeviceLogin(userAgent string, clock helper.Clock) helper.LoginFunc {
	return DeviceLoginWith(userAgent, clock, nil)
}

// DeviceLoginWith is DeviceLogin that also refreshes the server's stored
// JWKS after a sign-in (keys may be nil), so that status can verify the new
// token locally later.
func DeviceLoginWith(userAgent string, clock helper.Clock, keys *Verifier) helper.LoginFunc {
	return func(ctx context.Context, id helper.Identity, p helper.Prompter) (helper.Token, error) {
		c, err := authos.NewClient(id.Server, id.CABundle, userAgent)
		if err != nil {
			return helper.Token{}, err
		}
		// The metadata document, where there is one, says where the device
		// flow lives and whether it is offered at all: before any code.
		if _, err := c.Discover(ctx); err != nil {
			var no *authos.NotOfferedError
			if errors.As(err, &no) {
				return helper.Token{}, err
			}
			if authos.Permanent(err) { // an unverifiable certificate, a refused redirect
				return helper.Token{}, fmt.Errorf("starting sign-in at %s: %w", c.BaseURL, err)
			}
			c.Endpoints = authos.Endpoints{} // unreadable: the fixed paths, as for older servers
		}
		tok, err := deviceFlow(ctx, c, id, clock, p)
		if err != nil {
			return tok, err
		}
		if err := checkBound(id, tok.AccessToken); err != nil {
			// Not what was asked for: never cached or served. End its
			// session rather than leave it alive unseen.
			lc := *c
			lc.Timeout = 10 * time.Second
			_ = lc.Logout(ctx, tok.AccessToken)
			return helper.Token{}, fmt.Errorf("the sign-in to %s %w; nothing was stored", id, err)
		}
		if keys != nil && helper.CheckToken(id, tok, clock.Now()) == nil {
			_ = keys.FetchKeys(ctx, id) // best effort: status fetches it again if need be
		}
		return tok, nil
	}
}

// deviceFlow asks for a code, shows it and polls for the token.
func deviceFlow(ctx context.Context, c *authos.Client, id helper.Identity, clock helper.Clock, p helper.Prompter) (helper.Token, error) {
	dc, err := startWithRetry(ctx, c, id, clock, p.Event)
	if err != nil {
		return helper.Token{}, fmt.Errorf("starting sign-in at %s: %w", c.BaseURL, err)
	}
	if err := helper.CheckUserCode(dc.UserCode); err != nil {
		return helper.Token{}, fmt.Errorf("starting sign-in at %s: %w", c.BaseURL, err)
	}
	issued := clock.Now()
	p.ShowCode(id, dc.VerificationURI, dc.UserCode, issued.Add(dc.Lifetime()))
	tok, err := c.Poll(ctx, dc, id.ClientID, authos.PollOptions{Clock: clock, IssuedAt: issued, OnEvent: p.Event, Resource: id.Resource})
	p.Finish(err)
	var it *authos.InvalidTargetError
	switch {
	case errors.As(err, &it):
		err = &invalidTargetError{msg: it.Message(id.Org, id.Service), err: it}
	case err != nil && !errors.Is(err, context.Canceled):
		err = fmt.Errorf("waiting for approval at %s: %w", c.BaseURL, err)
	}
	return tok, err
}

// invalidTargetError is the server refusing the profile's resource, in the
// words that name the profile's org/service.
type invalidTargetError struct {
	msg string
	err error
}

func (e *invalidTargetError) Error() string { return e.msg }
func (e *invalidTargetError) Unwrap() error { return e.err }

// checkBound makes sure a token is what id asks for: for a resource, an
// at+jwt whose aud is that resource (a server that ignored the resource
// field would hand back its management token, which must never reach the
// resource's host); without one, not a resource token. The claims are read,
// not verified: the signature is for status and the resource's server.
func checkBound(id helper.Identity, token string) error {
	typ, auds := wire.TokenProfile(token)
	switch {
	case id.Resource == "" && typ == "at+jwt":
		return fmt.Errorf("returned a resource token (typ at+jwt) where the management token was asked for")
	case id.Resource == "":
		return nil
	case typ != "at+jwt" || !slices.Contains(auds, id.Resource):
		return fmt.Errorf("returned a token not bound to resource %s (typ %q, aud %q): the server ignored the resource (AuthOS before v0.8 does)",
			id.Resource, termsafe.Strip(typ), termsafe.Strip(strings.Join(auds, " ")))
	}
	return nil
}

// RevokeSession is the helper.RevokeFunc that calls AuthOS's logout. A 401 means
// the session had already ended, which is what was asked for.
func RevokeSession(userAgent string) helper.RevokeFunc {
	return func(ctx context.Context, id helper.Identity, accessToken string) error {
		if typ, _ := wire.TokenProfile(accessToken); typ == "at+jwt" {
			// AuthOS's API refuses resource tokens (its 401 would read as
			// "already ended"), and resource servers verify them without
			// asking AuthOS: only expiry ends one.
			return errResourceTokenLives
		}
		c, err := authos.NewClient(id.Server, id.CABundle, userAgent)
		if err != nil {
			return err
		}
		c.Timeout = 10 * time.Second
		err = c.Logout(ctx, accessToken)
		var apiErr *authos.APIError
		if errors.As(err, &apiErr) && apiErr.Status == http.StatusUnauthorized {
			return nil
		}
		return err
	}
}

// errResourceTokenLives is why logout cannot end a resource token's use.
var errResourceTokenLives = errors.New("a resource token cannot be revoked through AuthOS's API, and its resource verifies it without asking AuthOS")

// startWithRetry asks for a device code, retrying rate limits, 5xx and
// network errors a few times and saying so through onEvent; other answers,
// refused redirects and unverifiable certificates are final.
func startWithRetry(ctx context.Context, c *authos.Client, id helper.Identity, clock helper.Clock, onEvent func(helper.Event)) (authos.DeviceCode, error) {
	const (
		attempts = 3
		// maxWait bounds one wait: a longer retry-after is passed on as
		// the error rather than waited out before any code is shown.
		maxWait = 2 * time.Minute
	)
	wait := 2 * time.Second
	for i := 1; ; i++ {
		dc, err := c.StartDeviceFlow(ctx, id.ClientID, id.Org, id.Service)
		if err == nil {
			return dc, nil
		}
		if authos.Permanent(err) {
			return authos.DeviceCode{}, err
		}
		var apiErr *authos.APIError
		isAPI := errors.As(err, &apiErr)
		retryable := !isAPI || apiErr.Status == http.StatusTooManyRequests || apiErr.Status >= 500
		if !retryable {
			return authos.DeviceCode{}, authos.Explain(apiErr)
		}
		if isAPI && apiErr.RetryAfter > 0 {
			wait = max(wait, apiErr.RetryAfter+authos.RetryAfterMargin)
		}
		if i == attempts || ctx.Err() != nil || wait > maxWait {
			return authos.DeviceCode{}, err
		}
		onEvent(helper.Event{Kind: authos.EventRetrying, Interval: wait, Err: err})
		if err := clock.Sleep(ctx, wait); err != nil {
			return authos.DeviceCode{}, err
		}
		wait *= 2
	}
}
