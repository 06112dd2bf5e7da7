package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/authos/authos-credential-helper/cache"
	"github.com/authos/authos-credential-helper/helper"
	"github.com/authos/authos-credential-helper/internal/redact"
)

// statusRow is one cached identity as status shows it; never the token.
type statusRow struct {
	Profile    string     `json:"profile,omitempty"`
	Server     string     `json:"server,omitempty"`
	Org        string     `json:"org,omitempty"`
	Service    string     `json:"service,omitempty"`
	ClientID   string     `json:"client_id,omitempty"`
	Subject    string     `json:"subject,omitempty"`
	Email      string     `json:"email,omitempty"`
	ExpiresAt  *time.Time `json:"expires_at,omitempty"`
	ObtainedAt *time.Time `json:"obtained_at,omitempty"`
	Valid      bool       `json:"valid"`
	Problem    string     `json:"problem,omitempty"`
}

type statusReport struct {
	Backend    string      `json:"backend"`
	Identities []statusRow `json:"identities"`
}

func runStatus(env Env, args []string) error {
	fs := newFlagSet(env, "status")
	asJSON := fs.Bool("json", false, "print JSON")
	if err := parse(fs, args); err != nil {
		return err
	}
	a, err := newApp(env)
	if err != nil {
		return err
	}
	rep := statusReport{Identities: []statusRow{}}
	names, err := a.store.Names(helper.EntryPrefix)
	if err != nil {
		return err
	}
	profiles := map[string]string{}
	for _, n := range a.cfg.ProfileNames() {
		profiles[helper.FromProfile(n, a.cfg.Profiles[n]).Key()] = n
	}
	now := time.Now()
	for _, name := range names {
		e, err := a.store.Get(name)
		row := statusRow{Profile: profiles[name]}
		switch {
		case errors.Is(err, cache.ErrCorrupt):
			row.Problem = "unreadable entry; the next login replaces it"
		case err != nil:
			return err
		default:
			exp, got := e.ExpiresAt, e.ObtainedAt
			row.Server, row.Org, row.Service, row.ClientID = e.Server, e.Org, e.Service, e.ClientID
			row.Subject, row.Email, row.ExpiresAt, row.ObtainedAt = e.Subject, e.Email, &exp, &got
			_, row.Valid, _ = a.h.Cached(helper.Identity{Server: e.Server, Org: e.Org, Service: e.Service, ClientID: e.ClientID})
		}
		rep.Identities = append(rep.Identities, row)
	}
	if len(names) > 0 {
		rep.Backend, _ = a.keys.Backend()
	}
	if *asJSON {
		enc := json.NewEncoder(env.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	if len(rep.Identities) == 0 {
		fmt.Fprintln(env.Stdout, "no cached identities")
		return nil
	}
	tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "PROFILE\tSERVER\tORG/SERVICE\tCLIENT ID\tUSER\tEXPIRES")
	for _, r := range rep.Identities {
		if r.Problem != "" {
			fmt.Fprintf(tw, "%s\t-\t-\t-\t-\t%s\n", dash(r.Profile), r.Problem)
			continue
		}
		user := r.Email
		if user == "" {
			user = r.Subject
		}
		when := r.ExpiresAt.Local().Format("2006-01-02 15:04") + " (" + untilText(*r.ExpiresAt, now) + ")"
		if !r.Valid && r.ExpiresAt.After(now) {
			when += ", renewing at next use"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s/%s\t%s\t%s\t%s\n", dash(r.Profile), r.Server, r.Org, r.Service, r.ClientID, dash(user), when)
	}
	tw.Flush()
	fmt.Fprintf(env.Stdout, "cache backend: %s\n", rep.Backend)
	return nil
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func runLogout(ctx context.Context, env Env, args []string) error {
	fs := newFlagSet(env, "logout")
	sel := identityFlags(fs)
	all := fs.Bool("all", false, "log out of every cached identity")
	if err := parse(fs, args); err != nil {
		return err
	}
	a, err := newApp(env)
	if err != nil {
		return err
	}
	if !*all {
		id, err := a.resolve(*sel)
		if err != nil {
			return err
		}
		return a.logout(ctx, id.Key(), id.String())
	}
	names, err := a.store.Names(helper.EntryPrefix)
	if err != nil {
		return err
	}
	if len(names) == 0 {
		fmt.Fprintln(env.Stderr, "authos: no cached identities")
	}
	var firstErr error
	for _, n := range names {
		if err := a.logout(ctx, n, ""); err != nil && firstErr == nil {
			firstErr = err
		}
	}
	return firstErr
}

// logout deletes the entry, then ends the session at the server (see
// helper.SignOut), and says which of the two happened.
func (a *app) logout(ctx context.Context, name, label string) error {
	caBundle := ""
	if p, ok := a.cfg.Profiles[a.profileFor(name)]; ok {
		caBundle = p.CABundle
	}
	r, err := a.h.SignOut(ctx, name, caBundle)
	switch {
	case err != nil:
		return err
	case !r.Found:
		fmt.Fprintf(a.env.Stderr, "authos: not logged in to %s\n", label)
	case r.Identity == (helper.Identity{}):
		// a corrupt entry: deleted, nothing to say
	case r.Revoked:
		fmt.Fprintf(a.env.Stderr, "authos: logged out of %s (session ended at the server, local token deleted)\n", r.Identity)
	case r.RevokeErr != nil:
		fmt.Fprintf(a.env.Stderr, "authos: warning: could not end the session at the server (%s); the token stays valid there until %s\n",
			redact.String(r.RevokeErr.Error()), r.ExpiresAt.Local().Format("2006-01-02 15:04"))
		fallthrough
	default:
		fmt.Fprintf(a.env.Stderr, "authos: deleted the local token for %s\n", r.Identity)
	}
	return nil
}

func (a *app) profileFor(name string) string {
	for _, n := range a.cfg.ProfileNames() {
		if helper.FromProfile(n, a.cfg.Profiles[n]).Key() == name {
			return n
		}
	}
	return ""
}
