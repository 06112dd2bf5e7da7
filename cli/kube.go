package cli

import (
	"context"

	"github.com/authos/authos-credential-helper/helper"
	"github.com/authos/authos-credential-helper/protocol"
)

// runKube answers client-go's exec credential plugin protocol:
// `authos-credential-helper kube [identity flags]` in a kubeconfig exec stanza.
// The device flow needs no stdin, so it runs whatever spec.interactive says,
// as long as someone can see stderr.
func runKube(ctx context.Context, env Env, args []string) error {
	a, id, err := identityCommand(env, "kube", args)
	if err != nil {
		return err
	}
	apiVersion := "client.authentication.k8s.io/v1"
	if raw := env.Getenv("KUBERNETES_EXEC_INFO"); raw != "" {
		info, err := protocol.DecodeExecInfo(raw)
		if err != nil {
			return err // already says "kube: …"
		}
		apiVersion = info.APIVersion
	}
	p, watched, done := a.prompterFor(toStderr)
	defer done()
	cred, err := a.h.Token(ctx, helper.Request{Identity: id, NonInteractive: !watched, Prompt: p})
	if err != nil {
		return err
	}
	return protocol.EncodeExecCredential(env.Stdout, apiVersion, cred.Token, cred.ExpiresAt)
}
