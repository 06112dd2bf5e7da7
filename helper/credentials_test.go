package helper

import (
	"context"
	"encoding/json"
	"errors"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/authos/authos-credential-helper/cache"
	"github.com/authos/authos-credential-helper/internal/authos"
	"github.com/authos/authos-credential-helper/internal/config"
	"github.com/authos/authos-credential-helper/protocol"
)

// memRecords is the store's record side in memory.
type memRecords struct {
	recs    map[string][]byte
	corrupt map[string]bool
}

func newMemRecords() *memRecords {
	return &memRecords{recs: map[string][]byte{}, corrupt: map[string]bool{}}
}

func (m *memRecords) Has(name string) bool { _, ok := m.recs[name]; return ok || m.corrupt[name] }
func (m *memRecords) Names(prefix string) ([]string, error) {
	var out []string
	for _, n := range slices.Sorted(maps.Keys(m.recs)) {
		if strings.HasPrefix(n, prefix) {
			out = append(out, n)
		}
	}
	return out, nil
}
func (m *memRecords) GetRecord(name string, v any) error {
	if m.corrupt[name] {
		return cache.ErrCorrupt
	}
	b, ok := m.recs[name]
	if !ok {
		return cache.ErrMiss
	}
	return json.Unmarshal(b, v)
}
func (m *memRecords) PutStatic(name string, v any) error {
	b, err := json.Marshal(v)
	m.recs[name] = b
	return err
}
func (m *memRecords) Delete(name string) error {
	delete(m.recs, name)
	delete(m.corrupt, name)
	return nil
}

// credWorld is a Credentials over memory, with "acme"'s token cached.
type credWorld struct {
	c       *Credentials
	text    []byte
	cache   *memCache
	records *memRecords
	opens   int
	logins  int
	misses  missList
}

type missList []cache.Miss

func (l *missList) Record(m cache.Miss) error { *l = append(*l, m); return nil }

const acmeProfile = `[profiles.acme]
server = "https://sso.example"
org = "acme"
service = "cli"
client_id = "acme-cli"
`

func newCredWorld(t testing.TB, patterns string) *credWorld {
	t.Helper()
	w := &credWorld{cache: newMemCache(), records: newMemRecords(), text: []byte(acmeProfile + patterns)}
	now := time.Now()
	w.cache.entries[id.Key()] = cache.Entry{AccessToken: cachedTok, ObtainedAt: now, ExpiresAt: now.Add(time.Hour)}
	w.c = &Credentials{Source: w}
	return w
}

func (w *credWorld) ConfigText() ([]byte, error) { return w.text, nil }
func (w *credWorld) Stored(name string) bool     { return w.records.Has(name) }
func (w *credWorld) Getenv(string) string        { return "" }
func (w *credWorld) Open(raw []byte, _ *Need) (*Wired, error) {
	w.opens++
	cfg, err := config.Parse("config.toml", raw)
	if err != nil {
		return nil, err
	}
	h := &Helper{Cache: w.cache, Locks: busyLocker{}, Login: func(context.Context, Identity, Prompter) (authos.Token, error) {
		w.logins++
		return authos.Token{}, errors.New("no sign-in in this test")
	}}
	return &Wired{Config: cfg, Helper: h, Records: w.records, Misses: &w.misses}, nil
}

// Hosts the config does not mention are "not mine" without parsing it,
// unless a record for them is stored.
func TestCredentialsPreFilter(t *testing.T) {
	ctx := context.Background()
	w := newCredWorld(t, `git = ["https://git.acme.example/"]`+"\n")
	if _, ok, err := w.c.GitGet(ctx, Selector{}, protocol.GitRequest{Protocol: "https", Host: "git.other.example"}); ok || err != nil {
		t.Fatalf("git other host: %v %v", ok, err)
	}
	if _, err := w.c.DockerGet(ctx, "registry.other.example"); !errors.Is(err, protocol.ErrDockerNotFound) {
		t.Fatalf("docker other host: %v", err)
	}
	if a, err := w.c.TerraformGet(ctx, Selector{}, "tf.other.example"); a != (TerraformAnswer{}) || err != nil {
		t.Fatalf("terraform other host: %+v %v", a, err)
	}
	if w.opens != 0 {
		t.Fatalf("the config was parsed %d times for hosts it does not mention", w.opens)
	}
	// Explicit identity flags are refused, which needs the config.
	if _, _, err := w.c.GitGet(ctx, Selector{Server: "https://x"}, protocol.GitRequest{Protocol: "https", Host: "git.other.example"}); err == nil || w.opens != 1 {
		t.Fatalf("git --server: %v, opens %d", err, w.opens)
	}
	w.records.recs[TerraformRecordName("tf.other.example")] = []byte(`{"Token":"t","Raw":{"token":"t"}}`)
	if a, err := w.c.TerraformGet(ctx, Selector{}, "tf.other.example"); err != nil || a.Stored == nil || a.Stored.Token != "t" || w.opens != 2 {
		t.Fatalf("terraform stored: %+v %v, opens %d", a, err, w.opens)
	}
}

func TestCredentialsGit(t *testing.T) {
	ctx := context.Background()
	w := newCredWorld(t, `git = ["https://git.acme.example/", "https://git.acme.example/team/"]`+"\nusername = \"ci\"\n")
	req := protocol.GitRequest{Protocol: "https", Host: "GIT.acme.example", Path: "team/repo.git"}
	a, ok, err := w.c.GitGet(ctx, Selector{}, req)
	if err != nil || !ok || a.Username != "ci" || a.Password != cachedTok || a.Expiry.IsZero() {
		t.Fatalf("GitGet = %+v %v %v", a, ok, err)
	}
	// erase evicts only the token we served.
	for _, tt := range []struct {
		password string
		evicted  bool
	}{{"someone else's", false}, {"", false}, {cachedTok, true}} {
		req.Password = tt.password
		d, err := w.c.GitErase(Selector{}, req)
		if err != nil {
			t.Fatal(err)
		}
		if d.Found != tt.evicted || (tt.evicted && d.Identity.Profile != "acme") {
			t.Fatalf("erase with password %q: Dropped = %+v", tt.password, d)
		}
		if _, cached := w.cache.entries[id.Key()]; cached == tt.evicted {
			t.Fatalf("erase with password %q: evicted=%v, want %v", tt.password, !cached, tt.evicted)
		}
	}
	// Nothing cached and nobody to prompt: the command to run.
	var lre *LoginRequiredError
	if _, _, err := w.c.GitGet(ctx, Selector{}, req); !errors.As(err, &lre) || w.logins != 0 {
		t.Fatalf("miss: %v, logins %d", err, w.logins)
	}
}

func TestCredentialsDocker(t *testing.T) {
	ctx := context.Background()
	for _, alias := range []string{"docker.io", "https://index.docker.io/v1/", "registry-1.docker.io", "Registry.Hub.Docker.com"} {
		w := newCredWorld(t, `docker = ["`+alias+`"]`+"\n")
		for _, asked := range []string{"https://index.docker.io/v1/", "docker.io", "registry.hub.docker.com"} {
			c, err := w.c.DockerGet(ctx, asked)
			if err != nil || c.Secret != cachedTok || c.ServerURL != asked || c.Username != "oauth2" {
				t.Errorf("pattern %q, get %q = %+v, %v", alias, asked, c, err)
			}
		}
	}

	w := newCredWorld(t, `docker = ["registry.acme.example"]`+"\n")
	// A registry a profile serves: our own token handed back, nothing kept.
	if err := w.c.DockerStore(protocol.DockerCredentials{ServerURL: "https://registry.acme.example", Username: "oauth2", Secret: cachedTok}); err != nil || len(w.records.recs) != 0 {
		t.Fatalf("store for a served registry: %v, records %v", err, w.records.recs)
	}
	// Any other: kept under its name, served back, listed, erased.
	bob := protocol.DockerCredentials{ServerURL: "registry.other.example", Username: "bob", Secret: "s3cret"}
	if err := w.c.DockerStore(bob); err != nil {
		t.Fatal(err)
	}
	if _, ok := w.records.recs[DockerRecordName("registry.other.example")]; !ok || !strings.HasPrefix(DockerRecordName("x"), "docker-") {
		t.Fatalf("records %v", slices.Collect(maps.Keys(w.records.recs)))
	}
	if c, err := w.c.DockerGet(ctx, "registry.other.example"); err != nil || c != bob {
		t.Fatalf("get stored = %+v, %v", c, err)
	}
	if l, err := w.c.DockerList(); err != nil || !maps.Equal(l, map[string]string{"registry.other.example": "bob"}) {
		t.Fatalf("list = %v, %v", l, err)
	}
	w.records.corrupt[DockerRecordName("registry.other.example")] = true
	if _, err := w.c.DockerGet(ctx, "registry.other.example"); !errors.Is(err, protocol.ErrDockerNotFound) {
		t.Fatalf("unreadable stored: %v", err)
	}
	if l, err := w.c.DockerList(); err != nil || len(l) != 0 {
		t.Fatalf("list with an unreadable record = %v, %v", l, err)
	}
	if d, err := w.c.DockerErase("registry.other.example"); err != nil || d != (Dropped{}) || len(w.records.recs)+len(w.records.corrupt) != 0 {
		t.Fatalf("erase: %+v %v, left %v %v", d, err, w.records.recs, w.records.corrupt)
	}
	if _, cached := w.cache.entries[id.Key()]; !cached {
		t.Fatal("erasing another registry dropped the profile's token")
	}
}

func TestCredentialsTerraform(t *testing.T) {
	ctx := context.Background()
	w := newCredWorld(t, `terraform = ["TF.acme.example:443"]`+"\n")
	if a, err := w.c.TerraformGet(ctx, Selector{}, "tf.acme.example"); err != nil || a.Token != cachedTok || a.Stored != nil {
		t.Fatalf("served host = %+v, %v", a, err)
	}
	if _, err := w.c.TerraformGet(ctx, Selector{Profile: "nope"}, "tf.acme.example"); err == nil {
		t.Fatal("an unknown --profile is no error")
	}
	in := protocol.TerraformCredentials{Token: "t", Raw: json.RawMessage(`{"token":"t","extra":[1]}`)}
	if err := w.c.TerraformStore("app.terraform.io", in); err != nil {
		t.Fatal(err)
	}
	a, err := w.c.TerraformGet(ctx, Selector{}, "app.terraform.io")
	if err != nil || a.Stored == nil || string(a.Stored.Raw) != string(in.Raw) {
		t.Fatalf("stored = %+v, %v", a, err)
	}
	if d, err := w.c.TerraformForget(Selector{}, "app.terraform.io"); err != nil || d != (Dropped{}) {
		t.Fatal(d, err)
	}
	if a, err := w.c.TerraformGet(ctx, Selector{}, "app.terraform.io"); err != nil || a != (TerraformAnswer{}) {
		t.Fatalf("after forget = %+v, %v", a, err)
	}
}

func TestCredentialsToken(t *testing.T) {
	w := newCredWorld(t, "")
	if c, err := w.c.Token(context.Background(), Selector{Profile: "acme"}); err != nil || c.Token != cachedTok {
		t.Fatalf("Token = %+v, %v", c, err)
	}
	var ie *IdentityError
	if _, err := w.c.Token(context.Background(), Selector{Org: "acme"}); !errors.As(err, &ie) {
		t.Fatalf("incomplete identity: %v", err)
	}
}

// TestClientLogoutDropsTheServedToken: `docker logout` and `terraform
// logout` for a host a profile serves drop its identity's token, however
// the client spells the host; for other hosts the token stays.
func TestClientLogoutDropsTheServedToken(t *testing.T) {
	patterns := `docker = ["registry.acme.example"]` + "\n" + `terraform = ["tf.acme.example"]` + "\n"
	tests := []struct {
		name    string
		logout  func(c *Credentials) (Dropped, error)
		dropped bool
	}{
		{"docker logout, bare host", func(c *Credentials) (Dropped, error) { return c.DockerErase("registry.acme.example") }, true},
		{"docker logout, URL", func(c *Credentials) (Dropped, error) { return c.DockerErase("https://Registry.Acme.example/v2/") }, true},
		{"docker logout, other registry", func(c *Credentials) (Dropped, error) { return c.DockerErase("registry.other.example") }, false},
		{"terraform logout", func(c *Credentials) (Dropped, error) { return c.TerraformForget(Selector{}, "tf.acme.example") }, true},
		{"terraform logout, --profile", func(c *Credentials) (Dropped, error) {
			return c.TerraformForget(Selector{Profile: "acme"}, "tf.acme.example")
		}, true},
		{"terraform logout, other host", func(c *Credentials) (Dropped, error) { return c.TerraformForget(Selector{}, "app.terraform.io") }, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := newCredWorld(t, patterns)
			d, err := tc.logout(w.c)
			if err != nil {
				t.Fatal(err)
			}
			_, cached := w.cache.entries[id.Key()]
			if cached == tc.dropped || d.Found != tc.dropped || (tc.dropped && d.Identity.Profile != "acme") {
				t.Fatalf("Dropped = %+v, still cached = %v; want dropped = %v", d, cached, tc.dropped)
			}
			// Again: nothing left to drop, but still the profile's host.
			if d, err := tc.logout(w.c); err != nil || d.Found || (d.Identity.Profile == "acme") != tc.dropped {
				t.Fatalf("second logout: %+v %v", d, err)
			}
		})
	}
}

// TestNonInteractiveMissesAreRecorded: each client's miss with nobody to
// prompt is kept (client, host, identity, time) for status and doctor.
func TestNonInteractiveMissesAreRecorded(t *testing.T) {
	ctx := context.Background()
	w := newCredWorld(t, `git = ["https://git.acme.example/"]`+"\n"+`docker = ["registry.acme.example"]`+"\n"+`terraform = ["tf.acme.example"]`+"\n")
	delete(w.cache.entries, id.Key())
	w.c.GitGet(ctx, Selector{}, protocol.GitRequest{Protocol: "https", Host: "git.acme.example"})
	w.c.DockerGet(ctx, "registry.acme.example")
	w.c.TerraformGet(ctx, Selector{}, "tf.acme.example")
	w.c.Token(ctx, Selector{Profile: "acme"})
	var got []string
	for _, m := range w.misses {
		if m.Entry != id.Key() || m.Identity != "acme/cli at sso.example" || m.Login != "authos-credential-helper login --profile acme" || m.At.IsZero() {
			t.Errorf("miss %+v", m)
		}
		got = append(got, m.Client+" "+m.Host)
	}
	if want := []string{"git git.acme.example", "docker registry.acme.example", "terraform tf.acme.example", "kubectl "}; !slices.Equal(got, want) {
		t.Fatalf("recorded %q, want %q", got, want)
	}
	if w.logins != 0 {
		t.Fatalf("%d sign-ins with nobody watching", w.logins)
	}
}

func TestSignInNeeded(t *testing.T) {
	now := time.Date(2026, 12, 1, 10, 3, 0, 0, time.Local)
	c := newMemCache()
	h := &Helper{Cache: c, Now: func() time.Time { return now }}
	m := cache.Miss{Client: "terraform", Host: "tf.acme.example", Entry: id.Key(), Identity: id.String(), Login: "authos-credential-helper login --profile acme", At: now.Add(-time.Minute)}
	if got := h.SignInNeeded([]cache.Miss{m}); len(got) != 1 {
		t.Fatalf("nothing cached: %v", got)
	}
	if got, want := MissText(m, now), "sign-in needed: terraform asked for tf.acme.example at 10:02 with no terminal to show a sign-in on; run: authos-credential-helper login --profile acme"; got != want {
		t.Fatalf("MissText\n %q\nwant\n %q", got, want)
	}
	c.entries[id.Key()] = cache.Entry{AccessToken: cachedTok, ObtainedAt: now, ExpiresAt: now.Add(time.Hour)}
	if got := h.SignInNeeded([]cache.Miss{m}); len(got) != 0 {
		t.Fatalf("signed in since: %v", got)
	}
}
