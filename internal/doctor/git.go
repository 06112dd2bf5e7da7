package doctor

import (
	"context"
	"fmt"
	"net/url"
	"strings"

	"github.com/authos/authos-credential-helper/internal/config"
	"github.com/authos/authos-credential-helper/internal/setup"
)

// GitEntry is one credential helper setting as `git config --show-origin
// --get-regexp` lists it, in the order git reads them.
type GitEntry struct {
	Origin string // "file:/home/me/.gitconfig"
	Key    string // credential.helper or credential.<url>.helper
	Value  string // "" resets the list
}

// ParseGitEntries reads `git config --show-origin -z --get-regexp` output.
func ParseGitEntries(out string) []GitEntry {
	var es []GitEntry
	parts := strings.Split(out, "\x00")
	for i := 0; i+1 < len(parts); i += 2 {
		key, val, _ := strings.Cut(parts[i+1], "\n")
		es = append(es, GitEntry{Origin: parts[i], Key: key, Value: val})
	}
	return es
}

// scope is the URL of a credential.<url>.NAME key ("" for credential.NAME),
// and name NAME (git lists it in lower case).
func (e GitEntry) scope() (scope, name string) {
	s := strings.TrimPrefix(e.Key, "credential.")
	if i := strings.LastIndexByte(s, '.'); i >= 0 {
		return s[:i], s[i+1:]
	}
	return "", s
}

func (e GitEntry) matches(target string) bool {
	s, _ := e.scope()
	return s == "" || urlMatch(s, target)
}

// GitUseHTTPPath is the useHttpPath git applies for target: the last
// matching setting.
func GitUseHTTPPath(entries []GitEntry, target string) bool {
	on := false
	for _, e := range entries {
		if _, n := e.scope(); n == "usehttppath" && e.matches(target) {
			switch strings.ToLower(strings.TrimSpace(e.Value)) {
			case "true", "yes", "on", "1":
				on = true
			default:
				on = false
			}
		}
	}
	return on
}

// GitChain is the list of helpers git asks for target, in order: every
// matching entry in config order, an empty value clearing what came before.
func GitChain(entries []GitEntry, target string) []GitEntry {
	var chain []GitEntry
	for _, e := range entries {
		if _, n := e.scope(); n != "helper" || !e.matches(target) {
			continue
		}
		if e.Value == "" {
			chain = nil
			continue
		}
		chain = append(chain, e)
	}
	return chain
}

// urlMatch is git's rule for credential.<pattern>: same scheme, host (a "*"
// matches one label), port and user (when the pattern names one), and the
// pattern's path a prefix of the target's at a "/".
func urlMatch(pattern, target string) bool {
	p, err1 := url.Parse(pattern)
	t, err2 := url.Parse(target)
	if err1 != nil || err2 != nil || p.Scheme == "" || p.Host == "" {
		return false
	}
	if !strings.EqualFold(p.Scheme, t.Scheme) || port(p) != port(t) {
		return false
	}
	ph, th := strings.Split(strings.ToLower(p.Hostname()), "."), strings.Split(strings.ToLower(t.Hostname()), ".")
	if len(ph) != len(th) {
		return false
	}
	for i := range ph {
		if ph[i] != "*" && ph[i] != th[i] {
			return false
		}
	}
	if p.User != nil && (t.User == nil || p.User.Username() != t.User.Username()) {
		return false
	}
	pp, tp := strings.TrimSuffix(p.Path, "/"), strings.TrimSuffix(t.Path, "/")
	return pp == "" || pp == tp || strings.HasPrefix(tp, pp+"/")
}

func port(u *url.URL) string {
	if p := u.Port(); p != "" {
		return p
	}
	switch strings.ToLower(u.Scheme) {
	case "https":
		return "443"
	case "http":
		return "80"
	}
	return ""
}

// storing names helpers known to keep what git hands them.
var storing = map[string]string{
	"store": "in plain text in ~/.git-credentials", "cache": "in memory", "osxkeychain": "in the macOS keychain",
	"manager": "in Git Credential Manager", "manager-core": "in Git Credential Manager", "wincred": "in Windows Credential Manager",
	"libsecret": "in the Secret Service", "gnome-keyring": "in the GNOME keyring",
}

// helperName is what a helper value is shown as: its first word; a shell
// command ("!…") may hold a secret, so it is never shown.
func helperName(v string) string {
	if strings.HasPrefix(strings.TrimSpace(v), "!") {
		return "a shell command"
	}
	f := strings.Fields(v)
	if len(f) == 0 {
		return v
	}
	return f[0]
}

// GitChecks checks each of a profile's git URL prefixes against the helper
// chain git would use for it.
func GitChecks(name string, p config.Profile, entries []GitEntry, isDefault bool, pretty func(string) string) []Check {
	var out []Check
	for _, u := range p.Git {
		u = strings.TrimSpace(u)
		if u == "" {
			continue
		}
		chain := GitChain(entries, u)
		at := -1
		for i, e := range chain {
			if prof, ours := setup.GitHelperProfile(e.Value); ours {
				at = i
				if prof != "" && prof != name || prof == "" && !isDefault {
					other := prof
					if other == "" {
						other = "the default profile"
					}
					out = append(out, Check{Area: "git", Status: Fail,
						Summary: fmt.Sprintf("%s: git runs the helper for %s, not for this profile (%s in %s)", u, other, e.Key, origin(e, pretty)),
						Fix:     fmt.Sprintf("authos-credential-helper setup git --profile %s --force", name)})
					at = -2
				}
				break
			}
		}
		switch {
		case at == -2:
			continue
		case at < 0:
			out = append(out, Check{Area: "git", Status: Fail,
				Summary: fmt.Sprintf("%s: git does not ask the helper (no credential helper authos for it)", u),
				Fix:     fmt.Sprintf("authos-credential-helper setup git --profile %s", name)})
			continue
		}
		bad := false
		for _, e := range chain[:at] {
			bad = true
			h := helperName(e.Value)
			out = append(out, Check{Area: "git", Status: Fail,
				Summary: fmt.Sprintf("%s: git asks helper %q (%s in %s) before authos, and uses what it has stored", u, h, e.Key, origin(e, pretty)),
				Fix:     gitUnsetFix(e)})
		}
		for _, e := range chain[at+1:] {
			h := helperName(e.Value)
			where := storing[h]
			if where == "" {
				where = "wherever it keeps them"
			}
			out = append(out, Check{Area: "git", Status: Warn,
				Summary: fmt.Sprintf("%s: git hands every token from authos to helper %q too (%s in %s), which keeps it %s", u, h, e.Key, origin(e, pretty), where),
				Fix:     gitUnsetFix(e)})
		}
		if !bad {
			out = append(out, Check{Area: "git", Status: OK, Summary: fmt.Sprintf("%s: git asks authos first (%s)", u, chain[at].Key)})
		}
		if hasPath(u) && !GitUseHTTPPath(entries, u) {
			out = append(out, Check{Area: "git", Status: Fail,
				Summary: fmt.Sprintf("%s: git passes the helper no path (useHttpPath is off), so the helper cannot tell this prefix from the rest of the host", u),
				Fix:     fmt.Sprintf("git config --global %s true", shellWord("credential."+u+".useHttpPath"))})
		}
	}
	return out
}

// hasPath says whether a prefix has a path beyond "/".
func hasPath(prefix string) bool {
	u, err := url.Parse(prefix)
	return err == nil && strings.Trim(u.Path, "/") != ""
}

func origin(e GitEntry, pretty func(string) string) string {
	o := strings.TrimPrefix(e.Origin, "file:")
	if pretty != nil {
		o = pretty(o)
	}
	return o
}

func gitUnsetFix(e GitEntry) string {
	if strings.HasPrefix(strings.TrimSpace(e.Value), "!") {
		return fmt.Sprintf("remove the shell-command %s from %s", e.Key, strings.TrimPrefix(e.Origin, "file:"))
	}
	if f, ok := strings.CutPrefix(e.Origin, "file:"); ok {
		return fmt.Sprintf("git config --file %s --unset %s '^%s$'", shellWord(f), shellWord(e.Key), regexpQuote(e.Value))
	}
	return fmt.Sprintf("remove %s = %s from %s", e.Key, e.Value, e.Origin)
}

func shellWord(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("/._-:@+=,", r))
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

func regexpQuote(s string) string {
	var b strings.Builder
	for _, r := range s {
		if strings.ContainsRune(`\.+*?()|[]{}^$`, r) {
			b.WriteByte('\\')
		}
		if r == '\'' {
			b.WriteString(`'\''`)
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

func (d *Doctor) gitChecks(ctx context.Context, name string, p config.Profile) []Check {
	if len(nonEmpty(p.Git)) == 0 {
		return nil
	}
	if d.Env.Git == nil {
		return []Check{{Area: "git", Status: Info, Summary: "git is not installed; not checked"}}
	}
	out, err := d.Env.Git(ctx, "config", "--show-origin", "-z", "--get-regexp", `^credential\..*(helper|usehttppath)$`)
	if err != nil {
		return []Check{{Area: "git", Status: Fail, Summary: "reading git's configuration: " + err.Error()}}
	}
	cs := GitChecks(name, p, ParseGitEntries(out), name == d.Config.DefaultProfile, d.Env.pretty)
	return append(cs, binaryCheck(d.Env, "git", "git-credential-authos", "git runs `git credential-authos`"))
}

// binaryCheck checks that a client finds the helper under the name it
// looks for.
func binaryCheck(e Env, area, name, why string) Check {
	if e.LookPath == nil {
		return Check{Area: area, Status: Info, Summary: name + ": PATH not checked"}
	}
	p, err := e.LookPath(name)
	if err != nil {
		return Check{Area: area, Status: Fail,
			Summary: fmt.Sprintf("%s is not on PATH (%s)", name, why),
			Fix:     fmt.Sprintf("run ./install.sh, or link %s to authos-credential-helper in a folder on PATH: ln -s \"$(command -v authos-credential-helper)\" ~/.local/bin/%s", name, name)}
	}
	return Check{Area: area, Status: OK, Summary: fmt.Sprintf("%s is on PATH (%s)", name, e.pretty(p))}
}

func nonEmpty(in []string) []string {
	var out []string
	for _, s := range in {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}
