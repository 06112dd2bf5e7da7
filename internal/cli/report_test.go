package cli

import (
	"errors"
	"strings"
	"testing"

	"github.com/authos/authos-credential-helper/internal/termsafe"
)

// Every error line on stderr is one line, without control sequences or
// tokens, whatever a server put in the message.
func TestReportPrintsOneSafeLine(t *testing.T) {
	const jwt = "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.c2ln"
	tests := []struct{ err, want string }{
		{"plain failure", "plain failure"},
		{"/auth/device/code answered 400: \x1b]52;c;aGk=\x07Invalid\x1b[2J client\u202e credentials", "/auth/device/code answered 400: Invalid client credentials"},
		{"title \x1b]0;pwned\x07set\nnext line\r\u009b2Jend", "title set next line end"},
		{"split token " + jwt[:20] + "\x1b[m" + jwt[20:], "split token [token sha256:"},
	}
	for _, tt := range tests {
		var out strings.Builder
		if code := report(&out, errors.New(tt.err)); code != ExitFailure {
			t.Errorf("report(%q) = %d", tt.err, code)
		}
		s := out.String()
		line := strings.TrimSuffix(s, "\n")
		if !strings.HasPrefix(s, "authos-credential-helper: "+tt.want) || strings.Contains(line, "\n") || !termsafe.Clean(line) || strings.Contains(s, "eyJzdWIiOiJ4In0") {
			t.Errorf("report(%q) printed %q, want %q", tt.err, s, tt.want)
		}
	}
}
