// Package wiring builds the cache, its keyring and the helper from config.toml
// the same way in every binary: the per-call CLI and the plugin share one
// cache and one lock only if they agree on every name and option.
package wiring

import (
	"context"
	"fmt"
	"io"
	"path/filepath"

	"github.com/authos/authos-credential-helper/cache"
	"github.com/authos/authos-credential-helper/cache/keyring"
	"github.com/authos/authos-credential-helper/helper"
	"github.com/authos/authos-credential-helper/helper/online"
	"github.com/authos/authos-credential-helper/internal/authos"
	"github.com/authos/authos-credential-helper/internal/config"
	"github.com/authos/authos-credential-helper/internal/version"
	"github.com/authos/authos-credential-helper/internal/wiring/cacheonly"
)

// Options are what a binary supplies from its own surroundings.
type Options struct {
	Paths  config.Paths
	Getenv func(string) string
	// Passphrase asks for the file backend's passphrase; nil means it can
	// only come from AUTHOS_CACHE_PASSPHRASE.
	Passphrase func(prompt string) (string, error)
	// WrapLogin, if set, wraps the device-flow login (the CLI adds its
	// Ctrl-C handling there).
	WrapLogin func(helper.LoginFunc) helper.LoginFunc
	// Warn receives the cache's one-line warnings (stderr); nil drops them.
	Warn io.Writer
}

// Parts is one wired cache and helper.
type Parts struct {
	Config *config.Config
	Keys   *keyring.Keyring
	Store  *cache.Store
	Helper *helper.Helper
	// Verifier checks cached tokens against the servers' JWKS, kept next
	// to the token folder (status, doctor, revalidation; never a hit).
	Verifier *online.Verifier
}

// Build wires the parts for cfg. It touches neither the keyring nor the
// network: both are opened on first use.
func Build(cfg *config.Config, o Options) *Parts {
	kk := cacheonly.Keys(cfg, o.Paths, o.Getenv)
	var warn func(string)
	if o.Warn != nil {
		warn = func(msg string) { fmt.Fprintf(o.Warn, "authos: warning: %s\n", msg) }
	}
	keys := keyring.New(keyring.Options{
		Backend:     kk.Backend,
		Item:        kk.Item,
		StateDir:    kk.StateDir,
		FileDir:     o.Paths.FileRing,
		Passphrase:  o.Passphrase,
		Getenv:      o.Getenv,
		KernelCache: kk.CopyTTL,
		Warn:        warn,
	})
	store := &cache.Store{
		Dir: o.Paths.Tokens, Keys: keys,
		AllowVolatile: cfg.Cache.AllowVolatileStore,
		Related:       []string{o.Paths.State, o.Paths.Locks, o.Paths.FileRing},
		Warn:          warn,
	}
	verifier := &online.Verifier{Keys: &online.JWKSStore{Dir: JWKSDir(o.Paths)}, UserAgent: version.UserAgent()}
	login := online.DeviceLoginWith(version.UserAgent(), authos.RealClock{}, verifier)
	if o.WrapLogin != nil {
		login = o.WrapLogin(login)
	}
	checkSession := online.CheckSession(version.UserAgent())
	h := &helper.Helper{
		Cache:  store,
		Locks:  cache.FileLocker{Dir: o.Paths.Locks},
		Flows:  cache.FlowBoard{Dir: o.Paths.Locks},
		Login:  login,
		Revoke: online.RevokeSession(version.UserAgent()),
		// Resource tokens are refused by AuthOS's own /api, so their
		// session is checked locally against the server's keys.
		Check: func(ctx context.Context, id helper.Identity, tok string) (bool, error) {
			if id.Resource != "" {
				return verifier.VerifyLocally(ctx, id, tok)
			}
			return checkSession(ctx, id, tok)
		},
	}
	cacheonly.Serving(h, cfg, o.Getenv)
	return &Parts{Config: cfg, Keys: keys, Store: store, Helper: h, Verifier: verifier}
}

// JWKSDir is where the servers' JWKS are kept: beside the token folder, in
// the cache dir (public keys; losing them costs one fetch).
func JWKSDir(p config.Paths) string { return filepath.Join(filepath.Dir(p.Tokens), "jwks") }
