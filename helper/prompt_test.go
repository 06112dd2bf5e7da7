package helper

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/authos/authos-credential-helper/internal/authos"
	"github.com/authos/authos-credential-helper/internal/termsafe"
)

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

func TestDisplay(t *testing.T) {
	const good = "https://sso.example/activate"
	tests := []struct {
		uri, code          string
		openable           bool
		showURI, showCode  string
		warnURI, warnShape bool
	}{
		{good, "ABCD-EFGH", true, good, "ABCD-EFGH", false, false},
		{good, "KXQP-7L3D", true, good, "KXQP-7L3D", false, false}, // L: older servers
		{"http://127.0.0.1:8080/activate", "WXYZ-2345", true, "http://127.0.0.1:8080/activate", "WXYZ-2345", false, false},
		{good, "abcd-efgh", true, good, "abcd-efgh", false, true},
		{good, "ABCD-EFG0", true, good, "ABCD-EFG0", false, true}, // 0 is not in the alphabet
		{good, "123456", true, good, "123456", false, true},
		{good, "AB\x1b[2JCD", true, good, `AB\x1b[2JCD`, false, true},
		{good, "ABCD\u202e-EFGH", true, good, `ABCD\u202e-EFGH`, false, true},
		{"file:///etc/passwd", "ABCD-EFGH", false, "file:///etc/passwd", "ABCD-EFGH", true, false},
		{"javascript:alert(1)", "ABCD-EFGH", false, "javascript:alert(1)", "ABCD-EFGH", true, false},
		{"http://sso.example/activate", "ABCD-EFGH", false, "http://sso.example/activate", "ABCD-EFGH", true, false},
		{"https://good.example@evil.example/", "ABCD-EFGH", false, "https://good.example@evil.example/", "ABCD-EFGH", true, false},
		{good + "\x1b]52;c;aGk=\x07", "ABCD-EFGH", false, good + `\x1b]52;c;aGk=\x07`, "ABCD-EFGH", true, false},
		{"https://evil.example/\u202etxt.exe", "ABCD-EFGH", false, `https://evil.example/\u202etxt.exe`, "ABCD-EFGH", true, false},
	}
	for _, tt := range tests {
		d := Display(tt.uri, tt.code)
		if d.Openable != tt.openable || d.URI != tt.showURI || d.Code != tt.showCode {
			t.Errorf("Display(%q, %q) = %+v, want openable=%v uri=%q code=%q", tt.uri, tt.code, d, tt.openable, tt.showURI, tt.showCode)
		}
		all := strings.Join(d.Warnings, "\n")
		want := 0
		for _, w := range []bool{tt.warnURI, tt.warnShape} {
			if w {
				want++
			}
		}
		if len(d.Warnings) != want || strings.Contains(all, "sign-in address") != tt.warnURI {
			t.Errorf("Display(%q, %q) warnings %q, want address warning %v, code warning %v", tt.uri, tt.code, d.Warnings, tt.warnURI, tt.warnShape)
		}
		terminalSafe(t, "Display", d.URI+d.Code+all)
	}
	long := Display("https://sso.example/"+strings.Repeat("\x1b", 1000), strings.Repeat("\u202e", 1000))
	if len(long.URI) > 210 || len(long.Code) > 210 {
		t.Errorf("escaped text is not shortened: %d and %d bytes", len(long.URI), len(long.Code))
	}
}

func TestCheckUserCode(t *testing.T) {
	tests := []struct {
		code string
		ok   bool
	}{
		{"ABCD-EFGH", true},
		{"abcd efgh", true}, // unusual but typeable: shown with a warning
		{"12345678901234567890123456789012", true},
		{"", false},
		{"123456789012345678901234567890123", false},
		{" ABCD-EFGH", false},
		{"ABCD-EFGH ", false},
		{"ABCD-\x1b[2J", false},
		{"ABCD-EFGH\x07", false},
		{"ABCD\u202e-EFGH", false},
		{"АВСD-EFGH", false}, // Cyrillic look-alikes
		{"ABCD\u0085EFGH", false},
		{"ABCD\xffEFGH", false},
	}
	for _, tt := range tests {
		err := CheckUserCode(tt.code)
		if (err == nil) != tt.ok {
			t.Errorf("CheckUserCode(%q) = %v, want ok=%v", tt.code, err, tt.ok)
		}
		if err != nil {
			terminalSafe(t, "CheckUserCode's message", err.Error())
		}
	}
}

// codeRecorder keeps the codes a prompt was asked to show.
type codeRecorder struct{ shown []string }

func (r *codeRecorder) ShowCode(_ Identity, uri, code string, _ time.Time) {
	r.shown = append(r.shown, uri+" "+code)
}
func (r *codeRecorder) Event(authos.Event) {}
func (r *codeRecorder) Waiting(Identity)   {}
func (r *codeRecorder) Finish(error)       {}

// A user code nobody could type stops the sign-in before anything is shown
// or polled; an unusual printable one goes on.
func TestDeviceLoginRefusesUntypeableUserCode(t *testing.T) {
	for _, tt := range []struct {
		code   string
		refuse bool
	}{
		{"ABCD-\x1b]52;c;aGk=\x07", true},
		{"ABCD\u202e-EFGH", true},
		{strings.Repeat("A", 40), true},
		{"abcd-1234", false},
	} {
		var polls atomic.Int32
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			if r.URL.Path == "/auth/token" {
				polls.Add(1)
				w.WriteHeader(http.StatusBadRequest)
				io.WriteString(w, `{"error":"Invalid device code","error_code":"BAD_REQUEST","timestamp":"2026-11-26T00:00:00Z"}`)
				return
			}
			json.NewEncoder(w).Encode(map[string]any{"device_code": "d", "user_code": tt.code,
				"verification_uri": "https://sso.example/activate", "expires_in": 900, "interval": 1})
		}))
		rec := &codeRecorder{}
		_, err := DeviceLogin("test", authos.RealClock{})(context.Background(), Identity{Server: srv.URL, Org: "acme", Service: "cli", ClientID: "acme-cli"}, rec)
		srv.Close()
		if err == nil {
			t.Fatalf("%q: the sign-in succeeded", tt.code)
		}
		refused := strings.Contains(err.Error(), "cannot be shown and typed safely")
		if refused != tt.refuse || (len(rec.shown) == 0) != tt.refuse || (polls.Load() == 0) != tt.refuse {
			t.Errorf("%q: refused=%v (%v), shown %q, %d polls; want refused=%v", tt.code, refused, err, rec.shown, polls.Load(), tt.refuse)
		}
		if refused {
			terminalSafe(t, "the refusal", err.Error())
		}
	}
}
