package doctor

import (
	"fmt"
	"strings"
	"time"

	"github.com/authos/authos-credential-helper/helper"
)

// CacheInfo is the token cache's state.
type CacheInfo struct {
	Backend    string // the backend in use ("" when none opened)
	BackendErr error  // why none could be opened (its text names the fix)
	// KernelCacheTTL is how long the data key's kernel keyring copy is
	// kept (0: off; Linux only).
	KernelCacheTTL time.Duration
	Linux          bool
	// KernelCopy says whether that copy is there now; nil: not known
	// (cache exposes no probe for it yet).
	KernelCopy *bool
	DBus       string // DBUS_SESSION_BUS_ADDRESS, "" unset
	// Unreadable names the records that can no longer be read, with why.
	Unreadable []string
	StatusErr  error // listing the records failed
}

// CacheChecks reports the backend, whether it survives a reboot, the
// Secret Service's bus, the kernel keyring copy and unreadable records.
func CacheChecks(c CacheInfo) []Check {
	var out []Check
	switch {
	case c.BackendErr != nil:
		out = append(out, Check{Area: "cache", Status: Fail, Summary: "no usable keyring: " + c.BackendErr.Error(),
			Fix: "start a Secret Service (gnome-keyring-daemon), or set AUTHOS_CACHE_BACKEND=file and AUTHOS_CACHE_PASSPHRASE"})
	case c.Backend == "keyctl":
		out = append(out, Check{Area: "cache", Status: Warn,
			Summary: "backend keyctl (the kernel keyring): usable, but a reboot or the end of the session loses the cache key, and every identity signs in again",
			Fix:     "start a Secret Service for a cache that survives reboots, or set AUTHOS_CACHE_BACKEND=file and AUTHOS_CACHE_PASSPHRASE"})
	case c.Backend == "file":
		out = append(out, Check{Area: "cache", Status: OK, Summary: "backend file (encrypted files under a passphrase): usable and persistent"})
	default:
		out = append(out, Check{Area: "cache", Status: OK, Summary: fmt.Sprintf("backend %s: usable and persistent", c.Backend)})
	}
	if c.Linux {
		switch {
		case c.DBus == "" && c.Backend != "secret-service":
			out = append(out, Check{Area: "cache", Status: Info, Summary: "no D-Bus session bus (DBUS_SESSION_BUS_ADDRESS unset), so no Secret Service"})
		case c.DBus == "":
			out = append(out, Check{Area: "cache", Status: Warn, Summary: "DBUS_SESSION_BUS_ADDRESS is unset in this shell; clients started elsewhere may reach no Secret Service"})
		case c.Backend == "secret-service":
			out = append(out, Check{Area: "cache", Status: OK, Summary: "Secret Service answers on the session bus"})
		default:
			out = append(out, Check{Area: "cache", Status: Info, Summary: fmt.Sprintf("a D-Bus session bus is set, but the cache uses %s", dash(c.Backend))})
		}
		switch {
		case c.Backend == "keyctl":
		case c.KernelCacheTTL <= 0:
			out = append(out, Check{Area: "cache", Status: Info, Summary: "kernel keyring copy of the cache key: off (kernel_cache = \"0s\"); every hit opens the backend"})
		default:
			state := ""
			if c.KernelCopy != nil {
				state = map[bool]string{true: "; present now", false: "; absent now (the next hit reads the backend)"}[*c.KernelCopy]
			}
			out = append(out, Check{Area: "cache", Status: OK, Summary: fmt.Sprintf("kernel keyring copy of the cache key: kept %s after each backend read%s", c.KernelCacheTTL, state)})
		}
	}
	if c.StatusErr != nil {
		out = append(out, Check{Area: "cache", Status: Fail, Summary: "listing the cache: " + c.StatusErr.Error()})
	}
	for _, u := range c.Unreadable {
		out = append(out, Check{Area: "cache", Status: Fail, Summary: "unreadable record " + u,
			Fix: "authos-credential-helper logout --unreadable (sign in again afterwards where it was a token)"})
	}
	return out
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// Terminal is what a prompt can reach from here.
type Terminal struct {
	StderrTTY bool // stderr is a terminal (git, docker and kubectl show the prompt there)
	TTYOpens  bool // /dev/tty (CONOUT$) opens (Terraform's prompt goes there)
}

// TerminalChecks says, per client, whether a sign-in prompt can be shown.
func TerminalChecks(t Terminal, getenv func(string) string) []Check {
	var why []string
	if v := getenv("AUTHOS_NONINTERACTIVE"); v == "1" || strings.EqualFold(v, "true") {
		why = append(why, "AUTHOS_NONINTERACTIVE="+v)
	}
	ci := strings.EqualFold(getenv("CI"), "true") && !t.StderrTTY && !t.TTYOpens
	if ci {
		why = append(why, "CI=true with no terminal")
	}
	login := "sign in first: authos-credential-helper login --profile NAME (in CI, for Terraform: TF_TOKEN_<host>=$(authos-credential-helper token --profile NAME))"
	if len(why) > 0 {
		return []Check{{Area: "terminal", Status: Warn, Summary: "no client can show a sign-in prompt (" + strings.Join(why, ", ") + "): a miss fails at once", Fix: login}}
	}
	gitOff := getenv("GIT_TERMINAL_PROMPT") == "0"
	if !t.StderrTTY && !t.TTYOpens {
		return []Check{{Area: "terminal", Status: Warn,
			Summary: "no terminal here (stderr is not one, /dev/tty does not open): git, docker, kubectl and terraform cannot show a sign-in prompt, so a miss fails at once", Fix: login}}
	}
	var out []Check
	stderrOK := func(client string) Check {
		if t.StderrTTY {
			return Check{Area: "terminal", Status: OK, Summary: client + ": the prompt shows on its stderr, a terminal here"}
		}
		return Check{Area: "terminal", Status: Warn, Summary: client + ": stderr is not a terminal here, so a prompt may go unseen", Fix: login}
	}
	if gitOff {
		out = append(out, Check{Area: "terminal", Status: Warn, Summary: "git: GIT_TERMINAL_PROMPT=0, so a miss fails at once instead of prompting", Fix: login})
	} else {
		out = append(out, stderrOK("git"))
	}
	out = append(out, stderrOK("docker, kubectl"))
	if t.TTYOpens {
		out = append(out, Check{Area: "terminal", Status: OK, Summary: "terraform: the prompt shows on the terminal (/dev/tty), as Terraform hides the helper's stderr"})
	} else {
		out = append(out, Check{Area: "terminal", Status: Warn, Summary: "terraform: no terminal (/dev/tty) to show the prompt on; a miss fails with only 401 in Terraform's output", Fix: login})
	}
	return out
}

// TokenInfo is one profile's cached token and what is known about it.
type TokenInfo struct {
	Entry *helper.EntryStatus // nil: none cached
	Err   error               // reading the cache failed

	// Hooks, filled by work that lands separately; zero: not known.
	//
	// Revoked is `status --check`'s answer (issue 11 §2): true when
	// AuthOS says the session is dead; nil when not asked.
	Revoked *bool
	// LastMiss is the last non-interactive miss recorded for the
	// profile (issue 11 §3); nil: none.
	LastMiss *Miss
	// Verified is the local JWKS verification's result text (issue 12
	// §2): "verified", "signature unknown after key rotation", …; "" when
	// not checked. VerifiedOK says whether it passed.
	Verified   string
	VerifiedOK bool
	// Env is a token the environment hands over (AUTHOS_TOKEN or the
	// profile's token_env), served instead of the cache; nil: none.
	Env *EnvToken
}

// EnvToken is where an environment token came from and until when it is
// served; Err says why it is not used.
type EnvToken struct {
	Variable  string
	ExpiresAt time.Time
	Err       error
}

// Miss is a request that found no token and nobody to prompt.
type Miss struct {
	Client, Host string
	At           time.Time
}

// expiringWithin is when a token counts as about to expire.
const expiringWithin = 10 * time.Minute

// TokenChecks reports the cached token: valid, expiring, expired,
// unreadable, revoked, and the last miss with no terminal.
func TokenChecks(name string, t TokenInfo, now time.Time) []Check {
	login := "authos-credential-helper login --profile " + name
	var out []Check
	if v := t.Env; v != nil {
		fix := "put a fresh token in " + v.Variable + ", or unset it to use the cache"
		switch {
		case v.Err != nil:
			out = append(out, Check{Area: "token", Status: Fail, Summary: "$" + v.Variable + " is set but not used: " + v.Err.Error(), Fix: fix})
		case !now.Before(v.ExpiresAt):
			out = append(out, Check{Area: "token", Status: Fail, Summary: fmt.Sprintf("$%s holds a token that expired %s; it is served as given, never replaced by a sign-in", v.Variable, at(v.ExpiresAt)), Fix: fix})
		default:
			out = append(out, Check{Area: "token", Status: OK, Summary: fmt.Sprintf("served from $%s (the environment; not cached, no sign-in), expires %s", v.Variable, at(v.ExpiresAt))})
		}
	}
	switch e := t.Entry; {
	case t.Err != nil:
		out = append(out, Check{Area: "token", Status: Fail, Summary: "reading the cache: " + t.Err.Error()})
	case e == nil:
		out = append(out, Check{Area: "token", Status: Warn, Summary: "no token cached: the first client to ask signs in", Fix: login})
	case e.Unreadable != nil:
		out = append(out, Check{Area: "token", Status: Fail, Summary: "the cached token cannot be read: " + e.Unreadable.Error(), Fix: login + " (replaces it)"})
	case t.Revoked != nil && *t.Revoked:
		out = append(out, Check{Area: "token", Status: Fail, Summary: fmt.Sprintf("the session of %s was ended at the server (revoked); the cached token is refused", entryWho(*e)), Fix: login})
	case !e.Valid && now.Before(e.ExpiresAt):
		out = append(out, Check{Area: "token", Status: Warn, Summary: fmt.Sprintf("the token of %s is inside the expiry margin (expires %s): the next use signs in again", entryWho(*e), at(e.ExpiresAt)), Fix: login})
	case !e.Valid:
		out = append(out, Check{Area: "token", Status: Warn, Summary: fmt.Sprintf("the token of %s expired %s: the next use signs in again", entryWho(*e), at(e.ExpiresAt)), Fix: login})
	case e.ServedUntil.Sub(now) < expiringWithin:
		out = append(out, Check{Area: "token", Status: Warn, Summary: fmt.Sprintf("the token of %s is served until %s, in under %s", entryWho(*e), at(e.ServedUntil), expiringWithin), Fix: login})
	default:
		rev := ""
		if t.Revoked != nil {
			rev = "; the server says the session is alive"
		}
		out = append(out, Check{Area: "token", Status: OK, Summary: fmt.Sprintf("valid token for %s, served until %s%s", entryWho(*e), at(e.ServedUntil), rev)})
	}
	if t.Verified != "" {
		st := OK
		if !t.VerifiedOK {
			st = Fail
		}
		out = append(out, Check{Area: "token", Status: st, Summary: "verified locally against the server's keys: " + t.Verified, Fix: map[bool]string{true: "", false: login}[st == Fail]})
	}
	// A miss counts until a token obtained after it is cached.
	if m := t.LastMiss; m != nil && (t.Entry == nil || !t.Entry.Valid || t.Entry.ObtainedAt.Before(m.At)) {
		out = append(out, Check{Area: "token", Status: Fail,
			Summary: fmt.Sprintf("sign-in needed: %s asked for %s at %s with no terminal", m.Client, m.Host, m.At.Local().Format("15:04")),
			Fix:     login})
	}
	return out
}

func at(t time.Time) string { return t.Local().Format("2006-01-02 15:04") }
