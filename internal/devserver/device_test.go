package devserver

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

var (
	uuidV4Re   = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	userCodeRe = regexp.MustCompile(`^[ABCDEFGHJKMNPQRSTUVWXYZ23456789]{4}-[ABCDEFGHJKMNPQRSTUVWXYZ23456789]{4}$`)
)

func TestDeviceCodeSuccess(t *testing.T) {
	h := newHarness(t, Options{DashboardURL: "https://dash.example/"}, false)
	tests := []struct {
		name, clientID, org, svc, wantURI string
	}{
		{"service", ClientIDAcmeCLI, OrgAcme, ServiceCLI, "https://dash.example/activate"},
		{"inactive org still issues", ClientIDDormantCLI, OrgDormant, ServiceCLI, "https://dash.example/activate"},
		{"platform", PlatformClientID, PlatformOrg, PlatformService, "https://dash.example/activate"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := h.postJSON("/auth/device/code", map[string]string{"client_id": tc.clientID, "org": tc.org, "service": tc.svc})
			if r.status != http.StatusOK {
				t.Fatalf("%d %s", r.status, r.body)
			}
			var raw map[string]any
			if err := json.Unmarshal([]byte(r.body), &raw); err != nil {
				t.Fatal(err)
			}
			if len(raw) != 5 {
				t.Errorf("fields %v, want exactly five", raw)
			}
			if !strings.HasPrefix(r.body, `{"device_code":`) {
				t.Errorf("field order: %s", r.body)
			}
			var dc deviceCodeResponse
			_ = json.Unmarshal([]byte(r.body), &dc)
			if !uuidV4Re.MatchString(dc.DeviceCode) {
				t.Errorf("device_code %q is not a UUID v4", dc.DeviceCode)
			}
			if !userCodeRe.MatchString(dc.UserCode) {
				t.Errorf("user_code %q", dc.UserCode)
			}
			if dc.VerificationURI != tc.wantURI || dc.ExpiresIn != 900 || dc.Interval != 5 {
				t.Errorf("got %+v", dc)
			}
		})
	}
}

func TestDeviceCodeOptions(t *testing.T) {
	h := newHarness(t, Options{Interval: 1, ExpiresIn: 30}, false)
	dc := h.start(ClientIDAcmeCLI, OrgAcme, ServiceCLI)
	if dc.Interval != 1 || dc.ExpiresIn != 30 || dc.VerificationURI != h.url+"/activate" {
		t.Fatalf("got %+v", dc)
	}
	if got := h.srv.Pending()[0].ExpiresAt; !got.Equal(h.clock.Now().Add(30 * time.Second)) {
		t.Errorf("expires_at %v", got)
	}
}

func TestDeviceCodeErrors(t *testing.T) {
	long := func(n int) string { return strings.Repeat("a", n) }
	tests := []struct {
		name                   string
		opts                   Options
		contentType, body, msg string
	}{
		{"client_id too long", Options{}, "application/json", `{"client_id":"` + long(501) + `","org":"acme","service":"cli"}`, "client_id too long (max 500 characters)"},
		{"org too long", Options{}, "application/json", `{"client_id":"acme-cli","org":"` + long(101) + `","service":"cli"}`, "org slug too long (max 100 characters)"},
		{"service too long", Options{}, "application/json", `{"client_id":"acme-cli","org":"acme","service":"` + long(101) + `"}`, "service slug too long (max 100 characters)"},
		{"length before charset", Options{}, "application/json", `{"client_id":"a b","org":"` + long(101) + `","service":"cli"}`, "org slug too long (max 100 characters)"},
		{"client_id chars", Options{}, "application/json", `{"client_id":"acme cli","org":"acme","service":"cli"}`, "client_id contains invalid characters"},
		{"org chars", Options{}, "application/json", `{"client_id":"acme-cli","org":"acme/x","service":"cli"}`, "org slug contains invalid characters"},
		{"service chars", Options{}, "application/json", `{"client_id":"acme-cli","org":"acme","service":"cli."}`, "service slug contains invalid characters"},
		{"unknown client", Options{}, "application/json", `{"client_id":"nope","org":"acme","service":"cli"}`, "Invalid client credentials"},
		{"client of another service", Options{}, "application/json", `{"client_id":"acme-noactivate","org":"acme","service":"cli"}`, "Invalid client credentials"},
		{"no activation uri", Options{}, "application/json", `{"client_id":"acme-noactivate","org":"acme","service":"noactivate"}`, "Device activation URI not configured for this service"},
		{"platform prefix on newest", Options{}, "application/json", `{"client_id":"platform-cli","org":"platform","service":"admin-cli"}`, "Invalid client credentials"},
		{"platform wrong service", Options{}, "application/json", `{"client_id":"platform-admin-cli","org":"platform","service":"cli"}`, "Invalid client credentials"},
		{"wrong content type", Options{}, "text/plain", `{"client_id":"acme-cli","org":"acme","service":"cli"}`, "Content-Type must be application/json"},
		{"no content type", Options{}, "", `{"client_id":"acme-cli","org":"acme","service":"cli"}`, "Content-Type must be application/json"},
		{"bad json", Options{}, "application/json", `{"client_id":`, "JSON syntax error: Failed to parse the request body as JSON: EOF while parsing a value at line 1 column 13"},
		{"missing field", Options{}, "application/json", `{"client_id":"acme-cli","org":"acme"}`, "Invalid JSON data: Failed to deserialize the JSON body into the target type: missing field `service` at line 1 column 37"},
		{"wrong type", Options{}, "application/json", `{"client_id":5,"org":"acme","service":"cli"}`, "Invalid JSON data: Failed to deserialize the JSON body into the target type: client_id: invalid type: integer `5`, expected a string at line 1 column 14"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, tc.opts, false)
			r := h.do(http.MethodPost, "/auth/device/code", tc.contentType, tc.body)
			wantError(t, r, http.StatusBadRequest, "BAD_REQUEST", tc.msg)
			if n := len(h.srv.Pending()); n != 0 {
				t.Errorf("%d codes stored after an error", n)
			}
		})
	}
}

func TestLegacyPlatformPrefix(t *testing.T) {
	h := newHarness(t, Options{LegacyPlatformPrefix: true}, false)
	dc := h.start("platform-anything", PlatformOrg, PlatformService)
	if dc.VerificationURI != h.url+"/activate" {
		t.Fatalf("got %+v", dc)
	}
	h.must(h.srv.Approve(dc.UserCode, UserOwner))
	tok := decodeToken(t, h.poll(dc.DeviceCode, "platform-anything"))
	if tok.TokenType != "Bearer" {
		t.Errorf("got %+v", tok)
	}
}

// TestTokenChecks covers every row of docs/authos-wire.md §5's table, in the table's order.
func TestTokenChecks(t *testing.T) {
	type setup func(h *harness) (deviceCode, clientID string, extra []string)
	service := func(clientID, org, svc string, act func(h *harness, userCode string)) setup {
		return func(h *harness) (string, string, []string) {
			dc := h.start(clientID, org, svc)
			if act != nil {
				act(h, dc.UserCode)
			}
			return dc.DeviceCode, clientID, nil
		}
	}
	approve := func(email string) func(h *harness, code string) {
		return func(h *harness, code string) { h.must(h.srv.Approve(code, email)) }
	}
	tests := []struct {
		name       string
		setup      setup
		grantType  string
		status     int
		code, msg  string
		overrideCl string
		extra      []string
	}{
		{name: "1 wrong grant type", setup: service(ClientIDAcmeCLI, OrgAcme, ServiceCLI, approve(UserAlice)),
			grantType: "device_code", status: 400, code: "BAD_REQUEST", msg: "Invalid grant type"},
		{name: "2 unknown device code", setup: func(h *harness) (string, string, []string) {
			return "4a3f3b52-0f5e-4c49-9a65-1c4f5b7e2d10", ClientIDAcmeCLI, nil
		}, status: 400, code: "BAD_REQUEST", msg: "Invalid device code"},
		{name: "3 client mismatch", setup: service(ClientIDAcmeCLI, OrgAcme, ServiceCLI, approve(UserAlice)),
			overrideCl: "other-client", status: 401, code: "UNAUTHORIZED", msg: "Invalid client"},
		{name: "4 expired", setup: service(ClientIDAcmeCLI, OrgAcme, ServiceCLI, func(h *harness, c string) {
			h.must(h.srv.Approve(c, UserAlice))
			h.must(h.srv.Expire(c))
		}), status: 400, code: "DEVICE_CODE_EXPIRED", msg: "Device code expired"},
		{name: "5 pending", setup: service(ClientIDAcmeCLI, OrgAcme, ServiceCLI, nil),
			status: 400, code: "DEVICE_CODE_PENDING", msg: "Authorization pending"},
		{name: "5 MFA bound", setup: service(ClientIDAcmeCLI, OrgAcme, ServiceCLI, approve(UserBob)),
			status: 400, code: "DEVICE_CODE_PENDING", msg: "Authorization pending"},
		{name: "5 denied", setup: service(ClientIDAcmeCLI, OrgAcme, ServiceCLI, func(h *harness, c string) {
			h.must(h.srv.Deny(c))
		}), status: 400, code: "DEVICE_CODE_PENDING", msg: "Authorization pending"},
		{name: "6 user deleted", setup: service(ClientIDAcmeCLI, OrgAcme, ServiceCLI, func(h *harness, c string) {
			h.must(h.srv.Approve(c, UserAlice))
			h.must(h.srv.DeleteUser(UserAlice))
		}), status: 404, code: "NOT_FOUND", msg: "User not found"},
		{name: "7 platform not owner", setup: service(PlatformClientID, PlatformOrg, PlatformService, approve(UserAlice)),
			status: 403, code: "FORBIDDEN", msg: "Platform device authorization requires a current platform owner"},
		{name: "8 service gone", setup: service(ClientIDAcmeCLI, OrgAcme, ServiceCLI, func(h *harness, c string) {
			h.must(h.srv.Approve(c, UserAlice))
			h.srv.mu.Lock()
			h.srv.services = h.srv.services[1:] // acme/cli is seeded first
			h.srv.mu.Unlock()
		}), status: 404, code: "NOT_FOUND", msg: "Service not found"},
		{name: "8 org inactive", setup: service(ClientIDDormantCLI, OrgDormant, ServiceCLI, approve(UserAlice)),
			status: 403, code: "FORBIDDEN", msg: "Organization is not active"},
		{name: "8 no access", setup: service(ClientIDAcmeCLI, OrgAcme, ServiceCLI, approve(UserEve)),
			status: 403, code: "FORBIDDEN", msg: "You do not currently have access to this service"},
		{name: "9 resource not registered", setup: service(ClientIDAcmeCLI, OrgAcme, ServiceCLI, approve(UserAlice)),
			extra: []string{"resource", "https://other.example"}, status: 400, code: "BAD_REQUEST",
			msg: "invalid_target: resource is not registered for this service"},
		{name: "9 resource relative", setup: service(ClientIDAcmeCLI, OrgAcme, ServiceCLI, approve(UserAlice)),
			extra: []string{"resource", "/relative"}, status: 400, code: "BAD_REQUEST",
			msg: "invalid_target: resource must be an absolute URI"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, Options{}, false)
			deviceCode, clientID, _ := tc.setup(h)
			if tc.overrideCl != "" {
				clientID = tc.overrideCl
			}
			grant := tc.grantType
			if grant == "" {
				grant = deviceCodeGrantType
			}
			body := map[string]string{"grant_type": grant, "device_code": deviceCode, "client_id": clientID}
			for i := 0; i+1 < len(tc.extra); i += 2 {
				body[tc.extra[i]] = tc.extra[i+1]
			}
			wantError(t, h.postJSON("/auth/token", body), tc.status, tc.code, tc.msg)
		})
	}
}

func TestSingleUseAndCleanup(t *testing.T) {
	h := newHarness(t, Options{CleanupInterval: time.Minute}, false)
	dc := h.start(ClientIDAcmeCLI, OrgAcme, ServiceCLI)
	h.must(h.srv.Approve(dc.UserCode, UserAlice))
	tok := decodeToken(t, h.poll(dc.DeviceCode, ClientIDAcmeCLI))
	if tok.TokenType != "Bearer" || tok.ExpiresIn != 86400 || tok.AccessToken == "" {
		t.Fatalf("got %+v", tok)
	}
	// Consumed: pending until expiry, then expired, then invalid once swept.
	wantError(t, h.poll(dc.DeviceCode, ClientIDAcmeCLI), 400, "DEVICE_CODE_PENDING", "Authorization pending")
	h.clock.Advance(900*time.Second + time.Millisecond)
	wantError(t, h.poll(dc.DeviceCode, ClientIDAcmeCLI), 400, "DEVICE_CODE_EXPIRED", "Device code expired")
	h.clock.Advance(time.Minute)
	wantError(t, h.poll(dc.DeviceCode, ClientIDAcmeCLI), 400, "BAD_REQUEST", "Invalid device code")
}

func TestExpireThenSweep(t *testing.T) {
	h := newHarness(t, Options{}, false) // default sweep every 5 minutes
	dc := h.start(ClientIDAcmeCLI, OrgAcme, ServiceCLI)
	h.clock.Advance(2 * time.Minute)
	h.must(h.srv.Expire(dc.UserCode))
	if len(h.srv.Pending()) != 0 {
		t.Errorf("expired code still listed")
	}
	wantError(t, h.poll(dc.DeviceCode, ClientIDAcmeCLI), 400, "DEVICE_CODE_EXPIRED", "Device code expired")
	h.clock.Advance(2*time.Minute + 59*time.Second) // 4:59 since start: no sweep yet
	wantError(t, h.poll(dc.DeviceCode, ClientIDAcmeCLI), 400, "DEVICE_CODE_EXPIRED", "Device code expired")
	h.clock.Advance(time.Second) // the 5-minute sweep
	wantError(t, h.poll(dc.DeviceCode, ClientIDAcmeCLI), 400, "BAD_REQUEST", "Invalid device code")
	if err := h.srv.Approve(dc.UserCode, UserAlice); err == nil {
		t.Error("approving a swept code succeeded")
	}
}

func TestConsumeRace(t *testing.T) {
	h := newHarness(t, Options{}, false)
	dc := h.start(ClientIDAcmeCLI, OrgAcme, ServiceCLI)
	h.must(h.srv.Approve(dc.UserCode, UserAlice))
	const n = 8
	replies := make([]reply, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			replies[i] = h.poll(dc.DeviceCode, ClientIDAcmeCLI)
		}()
	}
	wg.Wait()
	wins := 0
	for _, r := range replies {
		if r.status == http.StatusOK {
			wins++
			continue
		}
		e := r.envelope(t)
		if r.status != 400 || (e.Error != "Authorization pending" && e.Error != "Invalid device code") {
			t.Errorf("loser got %d %s", r.status, r.body)
		}
	}
	if wins != 1 {
		t.Fatalf("%d polls won, want 1", wins)
	}
	if got := h.srv.TokenRequests(); got != n {
		t.Errorf("TokenRequests = %d, want %d", got, n)
	}
}

func TestMFA(t *testing.T) {
	t.Run("newest", func(t *testing.T) {
		h := newHarness(t, Options{}, false)
		dc := h.start(ClientIDAcmeCLI, OrgAcme, ServiceCLI)
		h.must(h.srv.Approve(dc.UserCode, UserBob))
		p := h.srv.Pending()
		if p[0].Status != "pending" || p[0].User != UserBob {
			t.Errorf("pending list %+v", p)
		}
		for range 3 {
			wantError(t, h.poll(dc.DeviceCode, ClientIDAcmeCLI), 400, "DEVICE_CODE_PENDING", "Authorization pending")
		}
		h.must(h.srv.CompleteMFA(dc.UserCode))
		decodeToken(t, h.poll(dc.DeviceCode, ClientIDAcmeCLI))
	})
	t.Run("legacy", func(t *testing.T) {
		h := newHarness(t, Options{LegacyMFA: true}, false)
		dc := h.start(ClientIDAcmeCLI, OrgAcme, ServiceCLI)
		wantError(t, h.poll(dc.DeviceCode, ClientIDAcmeCLI), 400, "DEVICE_CODE_PENDING", "Authorization pending")
		h.must(h.srv.Approve(dc.UserCode, UserBob))
		for range 3 {
			wantError(t, h.poll(dc.DeviceCode, ClientIDAcmeCLI), 400, "BAD_REQUEST", legacyMFAMessage)
			h.clock.Advance(5 * time.Second)
		}
		if err := h.srv.CompleteMFA(dc.UserCode); err == nil {
			t.Error("CompleteMFA on an authorized code succeeded")
		}
		h.clock.Advance(900 * time.Second)
		wantError(t, h.poll(dc.DeviceCode, ClientIDAcmeCLI), 400, "DEVICE_CODE_EXPIRED", "Device code expired")
		// Users without MFA are unaffected by the option.
		dc2 := h.start(ClientIDAcmeCLI, OrgAcme, ServiceCLI)
		h.must(h.srv.Approve(dc2.UserCode, UserAlice))
		decodeToken(t, h.poll(dc2.DeviceCode, ClientIDAcmeCLI))
	})
}

func TestTokenRejectionsArePlainText(t *testing.T) {
	h := newHarness(t, Options{}, false)
	tests := []struct {
		name, contentType, body string
		status                  int
		text                    string
	}{
		{"no content type", "", `{}`, 415, "Expected request with `Content-Type: application/json`"},
		{"form", "application/x-www-form-urlencoded", "grant_type=x", 415, "Expected request with `Content-Type: application/json`"},
		{"malformed", "application/json", `{"grant_type":}`, 400, "Failed to parse the request body as JSON: expected value at line 1 column 15"},
		{"trailing", "application/json", `{} x`, 400, "Failed to parse the request body as JSON: trailing characters at line 1 column 4"},
		{"empty", "application/json", ``, 400, "Failed to parse the request body as JSON: EOF while parsing a value at line 1 column 0"},
		{"missing client_id", "application/json", `{"grant_type":"x","device_code":"y"}`, 422,
			"Failed to deserialize the JSON body into the target type: missing field `client_id` at line 1 column 36"},
		{"wrong type", "application/json", `{"client_id":"a","device_code":null,"grant_type":"x"}`, 422,
			"Failed to deserialize the JSON body into the target type: device_code: invalid type: null, expected a string at line 1 column 35"},
		{"not an object", "application/json", `true`, 422,
			"Failed to deserialize the JSON body into the target type: invalid type: boolean `true`, expected struct TokenRequest at line 1 column 4"},
		{"json suffix accepted", "application/vnd.x+json; charset=utf-8", `{"client_id":"a","device_code":"b","grant_type":"x"}`, 400, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := h.do(http.MethodPost, "/auth/token", tc.contentType, tc.body)
			if r.status != tc.status {
				t.Fatalf("status %d, want %d (%s)", r.status, tc.status, r.body)
			}
			if tc.text == "" {
				wantError(t, r, 400, "BAD_REQUEST", "Invalid grant type")
				return
			}
			if ct := r.header.Get("Content-Type"); ct != "text/plain; charset=utf-8" {
				t.Errorf("Content-Type %q", ct)
			}
			if r.body != tc.text {
				t.Errorf("body %q, want %q", r.body, tc.text)
			}
		})
	}
}

func TestRoutingDefaults(t *testing.T) {
	h := newHarness(t, Options{}, false)
	for _, p := range []string{"/auth/token", "/auth/device/code", "/auth/device/verify", "/auth/revoke", "/api/auth/logout"} {
		r := h.do(http.MethodGet, p, "", "")
		if r.status != http.StatusMethodNotAllowed || r.body != "" || r.header.Get("Allow") != "POST" {
			t.Errorf("GET %s: %d %q Allow=%q", p, r.status, r.body, r.header.Get("Allow"))
		}
	}
	for _, p := range []string{"/nope", "/api/auth/device/code", "/auth/token/", "/oauth/device/code"} {
		r := h.do(http.MethodPost, p, "application/json", "{}")
		if r.status != http.StatusNotFound || r.body != "" {
			t.Errorf("POST %s: %d %q", p, r.status, r.body)
		}
	}
	if r := h.do(http.MethodGet, "/health", "", ""); r.status != http.StatusOK {
		t.Errorf("health: %d", r.status)
	}
}

func TestDeviceVerify(t *testing.T) {
	h := newHarness(t, Options{}, false)
	svc := h.start(ClientIDAcmeCLI, OrgAcme, ServiceCLI)
	plat := h.start(PlatformClientID, PlatformOrg, PlatformService)

	r := h.postJSON("/auth/device/verify", map[string]string{"user_code": svc.UserCode})
	if r.status != 200 || r.body != `{"org_slug":"acme","service_slug":"cli","available_providers":["github","google"]}` {
		t.Errorf("service verify: %d %s", r.status, r.body)
	}
	r = h.postJSON("/auth/device/verify", map[string]string{"user_code": plat.UserCode})
	if r.status != 200 || r.body != `{"org_slug":"platform","service_slug":"admin-cli","available_providers":["github","google","microsoft"]}` {
		t.Errorf("platform verify: %d %s", r.status, r.body)
	}

	authorized := h.start(ClientIDAcmeCLI, OrgAcme, ServiceCLI)
	h.must(h.srv.Approve(authorized.UserCode, UserAlice))
	mfa := h.start(ClientIDAcmeCLI, OrgAcme, ServiceCLI)
	h.must(h.srv.Approve(mfa.UserCode, UserBob))
	denied := h.start(ClientIDAcmeCLI, OrgAcme, ServiceCLI)
	h.must(h.srv.Deny(denied.UserCode))
	expired := h.start(ClientIDAcmeCLI, OrgAcme, ServiceCLI)
	h.must(h.srv.Expire(expired.UserCode))

	var first string
	for _, code := range []string{"ABCD", "ABCDEFGHJ", "ABCD-EFG!", "ZZZZ-ZZZZ", strings.ToLower(svc.UserCode),
		authorized.UserCode, mfa.UserCode, denied.UserCode, expired.UserCode} {
		r := h.postJSON("/auth/device/verify", map[string]string{"user_code": code})
		wantError(t, r, 400, "BAD_REQUEST", "Invalid or unavailable user code")
		var m map[string]any
		_ = json.Unmarshal([]byte(r.body), &m)
		delete(m, "timestamp")
		b, _ := json.Marshal(m)
		if first == "" {
			first = string(b)
		} else if string(b) != first {
			t.Errorf("code %s: %s differs from %s", code, b, first)
		}
	}
	wantError(t, h.do(http.MethodPost, "/auth/device/verify", "text/plain", `{"user_code":"x"}`),
		400, "BAD_REQUEST", "Content-Type must be application/json")
}

func TestUserCodeAlphabetAndUniqueness(t *testing.T) {
	seen := map[string]bool{}
	for range 2000 {
		c, err := randomUserCode()
		if err != nil {
			t.Fatal(err)
		}
		if !userCodeRe.MatchString(c) {
			t.Fatalf("bad code %q", c)
		}
		seen[c] = true
	}
	if len(seen) < 1990 {
		t.Errorf("only %d distinct codes of 2000", len(seen))
	}
}

func TestAutoApprove(t *testing.T) {
	if _, err := New(Options{AutoApprove: "nobody@example"}); err == nil {
		t.Fatal("accepted an unknown auto-approve user")
	}
	s, err := New(Options{AutoApprove: UserAlice, AutoApproveDelay: time.Millisecond, DisableRateLimit: true})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s)
	defer srv.Close()
	resp, err := http.Post(srv.URL+"/auth/device/code", "application/json", strings.NewReader(`{"client_id":"acme-cli","org":"acme","service":"cli"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	deadline := time.Now().Add(5 * time.Second)
	for {
		codes := s.Pending()
		if len(codes) == 1 && codes[0].Status == "authorized" && codes[0].User == UserAlice {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("not approved: %+v", codes)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
