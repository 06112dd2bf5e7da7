// Package activation serves the pages a person opens to approve a device
// sign-in (AuthOS's device_activation_uri): enter the code, see who is
// asking, choose a provider, and, after the provider's login, finish MFA.
// It is an http.Handler that talks to AuthOS only through its public routes
// (POST /auth/device/verify, POST /api/auth/mfa/verify), so a team can put
// it in front of any AuthOS server; the dev server mounts it too.
//
// The pages work without JavaScript, carry a CSRF token in every form, and
// send CSP (frame-ancestors 'none'), no-referrer and nosniff headers.
package activation

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/authos/authos-credential-helper/internal/authos"
)

// Handler serves /activate, /activate/success and /activate/mfa-challenge.
type Handler struct {
	server string
	client *http.Client
}

// New returns the pages for the AuthOS server at server (its BASE_URL, no
// /api). client calls AuthOS; nil means one with a 15 s timeout.
func New(server string, client *http.Client) (*Handler, error) {
	u, err := url.Parse(server)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, fmt.Errorf("activation pages: %q is not an AuthOS base URL", server)
	}
	if client == nil {
		client = &http.Client{Timeout: 15 * time.Second}
	}
	// The pages post user codes, MFA codes and pre-auth tokens: the same
	// redirect rule as the helper's own requests.
	return &Handler{server: strings.TrimSuffix(server, "/"), client: authos.Guard(client)}, nil
}

const csrfCookie = "authos_activation_csrf"

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hdr := w.Header()
	hdr.Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	hdr.Set("Referrer-Policy", "no-referrer")
	hdr.Set("X-Content-Type-Options", "nosniff")
	hdr.Set("X-Frame-Options", "DENY")
	hdr.Set("Cache-Control", "no-store")
	switch r.URL.Path {
	case "/activate", "/activate/":
		h.serveEnter(w, r)
	case "/activate/success":
		h.onlyGet(w, r, func() {
			h.render(w, http.StatusOK, page{Title: "Device approved", Success: true})
		})
	case "/activate/mfa-challenge":
		h.serveMFA(w, r)
	case "/activate/style.css":
		h.onlyGet(w, r, func() {
			hdr.Set("Content-Type", "text/css; charset=utf-8")
			hdr.Set("Cache-Control", "max-age=3600")
			io.WriteString(w, styleCSS)
		})
	default:
		h.render(w, http.StatusNotFound, page{Title: "Page not found", Problem: "There is no page here. To approve a device, open the address your terminal shows."})
	}
}

func (h *Handler) onlyGet(w http.ResponseWriter, r *http.Request, serve func()) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	serve()
}

// serveEnter is the code form (GET) and its answer (POST): who is asking and
// one button per provider.
func (h *Handler) serveEnter(w http.ResponseWriter, r *http.Request) {
	form := func(code, problem string) page {
		return page{Title: "Approve a device", EnterCode: true, Code: code, CSRF: h.csrf(w, r), Problem: problem}
	}
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		code, _ := NormalizeUserCode(r.URL.Query().Get("user_code"))
		h.render(w, http.StatusOK, form(code, ""))
	case http.MethodPost:
		if !h.checkCSRF(r) {
			h.render(w, http.StatusForbidden, form("", "This form had expired. Enter the code again."))
			return
		}
		raw := r.PostFormValue("user_code")
		code, ok := NormalizeUserCode(raw)
		if !ok {
			h.render(w, http.StatusBadRequest, form(raw, "A code has eight letters and digits, like ABCD-EFGH. Check it and try again."))
			return
		}
		v, err := h.verify(r.Context(), code)
		if err != nil {
			h.renderAPIError(w, err, form(code, ""))
			return
		}
		h.render(w, http.StatusOK, page{Title: "Approve a device", Code: code, Org: v.Org, Service: v.Service,
			Platform: v.platform(), Providers: h.providerLinks(v, code)})
	default:
		w.Header().Set("Allow", "GET, HEAD, POST")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
	}
}

// serveMFA is the TOTP step AuthOS redirects an MFA user to after the
// provider's login.
func (h *Handler) serveMFA(w http.ResponseWriter, r *http.Request) {
	var q url.Values
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		q = r.URL.Query()
	case http.MethodPost:
		r.ParseForm()
		q = r.PostForm
	default:
		w.Header().Set("Allow", "GET, HEAD, POST")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	p := page{Title: "Two-step verification", MFA: true, PreAuth: q.Get("preauth_token"), DeviceCodeID: q.Get("device_code_id"), Code: q.Get("user_code")}
	if p.PreAuth == "" || p.DeviceCodeID == "" {
		h.render(w, http.StatusBadRequest, page{Title: "Two-step verification",
			Problem: "This link is incomplete. Start the sign-in again from your terminal."})
		return
	}
	p.CSRF = h.csrf(w, r)
	if r.Method != http.MethodPost {
		h.render(w, http.StatusOK, p)
		return
	}
	if !h.checkCSRF(r) {
		p.Problem = "This form had expired. Enter the current code again."
		h.render(w, http.StatusForbidden, p)
		return
	}
	totp := strings.Join(strings.Fields(q.Get("code")), "")
	if len(totp) != 6 || strings.Trim(totp, "0123456789") != "" {
		p.Problem = "Enter the six digits your authenticator app shows."
		h.render(w, http.StatusBadRequest, p)
		return
	}
	err := h.post(r.Context(), "/api/auth/mfa/verify", map[string]string{
		"preauth_token": p.PreAuth, "code": totp, "device_code_id": p.DeviceCodeID,
	}, nil)
	if err != nil {
		var apiErr *apiError
		if errors.As(err, &apiErr) && (apiErr.status == http.StatusBadRequest || apiErr.status == http.StatusUnauthorized) {
			p.Problem = "That code did not work. Codes change every 30 seconds: enter the one your app shows now. If this keeps failing, start again from your terminal."
			h.render(w, apiErr.status, p)
			return
		}
		h.renderAPIError(w, err, p)
		return
	}
	h.render(w, http.StatusOK, page{Title: "Device approved", Success: true})
}

// NormalizeUserCode accepts what people type for a code (lower case,
// spaces, a missing dash) and returns AuthOS's XXXX-XXXX form.
func NormalizeUserCode(s string) (string, bool) {
	var b strings.Builder
	for _, c := range strings.ToUpper(s) {
		switch {
		case c == '-' || c == ' ' || c == '\t':
		case (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'):
			b.WriteRune(c)
		default:
			return "", false
		}
	}
	if b.Len() != 8 {
		return "", false
	}
	return b.String()[:4] + "-" + b.String()[4:], true
}

type verifyAnswer struct {
	Org       string   `json:"org_slug"`
	Service   string   `json:"service_slug"`
	Providers []string `json:"available_providers"`
}

func (v verifyAnswer) platform() bool { return v.Org == "platform" && v.Service == "admin-cli" }

func (h *Handler) verify(ctx context.Context, code string) (verifyAnswer, error) {
	var v verifyAnswer
	err := h.post(ctx, "/auth/device/verify", map[string]string{"user_code": code}, &v)
	return v, err
}

type providerLink struct {
	Name, Label, URL string
}

// providerLinks are the provider login URLs AuthOS's SDK builds
// (getLoginUrl, getAdminLoginUrl).
func (h *Handler) providerLinks(v verifyAnswer, code string) []providerLink {
	var out []providerLink
	for _, p := range v.Providers {
		if !providerName(p) {
			continue // not a provider name AuthOS would route
		}
		var u string
		if v.platform() {
			u = h.server + "/auth/admin/" + p + "?" + url.Values{"user_code": {code}}.Encode()
		} else {
			u = h.server + "/auth/" + p + "?" + url.Values{"org": {v.Org}, "service": {v.Service}, "user_code": {code}}.Encode()
		}
		out = append(out, providerLink{Name: p, Label: providerLabel(p), URL: u})
	}
	return out
}

// providerName is what a provider's path segment may be: lower-case
// letters, digits, "-" and "_".
func providerName(p string) bool {
	if p == "" || len(p) > 40 {
		return false
	}
	for _, c := range p {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

func providerLabel(p string) string {
	switch p {
	case "github":
		return "GitHub"
	case "google":
		return "Google"
	case "microsoft":
		return "Microsoft"
	}
	return strings.ToUpper(p[:1]) + p[1:]
}

// apiError is an answer from AuthOS other than 2xx.
type apiError struct {
	status     int
	message    string
	retryAfter int
}

func (e *apiError) Error() string { return fmt.Sprintf("AuthOS answered %d: %s", e.status, e.message) }

// post sends body as JSON to the AuthOS route and decodes a 2xx answer into
// out (when not nil).
func (h *Handler) post(ctx context.Context, route string, body any, out any) error {
	b, _ := json.Marshal(body)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, h.server+route, bytes.NewReader(b))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	resp, err := h.client.Do(req)
	if err != nil {
		return fmt.Errorf("POST %s: %w", route, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode/100 != 2 {
		e := &apiError{status: resp.StatusCode, message: strings.TrimSpace(string(raw))}
		var env struct {
			Error string `json:"error"`
		}
		if json.Unmarshal(raw, &env) == nil && env.Error != "" {
			e.message = env.Error
		}
		e.retryAfter, _ = strconv.Atoi(resp.Header.Get("Retry-After"))
		return e
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			return fmt.Errorf("POST %s: the answer is not the expected JSON", route)
		}
	}
	return nil
}

// renderAPIError explains a failed AuthOS call on p.
func (h *Handler) renderAPIError(w http.ResponseWriter, err error, p page) {
	var apiErr *apiError
	answered := 0 // AuthOS's status; 0 when it gave no usable answer
	if errors.As(err, &apiErr) {
		answered = apiErr.status
	}
	status := answered
	switch answered {
	case http.StatusBadRequest:
		p.Problem = "This code is unknown, has expired, or was already used. Start the sign-in again in your terminal to get a new code."
		if p.MFA {
			p.Problem = "This sign-in step is no longer valid (it lasts five minutes). Start the sign-in again from your terminal."
		}
	case http.StatusNotFound:
		p.Problem = "The organization or service asking for this sign-in is not set up on this AuthOS server. Tell whoever runs it."
	case http.StatusTooManyRequests:
		wait := "a minute"
		if apiErr.retryAfter > 0 {
			wait = fmt.Sprintf("%d seconds", apiErr.retryAfter)
		}
		p.Problem = "Too many attempts from this network. Wait " + wait + ", then try again."
	case http.StatusUnauthorized, http.StatusForbidden:
		p.Problem = "AuthOS refused this step. Start the sign-in again from your terminal."
	default:
		status = http.StatusBadGateway
		p.Problem = "AuthOS did not answer properly. Try again in a moment; if it keeps failing, tell whoever runs it."
	}
	h.render(w, status, p)
}

// csrf returns the request's CSRF token, setting a fresh one in a cookie
// when it has none (double-submit: the form carries the same value).
func (h *Handler) csrf(w http.ResponseWriter, r *http.Request) string {
	if c, err := r.Cookie(csrfCookie); err == nil && len(c.Value) >= 32 {
		return c.Value
	}
	var b [24]byte
	rand.Read(b[:])
	tok := base64.RawURLEncoding.EncodeToString(b[:])
	http.SetCookie(w, &http.Cookie{
		Name: csrfCookie, Value: tok, Path: "/activate", HttpOnly: true,
		SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil, MaxAge: 3600,
	})
	return tok
}

func (h *Handler) checkCSRF(r *http.Request) bool {
	c, err := r.Cookie(csrfCookie)
	form := r.PostFormValue("csrf")
	return err == nil && len(c.Value) >= 32 && subtle.ConstantTimeCompare([]byte(c.Value), []byte(form)) == 1
}
