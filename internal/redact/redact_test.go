package redact

import (
	"strings"
	"testing"
)

func TestString(t *testing.T) {
	const jwt = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ1In0.c2lnbmF0dXJl"
	tests := []struct{ in, mustNot, must string }{
		{"server said: bad token " + jwt + " (401)", jwt, "[token sha256:"},
		{"Bearer " + jwt, "eyJzdWIi", "Bearer [token"},
		{jwt + "\n" + jwt, "c2lnbmF0dXJl", "[token"},
		{"eyJ alone is fine", "", "eyJ alone is fine"},
		{"no token here", "", "no token here"},
	}
	for _, tc := range tests {
		got := String(tc.in)
		if tc.mustNot != "" && strings.Contains(got, tc.mustNot) {
			t.Errorf("String(%q) = %q still holds the token", tc.in, got)
		}
		if !strings.Contains(got, tc.must) {
			t.Errorf("String(%q) = %q, want it to contain %q", tc.in, got, tc.must)
		}
	}
}

func FuzzString(f *testing.F) {
	f.Add("x eyJa.b.c y")
	f.Add("eyJeyJ..")
	f.Fuzz(func(t *testing.T, s string) {
		got := String(s)
		if !strings.Contains(s, "eyJ") && got != s {
			t.Fatalf("changed a string without a token: %q -> %q", s, got)
		}
	})
}
