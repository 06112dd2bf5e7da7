//go:build !linux

package cache

import (
	"errors"
	"testing"
	"time"
)

// TestKernelKeysElsewhere: without a kernel keyring the key is never at hand.
func TestKernelKeysElsewhere(t *testing.T) {
	for _, backend := range []string{"keyctl", "file", "auto", ""} {
		k := &KernelKeys{Backend: backend, StateDir: t.TempDir(), Item: "x", CopyTTL: time.Minute}
		k.CopyFor(backend).Put(make([]byte, 32))
		if key, err := k.Load(); !errors.Is(err, ErrKeyNotAtHand) || key != nil {
			t.Errorf("Backend %q: Load = %x, %v; want ErrKeyNotAtHand", backend, key, err)
		}
	}
}
