package cli

import (
	"context"
	"fmt"

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
	switch verb {
	case "get":
		ans, ok, err := env.credentials().GitGet(ctx, *sel, req)
		if !ok || err != nil {
			return err
		}
		return protocol.EncodeGit(env.Stdout, req, ans)
	case "erase":
		d, err := env.credentials().GitErase(*sel, req)
		if err == nil && d.Found {
			fmt.Fprintf(env.Stderr, "authos: %s\n", helper.RejectedText(d.Identity, "git"))
		}
		return err
	}
	return nil // store: git hands back what we gave it; the cache has it
}
