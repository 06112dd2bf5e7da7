package tokenplugin

import (
	"context"
	"errors"
	"io"
	"sync"
	"time"

	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/authos/authos-credential-helper/internal/termsafe"
	"github.com/authos/authos-credential-helper/tokenplugin/tokenpb"
)

// Plugin is the go-plugin Plugin for the token service: Impl is set on the
// plugin's side and nil on the host's.
type Plugin struct {
	plugin.NetRPCUnsupportedPlugin
	Impl Service
}

// GRPCServer registers Impl on the plugin's gRPC server.
func (p *Plugin) GRPCServer(_ *plugin.GRPCBroker, s *grpc.Server) error {
	tokenpb.RegisterTokenServiceServer(s, &GRPCServer{Impl: p.Impl})
	return nil
}

// GRPCClient returns the host's Service, a *GRPCClient.
func (p *Plugin) GRPCClient(_ context.Context, _ *plugin.GRPCBroker, c *grpc.ClientConn) (any, error) {
	return &GRPCClient{client: tokenpb.NewTokenServiceClient(c)}, nil
}

// GRPCClient is the host's side: a Service that calls the plugin.
type GRPCClient struct {
	client tokenpb.TokenServiceClient
}

func (c *GRPCClient) Token(ctx context.Context, req TokenRequest, prompt func(Prompt)) (Token, error) {
	stream, err := c.client.Token(ctx, &tokenpb.TokenRequest{
		Identity: identityToPB(req.Identity), Interactive: req.Interactive, Force: req.Force,
	})
	if err != nil {
		return Token{}, fromStatus(err)
	}
	for {
		ev, err := stream.Recv()
		if err == io.EOF {
			return Token{}, errors.New("the plugin ended the call without a token")
		}
		if err != nil {
			return Token{}, fromStatus(err)
		}
		switch e := ev.Event.(type) {
		case *tokenpb.TokenEvent_Token:
			t := e.Token
			return Token{
				Identity: identityFromPB(t.Identity), AccessToken: t.AccessToken, TokenType: t.TokenType,
				ExpiresAt: unix(t.ExpiresAtUnix), Subject: t.Subject, Email: t.Email, FromCache: t.FromCache,
			}, nil
		case *tokenpb.TokenEvent_Prompt:
			if prompt != nil {
				p := e.Prompt
				prompt(Prompt{
					Kind: PromptCode, Identity: identityFromPB(p.Identity), VerificationURI: p.VerificationUri,
					UserCode: p.UserCode, ExpiresAt: unix(p.ExpiresAtUnix), Message: p.Message,
				})
			}
		case *tokenpb.TokenEvent_Progress:
			if prompt != nil {
				prompt(Prompt{Kind: progressKind(e.Progress.Kind), Identity: identityFromPB(e.Progress.Identity), Message: e.Progress.Message})
			}
		}
	}
}

func (c *GRPCClient) Status(ctx context.Context, id Identity) (Status, error) {
	r, err := c.client.Status(ctx, &tokenpb.StatusRequest{Identity: identityToPB(id)})
	if err != nil {
		return Status{}, fromStatus(err)
	}
	return Status{
		Identity: identityFromPB(r.Identity), Cached: r.Cached, Valid: r.Valid,
		ExpiresAt: unix(r.ExpiresAtUnix), ObtainedAt: unix(r.ObtainedAtUnix),
		Subject: r.Subject, Email: r.Email,
	}, nil
}

func (c *GRPCClient) Logout(ctx context.Context, id Identity) (LogoutResult, error) {
	r, err := c.client.Logout(ctx, &tokenpb.LogoutRequest{Identity: identityToPB(id)})
	if err != nil {
		return LogoutResult{}, fromStatus(err)
	}
	return LogoutResult{Identity: identityFromPB(r.Identity), Found: r.Found, Revoked: r.Revoked, RevokeError: r.RevokeError}, nil
}

// GRPCServer is the plugin's side: it serves Impl.
type GRPCServer struct {
	tokenpb.UnimplementedTokenServiceServer
	Impl Service
}

func (s *GRPCServer) Token(req *tokenpb.TokenRequest, stream grpc.ServerStreamingServer[tokenpb.TokenEvent]) error {
	var mu sync.Mutex // Send is not safe for concurrent use
	var sendErr error
	send := func(ev *tokenpb.TokenEvent) {
		mu.Lock()
		defer mu.Unlock()
		if sendErr == nil {
			sendErr = stream.Send(ev)
		}
	}
	tok, err := s.Impl.Token(stream.Context(), TokenRequest{
		Identity: identityFromPB(req.Identity), Interactive: req.Interactive, Force: req.Force,
	}, func(p Prompt) {
		if p.Kind == PromptCode {
			send(&tokenpb.TokenEvent{Event: &tokenpb.TokenEvent_Prompt{Prompt: &tokenpb.Prompt{
				Identity: identityToPB(p.Identity), VerificationUri: p.VerificationURI,
				UserCode: p.UserCode, ExpiresAtUnix: unixOrZero(p.ExpiresAt), Message: p.Message,
			}}})
			return
		}
		send(&tokenpb.TokenEvent{Event: &tokenpb.TokenEvent_Progress{Progress: &tokenpb.Progress{
			Kind: progressKindToPB(p.Kind), Message: p.Message, Identity: identityToPB(p.Identity),
		}}})
	})
	if err != nil {
		return toStatus(err)
	}
	send(&tokenpb.TokenEvent{Event: &tokenpb.TokenEvent_Token{Token: &tokenpb.Token{
		Identity: identityToPB(tok.Identity), AccessToken: tok.AccessToken, TokenType: tok.TokenType,
		ExpiresAtUnix: unixOrZero(tok.ExpiresAt), Subject: tok.Subject, Email: tok.Email, FromCache: tok.FromCache,
	}}})
	return sendErr
}

func (s *GRPCServer) Status(ctx context.Context, req *tokenpb.StatusRequest) (*tokenpb.StatusReply, error) {
	st, err := s.Impl.Status(ctx, identityFromPB(req.Identity))
	if err != nil {
		return nil, toStatus(err)
	}
	return &tokenpb.StatusReply{
		Identity: identityToPB(st.Identity), Cached: st.Cached, Valid: st.Valid,
		ExpiresAtUnix: unixOrZero(st.ExpiresAt), ObtainedAtUnix: unixOrZero(st.ObtainedAt),
		Subject: st.Subject, Email: st.Email,
	}, nil
}

func (s *GRPCServer) Logout(ctx context.Context, req *tokenpb.LogoutRequest) (*tokenpb.LogoutReply, error) {
	r, err := s.Impl.Logout(ctx, identityFromPB(req.Identity))
	if err != nil {
		return nil, toStatus(err)
	}
	return &tokenpb.LogoutReply{Identity: identityToPB(r.Identity), Found: r.Found, Revoked: r.Revoked, RevokeError: r.RevokeError}, nil
}

// wireErrors pairs the errors a host can test for with the gRPC codes they
// cross as; codeFor and sentinelFor read it both ways. Read-only.
var wireErrors = [...]struct {
	err  error
	code codes.Code
}{
	{ErrLoginRequired, codes.FailedPrecondition},
	{ErrBadIdentity, codes.InvalidArgument},
	{context.Canceled, codes.Canceled},
	{context.DeadlineExceeded, codes.DeadlineExceeded},
	{ErrPluginGone, codes.Unavailable}, // only ever made by the transport
}

func codeFor(err error) codes.Code {
	for _, w := range wireErrors {
		if errors.Is(err, w.err) {
			return w.code
		}
	}
	return codes.Unknown
}

func sentinelFor(c codes.Code) error {
	for _, w := range wireErrors {
		if c == w.code {
			return w.err
		}
	}
	return nil
}

// toStatus carries err to the host, which may print it on a terminal, so
// whatever a server put in the message loses its control sequences here.
func toStatus(err error) error { return status.Error(codeFor(err), termsafe.Strip(err.Error())) }

// fromStatus turns a gRPC error back into an error that wraps the matching
// sentinel and reads as the plugin's own message.
func fromStatus(err error) error {
	st, ok := status.FromError(err)
	if !ok {
		return err
	}
	msg := st.Message()
	if st.Code() == codes.Unavailable {
		msg = "lost the connection to the plugin: " + msg
	}
	return &remoteError{msg: msg, is: sentinelFor(st.Code())}
}

// ErrPluginGone: the plugin process exited or its connection broke during a
// call. The next call through tokensource starts a new plugin.
var ErrPluginGone = errors.New("plugin gone")

type remoteError struct {
	msg string
	is  error
}

func (e *remoteError) Error() string        { return e.msg }
func (e *remoteError) Is(target error) bool { return e.is != nil && target == e.is }

func identityToPB(id Identity) *tokenpb.Identity {
	return &tokenpb.Identity{Profile: id.Profile, Server: id.Server, Org: id.Org, Service: id.Service, ClientId: id.ClientID}
}

func identityFromPB(id *tokenpb.Identity) Identity {
	return Identity{Profile: id.GetProfile(), Server: id.GetServer(), Org: id.GetOrg(), Service: id.GetService(), ClientID: id.GetClientId()}
}

// progressKinds pairs the prompt kinds sent as Progress with their wire
// values; progressKindToPB and progressKind read it both ways. Read-only.
var progressKinds = [...]struct {
	kind PromptKind
	pb   tokenpb.Progress_Kind
}{
	{PromptWaiting, tokenpb.Progress_KIND_WAITING},
	{PromptMFA, tokenpb.Progress_KIND_MFA},
	{PromptSlowDown, tokenpb.Progress_KIND_SLOW_DOWN},
	{PromptRetrying, tokenpb.Progress_KIND_RETRYING},
}

func progressKindToPB(k PromptKind) tokenpb.Progress_Kind {
	for _, p := range progressKinds {
		if p.kind == k {
			return p.pb
		}
	}
	return tokenpb.Progress_KIND_UNSPECIFIED
}

func progressKind(k tokenpb.Progress_Kind) PromptKind {
	for _, p := range progressKinds {
		if p.pb == k {
			return p.kind
		}
	}
	return 0
}

func unix(s int64) time.Time {
	if s == 0 {
		return time.Time{}
	}
	return time.Unix(s, 0)
}

func unixOrZero(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.Unix()
}
