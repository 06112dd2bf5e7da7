// Package tokenplugin is the contract between authos-credential-plugin and
// the Go programs that start it: the go-plugin handshake, the token service
// as a Go interface, and its gRPC client and server side by side.
//
// It links no keyring and no cache, so a host that imports it (through
// tokensource) stays small; the service itself lives in tokenservice, which
// only the plugin binary links.
package tokenplugin

import (
	"context"
	"errors"
	"time"

	"github.com/hashicorp/go-plugin"
)

// ProtocolVersion is the token service's version. A host and a plugin that
// disagree refuse each other at the handshake.
const ProtocolVersion = 1

// Name is the plugin's name in go-plugin's plugin set.
const Name = "tokens"

// Handshake is the go-plugin handshake. The cookie only keeps the binary
// from serving when a person runs it by hand; it is not a secret.
func Handshake() plugin.HandshakeConfig {
	return plugin.HandshakeConfig{
		ProtocolVersion:  ProtocolVersion,
		MagicCookieKey:   "AUTHOS_CREDENTIAL_PLUGIN",
		MagicCookieValue: "c7f1d2a4-token-service",
	}
}

// Identity selects whose token: a profile from config.toml, or the explicit
// server, org, service and client id. Empty fields fall back to the plugin's
// AUTHOS_* environment, then to default_profile. In answers it is the
// identity the request resolved to.
type Identity struct {
	Profile  string
	Server   string
	Org      string
	Service  string
	ClientID string
}

// TokenRequest asks for a token.
type TokenRequest struct {
	Identity Identity
	// Interactive says the host can show a Prompt. Without it a miss fails
	// at once with ErrLoginRequired.
	Interactive bool
	// Force signs in again even when a valid token is cached.
	Force bool
}

// PromptKind says what a Prompt asks of the person.
type PromptKind int

const (
	// PromptCode: open VerificationURI and enter UserCode before ExpiresAt.
	PromptCode PromptKind = iota + 1
	// PromptWaiting: another process is already signing in; nothing to do.
	PromptWaiting
	// PromptMFA: approved; finish the MFA step in the browser.
	PromptMFA
	// PromptSlowDown: the server asked to poll more slowly.
	PromptSlowDown
	// PromptRetrying: a poll failed and is being retried.
	PromptRetrying
)

// Prompt is what the host should show the person during a sign-in. Message
// is always a one-line text for a person, free of secrets and of control
// and bidi characters; a host that does not care about the kinds can just
// print it.
type Prompt struct {
	Kind     PromptKind
	Identity Identity
	// VerificationURI is an https URL (http only on loopback) in printable
	// ASCII, safe to open; it is empty when the server sent anything else,
	// and then Message shows that text escaped, with a warning.
	VerificationURI string
	// UserCode is printable ASCII, at most 32 bytes (AuthOS: XXXX-XXXX).
	UserCode  string
	ExpiresAt time.Time
	Message   string
}

// Token is a token and what it belongs to.
type Token struct {
	Identity    Identity
	AccessToken string
	TokenType   string
	// ExpiresAt is when to stop using the token (the real expiry minus the
	// cache's margin, whole seconds).
	ExpiresAt time.Time
	Subject   string
	Email     string
	// FromCache is false when this call ran a sign-in.
	FromCache bool
}

// Status describes an identity's cached token.
type Status struct {
	Identity Identity
	// Cached: a token is stored. Valid: it is still served.
	Cached bool
	Valid  bool
	// ExpiresAt is the token's real expiry (Token.ExpiresAt is earlier by
	// the cache's margin: when the helper stops serving it).
	ExpiresAt  time.Time
	ObtainedAt time.Time
	Subject    string
	Email      string
}

// LogoutResult says what Logout did.
type LogoutResult struct {
	Identity Identity
	// Found is false when nothing was cached.
	Found bool
	// Revoked: the server ended the session. Otherwise RevokeError says why
	// not; the local token is deleted either way.
	Revoked     bool
	RevokeError string
}

// Service is the token service the plugin serves.
type Service interface {
	// Token answers from the cache, or signs in, telling prompt what to
	// show first. prompt is called from the calling goroutine.
	Token(ctx context.Context, req TokenRequest, prompt func(Prompt)) (Token, error)
	// Status describes id's cached token, never the token itself.
	Status(ctx context.Context, id Identity) (Status, error)
	Logout(ctx context.Context, id Identity) (LogoutResult, error)
}

// Errors a Service returns (wrapped, with the details) and a host can test
// for with errors.Is; they cross the RPC boundary as gRPC status codes.
var (
	// ErrLoginRequired: no valid token and the request was not interactive.
	// The message names the command that fixes it.
	ErrLoginRequired = errors.New("sign-in required")
	// ErrBadIdentity: the identity is unknown or incomplete.
	ErrBadIdentity = errors.New("bad identity")
)
