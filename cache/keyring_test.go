package cache

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/99designs/keyring"
)

// TestKeyringBackends stores, reads and removes a data key in each backend
// that needs no desktop: the kernel keyring (linux) and the file backend.
func TestKeyringBackends(t *testing.T) {
	for _, backend := range []string{"keyctl", "file"} {
		t.Run(backend, func(t *testing.T) {
			if !slices.Contains(CompiledBackends(), backend) {
				t.Skipf("%s is not compiled in on this OS", backend)
			}
			t.Setenv("AUTHOS_CACHE_PASSPHRASE", "test passphrase")
			dir := t.TempDir()
			k := NewKeyring(KeyringOptions{Backend: backend, Item: "test-" + filepath.Base(dir), FileDir: filepath.Join(dir, "keyring")})
			if _, err := k.Load(); !errors.Is(err, ErrMiss) {
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
			k2 := NewKeyring(KeyringOptions{Backend: backend, Item: "test-" + filepath.Base(dir), FileDir: filepath.Join(dir, "keyring")})
			if got, err := k2.Load(); err != nil || !bytes.Equal(got, want) {
				t.Fatalf("second handle Load = %x, %v", got, err)
			}
			if err := k.Remove(); err != nil {
				t.Fatal(err)
			}
			if _, err := k2.Load(); !errors.Is(err, ErrMiss) {
				t.Fatalf("after Remove: %v", err)
			}
		})
	}
}

func TestKeyringAutoRemembersChoice(t *testing.T) {
	t.Setenv("AUTHOS_CACHE_PASSPHRASE", "")
	dir := t.TempDir()
	k := NewKeyring(KeyringOptions{Backend: "auto", Item: "test-auto-" + filepath.Base(dir), StateDir: dir})
	name, err := k.Backend()
	if err != nil {
		t.Fatalf("auto found no backend here: %v", err)
	}
	k2 := NewKeyring(KeyringOptions{Backend: "auto", Item: "test-auto-" + filepath.Base(dir), StateDir: dir})
	if n2, _ := k2.Backend(); n2 != name {
		t.Fatalf("second open chose %q, first %q", n2, name)
	}
}

func TestKeyringUnknownBackend(t *testing.T) {
	_, err := NewKeyring(KeyringOptions{Backend: "plaintext"}).Backend()
	if err == nil {
		t.Fatal("accepted an unknown backend")
	}
}

// TestAutoProbeIsBounded: a backend that hangs (D-Bus activation, an
// invisible unlock prompt) is given up after the probe timeout and the next
// candidate is used; the choice is remembered.
func TestAutoProbeIsBounded(t *testing.T) {
	dir := t.TempDir()
	k := NewKeyring(KeyringOptions{Backend: "auto", Item: "x", StateDir: dir, ProbeTimeout: 50 * time.Millisecond})
	hang := make(chan struct{})
	defer close(hang)
	k.candidates = func() []string { return []string{"secret-service", "file"} }
	k.openFn = func(name string) (keyring.Keyring, error) {
		if name == "secret-service" {
			<-hang
		}
		return keyring.NewArrayKeyring(nil), nil
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
	k := NewKeyring(KeyringOptions{Backend: "auto", Item: "x", StateDir: t.TempDir()})
	k.candidates = func() []string { return []string{"keyctl"} }
	k.openFn = func(string) (keyring.Keyring, error) { return nil, errors.New("operation not permitted") }
	_, err := k.Backend()
	if err == nil || !strings.Contains(err.Error(), "fix:") || !strings.Contains(err.Error(), "never falls back to plaintext") || !strings.Contains(err.Error(), "operation not permitted") {
		t.Fatalf("err = %v", err)
	}
}

// TestKernelCache: after the file backend gave the data key once, a new
// process (a fresh Keyring) gets it from the kernel keyring without the
// passphrase; with the cache off, or after Remove, the passphrase is needed.
func TestKernelCache(t *testing.T) {
	if !slices.Contains(CompiledBackends(), "keyctl") {
		t.Skip("the kernel keyring is Linux only")
	}
	dir := t.TempDir()
	opts := func(ttl time.Duration) KeyringOptions {
		return KeyringOptions{Backend: "file", Item: "test-kc-" + filepath.Base(dir), FileDir: filepath.Join(dir, "ring"), KernelCache: ttl}
	}
	t.Setenv("AUTHOS_CACHE_PASSPHRASE", "pw")
	k := NewKeyring(opts(time.Minute))
	t.Cleanup(func() { k.kernel().drop() })
	want := bytes.Repeat([]byte{9}, 32)
	if err := k.Save(want); err != nil {
		t.Fatal(err)
	}
	t.Setenv("AUTHOS_CACHE_PASSPHRASE", "")
	if got, err := NewKeyring(opts(time.Minute)).Load(); err != nil || !bytes.Equal(got, want) {
		t.Fatalf("cached Load = %x, %v; want the key without a passphrase", got, err)
	}
	if err := NewKeyring(opts(time.Minute)).Ready(); err != nil {
		t.Fatalf("Ready with the key cached asked for a passphrase: %v", err)
	}
	if _, err := NewKeyring(opts(0)).Load(); err == nil {
		t.Fatal("with the cache off, Load worked without the passphrase")
	}
	k.kernel().drop()
	if _, err := NewKeyring(opts(time.Minute)).Load(); err == nil {
		t.Fatal("after drop, Load worked without the passphrase")
	}
}
