package helper

import (
	"context"
	"testing"
	"time"

	"github.com/authos/authos-credential-helper/cache"
	"github.com/authos/authos-credential-helper/internal/authos"
	"github.com/authos/authos-credential-helper/internal/config"
)

// busyLocker reports that another process held the lock: Token then tells
// its prompter that it waits.
type busyLocker struct{}

func (busyLocker) Lock(_ context.Context, _ string, waiting func()) (func(), bool, error) {
	waiting()
	return func() {}, true, nil
}
func (busyLocker) Failed(string, time.Time, error)              {}
func (busyLocker) LastFailure(string, time.Time) (string, bool) { return "", false }
func (busyLocker) Succeeded(string)                             {}

// A nil Prompt is a silent prompter: waiting for another process's sign-in
// used to panic on req.Prompt.Waiting.
func TestNilPromptIsSilent(t *testing.T) {
	h := &Helper{Cache: newMemCache(), Locks: busyLocker{}, Login: func(_ context.Context, _ Identity, p Prompter) (authos.Token, error) {
		p.ShowCode(id, "https://sso.example/activate", "ABCD-EFGH", time.Now().Add(time.Minute))
		p.Event(authos.Event{Kind: authos.EventMFA})
		p.Finish(nil)
		return authos.Token{AccessToken: newTok, ExpiresIn: 3600}, nil
	}}
	c, err := h.Token(context.Background(), Request{Identity: id})
	if err != nil || c.Token != newTok {
		t.Fatalf("Token with a nil Prompt = %+v, %v", c, err)
	}
}

// FromProfile and Resolve name the same cache entry for a profile: status
// and logout map entries to profiles through FromProfile.
func TestFromProfileNormalizesLikeResolve(t *testing.T) {
	for _, server := range []string{"https://sso.example", "https://sso.example/", " https://sso.example/ ", "https://sso.example//", "\thttps://sso.example"} {
		cfg := &config.Config{Profiles: map[string]config.Profile{"p": {Server: server, Org: "o", Service: "s", ClientID: "c", CABundle: "/ca.pem"}}}
		got := FromProfile("p", cfg.Profiles["p"])
		want, err := Resolve(cfg, Selector{Profile: "p"}, Selector{})
		if err != nil {
			t.Fatal(err)
		}
		if got != want || got.Key() != want.Key() {
			t.Errorf("server %q: FromProfile = %+v, Resolve = %+v", server, got, want)
		}
	}
}

var _ = cache.ErrMiss
