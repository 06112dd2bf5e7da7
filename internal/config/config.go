// Package config reads the TOML profiles and resolves XDG paths.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/adrg/xdg"
	"github.com/pelletier/go-toml/v2"

	"github.com/authos/authos-credential-helper/internal/rawfile"
)

// AppName is the folder name under each XDG base directory.
const AppName = "authos-credential-helper"

// Profile is one AuthOS identity and the resources it serves.
type Profile struct {
	Server    string   `toml:"server"`
	Org       string   `toml:"org"`
	Service   string   `toml:"service"`
	ClientID  string   `toml:"client_id"`
	Git       []string `toml:"git"`
	Docker    []string `toml:"docker"`
	Terraform []string `toml:"terraform"`
	Username  string   `toml:"username"`
	CABundle  string   `toml:"ca_bundle"`
	// Resource asks for tokens bound to this URI (RFC 8707; one of the
	// service's resource_uris) instead of AuthOS's management token.
	Resource string `toml:"resource"`
	// TokenEnv names an environment variable that, when set, holds the
	// token to serve for this profile (CI): no cache, no sign-in.
	TokenEnv string `toml:"token_env"`
	// Revalidate is how long a cached token is served before AuthOS is
	// asked again whether its session is alive; unset means
	// DefaultRevalidate, "0" turns the check off.
	Revalidate *Duration `toml:"revalidate"`
}

// DefaultRevalidate is Revalidate's default.
const DefaultRevalidate = 15 * time.Minute

// RevalidateEvery is Revalidate with its default applied (0: never).
func (p Profile) RevalidateEvery() time.Duration { return p.Revalidate.Or(DefaultRevalidate) }

// Cache configures the token cache.
type Cache struct {
	Backend      string   `toml:"backend"`
	ExpiryMargin Duration `toml:"expiry_margin"`
	// KernelCache is how long the data key stays in the Linux kernel keyring
	// after the backend gave it (so hits skip D-Bus or the passphrase);
	// unset means DefaultKernelCache, "0s" turns it off.
	KernelCache *Duration `toml:"kernel_cache"`
	// AllowVolatileStore lets docker/terraform `store` keep credentials no
	// profile serves (which cannot be obtained again) under a data key a
	// reboot loses (the keyctl backend); off, such a store is refused.
	AllowVolatileStore bool `toml:"allow_volatile_store"`
}

// DefaultKernelCache is the kernel keyring copy's lifetime when unset.
const DefaultKernelCache = 12 * time.Hour

// KernelCacheTTL is KernelCache with its default applied.
func (c Cache) KernelCacheTTL() time.Duration { return c.KernelCache.Or(DefaultKernelCache) }

// Config is the whole config file.
type Config struct {
	DefaultProfile string             `toml:"default_profile"`
	Profiles       map[string]Profile `toml:"profiles"`
	Cache          Cache              `toml:"cache"`
	Prompt         Prompt             `toml:"prompt"`
}

// Prompt configures the sign-in prompt's extras; both default to on where
// they make sense (a terminal for the QR code, a desktop for the browser).
type Prompt struct {
	QR          *bool `toml:"qr"`
	OpenBrowser *bool `toml:"open_browser"`
}

// QREnabled reports whether the QR code may be drawn.
func (p Prompt) QREnabled() bool { return p.QR == nil || *p.QR }

// BrowserEnabled reports whether opening the browser may be offered.
func (p Prompt) BrowserEnabled() bool { return p.OpenBrowser == nil || *p.OpenBrowser }

// Duration reads TOML strings such as "5m".
type Duration struct{ time.Duration }

// Or is an optional duration's value: def when the file leaves it unset.
func (d *Duration) Or(def time.Duration) time.Duration {
	if d == nil {
		return def
	}
	return d.Duration
}

func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return err
	}
	if v < 0 {
		return errors.New("must not be negative")
	}
	d.Duration = v
	return nil
}

// Paths are where the helper keeps things; tests isolate the helper by
// pointing the XDG variables at a temporary folder.
type Paths struct {
	ConfigFile string // $XDG_CONFIG_HOME/authos-credential-helper/config.toml
	Tokens     string // sealed token entries
	State      string // remembered backend choice, login markers
	Locks      string // per-identity lock files
	FileRing   string // the file keyring backend's items
}

// DefaultPaths derives Paths from the XDG environment.
func DefaultPaths() Paths {
	state := filepath.Join(xdg.StateHome, AppName)
	return Paths{
		ConfigFile: filepath.Join(xdg.ConfigHome, AppName, "config.toml"),
		Tokens:     filepath.Join(xdg.CacheHome, AppName, "tokens"),
		State:      state,
		Locks:      lockDir(state),
		FileRing:   filepath.Join(xdg.DataHome, AppName, "keyring"),
	}
}

// lockDir prefers the per-user runtime dir (tmpfs, cleaned at logout) when it
// exists and is ours; otherwise a folder in the state dir. Never a shared
// temp dir, where users' lock files would collide.
func lockDir(state string) string {
	if rt := xdg.RuntimeDir; rt != "" && ownedDir(rt) {
		return filepath.Join(rt, AppName, "locks")
	}
	return filepath.Join(state, "locks")
}

// Load reads the config file; a missing file is an empty config.
func Load(path string) (*Config, error) {
	b, err := ReadRaw(path)
	if err != nil {
		return nil, err
	}
	return Parse(path, b)
}

// ReadRaw reads the config file's bytes; a missing file reads as empty.
func ReadRaw(path string) ([]byte, error) { return readRaw(path, rawfile.ReadFile) }

// MapRaw is ReadRaw mapping a large file instead of copying it
// (rawfile.Map): the front door's read, which reads the bytes with
// debug.SetPanicOnFault set, since a file cut short meanwhile faults.
func MapRaw(path string) ([]byte, error) { return readRaw(path, rawfile.Map) }

func readRaw(path string, read func(string) ([]byte, error)) ([]byte, error) {
	b, err := read(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading config: %w", err)
	}
	return b, nil
}

// Mentions reports whether raw config text contains host (ASCII
// case-insensitive, port ignored), or might spell it through a TOML escape.
// A profile can only match a host its patterns spell out, so false means no
// profile serves it: callers answer "not mine" without parsing. It is one plain loop on purpose: this runs for
// every request about a host we do not serve, where each first-touched code
// page (lowercasing, trimming, SIMD search routines) costs a page fault.
func Mentions(raw []byte, host string) bool {
	h := hostText(host)
	if h == "" {
		return false
	}
	found := false
	eachFold(raw, h, func(int) int { found = true; return -1 })
	return found || escapes(raw)
}

// hostText is host without a port (not inside an IPv6 literal) and IPv6
// brackets: how a pattern spells it.
func hostText(host string) string {
	end := len(host)
	for i := len(host) - 1; i >= 0; i-- {
		if host[i] == ']' {
			break
		}
		if host[i] == ':' {
			end = i
			break
		}
	}
	start := 0
	if end > 0 && host[0] == '[' {
		start = 1
		if host[end-1] == ']' {
			end--
		}
	}
	return host[start:end]
}

// eachFold calls at with the offset of matches of h (non-empty) in raw,
// ASCII case-insensitive; at returns where to go on looking, or -1 to
// stop. Candidates are found by h's rarest byte (in either case) with
// IndexByte (the runtime's own search, already paged in): 250 KB of
// config.toml is searched for every unknown host.
func eachFold(raw []byte, h string, at func(i int) int) {
	p := rarest(h)
	for _, c := range [2]byte{lower(h[p]), upper(h[p])} {
		for i := p; i < len(raw); {
			k := bytes.IndexByte(raw[i:], c)
			if k < 0 {
				break
			}
			start := i + k - p
			if start+len(h) > len(raw) {
				break
			}
			j := 0
			for j < len(h) && lower(raw[start+j]) == lower(h[j]) {
				j++
			}
			if j < len(h) {
				i += k + 1
				continue
			}
			next := at(start)
			if next < 0 {
				return
			}
			i = next + p
		}
		if lower(h[p]) == upper(h[p]) {
			break
		}
	}
}

// common are the bytes most frequent in config text, most frequent first.
const common = "etaoinsrlcuhdmpgfy.bwvkxjqz"

// rarest is the index of h's least common byte.
func rarest(h string) int {
	best, score := 0, -1
	for i := 0; i < len(h); i++ {
		s := len(common) // not listed: digits, '-', ':' are rarer still
		for k := 0; k < len(common); k++ {
			if common[k] == lower(h[i]) {
				s = k
				break
			}
		}
		if s > score {
			best, score = i, s
		}
	}
	return best
}

// escapes reports whether raw holds a TOML escape that could spell part of
// a host (\u0067, \x67, \", a line-ending backslash): then the text need
// not contain the host as such, and only parsing can tell. A doubled
// backslash (Windows paths) and escapes of control characters cannot.
func escapes(raw []byte) bool {
	found := false
	eachEscape(raw, func(int) int { found = true; return -1 })
	return found
}

// eachEscape calls at with the offset of each such escape's backslash; at
// returns where to go on looking, or -1 to stop.
func eachEscape(raw []byte, at func(i int) int) {
	for i := 0; i+1 < len(raw); {
		k := bytes.IndexByte(raw[i:len(raw)-1], '\\')
		if k < 0 {
			return
		}
		i += k
		switch raw[i+1] {
		case '\\', 'b', 't', 'n', 'f', 'r', 'e':
			i += 2
		default:
			if i = at(i); i < 0 {
				return
			}
		}
	}
}

func lower(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

func upper(c byte) byte {
	if 'a' <= c && c <= 'z' {
		return c - ('a' - 'A')
	}
	return c
}

// Parse decodes config text read from path, all of it, strictly.
func Parse(path string, b []byte) (*Config, error) {
	c := &Config{}
	if len(b) == 0 {
		return c, nil
	}
	if err := decodeStrict(path, b, c, nil); err != nil {
		return nil, err
	}
	if err := c.checkProfiles(); err != nil {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	if c.DefaultProfile != "" {
		if _, ok := c.Profiles[c.DefaultProfile]; !ok {
			return nil, fmt.Errorf("config %s: default_profile %q names no [profiles.%s] table", path, c.DefaultProfile, c.DefaultProfile)
		}
	}
	return c, nil
}

// decodeStrict decodes b into c, refusing unknown keys (a typo in a key
// should not silently do nothing). Errors are one line naming the file and
// the line; fileLine maps b's lines to the file's (nil: b is the file).
func decodeStrict(path string, b []byte, c *Config, fileLine func(int) int) error {
	dec := toml.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	err := dec.Decode(c)
	if err == nil {
		return nil
	}
	at := func(line int) string {
		if fileLine != nil {
			line = fileLine(line)
		}
		return fmt.Sprintf("config %s line %d", path, line)
	}
	var sme *toml.StrictMissingError
	var de *toml.DecodeError
	switch {
	case errors.As(err, &sme) && len(sme.Errors) > 0:
		first := sme.Errors[0]
		line, _ := first.Position()
		return fmt.Errorf("%s: unknown key %s", at(line), strings.Join(first.Key(), "."))
	case errors.As(err, &de):
		line, _ := de.Position()
		return fmt.Errorf("%s: %w", at(line), err)
	}
	return fmt.Errorf("config %s: %w", path, err)
}

// ProfileNames lists profile names in order.
func (c *Config) ProfileNames() []string {
	names := make([]string, 0, len(c.Profiles))
	for n := range c.Profiles {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}
