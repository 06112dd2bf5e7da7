package helper

import (
	"encoding/json"
	"errors"
	"slices"
	"time"

	"github.com/authos/authos-credential-helper/cache"
	"github.com/authos/authos-credential-helper/internal/authos/wire"
	"github.com/authos/authos-credential-helper/protocol"
)

// EntryStatus is one cached token entry as `status`, the plugin's Status
// and `doctor` report it; never the token.
type EntryStatus struct {
	Name     string // the entry's name in the cache folder
	Profile  string // the profile whose identity it is, "" if none
	Identity Identity
	Subject  string
	Email    string
	// ExpiresAt is the token's real expiry; ServedUntil is when the helper
	// stops serving it (ExpiresAt minus the margin, whole seconds).
	ObtainedAt, ExpiresAt, ServedUntil time.Time
	// Valid: served now.
	Valid bool
	// Unreadable says why the entry cannot be read (wraps cache.ErrCorrupt);
	// then only Name and Profile are set.
	Unreadable error
}

// StoredStatus is one stored docker or Terraform credential; never its
// secret.
type StoredStatus struct {
	Kind      string // "docker" or "terraform"
	Name      string
	ServerURL string // docker only
	Username  string // docker only
	// Unreadable says why it cannot be read (wraps cache.ErrCorrupt).
	Unreadable error
}

// StatusReport is everything the cache holds.
type StatusReport struct {
	Identities []EntryStatus
	Stored     []StoredStatus
	// Env lists the tokens the environment hands over (AUTHOS_TOKEN, the
	// profiles' token_env), which are served instead of the cache.
	Env []EnvTokenStatus
}

// EnvTokenStatus is one token from the environment; never the token.
type EnvTokenStatus struct {
	Variable string
	// Profiles are the profiles it is served for.
	Profiles []string
	Token    EnvToken
	// Problem says why it is not served ("" when it is).
	Problem string
}

// StoredKinds are the record prefixes of stored credentials, by kind.
var StoredKinds = []struct{ Prefix, Kind string }{
	{DockerRecordPrefix, "docker"},
	{TerraformRecordPrefix, "terraform"},
}

// ProfileKeys maps each profile's cache entry name to the profile.
func ProfileKeys(cfg *Config) map[string]string {
	out := map[string]string{}
	for _, n := range cfg.ProfileNames() {
		out[FromProfile(n, cfg.Profiles[n]).Key()] = n
	}
	return out
}

// EntryStatus reads the entry called name; found is false when there is none.
func (h *Helper) EntryStatus(name string) (st EntryStatus, found bool, err error) {
	st.Name = name
	e, err := h.Cache.Get(name)
	switch {
	case errors.Is(err, cache.ErrMiss):
		return st, false, nil
	case errors.Is(err, cache.ErrCorrupt):
		st.Unreadable = err
		return st, true, nil
	case err != nil:
		return st, false, err
	}
	st.Identity = Identity{Server: e.Server, Org: e.Org, Service: e.Service, ClientID: e.ClientID}
	st.Subject, st.Email, st.ObtainedAt, st.ExpiresAt = e.Subject, e.Email, e.ObtainedAt, e.ExpiresAt
	st.ServedUntil = h.credential(st.Identity, e).ExpiresAt
	st.Valid = checkShape(e.AccessToken) == nil && h.now().Before(st.ServedUntil)
	return st, true, nil
}

// Status lists every token entry and stored credential, readable or not.
func (h *Helper) Status(cfg *Config, records Records) (StatusReport, error) {
	rep := StatusReport{Identities: []EntryStatus{}, Stored: []StoredStatus{}}
	entries, err := records.Names(EntryPrefix)
	if err != nil {
		return rep, err
	}
	profiles := ProfileKeys(cfg)
	for _, n := range entries {
		st, found, err := h.EntryStatus(n)
		if err != nil {
			return rep, err
		}
		if !found {
			continue // removed meanwhile
		}
		st.Profile = profiles[n]
		if p, ok := cfg.Profiles[st.Profile]; ok {
			st.Identity.Profile, st.Identity.Resource, st.Identity.CABundle = st.Profile, p.Resource, p.CABundle
		} else if st.Unreadable == nil {
			st.Identity.Resource = h.orphanResource(n)
		}
		rep.Identities = append(rep.Identities, st)
	}
	rep.Env = h.envStatus(cfg)
	rep.Stored, err = storedStatus(records)
	return rep, err
}

// orphanResource is the resource of an entry no profile names any more,
// read from its token (typ at+jwt, aud): the entry itself does not say.
func (h *Helper) orphanResource(name string) string {
	e, err := h.get(name)
	if err != nil {
		return ""
	}
	if typ, auds := wire.TokenProfile(e.AccessToken); typ == "at+jwt" && len(auds) == 1 {
		return auds[0]
	}
	return ""
}

// envStatus lists the environment's tokens and the profiles each serves.
func (h *Helper) envStatus(cfg *Config) []EnvTokenStatus {
	if h.Getenv == nil {
		return nil
	}
	var out []EnvTokenStatus
	vars := []string{}
	if h.Getenv(TokenVar) != "" {
		vars = append(vars, TokenVar)
	}
	for _, n := range cfg.ProfileNames() {
		if v := cfg.Profiles[n].TokenEnv; v != "" && h.Getenv(v) != "" && !slices.Contains(vars, v) {
			vars = append(vars, v)
		}
	}
	now := h.now()
	for _, v := range vars {
		row := EnvTokenStatus{Variable: v, Profiles: []string{}}
		tok, err := readEnvToken(v, h.Getenv(v))
		if err != nil {
			row.Problem = err.Error()
			out = append(out, row)
			continue
		}
		row.Token = tok
		for _, n := range cfg.ProfileNames() {
			e, ok, err := LookupEnvToken(FromProfile(n, cfg.Profiles[n]), h.Getenv)
			if ok && err == nil && e.Variable == v {
				row.Profiles = append(row.Profiles, n)
			}
		}
		switch {
		case !now.Before(tok.ExpiresAt):
			row.Problem = "expired"
		case len(row.Profiles) == 0 && v == TokenVar:
			row.Problem = "its iss and aud match no profile: served only to `token`/`kube` for an identity they match"
		}
		out = append(out, row)
	}
	return out
}

// storedStatus lists the stored credentials. One that cannot be read is
// kept (no sign-in can bring it back) until `logout --unreadable` or
// `logout --all` removes it.
func storedStatus(r Records) ([]StoredStatus, error) {
	rows := []StoredStatus{}
	for _, k := range StoredKinds {
		names, err := r.Names(k.Prefix)
		if err != nil {
			return nil, err
		}
		for _, n := range names {
			row := StoredStatus{Kind: k.Kind, Name: n}
			var c protocol.DockerCredentials // for terraform only readability counts
			var raw json.RawMessage
			var dst any = &raw
			if k.Kind == "docker" {
				dst = &c
			}
			switch err := r.GetRecord(n, dst); {
			case errors.Is(err, cache.ErrCorrupt):
				row.Unreadable = err
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
