package helper

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/url"
	"strings"

	"github.com/authos/authos-credential-helper/internal/authos/wire"
)

// Identity is who a token is for: one AuthOS server, org, service and
// client id, and the resource its token is bound to ("" for AuthOS's
// management token). The cache is keyed by it, so one login serves every
// client of the same identity, and a token for one resource never serves
// another.
type Identity struct {
	Profile  string // the profile it came from, for messages; may be empty
	Server   string
	Org      string
	Service  string
	ClientID string
	CABundle string
	// Resource is the profile's resource URI (RFC 8707): its tokens are
	// at+jwt with this aud, useless at AuthOS's own API.
	Resource string
	// TokenEnv is the profile's token_env: the variable whose token is
	// served instead of the cache when it is set (CI).
	TokenEnv string
}

// EntryPrefix starts the cache names of identities' token entries.
const EntryPrefix = "id-"

// Key names the identity's cache entry and lock; it does not reveal the
// identity (file names are visible to anyone who can list the folder).
// A resource is part of the key; without one the key is what it was before
// resources existed, so existing caches stay valid.
func (id Identity) Key() string {
	if id.Resource != "" {
		return EntryPrefix + HashName(id.Server, id.Org, id.Service, id.ClientID, "resource", id.Resource)
	}
	return EntryPrefix + HashName(id.Server, id.Org, id.Service, id.ClientID)
}

// Audience is the aud the identity's tokens carry: the resource, "platform"
// for the platform admin login, else "service:org/service".
func (id Identity) Audience() string {
	switch {
	case id.Resource != "":
		return id.Resource
	case id.Org == "platform" && id.Service == "admin-cli":
		return "platform"
	}
	return "service:" + id.Org + "/" + id.Service
}

// HashName is a short, stable, file-name-safe digest of parts.
func HashName(parts ...string) string {
	sum := sha256.Sum256([]byte(strings.Join(parts, "\x00")))
	return hex.EncodeToString(sum[:16])
}

// String is "org/service at host", for the person.
func (id Identity) String() string {
	host := id.Server
	if u, err := url.Parse(id.Server); err == nil && u.Host != "" {
		host = u.Host
	}
	if id.Resource != "" {
		return fmt.Sprintf("%s/%s at %s for %s", id.Org, id.Service, host, id.Resource)
	}
	return fmt.Sprintf("%s/%s at %s", id.Org, id.Service, host)
}

// LoginCommand is the command that logs this identity in, for error messages.
func (id Identity) LoginCommand() string {
	if id.Profile != "" {
		return "authos-credential-helper login --profile " + id.Profile
	}
	return fmt.Sprintf("authos-credential-helper login --server %s --org %s --service %s --client-id %s", id.Server, id.Org, id.Service, id.ClientID)
}

// Selector is what the caller said about the identity: flags or environment.
type Selector struct {
	Profile, Server, Org, Service, ClientID string
}

func (s Selector) empty() bool { return s == Selector{} }

// SelectorFromEnv reads AUTHOS_PROFILE, AUTHOS_SERVER, AUTHOS_ORG,
// AUTHOS_SERVICE and AUTHOS_CLIENT_ID.
func SelectorFromEnv(getenv func(string) string) Selector {
	return Selector{
		Profile:  getenv("AUTHOS_PROFILE"),
		Server:   getenv("AUTHOS_SERVER"),
		Org:      getenv("AUTHOS_ORG"),
		Service:  getenv("AUTHOS_SERVICE"),
		ClientID: getenv("AUTHOS_CLIENT_ID"),
	}
}

// Resolve picks the identity, strongest source first: flags, then the
// environment, then the config's default_profile. Within a source a named
// profile is the base and explicit fields override it.
func Resolve(cfg *Config, flags, env Selector) (Identity, error) {
	sel, source := flags, "flags"
	if sel.empty() {
		sel, source = env, "environment"
	}
	if sel.empty() {
		if cfg.DefaultProfile == "" {
			return Identity{}, fmt.Errorf("no identity given: use --profile NAME, or --server, --org, --service and --client-id, or set default_profile in the config file")
		}
		sel, source = Selector{Profile: cfg.DefaultProfile}, "default_profile"
	}
	var id Identity
	if sel.Profile != "" {
		p, ok := cfg.Profiles[sel.Profile]
		if !ok {
			return Identity{}, fmt.Errorf("no profile %q in the config file (from %s)", sel.Profile, source)
		}
		id = FromProfile(sel.Profile, p)
	}
	explicit := sel.Server != "" || sel.Org != "" || sel.Service != "" || sel.ClientID != ""
	for _, f := range []struct {
		dst *string
		v   string
	}{{&id.Server, sel.Server}, {&id.Org, sel.Org}, {&id.Service, sel.Service}, {&id.ClientID, sel.ClientID}} {
		if f.v != "" {
			*f.dst = f.v
		}
	}
	if explicit {
		// No longer exactly the profile; messages spell out the fields,
		// and the profile's resource and token_env do not carry over to
		// another identity.
		id.Profile, id.Resource, id.TokenEnv = "", "", ""
	}
	var missing []string
	for _, f := range []struct{ name, v string }{{"server", id.Server}, {"org", id.Org}, {"service", id.Service}, {"client-id", id.ClientID}} {
		if f.v == "" {
			missing = append(missing, f.name)
		}
	}
	if len(missing) > 0 {
		return Identity{}, fmt.Errorf("identity from %s lacks %s", source, strings.Join(missing, ", "))
	}
	base, err := wire.CheckBaseURL(id.Server)
	if err != nil {
		return Identity{}, err
	}
	id.Server = base
	return id, nil
}

// FromProfile is the identity a profile describes, its server URL trimmed
// as Resolve trims it, so both name the same cache entry.
func FromProfile(name string, p Profile) Identity {
	return Identity{Profile: name, Server: wire.TrimBaseURL(p.Server), Org: p.Org, Service: p.Service, ClientID: p.ClientID, CABundle: p.CABundle,
		Resource: p.Resource, TokenEnv: p.TokenEnv}
}
