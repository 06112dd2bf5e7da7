// Package prompt draws the device-flow prompt on a terminal or stderr for
// the command line: the code, a countdown, a QR code and the offer to open
// the browser. What may be shown comes from helper (Display, EventText,
// WaitingText); the plugin hands the same to its host instead, and so
// links none of this.
package prompt

import (
	"fmt"
	"io"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/authos/authos-credential-helper/helper"
	"github.com/authos/authos-credential-helper/internal/authos"
	"github.com/authos/authos-credential-helper/internal/qrtext"
	"github.com/authos/authos-credential-helper/internal/termsafe"
)

var _ interface {
	helper.Prompter
	helper.Noticer
} = (*TextPrompter)(nil)

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
	// Width reports the terminal's width in columns (0: unknown, taken as
	// 80). The live line is kept narrower: a wrapped line is cleared only
	// on its last row, and the rest would pile up once a second.
	Width func() int

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

// Notice (helper.Noticer) writes line for the person; it comes outside
// ShowCode…Finish, so no live line needs clearing.
func (p *TextPrompter) Notice(line string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	fmt.Fprintf(p.W, "authos: %s\n", line)
}

func (p *TextPrompter) ShowCode(id helper.Identity, uri, code string, expiresAt time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	d := helper.Display(uri, code)
	left := expiresAt.Sub(p.now()).Round(time.Minute)
	fmt.Fprintf(p.W, "\nauthos: sign in to %s\n  1. open   %s\n  2. enter  %s\n  The code expires in %s (at %s).\n",
		termsafe.Strip(id.String()), d.URI, d.Code, humanDuration(left), expiresAt.Local().Format("15:04"))
	for _, w := range d.Warnings {
		fmt.Fprintf(p.W, "authos: warning: %s\n", w)
	}
	if p.QR && d.Openable {
		if q, err := qrtext.Render(uri); err == nil {
			fmt.Fprintf(p.W, "  Or scan this with a phone to open the page:\n%s", q)
		}
	}
	if p.Offer != nil && d.Openable && p.Offer(uri) {
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
		p.drawLive()
		p.mu.Unlock()
		select {
		case <-stop:
			return
		case <-t.C:
		}
	}
}

func (p *TextPrompter) Event(ev authos.Event) {
	line := helper.EventText(ev)
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
	if p.stop != nil {
		p.drawLive() // at once, not at the next tick
	}
}

// drawLive redraws the live line; p.mu is held.
func (p *TextPrompter) drawLive() {
	width := 0
	if p.Width != nil {
		width = p.Width()
	}
	fmt.Fprint(p.W, "\r\033[K"+liveLine(p.status, p.expires.Sub(p.now()).Truncate(time.Second), width))
}

// liveLine is "  STATUS… M:SS left", shorter than width columns (80 when
// unknown): the status is cut, the countdown kept.
func liveLine(status string, left time.Duration, width int) string {
	if width <= 0 {
		width = 80
	}
	tail := "… " + clock(left) + " left"
	room := width - 1 - 2 - utf8.RuneCountInString(tail)
	if r := []rune(status); len(r) > room {
		if room < 0 {
			room = 0
		}
		status = string(r[:room])
	}
	line := "  " + status + tail
	if r := []rune(line); len(r) > width-1 { // a terminal too narrow for the countdown
		line = string(r[:max(width-2, 0)]) + "…"
	}
	return line
}

func (p *TextPrompter) Waiting(id helper.Identity) {
	p.mu.Lock()
	defer p.mu.Unlock()
	fmt.Fprintf(p.W, "authos: %s\n", helper.WaitingText(id))
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
