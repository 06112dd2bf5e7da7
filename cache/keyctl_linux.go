package cache

import "github.com/99designs/keyring"

// keyctlPerm lets the same user read the key from any session; the default
// permissions hide it from the next login session.
var keyctlPerm = keyring.GetPermissions(keyring.KEYCTL_PERM_ALL, keyring.KEYCTL_PERM_ALL, 0, 0)
