package helper

import (
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/authos/authos-credential-helper/authos"
)

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
		p.ShowCode(id, "https://sso.example/activate", "ABCD-EFGH", now.Add(15*time.Minute))
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
		p.ShowCode(id, uri, "ABCD-EFGH", now.Add(15*time.Minute))
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
