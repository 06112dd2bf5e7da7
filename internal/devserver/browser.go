package devserver

import (
	"encoding/json"
	"errors"
	"html"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// The browser leg (docs/authos-wire.md §10): the activation pages (package
// activation, mounted by Command), a stand-in for the OAuth providers'
// sign-in page, AuthOS's callback, and POST /api/auth/mfa/verify.

// preauthTyp is the typ of AuthOS's MFA pre-auth token; it lives 5 minutes.
const (
	preauthTyp      = "authos-mfa-preauth+jwt"
	preauthLifetime = 5 * time.Minute
)

type preauthClaims struct {
	Sub          string `json:"sub"`
	Iss          string `json:"iss"`
	MFARequired  bool   `json:"mfa_required"`
	MFAVerified  bool   `json:"mfa_verified"`
	DeviceCodeID string `json:"device_code_id"`
	Iat          int64  `json:"iat"`
	Exp          int64  `json:"exp"`
}

// providerPath splits /auth/{provider}[/callback] and
// /auth/admin/{provider}[/callback]; ok is false for other paths.
func providerPath(path string) (provider string, admin, callback, ok bool) {
	rest, found := strings.CutPrefix(path, "/auth/")
	if !found {
		return "", false, false, false
	}
	if r, isAdmin := strings.CutPrefix(rest, "admin/"); isAdmin {
		rest, admin = r, true
	}
	rest, callback = strings.CutSuffix(rest, "/callback")
	if rest == "" || strings.Contains(rest, "/") || !slices.Contains(allProviders, rest) {
		return "", false, false, false
	}
	return rest, admin, callback, true
}

// allProviders are the providers AuthOS knows; the platform flow offers all.
var allProviders = []string{"github", "google", "microsoft"}

// handleProvider serves the stand-in sign-in page (GET) and the callback
// (POST from that page), which does what AuthOS's OAuth callback does.
func (s *Server) handleProvider(w http.ResponseWriter, r *http.Request, provider string, admin, callback bool) {
	q := r.URL.Query()
	if callback {
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", "POST")
			w.WriteHeader(http.StatusMethodNotAllowed)
			return
		}
		r.ParseForm()
		q = r.PostForm
	} else if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET,HEAD")
		w.WriteHeader(http.StatusMethodNotAllowed)
		return
	}
	userCode := q.Get("user_code")
	s.mu.Lock()
	row, users, problem := s.providerRowLocked(provider, admin, userCode, q.Get("org"), q.Get("service"))
	s.mu.Unlock()
	if problem != "" {
		s.renderStandIn(w, http.StatusBadRequest, standInPage{Provider: provider, Problem: problem})
		return
	}
	if !callback {
		s.renderStandIn(w, http.StatusOK, standInPage{
			Provider: provider, Action: r.URL.Path + "/callback", UserCode: userCode,
			Org: q.Get("org"), Service: q.Get("service"), Users: users,
		})
		return
	}
	target, err := s.signIn(row, q.Get("email"))
	if err != nil {
		s.renderStandIn(w, http.StatusBadRequest, standInPage{Provider: provider, Problem: err.Error()})
		return
	}
	http.Redirect(w, r, target, http.StatusSeeOther)
}

// providerRowLocked finds the pending, unexpired, unbound row the request
// names and the seeded users who may sign in for it.
func (s *Server) providerRowLocked(provider string, admin bool, userCode, orgSlug, svcSlug string) (*deviceCode, []string, string) {
	now := s.now()
	s.cleanupLocked(now)
	row := s.rowByUserCodeLocked(userCode)
	if row == nil || row.expiresAt.Before(now) || row.status != "pending" || row.userID != "" {
		return nil, nil, "This sign-in code is unknown, expired or already used."
	}
	if admin {
		if !isPlatformRow(row) {
			return nil, nil, "This code is not for the platform administration CLI."
		}
	} else {
		o := s.orgs[row.orgSlug]
		if isPlatformRow(row) || o == nil || row.orgSlug != orgSlug || row.service != svcSlug {
			return nil, nil, "The organization and service do not match this code."
		}
		if !slices.Contains(o.providers, provider) {
			return nil, nil, "This organization has no " + provider + " sign-in configured."
		}
	}
	// Every seeded user may sign in: AuthOS refuses non-members and
	// non-owners at /auth/token, not at the provider.
	var users []string
	for _, u := range s.users {
		if !u.deleted {
			users = append(users, u.email)
		}
	}
	slices.Sort(users)
	return row, users, ""
}

// signIn binds the row to the user, as AuthOS's callback does, and returns
// where the browser goes next: success, or the MFA challenge (Approve leaves
// exactly the rows of MFA users pending).
func (s *Server) signIn(row *deviceCode, email string) (string, error) {
	if err := s.Approve(row.userCode, email); err != nil {
		return "", errors.New("this sign-in could not be completed: " + err.Error())
	}
	origin := s.activationOrigin(row)
	s.mu.Lock()
	pending, userID, id, code := row.status == "pending", row.userID, row.id, row.userCode
	s.mu.Unlock()
	if !pending {
		return origin + "/activate/success?status=success&device_flow=true", nil
	}
	now := s.now()
	tok, err := s.sign(preauthTyp, preauthClaims{
		Sub: userID, Iss: s.baseURL, MFARequired: true, DeviceCodeID: id, Iat: now.Unix(), Exp: now.Add(preauthLifetime).Unix(),
	})
	if err != nil {
		return "", err
	}
	return origin + "/activate/mfa-challenge?" + url.Values{
		"preauth_token": {tok}, "device_code_id": {id}, "user_code": {code},
	}.Encode(), nil
}

// activationOrigin is the origin of the row's activation URI (the dashboard
// for the platform flow).
func (s *Server) activationOrigin(row *deviceCode) string {
	uri := s.dash + "/activate"
	s.mu.Lock()
	if svc := s.serviceBySlugs(row.orgSlug, row.service); svc != nil && svc.activationURI != "" {
		uri = svc.activationURI
	}
	s.mu.Unlock()
	if u, err := url.Parse(uri); err == nil {
		return u.Scheme + "://" + u.Host
	}
	return s.dash
}

// handleMFAVerify is POST /api/auth/mfa/verify: a pre-auth token, a TOTP
// code and the row id; the row becomes authorized if it is still pending,
// unexpired and bound to the token's user.
func (s *Server) handleMFAVerify(w http.ResponseWriter, r *http.Request) {
	req, rej := readJSONStruct(r, "MfaVerifyRequest", []field{{name: "preauth_token"}, {name: "code"}, {name: "device_code_id"}})
	if rej != nil {
		s.writeError(w, json400Error(rej))
		return
	}
	now := s.now()
	hdr, raw, err := s.checkSignature(req["preauth_token"])
	var c preauthClaims
	if err != nil || hdr.Typ != preauthTyp || json.Unmarshal(raw, &c) != nil || c.Exp < now.Unix() || !c.MFARequired {
		s.writeError(w, unauthorized("Invalid or expired pre-authentication token"))
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.users[c.Sub]
	if u == nil || u.deleted || !u.mfaEnabled {
		s.writeError(w, unauthorized("Invalid or expired pre-authentication token"))
		return
	}
	if !totpMatches(u.totpSecret, req["code"], now) {
		s.writeError(w, unauthorized("Invalid MFA code"))
		return
	}
	var row *deviceCode
	for _, dc := range s.codes {
		if dc.id == req["device_code_id"] && dc.id == c.DeviceCodeID {
			row = dc
		}
	}
	if row == nil || row.expiresAt.Before(now) || row.status != "pending" || row.userID != u.id {
		s.writeError(w, badRequest("Invalid or expired device code"))
		return
	}
	row.status = "authorized"
	s.writeJSON(w, http.StatusOK, map[string]any{"success": true, "message": "MFA verified; the device is authorized"})
}

type standInPage struct {
	Provider, Problem, Action string
	UserCode, Org, Service    string
	Users                     []string
}

// renderStandIn shows the stand-in for the provider's sign-in page. Values
// are escaped with html.EscapeString (no html/template: its init would cost
// every start of the per-call binary).
func (s *Server) renderStandIn(w http.ResponseWriter, status int, p standInPage) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'")
	h.Set("Referrer-Policy", "no-referrer")
	w.WriteHeader(status)
	esc := html.EscapeString
	var b strings.Builder
	b.WriteString(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Sign in with ` + esc(p.Provider) + ` (dev server stand-in)</title>
<style>body{font:1.125rem/1.5 system-ui,sans-serif;max-width:32rem;margin:0 auto;padding:1.5rem 1rem}button{display:block;width:100%;min-height:44px;margin:.5rem 0;font:inherit}.problem{color:#600;background:#fdecec;padding:.75rem}</style>
</head><body><main>
<h1>Sign in with ` + esc(p.Provider) + `</h1>
<p>This is the AuthOS dev server standing in for ` + esc(p.Provider) + `: choose a seeded user.</p>
`)
	if p.Problem != "" {
		b.WriteString(`<p class="problem" role="alert">` + esc(p.Problem) + "</p>\n")
	}
	for _, u := range p.Users {
		b.WriteString(`<form method="post" action="` + esc(p.Action) + `">
<input type="hidden" name="user_code" value="` + esc(p.UserCode) + `"><input type="hidden" name="org" value="` + esc(p.Org) + `"><input type="hidden" name="service" value="` + esc(p.Service) + `">
<button type="submit" name="email" value="` + esc(u) + `">` + esc(u) + "</button></form>\n")
	}
	b.WriteString("</main></body></html>\n")
	io.WriteString(w, b.String())
}
