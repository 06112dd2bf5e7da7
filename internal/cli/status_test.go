package cli

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
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

// status --check asks the server now: a revoked session shows as revoked
// and its token is dropped; no answer shows as unknown and keeps it.
func TestStatusCheck(t *testing.T) {
	for _, tt := range []struct {
		name      string
		status    int // what GET /api/user answers; 0: the server is gone
		session   string
		kept      bool
		tableText string
	}{
		{"alive", http.StatusOK, "alive", true, "alive"},
		{"revoked", http.StatusUnauthorized, "revoked", false, "revoked (ended at the server; token dropped"},
		{"server trouble", http.StatusBadGateway, "unknown", true, "unknown ("},
		{"unreachable", 0, "unknown", true, "unknown ("},
	} {
		t.Run(tt.name, func(t *testing.T) {
			asked := 0
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path != "/api/user" {
					// status may fetch the metadata document and the JWKS
					// (public, no token) for its local check.
					if r.Header.Get("Authorization") != "" {
						t.Errorf("%s %s carried a token", r.Method, r.URL.Path)
					}
					w.WriteHeader(http.StatusNotFound)
					return
				}
				asked++
				if r.Header.Get("Authorization") != "Bearer "+testToken {
					t.Errorf("%s %s", r.Method, r.URL.Path)
				}
				w.WriteHeader(tt.status)
				w.Write([]byte(`{"id":"u","email":"a@acme.example","org":"acme","service":"cli"}`))
			}))
			defer srv.Close()
			w := newTestWorld(t, strings.Replace(statusConfig, "https://sso.acme.example/", srv.URL, 1))
			if tt.status == 0 {
				srv.Close()
			}
			now := time.Now()
			w.putEntry(t, helper.Selector{Profile: "acme"}, now, now.Add(time.Hour))

			// Without --check the session is not asked about (the token was
			// just obtained).
			if code, out, _ := w.run(t, "", "authos-credential-helper", "status"); code != ExitOK || strings.Contains(out, "SESSION") || asked != 0 {
				t.Fatalf("plain status: exit %d, asked %d\n%s", code, asked, out)
			}
			code, out, stderr := w.run(t, "", "authos-credential-helper", "status", "--check", "--json")
			var rep statusReport
			if err := json.Unmarshal([]byte(out), &rep); code != ExitOK || err != nil || len(rep.Identities) != 1 {
				t.Fatalf("status --check --json: exit %d, %v, stderr %q\n%s", code, err, stderr, out)
			}
			if r := rep.Identities[0]; r.Session != tt.session || r.Valid != (tt.session != "revoked") || (tt.session == "unknown") != (r.SessionError != "") {
				t.Fatalf("row %+v, want session %q", r, tt.session)
			}
			p := w.parts(t)
			_, err := p.Store.Get(helper.FromProfile("acme", p.Config.Profiles["acme"]).Key())
			if kept := err == nil; kept != tt.kept {
				t.Fatalf("token kept = %v, want %v (%v)", kept, tt.kept, err)
			}
			if tt.kept {
				code, out, _ = w.run(t, "", "authos-credential-helper", "status", "--check")
				if code != ExitOK || !strings.Contains(out, "SESSION") || !strings.Contains(out, tt.tableText) {
					t.Fatalf("table: exit %d, want %q\n%s", code, tt.tableText, out)
				}
			}
			if strings.Contains(out+stderr, testToken) {
				t.Fatal("status printed the token")
			}
		})
	}
}

// status shows the sign-ins that were needed when no one could be asked,
// until the identity signs in.
func TestStatusShowsSignInNeeded(t *testing.T) {
	w := newTestWorld(t, statusConfig+"terraform = [\"tf.acme.example\"]\n")
	at := time.Now().Add(-time.Minute)
	id := helper.FromProfile("acme", w.parts(t).Config.Profiles["acme"])
	id.Server = "https://sso.acme.example"
	if err := cache.Misses(w.paths.State).Record(cache.Miss{Client: "terraform", Host: "tf.acme.example", Entry: id.Key(), Identity: id.String(),
		Login: id.LoginCommand(), At: at}); err != nil {
		t.Fatal(err)
	}
	want := "sign-in needed: terraform asked for tf.acme.example at " + at.Local().Format("15:04") + " with no terminal to show a sign-in on; run: authos-credential-helper login --profile acme"
	if code, out, _ := w.run(t, "", "authos-credential-helper", "status"); code != ExitOK || !strings.Contains(out, want) {
		t.Fatalf("exit %d, want %q\n%s", code, want, out)
	}
	w.putEntry(t, helper.Selector{Profile: "acme"}, time.Now(), time.Now().Add(time.Hour))
	if code, out, _ := w.run(t, "", "authos-credential-helper", "status", "--json"); code != ExitOK || strings.Contains(out, "tf.acme.example") {
		t.Fatalf("after signing in: exit %d\n%s", code, out)
	}
}
