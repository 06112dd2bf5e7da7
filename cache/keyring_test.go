package cache

import (
	"bytes"
	"errors"
	"path/filepath"
	"slices"
	"testing"
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
