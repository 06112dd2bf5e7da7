package activation

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"
)

func TestNormalizeUserCode(t *testing.T) {
	for in, want := range map[string]string{
		"ABCD-EFGH": "ABCD-EFGH", "abcd-efgh": "ABCD-EFGH", "abcdefgh": "ABCD-EFGH", " ab cd ef gh ": "ABCD-EFGH",
		"AB2D-3FGH": "AB2D-3FGH", "": "", "ABCD-EFG": "", "ABCD-EFGHJ": "", "ABCD_EFGH": "", "ÄBCD-EFGH": "", "<b>CD-EFGH": "",
	} {
		got, ok := NormalizeUserCode(in)
		if got != want || ok != (want != "") {
			t.Errorf("NormalizeUserCode(%q) = %q, %v; want %q", in, got, ok, want)
		}
	}
}

// post submits a form to h the way the page does: with the CSRF cookie and
// the same token in the form.
func post(h http.Handler, path string, form url.Values) *httptest.ResponseRecorder {
	const tok = "0123456789abcdef0123456789abcdef"
	form.Set("csrf", tok)
	req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.AddCookie(&http.Cookie{Name: csrfCookie, Value: tok})
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

// TestAuthOSAnswers: whatever AuthOS answers, the person gets a page with
// one clear sentence and a fitting status, never a stack of JSON.
func TestAuthOSAnswers(t *testing.T) {
	mfaForm := url.Values{"preauth_token": {"pre"}, "device_code_id": {"row"}, "code": {"123456"}}
	tests := []struct {
		name       string
		path       string
		form       url.Values
		answer     func(w http.ResponseWriter)
		wantStatus int
		wantText   string
	}{
		{"verified: providers as buttons", "/activate", url.Values{"user_code": {"abcd efgh"}},
			jsonAnswer(200, `{"org_slug":"acme","service_slug":"cli","available_providers":["github","google"]}`), 200,
			`href="SERVER/auth/google?org=acme&amp;service=cli&amp;user_code=ABCD-EFGH"`},
		{"platform: admin login URLs", "/activate", url.Values{"user_code": {"ABCD-EFGH"}},
			jsonAnswer(200, `{"org_slug":"platform","service_slug":"admin-cli","available_providers":["github","google","microsoft"]}`), 200,
			`href="SERVER/auth/admin/microsoft?user_code=ABCD-EFGH"`},
		{"provider names are not trusted", "/activate", url.Values{"user_code": {"ABCD-EFGH"}},
			jsonAnswer(200, `{"org_slug":"acme","service_slug":"cli","available_providers":["github","../evil?x=","<script>"]}`), 200,
			`Continue with GitHub</a></li>
</ul>`},
		{"unknown or expired code", "/activate", url.Values{"user_code": {"ABCD-EFGH"}},
			jsonAnswer(400, `{"error":"Invalid or unavailable user code","error_code":"BAD_REQUEST"}`), 400, "Start the sign-in again in your terminal"},
		{"org gone", "/activate", url.Values{"user_code": {"ABCD-EFGH"}},
			jsonAnswer(404, `{"error":"Organization not found","error_code":"NOT_FOUND"}`), 404, "not set up on this AuthOS server"},
		{"rate limited", "/activate", url.Values{"user_code": {"ABCD-EFGH"}},
			func(w http.ResponseWriter) {
				w.Header().Set("Retry-After", "7")
				w.WriteHeader(429)
				w.Write([]byte("Too Many Requests! Wait for 7s"))
			},
			429, "Wait 7 seconds"},
		{"5xx", "/activate", url.Values{"user_code": {"ABCD-EFGH"}}, jsonAnswer(503, "<html>proxy</html>"), 502, "did not answer properly"},
		{"garbage 200", "/activate", url.Values{"user_code": {"ABCD-EFGH"}}, jsonAnswer(200, "<html>"), 502, "did not answer properly"},
		{"slow server", "/activate", url.Values{"user_code": {"ABCD-EFGH"}},
			func(w http.ResponseWriter) { time.Sleep(300 * time.Millisecond) }, 502, "did not answer properly"},
		{"MFA ok", "/activate/mfa-challenge", mfaForm, jsonAnswer(200, `{"success":true}`), 200, "Your device is signed in"},
		{"MFA wrong code", "/activate/mfa-challenge", mfaForm, jsonAnswer(401, `{"error":"Invalid MFA code"}`), 401, "That code did not work"},
		{"MFA step expired", "/activate/mfa-challenge", mfaForm, jsonAnswer(403, `{"error":"Forbidden"}`), 403, "Start the sign-in again"},
		{"MFA not six digits", "/activate/mfa-challenge", url.Values{"preauth_token": {"pre"}, "device_code_id": {"row"}, "code": {"12ab56"}},
			nil, 400, "six digits"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			called := false
			authos := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				called = true
				tt.answer(w)
			}))
			defer authos.Close()
			h, err := New(authos.URL, &http.Client{Timeout: 100 * time.Millisecond})
			if err != nil {
				t.Fatal(err)
			}
			rec := post(h, tt.path, tt.form)
			body := strings.ReplaceAll(rec.Body.String(), authos.URL, "SERVER")
			if rec.Code != tt.wantStatus || !strings.Contains(body, tt.wantText) {
				t.Fatalf("status %d, want %d with %q:\n%s", rec.Code, tt.wantStatus, tt.wantText, body)
			}
			if tt.answer == nil && called {
				t.Fatal("AuthOS was called for input the page should have refused")
			}
			if strings.Contains(body, "<script>") || strings.Contains(body, "evil") {
				t.Fatalf("unescaped or untrusted value on the page:\n%s", body)
			}
		})
	}
}

func jsonAnswer(status int, body string) func(http.ResponseWriter) {
	return func(w http.ResponseWriter) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		w.Write([]byte(body))
	}
}

func TestEveryFormNeedsItsCSRFToken(t *testing.T) {
	h, _ := New("https://sso.example", nil)
	for _, path := range []string{"/activate", "/activate/mfa-challenge"} {
		form := url.Values{"user_code": {"ABCD-EFGH"}, "preauth_token": {"p"}, "device_code_id": {"d"}, "code": {"123456"}, "csrf": {strings.Repeat("a", 32)}}
		req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.AddCookie(&http.Cookie{Name: csrfCookie, Value: strings.Repeat("b", 32)})
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusForbidden || !strings.Contains(rec.Body.String(), "This form had expired") {
			t.Errorf("%s with a mismatched token: %d\n%s", path, rec.Code, rec.Body.String())
		}
	}
	// The GET sets the cookie the form's token must match.
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/activate", nil))
	c := rec.Result().Cookies()
	if len(c) != 1 || !c[0].HttpOnly || c[0].SameSite != http.SameSiteStrictMode || !strings.Contains(rec.Body.String(), `value="`+c[0].Value+`"`) {
		t.Fatalf("cookies %+v", c)
	}
}

// TestRedirectsFollowTheHelpersRule: a code, an MFA code or a pre-auth token
// posted by the pages never follows a redirect to another server.
func TestRedirectsFollowTheHelpersRule(t *testing.T) {
	var elsewhere []string
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		elsewhere = append(elsewhere, r.URL.Path+" "+string(b))
		jsonAnswer(200, `{"success":true}`)(w)
	}))
	defer other.Close()
	authos := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, other.URL+r.URL.Path, http.StatusTemporaryRedirect)
	}))
	defer authos.Close()
	h, err := New(authos.URL, &http.Client{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		path string
		form url.Values
	}{
		{"/activate", url.Values{"user_code": {"ABCD-EFGH"}}},
		{"/activate/mfa-challenge", url.Values{"preauth_token": {"pre"}, "device_code_id": {"row"}, "code": {"123456"}}},
	} {
		rec := post(h, tt.path, tt.form)
		if rec.Code != http.StatusBadGateway {
			t.Errorf("%s: status %d, want 502 (the redirect refused)", tt.path, rec.Code)
		}
	}
	if len(elsewhere) != 0 {
		t.Fatalf("the other server received %q", elsewhere)
	}
}
