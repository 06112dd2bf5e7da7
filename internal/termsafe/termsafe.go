// Package termsafe keeps text that came from outside (a server's answer, an
// error message) from acting on the terminal it is printed to: no control
// characters, no escape sequences (clear screen, window title, OSC 52
// clipboard writes), no bidi controls that make text read differently from
// what it is.
package termsafe

import (
	"strings"
	"unicode/utf8"
)

// Unsafe reports whether r must not reach a terminal from outside: the C0
// controls, DEL, the C1 controls (U+0080–U+009F), the bidi controls
// (U+061C, U+200E/F, U+202A–U+202E, U+2066–U+2069) and the line and
// paragraph separators.
func Unsafe(r rune) bool {
	switch {
	case r < 0x20, r == 0x7f, r >= 0x80 && r <= 0x9f:
		return true
	case r == 0x061c, r == 0x200e, r == 0x200f, r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069:
		return true
	case r == 0x2028, r == 0x2029:
		return true
	}
	return false
}

// Clean reports whether s is valid UTF-8 without an Unsafe rune, that is,
// whether Strip(s) == s.
func Clean(s string) bool {
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 || Unsafe(r) {
			return false
		}
		i += n
	}
	return true
}

// Strip returns s without escape sequences (ECMA-48: CSI, OSC and the other
// control strings, two-byte escapes, and their C1 forms) and without any
// other Unsafe rune. Line breaks and tabs become spaces; invalid UTF-8
// becomes U+FFFD. Its output is Clean, and Strip(Strip(s)) == Strip(s).
func Strip(s string) string {
	if Clean(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n == 1:
			b.WriteRune(utf8.RuneError)
		case r == 0x1b:
			n = escLen(s[i:])
		case r == 0x9b: // CSI
			n += csiLen(s[i+n:])
		case r == 0x90 || r == 0x98 || r == 0x9d || r == 0x9e || r == 0x9f: // DCS, SOS, OSC, PM, APC
			n += stringLen(s[i+n:])
		case r == '\t' || r == '\n' || r == '\v' || r == '\f' || r == '\r' || r == 0x2028 || r == 0x2029:
			b.WriteByte(' ')
		case Unsafe(r):
		default:
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	return b.String()
}

// escLen is the length of the escape sequence at the start of s (s[0] is ESC).
func escLen(s string) int {
	if len(s) < 2 {
		return 1
	}
	switch c := s[1]; {
	case c == '[':
		return 2 + csiLen(s[2:])
	case c == ']' || c == 'P' || c == 'X' || c == '^' || c == '_':
		return 2 + stringLen(s[2:])
	case c >= 0x20 && c <= 0x2f: // intermediate bytes, then a final byte
		j := 1
		for j < len(s) && s[j] >= 0x20 && s[j] <= 0x2f {
			j++
		}
		if j < len(s) && s[j] >= 0x30 && s[j] <= 0x7e {
			j++
		}
		return j
	case c >= 0x30 && c <= 0x7e:
		return 2
	}
	return 1 // a lone ESC
}

// csiLen is the length of a control sequence's parameters, intermediates and
// final byte at the start of s. A malformed sequence ends where it breaks.
func csiLen(s string) int {
	j := 0
	for j < len(s) && s[j] >= 0x20 && s[j] <= 0x3f {
		j++
	}
	if j < len(s) && s[j] >= 0x40 && s[j] <= 0x7e {
		j++
	}
	return j
}

// stringLen is the length of a control string's payload and terminator at
// the start of s: up to BEL or ST (ESC \ or U+009C); CAN and SUB cancel it;
// another ESC ends it and starts a sequence of its own. Unterminated, it
// runs to the end, as a terminal would swallow it.
func stringLen(s string) int {
	for j := 0; j < len(s); {
		r, n := utf8.DecodeRuneInString(s[j:])
		switch r {
		case 0x07, 0x9c, 0x18, 0x1a:
			return j + n
		case 0x1b:
			if j+1 < len(s) && s[j+1] == '\\' {
				return j + 2
			}
			return j
		}
		j += n
	}
	return len(s)
}

// Quote returns s with every Unsafe rune and invalid byte written as a
// visible escape (\x1b, \u202e) and backslashes doubled, so a person can see
// what a server sent without the terminal acting on it. Its output is Clean.
func Quote(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	const hex = "0123456789abcdef"
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n == 1, r < 0x80 && Unsafe(r):
			c := s[i]
			b.WriteString(`\x`)
			b.WriteByte(hex[c>>4])
			b.WriteByte(hex[c&0xf])
		case Unsafe(r):
			b.WriteString(`\u`)
			for shift := 12; shift >= 0; shift -= 4 {
				b.WriteByte(hex[(r>>shift)&0xf])
			}
		case r == '\\':
			b.WriteString(`\\`)
		default:
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	return b.String()
}
