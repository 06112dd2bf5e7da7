package keyring

import (
	"bytes"
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	ring "github.com/99designs/keyring"

	"github.com/authos/authos-credential-helper/cache"
)

// TestKeyringBackends stores, reads and removes a data key in each backend
// that needs no desktop: the kernel keyring (linux) and the file backend.
func TestKeyringBackends(t *testing.T) {
	var backends []string
	for _, b := range []string{"keyctl", "file"} {
		if slices.Contains(CompiledBackends(), b) {
			backends = append(backends, b)
		}
	}
	for _, backend := range backends {
		t.Run(backend, func(t *testing.T) {
			t.Setenv("AUTHOS_CACHE_PASSPHRASE", "test passphrase")
			dir := t.TempDir()
			k := New(Options{Backend: backend, Item: "test-" + filepath.Base(dir), FileDir: filepath.Join(dir, "keyring")})
			if _, err := k.Load(); !errors.Is(err, cache.ErrMiss) {
				t.Fatalf("Load on empty = %v", err)
			}
			want := bytes.Repeat([]byte{42}, 32)
			if err := k.Save(want); err != nil {
				t.Fatal(err)
			}
			got, err := k.Load()
			if err != nil || !bytes.Equal(got, want) {
				t.Fatalf("Load = %x, %v", got, err)
			}
			// A fresh handle (as in a new process) sees it too.
			k2 := New(Options{Backend: backend, Item: "test-" + filepath.Base(dir), FileDir: filepath.Join(dir, "keyring")})
			if got, err := k2.Load(); err != nil || !bytes.Equal(got, want) {
				t.Fatalf("second handle Load = %x, %v", got, err)
			}
			if err := k.Remove(); err != nil {
				t.Fatal(err)
			}
			if _, err := k2.Load(); !errors.Is(err, cache.ErrMiss) {
				t.Fatalf("after Remove: %v", err)
			}
		})
	}
}

func TestKeyringAutoRemembersChoice(t *testing.T) {
	t.Setenv("AUTHOS_CACHE_PASSPHRASE", "")
	dir := t.TempDir()
	k := New(Options{Backend: "auto", Item: "test-auto-" + filepath.Base(dir), StateDir: dir})
	name, err := k.Backend()
	if err != nil {
		t.Fatalf("auto found no backend here: %v", err)
	}
	k2 := New(Options{Backend: "auto", Item: "test-auto-" + filepath.Base(dir), StateDir: dir})
	if n2, _ := k2.Backend(); n2 != name {
		t.Fatalf("second open chose %q, first %q", n2, name)
	}
}

func TestKeyringUnknownBackend(t *testing.T) {
	_, err := New(Options{Backend: "plaintext"}).Backend()
	if err == nil {
		t.Fatal("accepted an unknown backend")
	}
}

// TestAutoProbeIsBounded: a backend that hangs (D-Bus activation, an
// invisible unlock prompt) is given up after the probe timeout and the next
// candidate is used; the choice is remembered.
func TestAutoProbeIsBounded(t *testing.T) {
	dir := t.TempDir()
	k := New(Options{Backend: "auto", Item: "x", StateDir: dir, ProbeTimeout: 50 * time.Millisecond})
	hang := make(chan struct{})
	defer close(hang)
	k.candidates = func() []string { return []string{"secret-service", "file"} }
	k.openFn = func(name string) (ring.Keyring, error) {
		if name == "secret-service" {
			<-hang
		}
		return ring.NewArrayKeyring(nil), nil
	}
	start := time.Now()
	name, err := k.Backend()
	if err != nil || name != "file" {
		t.Fatalf("Backend = %q, %v; want the next candidate", name, err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("probe took %v", d)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "backend")); strings.TrimSpace(string(b)) != "file" {
		t.Fatalf("remembered %q", b)
	}
}

func TestAutoWithNothingUsableNamesTheFix(t *testing.T) {
	k := New(Options{Backend: "auto", Item: "x", StateDir: t.TempDir()})
	k.candidates = func() []string { return []string{"keyctl"} }
	k.openFn = func(string) (ring.Keyring, error) { return nil, errors.New("operation not permitted") }
	_, err := k.Backend()
	if err == nil || !strings.Contains(err.Error(), "fix:") || !strings.Contains(err.Error(), "never falls back to plaintext") || !strings.Contains(err.Error(), "operation not permitted") {
		t.Fatalf("err = %v", err)
	}
}

func entry(token string) cache.Entry {
	return cache.Entry{Server: "https://sso.example", Org: "acme", Service: "cli", ClientID: "acme-cli",
		AccessToken: token, TokenType: "Bearer", ExpiresAt: time.Unix(2000000000, 0).UTC(), ObtainedAt: time.Unix(1900000000, 0).UTC(), Email: "a@example"}
}

// fileRing is a file-backend Keyring in dir with passphrase pw, kernel
// copy off (so every Load reads the file), warnings collected.
func fileRing(t *testing.T, dir, pw string, warnings *[]string) *Keyring {
	t.Helper()
	return fileRingAs(t, "file", dir, pw, warnings)
}

// fileRingAs is fileRing with the backend configured as backend ("auto"
// remembering its choice in dir).
func fileRingAs(t *testing.T, backend, dir, pw string, warnings *[]string) *Keyring {
	t.Helper()
	return New(Options{
		Backend: backend, Item: "cache-key-test", FileDir: filepath.Join(dir, "keyring"), StateDir: dir,
		Getenv: func(k string) string {
			if k == "AUTHOS_CACHE_PASSPHRASE" {
				return pw
			}
			return ""
		},
		Warn: func(m string) { *warnings = append(*warnings, m) },
	})
}

// TestFileKeyDamagedIsReplaced: a data key file that a crash left empty or
// cut short is reported once, naming the file, reads as a missing key, and
// the next Put makes a new one; the entry sealed under the old one is then
// a corrupt entry that Put replaces.
func TestFileKeyDamagedIsReplaced(t *testing.T) {
	tests := []struct {
		name   string
		damage func(b []byte) []byte
	}{
		{"empty", func([]byte) []byte { return nil }},
		{"cut in half", func(b []byte) []byte { return b[:len(b)/2] }},
		{"cut in the tag", func(b []byte) []byte { return b[:len(b)-3] }},
		{"not a keyring item", func([]byte) []byte { return []byte("hello") }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			var warnings []string
			k := fileRing(t, dir, "pw", &warnings)
			s := &cache.Store{Dir: filepath.Join(dir, "tokens"), Keys: k}
			if err := s.Put("id1", entry("tok-1")); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(dir, "keyring", "cache-key-test")
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			os.WriteFile(path, tc.damage(b), 0o600)

			k = fileRing(t, dir, "pw", &warnings) // a new process
			s.Keys = k
			_, err = s.Get("id1")
			if !errors.Is(err, cache.ErrCorrupt) || !strings.Contains(cache.Reason(err), "damaged") {
				t.Fatalf("Get = %v, want cache.ErrCorrupt for a damaged key", err)
			}
			if err := s.Ready(); err != nil {
				t.Fatalf("Ready = %v; a damaged key must not stop a sign-in", err)
			}
			if err := s.Put("id1", entry("tok-2")); err != nil {
				t.Fatalf("Put = %v", err)
			}
			if e, err := s.Get("id1"); err != nil || e.AccessToken != "tok-2" {
				t.Fatalf("after Put: %+v, %v", e, err)
			}
			if len(warnings) != 1 || !strings.Contains(warnings[0], path) || !strings.Contains(warnings[0], "damaged") {
				t.Fatalf("warnings = %q, want one naming %s", warnings, path)
			}
			if e, err := fileRing(t, dir, "pw", &warnings).Load(); err != nil || len(e) != 32 {
				t.Fatalf("a new process reads the new key: %v", err)
			}
		})
	}
}

// TestFileKeyWrongPassphrase: a whole key file that does not open with the
// passphrase is named as such, and is never replaced.
func TestFileKeyWrongPassphrase(t *testing.T) {
	dir := t.TempDir()
	var warnings []string
	s := &cache.Store{Dir: filepath.Join(dir, "tokens"), Keys: fileRing(t, dir, "right", &warnings)}
	if err := s.Put("id1", entry("tok-1")); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "keyring", "cache-key-test")
	before, _ := os.ReadFile(path)
	s.Keys = fileRing(t, dir, "wrong", &warnings)
	want := "wrong passphrase for the file keyring at " + path
	if _, err := s.Get("id1"); err == nil || errors.Is(err, cache.ErrCorrupt) || !strings.Contains(err.Error(), want) || strings.Contains(err.Error(), "KeyUnwrap") {
		t.Fatalf("Get = %v, want %q", err, want)
	}
	if err := s.Ready(); err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("Ready = %v, want %q", err, want)
	}
	if err := s.Put("id1", entry("tok-2")); err == nil {
		t.Fatal("Put with the wrong passphrase made a new key")
	}
	if after, _ := os.ReadFile(path); !bytes.Equal(before, after) || len(warnings) != 0 {
		t.Fatalf("the key file changed or a warning was given (%q)", warnings)
	}
}

// crashingRing is a keyring whose Set dies half way through writing, as
// keyring v1.2.2's file backend does when killed (O_TRUNC, then write).
type crashingRing struct {
	ring.Keyring
	dir string
}

func (c crashingRing) Set(i ring.Item) error {
	if err := c.Keyring.Set(i); err != nil {
		return err
	}
	p := filepath.Join(c.dir, i.Key)
	b, _ := os.ReadFile(p)
	os.WriteFile(p, b[:len(b)/2], 0o600)
	return errors.New("killed")
}

// TestFileKeySaveIsAtomic: a Save that dies while writing leaves the old
// key whole.
func TestFileKeySaveIsAtomic(t *testing.T) {
	dir := t.TempDir()
	var warnings []string
	k := fileRing(t, dir, "pw", &warnings)
	old := bytes.Repeat([]byte{1}, 32)
	if err := k.Save(old); err != nil {
		t.Fatal(err)
	}
	k = fileRing(t, dir, "pw", &warnings)
	k.openFn = func(name string) (ring.Keyring, error) {
		r, err := k.openOne(name)
		return crashingRing{r, filepath.Join(dir, "keyring")}, err
	}
	if err := k.Save(bytes.Repeat([]byte{2}, 32)); err == nil {
		t.Fatal("the crashing Save succeeded")
	}
	if got, err := fileRing(t, dir, "pw", &warnings).Load(); err != nil || !bytes.Equal(got, old) {
		t.Fatalf("after a crash during Save: %x, %v; want the old key", got, err)
	}
}

// TestAutoProbeAcceptsDamagedFileKey: auto mode keeps the file backend
// when its key file is damaged (Load reports it and a new key replaces it)
// instead of failing with "no usable keyring".
func TestAutoProbeAcceptsDamagedFileKey(t *testing.T) {
	dir := t.TempDir()
	var warnings []string
	ring := filepath.Join(dir, "keyring")
	os.MkdirAll(ring, 0o700)
	os.WriteFile(filepath.Join(ring, "cache-key-test"), nil, 0o600)
	k := fileRingAs(t, "auto", dir, "pw", &warnings)
	k.candidates = func() []string { return []string{"file"} }
	if name, err := k.Backend(); err != nil || name != "file" {
		t.Fatalf("Backend = %q, %v", name, err)
	}
	if _, err := k.Load(); !errors.Is(err, cache.ErrMiss) {
		t.Fatalf("Load = %v, want a damaged key (cache.ErrMiss)", err)
	}
}

// TestHitLooksForKernelCopyOnlyWhenOneCanExist: a hit with the kernel
// keyring as the backend (chosen, or remembered by auto) makes no lookup
// for a kernel copy, which is never made for it; other backends look there
// first.
func TestHitLooksForKernelCopyOnlyWhenOneCanExist(t *testing.T) {
	key := bytes.Repeat([]byte{7}, 32)
	tests := []struct {
		name, backend, memo string
		wantLookups         int
	}{
		{"auto, keyctl remembered", "auto", "keyctl\n", 0},
		{"keyctl chosen", "keyctl", "", 0},
		{"auto, file remembered", "auto", "file\n", 1},
		{"file chosen", "file", "", 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if tc.memo != "" {
				if err := os.WriteFile(filepath.Join(dir, "backend"), []byte(tc.memo), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			k := New(Options{Backend: tc.backend, Item: "item", StateDir: dir, KernelCache: time.Hour})
			arr := ring.NewArrayKeyring([]ring.Item{{Key: "item", Data: []byte(base64.StdEncoding.EncodeToString(key))}})
			k.candidates = func() []string { return []string{"keyctl", "file"} }
			k.openFn = func(string) (ring.Keyring, error) { return arr, nil }
			lookups := 0
			k.kernelGet = func(c cache.KernelCopy) []byte {
				if c.TTL > 0 {
					lookups++
				}
				return nil
			}
			got, err := k.Load()
			if err != nil || !bytes.Equal(got, key) {
				t.Fatalf("Load = %x, %v", got, err)
			}
			if lookups != tc.wantLookups {
				t.Fatalf("%d kernel copy lookups, want %d", lookups, tc.wantLookups)
			}
		})
	}
}

// A Mac build without cgo says it has no Keychain instead of suggesting a
// Linux desktop's Secret Service.
func TestNoBackendFix(t *testing.T) {
	for _, tt := range []struct {
		goos string
		cgo  bool
		want string
	}{
		{"darwin", false, "no macOS Keychain"},
		{"darwin", true, "AUTHOS_CACHE_BACKEND=file"},
		{"linux", false, "Secret Service"},
		{"windows", false, "AUTHOS_CACHE_BACKEND=file"},
	} {
		if got := noBackendFix(tt.goos, tt.cgo); !strings.Contains(got, tt.want) {
			t.Errorf("noBackendFix(%s, cgo=%v) = %q, want %q in it", tt.goos, tt.cgo, got, tt.want)
		}
	}
}
