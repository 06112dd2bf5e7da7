package helper

import (
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/authos/authos-credential-helper/internal/authos/wire"
	"github.com/authos/authos-credential-helper/internal/redact"
	"github.com/authos/authos-credential-helper/internal/termsafe"
)

// Prompter shows the person what the device flow needs from them. Front ends
// choose where it goes (stderr, the terminal, a plugin host's callback).
type Prompter interface {
	// ShowCode asks the person to open uri and enter code before expiresAt.
	ShowCode(id Identity, uri, code string, expiresAt time.Time)
	// Event reports progress while polling.
	Event(ev Event)
	// Waiting says that another process is already signing in.
	Waiting(id Identity)
	// Finish ends the prompt (err is nil on success).
	Finish(err error)
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

// EventText is the line a person is shown for ev, free of secrets and of
// anything a terminal would act on; "" for events not worth a line.
func EventText(ev Event) string {
	switch ev.Kind {
	case wire.EventMFA:
		return "approved; now finish the MFA step in your browser"
	case wire.EventSlowDown:
		return fmt.Sprintf("the server asked to slow down; checking every %s", ev.Interval)
	case wire.EventRetrying:
		return fmt.Sprintf("server trouble (%s); retrying in %s", redact.String(termsafe.Strip(ev.Err.Error())), ev.Interval)
	}
	return ""
}

// WaitingText is the line a person is shown while another process signs in.
func WaitingText(id Identity) string {
	return fmt.Sprintf("waiting for a sign-in to %s already in progress in another process…", termsafe.Strip(id.String()))
}
