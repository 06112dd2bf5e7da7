package keyring

import (
	"bytes"
	"errors"
	"path/filepath"
	"testing"
	"time"

	ring "github.com/99designs/keyring"

	"github.com/authos/authos-credential-helper/cache"
)

// TestKernelKeysReadWhatTheLibraryWrote: a data key saved through the
// library (the keyctl backend, or the kernel copy in front of the file
// backend) is found by cache.KernelKeys, which reads the kernel keyring
// with raw keyctl calls and links no keyring library: a change in the
// library's layout fails here, not in the front door of a release.
func TestKernelKeysReadWhatTheLibraryWrote(t *testing.T) {
	tests := []struct {
		name, backend, memo string
		kernelCache         time.Duration
	}{
		{name: "keyctl", backend: "keyctl"},
		{name: "keyctl, kernel copy configured", backend: "keyctl", kernelCache: time.Minute},
		{name: "auto, keyctl remembered", backend: "auto", memo: "keyctl"},
		{name: "file, kernel copy", backend: "file", kernelCache: time.Minute},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			opts := Options{
				Backend: tc.backend, Item: "test-drift-" + filepath.Base(dir), StateDir: dir,
				FileDir: filepath.Join(dir, "ring"), KernelCache: tc.kernelCache,
				Getenv: func(string) string { return "pw" },
			}
			if tc.memo != "" {
				if err := (&cache.KernelKeys{StateDir: dir}).Remember(tc.memo); err != nil {
					t.Fatal(err)
				}
				opts.Backend = "keyctl" // the library saves where auto would have
			}
			k := New(opts)
			t.Cleanup(func() { k.Remove() })
			key := bytes.Repeat([]byte{byte(i + 1)}, 32)
			if err := k.Save(key); err != nil {
				t.Fatalf("saving through the library: %v", err)
			}
			kk := &cache.KernelKeys{Backend: tc.backend, StateDir: dir, Item: opts.Item, CopyTTL: tc.kernelCache}
			if got, err := kk.Load(); err != nil || !bytes.Equal(got, key) {
				t.Fatalf("KernelKeys.Load = %x, %v; want the key the library saved", got, err)
			}
			if err := k.Remove(); err != nil {
				t.Fatal(err)
			}
			kk = &cache.KernelKeys{Backend: tc.backend, StateDir: dir, Item: opts.Item, CopyTTL: tc.kernelCache}
			if got, err := kk.Load(); !errors.Is(err, cache.ErrKeyNotAtHand) {
				t.Fatalf("after Remove: KernelKeys.Load = %x, %v; want ErrKeyNotAtHand", got, err)
			}
		})
	}
}

// TestKernelKeyPermIsTheLibrarys: the kernel copy and the keyctl backend's
// items get the same permissions, spelt once in package cache.
func TestKernelKeyPermIsTheLibrarys(t *testing.T) {
	if want := ring.GetPermissions(ring.KEYCTL_PERM_ALL, ring.KEYCTL_PERM_ALL, 0, 0); cache.KernelKeyPerm != want {
		t.Fatalf("cache.KernelKeyPerm = %#x, the library's mask is %#x", cache.KernelKeyPerm, want)
	}
}

// TestKernelCache: after the file backend gave the data key once, a new
// process (a fresh Keyring) gets it from the kernel keyring without the
// passphrase; with the cache off, or after Remove, the passphrase is needed.
func TestKernelCache(t *testing.T) {
	dir := t.TempDir()
	opts := func(ttl time.Duration) Options {
		return Options{Backend: "file", Item: "test-kc-" + filepath.Base(dir), FileDir: filepath.Join(dir, "ring"), KernelCache: ttl}
	}
	t.Setenv("AUTHOS_CACHE_PASSPHRASE", "pw")
	k := New(opts(time.Minute))
	t.Cleanup(func() { k.kernel().Drop() })
	want := bytes.Repeat([]byte{9}, 32)
	if err := k.Save(want); err != nil {
		t.Fatal(err)
	}
	if !New(opts(time.Minute)).HasKernelCopy() {
		t.Fatal("HasKernelCopy is false after a Save")
	}
	t.Setenv("AUTHOS_CACHE_PASSPHRASE", "")
	if got, err := New(opts(time.Minute)).Load(); err != nil || !bytes.Equal(got, want) {
		t.Fatalf("cached Load = %x, %v; want the key without a passphrase", got, err)
	}
	if err := New(opts(time.Minute)).Ready(); err != nil {
		t.Fatalf("Ready with the key cached asked for a passphrase: %v", err)
	}
	if _, err := New(opts(0)).Load(); err == nil {
		t.Fatal("with the cache off, Load worked without the passphrase")
	}
	k.kernel().Drop()
	if New(opts(time.Minute)).HasKernelCopy() {
		t.Fatal("HasKernelCopy is true after the copy was dropped")
	}
	if _, err := New(opts(time.Minute)).Load(); err == nil {
		t.Fatal("after drop, Load worked without the passphrase")
	}
}

// TestForgetKernel: the kernel copy goes always; the keyctl data key only
// when asked to (nothing sealed under it is left).
func TestForgetKernel(t *testing.T) {
	dir := t.TempDir()
	key := bytes.Repeat([]byte{5}, 32)

	kc := New(Options{Backend: "keyctl", Item: "test-forget-" + filepath.Base(dir)})
	t.Cleanup(func() { kc.Remove() })
	if v, err := kc.Volatile(); !v || err != nil {
		t.Fatalf("keyctl Volatile = %v, %v", v, err)
	}
	kc.Save(key)
	if err := kc.ForgetKernel(false); err != nil {
		t.Fatal(err)
	}
	if _, err := kc.Load(); err != nil {
		t.Fatalf("ForgetKernel(false) removed the keyctl data key: %v", err)
	}
	if err := kc.ForgetKernel(true); err != nil {
		t.Fatal(err)
	}
	if _, err := kc.Load(); !errors.Is(err, cache.ErrMiss) {
		t.Fatalf("after ForgetKernel(true): %v, want the key gone", err)
	}

	pw := "pw"
	kf := New(Options{Backend: "file", Item: "test-forget-" + filepath.Base(dir), FileDir: filepath.Join(dir, "ring"),
		KernelCache: time.Minute, Getenv: func(string) string { return pw }})
	t.Cleanup(func() { kf.kernel().Drop() })
	if v, err := kf.Volatile(); v || err != nil {
		t.Fatalf("file Volatile = %v, %v", v, err)
	}
	kf.Save(key)
	if kf.kernel().Get() == nil {
		t.Fatal("no kernel copy to forget")
	}
	if err := kf.ForgetKernel(true); err != nil {
		t.Fatal(err)
	}
	if kf.kernel().Get() != nil {
		t.Fatal("the kernel copy survived ForgetKernel")
	}
	if got, err := kf.Load(); err != nil || !bytes.Equal(got, key) {
		t.Fatalf("the file backend's key must stay: %v", err)
	}
}

// TestStoreOnKernelKeys: a Store reading through KernelKeys (the front
// door) opens an entry the full helper sealed while the key is at hand,
// and says ErrKeyNotAtHand, not a corrupt entry or a miss, when it is not:
// then the full helper must be asked.
func TestStoreOnKernelKeys(t *testing.T) {
	dir := t.TempDir()
	opts := Options{Backend: "file", Item: "test-front-" + filepath.Base(dir), FileDir: filepath.Join(dir, "ring"),
		StateDir: dir, KernelCache: time.Minute, Getenv: func(string) string { return "pw" }}
	full := &cache.Store{Dir: filepath.Join(dir, "tokens"), Keys: New(opts)}
	t.Cleanup(func() { New(opts).kernel().Drop() })
	if err := full.Put("id1", entry("tok-1")); err != nil {
		t.Fatal(err)
	}
	front := func() *cache.Store {
		return &cache.Store{Dir: full.Dir, Keys: &cache.KernelKeys{Backend: opts.Backend, StateDir: dir, Item: opts.Item, CopyTTL: opts.KernelCache}}
	}
	if e, err := front().Get("id1"); err != nil || e.AccessToken != "tok-1" {
		t.Fatalf("front Get = %+v, %v; want the sealed entry", e, err)
	}
	if _, err := front().Get("nobody"); !errors.Is(err, cache.ErrMiss) {
		t.Fatalf("front Get of a missing entry = %v, want ErrMiss", err)
	}
	New(opts).kernel().Drop()
	_, err := front().Get("id1")
	if !errors.Is(err, cache.ErrKeyNotAtHand) || errors.Is(err, cache.ErrMiss) || errors.Is(err, cache.ErrCorrupt) {
		t.Fatalf("front Get without the copy = %v; want ErrKeyNotAtHand alone", err)
	}
}
