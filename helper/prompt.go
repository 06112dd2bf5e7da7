package helper

import (
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/authos/authos-credential-helper/authos"
	"github.com/authos/authos-credential-helper/internal/qrtext"
	"github.com/authos/authos-credential-helper/internal/redact"
)

// Prompter shows the person what the device flow needs from them. Front ends
// choose where it goes (stderr, the terminal, a plugin host's callback).
type Prompter interface {
	// ShowCode asks the person to open uri and enter code before expiresAt.
	ShowCode(id Identity, uri, code string, expiresAt time.Time)
	// Event reports progress while polling.
	Event(ev authos.Event)
	// Waiting says that another process is already signing in.
	Waiting(id Identity)
	// Finish ends the prompt (err is nil on success).
	Finish(err error)
}

// TextPrompter writes the prompt to W, typically stderr. When Live is set
// (W is a terminal) it keeps a one-line countdown updated in place.
type TextPrompter struct {
	W    io.Writer
	Live bool
	Now  func() time.Time
	// QR draws a QR code of the verification URL under the prompt, for a
	// phone (set it only when W is a terminal).
	QR bool
	// Offer, when set, is offered the verification URL. If it can wait for
	// an Enter on the terminal (without blocking the caller) and then open
	// the browser, it starts doing so and returns true, and the prompt says
	// "press Enter to open it in your browser".
	Offer func(uri string) bool

	mu      sync.Mutex
	stop    chan struct{}
	done    chan struct{}
	expires time.Time
	status  string
}

func (p *TextPrompter) now() time.Time {
	if p.Now != nil {
		return p.Now()
	}
	return time.Now()
}

func (p *TextPrompter) ShowCode(id Identity, uri, code string, expiresAt time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	left := expiresAt.Sub(p.now()).Round(time.Minute)
	fmt.Fprintf(p.W, "\nauthos: sign in to %s\n  1. open   %s\n  2. enter  %s\n  The code expires in %s (at %s).\n",
		id, uri, code, humanDuration(left), expiresAt.Local().Format("15:04"))
	if p.QR {
		if q, err := qrtext.Render(uri); err == nil {
			fmt.Fprintf(p.W, "  Or scan this with a phone to open the page:\n%s", q)
		}
	}
	if p.Offer != nil && p.Offer(uri) {
		fmt.Fprint(p.W, "  Press Enter to open it in your browser.\n")
	}
	fmt.Fprintln(p.W)
	p.expires = expiresAt
	p.status = "waiting for approval"
	if p.Live && p.stop == nil {
		p.stop, p.done = make(chan struct{}), make(chan struct{})
		go p.tick(p.stop, p.done)
	}
}

// tick gets its channels as arguments: Finish clears the fields.
func (p *TextPrompter) tick(stop <-chan struct{}, done chan<- struct{}) {
	defer close(done)
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		p.mu.Lock()
		left := p.expires.Sub(p.now()).Truncate(time.Second)
		fmt.Fprintf(p.W, "\r\033[K  %s… %s left", p.status, clock(left))
		p.mu.Unlock()
		select {
		case <-stop:
			return
		case <-t.C:
		}
	}
}

// EventText is the line a person is shown for ev, free of secrets; "" for
// events not worth a line.
func EventText(ev authos.Event) string {
	switch ev.Kind {
	case authos.EventMFA:
		return "approved; now finish the MFA step in your browser"
	case authos.EventSlowDown:
		return fmt.Sprintf("the server asked to slow down; checking every %s", ev.Interval)
	case authos.EventRetrying:
		return fmt.Sprintf("server trouble (%s); retrying in %s", redact.String(ev.Err.Error()), ev.Interval)
	}
	return ""
}

// WaitingText is the line a person is shown while another process signs in.
func WaitingText(id Identity) string {
	return fmt.Sprintf("waiting for a sign-in to %s already in progress in another process…", id)
}

func (p *TextPrompter) Event(ev authos.Event) {
	line := EventText(ev)
	if line == "" {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.Live {
		p.status = line
		fmt.Fprint(p.W, "\r\033[K")
	}
	fmt.Fprintf(p.W, "authos: %s\n", line)
}

func (p *TextPrompter) Waiting(id Identity) {
	p.mu.Lock()
	defer p.mu.Unlock()
	fmt.Fprintf(p.W, "authos: %s\n", WaitingText(id))
}

func (p *TextPrompter) Finish(error) {
	p.mu.Lock()
	stop, done := p.stop, p.done
	p.stop = nil
	p.mu.Unlock()
	if stop != nil {
		close(stop)
		<-done
		fmt.Fprint(p.W, "\r\033[K")
	}
}

func clock(d time.Duration) string {
	if d < 0 {
		d = 0
	}
	return fmt.Sprintf("%d:%02d", int(d.Minutes()), int(d.Seconds())%60)
}

func humanDuration(d time.Duration) string {
	if m := int(d.Minutes()); m >= 1 {
		if m == 1 {
			return "1 minute"
		}
		return fmt.Sprintf("%d minutes", m)
	}
	return "less than a minute"
}
