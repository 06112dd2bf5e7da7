package termsafe

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestStrip(t *testing.T) {
	tests := []struct{ in, want string }{
		{"plain text", "plain text"},
		{"ABCD-EFGH", "ABCD-EFGH"},
		{"Grüße, 東京 ✓", "Grüße, 東京 ✓"},
		{"a\x1b[2Jb", "ab"},                                      // clear screen
		{"a\x1b[38;5;196mred\x1b[0m", "ared"},                    // colours
		{"\x1b]0;pwned title\x07after", "after"},                 // set title, BEL-terminated
		{"\x1b]52;c;ZWNobyBwd25lZA==\x07x", "x"},                 // OSC 52 clipboard write
		{"\x1b]8;;https://evil\x1b\\link\x1b]8;;\x1b\\", "link"}, // hyperlink, ST-terminated
		{"\x1bP+q544e\x1b\\ok", "ok"},                            // DCS
		{"\x1b_apc\u009cok", "ok"},                               // APC ended by 8-bit ST
		{"\x1b]0;never ends", ""},                                // unterminated string eats the rest, as the terminal would
		{"\x1b]0;cancelled\x18ok", "ok"},                         // CAN cancels
		{"\x1b]0;x\x1b[2Jok", "ok"},                              // an ESC ends the string and starts its own sequence
		{"\x1bcreset", "reset"},                                  // RIS
		{"\x1b(Bcharset", "charset"},                             // nF escape
		{"lone\x1b", "lone"},
		{"\x1b\x1b[Aok", "ok"},
		{"a\u009b2Jb", "ab"},        // 8-bit CSI
		{"a\u009d0;t\u009cb", "ab"}, // 8-bit OSC and ST
		{"a\u0085b", "ab"},          // NEL
		{"bell\x07 nul\x00 del\x7f", "bell nul del"},
		{"two\nlines\r\tand\ttabs", "two lines  and tabs"},
		{"line\u2028sep", "line sep"},
		{"evil\u202egnp.exe", "evilgnp.exe"}, // RLO
		{"\u2066iso\u2069 \u200emark\u200f \u061calm", "iso mark alm"},
		{"bad \xff utf8 \xc3", "bad \ufffd utf8 \ufffd"},
		{"\xc2\x9b2J", ""}, // the two-byte UTF-8 form of CSI
	}
	for _, tt := range tests {
		got := Strip(tt.in)
		if got != tt.want {
			t.Errorf("Strip(%q) = %q, want %q", tt.in, got, tt.want)
		}
		if !Clean(got) {
			t.Errorf("Strip(%q) = %q is not clean", tt.in, got)
		}
		if again := Strip(got); again != got {
			t.Errorf("Strip not idempotent on %q: %q then %q", tt.in, got, again)
		}
	}
}

func TestQuote(t *testing.T) {
	tests := []struct{ in, want string }{
		{"ABCD-EFGH", "ABCD-EFGH"},
		{"Grüße", "Grüße"},
		{"\x1b]52;c;aGk=\x07", `\x1b]52;c;aGk=\x07`},
		{"a\x1b[2Jb", `a\x1b[2Jb`},
		{"r\u202eev", `r\u202eev`},
		{"c1\u009b", `c1\u009b`},
		{"back\\slash", `back\\slash`},
		{"bad\xff", `bad\xff`},
		{"nl\n", `nl\x0a`},
	}
	for _, tt := range tests {
		if got := Quote(tt.in); got != tt.want {
			t.Errorf("Quote(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestCheckLink(t *testing.T) {
	tests := []struct {
		uri string
		ok  bool
	}{
		{"https://sso.acme.example/activate", true},
		{"https://sso.acme.example:8443/activate?x=1#top", true},
		{"HTTPS://SSO.ACME.EXAMPLE/activate", true},
		{"https://xn--bcher-kva.example/activate", true}, // IDN as punycode: what it is, visibly
		{"https://10.0.0.5/activate", true},
		{"https://[2001:db8::1]/activate", true},
		{"http://127.0.0.1:8080/activate", true},
		{"http://127.9.9.9/activate", true},
		{"http://localhost:8080/activate", true},
		{"http://[::1]:8080/activate", true},

		{"file:///etc/passwd", false},
		{"javascript:alert(1)", false},
		{"data:text/html,<script>alert(1)</script>", false},
		{"vbscript:msgbox", false},
		{"ftp://files.example/x", false},
		{"smb://evil.example/share", false},
		{"-https://sso.acme.example/", false},
		{"--help", false},
		{"https:sso.acme.example/activate", false}, // opaque
		{"//sso.acme.example/activate", false},
		{"/activate", false},
		{"", false},
		{"http://sso.acme.example/activate", false}, // plain http to another host
		{"http://localhost.evil.example/", false},
		{"http://127.0.0.1.evil.example/", false},
		{"http://2130706433/", false}, // 127.0.0.1 to a browser, not to us
		{"http://[::ffff:10.0.0.1]/", false},
		{"https://good.example@evil.example/", false}, // user info that passes for the host
		{"https://evil@good.example/", false},
		{"https://user:pass@good.example/", false},
		{"https://good.example\\@evil.example/", false}, // browsers read \ as /
		{"https://%65vil.example/", false},
		{"https://good.example%2f@evil.example/", false},
		{"https://sso.acme.example/activate\x1b]52;c;aGk=\x07", false},
		{"https://sso.acme.example/\x1b[2J", false},
		{"https://sso.acme.example/ activate", false},
		{"https://sso.acme.example/act\tivate", false},
		{"https://sso.acme.example/activate\n", false},
		{"https://evil.example/\u202egoodpath", false}, // bidi override
		{"https://аpple.example/", false},              // Cyrillic а: IDN not as punycode
		{"https://bücher.example/", false},
		{"https://sso.acme.example/\u00a0", false},
		{"https://under_score.example/", false},
		{"https://-lead.example/", false},
		{"https://a..b/", false},
		{"https://sso.acme.example:0/", false},
		{"https://sso.acme.example:99999/", false},
		{"https://sso.acme.example:x/", false},
		{"https://[fe80::1%25eth0]/", false},
		{"https://[not-v6]/", false},
		{"https:///activate", false},
		{"https://" + strings.Repeat("a", 2100) + ".example/", false},
	}
	for _, tt := range tests {
		err := CheckLink(tt.uri)
		if (err == nil) != tt.ok {
			t.Errorf("CheckLink(%q) = %v, want ok=%v", tt.uri, err, tt.ok)
		}
		if err != nil && !Clean(err.Error()) {
			t.Errorf("CheckLink(%q): the reason %q is not clean", tt.uri, err)
		}
	}
}

func FuzzStrip(f *testing.F) {
	for _, s := range []string{"plain", "\x1b]52;c;aGk=\x07", "\x1b[2J", "\u202e", "\xc2\x9b", "\x1b]0;x\x1b\\y", "\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out := Strip(s)
		if !utf8.ValidString(out) {
			t.Fatalf("Strip(%q) = %q: invalid UTF-8", s, out)
		}
		for _, r := range out {
			if Unsafe(r) {
				t.Fatalf("Strip(%q) = %q keeps %U", s, out, r)
			}
		}
		if again := Strip(out); again != out {
			t.Fatalf("Strip not idempotent: %q -> %q -> %q", s, out, again)
		}
		q := Quote(s)
		if !Clean(q) {
			t.Fatalf("Quote(%q) = %q is not clean", s, q)
		}
	})
}

func FuzzCheckLink(f *testing.F) {
	for _, s := range []string{"https://sso.example/activate", "file:///etc/passwd", "http://127.0.0.1/", "https://a@b/"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if CheckLink(s) != nil {
			return
		}
		if !Clean(s) || strings.HasPrefix(s, "-") || strings.ContainsAny(s, " \\") {
			t.Fatalf("CheckLink accepted %q", s)
		}
		if l := strings.ToLower(s); !strings.HasPrefix(l, "https://") && !strings.HasPrefix(l, "http://") {
			t.Fatalf("CheckLink accepted %q", s)
		}
	})
}
