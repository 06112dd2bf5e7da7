package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"strings"

	"github.com/authos/authos-credential-helper/internal/config"
	"github.com/authos/authos-credential-helper/internal/setup"
)

// runSetup configures one client for a profile:
// `setup git|docker|kube|terraform [--profile P] [--undo] [--dry-run] [--force]
// [--creds-store] [--context NAME]`. All the work is in package setup.
func runSetup(ctx context.Context, env Env, args []string) error {
	fs := newFlagSet(env, "setup")
	var o setup.Options
	fs.StringVar(&o.Profile, "profile", "", flagHelp("setup", "profile"))
	fs.BoolVar(&o.Undo, "undo", false, flagHelp("setup", "undo"))
	fs.BoolVar(&o.DryRun, "dry-run", false, flagHelp("setup", "dry-run"))
	fs.BoolVar(&o.Force, "force", false, flagHelp("setup", "force"))
	fs.BoolVar(&o.CredsStore, "creds-store", false, flagHelp("setup", "creds-store"))
	fs.StringVar(&o.Context, "context", "", flagHelp("setup", "context"))
	// The client may come before or after the flags.
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		o.Client, args = args[0], args[1:]
	}
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return err
			}
			return usageError{err.Error()}
		}
		args = fs.Args()
		if o.Client != "" || len(args) == 0 {
			break
		}
		o.Client, args = args[0], args[1:]
	}
	if o.Client == "" || len(args) > 0 {
		return usageError{"usage: authos-credential-helper setup git|docker|kube|terraform|tofu [--profile NAME] [--undo] [--dry-run] [--force] [--creds-store] [--context NAME]"}
	}
	cfg, err := config.Load(env.Paths.ConfigFile)
	if err != nil {
		return err
	}
	o.Config = cfg
	o.Getenv = env.Getenv
	o.StateDir = env.Paths.State
	o.Log = env.Stderr
	if o.Binary, err = selfPath(); err != nil {
		return fmt.Errorf("setup: %w", err)
	}
	err = setup.Run(ctx, o)
	var ue setup.UsageError
	if errors.As(err, &ue) {
		return usageError{ue.Msg}
	}
	return err
}
