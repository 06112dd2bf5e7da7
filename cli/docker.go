package cli

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/authos/authos-credential-helper/cache"
	"github.com/authos/authos-credential-helper/helper"
	"github.com/authos/authos-credential-helper/internal/version"
	"github.com/authos/authos-credential-helper/protocol"
)

// dockerRecordPrefix starts the cache names of credentials `docker login`
// stored for registries no profile serves (credsStore: authos).
const dockerRecordPrefix = "docker-"

// runDocker speaks the docker credential helper protocol:
// `docker-credential-authos get|store|erase|list|version`. Failures follow
// the reference convention: the message on stdout, exit 1 (and a line on
// stderr for the person).
func runDocker(ctx context.Context, env Env, args []string) int {
	if len(args) != 1 {
		fmt.Fprintln(env.Stderr, "usage: docker-credential-authos get|store|erase|list|version")
		return ExitUsage
	}
	err := dockerVerb(ctx, env, args[0])
	if err == nil {
		return ExitOK
	}
	var ue usageError
	if errors.As(err, &ue) {
		return report(env.Stderr, err)
	}
	protocol.EncodeDockerError(env.Stdout, err)
	if !errors.Is(err, protocol.ErrDockerNotFound) {
		report(env.Stderr, err)
	}
	return ExitFailure
}

func dockerVerb(ctx context.Context, env Env, verb string) error {
	switch verb {
	case "version", "--version", "-v":
		_, err := fmt.Fprintf(env.Stdout, "docker-credential-authos (github.com/authos/authos-credential-helper) %s\n", version.Version)
		return err
	case "get", "store", "erase", "list":
	default:
		// The reference helper's convention: the message on stdout, exit 1.
		return fmt.Errorf("docker: unknown verb %q (want get, store, erase, list or version)", verb)
	}
	if verb == "get" {
		return dockerGet(ctx, env)
	}
	a, err := newApp(env)
	if err != nil {
		return err
	}
	switch verb {
	case "store":
		c, err := protocol.DecodeDockerStore(env.Stdin)
		if err != nil {
			return err
		}
		if _, ok, _ := helper.MatchHost(a.cfg, helper.Selector{}, env.Getenv, "docker", protocol.DockerRegistryHost(c.ServerURL), protocol.DockerRegistryHost); ok {
			return nil // our own token, handed back by docker login: nothing to keep
		}
		// No sign-in can bring it back: refused where a reboot would lose it.
		return a.store.PutStatic(dockerRecordName(c.ServerURL), c)
	case "erase":
		serverURL, err := protocol.DecodeDockerServerURL(env.Stdin)
		if err != nil {
			return err
		}
		return a.store.Delete(dockerRecordName(serverURL))
	default: // list
		io.Copy(io.Discard, io.LimitReader(env.Stdin, 1<<20))
		names, err := a.store.Names(dockerRecordPrefix)
		if err != nil {
			return err
		}
		out := map[string]string{}
		for _, n := range names {
			var c protocol.DockerCredentials
			if err := a.store.GetRecord(n, &c); err == nil {
				out[c.ServerURL] = c.Username
			}
		}
		return protocol.EncodeDockerList(env.Stdout, out)
	}
}

// dockerGet answers for a registry a profile serves with its token, for one
// `docker login` stored with those credentials, and otherwise "not found"
// (docker then goes on anonymously).
func dockerGet(ctx context.Context, env Env) error {
	serverURL, err := protocol.DecodeDockerServerURL(env.Stdin)
	if err != nil {
		return err
	}
	host := protocol.DockerRegistryHost(serverURL)
	needles := []string{host}
	if host == "index.docker.io" {
		// Hub has aliases; every one contains one of these.
		needles = append(needles, "docker.io", "docker.com")
	}
	a, err := hostApp(env, helper.Selector{}, dockerRecordName(serverURL), needles...)
	if err != nil {
		return err
	}
	if a == nil {
		return protocol.ErrDockerNotFound
	}
	m, ok, err := helper.MatchHost(a.cfg, helper.Selector{}, env.Getenv, "docker", host, protocol.DockerRegistryHost)
	if err != nil {
		return err
	}
	if !ok {
		var stored protocol.DockerCredentials
		if err := a.store.GetRecord(dockerRecordName(serverURL), &stored); err != nil {
			if errors.Is(err, cache.ErrMiss) || errors.Is(err, cache.ErrCorrupt) {
				return protocol.ErrDockerNotFound
			}
			return err
		}
		return protocol.EncodeDockerCredentials(env.Stdout, stored)
	}
	p, watched, done := a.prompterFor(toStderr)
	defer done()
	cred, err := a.h.Token(ctx, helper.Request{Identity: m.Identity, NonInteractive: !watched, Prompt: p})
	if err != nil {
		return err
	}
	return protocol.EncodeDockerCredentials(env.Stdout, protocol.DockerCredentials{ServerURL: serverURL, Username: m.Username(), Secret: cred.Token})
}

func dockerRecordName(serverURL string) string {
	return dockerRecordPrefix + helper.HashName("docker", serverURL)
}
