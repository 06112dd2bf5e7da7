// Package httpserve runs the long-lived servers (dev-server,
// activation-server) until they are told to stop.
package httpserve

import (
	"context"
	"errors"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"
)

// Grace is how long requests in flight get to finish once a server stops.
const Grace = 5 * time.Second

// OnSignal is ctx, cancelled by SIGINT or SIGTERM; context.Cause names the
// signal. Only the servers install it: os/signal costs every start-up of
// the binary a thread, which the credential paths should not pay.
func OnSignal(ctx context.Context) (context.Context, context.CancelFunc) {
	return signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
}

// Until serves hs on ln until ctx is done, then shuts hs down: the listener
// closes at once and requests in flight get up to grace to finish. It
// returns nil after a clean shutdown, Serve's error when serving fails
// first, and Shutdown's when requests outlive grace.
func Until(ctx context.Context, hs *http.Server, ln net.Listener, grace time.Duration) error {
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	if err := hs.Shutdown(sctx); err != nil {
		hs.Close()
		return err
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
