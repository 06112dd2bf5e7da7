package devserver

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base32"
	"encoding/binary"
	"fmt"
	"strings"
	"time"
)

// TOTP is the RFC 6238 code (SHA-1, 30 s steps, 6 digits) for a base32
// secret at t: what an authenticator app shows for the seeded MFA users.
func TOTP(secret string, t time.Time) (string, error) {
	key, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(strings.ToUpper(strings.TrimRight(secret, "=")))
	if err != nil {
		return "", fmt.Errorf("decoding the TOTP secret: %w", err)
	}
	var msg [8]byte
	binary.BigEndian.PutUint64(msg[:], uint64(t.Unix()/30))
	mac := hmac.New(sha1.New, key)
	mac.Write(msg[:])
	sum := mac.Sum(nil)
	off := sum[len(sum)-1] & 0x0f
	n := binary.BigEndian.Uint32(sum[off:off+4]) & 0x7fffffff
	return fmt.Sprintf("%06d", n%1_000_000), nil
}

// totpMatches accepts the code of the current step or a neighbouring one
// (clock skew), as authenticator servers do.
func totpMatches(secret, code string, now time.Time) bool {
	for _, skew := range []time.Duration{0, -30 * time.Second, 30 * time.Second} {
		if want, err := TOTP(secret, now.Add(skew)); err == nil && hmac.Equal([]byte(want), []byte(code)) {
			return true
		}
	}
	return false
}
