package helper

import (
	"fmt"
	"net/url"
	"slices"
	"strings"

	"github.com/authos/authos-credential-helper/protocol"
)

// Match is a profile chosen for a host-based request (git, docker, terraform).
type Match struct {
	Identity Identity
	Profile  Profile
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
func MatchHost(cfg *Config, flags Selector, getenv func(string) string, kind, target string, normalize func(string) string) (Match, bool, error) {
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
	best, bestRank, found := "", 0, false
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
			// The first profile (in name order) with the best rank wins.
			if r, ok := matchRank(kind, pat, target); ok && (!found || r > bestRank) {
				best, bestRank, found = name, r, true
			}
		}
	}
	if !found {
		return Match{}, false, nil
	}
	id, err := Resolve(cfg, Selector{Profile: best}, Selector{})
	if err != nil {
		return Match{}, false, err
	}
	return Match{Identity: id, Profile: cfg.Profiles[best]}, true, nil
}

// matchRank says whether pattern matches target and, among the patterns
// that do, how well: the higher rank wins. Docker and Terraform patterns
// match exactly, all equally well.
func matchRank(kind, pattern, target string) (int, bool) {
	if kind == "git" {
		return gitRank(pattern, target)
	}
	return 0, pattern != "" && equalFoldASCII(strings.TrimSpace(pattern), target)
}

// gitRank matches a URL prefix the way git scopes credential.<url>: same
// scheme and host, and the prefix's path a whole-segment prefix of the
// request's path; the longer prefix ranks higher. git drops the path unless
// credential.useHttpPath is set: a request without one matches on scheme
// and host, and the least path-specific prefix ranks highest. Hosts are
// compared as written (ASCII case-insensitively, no percent-decoding), so
// that a pattern names its host in the config text the way
// config.Mentions looks for it.
func gitRank(prefix, target string) (int, bool) {
	prefix = strings.TrimSpace(prefix)
	p, err1 := url.Parse(prefix)
	t, err2 := url.Parse(target)
	if err1 != nil || err2 != nil || p.Host == "" || !equalFoldASCII(p.Scheme, t.Scheme) || !equalFoldASCII(rawHost(prefix), rawHost(target)) {
		return 0, false
	}
	pp := segments(p.Path)
	tp := segments(t.Path)
	if len(tp) == 0 {
		return -len(pp), true
	}
	if len(pp) > len(tp) || !slices.Equal(pp, tp[:len(pp)]) {
		return 0, false
	}
	return len(pp), true
}

// rawHost is the host[:port] of an absolute URL as written.
func rawHost(u string) string {
	_, rest, _ := strings.Cut(u, "://")
	if i := strings.IndexAny(rest, "/?#"); i >= 0 {
		rest = rest[:i]
	}
	if i := strings.LastIndexByte(rest, '@'); i >= 0 {
		rest = rest[i+1:]
	}
	return rest
}

// equalFoldASCII is strings.EqualFold for A-Z only: host names fold ASCII
// case and nothing else (see protocol.LowerASCII).
func equalFoldASCII(a, b string) bool {
	return protocol.LowerASCII(a) == protocol.LowerASCII(b)
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
