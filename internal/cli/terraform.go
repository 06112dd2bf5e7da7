package cli

import (
	"context"
	"io"

	"github.com/authos/authos-credential-helper/helper"

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
		d, err := env.credentials().TerraformForget(*sel, host)
		if line := helper.DropText(d, "terraform logout"); err == nil && line != "" {
			toPerson(env, "authos: "+line+"\n")
		}
		return err
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

// toPerson writes line where a person sees it from under Terraform, which
// shows the helper's stderr only when it fails: the terminal, else stderr.
func toPerson(env Env, line string) {
	if tty, err := openTTY(env); err == nil {
		defer tty.Close()
		if _, err := io.WriteString(tty, line); err == nil {
			return
		}
	}
	io.WriteString(env.Stderr, line)
}
