package cli

import (
	"context"
	"errors"
	"fmt"

	"github.com/authos/authos-credential-helper/helper"
	"github.com/authos/authos-credential-helper/internal/version"
	"github.com/authos/authos-credential-helper/protocol"
)

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
	case "get":
		serverURL, err := protocol.DecodeDockerServerURL(env.Stdin)
		if err != nil {
			return err
		}
		c, err := env.credentials().DockerGet(ctx, serverURL)
		if err != nil {
			return err
		}
		return protocol.EncodeDockerCredentials(env.Stdout, c)
	case "store":
		c, err := protocol.DecodeDockerStore(env.Stdin)
		if err != nil {
			return err
		}
		return env.credentials().DockerStore(c)
	case "erase":
		serverURL, err := protocol.DecodeDockerServerURL(env.Stdin)
		if err != nil {
			return err
		}
		d, err := env.credentials().DockerErase(serverURL)
		if line := helper.DropText(d, "docker logout"); err == nil && line != "" {
			fmt.Fprintf(env.Stderr, "authos: %s\n", line) // docker passes a helper's stderr through
		}
		return err
	case "list":
		protocol.DecodeDockerList(env.Stdin)
		byServer, err := env.credentials().DockerList()
		if err != nil {
			return err
		}
		return protocol.EncodeDockerList(env.Stdout, byServer)
	}
	// The reference helper's convention: the message on stdout, exit 1.
	return fmt.Errorf("docker: unknown verb %q (want get, store, erase, list or version)", verb)
}
