package cli

import (
	"context"
	"errors"

	"github.com/authos/authos-credential-helper/cache"
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
	record := terraformRecordName(host)
	if verb != protocol.TerraformGet {
		a, err := newApp(env)
		if err != nil {
			return err
		}
		if verb == protocol.TerraformForget {
			return a.store.Delete(record)
		}
		c, err := protocol.DecodeTerraformStore(env.Stdin)
		if err != nil {
			return err
		}
		// No sign-in can bring it back: refused where a reboot would lose it.
		return a.store.PutStatic(record, c)
	}
	a, err := hostApp(env, *sel, record, host) // get has no input: stdin is /dev/null
	if err != nil {
		return err
	}
	if a == nil {
		return protocol.EncodeTerraformNone(env.Stdout)
	}
	m, ok, err := helper.MatchHost(a.cfg, *sel, env.Getenv, "terraform", host, protocol.TerraformHost)
	if err != nil {
		return err
	}
	if !ok {
		var stored protocol.TerraformCredentials
		switch err := a.store.GetRecord(record, &stored); {
		case errors.Is(err, cache.ErrMiss), errors.Is(err, cache.ErrCorrupt):
			return protocol.EncodeTerraformNone(env.Stdout)
		case err != nil:
			return err
		}
		return protocol.EncodeTerraformStored(env.Stdout, stored)
	}
	p, watched, done := a.prompterFor(toTerminal)
	defer done()
	cred, err := a.h.Token(ctx, helper.Request{Identity: m.Identity, NonInteractive: !watched, Prompt: p})
	if err != nil {
		return err
	}
	return protocol.EncodeTerraformToken(env.Stdout, cred.Token)
}

// terraformRecordPrefix starts the cache names of tokens `terraform login`
// stored.
const terraformRecordPrefix = "tf-"

// terraformRecordName names a token `terraform login` stored for host.
func terraformRecordName(host string) string {
	return terraformRecordPrefix + helper.HashName("terraform", host)
}
