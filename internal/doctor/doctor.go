// Package doctor explains why a client gets no token: one check per thing
// that can stand between a client and the helper (its configuration, what
// comes before the helper, the binaries, the cache, the terminal, the
// server, the token), each with the command or setting that fixes it.
//
// Each check is a small function over data gathered by the caller through
// the interfaces below, so the rules are tested without a machine's real
// files, keyring or network. Nothing here prints a token, and the only
// requests go to each profile's own server.
package doctor

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/authos/authos-credential-helper/helper"
	"github.com/authos/authos-credential-helper/internal/config"
	"github.com/authos/authos-credential-helper/internal/redact"
	"github.com/authos/authos-credential-helper/internal/termsafe"
)

// Status is a check's outcome.
type Status string

const (
	OK   Status = "ok"
	Warn Status = "warn" // works, but something deserves attention
	Fail Status = "fail" // a client gets no token (or a wrong one) until fixed
	Info Status = "info" // not checked or not in use, and why
)

var marks = map[Status]string{OK: "✓", Warn: "!", Fail: "✗", Info: "-"}

// Check is one line of the report.
type Check struct {
	Section string `json:"section"`           // "profile acme", "cache", "terminal", "server https://…"
	Profile string `json:"profile,omitempty"` // the profile it concerns
	Area    string `json:"area"`              // git, docker, kube, terraform, cache, terminal, server, token, config
	Status  Status `json:"status"`
	Summary string `json:"summary"`
	Fix     string `json:"fix,omitempty"` // the command or setting that fixes it
}

// Report is every check, in order.
type Report struct {
	OK     bool    `json:"ok"` // no check failed
	Checks []Check `json:"checks"`
}

// Broken counts the failed checks.
func (r Report) Broken() int {
	n := 0
	for _, c := range r.Checks {
		if c.Status == Fail {
			n++
		}
	}
	return n
}

// Sources are where the checks get their data.
type Sources struct {
	Env    Env
	Cache  CacheSource  // nil: no cache checks
	Tokens TokenSource  // nil: no token checks
	Server ServerProber // nil: no server checks
	TTY    Terminal
}

// CacheSource reports the token cache.
type CacheSource interface {
	Cache() CacheInfo
}

// TokenSource reports one profile's cached token.
type TokenSource interface {
	Token(ctx context.Context, profile string) TokenInfo
}

// ServerProber asks one profile's server what doctor needs.
type ServerProber interface {
	Probe(ctx context.Context, p config.Profile) ServerInfo
}

// Doctor runs the checks.
type Doctor struct {
	Config  *config.Config
	Profile string // only this profile; "" all
	Sources
}

// Run makes every check.
func (d *Doctor) Run(ctx context.Context) Report {
	var checks []Check
	names := d.Config.ProfileNames()
	if d.Profile != "" {
		names = []string{d.Profile}
	}
	if len(names) == 0 {
		checks = append(checks, Check{Section: "config", Area: "config", Status: Fail,
			Summary: "no profiles in config.toml, so no host is served",
			Fix:     "add a [profiles.NAME] section with server, org, service, client_id and the hosts (see README)"})
	}
	servers := map[string]config.Profile{}
	var serverOrder []string
	for _, name := range names {
		p, ok := d.Config.Profiles[name]
		if !ok {
			checks = append(checks, Check{Section: "config", Area: "config", Status: Fail,
				Summary: fmt.Sprintf("no profile %q in config.toml (have: %s)", name, strings.Join(d.Config.ProfileNames(), ", "))})
			continue
		}
		sec := "profile " + name
		var cs []Check
		cs = append(cs, d.gitChecks(ctx, name, p)...)
		cs = append(cs, d.dockerChecks(name, p)...)
		cs = append(cs, d.kubeChecks(name)...)
		cs = append(cs, d.terraformChecks(name, p)...)
		if d.Tokens != nil {
			cs = append(cs, TokenChecks(name, d.Tokens.Token(ctx, name), d.Env.now())...)
		}
		for i := range cs {
			cs[i].Section, cs[i].Profile = sec, name
		}
		checks = append(checks, cs...)
		key := p.Server + "\x00" + p.CABundle
		if _, ok := servers[key]; !ok {
			servers[key] = p
			serverOrder = append(serverOrder, key)
		}
	}
	if d.Cache != nil {
		checks = append(checks, inSection("cache", CacheChecks(d.Cache.Cache()))...)
	}
	checks = append(checks, inSection("install", d.installChecks())...)
	checks = append(checks, inSection("terminal", TerminalChecks(d.TTY, d.Env.Getenv))...)
	if d.Server != nil {
		for _, key := range serverOrder {
			p := servers[key]
			info := d.Server.Probe(ctx, p)
			checks = append(checks, inSection("server "+p.Server, ServerChecks(info, d.Env.Getenv, d.Env.now()))...)
		}
	}
	return Report{OK: !slices.ContainsFunc(checks, func(c Check) bool { return c.Status == Fail }), Checks: checks}
}

func inSection(sec string, cs []Check) []Check {
	for i := range cs {
		cs[i].Section = sec
	}
	return cs
}

// clean makes text from files, the environment or a server safe to show:
// no escapes, no token.
func clean(s string) string {
	return redact.String(strings.Join(strings.Fields(termsafe.Strip(s)), " "))
}

// WriteText prints the report: a heading per section, one line per check
// with ✓, !, ✗ or -, and a fix line under each that has one.
func WriteText(w io.Writer, r Report) {
	sec := ""
	for _, c := range r.Checks {
		if c.Section != sec {
			if sec != "" {
				fmt.Fprintln(w)
			}
			sec = c.Section
			fmt.Fprintln(w, clean(sec))
		}
		fmt.Fprintf(w, "  %s %s: %s\n", marks[c.Status], c.Area, clean(c.Summary))
		if c.Fix != "" && c.Status != OK {
			fmt.Fprintf(w, "      fix: %s\n", clean(c.Fix))
		}
	}
	fmt.Fprintln(w)
	switch n := r.Broken(); n {
	case 0:
		fmt.Fprintln(w, "no problems found")
	case 1:
		fmt.Fprintln(w, "1 problem found")
	default:
		fmt.Fprintf(w, "%d problems found\n", n)
	}
}

// WriteJSON prints the report as JSON, cleaned like the text.
func WriteJSON(w io.Writer, r Report) error {
	out := Report{OK: r.OK, Checks: make([]Check, len(r.Checks))}
	for i, c := range r.Checks {
		c.Section, c.Summary, c.Fix = clean(c.Section), clean(c.Summary), clean(c.Fix)
		out.Checks[i] = c
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

// entryWho names a token entry's user: the email, else the subject.
func entryWho(e helper.EntryStatus) string {
	if e.Email != "" {
		return e.Email
	}
	return e.Subject
}
