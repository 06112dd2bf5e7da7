package helper

import (
	"encoding/json"
	"errors"
	"time"

	"github.com/authos/authos-credential-helper/cache"
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
		rep.Identities = append(rep.Identities, st)
	}
	rep.Stored, err = storedStatus(records)
	return rep, err
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
