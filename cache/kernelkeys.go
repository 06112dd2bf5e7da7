package cache

import (
	"errors"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/authos/authos-credential-helper/internal/atomicfile"
	"github.com/authos/authos-credential-helper/internal/rawfile"
)

// ServiceName names the keyring item's service / collection folder.
const ServiceName = "authos-credential-helper"

// KernelKeyPerm is the permission mask of the helper's kernel keys
// (possessor and user: all; group and others: none). The default would hide
// them from the user's next login session.
const KernelKeyPerm uint32 = 0x3f<<24 | 0x3f<<16

// ErrKeyNotAtHand is KernelKeys finding no data key in the kernel keyring:
// the backend has to be asked (by the full binary). It is not ErrMiss: the
// key may well exist.
var ErrKeyNotAtHand = errors.New("the cache's data key is not at hand in the kernel keyring")

// KernelKeys finds the data key in the kernel keyring alone, never opening a
// backend: the short-lived copy kept in front of slow backends, or the item
// of the keyctl backend itself. Load returns ErrKeyNotAtHand when neither
// has it. It is the one place that decides where the key is without a
// backend; cache/keyring's Keyring asks it too.
type KernelKeys struct {
	Backend  string        // configured backend ("", "auto", "keyctl", "file", ...)
	StateDir string        // where auto mode remembers its choice (file "backend")
	Item     string        // the data key's item name
	CopyTTL  time.Duration // kernel copy lifetime; 0: no copy is kept or read

	memoOnce sync.Once
	memo     string // auto mode's remembered choice, read once
}

// keyctlBackend is the name of 99designs/keyring's kernel keyring backend.
const keyctlBackend = "keyctl"

// Load returns the data key from the kernel keyring, or ErrKeyNotAtHand.
func (k *KernelKeys) Load() ([]byte, error) {
	likely := k.Likely()
	if likely == keyctlBackend {
		if key := keyctlItem(ServiceName, k.Item); key != nil {
			return key, nil
		}
		return nil, ErrKeyNotAtHand
	}
	if key := k.CopyFor(likely).Get(); key != nil {
		return key, nil
	}
	return nil, ErrKeyNotAtHand
}

// Save refuses: KernelKeys only reads.
func (k *KernelKeys) Save([]byte) error {
	return errors.New("the kernel keyring's fast path is read-only: the full helper saves the data key")
}

// Name is the likely backend.
func (k *KernelKeys) Name() string { return k.Likely() }

// Likely is the configured backend, or auto mode's remembered choice ("" when
// auto has not chosen yet).
func (k *KernelKeys) Likely() string {
	want := strings.ToLower(strings.TrimSpace(k.Backend))
	if want != "" && want != "auto" {
		return want
	}
	return k.Remembered()
}

// Remembered is auto mode's remembered choice ("" when none), read once.
func (k *KernelKeys) Remembered() string {
	k.memoOnce.Do(func() {
		if b, err := rawfile.ReadFile(k.memoPath()); err == nil {
			k.memo = strings.TrimSpace(string(b))
		}
	})
	return k.memo
}

// Remember records auto mode's choice for the next process (no-op without
// a StateDir). It does not change what this KernelKeys has read.
func (k *KernelKeys) Remember(backend string) error {
	if k.StateDir == "" {
		return nil
	}
	if err := atomicfile.PrivateDir(k.StateDir); err != nil {
		return err
	}
	return writeAtomic(k.memoPath(), []byte(backend+"\n"))
}

func (k *KernelKeys) memoPath() string { return filepath.Join(k.StateDir, "backend") }

// CopyFor is the kernel copy kept in front of backend. It is off (TTL 0)
// when the backend is the kernel keyring itself: a hit would look for a copy
// that is never made, one wasted keyctl call.
func (k *KernelKeys) CopyFor(backend string) KernelCopy {
	ttl := k.CopyTTL
	if backend == keyctlBackend {
		ttl = 0
	}
	return KernelCopy{Desc: ServiceName + ":" + k.Item, TTL: ttl}
}

// KernelCopy is the data key's short-lived copy in the user's kernel keyring
// (Linux), so that hits skip slow or interactive backends: a Secret Service
// Get is a few D-Bus round trips (~5 ms per hit), the file backend a
// passphrase and PBKDF2. It is best effort: any failure (keyctl blocked by a
// container's seccomp profile, say) just means the backend is asked.
type KernelCopy struct {
	Desc string        // the key's description in the user keyring
	TTL  time.Duration // 0: disabled (Get and Put do nothing)
}
