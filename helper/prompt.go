package helper

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/authos/authos-credential-helper/authos"
	"github.com/authos/authos-credential-helper/internal/qrtext"
	"github.com/authos/authos-credential-helper/internal/redact"
	"github.com/authos/authos-credential-helper/internal/termsafe"
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

// maxUserCode bounds a user code we accept; AuthOS's have 9 characters.
const maxUserCode = 32

// userCodeAlphabet is AuthOS's, with the L that older servers still use.
const userCodeAlphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"

// CheckUserCode refuses a user code that a person could not read and type
// as sent: empty, longer than 32, or anything but printable ASCII (a
// control or bidi character, a letter from another script that looks like
// a Latin one). AuthOS sends XXXX-XXXX; anything else printable is shown
// with a warning (see Display).
func CheckUserCode(code string) error {
	bad := ""
	switch {
	case code == "":
		bad = "it is empty"
	case len(code) > maxUserCode:
		bad = fmt.Sprintf("it is %d bytes long, more than %d", len(code), maxUserCode)
	case code[0] == ' ' || code[len(code)-1] == ' ':
		bad = "it starts or ends with a space"
	default:
		for i := 0; i < len(code); i++ {
			if code[i] < ' ' || code[i] > '~' {
				bad = "it has control, bidi or non-ASCII characters"
				break
			}
		}
	}
	if bad == "" {
		return nil
	}
	return fmt.Errorf("the server sent a user code that cannot be shown and typed safely (%s: %s); not signing in", bad, shorten(termsafe.Quote(code)))
}

// usualUserCode reports whether code has AuthOS's shape, XXXX-XXXX.
func usualUserCode(code string) bool {
	if len(code) != 9 || code[4] != '-' {
		return false
	}
	for i := 0; i < len(code); i++ {
		if i != 4 && !strings.ContainsRune(userCodeAlphabet, rune(code[i])) {
			return false
		}
	}
	return true
}

// CodeDisplay is how a prompt shows what the server sent.
type CodeDisplay struct {
	URI, Code string // safe to print on a terminal
	// Openable: the URI passed termsafe.CheckLink, so it may be offered,
	// opened and drawn as a QR code. Otherwise URI is its escaped text.
	Openable bool
	Warnings []string // one line each, safe to print
}

// Display decides how to show a verification URI and user code from the
// server: as sent when they are what AuthOS sends, escaped and with a
// warning otherwise. Every prompt goes through it.
func Display(uri, code string) CodeDisplay {
	d := CodeDisplay{URI: uri, Code: code, Openable: true}
	if err := termsafe.CheckLink(uri); err != nil {
		d.URI, d.Openable = shorten(termsafe.Quote(uri)), false
		d.Warnings = append(d.Warnings, fmt.Sprintf("the server's sign-in address is shown as text and will not be opened: %v; check it before you open it yourself", err))
	}
	switch {
	case CheckUserCode(code) != nil:
		d.Code = shorten(termsafe.Quote(code))
		d.Warnings = append(d.Warnings, "the code has characters a terminal must not show, written here as \\x.. or \\u.... escapes")
	case !usualUserCode(code):
		d.Warnings = append(d.Warnings, "the code is not in AuthOS's usual XXXX-XXXX form; type it exactly as shown")
	}
	return d
}

// shorten cuts s to at most 200 bytes on a rune boundary, marking the cut.
func shorten(s string) string {
	const max = 200
	if len(s) <= max {
		return s
	}
	i := max
	for i > 0 && !utf8.RuneStart(s[i]) {
		i--
	}
	return s[:i] + "…"
}

func (p *TextPrompter) ShowCode(id Identity, uri, code string, expiresAt time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	d := Display(uri, code)
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

// EventText is the line a person is shown for ev, free of secrets and of
// anything a terminal would act on; "" for events not worth a line.
func EventText(ev authos.Event) string {
	switch ev.Kind {
	case authos.EventMFA:
		return "approved; now finish the MFA step in your browser"
	case authos.EventSlowDown:
		return fmt.Sprintf("the server asked to slow down; checking every %s", ev.Interval)
	case authos.EventRetrying:
		return fmt.Sprintf("server trouble (%s); retrying in %s", redact.String(termsafe.Strip(ev.Err.Error())), ev.Interval)
	}
	return ""
}

// WaitingText is the line a person is shown while another process signs in.
func WaitingText(id Identity) string {
	return fmt.Sprintf("waiting for a sign-in to %s already in progress in another process…", termsafe.Strip(id.String()))
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
