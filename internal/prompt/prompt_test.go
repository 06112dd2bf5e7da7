package prompt

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/authos/authos-credential-helper/helper"
	"github.com/authos/authos-credential-helper/internal/authos"
	"github.com/authos/authos-credential-helper/internal/termsafe"
)

var testID = helper.Identity{Server: "https://sso.example", Org: "acme", Service: "cli", ClientID: "acme-cli"}

type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}
func (l *lockedBuffer) String() string { l.mu.Lock(); defer l.mu.Unlock(); return l.b.String() }

func TestTextPrompter(t *testing.T) {
	now := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	for _, live := range []bool{false, true} {
		var out lockedBuffer
		p := &TextPrompter{W: &out, Live: live, Now: func() time.Time { return now }}
		p.ShowCode(testID, "https://sso.example/activate", "ABCD-EFGH", now.Add(15*time.Minute))
		p.Event(authos.Event{Kind: authos.EventPending})
		p.Event(authos.Event{Kind: authos.EventMFA})
		p.Event(authos.Event{Kind: authos.EventRetrying, Interval: 10 * time.Second,
			Err: errors.New("server said eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.c2ln")})
		p.Finish(nil)
		s := out.String()
		for _, want := range []string{"acme/cli at sso.example", "https://sso.example/activate", "ABCD-EFGH", "15 minutes", "finish the MFA step", "retrying in 10s"} {
			if !strings.Contains(s, want) {
				t.Errorf("live=%v: prompt lacks %q:\n%s", live, want, s)
			}
		}
		if strings.Contains(s, "eyJzdWIiOiJ4In0") {
			t.Errorf("live=%v: token-shaped text reached the prompt", live)
		}
		if live != strings.Contains(s, "… 15:00 left") {
			t.Errorf("live=%v: countdown line presence wrong:\n%q", live, s)
		}
		if live && !strings.HasSuffix(s, "\r\033[K") {
			t.Errorf("live status line not cleared at the end: %q", s)
		}
	}
}

func TestTextPrompterQRAndBrowserOffer(t *testing.T) {
	now := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	const uri = "https://sso.example/activate"
	for _, tt := range []struct {
		qr, offer bool
	}{{false, false}, {true, false}, {false, true}, {true, true}} {
		var out lockedBuffer
		var offered []string
		p := &TextPrompter{W: &out, Now: func() time.Time { return now }, QR: tt.qr}
		if tt.offer {
			p.Offer = func(u string) bool { offered = append(offered, u); return true }
		}
		p.ShowCode(testID, uri, "ABCD-EFGH", now.Add(15*time.Minute))
		p.Finish(nil)
		s := out.String()
		if strings.Contains(s, "▀") != tt.qr || strings.Contains(s, "scan this with a phone") != tt.qr {
			t.Errorf("qr=%v: QR code shown %v:\n%s", tt.qr, strings.Contains(s, "▀"), s)
		}
		if strings.Contains(s, "Press Enter to open it in your browser") != tt.offer || (len(offered) == 1 && offered[0] == uri) != tt.offer {
			t.Errorf("offer=%v: offered %v:\n%s", tt.offer, offered, s)
		}
	}
}

// hostile is what a malicious or broken server can put in the fields the
// prompt shows: clipboard writes, clear screen, window titles, bidi
// overrides, 8-bit controls.
var hostile = []string{
	"\x1b]52;c;ZWNobyBwd25lZCA+PiB+Ly5iYXNocmM=\x07",
	"\x1b[2J\x1b[H",
	"\x1b]0;title\x07",
	"\u202eHGFE-DCBA\u202c",
	"\u2066x\u2069\u200f\u061c",
	"\u009b2J\u009d0;t\u009c",
	"line\nbreak\r",
}

// terminalSafe fails if s holds anything a terminal acts on, except the
// prompt's own line clearing ("\r\033[K") and the QR code's colours.
func terminalSafe(t *testing.T, what, s string) {
	t.Helper()
	s = strings.NewReplacer("\r\033[K", "", "\x1b[30;47m", "", "\x1b[0m", "").Replace(s)
	for _, r := range s {
		if r != '\n' && termsafe.Unsafe(r) {
			t.Errorf("%s: %U reached the terminal: %q", what, r, s)
			return
		}
	}
}

func TestTextPrompterShowsNoControlSequences(t *testing.T) {
	now := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	for _, h := range hostile {
		for _, live := range []bool{false, true} {
			for _, tt := range []struct{ name, uri, code string }{
				{"uri", "https://sso.example/activate" + h, "ABCD-EFGH"},
				{"code", "https://sso.example/activate", "ABCD" + h},
				{"both", h + "https://sso.example/", h},
			} {
				var out lockedBuffer
				offered := false
				p := &TextPrompter{W: &out, Live: live, Now: func() time.Time { return now }, QR: true,
					Offer: func(string) bool { offered = true; return true }}
				p.ShowCode(testID, tt.uri, tt.code, now.Add(15*time.Minute))
				p.Event(authos.Event{Kind: authos.EventRetrying, Interval: time.Second, Err: errors.New("server said " + h)})
				p.Event(authos.Event{Kind: authos.EventMFA})
				p.Waiting(testID)
				p.Finish(nil)
				s := out.String()
				what := fmt.Sprintf("%s %q live=%v", tt.name, h, live)
				terminalSafe(t, what, s)
				if !strings.Contains(s, "authos: warning: ") {
					t.Errorf("%s: no warning line:\n%s", what, s)
				}
				if tt.name != "code" && (offered || strings.Contains(s, "Press Enter") || strings.Contains(s, "scan this")) {
					t.Errorf("%s: a refused address was offered to open or drawn as a QR code:\n%s", what, s)
				}
			}
		}
	}
}

func TestTextPrompterNotice(t *testing.T) {
	var b bytes.Buffer
	(&TextPrompter{W: &b}).Notice("warning: the token could not be cached")
	if got := b.String(); got != "authos: warning: the token could not be cached\n" {
		t.Fatalf("Notice wrote %q", got)
	}
}

// The live line never reaches the terminal's last column: a wrapped line
// would pile up one row per second (the 125-character "server trouble"
// line did at 80 and 120 columns).
func TestLiveLineFitsTheTerminal(t *testing.T) {
	now := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	trouble := authos.Event{Kind: authos.EventRetrying, Interval: 8 * time.Second,
		Err: errors.New(`POST https://sso.acme.example/auth/token: dial tcp 203.0.113.7:443: connect: connection refused (is the server down?)`)}
	for _, width := range []int{80, 120, 20, 0} {
		t.Run(fmt.Sprint(width), func(t *testing.T) {
			var out lockedBuffer
			p := &TextPrompter{W: &out, Live: true, Now: func() time.Time { return now }, Width: func() int { return width }}
			p.ShowCode(testID, "https://sso.example/activate", "ABCD-EFGH", now.Add(15*time.Minute))
			p.Event(trouble)
			p.Finish(nil)
			limit := width - 1
			if width == 0 {
				limit = 79
			}
			s := out.String()
			if !strings.Contains(s, "retrying in 8s") {
				t.Fatalf("no retry line:\n%s", s)
			}
			live := 0
			for _, seg := range strings.Split(s, "\r\033[K")[1:] {
				seg, _, _ = strings.Cut(seg, "\n")
				if seg == "" || strings.HasPrefix(seg, "authos:") {
					continue
				}
				live++
				if n := len([]rune(seg)); n > limit {
					t.Errorf("live line of %d columns at width %d: %q", n, width, seg)
				}
				if width >= 80 && !strings.HasSuffix(seg, "15:00 left") {
					t.Errorf("countdown cut at width %d: %q", width, seg)
				}
			}
			if live < 2 {
				t.Fatalf("the retry did not redraw the live line:\n%q", s)
			}
		})
	}
}
