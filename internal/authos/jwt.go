package authos

import "github.com/authos/authos-credential-helper/internal/authos/wire"

// The network-free parts of the API live in package wire (so that the
// cache-only path links no HTTP); these names keep this package's callers
// as they were.
type (
	Token     = wire.Token
	Clock     = wire.Clock
	RealClock = wire.RealClock
	EventKind = wire.EventKind
	Event     = wire.Event
	Claims    = wire.Claims
)

const (
	EventPending  = wire.EventPending
	EventMFA      = wire.EventMFA
	EventSlowDown = wire.EventSlowDown
	EventRetrying = wire.EventRetrying
)

// ParseClaims decodes a JWT's payload without verifying it (wire.ParseClaims).
func ParseClaims(token string) (Claims, error) { return wire.ParseClaims(token) }

// CheckBaseURL is wire.CheckBaseURL.
func CheckBaseURL(raw string) (string, error) { return wire.CheckBaseURL(raw) }

// TrimBaseURL is wire.TrimBaseURL.
func TrimBaseURL(raw string) string { return wire.TrimBaseURL(raw) }

// IsLoopback is wire.IsLoopback.
func IsLoopback(host string) bool { return wire.IsLoopback(host) }
