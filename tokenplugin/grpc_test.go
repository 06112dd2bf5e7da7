package tokenplugin

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/hashicorp/go-plugin"
)

// fakeService answers from fields and records what it was asked.
type fakeService struct {
	prompts []Prompt
	token   Token
	status  Status
	logout  LogoutResult
	err     error
	gotReq  TokenRequest
	gotID   Identity
}

func (f *fakeService) Token(_ context.Context, req TokenRequest, prompt func(Prompt)) (Token, error) {
	f.gotReq = req
	for _, p := range f.prompts {
		prompt(p)
	}
	return f.token, f.err
}

func (f *fakeService) Status(_ context.Context, id Identity) (Status, error) {
	f.gotID = id
	return f.status, f.err
}

func (f *fakeService) Logout(_ context.Context, id Identity) (LogoutResult, error) {
	f.gotID = id
	return f.logout, f.err
}

// dial serves impl over a real in-memory gRPC connection.
func dial(t *testing.T, impl Service) Service {
	t.Helper()
	client, _ := plugin.TestPluginGRPCConn(t, false, map[string]plugin.Plugin{Name: &Plugin{Impl: impl}})
	t.Cleanup(func() { client.Close() })
	raw, err := client.Dispense(Name)
	if err != nil {
		t.Fatal(err)
	}
	return raw.(Service)
}

func TestTokenStreamsPromptsThenTheToken(t *testing.T) {
	expires := time.Unix(1_800_000_000, 0)
	who := Identity{Profile: "acme", Server: "https://sso.acme.example", Org: "acme", Service: "cli", ClientID: "acme-cli"}
	fake := &fakeService{
		prompts: []Prompt{
			{Kind: PromptWaiting, Identity: who, Message: "waiting"},
			{Kind: PromptCode, Identity: who, VerificationURI: "https://sso.acme.example/activate", UserCode: "ABCD-EFGH", ExpiresAt: expires, Message: "open and enter"},
			{Kind: PromptMFA, Identity: who, Message: "finish MFA"},
		},
		token: Token{Identity: who, AccessToken: "tok", TokenType: "Bearer", ExpiresAt: expires, Subject: "sub", Email: "a@acme.example"},
	}
	svc := dial(t, fake)
	var got []Prompt
	req := TokenRequest{Identity: Identity{Profile: "acme"}, Interactive: true, Force: true}
	tok, err := svc.Token(context.Background(), req, func(p Prompt) { got = append(got, p) })
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(tok, fake.token) || fake.gotReq != req {
		t.Fatalf("token %+v for request %+v", tok, fake.gotReq)
	}
	if !reflect.DeepEqual(got, fake.prompts) {
		t.Fatalf("prompts\n got %+v\nwant %+v", got, fake.prompts)
	}
	// A host without a prompt callback still gets the token.
	if _, err := svc.Token(context.Background(), req, nil); err != nil {
		t.Fatal(err)
	}
}

func TestErrorsCrossTheWireAsSentinels(t *testing.T) {
	tests := []struct {
		name string
		err  error
		is   error
	}{
		{"login required", fmt.Errorf("%w: run: authos-credential-helper login --profile acme", ErrLoginRequired), ErrLoginRequired},
		{"bad identity", fmt.Errorf("%w: no profile \"nope\"", ErrBadIdentity), ErrBadIdentity},
		{"cancelled", fmt.Errorf("waiting for approval: %w", context.Canceled), context.Canceled},
		{"other", errors.New("starting sign-in at https://sso: 503"), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			svc := dial(t, &fakeService{err: tt.err})
			calls := map[string]error{}
			_, calls["Token"] = svc.Token(context.Background(), TokenRequest{}, nil)
			_, calls["Status"] = svc.Status(context.Background(), Identity{})
			_, calls["Logout"] = svc.Logout(context.Background(), Identity{})
			for name, err := range calls {
				if err == nil || err.Error() != tt.err.Error() {
					t.Fatalf("%s: err = %v, want the plugin's message %q", name, err, tt.err)
				}
				if tt.is != nil && !errors.Is(err, tt.is) {
					t.Fatalf("%s: %v does not match %v", name, err, tt.is)
				}
				if errors.Is(err, ErrPluginGone) {
					t.Fatalf("%s: a service error reads as a dead plugin", name)
				}
			}
		})
	}
}

func TestStatusAndLogoutRoundTrip(t *testing.T) {
	who := Identity{Server: "https://sso.acme.example", Org: "acme", Service: "cli", ClientID: "acme-cli"}
	fake := &fakeService{
		status: Status{Identity: who, Cached: true, Valid: true, ExpiresAt: time.Unix(1_800_000_000, 0), ObtainedAt: time.Unix(1_799_990_000, 0), Subject: "sub", Email: "a@acme.example"},
		logout: LogoutResult{Identity: who, Found: true, RevokeError: "server unreachable"},
	}
	svc := dial(t, fake)
	st, err := svc.Status(context.Background(), Identity{Profile: "acme"})
	if err != nil || !reflect.DeepEqual(st, fake.status) || fake.gotID.Profile != "acme" {
		t.Fatalf("status %+v, %v (asked %+v)", st, err, fake.gotID)
	}
	fake.status = Status{Identity: who} // nothing cached: zero times stay zero
	if empty, err := svc.Status(context.Background(), Identity{}); err != nil || !reflect.DeepEqual(empty, fake.status) {
		t.Fatalf("status of nothing cached: %+v, %v", empty, err)
	}
	r, err := svc.Logout(context.Background(), Identity{Profile: "acme"})
	if err != nil || !reflect.DeepEqual(r, fake.logout) {
		t.Fatalf("logout %+v, %v", r, err)
	}
}

// A host may print an error on a terminal: what a server put in it crosses
// without its control sequences.
func TestErrorsCrossWithoutControlSequences(t *testing.T) {
	svc := dial(t, &fakeService{err: errors.New("/auth/device/code answered 400: \x1b]52;c;aGk=\x07bad\x1b[2J \u202eclient\u009b")})
	_, err := svc.Token(context.Background(), TokenRequest{}, nil)
	if err == nil || err.Error() != "/auth/device/code answered 400: bad client" {
		t.Fatalf("err = %q", err)
	}
}
