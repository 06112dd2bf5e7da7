package cache

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// addKernelKey adds a key the way 99designs/keyring's keyctl backend does
// (in the session keyring, permissions set, then linked into parent), so
// that this process and the user's later sessions may read it.
func addKernelKey(t *testing.T, typ, desc string, payload []byte, parent int) int {
	t.Helper()
	id, err := unix.AddKey(typ, desc, payload, unix.KEY_SPEC_SESSION_KEYRING)
	if err != nil {
		t.Fatalf("adding %s %q to the session keyring: %v", typ, desc, err)
	}
	defer unix.KeyctlInt(unix.KEYCTL_UNLINK, id, unix.KEY_SPEC_SESSION_KEYRING, 0, 0)
	if err := unix.KeyctlSetperm(id, KernelKeyPerm); err != nil {
		t.Fatalf("setting the permissions of %q: %v", desc, err)
	}
	if _, err := unix.KeyctlInt(unix.KEYCTL_LINK, id, parent, 0, 0); err != nil {
		t.Fatalf("linking %q: %v", desc, err)
	}
	t.Cleanup(func() { unix.KeyctlInt(unix.KEYCTL_UNLINK, id, parent, 0, 0) })
	return id
}

// putKeyctlItem stores payload as the keyctl backend's item: a "user" key
// in the "keyring" named ServiceName under the user keyring.
func putKeyctlItem(t *testing.T, item string, payload []byte) {
	t.Helper()
	ring, err := unix.KeyctlSearch(unix.KEY_SPEC_USER_KEYRING, "keyring", ServiceName, 0)
	if err != nil {
		ring = addKernelKey(t, "keyring", ServiceName, nil, unix.KEY_SPEC_USER_KEYRING)
	}
	addKernelKey(t, "user", item, payload, ring)
}

// TestKernelKeysLoad: where KernelKeys looks for the data key, for each
// configured or remembered backend, and that it never answers from a place
// that cannot hold the key.
func TestKernelKeysLoad(t *testing.T) {
	key := bytes.Repeat([]byte{0x5a}, 32)
	b64 := []byte(base64.StdEncoding.EncodeToString(key))
	tests := []struct {
		name    string
		backend string
		memo    string // the "backend" file's content; "" means no file
		copyTTL time.Duration
		copy    []byte // the kernel copy made beforehand (nil: none)
		item    []byte // the keyctl item's payload (nil: none)
		want    []byte // nil: ErrKeyNotAtHand
	}{
		{name: "file, copy present", backend: "file", copyTTL: time.Minute, copy: key, want: key},
		{name: "file, copy absent", backend: "file", copyTTL: time.Minute},
		{name: "file, CopyTTL 0 ignores a copy", backend: "file", copy: key},
		{name: "file, a keyctl item is not its key", backend: "file", copyTTL: time.Minute, item: b64},
		{name: "secret-service, copy present", backend: "Secret-Service ", copyTTL: time.Minute, copy: key, want: key},
		{name: "keyctl, item present", backend: "keyctl", item: b64, want: key},
		{name: "keyctl, item present, copy on", backend: "keyctl", copyTTL: time.Minute, item: b64, want: key},
		{name: "keyctl, item absent", backend: "keyctl", copyTTL: time.Minute},
		{name: "keyctl, a copy is never read", backend: "keyctl", copyTTL: time.Minute, copy: key},
		{name: "keyctl, item not base64", backend: "keyctl", item: []byte("not base64!")},
		{name: "keyctl, item too short", backend: "keyctl", item: []byte(base64.StdEncoding.EncodeToString(key[:16]))},
		{name: "keyctl, item too long", backend: "keyctl", item: []byte(base64.StdEncoding.EncodeToString(append(key, key...)))},
		{name: "keyctl, item only padding", backend: "keyctl", item: []byte("====")},
		{name: "auto, nothing remembered, copy present", backend: "auto", copyTTL: time.Minute, copy: key, want: key},
		{name: "auto, nothing remembered, keyctl item only", backend: "", copyTTL: time.Minute, item: b64},
		{name: "auto, keyctl remembered", backend: "auto", memo: "keyctl\n", item: b64, want: key},
		{name: "auto, keyctl remembered, copy only", backend: "auto", memo: "keyctl\n", copyTTL: time.Minute, copy: key},
		{name: "auto, file remembered, copy present", backend: "auto", memo: "file\n", copyTTL: time.Minute, copy: key, want: key},
		{name: "auto, file remembered, keyctl item only", backend: "auto", memo: "file\n", copyTTL: time.Minute, item: b64},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if tc.memo != "" {
				if err := os.WriteFile(filepath.Join(dir, "backend"), []byte(tc.memo), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			item := fmt.Sprintf("test-kk-%d-%s", i, filepath.Base(dir))
			if tc.copy != nil {
				c := KernelCopy{Desc: ServiceName + ":" + item, TTL: time.Minute}
				c.Put(tc.copy)
				t.Cleanup(c.Drop)
				if c.Get() == nil {
					t.Fatal("the kernel copy was not made")
				}
			}
			if tc.item != nil {
				putKeyctlItem(t, item, tc.item)
			}
			k := &KernelKeys{Backend: tc.backend, StateDir: dir, Item: item, CopyTTL: tc.copyTTL}
			got, err := k.Load()
			if tc.want == nil {
				if !errors.Is(err, ErrKeyNotAtHand) || got != nil {
					t.Fatalf("Load = %x, %v; want ErrKeyNotAtHand", got, err)
				}
				return
			}
			if err != nil || !bytes.Equal(got, tc.want) {
				t.Fatalf("Load = %x, %v; want the key", got, err)
			}
		})
	}
}

// TestKernelKeysCopyExpires: a copy past its lifetime is not served.
func TestKernelKeysCopyExpires(t *testing.T) {
	k := &KernelKeys{Backend: "file", Item: "test-kk-expire-" + filepath.Base(t.TempDir()), CopyTTL: time.Second}
	c := k.CopyFor("file")
	t.Cleanup(c.Drop)
	c.Put(bytes.Repeat([]byte{3}, 32))
	if _, err := k.Load(); err != nil {
		t.Fatalf("a fresh copy: %v", err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		_, err := k.Load()
		if errors.Is(err, ErrKeyNotAtHand) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the copy was still served 5 s after its 1 s lifetime (%v)", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
