package devserver

import (
	"crypto/rand"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode"
)

// userCodeAlphabet is the newest server's alphabet: no 0/O, 1/I or L.
const userCodeAlphabet = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"

type deviceCodeResponse struct {
	DeviceCode      string `json:"device_code"`
	UserCode        string `json:"user_code"`
	VerificationURI string `json:"verification_uri"`
	ExpiresIn       int    `json:"expires_in"`
	Interval        int    `json:"interval"`
}

// validSlugChars is Rust's char::is_alphanumeric (Unicode letters and
// numbers) plus '-' and '_', as the newest handler checks.
func validSlugChars(s string) bool {
	for _, c := range s {
		if !(unicode.IsLetter(c) || unicode.IsNumber(c) || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

func (s *Server) isPlatformRequest(clientID, orgSlug, svc string) bool {
	if orgSlug != PlatformOrg || svc != PlatformService {
		return false
	}
	if s.opts.LegacyPlatformPrefix {
		return strings.HasPrefix(clientID, "platform-")
	}
	return clientID == PlatformClientID
}

func isPlatformRow(c *deviceCode) bool {
	return c.orgSlug == PlatformOrg && c.service == PlatformService
}

// handleDeviceCode is POST /auth/device/code.
func (s *Server) handleDeviceCode(w http.ResponseWriter, r *http.Request) {
	req, rej := readJSONStruct(r, "DeviceCodeRequest", []field{{name: "client_id"}, {name: "org"}, {name: "service"}})
	if rej != nil {
		s.writeError(w, json400Error(rej))
		return
	}
	clientID, orgSlug, svcSlug := req["client_id"], req["org"], req["service"]
	// Lengths are bytes, as Rust's str::len.
	switch {
	case len(clientID) > 500:
		s.writeError(w, badRequest("client_id too long (max 500 characters)"))
		return
	case len(orgSlug) > 100:
		s.writeError(w, badRequest("org slug too long (max 100 characters)"))
		return
	case len(svcSlug) > 100:
		s.writeError(w, badRequest("service slug too long (max 100 characters)"))
		return
	case !validSlugChars(clientID):
		s.writeError(w, badRequest("client_id contains invalid characters"))
		return
	case !validSlugChars(orgSlug):
		s.writeError(w, badRequest("org slug contains invalid characters"))
		return
	case !validSlugChars(svcSlug):
		s.writeError(w, badRequest("service slug contains invalid characters"))
		return
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	var verificationURI string
	if s.isPlatformRequest(clientID, orgSlug, svcSlug) {
		verificationURI = s.dash + "/activate"
	} else {
		svc := s.findService(clientID, orgSlug, svcSlug)
		if svc == nil {
			s.writeError(w, badRequest("Invalid client credentials"))
			return
		}
		if svc.activationURI == "" {
			s.writeError(w, badRequest("Device activation URI not configured for this service"))
			return
		}
		verificationURI = svc.activationURI
	}

	now := s.now()
	s.cleanupLocked(now)
	dc, err := newUUID()
	if err != nil {
		s.writeError(w, &apiError{http.StatusInternalServerError, "INTERNAL_SERVER_ERROR", err.Error()})
		return
	}
	uc, err := s.newUserCodeLocked()
	if err != nil {
		s.writeError(w, &apiError{http.StatusInternalServerError, "INTERNAL_SERVER_ERROR", err.Error()})
		return
	}
	rowID, err := newUUID()
	if err != nil {
		s.writeError(w, &apiError{http.StatusInternalServerError, "INTERNAL_SERVER_ERROR", err.Error()})
		return
	}
	s.codes[dc] = &deviceCode{
		id: rowID, deviceCode: dc, userCode: uc, clientID: clientID, orgSlug: orgSlug, service: svcSlug,
		status: "pending", expiresAt: now.Add(seconds(s.opts.ExpiresIn)), seq: s.nextSeq,
	}
	s.nextSeq++
	if s.opts.AutoApprove != "" {
		delay := s.opts.AutoApproveDelay
		if delay <= 0 {
			delay = 2 * time.Second
		}
		time.AfterFunc(delay, func() { s.Approve(uc, s.opts.AutoApprove) })
	}
	s.writeJSON(w, http.StatusOK, deviceCodeResponse{
		DeviceCode: dc, UserCode: uc, VerificationURI: verificationURI,
		ExpiresIn: s.opts.ExpiresIn, Interval: s.opts.Interval,
	})
}

// newUserCodeLocked draws XXXX-XXXX codes until one is not in use (a clash
// would make the activation page ambiguous). Callers hold s.mu.
func (s *Server) newUserCodeLocked() (string, error) {
	for range 100 {
		code, err := randomUserCode()
		if err != nil {
			return "", err
		}
		if s.rowByUserCodeLocked(code) == nil {
			return code, nil
		}
	}
	return "", fmt.Errorf("drawing a user code: no free code after 100 attempts")
}

// randomUserCode draws XXXX-XXXX from the alphabet with crypto/rand,
// rejecting bytes that would bias the draw.
func randomUserCode() (string, error) {
	const n = len(userCodeAlphabet)
	limit := 256 - 256%n
	out := make([]byte, 0, 9)
	var buf [16]byte
	for len(out) < 9 {
		if _, err := rand.Read(buf[:]); err != nil {
			return "", fmt.Errorf("drawing a user code: %w", err)
		}
		for _, v := range buf {
			if len(out) == 9 {
				break
			}
			if len(out) == 4 {
				out = append(out, '-')
			}
			if int(v) < limit {
				out = append(out, userCodeAlphabet[int(v)%n])
			}
		}
	}
	return string(out), nil
}

func (s *Server) rowByUserCodeLocked(code string) *deviceCode {
	for _, c := range s.codes {
		if c.userCode == code {
			return c
		}
	}
	return nil
}

// newUUID returns a random (version 4) UUID in canonical form.
func newUUID() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("drawing a UUID: %w", err)
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16]), nil
}

type verifyResponse struct {
	OrgSlug            string   `json:"org_slug"`
	ServiceSlug        string   `json:"service_slug"`
	AvailableProviders []string `json:"available_providers"`
}

// handleDeviceVerify is POST /auth/device/verify (activation page side),
// newest behaviour: one uniform answer for every unusable code.
func (s *Server) handleDeviceVerify(w http.ResponseWriter, r *http.Request) {
	req, rej := readJSONStruct(r, "DeviceVerifyRequest", []field{{name: "user_code"}})
	if rej != nil {
		s.writeError(w, json400Error(rej))
		return
	}
	unavailable := badRequest("Invalid or unavailable user code")
	code := req["user_code"]
	if len(code) != 9 || !strings.Contains(code, "-") {
		s.writeError(w, unavailable)
		return
	}
	for _, c := range code {
		if !(unicode.IsLetter(c) || unicode.IsNumber(c) || c == '-') {
			s.writeError(w, unavailable)
			return
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	s.cleanupLocked(now)
	row := s.rowByUserCodeLocked(code)
	if row == nil || row.expiresAt.Before(now) || row.status != "pending" || row.userID != "" {
		s.writeError(w, unavailable)
		return
	}
	if isPlatformRow(row) {
		s.writeJSON(w, http.StatusOK, verifyResponse{row.orgSlug, row.service, []string{"github", "google", "microsoft"}})
		return
	}
	o := s.orgs[row.orgSlug]
	if o == nil {
		s.writeError(w, notFound("Organization not found"))
		return
	}
	if s.serviceBySlugs(row.orgSlug, row.service) == nil {
		s.writeError(w, notFound("Service not found"))
		return
	}
	s.writeJSON(w, http.StatusOK, verifyResponse{row.orgSlug, row.service, append([]string{}, o.providers...)})
}

type tokenResponse struct {
	AccessToken string `json:"access_token"`
	TokenType   string `json:"token_type"`
	ExpiresIn   int    `json:"expires_in"`
}

const legacyMFAMessage = "MFA verification required. Please complete MFA verification in your browser before the device can be authorized."

// grant is what the checks of /auth/token decided: who gets which token.
type grant struct {
	row      *deviceCode
	user     user
	svc      *service // nil for the platform flow
	resource string
}

// handleToken is POST /auth/token. It uses axum's plain Json extractor in
// every AuthOS version, so body problems are plain-text 415/400/422.
func (s *Server) handleToken(w http.ResponseWriter, r *http.Request) {
	req, rej := readJSONStruct(r, "TokenRequest", []field{
		{name: "client_id"}, {name: "device_code"}, {name: "grant_type"}, {name: "resource", optional: true},
	})
	if rej != nil {
		writeAxumJSONRejection(w, rej)
		return
	}
	if req["grant_type"] != deviceCodeGrantType {
		s.writeError(w, badRequest("Invalid grant type"))
		return
	}
	resource, hasResource := req["resource"]
	g, apiErr := s.checkTokenRequest(req["device_code"], req["client_id"], resource, hasResource)
	if apiErr != nil {
		s.writeError(w, apiErr)
		return
	}
	// Signing happens outside the lock, like AuthOS, which checks first and
	// consumes atomically afterwards: a concurrent poll that passed the checks
	// too loses the consume and gets "Invalid device code" (docs/authos-wire.md §5 row 10).
	now := s.now()
	token, err := s.signToken(g, now)
	if err != nil {
		s.writeError(w, &apiError{http.StatusInternalServerError, "INTERNAL_SERVER_ERROR", "signing the access token: " + err.Error()})
		return
	}
	if apiErr := s.consume(g, req["client_id"], token, now); apiErr != nil {
		s.writeError(w, apiErr)
		return
	}
	s.writeJSON(w, http.StatusOK, tokenResponse{token, "Bearer", int(s.opts.TokenLifetime / time.Second)})
}

// checkTokenRequest runs the newest server's checks in order (docs/authos-wire.md §5 rows 2-9).
func (s *Server) checkTokenRequest(deviceCodeStr, clientID, resource string, hasResource bool) (*grant, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	s.cleanupLocked(now)
	row := s.codes[deviceCodeStr]
	switch {
	case row == nil:
		return nil, badRequest("Invalid device code")
	case row.clientID != clientID:
		return nil, unauthorized("Invalid client")
	case row.expiresAt.Before(now):
		return nil, errExpired
	case row.status != "authorized" || row.userID == "":
		// Also answers MFA-bound, denied and already consumed codes.
		return nil, errPending
	}
	u := s.users[row.userID]
	if u == nil || u.deleted {
		return nil, notFound("User not found")
	}
	if s.opts.LegacyMFA && u.mfaEnabled {
		return nil, badRequest(legacyMFAMessage)
	}
	g := &grant{row: row, user: *u}
	if isPlatformRow(row) {
		if !u.platformOwner {
			return nil, forbidden("Platform device authorization requires a current platform owner")
		}
		return g, nil
	}
	svc := s.serviceBySlugs(row.orgSlug, row.service)
	if svc == nil {
		return nil, notFound("Service not found")
	}
	o := s.orgs[svc.orgSlug]
	if o == nil || !o.active {
		return nil, forbidden("Organization is not active")
	}
	if !u.platformOwner && !o.members[u.id] {
		return nil, forbidden("You do not currently have access to this service")
	}
	if hasResource {
		if apiErr := validateResource(resource, svc.resourceURIs); apiErr != nil {
			return nil, apiErr
		}
		g.resource = resource
	}
	g.svc = svc
	return g, nil
}

// validateResource mirrors AuthOS's validate_requested_resource
// (api/src/utils/resource_indicators.rs): every failure is a 400
// BAD_REQUEST whose message starts "invalid_target: ".
func validateResource(resource string, registered []string) *apiError {
	if e := checkResourceURI(resource); e != nil {
		return e
	}
	if !slices.Contains(registered, resource) {
		return invalidTarget("resource is not registered for this service")
	}
	return nil
}

func invalidTarget(msg string) *apiError { return badRequest("invalid_target: " + msg) }

// checkResourceURI is AuthOS's validate_resource_uri.
func checkResourceURI(resource string) *apiError {
	if resource == "" || strings.TrimSpace(resource) != resource {
		return invalidTarget("resource must be a non-empty URI")
	}
	if len(resource) > 2048 {
		return invalidTarget("resource URI is too long")
	}
	u, err := url.Parse(resource)
	if err != nil || u.Scheme == "" {
		return invalidTarget("resource must be an absolute URI")
	}
	if u.Fragment != "" || strings.Contains(resource, "#") {
		return invalidTarget("resource URI must not contain a fragment")
	}
	return nil
}

// consume marks the code consumed if it is still authorized for the same
// user and client, and stores the session row.
func (s *Server) consume(g *grant, clientID, token string, now time.Time) *apiError {
	s.mu.Lock()
	defer s.mu.Unlock()
	row := s.codes[g.row.deviceCode]
	if row == nil || row.status != "authorized" || row.userID != g.user.id || row.clientID != clientID {
		return badRequest("Invalid device code")
	}
	row.status = "consumed"
	sess := &session{userID: g.user.id, expiresAt: now.Add(s.opts.TokenLifetime)}
	if g.svc != nil {
		sess.org, sess.service = g.svc.orgSlug, g.svc.slug
	}
	s.sessions[hashToken(token)] = sess
	return nil
}
