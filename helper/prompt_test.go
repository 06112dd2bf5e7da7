package helper

import (
	"strings"
	"testing"

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
