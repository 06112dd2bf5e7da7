package helper

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/authos/authos-credential-helper/cache"
	"github.com/authos/authos-credential-helper/internal/config"
	"github.com/authos/authos-credential-helper/protocol"
)

// strictCache fails the test on a write.
type strictCache struct {
	*memCache
	t *testing.T
}

func (c strictCache) Put(n string, _ cache.Entry) error {
	c.t.Errorf("cache-only: Put(%s)", n)
	return errors.New("no writes")
}
func (c strictCache) Delete(n string) error {
	c.t.Errorf("cache-only: Delete(%s)", n)
	return errors.New("no writes")
}

// strictRecords fails the test on a write.
type strictRecords struct {
	*memRecords
	t *testing.T
}

func (r strictRecords) PutStatic(n string, _ any) error {
	r.t.Errorf("cache-only: PutStatic(%s)", n)
	return errors.New("no writes")
}
func (r strictRecords) Delete(n string) error {
	r.t.Errorf("cache-only: Delete record %s", n)
	return errors.New("no writes")
}

// strictLocker fails the test if a lock is asked for.
type strictLocker struct{ t *testing.T }

func (l strictLocker) Lock(context.Context, string, func()) (func(), bool, error) {
	l.t.Error("cache-only: Lock")
	return func() {}, false, errors.New("no lock")
}
func (l strictLocker) Failed(string, time.Time, error) { l.t.Error("cache-only: Failed") }
func (l strictLocker) LastFailure(string, time.Time) (string, bool) {
	l.t.Error("cache-only: LastFailure")
	return "", false
}
func (l strictLocker) Succeeded(string) { l.t.Error("cache-only: Succeeded") }

type strictMisses struct{ t *testing.T }

func (m strictMisses) Record(cache.Miss) error { m.t.Error("cache-only: a miss recorded"); return nil }

// onlyWorld is one case's state, wired either way.
type onlyWorld struct {
	t         *testing.T
	cacheOnly bool
	entries   map[string]cache.Entry
	corrupt   bool
	records   map[string][]byte
	env       map[string]string
	now       time.Time
}

func (w *onlyWorld) getenv(k string) string { return w.env[k] }
func (w *onlyWorld) ConfigText() ([]byte, error) {
	return []byte(acmeProfile + `git = ["https://git.acme.example/"]
docker = ["registry.acme.example"]
terraform = ["tf.acme.example"]
`), nil
}
func (w *onlyWorld) Stored(name string) bool { _, ok := w.records[name]; return ok }
func (w *onlyWorld) Getenv(k string) string  { return w.getenv(k) }
func (w *onlyWorld) Open(raw []byte, _ *Need) (*Wired, error) {
	cfg, err := config.Parse("config.toml", raw)
	if err != nil {
		return nil, err
	}
	mc, recs := newMemCache(), newMemRecords()
	for n, e := range w.entries {
		mc.entries[n] = e
	}
	if w.corrupt {
		mc.corrupt[id.Key()] = true
	}
	for n, b := range w.records {
		recs.recs[n] = b
	}
	h := &Helper{
		Now: func() time.Time { return w.now }, Getenv: w.getenv,
		Revalidate: func(Identity) time.Duration { return time.Hour },
	}
	wd := &Wired{Config: cfg, Helper: h, CacheOnly: w.cacheOnly}
	if !w.cacheOnly {
		h.Cache, h.Locks, wd.Records, wd.Misses = mc, busyLocker{}, recs, &missList{}
		h.Login = func(context.Context, Identity, Prompter) (Token, error) {
			return Token{}, errors.New("no sign-in in this test")
		}
		h.Check = func(context.Context, Identity, string) (bool, error) { return true, nil }
		return wd, nil
	}
	t := w.t
	h.Cache, h.Locks, wd.Records, wd.Misses = strictCache{mc, t}, strictLocker{t}, strictRecords{recs, t}, strictMisses{t}
	h.Login = func(context.Context, Identity, Prompter) (Token, error) {
		t.Error("cache-only: Login")
		return Token{}, errors.New("no sign-in")
	}
	h.Check = func(context.Context, Identity, string) (bool, error) {
		t.Error("cache-only: Check")
		return false, errors.New("no check")
	}
	wd.Prompter = func(bool) (Prompter, bool, func()) {
		t.Error("cache-only: a prompt opened")
		return nil, false, func() {}
	}
	return wd, nil
}

// CacheOnly answers exactly as without it, or fails with ErrCacheOnly
// having asked for no sign-in, check, lock, miss record or write.
func TestCacheOnly(t *testing.T) {
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	fresh := cache.Entry{AccessToken: cachedTok, ObtainedAt: now.Add(-10 * time.Minute), ExpiresAt: now.Add(time.Hour)}
	due := fresh
	due.ObtainedAt = now.Add(-2 * time.Hour)
	expired := fresh
	expired.ExpiresAt = now.Add(time.Minute) // inside the margin
	envTok := jwtWith(`{"typ":"authos-management+jwt"}`, fmt.Sprintf(`{"iss":"https://sso.example","aud":"service:acme/cli","sub":"ci","exp":%d}`, now.Add(time.Hour).Unix()))

	type verb struct {
		name string
		// mine and other ask about a host a profile serves, and one only
		// a stored record (or nothing) answers for.
		mine, other func(context.Context, *Credentials) (any, error)
	}
	gitReq := func(host string) protocol.GitRequest {
		return protocol.GitRequest{Protocol: "https", Host: host, Path: "repo.git"}
	}
	verbs := []verb{
		{"GitGet",
			func(ctx context.Context, c *Credentials) (any, error) {
				a, ok, err := c.GitGet(ctx, Selector{}, gitReq("git.acme.example"))
				return []any{a, ok}, err
			},
			func(ctx context.Context, c *Credentials) (any, error) {
				a, ok, err := c.GitGet(ctx, Selector{}, gitReq("git.other.example"))
				return []any{a, ok}, err
			}},
		{"DockerGet",
			func(ctx context.Context, c *Credentials) (any, error) {
				return c.DockerGet(ctx, "registry.acme.example")
			},
			func(ctx context.Context, c *Credentials) (any, error) {
				return c.DockerGet(ctx, "registry.other.example")
			}},
		{"TerraformGet",
			func(ctx context.Context, c *Credentials) (any, error) {
				return c.TerraformGet(ctx, Selector{}, "tf.acme.example")
			},
			func(ctx context.Context, c *Credentials) (any, error) {
				return c.TerraformGet(ctx, Selector{}, "tf.other.example")
			}},
		{"Token",
			func(ctx context.Context, c *Credentials) (any, error) { return c.Token(ctx, Selector{Profile: "acme"}) },
			func(ctx context.Context, c *Credentials) (any, error) {
				return c.Token(ctx, Selector{Profile: "other"})
			}},
	}
	stored := map[string][]byte{
		DockerRecordName("registry.other.example"): []byte(`{"ServerURL":"registry.other.example","Username":"bob","Secret":"s3cret"}`),
		TerraformRecordName("tf.other.example"):    []byte(`{"Token":"t","Raw":{"token":"t"}}`),
	}
	cases := []struct {
		name    string
		world   onlyWorld
		other   bool // ask about the host no profile serves
		wantErr bool // CacheOnly fails with ErrCacheOnly
	}{
		{name: "hit", world: onlyWorld{entries: map[string]cache.Entry{id.Key(): fresh}}},
		{name: "miss", world: onlyWorld{}, wantErr: true},
		{name: "corrupt", world: onlyWorld{corrupt: true}, wantErr: true},
		{name: "expired", world: onlyWorld{entries: map[string]cache.Entry{id.Key(): expired}}, wantErr: true},
		{name: "due for revalidation", world: onlyWorld{entries: map[string]cache.Entry{id.Key(): due}}, wantErr: true},
		{name: "env token", world: onlyWorld{env: map[string]string{TokenVar: envTok}}},
		{name: "stored record", world: onlyWorld{entries: map[string]cache.Entry{id.Key(): fresh}, records: stored}, other: true},
		{name: "not mine", world: onlyWorld{entries: map[string]cache.Entry{id.Key(): fresh}}, other: true},
	}
	for _, v := range verbs {
		for _, tc := range cases {
			t.Run(v.name+"/"+tc.name, func(t *testing.T) {
				call := v.mine
				if tc.other {
					call = v.other
				}
				run := func(cacheOnly bool) (any, error) {
					w := tc.world
					w.t, w.cacheOnly, w.now = t, cacheOnly, now
					return call(context.Background(), &Credentials{Source: &w})
				}
				want, wantErr := run(false)
				got, err := run(true)
				if errors.Is(err, ErrCacheOnly) {
					if !tc.wantErr {
						t.Fatalf("cache-only failed (%v) where it should answer %v, %v", err, want, wantErr)
					}
					return
				}
				if tc.wantErr {
					t.Fatalf("cache-only answered %v, %v; want ErrCacheOnly", got, err)
				}
				if !reflect.DeepEqual(got, want) || fmt.Sprint(err) != fmt.Sprint(wantErr) {
					t.Fatalf("cache-only: %+v, %v\nwithout:    %+v, %v", got, err, want, wantErr)
				}
			})
		}
	}
}

// The verbs that write fail with ErrCacheOnly before writing; what they
// would leave alone, and the read-only list, answer as always.
func TestCacheOnlyWrites(t *testing.T) {
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	fresh := cache.Entry{AccessToken: cachedTok, ObtainedAt: now.Add(-10 * time.Minute), ExpiresAt: now.Add(time.Hour)}
	erase := func(password string) func(*Credentials) error {
		return func(c *Credentials) error {
			_, err := c.GitErase(Selector{}, protocol.GitRequest{Protocol: "https", Host: "git.acme.example", Path: "repo.git", Password: password})
			return err
		}
	}
	tests := []struct {
		name    string
		call    func(*Credentials) error
		wantErr bool
	}{
		{"git erase of the token served", erase(cachedTok), true},
		{"git erase of another token", erase("someone else's"), false},
		{"docker store for a registry no profile serves", func(c *Credentials) error {
			return c.DockerStore(protocol.DockerCredentials{ServerURL: "registry.other.example", Username: "bob", Secret: "s"})
		}, true},
		{"docker store of our own token", func(c *Credentials) error {
			return c.DockerStore(protocol.DockerCredentials{ServerURL: "registry.acme.example", Username: "oauth2", Secret: cachedTok})
		}, false},
		{"docker erase", func(c *Credentials) error { _, err := c.DockerErase("registry.acme.example"); return err }, true},
		{"docker list", func(c *Credentials) error { _, err := c.DockerList(); return err }, false},
		{"terraform store", func(c *Credentials) error {
			return c.TerraformStore("tf.other.example", protocol.TerraformCredentials{Token: "t"})
		}, true},
		{"terraform forget", func(c *Credentials) error { _, err := c.TerraformForget(Selector{}, "tf.acme.example"); return err }, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := onlyWorld{t: t, cacheOnly: true, now: now, entries: map[string]cache.Entry{id.Key(): fresh}}
			err := tc.call(&Credentials{Source: &w})
			if errors.Is(err, ErrCacheOnly) != tc.wantErr || (!tc.wantErr && err != nil) {
				t.Fatalf("err = %v, want ErrCacheOnly: %v", err, tc.wantErr)
			}
		})
	}
}

// Helper.Token's own flag: a forced sign-in is more than the cache, and
// is refused before the lock.
func TestTokenCacheOnlyForce(t *testing.T) {
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	c := newMemCache()
	c.entries[id.Key()] = cache.Entry{AccessToken: cachedTok, ObtainedAt: now.Add(-10 * time.Minute), ExpiresAt: now.Add(time.Hour)}
	h := &Helper{Cache: strictCache{c, t}, Locks: strictLocker{t}, Now: func() time.Time { return now }}
	if _, err := h.Token(context.Background(), Request{Identity: id, Force: true, CacheOnly: true}); !errors.Is(err, ErrCacheOnly) {
		t.Fatalf("forced: %v", err)
	}
	if cred, err := h.Token(context.Background(), Request{Identity: id, CacheOnly: true}); err != nil || cred.Token != cachedTok {
		t.Fatalf("hit: %+v, %v", cred, err)
	}
}
