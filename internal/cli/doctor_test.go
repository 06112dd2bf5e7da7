package cli

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/authos/authos-credential-helper/helper"
)

func TestDoctorCommand(t *testing.T) {
	const cfg = "default_profile = \"acme\"\n[profiles.acme]\nserver = \"https://sso.acme.example\"\norg = \"acme\"\nservice = \"cli\"\nclient_id = \"acme-cli\"\n"
	w := newTestWorld(t, cfg)
	w.env["HOME"] = t.TempDir()
	w.cacheToken(t, helper.Selector{Profile: "acme"}, time.Hour)

	code, out, errOut := w.run(t, "", "authos-credential-helper", "doctor", "--offline")
	if code != ExitOK || errOut != "" || !strings.Contains(out, "profile acme\n") || !strings.Contains(out, "  ✓ token: valid token for a@acme.example") ||
		!strings.Contains(out, "  ✓ cache: backend file") || !strings.Contains(out, "\nno problems found\n") {
		t.Errorf("exit %d, stderr %q:\n%s", code, errOut, out)
	}
	if strings.Contains(out, testToken) {
		t.Fatal("doctor printed the token")
	}

	code, out, _ = w.run(t, "", "authos-credential-helper", "doctor", "--offline", "--json")
	var rep struct {
		OK     bool `json:"ok"`
		Checks []struct{ Area, Status string }
	}
	if err := json.Unmarshal([]byte(out), &rep); code != ExitOK || err != nil || !rep.OK || len(rep.Checks) == 0 {
		t.Errorf("--json: exit %d %v:\n%s", code, err, out)
	}

	for _, tc := range []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"doctor", "--profile", "nope"}, ExitUsage, `doctor: no profile "nope" in config.toml (have: acme)`},
		{[]string{"doctor", "extra"}, ExitUsage, `doctor: unexpected argument "extra"`},
	} {
		code, _, errOut := w.run(t, "", append([]string{"authos-credential-helper"}, tc.args...)...)
		if code != tc.code || !strings.Contains(errOut, tc.msg) {
			t.Errorf("%v: exit %d, stderr %q", tc.args, code, errOut)
		}
	}

	// Something broken: exit 1 and one line on stderr.
	w.env["AUTHOS_CACHE_BACKEND"] = "no-such-backend"
	code, out, errOut = w.run(t, "", "authos-credential-helper", "doctor", "--offline")
	if code != ExitFailure || strings.Count(errOut, "\n") != 1 || !strings.Contains(errOut, "problem(s) found") || !strings.Contains(out, "  ✗ cache: no usable keyring") {
		t.Errorf("exit %d, stderr %q:\n%s", code, errOut, out)
	}
}
