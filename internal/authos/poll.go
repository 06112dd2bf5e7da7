package authos

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// ErrCodeExpired means the device code can no longer be approved.
var ErrCodeExpired = errors.New("the sign-in code expired before it was approved; run the command again for a new code")

// PollOptions tune Poll. The zero value uses the wall clock and retries five
// server errors in a row.
type PollOptions struct {
	Clock Clock
	// IssuedAt is when the device code was received (default: Clock.Now()).
	IssuedAt time.Time
	// MaxFailures is how many 5xx / network errors in a row end the flow.
	MaxFailures int
	// OnEvent, if set, is told about each step.
	OnEvent func(Event)
	// Resource, if set, asks for a token bound to that resource URI
	// (RFC 8707 as AuthOS implements it) instead of the management token.
	Resource string
}

const (
	defaultInterval = 5 * time.Second
	// DefaultCodeLifetime is a device code's life when the server gives none.
	DefaultCodeLifetime = 900 * time.Second
	slowDownStep        = 5 * time.Second
	maxBackoff          = 60 * time.Second
)

// Lifetime is how long the code may be used: expires_in, or
// DefaultCodeLifetime when the server gave none.
func (dc DeviceCode) Lifetime() time.Duration {
	if dc.ExpiresIn <= 0 {
		return DefaultCodeLifetime
	}
	return time.Duration(dc.ExpiresIn) * time.Second
}

// RetryAfterMargin is added to every retry-after the client honours.
const RetryAfterMargin = time.Second

// Poll polls /auth/token for dc until a token arrives, the code expires, the
// server gives a final answer or ctx ends. It never polls faster than the
// interval the server gave, slows down on 429 and stops locally once
// expires_in has passed.
func (c *Client) Poll(ctx context.Context, dc DeviceCode, clientID string, opt PollOptions) (Token, error) {
	clock := opt.Clock
	if clock == nil {
		clock = RealClock{}
	}
	issued := opt.IssuedAt
	if issued.IsZero() {
		issued = clock.Now()
	}
	maxFailures := opt.MaxFailures
	if maxFailures <= 0 {
		maxFailures = 5
	}
	notify := opt.OnEvent
	if notify == nil {
		notify = func(Event) {}
	}
	interval := time.Duration(dc.Interval) * time.Second
	if interval <= 0 {
		interval = defaultInterval
	}
	deadline := issued.Add(dc.Lifetime())

	wait := interval
	seenPending, toldMFA := false, false
	failures := 0
	for {
		left := deadline.Sub(clock.Now())
		if left <= 0 {
			return Token{}, ErrCodeExpired
		}
		if wait > left {
			// The next poll would come after expiry: nothing left to wait for.
			if err := clock.Sleep(ctx, left); err != nil {
				return Token{}, err
			}
			return Token{}, ErrCodeExpired
		}
		if err := clock.Sleep(ctx, wait); err != nil {
			return Token{}, err
		}
		tok, err := c.ExchangeDeviceCodeFor(ctx, dc.DeviceCode, clientID, opt.Resource)
		if err == nil {
			return tok, nil
		}
		if ctx.Err() != nil {
			return Token{}, ctx.Err()
		}
		if Permanent(err) {
			return Token{}, err
		}
		var apiErr *APIError
		if !errors.As(err, &apiErr) {
			// Network error, timeout, or a 200 with a body that is not a token.
			failures++
			if failures > maxFailures {
				return Token{}, fmt.Errorf("giving up after %d failed polls in a row: %w", failures, err)
			}
			wait = backoff(interval, failures)
			notify(Event{Kind: EventRetrying, Interval: wait, Err: err})
			continue
		}
		switch s := apiErr.Status; {
		case s == http.StatusBadRequest && apiErr.Code == "DEVICE_CODE_PENDING":
			seenPending, failures, wait = true, 0, interval
			notify(Event{Kind: EventPending, Interval: interval})
		case s == http.StatusBadRequest && strings.Contains(apiErr.Message, "MFA"):
			// The intermediate server's answer while MFA is due: keep waiting.
			seenPending, failures, wait = true, 0, interval
			if !toldMFA {
				toldMFA = true
				notify(Event{Kind: EventMFA, Interval: interval})
			}
		case s == http.StatusTooManyRequests:
			// AuthOS's slow_down: a plain-text 429 with retry-after, which
			// its limiter rounds down: waiting exactly that long can get
			// another 429.
			failures = 0
			interval = max(apiErr.RetryAfter+RetryAfterMargin, interval+slowDownStep)
			wait = interval
			notify(Event{Kind: EventSlowDown, Interval: interval})
		case s == http.StatusBadRequest && apiErr.Code == "DEVICE_CODE_EXPIRED":
			return Token{}, ErrCodeExpired
		case s == http.StatusBadRequest && seenPending && strings.Contains(apiErr.Message, "Invalid device code"):
			// Cleaned up after expiry, or consumed by another poller.
			return Token{}, ErrCodeExpired
		case s == http.StatusBadRequest && strings.Contains(apiErr.Message, "invalid_target"):
			// §5 row 9: the service does not list this resource. Final:
			// polling again gets the same answer until the code expires.
			return Token{}, &InvalidTargetError{Resource: opt.Resource, Server: c.BaseURL, Err: apiErr}
		case s >= 500:
			failures++
			if failures > maxFailures {
				return Token{}, fmt.Errorf("giving up after %d failed polls in a row: %w", failures, apiErr)
			}
			wait = backoff(interval, failures)
			notify(Event{Kind: EventRetrying, Interval: wait, Err: apiErr})
		default:
			return Token{}, Explain(apiErr)
		}
	}
}

// backoff doubles the wait per failure in a row, from the interval up to a minute.
func backoff(interval time.Duration, failures int) time.Duration {
	d := interval
	for i := 1; i < failures && d < maxBackoff; i++ {
		d *= 2
	}
	return min(max(d, interval), max(maxBackoff, interval))
}

// FinalError is an answer that ends the flow, with what it means for the person.
type FinalError struct {
	Meaning string
	Err     *APIError
}

func (e *FinalError) Error() string {
	if e.Meaning == "" {
		return e.Err.Error()
	}
	return e.Meaning + " (" + e.Err.Error() + ")"
}
func (e *FinalError) Unwrap() error { return e.Err }

// InvalidTargetError is AuthOS's invalid_target answer to a resource
// request (400 BAD_REQUEST, "invalid_target: …"). The wording that names
// the profile's org/service is Message's; Error does without them.
type InvalidTargetError struct {
	Resource string // the resource URI asked for
	Server   string // the base URL
	Err      *APIError
}

// Reason is the server's text after "invalid_target: ".
func (e *InvalidTargetError) Reason() string {
	m := e.Err.Message
	if _, after, ok := strings.Cut(m, "invalid_target:"); ok {
		return strings.TrimSpace(after)
	}
	return m
}

// NotRegistered reports whether the URI is valid but not one of the
// service's resource_uris (rather than malformed).
func (e *InvalidTargetError) NotRegistered() bool {
	return strings.Contains(e.Reason(), "not registered")
}

// Message is what the person reads, naming org/service.
func (e *InvalidTargetError) Message(org, service string) string {
	if e.NotRegistered() {
		return fmt.Sprintf("resource %s is not registered for %s/%s at %s; ask your AuthOS administrator to add it to the service's resource URIs",
			e.Resource, org, service, e.Server)
	}
	return fmt.Sprintf("resource %q is not a resource URI %s accepts for %s/%s: %s", e.Resource, e.Server, org, service, e.Reason())
}

func (e *InvalidTargetError) Error() string {
	if e.NotRegistered() {
		return fmt.Sprintf("resource %s is not registered for this service at %s; ask your AuthOS administrator to add it to the service's resource URIs (%v)", e.Resource, e.Server, e.Err)
	}
	return fmt.Sprintf("resource %q was refused by %s (%v)", e.Resource, e.Server, e.Err)
}

func (e *InvalidTargetError) Unwrap() error { return e.Err }

// Explain turns a final AuthOS answer into what it means for the user.
func Explain(e *APIError) error {
	m := e.Message
	var meaning string
	switch {
	case e.Status == http.StatusUnauthorized:
		meaning = "the server refused this client id for the code: check client_id in the profile"
	case e.Status == http.StatusForbidden && strings.Contains(m, "platform owner"):
		meaning = "the account that approved the code is not a platform owner; approve it with a platform owner's account"
	case e.Status == http.StatusForbidden && strings.Contains(m, "access"):
		meaning = "the account that approved the code has no access to this service; ask an org admin for access, or approve with another account"
	case e.Status == http.StatusForbidden && strings.Contains(m, "not active"):
		meaning = "the organization is not active on the server"
	case e.Status == http.StatusForbidden:
		meaning = "the server refused the sign-in"
	case e.Status == http.StatusNotFound && strings.Contains(m, "User"):
		meaning = "the account that approved the code no longer exists"
	case e.Status == http.StatusNotFound && strings.Contains(m, "Service"):
		meaning = "the service no longer exists on the server: check org and service in the profile"
	case e.Status == http.StatusNotFound:
		meaning = "the server has no such route: check that server is the AuthOS base URL (without /api)"
	case strings.Contains(m, "Invalid client credentials"):
		meaning = "the server knows no service with this org, service and client_id: check them in the profile (platform admin login needs the client_id your server expects, e.g. platform-admin-cli)"
	case strings.Contains(m, "Device activation URI not configured"):
		meaning = "the service has no device activation URI on the server; an org admin has to configure one"
	case strings.Contains(m, "invalid characters") || strings.Contains(m, "too long"):
		meaning = "a value in the profile is not valid for AuthOS"
	case e.Status == http.StatusUnsupportedMediaType || e.Status == http.StatusUnprocessableEntity:
		meaning = "the server did not understand the request (is this an AuthOS server?)"
	}
	return &FinalError{Meaning: meaning, Err: e}
}
