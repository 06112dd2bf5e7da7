// Package tokenservice is the token service authos-credential-plugin serves:
// helper/ behind tokenplugin.Service, on the same cache, keyring and lock as
// the CLI, with the prompt handed to the host instead of a terminal.
package tokenservice

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/authos/authos-credential-helper/helper"
	"github.com/authos/authos-credential-helper/internal/authos"
	"github.com/authos/authos-credential-helper/internal/config"
	"github.com/authos/authos-credential-helper/internal/redact"
	"github.com/authos/authos-credential-helper/internal/termsafe"
	"github.com/authos/authos-credential-helper/internal/wiring"
	"github.com/authos/authos-credential-helper/tokenplugin"
)

// Service implements tokenplugin.Service.
type Service struct {
	paths  config.Paths
	getenv func(string) string

	mu    sync.Mutex
	raw   []byte // the config text parts was built from
	parts *wiring.Parts
}

// New returns the service for the cache and config under paths; getenv
// supplies AUTHOS_* defaults and the cache backend settings.
func New(paths config.Paths, getenv func(string) string) *Service {
	return &Service{paths: paths, getenv: getenv}
}

var _ tokenplugin.Service = (*Service)(nil)

// current returns the parts for the config as it is now: a plugin lives as
// long as its host, and config.toml may change meanwhile. Reading it is one
// small file; it is parsed again only when it changed.
func (s *Service) current() (*wiring.Parts, error) {
	raw, err := config.ReadRaw(s.paths.ConfigFile)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.parts != nil && bytes.Equal(raw, s.raw) {
		return s.parts, nil
	}
	cfg, err := config.Parse(s.paths.ConfigFile, raw)
	if err != nil {
		return nil, err
	}
	// No passphrase callback: the plugin has no terminal of its own. The file
	// backend then needs AUTHOS_CACHE_PASSPHRASE or the kernel keyring copy.
	s.parts, s.raw = wiring.Build(cfg, wiring.Options{Paths: s.paths, Getenv: s.getenv}), raw
	return s.parts, nil
}

func (s *Service) resolve(id tokenplugin.Identity) (*wiring.Parts, helper.Identity, error) {
	p, err := s.current()
	if err != nil {
		return nil, helper.Identity{}, err
	}
	sel := helper.Selector{Profile: id.Profile, Server: id.Server, Org: id.Org, Service: id.Service, ClientID: id.ClientID}
	hid, err := helper.Resolve(p.Config, sel, helper.SelectorFromEnv(s.getenv))
	if err != nil {
		return nil, hid, fmt.Errorf("%w: %v", tokenplugin.ErrBadIdentity, err)
	}
	return p, hid, nil
}

func (s *Service) Token(ctx context.Context, req tokenplugin.TokenRequest, prompt func(tokenplugin.Prompt)) (tokenplugin.Token, error) {
	p, id, err := s.resolve(req.Identity)
	if err != nil {
		return tokenplugin.Token{}, err
	}
	if prompt == nil {
		prompt = func(tokenplugin.Prompt) {}
	}
	cred, err := p.Helper.Token(ctx, helper.Request{
		Identity: id, Force: req.Force, NonInteractive: !req.Interactive,
		Prompt: hostPrompter{id: id, send: prompt},
	})
	var lre *helper.LoginRequiredError
	if errors.As(err, &lre) {
		return tokenplugin.Token{}, fmt.Errorf("%w: %v", tokenplugin.ErrLoginRequired, err)
	}
	if err != nil {
		return tokenplugin.Token{}, err
	}
	return tokenplugin.Token{
		Identity: identityOut(id), AccessToken: cred.Token, TokenType: cred.TokenType,
		ExpiresAt: cred.ExpiresAt, Subject: cred.Subject, Email: cred.Email, FromCache: cred.FromCache,
	}, nil
}

// Status reads what `status` reads (helper.EntryStatus); an unreadable
// entry is not cached.
func (s *Service) Status(_ context.Context, in tokenplugin.Identity) (tokenplugin.Status, error) {
	p, id, err := s.resolve(in)
	if err != nil {
		return tokenplugin.Status{}, err
	}
	st := tokenplugin.Status{Identity: identityOut(id)}
	e, found, err := p.Helper.EntryStatus(id.Key())
	if err != nil || !found || e.Unreadable != nil {
		return st, err
	}
	st.Cached, st.Valid, st.ExpiresAt, st.ObtainedAt, st.Subject, st.Email = true, e.Valid, e.ExpiresAt, e.ObtainedAt, e.Subject, e.Email
	return st, nil
}

func (s *Service) Logout(ctx context.Context, in tokenplugin.Identity) (tokenplugin.LogoutResult, error) {
	p, id, err := s.resolve(in)
	if err != nil {
		return tokenplugin.LogoutResult{}, err
	}
	r, err := p.Helper.SignOut(ctx, id.Key(), id.CABundle)
	if err != nil {
		return tokenplugin.LogoutResult{}, err
	}
	out := tokenplugin.LogoutResult{Identity: identityOut(id), Found: r.Found, Revoked: r.Revoked}
	if r.RevokeErr != nil {
		out.RevokeError = redact.String(termsafe.Strip(r.RevokeErr.Error()))
	}
	return out, nil
}

func identityOut(id helper.Identity) tokenplugin.Identity {
	return tokenplugin.Identity{Profile: id.Profile, Server: id.Server, Org: id.Org, Service: id.Service, ClientID: id.ClientID}
}

// hostPrompter hands the device-flow prompt to the host.
type hostPrompter struct {
	id   helper.Identity
	send func(tokenplugin.Prompt)
}

// ShowCode gives the host what helper.Display allows: a host may print the
// fields or open the URI, so VerificationURI is set only when it passes the
// link rule, and Message carries the escaped text and the warnings.
func (h hostPrompter) ShowCode(id helper.Identity, uri, code string, expiresAt time.Time) {
	d := helper.Display(uri, code)
	msg := fmt.Sprintf("sign in to %s: open %s and enter %s (expires at %s)", termsafe.Strip(id.String()), d.URI, d.Code, expiresAt.Local().Format("15:04"))
	for _, w := range d.Warnings {
		msg += "; warning: " + w
	}
	if !d.Openable {
		uri = ""
	}
	h.send(tokenplugin.Prompt{
		Kind: tokenplugin.PromptCode, Identity: identityOut(id), VerificationURI: uri, UserCode: d.Code, ExpiresAt: expiresAt,
		Message: msg,
	})
}

func (h hostPrompter) Event(ev authos.Event) {
	var kind tokenplugin.PromptKind
	switch ev.Kind {
	case authos.EventMFA:
		kind = tokenplugin.PromptMFA
	case authos.EventSlowDown:
		kind = tokenplugin.PromptSlowDown
	case authos.EventRetrying:
		kind = tokenplugin.PromptRetrying
	default:
		return // pending polls are not worth a line
	}
	h.send(tokenplugin.Prompt{Kind: kind, Identity: identityOut(h.id), Message: helper.EventText(ev)})
}

func (h hostPrompter) Waiting(id helper.Identity) {
	h.send(tokenplugin.Prompt{Kind: tokenplugin.PromptWaiting, Identity: identityOut(id), Message: helper.WaitingText(id)})
}

func (hostPrompter) Finish(error) {}

// Notice (helper.Noticer) sends a line that is not a step of the flow (why a
// sign-in is needed, a token that could not be cached) as a Prompt of no
// kind: the wire has none for it, and hosts show Message.
func (h hostPrompter) Notice(line string) {
	h.send(tokenplugin.Prompt{Identity: identityOut(h.id), Message: line})
}
