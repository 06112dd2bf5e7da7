package helper

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/authos/authos-credential-helper/cache"
	"github.com/authos/authos-credential-helper/internal/config"
	"github.com/authos/authos-credential-helper/protocol"
)

// Records is the store's side for named records (cache.Store): what
// `docker login` and `terraform login` hand over for hosts no profile
// serves, which no sign-in can bring back.
type Records interface {
	Names(prefix string) ([]string, error)
	GetRecord(name string, v any) error
	// PutStatic keeps v, refused where a reboot would lose it.
	PutStatic(name string, v any) error
	Delete(name string) error
}

// Wired is what Credentials works with once the config is parsed.
type Wired struct {
	Config  *Config
	Helper  *Helper
	Records Records
	// Prompter says where a sign-in prompt goes (the terminal when
	// toTerminal, else the client's stderr) and whether anyone sees it;
	// done releases what it opened. Nil: nobody sees a prompt.
	Prompter func(toTerminal bool) (p Prompter, watched bool, done func())
	// Misses keeps the requests nobody could be asked to sign in for;
	// nil keeps none.
	Misses MissRecorder
	// CacheOnly answers from the cache and the stored records alone: a
	// verb that would sign in, revalidate, take a lock, record a miss or
	// write anything fails with ErrCacheOnly instead, having done nothing.
	CacheOnly bool
}

// cacheOnly is ErrCacheOnly for doing what, when w answers from the cache
// alone; nil otherwise.
func (w *Wired) cacheOnly(what string) error {
	if !w.CacheOnly {
		return nil
	}
	return fmt.Errorf("%w: %s", ErrCacheOnly, what)
}

// Credentials is the use case of the client front ends: each decodes its
// client's request, makes one call here, and encodes what it returns.
// Host-based calls (git, docker, Terraform) answer "not mine" without
// parsing the config when its text mentions no spelling of the host and no
// record for it is stored. With Wired.CacheOnly every verb answers from
// the cache alone or fails with ErrCacheOnly having done nothing (the
// Linux front door hands such a request to the full binary).
type Credentials struct{ Source Source }

// Source is what Credentials reads and wires from: the command line's
// environment, or a fake.
type Source interface {
	// ConfigText reads config.toml (empty when there is none).
	ConfigText() ([]byte, error)
	// Stored reports whether a record exists, without opening the keyring.
	Stored(name string) bool
	// Open parses the config text and wires the rest. need, when not
	// nil, is all the request can use (config.ParseFor decodes only that);
	// nil decodes the whole file.
	Open(text []byte, need *Need) (*Wired, error)
	Getenv(key string) string
}

// The record names of stored credentials start with these, by client.
const (
	DockerRecordPrefix    = "docker-"
	TerraformRecordPrefix = "tf-"
)

// DockerRecordName names what `docker login` stored for serverURL.
func DockerRecordName(serverURL string) string {
	return DockerRecordPrefix + HashName("docker", serverURL)
}

// TerraformRecordName names what `terraform login` stored for host.
func TerraformRecordName(host string) string {
	return TerraformRecordPrefix + HashName("terraform", host)
}

// IdentityError is a selector that names no complete identity (a usage
// error for the command line, ErrBadIdentity for a plugin host).
type IdentityError struct{ Err error }

func (e *IdentityError) Error() string { return e.Err.Error() }
func (e *IdentityError) Unwrap() error { return e.Err }

// open wires for a host-based request, or returns nil when the config
// mentions none of hosts (the spellings a matching pattern must contain)
// and no record called stored ("" for none) exists.
func (c *Credentials) open(flags Selector, stored string, hosts ...string) (*Wired, error) {
	raw, err := c.Source.ConfigText()
	if err != nil {
		return nil, err
	}
	onlyProfile := Selector{Profile: flags.Profile}
	if flags == onlyProfile && !slices.ContainsFunc(hosts, func(h string) bool { return config.Mentions(raw, h) }) &&
		(stored == "" || !c.Source.Stored(stored)) {
		return nil, nil
	}
	return c.Source.Open(raw, c.need(flags, hosts...))
}

func (c *Credentials) need(flags Selector, hosts ...string) *Need {
	return NeedFor(flags, c.Source.Getenv, hosts...)
}

// NeedFor is what a request by flags about hosts can use: the profiles
// matching may pick (those mentioning a host) and the ones named. The
// calls a hit answers decode only that, so a hit costs the same with one
// profile as with a thousand.
func NeedFor(flags Selector, getenv func(string) string, hosts ...string) *Need {
	return &Need{Profiles: []string{flags.Profile, getenv("AUTHOS_PROFILE")}, Hosts: hosts}
}

// openAll wires with the whole config decoded.
func (c *Credentials) openAll() (*Wired, error) { return c.openFor(nil) }

// openFor wires with what need selects decoded (nil: everything).
func (c *Credentials) openFor(need *Need) (*Wired, error) {
	raw, err := c.Source.ConfigText()
	if err != nil {
		return nil, err
	}
	return c.Source.Open(raw, need)
}

// token serves id's token to client, which asked about host, signing in
// where someone can see the prompt and recording the miss where not.
func (w *Wired) token(ctx context.Context, client, host string, id Identity, toTerminal bool) (Credential, error) {
	if w.CacheOnly {
		return w.Helper.Token(ctx, Request{Identity: id, CacheOnly: true}) // no prompt opened, no miss recorded
	}
	var p Prompter
	watched, done := false, func() {}
	if w.Prompter != nil {
		p, watched, done = w.Prompter(toTerminal)
	}
	defer done()
	c, err := w.Helper.Token(ctx, Request{Identity: id, NonInteractive: !watched, Prompt: p})
	if err != nil {
		w.recordMiss(client, host, id, err)
	}
	return c, err
}

// getStored reads a stored record; ok is false when there is none, or it
// cannot be read (kept for `logout --unreadable`, answered as absent).
func getStored(r Records, name string, v any) (ok bool, err error) {
	switch err := r.GetRecord(name, v); {
	case errors.Is(err, cache.ErrMiss), errors.Is(err, cache.ErrCorrupt):
		return false, nil
	case err != nil:
		return false, err
	}
	return true, nil
}

// GitGet answers git's get with the token of the profile whose git
// patterns match the request's URL; ok is false when none does.
func (c *Credentials) GitGet(ctx context.Context, flags Selector, req protocol.GitRequest) (a protocol.GitAnswer, ok bool, err error) {
	w, m, ok, err := c.matchGit(flags, req)
	if !ok || err != nil {
		return protocol.GitAnswer{}, false, err
	}
	cred, err := w.token(ctx, "git", req.Host, m.Identity, false)
	if err != nil {
		return protocol.GitAnswer{}, false, err
	}
	return protocol.GitAnswer{Username: m.Username(), Password: cred.Token, Expiry: cred.ExpiresAt}, true, nil
}

// Dropped is what a client's erase or forget did to a profile's token.
type Dropped struct {
	// Identity is the profile's identity serving the host; zero when no
	// profile serves it (then only a stored record was forgotten).
	Identity Identity
	// Found: a token was cached for it and is gone now.
	Found bool
}

// GitErase drops the cached token when git reports the one we served
// rejected (erase after a 401): the next get signs in again instead of
// serving a revoked token until it expires. Anything else is left alone.
func (c *Credentials) GitErase(flags Selector, req protocol.GitRequest) (Dropped, error) {
	w, m, ok, err := c.matchGit(flags, req)
	if !ok || err != nil {
		return Dropped{}, err
	}
	cred, ok, err := w.Helper.Cached(m.Identity)
	if err != nil || !ok {
		return Dropped{}, err
	}
	for _, s := range []string{req.Password, req.Credential} {
		if s != "" && s == cred.Token {
			if err := w.cacheOnly("dropping the rejected token for " + m.Identity.String()); err != nil {
				return Dropped{}, err
			}
			if err := w.Helper.Evict(m.Identity); err != nil {
				return Dropped{}, fmt.Errorf("dropping the rejected token for %s: %w", m.Identity, err)
			}
			return Dropped{Identity: m.Identity, Found: true}, nil
		}
	}
	return Dropped{}, nil
}

// dropServed forgets the cached token of the profile serving host, if one
// does: a client's logout for it must log out, not print success and
// leave the token served.
func (c *Credentials) dropServed(w *Wired, flags Selector, client, host string, canon func(string) string) (Dropped, error) {
	m, ok, err := MatchHost(w.Config, flags, c.Source.Getenv, client, host, canon)
	if !ok || err != nil {
		return Dropped{}, err
	}
	_, found, err := w.Helper.Cached(m.Identity)
	if err != nil {
		found = true // unreadable by now: delete it anyway
	}
	if err := w.Helper.Evict(m.Identity); err != nil {
		return Dropped{}, fmt.Errorf("dropping the cached token for %s: %w", m.Identity, err)
	}
	return Dropped{Identity: m.Identity, Found: found}, nil
}

func (c *Credentials) matchGit(flags Selector, req protocol.GitRequest) (*Wired, Match, bool, error) {
	w, err := c.open(flags, "", req.Host)
	if w == nil || err != nil {
		return nil, Match{}, false, err
	}
	m, ok, err := MatchHost(w.Config, flags, c.Source.Getenv, "git", req.URL(), nil)
	return w, m, ok && err == nil, err
}

// DockerHosts are the spellings a pattern serving registry host must
// contain (Docker Hub has several): the pre-filter's, and the hit path's
// choice of profiles to decode.
func DockerHosts(host string) []string {
	if host == protocol.DockerHubHost {
		return protocol.DockerHubAliases
	}
	return []string{host}
}

// DockerGet answers for a registry a profile serves with its token, for
// one `docker login` stored with what it stored, and otherwise
// protocol.ErrDockerNotFound (docker then goes on anonymously).
func (c *Credentials) DockerGet(ctx context.Context, serverURL string) (protocol.DockerCredentials, error) {
	host := protocol.DockerRegistryHost(serverURL)
	record := DockerRecordName(serverURL)
	w, err := c.open(Selector{}, record, DockerHosts(host)...)
	if err != nil {
		return protocol.DockerCredentials{}, err
	}
	if w == nil {
		return protocol.DockerCredentials{}, protocol.ErrDockerNotFound
	}
	m, ok, err := MatchHost(w.Config, Selector{}, c.Source.Getenv, "docker", host, protocol.DockerRegistryHost)
	if err != nil {
		return protocol.DockerCredentials{}, err
	}
	if !ok {
		var stored protocol.DockerCredentials
		if ok, err := getStored(w.Records, record, &stored); !ok || err != nil {
			if err == nil {
				err = protocol.ErrDockerNotFound
			}
			return protocol.DockerCredentials{}, err
		}
		return stored, nil
	}
	cred, err := w.token(ctx, "docker", host, m.Identity, false)
	if err != nil {
		return protocol.DockerCredentials{}, err
	}
	return protocol.DockerCredentials{ServerURL: serverURL, Username: m.Username(), Secret: cred.Token}, nil
}

// DockerStore keeps what `docker login` hands over for a registry no
// profile serves; for one a profile serves it is our own token handed
// back, and nothing is kept.
func (c *Credentials) DockerStore(cr protocol.DockerCredentials) error {
	w, err := c.openAll()
	if err != nil {
		return err
	}
	if _, ok, _ := MatchHost(w.Config, Selector{}, c.Source.Getenv, "docker", protocol.DockerRegistryHost(cr.ServerURL), protocol.DockerRegistryHost); ok {
		return nil
	}
	if err := w.cacheOnly("storing docker's credential"); err != nil {
		return err
	}
	return w.Records.PutStatic(DockerRecordName(cr.ServerURL), cr)
}

// DockerErase (`docker logout`) forgets what `docker login` stored for
// serverURL, and for a registry a profile serves drops that identity's
// cached token.
func (c *Credentials) DockerErase(serverURL string) (Dropped, error) {
	w, err := c.openAll()
	if err != nil {
		return Dropped{}, err
	}
	if err := w.cacheOnly("forgetting docker's credential"); err != nil {
		return Dropped{}, err
	}
	if err := w.Records.Delete(DockerRecordName(serverURL)); err != nil {
		return Dropped{}, err
	}
	return c.dropServed(w, Selector{}, "docker", protocol.DockerRegistryHost(serverURL), protocol.DockerRegistryHost)
}

// DockerList maps the server URL of each stored docker credential to its
// username; unreadable ones are left out.
func (c *Credentials) DockerList() (map[string]string, error) {
	w, err := c.openAll()
	if err != nil {
		return nil, err
	}
	names, err := w.Records.Names(DockerRecordPrefix)
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for _, n := range names {
		var cr protocol.DockerCredentials
		if err := w.Records.GetRecord(n, &cr); err == nil {
			out[cr.ServerURL] = cr.Username
		}
	}
	return out, nil
}

// TerraformAnswer is what Terraform's get hands back: a profile's Token,
// or what `terraform login` Stored, or neither.
type TerraformAnswer struct {
	Token  string
	Stored *protocol.TerraformCredentials
}

// TerraformGet answers for host (in Terraform's comparison form). The
// prompt goes to the terminal: Terraform shows the helper's stderr only
// when it fails.
func (c *Credentials) TerraformGet(ctx context.Context, flags Selector, host string) (TerraformAnswer, error) {
	record := TerraformRecordName(host)
	w, err := c.open(flags, record, host)
	if w == nil || err != nil {
		return TerraformAnswer{}, err
	}
	m, ok, err := MatchHost(w.Config, flags, c.Source.Getenv, "terraform", host, protocol.TerraformHost)
	if err != nil {
		return TerraformAnswer{}, err
	}
	if !ok {
		var stored protocol.TerraformCredentials
		if ok, err := getStored(w.Records, record, &stored); !ok || err != nil {
			return TerraformAnswer{}, err
		}
		return TerraformAnswer{Stored: &stored}, nil
	}
	cred, err := w.token(ctx, "terraform", host, m.Identity, true)
	if err != nil {
		return TerraformAnswer{}, err
	}
	return TerraformAnswer{Token: cred.Token}, nil
}

// TerraformStore keeps what `terraform login` hands over for host.
func (c *Credentials) TerraformStore(host string, cr protocol.TerraformCredentials) error {
	w, err := c.openAll()
	if err != nil {
		return err
	}
	if err := w.cacheOnly("storing Terraform's credential"); err != nil {
		return err
	}
	return w.Records.PutStatic(TerraformRecordName(host), cr)
}

// TerraformForget (`terraform logout`) forgets what `terraform login`
// stored for host, and for a host a profile serves drops that identity's
// cached token.
func (c *Credentials) TerraformForget(flags Selector, host string) (Dropped, error) {
	w, err := c.openAll()
	if err != nil {
		return Dropped{}, err
	}
	if err := w.cacheOnly("forgetting Terraform's credential"); err != nil {
		return Dropped{}, err
	}
	if err := w.Records.Delete(TerraformRecordName(host)); err != nil {
		return Dropped{}, err
	}
	return c.dropServed(w, flags, "terraform", host, protocol.TerraformHost)
}

// Token serves the token of the identity flags, the environment or
// default_profile select (kube's exec plugin).
func (c *Credentials) Token(ctx context.Context, flags Selector) (Credential, error) {
	w, err := c.openFor(c.need(flags))
	if err != nil {
		return Credential{}, err
	}
	id, err := Resolve(w.Config, flags, SelectorFromEnv(c.Source.Getenv))
	if err != nil {
		return Credential{}, &IdentityError{Err: err}
	}
	return w.token(ctx, "kubectl", "", id, false)
}
