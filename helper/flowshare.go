package helper

import (
	"context"
	"time"

	"github.com/authos/authos-credential-helper/cache"
)

// FlowBoard shares what a sign-in in progress shows (the verification
// address and user code, never the device code) with the processes
// waiting on its lock, so that a prompt printed where nobody looks (an
// IDE's background fetch) does not strand the person at a terminal that
// says only "waiting" (cache.FlowBoard).
type FlowBoard interface {
	Put(name string, f cache.Flow) error
	Get(name string) (cache.Flow, bool, error)
	Remove(name string)
}

// flowPoll is how often a waiting process looks for the code to show.
var flowPoll = 250 * time.Millisecond

// maxFlowURI bounds a shared verification address.
const maxFlowURI = 2048

// sharing is the Prompter of the process signing in: it shows the code and
// puts it on the board for the waiters.
type sharing struct {
	Prompter
	board FlowBoard
	name  string
}

func (s *sharing) ShowCode(id Identity, uri, code string, expiresAt time.Time) {
	s.board.Put(s.name, cache.Flow{URI: uri, UserCode: code, ExpiresAt: expiresAt.UTC()})
	s.Prompter.ShowCode(id, uri, code, expiresAt)
}

// Notice passes lines on (Noticer).
func (s *sharing) Notice(line string) { notice(s.Prompter, line) }

// watchFlow shows p each code put on the board for name until stop is
// closed; it reports (on the returned channel, once done) whether it
// showed any, so the caller can Finish the prompt.
func (h *Helper) watchFlow(ctx context.Context, id Identity, p Prompter, stop <-chan struct{}) <-chan bool {
	done := make(chan bool, 1)
	go func() {
		shown := ""
		t := time.NewTicker(flowPoll)
		defer t.Stop()
		for {
			if f, ok, err := h.Flows.Get(id.Key()); err == nil && ok && f.UserCode != shown && shareable(f, h.now()) {
				shown = f.UserCode
				p.ShowCode(id, f.URI, f.UserCode, f.ExpiresAt)
			}
			select {
			case <-stop:
				done <- shown != ""
				return
			case <-ctx.Done():
				done <- shown != ""
				return
			case <-t.C:
			}
		}
	}()
	return done
}

// shareable keeps to what the signing process itself would show: a user
// code that passes CheckUserCode, a bounded address (Display escapes the
// rest), a flow not yet expired.
func shareable(f cache.Flow, now time.Time) bool {
	return CheckUserCode(f.UserCode) == nil && f.URI != "" && len(f.URI) <= maxFlowURI && f.ExpiresAt.After(now)
}
