package tokenservice

import (
	"context"
	"testing"
	"time"

	"github.com/authos/authos-credential-helper/helper"
	"github.com/authos/authos-credential-helper/tokenplugin"
)

// Status.ExpiresAt is the token's real expiry whether or not it is still
// served, as `status` shows it; it used to be the margin-adjusted time
// while the token was valid.
func TestStatusExpiresAtIsTheRealExpiry(t *testing.T) {
	s, _ := cachedWorld(t)
	p, err := s.current()
	if err != nil {
		t.Fatal(err)
	}
	e, err := p.Store.Get(helper.FromProfile("acme", p.Config.Profiles["acme"]).Key())
	if err != nil {
		t.Fatal(err)
	}
	st, err := s.Status(context.Background(), tokenplugin.Identity{Profile: "acme"})
	if err != nil || !st.Valid {
		t.Fatalf("Status = %+v, %v", st, err)
	}
	if !st.ExpiresAt.Equal(e.ExpiresAt) {
		t.Errorf("Status.ExpiresAt = %v, want the real expiry %v (margin %v)", st.ExpiresAt, e.ExpiresAt, e.ExpiresAt.Sub(st.ExpiresAt).Round(time.Second))
	}
}
