package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/authos/authos-credential-helper/cache"
	"github.com/authos/authos-credential-helper/helper"
	"github.com/authos/authos-credential-helper/helper/online"
	"github.com/authos/authos-credential-helper/internal/redact"
	"github.com/authos/authos-credential-helper/internal/termsafe"
)

// statusRow is one cached identity as status shows it; never the token.
type statusRow struct {
	Profile   string     `json:"profile,omitempty"`
	Server    string     `json:"server,omitempty"`
	Org       string     `json:"org,omitempty"`
	Service   string     `json:"service,omitempty"`
	ClientID  string     `json:"client_id,omitempty"`
	Subject   string     `json:"subject,omitempty"`
	Email     string     `json:"email,omitempty"`
	ExpiresAt *time.Time `json:"expires_at,omitempty"`
	// ServedUntil is when the helper stops serving the token (the expiry
	// minus the margin) and signs in again at the next use.
	ServedUntil *time.Time `json:"served_until,omitempty"`
	ObtainedAt  *time.Time `json:"obtained_at,omitempty"`
	Valid       bool       `json:"valid"`
	Problem     string     `json:"problem,omitempty"`
	// Session is what `status --check` learnt from the server: "alive",
	// "revoked" (the token was dropped), or "unknown" (no answer, with
	// SessionError saying why); absent without --check.
	Session      string `json:"session,omitempty"`
	SessionError string `json:"session_error,omitempty"`
	// Resource is the URI the token is bound to ("" for the management
	// token); Check the local verification against the server's JWKS.
	Resource string `json:"resource,omitempty"`
	Check    string `json:"check,omitempty"`
	Evicted  bool   `json:"evicted,omitempty"`
}

// missRow is a request no one could be asked to sign in for, not yet
// followed by a sign-in.
type missRow struct {
	Client   string    `json:"client"`
	Host     string    `json:"host,omitempty"`
	Identity string    `json:"identity"`
	At       time.Time `json:"at"`
	Login    string    `json:"login"`
	Text     string    `json:"text"`
}

// envRow is a token the environment hands over; never the token.
type envRow struct {
	Variable  string     `json:"variable"`
	Profiles  []string   `json:"profiles"`
	Subject   string     `json:"subject,omitempty"`
	Email     string     `json:"email,omitempty"`
	Audience  []string   `json:"audience,omitempty"`
	ExpiresAt *time.Time `json:"expires_at,omitempty"`
	Problem   string     `json:"problem,omitempty"`
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
	// SignInNeeded lists the recent requests that found no token and no
	// one to show a sign-in to (Terraform in CI, say), newest first.
	SignInNeeded []missRow `json:"sign_in_needed"`
	// Environment: tokens from AUTHOS_TOKEN or a profile's token_env,
	// served instead of the cache (CI).
	Environment []envRow `json:"environment"`
}

func runStatus(ctx context.Context, env Env, args []string) error {
	fs := newFlagSet(env, "status")
	asJSON := fs.Bool("json", false, flagHelp("status", "json"))
	check := fs.Bool("check", false, flagHelp("status", "check"))
	if err := parse(fs, args); err != nil {
		return err
	}
	a, err := newApp(env)
	if err != nil {
		return err
	}
	a.store.CheckParents()
	st, err := a.h.Status(a.cfg, a.store)
	if err != nil {
		return err
	}
	vctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	checked := online.VerifyStatus(vctx, a.h, &st, a.verifier)
	cancel()
	rep := statusReport{Identities: []statusRow{}, Stored: []storedRow{}, SignInNeeded: []missRow{}, Environment: envRows(st.Env)}
	for i, e := range st.Identities {
		row := identityRow(e, checked[i])
		if *check && e.Valid {
			a.checkSession(ctx, e, &row)
		}
		rep.Identities = append(rep.Identities, row)
	}
	now := time.Now()
	misses, err := cache.Misses(env.Paths.State).List()
	if err != nil {
		fmt.Fprintf(env.Stderr, "authos: warning: the record of sign-ins needed cannot be read: %s\n", redact.String(err.Error()))
	}
	for _, m := range a.h.SignInNeeded(misses) {
		rep.SignInNeeded = append(rep.SignInNeeded, missRow{Client: m.Client, Host: m.Host, Identity: m.Identity, At: m.At, Login: m.Login, Text: helper.MissText(m, now)})
	}
	for _, r := range st.Stored {
		row := storedRow{Kind: r.Kind, Name: r.Name, ServerURL: r.ServerURL, Username: r.Username, Readable: r.Unreadable == nil}
		if r.Unreadable != nil {
			row.Problem = "unreadable: " + cache.Reason(r.Unreadable) + "; remove with: authos-credential-helper logout --unreadable"
		}
		rep.Stored = append(rep.Stored, row)
	}
	if len(rep.Identities) > 0 || len(rep.Stored) > 0 {
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
		printIdentities(env, rep, now, *check)
	}
	if len(rep.SignInNeeded) > 0 {
		fmt.Fprintln(env.Stdout)
		for _, m := range rep.SignInNeeded {
			fmt.Fprintln(env.Stdout, m.Text)
		}
	}
	printChecks(env, rep)
	if len(rep.Environment) > 0 {
		fmt.Fprintln(env.Stdout)
		printEnv(env, rep.Environment, time.Now())
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

// checkSession asks e's server whether its session is alive (CheckNow,
// which drops a revoked token) and says so in row.
func (a *app) checkSession(ctx context.Context, e helper.EntryStatus, row *statusRow) {
	id := e.Identity
	id.Profile, id.CABundle = e.Profile, a.caBundleOf(e.Name)
	s, err := a.h.CheckNow(ctx, id)
	switch s {
	case helper.SessionAlive, helper.SessionRevoked:
		row.Session = s.String()
	case helper.SessionUnknown:
		row.Session = s.String()
		row.SessionError = redact.String(strings.Join(strings.Fields(termsafe.Strip(err.Error())), " "))
	}
	if s == helper.SessionRevoked {
		row.Valid = false
	}
}

func identityRow(e helper.EntryStatus, ck online.Checked) statusRow {
	row := statusRow{Profile: e.Profile}
	if e.Unreadable != nil {
		row.Problem = "unreadable: " + cache.Reason(e.Unreadable) + "; the next login replaces it"
		return row
	}
	exp, until, got := e.ExpiresAt, e.ServedUntil, e.ObtainedAt
	row.Server, row.Org, row.Service, row.ClientID = e.Identity.Server, e.Identity.Org, e.Identity.Service, e.Identity.ClientID
	row.Subject, row.Email, row.Valid = e.Subject, e.Email, e.Valid
	row.ExpiresAt, row.ServedUntil, row.ObtainedAt = &exp, &until, &got
	row.Resource, row.Evicted = e.Identity.Resource, ck.Evicted
	switch {
	case ck.Verification != nil:
		row.Check = ck.Verification.Describe()
		if ck.Evicted {
			row.Check += "; deleted, the next use signs in again"
		}
	case ck.Err != nil:
		row.Check = "not checked: " + redact.String(strings.Join(strings.Fields(termsafe.Strip(ck.Err.Error())), " "))
	}
	return row
}

func envRows(in []helper.EnvTokenStatus) []envRow {
	out := []envRow{}
	for _, e := range in {
		r := envRow{Variable: e.Variable, Profiles: e.Profiles, Problem: e.Problem}
		if !e.Token.ExpiresAt.IsZero() {
			exp := e.Token.ExpiresAt
			r.Subject, r.Email, r.Audience, r.ExpiresAt = e.Token.Subject, e.Token.Email, e.Token.Audience, &exp
		}
		out = append(out, r)
	}
	return out
}

// printChecks shows each token's local verification against its server's
// JWKS: the only check a resource token has (AuthOS's API refuses it).
func printChecks(env Env, rep statusReport) {
	var rows []statusRow
	for _, r := range rep.Identities {
		if r.Check != "" {
			rows = append(rows, r)
		}
	}
	if len(rows) == 0 {
		return
	}
	fmt.Fprintln(env.Stdout)
	tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "PROFILE\tTOKEN FOR\tCHECKED LOCALLY (JWKS)")
	for _, r := range rows {
		aud := "AuthOS API (management token)"
		if r.Resource != "" {
			aud = r.Resource + " (resource token)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\n", dash(r.Profile), aud, r.Check)
	}
	tw.Flush()
}

// printEnv shows the environment's tokens: where each came from, for
// which profiles, and when it expires.
func printEnv(env Env, rows []envRow, now time.Time) {
	tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "FROM ENVIRONMENT\tPROFILES\tUSER\tEXPIRES\tSTATE")
	for _, r := range rows {
		user, exp := dash(r.Email), "-"
		if user == "-" {
			user = dash(r.Subject)
		}
		if r.ExpiresAt != nil {
			exp = whenText(*r.ExpiresAt, now)
		}
		state := "served (not cached)"
		if r.Problem != "" {
			state = r.Problem
		}
		fmt.Fprintf(tw, "$%s\t%s\t%s\t%s\t%s\n", r.Variable, dash(strings.Join(r.Profiles, ",")), user, exp, state)
	}
	tw.Flush()
}

func printIdentities(env Env, rep statusReport, now time.Time, check bool) {
	tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
	head := "PROFILE\tSERVER\tORG/SERVICE\tCLIENT ID\tUSER\tEXPIRES\tSERVED UNTIL"
	if check {
		head += "\tSESSION"
	}
	fmt.Fprintln(tw, head)
	for _, r := range rep.Identities {
		if r.Problem != "" {
			fmt.Fprintf(tw, "%s\t-\t-\t-\t-\t%s\n", dash(r.Profile), r.Problem)
			continue
		}
		user := r.Email
		if user == "" {
			user = r.Subject
		}
		fmt.Fprintf(tw, "%s\t%s\t%s/%s\t%s\t%s\t%s\t%s", dash(r.Profile), r.Server, r.Org, r.Service, r.ClientID, dash(user),
			whenText(*r.ExpiresAt, now), servedText(r, now))
		if check {
			fmt.Fprintf(tw, "\t%s", sessionText(r))
		}
		fmt.Fprintln(tw)
	}
	tw.Flush()
}

// sessionText is the SESSION column of `status --check`.
func sessionText(r statusRow) string {
	switch r.Session {
	case "":
		return "-"
	case "revoked":
		return "revoked (ended at the server; token dropped, the next use signs in again)"
	case "unknown":
		return "unknown (" + r.SessionError + ")"
	}
	return r.Session
}

// whenText is "2026-01-02 15:04 (in 1h05m)" or "… (expired)".
func whenText(t, now time.Time) string {
	return t.Local().Format("2006-01-02 15:04") + " (" + untilText(t, now) + ")"
}

// servedText says until when the token is served, and what happens after.
func servedText(r statusRow, now time.Time) string {
	at := r.ServedUntil.Local().Format("2006-01-02 15:04")
	switch {
	case r.Session == "revoked":
		return at + " (no longer: revoked)"
	case r.Valid:
		return whenText(*r.ServedUntil, now)
	case r.ExpiresAt.After(now):
		return at + " (passed; renewing at next use)"
	}
	return at + " (passed)"
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
	for _, k := range helper.StoredKinds {
		if strings.HasPrefix(name, k.Prefix) {
			return k.Kind + " credential"
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
	all := fs.Bool("all", false, flagHelp("logout", "all"))
	onlyUnreadable := fs.Bool("unreadable", false, flagHelp("logout", "unreadable"))
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
		if err := a.logout(ctx, id.Key(), id.String(), id.CABundle); err != nil {
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
		if err := a.logout(ctx, n, "", a.caBundleOf(n)); err != nil && firstErr == nil {
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
// helper.SignOut) trusting caBundle, and says which of the two happened.
func (a *app) logout(ctx context.Context, name, label, caBundle string) error {
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
			redact.String(termsafe.Strip(r.RevokeErr.Error())), r.ExpiresAt.Local().Format("2006-01-02 15:04"))
		fallthrough
	default:
		fmt.Fprintf(a.env.Stderr, "authos: deleted the local token for %s\n", r.Identity)
	}
	return nil
}

// caBundleOf is the ca_bundle of the profile whose entry is called name.
func (a *app) caBundleOf(name string) string {
	return a.cfg.Profiles[helper.ProfileKeys(a.cfg)[name]].CABundle
}
