package cli

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/authos/authos-credential-helper/cache"
	"github.com/authos/authos-credential-helper/helper"
)

const statusConfig = `[profiles.acme]
server = " https://sso.acme.example/ "
org = "acme"
service = "cli"
client_id = "acme-cli"
`

// putEntry caches a token for the identity sel resolves to.
func (w *testWorld) putEntry(t *testing.T, sel helper.Selector, obtained, expires time.Time) {
	t.Helper()
	p := w.parts(t)
	id, err := helper.Resolve(p.Config, sel, helper.Selector{})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Store.Put(id.Key(), cache.Entry{Server: id.Server, Org: id.Org, Service: id.Service, ClientID: id.ClientID,
		AccessToken: testToken, TokenType: "Bearer", ObtainedAt: obtained, ExpiresAt: expires, Email: "a@acme.example"}); err != nil {
		t.Fatal(err)
	}
}

// status shows each token's real expiry and when the helper stops serving
// it (the expiry minus the margin), in the table and in --json.
func TestStatusShowsExpiryAndServedUntil(t *testing.T) {
	now := time.Now().Truncate(time.Second)
	tests := []struct {
		name             string
		obtained, expiry time.Time
		valid            bool
		expires, served  string // in the table
	}{
		{"valid", now.Add(-time.Minute), now.Add(2*time.Hour + 30*time.Second), true, "(in 2h00m)", "(in 1h55m)"},
		{"inside the margin", now.Add(-time.Hour), now.Add(3 * time.Minute), false, "(in 3m)", "(passed; renewing at next use)"},
		{"expired", now.Add(-2 * time.Hour), now.Add(-time.Hour), false, "(expired)", "(passed)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newTestWorld(t, statusConfig)
			w.putEntry(t, helper.Selector{Profile: "acme"}, tt.obtained, tt.expiry)

			code, out, stderr := w.run(t, "", "authos-credential-helper", "status")
			lines := strings.Split(out, "\n")
			if code != ExitOK || len(lines) < 3 || strings.Join(strings.Fields(lines[0]), " ") != "PROFILE SERVER ORG/SERVICE CLIENT ID USER EXPIRES SERVED UNTIL" {
				t.Fatalf("status: exit %d, stderr %q\n%s", code, stderr, out)
			}
			row := lines[1]
			served := tt.expiry.Add(-helper.DefaultMargin)
			for _, want := range []string{"acme ", "https://sso.acme.example ", "acme/cli", "acme-cli", "a@acme.example",
				tt.expiry.Local().Format("2006-01-02 15:04") + " " + tt.expires,
				served.Local().Format("2006-01-02 15:04") + " " + tt.served} {
				if !strings.Contains(row, want) {
					t.Errorf("row lacks %q:\n%s", want, out)
				}
			}
			if strings.Contains(out, testToken) {
				t.Error("status printed the token")
			}

			code, out, _ = w.run(t, "", "authos-credential-helper", "status", "--json")
			var rep statusReport
			if err := json.Unmarshal([]byte(out), &rep); code != ExitOK || err != nil || len(rep.Identities) != 1 {
				t.Fatalf("status --json: exit %d, %v\n%s", code, err, out)
			}
			r := rep.Identities[0]
			if r.Profile != "acme" || r.Valid != tt.valid || !r.ExpiresAt.Equal(tt.expiry) || !r.ServedUntil.Equal(served) {
				t.Errorf("--json row %+v, want valid=%v expires %v served until %v", r, tt.valid, tt.expiry, served)
			}
		})
	}
}
