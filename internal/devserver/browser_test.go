package devserver

import (
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

// browser is a cookie-keeping HTTP client that follows redirects, enough to
// walk the pages the way a person does (the chromium tests do it for real).
type browser struct {
	t      *testing.T
	client *http.Client
	url    string // the current page
	body   string
	status int
}

func newBrowser(t *testing.T) *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: t, client: &http.Client{Jar: jar}}
}

func (b *browser) load(resp *http.Response, err error) *browser {
	b.t.Helper()
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	b.url, b.body, b.status = resp.Request.URL.String(), string(raw), resp.StatusCode
	return b
}

func (b *browser) get(u string) *browser { b.t.Helper(); return b.load(b.client.Get(u)) }

// submit fills the page's form whose action is action with the hidden
// fields plus fields, and posts it.
func (b *browser) submit(action string, fields map[string]string) *browser {
	b.t.Helper()
	form := regexp.MustCompile(`(?s)<form method="post" action="` + regexp.QuoteMeta(action) + `">(.*?)</form>`).FindStringSubmatch(b.body)
	if form == nil {
		b.t.Fatalf("no form posting to %s on %s:\n%s", action, b.url, b.body)
	}
	v := url.Values{}
	for _, m := range regexp.MustCompile(`<input type="hidden" name="([^"]+)" value="([^"]*)">`).FindAllStringSubmatch(form[1], -1) {
		v.Set(m[1], html.UnescapeString(m[2]))
	}
	for k, x := range fields {
		v.Set(k, x)
	}
	base, _ := url.Parse(b.url)
	target, _ := base.Parse(action)
	return b.load(b.client.PostForm(target.String(), v))
}

// follow opens the link whose text is label.
func (b *browser) follow(label string) *browser {
	b.t.Helper()
	m := regexp.MustCompile(`<a class="button" href="([^"]+)">` + regexp.QuoteMeta(label) + `</a>`).FindStringSubmatch(b.body)
	if m == nil {
		b.t.Fatalf("no link %q on %s:\n%s", label, b.url, b.body)
	}
	return b.get(html.UnescapeString(m[1]))
}

func (b *browser) want(status int, text string) *browser {
	b.t.Helper()
	if b.status != status || !strings.Contains(b.body, text) {
		b.t.Fatalf("%s: status %d, want %d with %q:\n%s", b.url, b.status, status, text, b.body)
	}
	return b
}

// signInWith walks enter code → provider → stand-in sign-in as email.
func signInWith(h *harness, code, provider, email string) *browser {
	b := newBrowser(h.t)
	b.get(h.url+"/activate").want(http.StatusOK, "Enter the code")
	typed := strings.ToLower(strings.Replace(code, "-", " ", 1)) // as people type it
	b.submit("/activate", map[string]string{"user_code": typed}).want(http.StatusOK, "is asking to sign in as you")
	b.follow("Continue with "+provider).want(http.StatusOK, "choose a seeded user")
	action := regexp.MustCompile(`<form method="post" action="([^"]+/callback)">`).FindStringSubmatch(b.body)
	if action == nil {
		h.t.Fatalf("no callback form:\n%s", b.body)
	}
	return b.submit(html.UnescapeString(action[1]), map[string]string{"email": email})
}

func TestBrowserServiceFlow(t *testing.T) {
	h := newHarness(t, Options{}, false)
	dc := h.start(ClientIDAcmeCLI, OrgAcme, ServiceCLI)
	b := signInWith(h, dc.UserCode, "GitHub", UserAlice)
	b.want(http.StatusOK, "Your device is signed in")
	if !strings.HasSuffix(b.url, "/activate/success?status=success&device_flow=true") {
		t.Fatalf("landed on %s", b.url)
	}
	decodeToken(t, h.poll(dc.DeviceCode, ClientIDAcmeCLI))
	// The used code is no longer accepted by the pages.
	newBrowser(t).get(h.url+"/activate").submit("/activate", map[string]string{"user_code": dc.UserCode}).
		want(http.StatusBadRequest, "unknown, has expired, or was already used")
}

func TestBrowserMFAFlow(t *testing.T) {
	h := newHarness(t, Options{}, false)
	dc := h.start(ClientIDAcmeCLI, OrgAcme, ServiceCLI)
	b := signInWith(h, dc.UserCode, "Google", UserBob).want(http.StatusOK, "six-digit code")
	if !strings.Contains(b.url, "/activate/mfa-challenge?") || !strings.Contains(b.url, "preauth_token=") {
		t.Fatalf("MFA user landed on %s", b.url)
	}
	wantError(t, h.poll(dc.DeviceCode, ClientIDAcmeCLI), http.StatusBadRequest, "DEVICE_CODE_PENDING", "Authorization pending")

	b.submit("/activate/mfa-challenge", map[string]string{"code": "000000"}).want(http.StatusUnauthorized, "That code did not work")
	code, err := TOTP(BobTOTPSecret, h.clock.Now())
	h.must(err)
	b.submit("/activate/mfa-challenge", map[string]string{"code": code[:3] + " " + code[3:]}).want(http.StatusOK, "Your device is signed in")
	decodeToken(t, h.poll(dc.DeviceCode, ClientIDAcmeCLI))
}

func TestBrowserPlatformFlow(t *testing.T) {
	h := newHarness(t, Options{}, false)
	owner := h.start(PlatformClientID, PlatformOrg, PlatformService)
	b := signInWith(h, owner.UserCode, "Microsoft", UserOwner).want(http.StatusOK, "Your device is signed in")
	if !strings.Contains(b.url, "/activate/success") {
		t.Fatalf("landed on %s", b.url)
	}
	decodeToken(t, h.poll(owner.DeviceCode, PlatformClientID))

	other := h.start(PlatformClientID, PlatformOrg, PlatformService)
	signInWith(h, other.UserCode, "GitHub", UserAlice).want(http.StatusOK, "Your device is signed in")
	wantError(t, h.poll(other.DeviceCode, PlatformClientID), http.StatusForbidden, "FORBIDDEN", "Platform device authorization requires a current platform owner")
}

func TestBrowserRefusals(t *testing.T) {
	h := newHarness(t, Options{}, false)
	b := newBrowser(t).get(h.url + "/activate?user_code=abcd%20efgh")
	b.want(http.StatusOK, `value="ABCD-EFGH"`)
	b.submit("/activate", map[string]string{"user_code": "ABCD-EFGH"}).want(http.StatusBadRequest, "unknown, has expired, or was already used")
	b.submit("/activate", map[string]string{"user_code": "nope"}).want(http.StatusBadRequest, "eight letters and digits")

	dc := h.start(ClientIDAcmeCLI, OrgAcme, ServiceCLI)
	h.clock.Advance(16 * 60e9)
	b.submit("/activate", map[string]string{"user_code": dc.UserCode}).want(http.StatusBadRequest, "unknown, has expired, or was already used")

	// A form posted without the page's cookie (another site, an old tab).
	resp, err := http.PostForm(h.url+"/activate", url.Values{"user_code": {"ABCD-EFGH"}, "csrf": {strings.Repeat("x", 32)}})
	newBrowser(t).load(resp, err).want(http.StatusForbidden, "This form had expired")

	// The stand-in refuses a provider the org has not configured.
	fresh := h.start(ClientIDAcmeCLI, OrgAcme, ServiceCLI)
	newBrowser(t).get(h.url+"/auth/microsoft?"+url.Values{"org": {OrgAcme}, "service": {ServiceCLI}, "user_code": {fresh.UserCode}}.Encode()).
		want(http.StatusBadRequest, "no microsoft sign-in configured")

	// Security headers on every page.
	r := h.do(http.MethodGet, "/activate", "", "")
	for k, want := range map[string]string{
		"Content-Security-Policy": "frame-ancestors 'none'", "Referrer-Policy": "no-referrer", "X-Content-Type-Options": "nosniff",
	} {
		if !strings.Contains(r.header.Get(k), want) {
			t.Errorf("%s = %q, want %q", k, r.header.Get(k), want)
		}
	}
}
