package cli

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/authos/authos-credential-helper/internal/activation"
	"github.com/authos/authos-credential-helper/internal/authos"
	"github.com/authos/authos-credential-helper/internal/httpserve"
)

// runActivationServer serves the activation pages for an AuthOS server:
// `activation-server --server URL [--listen ADDR]`. It serves plain HTTP;
// put it behind the TLS front end that serves the service's
// device_activation_uri.
func runActivationServer(ctx context.Context, env Env, args []string) error {
	fs := newFlagSet(env, "activation-server")
	server := fs.String("server", "", flagHelp("activation-server", "server"))
	listen := fs.String("listen", "127.0.0.1:8081", flagHelp("activation-server", "listen"))
	if err := parse(fs, args); err != nil {
		return err
	}
	if *server == "" {
		return usageError{"activation-server: --server is required (AuthOS's BASE_URL)"}
	}
	base, err := authos.CheckBaseURL(*server)
	if err != nil {
		return usageError{"activation-server: " + err.Error()}
	}
	pages, err := activation.New(base, nil)
	if err != nil {
		return err
	}
	ctx, stop := httpserve.OnSignal(ctx)
	defer stop()
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", *listen)
	if err != nil {
		return fmt.Errorf("activation-server: listening on %s: %w", *listen, err)
	}
	hs := &http.Server{Handler: pages, ReadHeaderTimeout: 10 * time.Second, BaseContext: func(net.Listener) context.Context { return ctx }}
	fmt.Fprintf(env.Stdout, "activation pages on http://%s/activate for AuthOS at %s\n", ln.Addr(), base)
	if err := httpserve.Until(ctx, hs, ln, httpserve.Grace); err != nil {
		return fmt.Errorf("activation-server: %w", err)
	}
	fmt.Fprintf(env.Stderr, "activation-server: stopped (%v)\n", context.Cause(ctx))
	return nil
}
