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
