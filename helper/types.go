package helper

import (
	"github.com/authos/authos-credential-helper/internal/authos/wire"
	"github.com/authos/authos-credential-helper/internal/config"
)

// The AuthOS wire types and the config file are internal packages; these
// are the parts of them this package's API hands in and out, named here so
// that an importer can use them.
type (
	// Token is what a sign-in returns (LoginFunc).
	Token = wire.Token
	// Event is the device flow's progress, shown by a Prompter.
	Event = wire.Event
	// EventKind says what an Event reports.
	EventKind = wire.EventKind
	// Clock is the device flow's time source (online.DeviceLogin).
	Clock = wire.Clock
	// Config is config.toml, decoded.
	Config = config.Config
	// Profile is one [profiles.NAME] table.
	Profile = config.Profile
	// Need is the part of config.toml a request can use (Source.Open).
	Need = config.Need
)

// The kinds of Event.
const (
	EventPending  = wire.EventPending
	EventMFA      = wire.EventMFA
	EventSlowDown = wire.EventSlowDown
	EventRetrying = wire.EventRetrying
)
