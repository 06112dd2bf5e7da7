package e2e

import (
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

func claims(t *testing.T, jwt string) map[string]any {
	t.Helper()
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %.20q…", jwt)
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var c map[string]any
	json.Unmarshal(raw, &c)
	return c
}

func TestLoginTokenStatusLogout(t *testing.T) {
	t.Parallel()
	d := startDevServer(t)
	s := newSandbox(t, d.URL)

	p := s.start(t, "token")
	c := d.waitPendingCode(t, 1)
	waitFor(t, "the prompt on stderr", 10*time.Second, func() bool { return strings.Contains(p.stderr.String(), c.UserCode) })
	if !strings.Contains(p.stderr.String(), d.URL+"/activate") || !strings.Contains(p.stderr.String(), "acme/cli at") {
		t.Errorf("prompt lacks the verification URL or identity:\n%s", p.stderr.String())
	}
	d.control(t, "approve", c.UserCode, "alice@acme.example")
	if code := p.wait(t); code != 0 {
		t.Fatalf("token exited %d: %s", code, p.stderr.String())
	}
	tok := strings.TrimSuffix(p.stdout.String(), "\n")
	if strings.Count(p.stdout.String(), "\n") != 1 || claims(t, tok)["email"] != "alice@acme.example" {
		t.Fatalf("stdout is not exactly the token and a newline: %q", p.stdout.String())
	}
	if strings.Contains(p.stderr.String(), tok) {
		t.Fatal("token printed on stderr")
	}

	// A hit: same token, and the server hears nothing.
	before := d.codes(t)
	out, errOut, code := s.run(t, "token")
	if code != 0 || strings.TrimSpace(out) != tok || errOut != "" {
		t.Fatalf("second token: %d %q %q", code, out, errOut)
	}
	if after := d.codes(t); after.DeviceCodeRequests != before.DeviceCodeRequests || after.TokenRequests != before.TokenRequests {
		t.Fatalf("cache hit contacted the server: %+v -> %+v", before, after)
	}

	out, _, code = s.run(t, "status")
	if code != 0 || !strings.Contains(out, "alice@acme.example") || !strings.Contains(out, "acme/cli") || strings.Contains(out, tok) {
		t.Fatalf("status: %d\n%s", code, out)
	}
	out, _, _ = s.run(t, "status", "--json")
	var st struct {
		Backend    string `json:"backend"`
		Identities []struct {
			Email string `json:"email"`
			Valid bool   `json:"valid"`
		} `json:"identities"`
	}
	if err := json.Unmarshal([]byte(out), &st); err != nil || len(st.Identities) != 1 || !st.Identities[0].Valid || st.Backend == "" || strings.Contains(out, tok) {
		t.Fatalf("status --json: %v\n%s", err, out)
	}

	if d.userStatus(t, tok) != 200 {
		t.Fatal("token not accepted by /api/user before logout")
	}
	_, errOut, code = s.run(t, "logout")
	if code != 0 || !strings.Contains(errOut, "logged out") {
		t.Fatalf("logout: %d %s", code, errOut)
	}
	if got := d.userStatus(t, tok); got != 401 {
		t.Fatalf("/api/user after logout = %d, want 401 (session ended)", got)
	}
	out, _, _ = s.run(t, "status")
	if !strings.Contains(out, "no cached identities") {
		t.Fatalf("status after logout:\n%s", out)
	}
}

func TestCacheHitWithServerGone(t *testing.T) {
	t.Parallel()
	d := startDevServer(t)
	s := newSandbox(t, d.URL)
	tok := s.login(t, d, 1, "alice@acme.example")
	d.stop()
	out, errOut, code := s.run(t, "token")
	if code != 0 || strings.TrimSpace(out) != tok {
		t.Fatalf("hit with the server gone: %d %q %s", code, out, errOut)
	}
	// logout still works offline: local delete plus a warning.
	_, errOut, code = s.run(t, "logout")
	if code != 0 || !strings.Contains(errOut, "warning") || !strings.Contains(errOut, "deleted the local token") {
		t.Fatalf("offline logout: %d %s", code, errOut)
	}
	if names, _ := filepath.Glob(filepath.Join(s.tokensDir(), "*.entry")); len(names) != 0 {
		t.Fatalf("entry left after offline logout: %v", names)
	}
}

func TestTwentyProcessesOneDeviceFlow(t *testing.T) {
	t.Parallel()
	d := startDevServer(t)
	s := newSandbox(t, d.URL)
	const n = 20
	procs := make([]*proc, n)
	for i := range procs {
		procs[i] = s.start(t, "token")
	}
	c := d.waitPendingCode(t, 1)
	// Every other process must be waiting for the one that asked.
	waitFor(t, "19 processes waiting", 20*time.Second, func() bool {
		waiting := 0
		for _, p := range procs {
			if strings.Contains(p.stderr.String(), "already in progress in another process") {
				waiting++
			}
		}
		return waiting == n-1
	})
	d.control(t, "approve", c.UserCode, "alice@acme.example")
	var tok string
	for i, p := range procs {
		if code := p.wait(t); code != 0 {
			t.Fatalf("process %d exited %d: %s", i, code, p.stderr.String())
		}
		got := strings.TrimSpace(p.stdout.String())
		if tok == "" {
			tok = got
		}
		if got != tok || got == "" {
			t.Fatalf("process %d printed a different token", i)
		}
	}
	if r := d.codes(t); r.DeviceCodeRequests != 1 {
		t.Fatalf("%d device-code requests, want 1", r.DeviceCodeRequests)
	}
}

func TestKill9DuringFlow(t *testing.T) {
	t.Parallel()
	d := startDevServer(t)
	s := newSandbox(t, d.URL)
	// An earlier login leaves a valid entry for another identity, which the
	// kill must not damage.
	other := s.login(t, d, 1, "alice@acme.example")

	s.env["AUTHOS_ORG"], s.env["AUTHOS_SERVICE"], s.env["AUTHOS_CLIENT_ID"] = "platform", "admin-cli", "platform-admin-cli"
	victim := s.start(t, "token")
	d.waitPendingCode(t, 2)
	victim.cmd.Process.Signal(syscall.SIGKILL)
	if code := victim.wait(t); code != -int(syscall.SIGKILL) {
		t.Fatalf("victim exit %d", code)
	}
	// The lock died with it: the next process starts its own flow at once
	// instead of waiting.
	next := s.start(t, "token")
	c := d.waitPendingCode(t, 3)
	if strings.Contains(next.stderr.String(), "another process") {
		t.Fatalf("stale lock: %s", next.stderr.String())
	}
	d.control(t, "approve", c.UserCode, "owner@acme.example")
	if code := next.wait(t); code != 0 {
		t.Fatalf("token after kill: %d %s", code, next.stderr.String())
	}
	// The other identity's entry is intact.
	s.env["AUTHOS_ORG"], s.env["AUTHOS_SERVICE"], s.env["AUTHOS_CLIENT_ID"] = "acme", "cli", "acme-cli"
	if out, _, code := s.run(t, "token"); code != 0 || strings.TrimSpace(out) != other {
		t.Fatalf("other identity after kill: %d", code)
	}
	leftovers, _ := filepath.Glob(filepath.Join(s.tokensDir(), ".tmp-*"))
	if len(leftovers) != 0 {
		t.Fatalf("temp files left: %v", leftovers)
	}
}

func TestCtrlCStoresNothing(t *testing.T) {
	t.Parallel()
	d := startDevServer(t)
	s := newSandbox(t, d.URL)
	p := s.start(t, "token")
	c := d.waitPendingCode(t, 1)
	p.cmd.Process.Signal(os.Interrupt)
	if code := p.wait(t); code != 1 || !strings.Contains(p.stderr.String(), "interrupted; nothing was stored") || p.stdout.String() != "" {
		t.Fatalf("after Ctrl-C: %d %q %s", code, p.stdout.String(), p.stderr.String())
	}
	d.control(t, "approve", c.UserCode, "alice@acme.example") // too late: nobody polls
	if names, _ := filepath.Glob(filepath.Join(s.tokensDir(), "*.entry")); len(names) != 0 {
		t.Fatalf("stored after Ctrl-C: %v", names)
	}
}

func TestExpiredCode(t *testing.T) {
	t.Parallel()
	t.Run("server says expired", func(t *testing.T) {
		t.Parallel()
		d := startDevServer(t)
		s := newSandbox(t, d.URL)
		p := s.start(t, "token")
		c := d.waitPendingCode(t, 1)
		d.control(t, "expire", c.UserCode, "")
		if code := p.wait(t); code != 1 || !strings.Contains(p.stderr.String(), "expired") || p.stdout.String() != "" {
			t.Fatalf("%d %q %s", code, p.stdout.String(), p.stderr.String())
		}
		assertOneLineError(t, p.stderr.String())
	})
	t.Run("local expiry", func(t *testing.T) {
		t.Parallel()
		d := startDevServer(t, "--expires-in", "3")
		s := newSandbox(t, d.URL)
		started := time.Now()
		_, errOut, code := s.run(t, "token")
		if code != 1 || !strings.Contains(errOut, "expired") {
			t.Fatalf("%d %s", code, errOut)
		}
		if time.Since(started) > 15*time.Second {
			t.Fatalf("kept polling %v past a 3 s code", time.Since(started))
		}
	})
}

// assertOneLineError checks that the final error is one line after the prompt.
func assertOneLineError(t *testing.T, stderr string) {
	t.Helper()
	lines := strings.Split(strings.TrimSpace(stderr), "\n")
	last := lines[len(lines)-1]
	if !strings.HasPrefix(last, "authos-credential-helper: ") {
		t.Fatalf("last stderr line is not the error: %q", last)
	}
}

func TestMFA(t *testing.T) {
	t.Parallel()
	t.Run("newest server: pending until MFA is done", func(t *testing.T) {
		t.Parallel()
		d := startDevServer(t)
		s := newSandbox(t, d.URL)
		p := s.start(t, "token")
		c := d.waitPendingCode(t, 1)
		d.control(t, "approve", c.UserCode, "bob@acme.example")
		polls := d.codes(t).TokenRequests
		waitFor(t, "two more polls", 10*time.Second, func() bool { return d.codes(t).TokenRequests >= polls+2 })
		select {
		case <-p.done:
			t.Fatalf("finished before MFA: %s", p.stderr.String())
		default:
		}
		d.control(t, "mfa-complete", c.UserCode, "")
		if code := p.wait(t); code != 0 || claims(t, strings.TrimSpace(p.stdout.String()))["email"] != "bob@acme.example" {
			t.Fatalf("%d %s", code, p.stderr.String())
		}
	})
	t.Run("intermediate server: MFA answer keeps waiting, told once", func(t *testing.T) {
		t.Parallel()
		d := startDevServer(t, "--legacy-mfa", "--expires-in", "6")
		s := newSandbox(t, d.URL)
		p := s.start(t, "token")
		c := d.waitPendingCode(t, 1)
		d.control(t, "approve", c.UserCode, "bob@acme.example")
		code := p.wait(t)
		errOut := p.stderr.String()
		if n := strings.Count(errOut, "finish the MFA step in your browser"); n != 1 {
			t.Fatalf("MFA hint shown %d times:\n%s", n, errOut)
		}
		if code != 1 || !strings.Contains(errOut, "expired") {
			t.Fatalf("%d %s", code, errOut)
		}
	})
}

func TestRateLimitedPoll(t *testing.T) {
	t.Parallel()
	d := startDevServer(t)
	s := newSandbox(t, d.URL)
	d.fault(t, fault{Route: "/auth/token", Status: 429, Body: "Too Many Requests! Wait for 2s", ContentType: "text/plain",
		Headers: map[string]string{"retry-after": "2", "x-ratelimit-after": "2"}, Count: 1})
	p := s.start(t, "token")
	c := d.waitPendingCode(t, 1)
	waitFor(t, "the slow-down notice", 15*time.Second, func() bool { return strings.Contains(p.stderr.String(), "slow down") })
	// retry-after 2 < interval 1 + 5: the helper now polls every 6 s.
	if !strings.Contains(p.stderr.String(), "every 6s") {
		t.Errorf("interval after 429: %s", p.stderr.String())
	}
	d.control(t, "approve", c.UserCode, "alice@acme.example")
	if code := p.wait(t); code != 0 {
		t.Fatalf("%d %s", code, p.stderr.String())
	}
}

// TestRealRateLimiter runs against the dev server's limiter as the older
// AuthOS configured it (burst 10, one request per 60 s): polling every second
// exhausts the budget, and the helper must slow down to the server's
// retry-after instead of hammering it.
func TestRealRateLimiter(t *testing.T) {
	t.Parallel()
	d := startDevServer(t, "--rate-limit-period", "60s")
	s := newSandbox(t, d.URL)
	p := s.start(t, "token")
	d.waitPendingCode(t, 1)
	waitFor(t, "the slow-down notice", 30*time.Second, func() bool { return strings.Contains(p.stderr.String(), "slow down") })
	// The limiter's retry-after (up to 60 s) plus 1 s beats interval+5 s.
	if !regexp.MustCompile(`checking every ([1-9][0-9]s|1m[01]s)`).MatchString(p.stderr.String()) {
		t.Fatalf("did not slow down to the server's retry-after:\n%s", p.stderr.String())
	}
	p.cmd.Process.Signal(os.Interrupt)
	p.wait(t)
}

func TestServerTrouble(t *testing.T) {
	t.Parallel()
	t.Run("5xx, HTML and garbage while polling are retried", func(t *testing.T) {
		t.Parallel()
		d := startDevServer(t)
		s := newSandbox(t, d.URL)
		p := s.start(t, "token")
		c := d.waitPendingCode(t, 1)
		d.fault(t, fault{Route: "/auth/token", Status: 503, Body: `{"error":"db down","error_code":"SERVICE_UNAVAILABLE","timestamp":"2026-11-26T00:00:00Z"}`, ContentType: "application/json", Count: 1})
		d.fault(t, fault{Route: "/auth/token", Status: 502, Body: "<html><body><h1>502 Bad Gateway</h1></body></html>", ContentType: "text/html", Count: 1})
		d.fault(t, fault{Route: "/auth/token", Status: 200, Body: "{\"access_tok", ContentType: "application/json", Count: 1})
		d.control(t, "approve", c.UserCode, "alice@acme.example")
		if code := p.wait(t); code != 0 {
			t.Fatalf("%d %s", code, p.stderr.String())
		}
		errOut := p.stderr.String()
		for _, want := range []string{"server trouble", "HTML page", "unreadable body"} {
			if !strings.Contains(errOut, want) {
				t.Errorf("stderr lacks %q:\n%s", want, errOut)
			}
		}
	})
	t.Run("device code route down: clear error after bounded retries", func(t *testing.T) {
		t.Parallel()
		d := startDevServer(t)
		s := newSandbox(t, d.URL)
		d.fault(t, fault{Route: "/auth/device/code", Status: 500, Body: "<html>oops</html>", ContentType: "text/html", Count: 10})
		_, errOut, code := s.run(t, "token")
		if code != 1 || !strings.Contains(errOut, "500") || !retriesThenOneLine(errOut, 2) {
			t.Fatalf("%d %q", code, errOut)
		}
	})
	t.Run("dead server", func(t *testing.T) {
		t.Parallel()
		d := startDevServer(t)
		d.stop()
		s := newSandbox(t, d.URL)
		_, errOut, code := s.run(t, "token")
		if code != 1 || !strings.Contains(errOut, "connection refused") || !retriesThenOneLine(errOut, 2) {
			t.Fatalf("%d %q", code, errOut)
		}
	})
}

func TestRefusals(t *testing.T) {
	t.Parallel()
	d := startDevServer(t)
	tests := []struct {
		name     string
		env      map[string]string
		approver string // "" when the device-code request itself fails
		want     string
		code     int
	}{
		{"wrong client id", map[string]string{"AUTHOS_CLIENT_ID": "acme-wrong"}, "", "check them in the profile", 1},
		{"service without activation URI", map[string]string{"AUTHOS_SERVICE": "noactivate", "AUTHOS_CLIENT_ID": "acme-noactivate"}, "", "no device activation URI", 1},
		{"no-access user", nil, "eve@acme.example", "no access to this service", 1},
		{"platform login by a non-owner", map[string]string{"AUTHOS_ORG": "platform", "AUTHOS_SERVICE": "admin-cli", "AUTHOS_CLIENT_ID": "platform-admin-cli"}, "alice@acme.example", "not a platform owner", 1},
		{"newer server wants exactly platform-admin-cli", map[string]string{"AUTHOS_ORG": "platform", "AUTHOS_SERVICE": "admin-cli", "AUTHOS_CLIENT_ID": "platform-cli"}, "", "Invalid client credentials", 1},
		{"plain http to a remote host", map[string]string{"AUTHOS_SERVER": "http://sso.example.com"}, "", "only https", 2},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := newSandbox(t, d.URL)
			for k, v := range tc.env {
				s.env[k] = v
			}
			p := s.start(t, "token")
			if tc.approver != "" {
				var c codeInfo
				waitFor(t, "a code", 20*time.Second, func() bool {
					for _, x := range d.codes(t).Codes {
						if x.Status == "pending" && x.User == "" && x.ClientID == s.env["AUTHOS_CLIENT_ID"] {
							c = x
							return true
						}
					}
					return false
				})
				d.control(t, "approve", c.UserCode, tc.approver)
			}
			code := p.wait(t)
			if code != tc.code || !strings.Contains(p.stderr.String(), tc.want) || p.stdout.String() != "" {
				t.Fatalf("case %d: exit %d, stdout %q, stderr:\n%s", i, code, p.stdout.String(), p.stderr.String())
			}
			assertOneLineError(t, p.stderr.String())
		})
	}
}

func TestPlatformAdminLogin(t *testing.T) {
	t.Parallel()
	d := startDevServer(t)
	s := newSandbox(t, "")
	s.writeConfig(t, `default_profile = "platform"
[profiles.platform]
server    = "`+d.URL+`"
org       = "platform"
service   = "admin-cli"
client_id = "platform-admin-cli"
`)
	p := s.start(t, "login")
	c := d.waitPendingCode(t, 1)
	if c.Org != "platform" || c.Service != "admin-cli" || c.ClientID != "platform-admin-cli" {
		t.Fatalf("device code for %+v", c)
	}
	d.control(t, "approve", c.UserCode, "owner@acme.example")
	if code := p.wait(t); code != 0 || p.stdout.String() != "" || !strings.Contains(p.stderr.String(), "signed in") {
		t.Fatalf("login: %d %q %s", code, p.stdout.String(), p.stderr.String())
	}
	out, _, code := s.run(t, "token")
	cl := claims(t, strings.TrimSpace(out))
	if code != 0 || cl["aud"] != "platform" || cl["is_platform_owner"] != true || cl["org"] != nil {
		t.Fatalf("platform token claims: %v", cl)
	}
	if st, _, _ := s.run(t, "status"); !strings.Contains(st, "platform") || !strings.Contains(st, "owner@acme.example") {
		t.Fatalf("status:\n%s", st)
	}
}

func TestLegacyPlatformPrefixSendsWhatIsConfigured(t *testing.T) {
	t.Parallel()
	d := startDevServer(t, "--legacy-platform-prefix")
	s := newSandbox(t, d.URL)
	s.env["AUTHOS_ORG"], s.env["AUTHOS_SERVICE"], s.env["AUTHOS_CLIENT_ID"] = "platform", "admin-cli", "platform-ops"
	p := s.start(t, "token")
	c := d.waitPendingCode(t, 1)
	if c.ClientID != "platform-ops" {
		t.Fatalf("sent client_id %q, want exactly what was configured", c.ClientID)
	}
	d.control(t, "approve", c.UserCode, "owner@acme.example")
	if code := p.wait(t); code != 0 {
		t.Fatalf("%d %s", code, p.stderr.String())
	}
}

func TestCorruptCacheEntryIsAMiss(t *testing.T) {
	t.Parallel()
	d := startDevServer(t)
	s := newSandbox(t, d.URL)
	first := s.login(t, d, 1, "alice@acme.example")
	entries, _ := filepath.Glob(filepath.Join(s.tokensDir(), "*.entry"))
	if len(entries) != 1 {
		t.Fatalf("entries: %v", entries)
	}
	if err := os.WriteFile(entries[0], []byte("{\"v\":1,\"kid\":\"00\",\"nonce\":\"AAAA\",\"data\":\"garbage\"}"), 0o600); err != nil {
		t.Fatal(err)
	}
	if st, _, code := s.run(t, "status"); code != 0 || !strings.Contains(st, "unreadable") {
		t.Fatalf("status with a corrupt entry: %d\n%s", code, st)
	}
	second := s.login(t, d, 2, "owner@acme.example")
	if second == first {
		t.Fatal("the repair login returned the old token")
	}
	if out, _, code := s.run(t, "token"); code != 0 || strings.TrimSpace(out) != second {
		t.Fatalf("after repair: %d", code)
	}
}

func TestNonInteractiveMissFailsFast(t *testing.T) {
	t.Parallel()
	d := startDevServer(t)
	for _, env := range []map[string]string{{"AUTHOS_NONINTERACTIVE": "1"}, {"CI": "true"}} {
		s := newSandbox(t, d.URL)
		for k, v := range env {
			s.env[k] = v
		}
		start := time.Now()
		_, errOut, code := s.run(t, "token")
		if code != 1 || !strings.Contains(errOut, "authos-credential-helper login --server "+d.URL) || time.Since(start) > 5*time.Second {
			t.Fatalf("%v: %d %q", env, code, errOut)
		}
	}
	if n := d.codes(t).DeviceCodeRequests; n != 0 {
		t.Fatalf("%d device flows started for nobody", n)
	}
}

func TestNoPlaintextTokenOnDisk(t *testing.T) {
	t.Parallel()
	d := startDevServer(t)
	s := newSandbox(t, d.URL)
	tok := s.login(t, d, 1, "alice@acme.example")
	s.run(t, "status")
	payload := strings.Split(tok, ".")[1]
	forms := map[string]string{
		"token":             tok,
		"payload":           payload,
		"base64(token)":     base64.StdEncoding.EncodeToString([]byte(tok)),
		"base64url(token)":  base64.RawURLEncoding.EncodeToString([]byte(tok)),
		"base64(payload)":   base64.StdEncoding.EncodeToString([]byte(payload))[:40],
		"token (sig part)":  strings.Split(tok, ".")[2],
		"base64(token)[40]": base64.StdEncoding.EncodeToString([]byte(tok))[8:48],
	}
	// The sandbox holds every folder the helper may write to (HOME, TMPDIR,
	// the XDG dirs); the machine's /tmp is other people's.
	assertNotOnDisk(t, forms, s.root)
}
