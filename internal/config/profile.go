package config

import (
	"fmt"
	"net/url"
	"strings"
)

// checkProfiles validates the fields whose mistakes would otherwise show
// up only at the server, or never: resource and token_env.
func (c *Config) checkProfiles() error {
	for _, name := range c.ProfileNames() {
		p := c.Profiles[name]
		if p.Resource != "" {
			if err := CheckResource(p.Resource); err != nil {
				return fmt.Errorf("profiles.%s: resource: %w", name, err)
			}
		}
		if p.TokenEnv != "" && !validEnvName(p.TokenEnv) {
			return fmt.Errorf("profiles.%s: token_env %q is not an environment variable name (letters, digits and _, not starting with a digit)", name, p.TokenEnv)
		}
	}
	return nil
}

// CheckResource accepts one absolute https URI without credentials or
// fragment, written exactly (AuthOS compares resource URIs as strings, so
// surrounding space or a second URI would only fail at the server).
func CheckResource(r string) error {
	if strings.TrimSpace(r) != r || strings.ContainsAny(r, " \t\r\n") {
		return fmt.Errorf("%q must be one URI without spaces", r)
	}
	u, err := url.Parse(r)
	if err != nil {
		return fmt.Errorf("%q is not a URI: %v", r, err)
	}
	switch {
	case u.Scheme != "https":
		return fmt.Errorf("%q must be an absolute https:// URI", r)
	case u.Host == "":
		return fmt.Errorf("%q has no host", r)
	case u.User != nil:
		return fmt.Errorf("%q must not carry credentials", r)
	case u.Fragment != "" || strings.Contains(r, "#"):
		return fmt.Errorf("%q must not have a fragment", r)
	}
	return nil
}

// validEnvName is a portable environment variable name.
func validEnvName(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '_', c >= 'A' && c <= 'Z', c >= 'a' && c <= 'z':
		case c >= '0' && c <= '9' && i > 0:
		default:
			return false
		}
	}
	return s != ""
}
