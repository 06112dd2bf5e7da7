// Package cacheonly wires the helper that answers from the cache alone,
// which the Linux front door serves hits with. It links no keyring library
// and no network code. wiring.Build wires the full helper from the same
// names and options here, so that both find the same data key and entries
// and serve a token for exactly as long.
package cacheonly

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"path/filepath"
	"time"

	"github.com/authos/authos-credential-helper/cache"
	"github.com/authos/authos-credential-helper/helper"
	"github.com/authos/authos-credential-helper/internal/config"
)

// Keys is where cfg's data key lives in the kernel keyring: the backend
// asked for (AUTHOS_CACHE_BACKEND overrides config.toml), the item named
// after the token folder, and the kernel copy's lifetime.
func Keys(cfg *config.Config, p config.Paths, getenv func(string) string) cache.KernelKeys {
	backend := cfg.Cache.Backend
	if b := getenv("AUTHOS_CACHE_BACKEND"); b != "" {
		backend = b
	}
	return cache.KernelKeys{Backend: backend, StateDir: p.State, Item: "cache-key-" + shortHash(p.Tokens), CopyTTL: cfg.Cache.KernelCacheTTL()}
}

// shortHash names the data key after the token folder, so separate XDG
// trees sharing one kernel keyring never share a key.
func shortHash(s string) string {
	if abs, err := filepath.Abs(s); err == nil {
		s = abs
	}
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:8])
}

// Serving sets what decides how long h serves a cached token: the margin,
// each profile's revalidation interval, the environment's CI token.
func Serving(h *helper.Helper, cfg *config.Config, getenv func(string) string) {
	h.Margin = cfg.Cache.ExpiryMargin.Duration
	// An identity no profile names (flags) gets the default interval.
	h.Revalidate = func(id helper.Identity) time.Duration { return cfg.Profiles[id.Profile].RevalidateEvery() }
	h.Getenv = getenv
}

// Source is helper.Credentials' view of the process for cache-only
// answers.
type Source struct {
	Paths config.Paths
	Env   func(string) string
}

// ConfigText maps a large config.toml (config.MapRaw): front.Serve reads
// it with faults turned into panics it recovers from.
func (s *Source) ConfigText() ([]byte, error) { return config.MapRaw(s.Paths.ConfigFile) }
func (s *Source) Stored(name string) bool     { return (&cache.Store{Dir: s.Paths.Tokens}).Has(name) }
func (s *Source) Getenv(key string) string    { return s.Env(key) }

// Open decodes what need selects (nil: all) and wires a CacheOnly helper
// on the kernel keyring's copy of the data key.
func (s *Source) Open(raw []byte, need *helper.Need) (*helper.Wired, error) {
	var cfg *config.Config
	var err error
	if need == nil {
		cfg, err = config.Parse(s.Paths.ConfigFile, raw)
	} else {
		cfg, err = config.ParseFor(s.Paths.ConfigFile, raw, *need)
	}
	if err != nil {
		return nil, err
	}
	keys := Keys(cfg, s.Paths, s.Env)
	store := &cache.Store{Dir: s.Paths.Tokens, Keys: &keys}
	h := &helper.Helper{Cache: store, Check: needsServer}
	Serving(h, cfg, s.Env)
	return &helper.Wired{Config: cfg, Helper: h, Records: store, CacheOnly: true}, nil
}

// needsServer stands in for the session check, so that a hit whose check
// is due is one CacheOnly refuses; it is never called.
func needsServer(context.Context, helper.Identity, string) (bool, error) {
	return false, helper.ErrCacheOnly
}
