package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/authos/authos-credential-helper/cache"
	"github.com/authos/authos-credential-helper/helper"
	"github.com/authos/authos-credential-helper/internal/redact"
	"github.com/authos/authos-credential-helper/protocol"
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

// storedRow is a credential `docker login` or `terraform login` handed us
// for a host no profile serves; never its secret.
type storedRow struct {
	Kind      string `json:"kind"` // "docker" or "terraform"
	Name      string `json:"name"` // the record's name in the cache folder
	ServerURL string `json:"server_url,omitempty"`
	Username  string `json:"username,omitempty"`
	Readable  bool   `json:"readable"`
	Problem   string `json:"problem,omitempty"`
}

type statusReport struct {
	Backend    string      `json:"backend"`
	Identities []statusRow `json:"identities"`
	Stored     []storedRow `json:"stored"`
}

// storedKinds are the record prefixes of stored credentials, by kind.
var storedKinds = []struct{ prefix, kind string }{
	{dockerRecordPrefix, "docker"},
	{terraformRecordPrefix, "terraform"},
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
	a.store.CheckParents()
	rep := statusReport{Identities: []statusRow{}, Stored: []storedRow{}}
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
			row.Problem = "unreadable: " + cache.Reason(err) + "; the next login replaces it"
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
	if rep.Stored, err = a.storedRows(); err != nil {
		return err
	}
	if len(names) > 0 || len(rep.Stored) > 0 {
		rep.Backend, _ = a.keys.Backend()
	}
	if *asJSON {
		enc := json.NewEncoder(env.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	if len(rep.Identities) == 0 {
		fmt.Fprintln(env.Stdout, "no cached identities")
	} else {
		printIdentities(env, rep, now)
	}
	if len(rep.Stored) > 0 {
		fmt.Fprintln(env.Stdout)
		printStored(env, rep.Stored)
	}
	if rep.Backend != "" {
		fmt.Fprintf(env.Stdout, "cache backend: %s\n", rep.Backend)
	}
	return nil
}

func printIdentities(env Env, rep statusReport, now time.Time) {
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
}

func printStored(env Env, rows []storedRow) {
	tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "STORED\tFOR\tUSER\tSTATE")
	for _, r := range rows {
		state := "ok"
		if !r.Readable {
			state = r.Problem
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", r.Kind, dash(r.ServerURL), dash(r.Username), state)
	}
	tw.Flush()
}

// storedRows lists the stored credentials, readable or not. A record that
// cannot be read is kept (no sign-in can bring it back) until `logout
// --unreadable` or `logout --all` removes it.
func (a *app) storedRows() ([]storedRow, error) {
	rows := []storedRow{}
	for _, k := range storedKinds {
		names, err := a.store.Names(k.prefix)
		if err != nil {
			return nil, err
		}
		for _, n := range names {
			row := storedRow{Kind: k.kind, Name: n, Readable: true}
			var c protocol.DockerCredentials // for terraform only readability counts
			var raw json.RawMessage
			var dst any = &raw
			if k.kind == "docker" {
				dst = &c
			}
			switch err := a.store.GetRecord(n, dst); {
			case errors.Is(err, cache.ErrCorrupt):
				row.Readable = false
				row.Problem = "unreadable: " + cache.Reason(err) + "; remove with: authos-credential-helper logout --unreadable"
			case errors.Is(err, cache.ErrMiss):
				continue // removed meanwhile
			case err != nil:
				return nil, err
			}
			clear(raw)
			row.ServerURL, row.Username = c.ServerURL, c.Username
			rows = append(rows, row)
		}
	}
	return rows, nil
}

// removeUnreadable deletes the records that can no longer be read
// (`logout --unreadable`, and part of `logout --all`) and names each.
func (a *app) removeUnreadable(explicit bool) error {
	gone, err := a.store.DeleteUnreadable("")
	if err != nil {
		return err
	}
	names := make([]string, 0, len(gone))
	for n := range gone {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		fmt.Fprintf(a.env.Stderr, "authos: removed the unreadable %s %s (%s)\n", recordKind(n), n, gone[n])
	}
	if explicit && len(names) == 0 {
		fmt.Fprintln(a.env.Stderr, "authos: no unreadable cache records")
	}
	return nil
}

func recordKind(name string) string {
	for _, k := range storedKinds {
		if strings.HasPrefix(name, k.prefix) {
			return k.kind + " credential"
		}
	}
	if strings.HasPrefix(name, helper.EntryPrefix) {
		return "token entry"
	}
	return "record"
}

// forgetKernelKeys removes the helper's keys from the kernel keyring once
// they guard less: after `logout --all` the data key's kernel copy, and,
// when nothing at all is left in the cache (also after a single logout),
// the data key itself if the kernel keyring is its backend.
func (a *app) forgetKernelKeys(all bool) error {
	names, err := a.store.Names("")
	if err != nil {
		return err
	}
	empty := len(names) == 0
	if !all && !empty {
		return nil
	}
	if err := a.keys.ForgetKernel(empty); err != nil {
		return fmt.Errorf("removing the cache key from the kernel keyring: %w", err)
	}
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
	onlyUnreadable := fs.Bool("unreadable", false, "only remove the cache records that can no longer be read (sealed under a lost data key, or damaged)")
	if err := parse(fs, args); err != nil {
		return err
	}
	a, err := newApp(env)
	if err != nil {
		return err
	}
	if *onlyUnreadable && !*all {
		return a.removeUnreadable(true)
	}
	if !*all {
		id, err := a.resolve(*sel)
		if err != nil {
			return err
		}
		if err := a.logout(ctx, id.Key(), id.String()); err != nil {
			return err
		}
		return a.forgetKernelKeys(false)
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
	for _, step := range []func() error{func() error { return a.removeUnreadable(false) }, func() error { return a.forgetKernelKeys(true) }} {
		if err := step(); err != nil && firstErr == nil {
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
