package cli

import (
	"context"

	"github.com/authos/authos-credential-helper/protocol"
)

// runKube answers client-go's exec credential plugin protocol:
// `authos-credential-helper kube [identity flags]` in a kubeconfig exec stanza.
// The device flow needs no stdin, so it runs whatever spec.interactive says,
// as long as someone can see stderr.
func runKube(ctx context.Context, env Env, args []string) error {
	fs := protocolFlagSet("kube")
	sel := identityFlags(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	apiVersion := protocol.KubeAPIVersionV1
	if raw := env.Getenv("KUBERNETES_EXEC_INFO"); raw != "" {
		info, err := protocol.DecodeExecInfo(raw)
		if err != nil {
			return err // already says "kube: …"
		}
		apiVersion = info.APIVersion
	}
	cred, err := env.credentials().Token(ctx, *sel)
	if err != nil {
		return err
	}
	return protocol.EncodeExecCredential(env.Stdout, apiVersion, cred.Token, cred.ExpiresAt)
}
