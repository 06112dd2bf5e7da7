package cache

import (
	"time"

	"golang.org/x/sys/unix"
)

// kernelCache keeps the data key in the user's kernel keyring for a while,
// so that hits skip slow or interactive backends: a Secret Service Get is a
// few D-Bus round trips (~5 ms per hit), the file backend a passphrase and
// PBKDF2. It is best effort: any failure (keyctl blocked by a container's
// seccomp profile, say) just means the backend is asked.
type kernelCache struct {
	desc string
	ttl  time.Duration // 0: disabled
}

func (c kernelCache) get() []byte {
	if c.ttl <= 0 {
		return nil
	}
	id, err := unix.KeyctlSearch(unix.KEY_SPEC_USER_KEYRING, "user", c.desc, 0)
	if err != nil {
		return nil
	}
	buf := make([]byte, 64)
	n, err := unix.KeyctlBuffer(unix.KEYCTL_READ, id, buf, 0)
	if err != nil || n != 32 {
		return nil
	}
	return buf[:32]
}

// put adds the key with a timeout. Like keyring's keyctl backend it creates
// the key in the session keyring (so this process possesses it and may set
// its permissions), then links it into the user keyring, where other
// sessions of the same user find it.
func (c kernelCache) put(key []byte) {
	if c.ttl <= 0 {
		return
	}
	id, err := unix.AddKey("user", c.desc, key, unix.KEY_SPEC_SESSION_KEYRING)
	if err != nil {
		return
	}
	defer unix.KeyctlInt(unix.KEYCTL_UNLINK, id, unix.KEY_SPEC_SESSION_KEYRING, 0, 0)
	if _, err := unix.KeyctlInt(unix.KEYCTL_SETPERM, id, int(keyctlPerm), 0, 0); err != nil {
		return
	}
	if _, err := unix.KeyctlInt(unix.KEYCTL_SET_TIMEOUT, id, int(c.ttl/time.Second), 0, 0); err != nil {
		return
	}
	unix.KeyctlInt(unix.KEYCTL_LINK, id, unix.KEY_SPEC_USER_KEYRING, 0, 0)
}

func (c kernelCache) drop() {
	if id, err := unix.KeyctlSearch(unix.KEY_SPEC_USER_KEYRING, "user", c.desc, 0); err == nil {
		unix.KeyctlInt(unix.KEYCTL_UNLINK, id, unix.KEY_SPEC_USER_KEYRING, 0, 0)
	}
}
