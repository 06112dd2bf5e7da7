package helper

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/authos/authos-credential-helper/internal/authos"
)

// DeviceLogin is the LoginFunc that runs AuthOS's device flow.
func DeviceLogin(userAgent string, clock Clock) LoginFunc {
	return func(ctx context.Context, id Identity, p Prompter) (Token, error) {
		c, err := authos.NewClient(id.Server, id.CABundle, userAgent)
		if err != nil {
			return Token{}, err
		}
		dc, err := startWithRetry(ctx, c, id, clock, p.Event)
		if err != nil {
			return Token{}, fmt.Errorf("starting sign-in at %s: %w", c.BaseURL, err)
		}
		if err := CheckUserCode(dc.UserCode); err != nil {
			return Token{}, fmt.Errorf("starting sign-in at %s: %w", c.BaseURL, err)
		}
		issued := clock.Now()
		p.ShowCode(id, dc.VerificationURI, dc.UserCode, issued.Add(dc.Lifetime()))
		tok, err := c.Poll(ctx, dc, id.ClientID, authos.PollOptions{Clock: clock, IssuedAt: issued, OnEvent: p.Event})
		p.Finish(err)
		if err != nil && !errors.Is(err, context.Canceled) {
			err = fmt.Errorf("waiting for approval at %s: %w", c.BaseURL, err)
		}
		return tok, err
	}
}

// RevokeSession is the RevokeFunc that calls AuthOS's logout. A 401 means
// the session had already ended, which is what was asked for.
func RevokeSession(userAgent string) RevokeFunc {
	return func(ctx context.Context, id Identity, accessToken string) error {
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

// startWithRetry asks for a device code, retrying rate limits, 5xx and
// network errors a few times and saying so through onEvent; other answers,
// refused redirects and unverifiable certificates are final.
func startWithRetry(ctx context.Context, c *authos.Client, id Identity, clock Clock, onEvent func(Event)) (authos.DeviceCode, error) {
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
		onEvent(Event{Kind: authos.EventRetrying, Interval: wait, Err: err})
		if err := clock.Sleep(ctx, wait); err != nil {
			return authos.DeviceCode{}, err
		}
		wait *= 2
	}
}
