package helper

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/authos/authos-credential-helper/cache"
	"github.com/authos/authos-credential-helper/internal/authos"
	"github.com/authos/authos-credential-helper/protocol"
)

// The key of an identity without a resource is what it was before
// resources existed (existing caches stay valid); each resource has its own.
func TestIdentityKeyResource(t *testing.T) {
	const before = "id-c9250935680d5b53857903ed543ba733" // HashName of the four fields, as released
	if got := id.Key(); got != before {
		t.Fatalf("key without resource = %s, want the released %s", got, before)
	}
	a, b := id, id
	a.Resource, b.Resource = "https://git.acme.example", "https://registry.acme.example"
	if a.Key() == before || b.Key() == before || a.Key() == b.Key() {
		t.Fatalf("keys: none %s, A %s, B %s: want three different", before, a.Key(), b.Key())
	}
	p := FromProfile("git", Profile{Server: "https://sso.example/", Org: "acme", Service: "cli", ClientID: "acme-cli", Resource: a.Resource, TokenEnv: "CI_GIT"})
	if p.Key() != a.Key() || p.Resource != a.Resource || p.TokenEnv != "CI_GIT" {
		t.Fatalf("FromProfile: %+v", p)
	}
	// Explicit fields make another identity: the profile's resource does not carry over.
	cfg := &Config{Profiles: map[string]Profile{"git": {Server: "https://sso.example", Org: "acme", Service: "cli", ClientID: "acme-cli", Resource: a.Resource}}}
	got, err := Resolve(cfg, Selector{Profile: "git", Service: "other"}, Selector{})
	if err != nil || got.Resource != "" {
		t.Fatalf("Resolve with an override: %+v %v", got, err)
	}
	for _, tc := range []struct {
		id   Identity
		want string
	}{{id, "service:acme/cli"}, {a, a.Resource}, {Identity{Org: "platform", Service: "admin-cli"}, "platform"}} {
		if got := tc.id.Audience(); got != tc.want {
			t.Errorf("Audience(%+v) = %q, want %q", tc.id, got, tc.want)
		}
	}
}

// A token cached for resource A is never served to a client of a profile
// that names resource B or none, though all share server, org, service and
// client id.
func TestCredentialsNeverCrossResources(t *testing.T) {
	ctx := context.Background()
	profiles := func(name, resource, host string) string {
		r := ""
		if resource != "" {
			r = fmt.Sprintf("resource = %q\n", resource)
		}
		return fmt.Sprintf("[profiles.%s]\nserver = \"https://sso.example\"\norg = \"acme\"\nservice = \"cli\"\nclient_id = \"acme-cli\"\n%sgit = [\"https://%s/\"]\n", name, r, host)
	}
	w := newCredWorld(t, "")
	w.text = []byte(profiles("a", "https://a.acme.example", "git.a.example") + profiles("b", "https://b.acme.example", "git.b.example") + profiles("plain", "", "git.plain.example"))
	delete(w.cache.entries, id.Key())
	resA := id
	resA.Resource = "https://a.acme.example"
	tokA := testJWT(`{"sub":"a"}`)
	now := time.Now()
	w.cache.entries[resA.Key()] = cache.Entry{AccessToken: tokA, ObtainedAt: now, ExpiresAt: now.Add(time.Hour)}

	a, ok, err := w.c.GitGet(ctx, Selector{}, protocol.GitRequest{Protocol: "https", Host: "git.a.example"})
	if err != nil || !ok || a.Password != tokA {
		t.Fatalf("profile a: %+v %v %v", a, ok, err)
	}
	for _, host := range []string{"git.b.example", "git.plain.example"} {
		a, _, err := w.c.GitGet(ctx, Selector{}, protocol.GitRequest{Protocol: "https", Host: host})
		if a.Password == tokA || err == nil {
			t.Fatalf("%s got resource A's token (%v) or no error (%v)", host, a.Password == tokA, err)
		}
	}
}

// jwtWith is a JWT-shaped token with the given JOSE header and claims.
func jwtWith(header, claims string) string {
	return b64(header) + "." + b64(claims) + "." + b64("signature")
}

// CI tokens: served as given for the identities they are for, never
// cached, never a sign-in; an expired or malformed one fails naming its
// variable; login (Force) ignores them.
func TestEnvToken(t *testing.T) {
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	exp := now.Add(time.Hour).Unix()
	mgmtTok := jwtWith(`{"typ":"authos-management+jwt"}`, fmt.Sprintf(`{"iss":"https://sso.example","aud":"service:acme/cli","sub":"ci","exp":%d}`, exp))
	gitTok := jwtWith(`{"typ":"at+jwt"}`, fmt.Sprintf(`{"iss":"https://sso.example","aud":"https://git.acme.example","exp":%d}`, exp))
	otherServer := jwtWith(`{"typ":"authos-management+jwt"}`, fmt.Sprintf(`{"iss":"https://sso.other.example","aud":"service:acme/cli","exp":%d}`, exp))
	expired := jwtWith(`{"typ":"authos-management+jwt"}`, fmt.Sprintf(`{"iss":"https://sso.example","aud":"service:acme/cli","exp":%d}`, now.Add(-time.Minute).Unix()))
	res := id
	res.Resource = "https://git.acme.example"
	withEnv := func(i Identity, v string) Identity { i.TokenEnv = v; return i }
	tests := []struct {
		name    string
		id      Identity
		env     map[string]string
		force   bool
		want    string // the token served; "" when the request falls through to the cache/login
		wantErr string
	}{
		{name: "AUTHOS_TOKEN for the identity", id: id, env: map[string]string{"AUTHOS_TOKEN": mgmtTok}, want: mgmtTok},
		{name: "AUTHOS_TOKEN of another server is not used", id: id, env: map[string]string{"AUTHOS_TOKEN": otherServer}},
		{name: "AUTHOS_TOKEN (management) is not used for a resource identity", id: res, env: map[string]string{"AUTHOS_TOKEN": mgmtTok}},
		{name: "AUTHOS_TOKEN holding the resource's token", id: res, env: map[string]string{"AUTHOS_TOKEN": gitTok}, want: gitTok},
		{name: "token_env wins over AUTHOS_TOKEN", id: withEnv(res, "CI_GIT"), env: map[string]string{"AUTHOS_TOKEN": mgmtTok, "CI_GIT": gitTok}, want: gitTok},
		{name: "token_env unset: AUTHOS_TOKEN, then the cache", id: withEnv(id, "CI_GIT"), env: map[string]string{"AUTHOS_TOKEN": mgmtTok}, want: mgmtTok},
		{name: "token_env for another identity", id: withEnv(id, "CI_GIT"), env: map[string]string{"CI_GIT": gitTok}, wantErr: "the token in CI_GIT is not for acme/cli at sso.example"},
		{name: "expired", id: id, env: map[string]string{"AUTHOS_TOKEN": expired}, wantErr: "the token in AUTHOS_TOKEN expired at 2026-12-01 11:59:00 UTC (1m ago)"},
		{name: "malformed", id: withEnv(id, "CI_TOK"), env: map[string]string{"CI_TOK": "not a token\n"}, wantErr: "the token in CI_TOK is not a well-formed JWT"},
		{name: "no exp", id: withEnv(id, "CI_TOK"), env: map[string]string{"CI_TOK": testJWT(`{"sub":"x"}`)}, wantErr: "the token in CI_TOK has no exp claim"},
		{name: "login ignores it", id: id, env: map[string]string{"AUTHOS_TOKEN": mgmtTok}, force: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := newMemCache()
			logins := 0
			h := &Helper{Cache: c, Locks: busyLocker{}, Now: func() time.Time { return now }, Getenv: func(k string) string { return tc.env[k] },
				Login: func(context.Context, Identity, Prompter) (authos.Token, error) {
					logins++
					return authos.Token{}, errors.New("no sign-in here")
				}}
			cred, err := h.Token(context.Background(), Request{Identity: tc.id, Force: tc.force, NonInteractive: !tc.force})
			switch {
			case tc.wantErr != "":
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				for _, v := range tc.env {
					if len(v) > 20 && strings.Contains(err.Error(), v) {
						t.Fatal("the error holds the token")
					}
				}
			case tc.want != "":
				if err != nil || cred.Token != tc.want || cred.ExpiresAt.Unix() != exp {
					t.Fatalf("got %v (expires %v), %v; want the env token", cred.Token == tc.want, cred.ExpiresAt, err)
				}
			default:
				if err == nil || cred.Token != "" {
					t.Fatalf("served %v, err %v: want the cache/login path", cred.Token != "", err)
				}
			}
			if len(c.entries) != 0 {
				t.Fatal("something was cached")
			}
			if logins != 0 && !tc.force {
				t.Fatalf("%d sign-ins", logins)
			}
		})
	}
}

func b64(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
