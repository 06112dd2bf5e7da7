package helper

import (
	"fmt"
	"net/url"
	"slices"
	"strings"

	"github.com/authos/authos-credential-helper/config"
)

// Match is a profile chosen for a host-based request (git, docker, terraform).
type Match struct {
	Identity Identity
	Profile  config.Profile
}

// Username is what protocols that need a username send with the token.
func (m Match) Username() string {
	if m.Profile.Username != "" {
		return m.Profile.Username
	}
	return "oauth2"
}

// MatchHost picks the profile that serves a git URL, docker registry or
// terraform host: only a profile whose patterns name the target can answer,
// so a token is never handed to a host nobody configured. Clients such as
// Terraform send every host they meet to the helper, whatever arguments its
// configuration gives it; --profile (flags.Profile) and AUTHOS_PROFILE only
// narrow the search to that profile. normalize puts patterns in the form the
// protocol gives targets (Docker Hub aliases, Terraform's default port); nil
// compares them as written.
func MatchHost(cfg *config.Config, flags Selector, getenv func(string) string, kind, target string, normalize func(string) string) (Match, bool, error) {
	if flags.Server != "" || flags.Org != "" || flags.Service != "" || flags.ClientID != "" {
		return Match{}, false, fmt.Errorf("%s: --server, --org, --service and --client-id do not apply here: name a profile whose %s patterns list the host (--profile)", kind, kind)
	}
	only := flags.Profile
	if only == "" {
		only = getenv("AUTHOS_PROFILE")
	}
	if only != "" {
		if _, ok := cfg.Profiles[only]; !ok {
			return Match{}, false, fmt.Errorf("no profile %q in the config file", only)
		}
	}
	best, bestLen := "", -1
	for _, name := range cfg.ProfileNames() {
		if only != "" && name != only {
			continue
		}
		p := cfg.Profiles[name]
		var patterns []string
		switch kind {
		case "git":
			patterns = p.Git
		case "docker":
			patterns = p.Docker
		case "terraform":
			patterns = p.Terraform
		}
		for _, pat := range patterns {
			if normalize != nil {
				pat = normalize(strings.TrimSpace(pat))
			}
			if n := matchLen(kind, pat, target); n > bestLen {
				best, bestLen = name, n
			}
		}
	}
	if bestLen < 0 {
		return Match{}, false, nil
	}
	id, err := Resolve(cfg, Selector{Profile: best}, Selector{})
	if err != nil {
		return Match{}, false, err
	}
	return Match{Identity: id, Profile: cfg.Profiles[best]}, true, nil
}

// matchLen says how specifically pattern matches target (-1: not at all).
func matchLen(kind, pattern, target string) int {
	if kind == "git" {
		return gitPrefixLen(pattern, target)
	}
	if pattern != "" && strings.EqualFold(strings.TrimSpace(pattern), target) {
		return len(pattern)
	}
	return -1
}

// gitPrefixLen matches a URL prefix the way git scopes credential.<url>:
// same scheme and host, and the prefix's path a whole-segment prefix of the
// request's path; the longer prefix is the better match. git drops the path
// unless credential.useHttpPath is set: a request without one matches on
// scheme and host, preferring the least path-specific prefix.
func gitPrefixLen(prefix, target string) int {
	p, err1 := url.Parse(strings.TrimSpace(prefix))
	t, err2 := url.Parse(target)
	if err1 != nil || err2 != nil || p.Host == "" || !strings.EqualFold(p.Scheme, t.Scheme) || !strings.EqualFold(p.Host, t.Host) {
		return -1
	}
	pp := segments(p.Path)
	tp := segments(t.Path)
	if len(tp) == 0 {
		return 1000 - len(pp)
	}
	if len(pp) > len(tp) || !slices.Equal(pp, tp[:len(pp)]) {
		return -1
	}
	return len(pp)
}

func segments(path string) []string {
	var out []string
	for _, s := range strings.Split(path, "/") {
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}
