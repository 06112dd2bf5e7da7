package cache

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestFailureMarkerIsRedacted: the marker is plain text on disk, so it gets
// stderr's redaction: no token, one line.
func TestFailureMarkerIsRedacted(t *testing.T) {
	jwt := "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ1In0.c2lnbmF0dXJl"
	tests := []struct{ name, msg string }{
		{"token in an error", "POST /auth/token answered 500: upstream said " + jwt},
		{"token across lines", "bad answer:\n" + jwt + "\n\tthen more"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l := FileLocker{Dir: t.TempDir()}
			at := time.Now()
			l.Failed("id-0123", at, errors.New(tc.msg))
			raw, err := os.ReadFile(filepath.Join(l.Dir, "id-0123"+".failed"))
			if err != nil {
				t.Fatal(err)
			}
			if bytes.Contains(raw, []byte(jwt)) || bytes.Contains(raw, []byte("eyJzdWIiOiJ1In0")) {
				t.Fatalf("marker holds the token: %q", raw)
			}
			if bytes.ContainsAny(raw, "\n\t") || !bytes.Contains(raw, []byte("[token sha256:")) {
				t.Fatalf("marker %q: want one line with a fingerprint", raw)
			}
			if msg, ok := l.LastFailure("id-0123", at.Add(-time.Second)); !ok || strings.Contains(msg, jwt) {
				t.Fatalf("LastFailure = %q, %v", msg, ok)
			}
		})
	}
}
