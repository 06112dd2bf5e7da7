package devserver

import (
	"testing"
	"time"
)

// RFC 6238 appendix B, SHA-1, with the RFC's 20-byte ASCII key in base32
// (its 8-digit codes cut to the 6 digits apps show).
func TestTOTPMatchesRFC6238(t *testing.T) {
	const secret = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ" // "12345678901234567890"
	for _, tt := range []struct {
		unix int64
		want string
	}{{59, "287082"}, {1111111109, "081804"}, {1111111111, "050471"}, {1234567890, "005924"}, {2000000000, "279037"}} {
		got, err := TOTP(secret, time.Unix(tt.unix, 0))
		if err != nil || got != tt.want {
			t.Errorf("TOTP at %d = %q, %v; want %q", tt.unix, got, err, tt.want)
		}
	}
	now := time.Unix(1_800_000_000, 0)
	prev, _ := TOTP(BobTOTPSecret, now.Add(-30*time.Second))
	old, _ := TOTP(BobTOTPSecret, now.Add(-90*time.Second))
	if !totpMatches(BobTOTPSecret, prev, now) || totpMatches(BobTOTPSecret, old, now) && old != prev {
		t.Fatal("the previous step must match and one three steps old must not")
	}
}
