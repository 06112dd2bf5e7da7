package wire

import (
	"encoding/base64"
	"testing"

	"github.com/authos/authos-credential-helper/internal/termsafe"
)

// The claims a person is shown (login's "signed in as", status) never carry
// a server's escape sequences.
func TestParseClaimsDisplayFieldsAreTerminalSafe(t *testing.T) {
	payload := `{"sub":"u\u001b]0;title\u0007","email":"a\u001b[2J@acme.example\u202e","org":"ac\u009bme","service":"cli","exp":4102444800}`
	tok := "eyJhbGciOiJSUzI1NiJ9." + base64.RawURLEncoding.EncodeToString([]byte(payload)) + ".c2ln"
	c, err := ParseClaims(tok)
	if err != nil {
		t.Fatal(err)
	}
	for name, v := range map[string]string{"sub": c.Subject, "email": c.Email, "org": c.Org, "service": c.Service} {
		if !termsafe.Clean(v) {
			t.Errorf("%s = %q reaches a terminal", name, v)
		}
	}
	if c.Email != "a@acme.example" || c.Expiry != 4102444800 {
		t.Fatalf("claims %+v", c)
	}
}

// IsLoopback decides where plain http may go; it must agree with what
// net.ParseIP(host).IsLoopback() said before it moved to netip.
func TestIsLoopback(t *testing.T) {
	for host, want := range map[string]bool{
		"localhost": true, "LocalHost": true, "127.0.0.1": true, "127.5.6.7": true, "::1": true,
		"::ffff:127.0.0.1": true, "0:0:0:0:0:0:0:1": true,
		"fe80::1%lo": false, "::1%lo": false, "10.0.0.1": false, "127.0.0.01": false, "": false,
		"example.com": false, "localhost.example.com": false, "[::1]": false, "0.0.0.0": false,
	} {
		if got := IsLoopback(host); got != want {
			t.Errorf("IsLoopback(%q) = %v, want %v", host, got, want)
		}
	}
}
