package cli

import (
	"context"

	"github.com/authos/authos-credential-helper/protocol"
)

// runTerraform speaks the Terraform/OpenTofu credentials helper protocol:
// `terraform-credentials-authos [identity flags] get|store|forget <host>`.
// Terraform shows the helper's stderr only when it fails, so the prompt goes
// to the terminal; with no terminal a miss fails at once.
func runTerraform(ctx context.Context, env Env, args []string) error {
	fs := protocolFlagSet("terraform")
	sel := identityFlags(fs)
	if err := fs.Parse(args); err != nil {
		return usageError{err.Error()}
	}
	verb, host, err := protocol.DecodeTerraformArgs(fs.Args())
	if err != nil {
		return usageError{err.Error()} // already says "terraform: …"
	}
	switch verb {
	case protocol.TerraformForget:
		return env.credentials().TerraformForget(host)
	case protocol.TerraformStore:
		c, err := protocol.DecodeTerraformStore(env.Stdin)
		if err != nil {
			return err
		}
		return env.credentials().TerraformStore(host, c)
	}
	a, err := env.credentials().TerraformGet(ctx, *sel, host) // get has no input: stdin is /dev/null
	switch {
	case err != nil:
		return err
	case a.Token != "":
		return protocol.EncodeTerraformToken(env.Stdout, a.Token)
	case a.Stored != nil:
		return protocol.EncodeTerraformStored(env.Stdout, *a.Stored)
	}
	return protocol.EncodeTerraformNone(env.Stdout)
}
