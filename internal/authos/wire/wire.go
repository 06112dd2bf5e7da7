// Package wire holds the parts of AuthOS's API that need no network: what
// a sign-in returns (Token), the device flow's progress (Event) and time
// source (Clock), a token's unverified claims, and the one rule for a
// server URL. The cache-only path (helper) links it without net/http or
// crypto/tls; package authos, which speaks HTTP, re-exports these names.
package wire

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"strings"
	"time"

	"github.com/authos/authos-credential-helper/internal/termsafe"
)

// Token is the answer of POST /auth/token. AuthOS returns no refresh token.
type Token struct {
	AccessToken string `json:"access_token"`
	TokenType   string `json:"token_type"`
	ExpiresIn   int64  `json:"expires_in"`
	// ServerDate is the answer's Date header (zero when absent or
	// unparsable), for telling clock skew from a token already expired.
	ServerDate time.Time `json:"-"`
}

// Clock is the time source the poller waits on; tests inject a fake one so
// that no test sleeps for real intervals.
type Clock interface {
	Now() time.Time
	// Sleep waits d or until ctx ends, whichever comes first.
	Sleep(ctx context.Context, d time.Duration) error
}

// RealClock is the wall clock.
type RealClock struct{}

func (RealClock) Now() time.Time { return time.Now() }

func (RealClock) Sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// EventKind says what the poller is doing, for the person watching.
type EventKind int

const (
	EventPending  EventKind = iota // still waiting for approval
	EventMFA                       // approved, MFA to finish in the browser (said once)
	EventSlowDown                  // rate limited: polling slower from now on
	EventRetrying                  // server or network trouble, retrying
)

// Event is one step of the poll loop. Err is set for EventRetrying.
type Event struct {
	Kind     EventKind
	Interval time.Duration // the interval in force after this event
	Err      error
}

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

// CheckBaseURL trims a trailing "/" and refuses anything but https, or plain
// http on a loopback address.
func CheckBaseURL(raw string) (string, error) {
	base := TrimBaseURL(raw)
	u, err := url.Parse(base)
	if err != nil || u.Host == "" {
		return "", fmt.Errorf("server URL %q is not an absolute URL", raw)
	}
	switch u.Scheme {
	case "https":
	case "http":
		if !IsLoopback(u.Hostname()) {
			return "", fmt.Errorf("server URL %q uses plain http; only https is allowed except on loopback (127.0.0.1, ::1, localhost)", raw)
		}
	default:
		return "", fmt.Errorf("server URL %q must start with https://", raw)
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return "", fmt.Errorf("server URL %q must not have a query or fragment", raw)
	}
	return base, nil
}

// TrimBaseURL is the one normal form of a server URL: no surrounding space,
// no trailing slash. CheckBaseURL returns it for a valid URL.
func TrimBaseURL(raw string) string { return strings.TrimRight(strings.TrimSpace(raw), "/") }

// IsLoopback reports whether host names this machine's loopback interface.
func IsLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	// netip, not net: the front door links this, and package net's init
	// and size cost every start. Unmap: ::ffff:127.0.0.1 is loopback, as
	// net.ParseIP has it.
	a, err := netip.ParseAddr(host)
	return err == nil && a.Zone() == "" && a.Unmap().IsLoopback()
}

// TokenProfile reads a JWT's JOSE typ and its aud, unverified.
func TokenProfile(token string) (typ string, auds []string) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return "", nil
	}
	var hdr struct {
		Typ string `json:"typ"`
	}
	if b, err := base64.RawURLEncoding.DecodeString(parts[0]); err == nil {
		_ = json.Unmarshal(b, &hdr)
	}
	var cl struct {
		Aud json.RawMessage `json:"aud"`
	}
	if b, err := base64.RawURLEncoding.DecodeString(parts[1]); err == nil && json.Unmarshal(b, &cl) == nil {
		var one string
		if json.Unmarshal(cl.Aud, &one) == nil {
			auds = []string{one}
		} else {
			_ = json.Unmarshal(cl.Aud, &auds)
		}
	}
	return hdr.Typ, auds
}
