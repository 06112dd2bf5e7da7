package cli

import (
	"context"

	"github.com/authos/authos-credential-helper/helper"
	"github.com/authos/authos-credential-helper/protocol"
)

// runGit speaks the git credential helper protocol:
// `git-credential-authos [identity flags] get|store|erase`.
// git ignores a helper's exit status and shows its stderr; "nothing here"
// is no output at all.
func runGit(ctx context.Context, env Env, args []string) error {
	fs := protocolFlagSet("git")
	sel := identityFlags(fs)
	if err := fs.Parse(args); err != nil {
		return usageError{err.Error()}
	}
	if fs.NArg() != 1 {
		return usageError{"git: want exactly one verb (get, store or erase) after the flags"}
	}
	verb := fs.Arg(0)
	if verb != "get" && verb != "store" && verb != "erase" {
		return nil // helpers must ignore verbs they do not know
	}
	req, err := protocol.DecodeGit(env.Stdin)
	if err != nil {
		return err // already says "git: …"
	}
	if verb == "store" {
		return nil // git hands back what we gave it; the cache already has it
	}
	a, err := hostApp(env, *sel, "", req.Host)
	if a == nil || err != nil {
		return err
	}
	m, ok, err := helper.MatchHost(a.cfg, *sel, env.Getenv, "git", req.URL(), nil)
	if err != nil || !ok {
		return err
	}
	if verb == "erase" {
		return a.evictIfServed(m.Identity, req.Password, req.Credential)
	}
	p, watched, done := a.prompterFor(toStderr)
	defer done()
	cred, err := a.h.Token(ctx, helper.Request{Identity: m.Identity, NonInteractive: !watched, Prompt: p})
	if err != nil {
		return err
	}
	return protocol.EncodeGit(env.Stdout, req, protocol.GitAnswer{Username: m.Username(), Password: cred.Token, Expiry: cred.ExpiresAt})
}

// evictIfServed drops the cached token when a client reports that the token
// we served was rejected (git erase after a 401): the next get signs in
// again instead of serving the revoked token until it expires.
func (a *app) evictIfServed(id helper.Identity, secrets ...string) error {
	cred, ok, err := a.h.Cached(id)
	if err != nil || !ok {
		return err
	}
	for _, s := range secrets {
		if s != "" && s == cred.Token {
			return a.h.Evict(id)
		}
	}
	return nil
}
