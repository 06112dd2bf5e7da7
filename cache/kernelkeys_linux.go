package cache

import (
	"encoding/base64"
	"time"

	"golang.org/x/sys/unix"
)

// Get returns the copy, or nil when there is none (or it is off).
func (c KernelCopy) Get() []byte {
	if c.TTL <= 0 {
		return nil
	}
	id, err := unix.KeyctlSearch(unix.KEY_SPEC_USER_KEYRING, "user", c.Desc, 0)
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

// Put adds the copy with a timeout. Like keyring's keyctl backend it creates
// the key in the session keyring (so this process possesses it and may set
// its permissions), then links it into the user keyring, where other
// sessions of the same user find it.
func (c KernelCopy) Put(key []byte) {
	if c.TTL <= 0 {
		return
	}
	id, err := unix.AddKey("user", c.Desc, key, unix.KEY_SPEC_SESSION_KEYRING)
	if err != nil {
		return
	}
	defer unix.KeyctlInt(unix.KEYCTL_UNLINK, id, unix.KEY_SPEC_SESSION_KEYRING, 0, 0)
	if _, err := unix.KeyctlInt(unix.KEYCTL_SETPERM, id, int(KernelKeyPerm), 0, 0); err != nil {
		return
	}
	if _, err := unix.KeyctlInt(unix.KEYCTL_SET_TIMEOUT, id, int(c.TTL/time.Second), 0, 0); err != nil {
		return
	}
	unix.KeyctlInt(unix.KEYCTL_LINK, id, unix.KEY_SPEC_USER_KEYRING, 0, 0)
}

// Drop removes the copy (whether or not it is on).
func (c KernelCopy) Drop() {
	if id, err := unix.KeyctlSearch(unix.KEY_SPEC_USER_KEYRING, "user", c.Desc, 0); err == nil {
		unix.KeyctlInt(unix.KEYCTL_UNLINK, id, unix.KEY_SPEC_USER_KEYRING, 0, 0)
	}
}

// keyctlItem reads the data key where 99designs/keyring v1.2.2's keyctl
// backend keeps it with KeyCtlScope "user" and ServiceName service: a
// "keyring" named service found from the user keyring, in it a "user" key
// named item whose payload is the key in standard base64. nil when absent or
// not a 32-byte key (the full helper then reports the damage).
func keyctlItem(service, item string) []byte {
	ring, err := unix.KeyctlSearch(unix.KEY_SPEC_USER_KEYRING, "keyring", service, 0)
	if err != nil {
		return nil
	}
	id, err := unix.KeyctlSearch(ring, "user", item, 0)
	if err != nil {
		return nil
	}
	var text [64]byte // a 32-byte key is 44 characters of base64
	n, err := unix.KeyctlBuffer(unix.KEYCTL_READ, id, text[:], 0)
	if err != nil || n > len(text) {
		return nil
	}
	key := make([]byte, base64.StdEncoding.DecodedLen(n))
	m, err := base64.StdEncoding.Decode(key, text[:n])
	if err != nil || m != 32 {
		return nil
	}
	return key[:32]
}
