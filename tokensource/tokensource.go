// Package tokensource gives Go programs AuthOS tokens from
// authos-credential-plugin, which shares its encrypted cache and sign-in lock
// with authos-credential-helper: a person signs in once for every tool. A
// Source is a golang.org/x/oauth2 TokenSource; it starts the plugin on first
// use, keeps it for later calls, starts it again if it died, and stops it on
// Close. When a sign-in is needed, Prompt is told what to show the person.
//
//	src, err := tokensource.New(tokensource.Config{
//		Identity: tokensource.Identity{Profile: "acme"},
//		Prompt:   func(p tokensource.Prompt) { log.Print(p.Message) },
//	})
//	if err != nil {
//		log.Fatal(err)
//	}
//	defer src.Close()
//	resp, err := oauth2.NewClient(ctx, src).Get("https://api.acme.example/v1/me")
package tokensource

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"strings"
	"sync"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"
	"golang.org/x/oauth2"

	"github.com/authos/authos-credential-helper/tokenplugin"
)

// PluginName is the plugin binary's name, looked up on PATH.
const PluginName = "authos-credential-plugin"

type (
	// Identity selects whose token: a profile from config.toml, or the
	// explicit server, org, service and client id; empty means the
	// AUTHOS_* environment or default_profile.
	Identity = tokenplugin.Identity
	// Prompt is what to show the person during a sign-in; Message always
	// says it in one line.
	Prompt = tokenplugin.Prompt
	// Status describes the cached token (without the token).
	Status = tokenplugin.Status
	// LogoutResult says what Logout did.
	LogoutResult = tokenplugin.LogoutResult
)

// The prompt kinds (see tokenplugin.PromptKind).
const (
	PromptCode     = tokenplugin.PromptCode
	PromptWaiting  = tokenplugin.PromptWaiting
	PromptMFA      = tokenplugin.PromptMFA
	PromptSlowDown = tokenplugin.PromptSlowDown
	PromptRetrying = tokenplugin.PromptRetrying
)

var (
	// ErrLoginRequired: no valid token, and no Prompt to sign in with. The
	// error names the command that signs in.
	ErrLoginRequired = tokenplugin.ErrLoginRequired
	// ErrPluginGone: the plugin stopped during a call; the next call starts
	// it again.
	ErrPluginGone = tokenplugin.ErrPluginGone
)

// Config configures a Source.
type Config struct {
	Identity Identity
	// Prompt shows the sign-in prompt to the person. Nil means nobody can
	// see one: a call that needs a sign-in fails with ErrLoginRequired.
	Prompt func(Prompt)
	// Plugin is the plugin binary's path; empty means PluginName on PATH.
	Plugin string
	// Env is the plugin's whole environment (where it finds config.toml,
	// the cache and AUTHOS_* defaults); nil means this process's.
	Env []string
	// Log receives go-plugin's and the plugin's warnings; nil discards them.
	Log io.Writer
}

// Source is an oauth2.TokenSource backed by one plugin process. It is safe
// for concurrent use.
type Source struct {
	cfg  Config
	path string

	mu     sync.Mutex
	client *plugin.Client
	svc    tokenplugin.Service
}

var _ oauth2.TokenSource = (*Source)(nil)

// New returns a Source. It finds the plugin binary but starts it only when
// first needed.
func New(cfg Config) (*Source, error) {
	path := cfg.Plugin
	if path == "" {
		path = PluginName
	}
	found, err := exec.LookPath(path)
	if err != nil {
		return nil, fmt.Errorf("finding %s: %w (install.sh installs it next to authos-credential-helper)", path, err)
	}
	return &Source{cfg: cfg, path: found}, nil
}

// Token returns a valid token; it implements oauth2.TokenSource.
func (s *Source) Token() (*oauth2.Token, error) { return s.TokenContext(context.Background()) }

// TokenContext returns a valid token, signing in first if needed; ctx
// cancels a sign-in in progress. The token's Extra holds "subject",
// "email" and "from_cache".
func (s *Source) TokenContext(ctx context.Context) (*oauth2.Token, error) {
	svc, client, err := s.service()
	if err != nil {
		return nil, err
	}
	t, err := svc.Token(ctx, tokenplugin.TokenRequest{Identity: s.cfg.Identity, Interactive: s.cfg.Prompt != nil}, s.cfg.Prompt)
	if err != nil {
		return nil, s.callFailed(err, client)
	}
	tok := &oauth2.Token{AccessToken: t.AccessToken, TokenType: t.TokenType, Expiry: t.ExpiresAt}
	return tok.WithExtra(map[string]any{"subject": t.Subject, "email": t.Email, "from_cache": t.FromCache}), nil
}

// Status describes the identity's cached token; it never signs in.
func (s *Source) Status(ctx context.Context) (Status, error) {
	svc, client, err := s.service()
	if err != nil {
		return Status{}, err
	}
	st, err := svc.Status(ctx, s.cfg.Identity)
	if err != nil {
		return Status{}, s.callFailed(err, client)
	}
	return st, nil
}

// Logout ends the session at the server and deletes the cached token.
func (s *Source) Logout(ctx context.Context) (LogoutResult, error) {
	svc, client, err := s.service()
	if err != nil {
		return LogoutResult{}, err
	}
	r, err := svc.Logout(ctx, s.cfg.Identity)
	if err != nil {
		return LogoutResult{}, s.callFailed(err, client)
	}
	return r, nil
}

// Close stops the plugin process. A later call starts a new one.
func (s *Source) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stop()
	return nil
}

// service returns the running plugin's service, starting the plugin if
// there is none or the last one exited.
func (s *Source) service() (tokenplugin.Service, *plugin.Client, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.client != nil && !s.client.Exited() {
		return s.svc, s.client, nil
	}
	s.stop()
	logOut := s.cfg.Log
	if logOut == nil {
		logOut = io.Discard
	}
	cmd := exec.Command(s.path)
	cmd.Env = s.cfg.Env
	client := plugin.NewClient(&plugin.ClientConfig{
		HandshakeConfig:  tokenplugin.Handshake(),
		Plugins:          plugin.PluginSet{tokenplugin.Name: &tokenplugin.Plugin{}},
		Cmd:              cmd,
		SkipHostEnv:      s.cfg.Env != nil, // else go-plugin appends this process's, and those win
		AllowedProtocols: []plugin.Protocol{plugin.ProtocolGRPC},
		Logger:           hclog.New(&hclog.LoggerOptions{Name: PluginName, Level: hclog.Warn, Output: logOut}),
		SyncStdout:       io.Discard,
		SyncStderr:       io.Discard,
	})
	rpc, err := client.Client()
	if err != nil {
		client.Kill()
		if strings.Contains(err.Error(), "incompatible API version") { // go-plugin has no typed error for it
			return nil, nil, fmt.Errorf("%s does not speak this program's token service protocol (version %d): %w; install matching versions of authos-credential-helper and this program",
				s.path, tokenplugin.ProtocolVersion, err)
		}
		return nil, nil, fmt.Errorf("starting %s: %w", s.path, err)
	}
	raw, err := rpc.Dispense(tokenplugin.Name)
	if err != nil {
		client.Kill()
		return nil, nil, fmt.Errorf("starting %s: %w", s.path, err)
	}
	svc, ok := raw.(tokenplugin.Service)
	if !ok {
		client.Kill()
		return nil, nil, fmt.Errorf("starting %s: it served %T, not the token service", s.path, raw)
	}
	s.client, s.svc = client, svc
	return svc, client, nil
}

// callFailed explains an error from a call through client and, when that
// plugin died, forgets it so the next call starts a new one.
func (s *Source) callFailed(err error, client *plugin.Client) error {
	if !errors.Is(err, ErrPluginGone) {
		return err
	}
	s.mu.Lock()
	if s.client == client {
		s.stop()
	}
	s.mu.Unlock()
	return fmt.Errorf("%s stopped during the call; the next call starts it again: %w", s.path, err)
}

func (s *Source) stop() {
	if s.client != nil {
		s.client.Kill()
	}
	s.client, s.svc = nil, nil
}
