package devserver

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestControlAPIErrors(t *testing.T) {
	h := newHarness(t, Options{}, false)
	dc := h.start(ClientIDAcmeCLI, OrgAcme, ServiceCLI)
	tests := []struct {
		name string
		err  error
		want error
	}{
		{"unknown code", h.srv.Approve("ZZZZ-ZZZZ", UserAlice), ErrUnknownUserCode},
		{"unknown user", h.srv.Approve(dc.UserCode, "nobody@example"), ErrUnknownUser},
		{"mfa on unbound", h.srv.CompleteMFA(dc.UserCode), ErrWrongState},
		{"approve", h.srv.Approve(dc.UserCode, UserAlice), nil},
		{"approve twice", h.srv.Approve(dc.UserCode, UserAlice), ErrWrongState},
		{"expire unknown", h.srv.Expire("ZZZZ-ZZZZ"), ErrUnknownUserCode},
		{"delete unknown user", h.srv.DeleteUser("nobody@example"), ErrUnknownUser},
	}
	for _, tc := range tests {
		if !errors.Is(tc.err, tc.want) {
			t.Errorf("%s: err %v, want %v", tc.name, tc.err, tc.want)
		}
	}
}

func TestControlHTTP(t *testing.T) {
	h := newHarness(t, Options{}, false)
	dc := h.start(ClientIDAcmeCLI, OrgAcme, ServiceCLI)
	mfa := h.start(ClientIDAcmeCLI, OrgAcme, ServiceCLI)

	r := h.postJSON("/_dev/control", map[string]string{"action": "approve", "user_code": dc.UserCode})
	var info CodeInfo
	if err := json.Unmarshal([]byte(r.body), &info); r.status != 200 || err != nil ||
		info.Status != "authorized" || info.User != UserAlice || info.Org != OrgAcme || info.ClientID != ClientIDAcmeCLI {
		t.Fatalf("approve: %d %s", r.status, r.body)
	}
	r = h.postJSON("/_dev/control", map[string]string{"action": "approve", "user_code": mfa.UserCode, "user": UserBob})
	if !strings.Contains(r.body, `"status":"pending"`) || !strings.Contains(r.body, UserBob) {
		t.Errorf("approve bob: %s", r.body)
	}
	r = h.postJSON("/_dev/control", map[string]string{"action": "mfa-complete", "user_code": mfa.UserCode})
	if !strings.Contains(r.body, `"status":"authorized"`) {
		t.Errorf("mfa-complete: %s", r.body)
	}
	if r = h.postJSON("/_dev/control", map[string]string{"action": "approve", "user_code": "ZZZZ-ZZZZ"}); r.status != 404 {
		t.Errorf("unknown code: %d %s", r.status, r.body)
	}
	if r = h.postJSON("/_dev/control", map[string]string{"action": "approve", "user_code": dc.UserCode}); r.status != 409 {
		t.Errorf("twice: %d %s", r.status, r.body)
	}
	if r = h.postJSON("/_dev/control", map[string]string{"action": "bless", "user_code": dc.UserCode}); r.status != 400 {
		t.Errorf("unknown action: %d %s", r.status, r.body)
	}
	decodeToken(t, h.poll(dc.DeviceCode, ClientIDAcmeCLI))
	h.poll(mfa.DeviceCode, "wrong-client")

	deny := h.start(ClientIDAcmeCLI, OrgAcme, ServiceCLI)
	h.postJSON("/_dev/control", map[string]string{"action": "deny", "user_code": deny.UserCode})
	exp := h.start(ClientIDAcmeCLI, OrgAcme, ServiceCLI)
	h.postJSON("/_dev/control", map[string]string{"action": "expire", "user_code": exp.UserCode})

	r = h.do(http.MethodGet, "/_dev/codes", "", "")
	var codes codesResponse
	if err := json.Unmarshal([]byte(r.body), &codes); err != nil {
		t.Fatal(err)
	}
	if codes.DeviceCodeRequests != 4 || codes.TokenRequests != 2 {
		t.Errorf("counters %+v", codes)
	}
	var got []string
	for _, c := range codes.Codes {
		got = append(got, c.Status)
	}
	if strings.Join(got, ",") != "consumed,authorized,denied" {
		t.Errorf("statuses %v", got)
	}

	r = h.postJSON("/_dev/users/delete", map[string]string{"email": UserBob})
	if r.status != 200 {
		t.Fatalf("delete: %d %s", r.status, r.body)
	}
	wantError(t, h.poll(mfa.DeviceCode, ClientIDAcmeCLI), 404, "NOT_FOUND", "User not found")
	if r = h.postJSON("/_dev/users/delete", map[string]string{"email": UserBob}); r.status != 404 {
		t.Errorf("delete twice: %d", r.status)
	}
}

func TestFaults(t *testing.T) {
	h := newHarness(t, Options{}, true)
	post := func(f map[string]any) {
		t.Helper()
		b, _ := json.Marshal(f)
		if r := h.do(http.MethodPost, "/_dev/faults", "application/json", string(b)); r.status != 200 {
			t.Fatalf("fault %s: %d %s", b, r.status, r.body)
		}
	}
	post(map[string]any{"route": "/auth/token", "status": 502, "body": "<html>Bad Gateway</html>",
		"content_type": "text/html", "count": 2})
	post(map[string]any{"route": "/auth/token", "status": 429, "headers": map[string]string{"Retry-After": "7"}})
	post(map[string]any{"route": "/auth/token", "status": 200, "body": "{not json", "content_type": "application/json"})

	for range 2 {
		r := h.poll("x", ClientIDAcmeCLI)
		if r.status != 502 || r.body != "<html>Bad Gateway</html>" || r.header.Get("Content-Type") != "text/html" {
			t.Fatalf("fault 1: %d %q %v", r.status, r.body, r.header)
		}
	}
	if r := h.poll("x", ClientIDAcmeCLI); r.status != 429 || r.header.Get("Retry-After") != "7" || r.body != "" {
		t.Fatalf("fault 2: %d %q %v", r.status, r.body, r.header)
	}
	if r := h.poll("x", ClientIDAcmeCLI); r.status != 200 || r.body != "{not json" {
		t.Fatalf("fault 3: %d %q", r.status, r.body)
	}
	wantError(t, h.poll("x", ClientIDAcmeCLI), 400, "BAD_REQUEST", "Invalid device code")
	if got := h.srv.TokenRequests(); got != 5 {
		t.Errorf("TokenRequests = %d, want 5 (faulted requests count too)", got)
	}

	// Delay only: the request is then served normally.
	post(map[string]any{"route": "/health", "delay_ms": 30})
	start := time.Now()
	if r := h.do(http.MethodGet, "/health", "", ""); r.status != 200 || time.Since(start) < 30*time.Millisecond {
		t.Errorf("delay: %d after %v", r.status, time.Since(start))
	}

	post(map[string]any{"route": "/auth/device/code", "status": 503, "count": 5})
	if r := h.do(http.MethodDelete, "/_dev/faults", "", ""); r.status != 200 {
		t.Fatalf("clear: %d", r.status)
	}
	if r := h.do(http.MethodPost, "/auth/device/code", "application/json", `{"client_id":"acme-cli","org":"acme","service":"cli"}`); r.status != 200 {
		t.Errorf("after clear: %d %s", r.status, r.body)
	}
	for _, bad := range []string{`{"route":"/_dev/control","status":500}`, `{"route":"auth/token"}`, `{"route":"/x","status":7}`, `{"rout":"/x"}`} {
		if r := h.do(http.MethodPost, "/_dev/faults", "application/json", bad); r.status != 400 {
			t.Errorf("bad fault %s: %d", bad, r.status)
		}
	}
}

// syncBuffer is a goroutine-safe writer for the command's stderr.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestCommand(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	outR, outW := io.Pipe()
	var stderr syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- runCommand(ctx, []string{"--listen", "127.0.0.1:0", "--no-rate-limit", "--interval", "1", "--resource-uri", "acme/cli=https://x.acme.example"}, outW, &stderr)
		outW.Close()
	}()
	line, err := bufio.NewReader(outR).ReadString('\n')
	if err != nil {
		t.Fatalf("reading the listening line: %v (stderr %s)", err, stderr.String())
	}
	base, ok := strings.CutPrefix(strings.TrimSuffix(line, "\n"), "authos dev server listening on ")
	if !ok || !strings.HasPrefix(base, "http://127.0.0.1:") || strings.HasSuffix(base, ":0") {
		t.Fatalf("listening line %q", line)
	}
	for _, want := range []string{"org acme (active)", "acme-cli", "acme-noactivate", "(no device activation URI)",
		"org dormant (inactive)", "dormant-cli", "platform-admin-cli", AcmeGitURI + ", " + AcmeRegistryURI + ", https://x.acme.example", "rotate-key", UserAlice, UserBob, BobTOTPSecret, UserOwner, UserEve} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("seed output lacks %q:\n%s", want, stderr.String())
		}
	}

	// Drive one flow through the real listener and the control command.
	resp, err := http.Post(base+"/auth/device/code", "application/json",
		strings.NewReader(`{"client_id":"acme-cli","org":"acme","service":"cli"}`))
	if err != nil {
		t.Fatal(err)
	}
	var dc deviceCodeResponse
	_ = json.NewDecoder(resp.Body).Decode(&dc)
	resp.Body.Close()
	if dc.Interval != 1 || dc.VerificationURI != base+"/activate" {
		t.Fatalf("device code %+v", dc)
	}
	var cerr bytes.Buffer
	if code := runCommand(ctx, []string{"control", "approve", dc.UserCode, "--user", UserBob, "--server", base + "/"}, io.Discard, &cerr); code != 0 {
		t.Fatalf("control approve: exit %d: %s", code, cerr.String())
	}
	if !strings.Contains(cerr.String(), "awaiting MFA") {
		t.Errorf("control output %q", cerr.String())
	}
	cerr.Reset()
	if code := runCommand(ctx, []string{"control", "--server", base, "mfa-complete", dc.UserCode}, io.Discard, &cerr); code != 0 {
		t.Fatalf("control mfa-complete: exit %d: %s", code, cerr.String())
	}
	cerr.Reset()
	if code := runCommand(ctx, []string{"control", "approve", dc.UserCode, "--server", base}, io.Discard, &cerr); code != 1 || cerr.Len() == 0 {
		t.Errorf("approving twice: exit %d %q", code, cerr.String())
	}
	t.Setenv("AUTHOS_SERVER", base)
	cerr.Reset()
	if code := runCommand(ctx, []string{"control", "deny", dc.UserCode}, io.Discard, &cerr); code != 0 {
		t.Errorf("deny via $AUTHOS_SERVER: exit %d %q", code, cerr.String())
	}

	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Errorf("exit %d; stderr %s", code, stderr.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("server did not stop after cancel")
	}
	if !strings.HasSuffix(stderr.String(), "dev-server: stopped (context canceled)\n") {
		t.Errorf("stderr ends %q", stderr.String()[max(0, len(stderr.String())-80):])
	}
	if conn, err := net.Dial("tcp", strings.TrimPrefix(base, "http://")); err == nil {
		conn.Close()
		t.Error("the port still accepts connections after the stop")
	}
}

func TestCommandUsage(t *testing.T) {
	ctx := context.Background()
	for _, args := range [][]string{
		{"--bogus"},
		{"extra"},
		{"--interval", "0"},
		{"control"},
		{"control", "approve"},
		{"control", "bless", "ABCD-EFGH"},
		{"control", "approve", "ABCD-EFGH", "--nope"},
	} {
		var stderr bytes.Buffer
		if code := runCommand(ctx, args, io.Discard, &stderr); code != 2 || stderr.Len() == 0 {
			t.Errorf("%v: exit %d, stderr %q", args, code, stderr.String())
		}
	}
	var stderr bytes.Buffer
	if code := runCommand(ctx, []string{"--listen", "256.0.0.1:x"}, io.Discard, &stderr); code != 1 {
		t.Errorf("bad listen address: exit %d", code)
	}
	if code := runCommand(ctx, []string{"control", "approve", "ABCD-EFGH", "--server", "http://127.0.0.1:1"}, io.Discard, &stderr); code != 1 {
		t.Errorf("unreachable server: exit %d", code)
	}
}

// runCommand runs Command with plain FlagSets, as the command line's are
// but for their output.
func runCommand(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return Command(ctx, args, stdout, stderr, func(name string) *flag.FlagSet { return flag.NewFlagSet(name, flag.ContinueOnError) })
}
