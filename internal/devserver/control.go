package devserver

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"time"
)

// Errors of the control API. They are wrapped with what was being done.
var (
	ErrUnknownUserCode = errors.New("unknown user code")
	ErrUnknownUser     = errors.New("unknown user")
	ErrWrongState      = errors.New("device code is not in a state that allows this")
)

// CodeInfo describes one stored device code.
type CodeInfo struct {
	UserCode  string    `json:"user_code"`
	Org       string    `json:"org"`
	Service   string    `json:"service"`
	ClientID  string    `json:"client_id"`
	Status    string    `json:"status"`         // pending, authorized, consumed, denied
	User      string    `json:"user,omitempty"` // email of the bound user; bound + pending means MFA is awaited
	ExpiresAt time.Time `json:"expires_at"`
}

func (s *Server) infoLocked(c *deviceCode) CodeInfo {
	ci := CodeInfo{UserCode: c.userCode, Org: c.orgSlug, Service: c.service, ClientID: c.clientID,
		Status: c.status, ExpiresAt: c.expiresAt.UTC()}
	if u := s.users[c.userID]; u != nil {
		ci.User = u.email
	}
	return ci
}

// Pending lists the device codes that have not expired, oldest first.
func (s *Server) Pending() []CodeInfo {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	s.cleanupLocked(now)
	rows := make([]*deviceCode, 0, len(s.codes))
	for _, c := range s.codes {
		if !c.expiresAt.Before(now) {
			rows = append(rows, c)
		}
	}
	slices.SortFunc(rows, func(a, b *deviceCode) int { return a.seq - b.seq })
	out := make([]CodeInfo, 0, len(rows))
	for _, c := range rows {
		out = append(out, s.infoLocked(c))
	}
	return out
}

// DeviceCodeRequests is the number of POST /auth/device/code received.
func (s *Server) DeviceCodeRequests() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.deviceCodeRequests
}

// TokenRequests is the number of POST /auth/token received.
func (s *Server) TokenRequests() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.tokenRequests
}

// liveRowLocked finds a row by user code as AuthOS's OAuth callback does:
// unexpired, pending and not yet bound to a user.
func (s *Server) liveRowLocked(userCode string) (*deviceCode, error) {
	now := s.now()
	s.cleanupLocked(now)
	c := s.rowByUserCodeLocked(userCode)
	if c == nil {
		return nil, ErrUnknownUserCode
	}
	if c.expiresAt.Before(now) {
		return nil, fmt.Errorf("%w: expired", ErrWrongState)
	}
	return c, nil
}

// Approve stands in for the browser login of email for userCode. Like
// AuthOS's OAuth callback it authorizes the code, except for a user with
// MFA, whom it only binds: the code stays pending until CompleteMFA. With
// LegacyMFA it authorizes MFA users too (the intermediate server).
func (s *Server) Approve(userCode, email string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, err := s.liveRowLocked(userCode)
	if err != nil {
		return fmt.Errorf("approving %s: %w", userCode, err)
	}
	if c.status != "pending" || c.userID != "" {
		return fmt.Errorf("approving %s: %w: status %s", userCode, ErrWrongState, s.describeLocked(c))
	}
	u := s.userByEmail(email)
	if u == nil || u.deleted {
		return fmt.Errorf("approving %s: %w %q", userCode, ErrUnknownUser, email)
	}
	c.userID = u.id
	if !u.mfaEnabled || s.opts.LegacyMFA {
		c.status = "authorized"
	}
	return nil
}

// CompleteMFA stands in for POST /api/auth/mfa/verify: it authorizes a code
// that Approve bound to an MFA user.
func (s *Server) CompleteMFA(userCode string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, err := s.liveRowLocked(userCode)
	if err != nil {
		return fmt.Errorf("completing MFA for %s: %w", userCode, err)
	}
	if c.status != "pending" || c.userID == "" {
		return fmt.Errorf("completing MFA for %s: %w: status %s", userCode, ErrWrongState, s.describeLocked(c))
	}
	c.status = "authorized"
	return nil
}

// Deny marks a code denied; polls keep getting DEVICE_CODE_PENDING.
func (s *Server) Deny(userCode string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, err := s.liveRowLocked(userCode)
	if err != nil {
		return fmt.Errorf("denying %s: %w", userCode, err)
	}
	if c.status == "consumed" {
		return fmt.Errorf("denying %s: %w: status consumed", userCode, ErrWrongState)
	}
	c.status = "denied"
	return nil
}

// Expire makes a code expire now (its expires_at becomes one second ago, so
// it is past even on a frozen clock). The cleanup sweep removes it later.
func (s *Server) Expire(userCode string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	s.cleanupLocked(now)
	c := s.rowByUserCodeLocked(userCode)
	if c == nil {
		return fmt.Errorf("expiring %s: %w", userCode, ErrUnknownUserCode)
	}
	c.expiresAt = now.Add(-time.Second)
	return nil
}

// DeleteUser soft-deletes a user, as AuthOS does (deleted_at).
func (s *Server) DeleteUser(email string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.userByEmail(email)
	if u == nil || u.deleted {
		return fmt.Errorf("deleting user %q: %w", email, ErrUnknownUser)
	}
	u.deleted = true
	return nil
}

func (s *Server) describeLocked(c *deviceCode) string {
	if c.status == "pending" && c.userID != "" {
		return "pending (bound, awaiting MFA)"
	}
	return c.status
}

// Fault makes the next Count requests to Route answer with Status, Body,
// ContentType and Headers after DelayMS milliseconds. With Status 0 the
// request is only delayed and then served normally.
type Fault struct {
	Route       string            `json:"route"`
	Status      int               `json:"status"`
	Body        string            `json:"body"`
	ContentType string            `json:"content_type"`
	Headers     map[string]string `json:"headers"`
	DelayMS     int               `json:"delay_ms"`
	Count       int               `json:"count"` // default 1
}

type fault struct {
	Fault
	remaining int
}

// InjectFault queues f behind any fault already queued for the same route.
func (s *Server) InjectFault(f Fault) error {
	if !strings.HasPrefix(f.Route, "/") || strings.HasPrefix(f.Route, "/_dev/") {
		return fmt.Errorf("injecting a fault: route %q must be a server path outside /_dev/", f.Route)
	}
	if f.Status != 0 && (f.Status < 100 || f.Status > 999) {
		return fmt.Errorf("injecting a fault: invalid status %d", f.Status)
	}
	if f.Count <= 0 {
		f.Count = 1
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults[f.Route] = append(s.faults[f.Route], &fault{Fault: f, remaining: f.Count})
	return nil
}

// ClearFaults drops every queued fault.
func (s *Server) ClearFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.faults)
}

func (s *Server) takeFault(path string) *fault {
	s.mu.Lock()
	defer s.mu.Unlock()
	q := s.faults[path]
	if len(q) == 0 {
		return nil
	}
	f := q[0]
	f.remaining--
	if f.remaining <= 0 {
		s.faults[path] = q[1:]
		if len(q) == 1 {
			delete(s.faults, path)
		}
	}
	return f
}

// serve applies the fault. It reports whether the response is complete.
// Delays use the real clock: they stand for a slow network or server.
func (f *fault) serve(w http.ResponseWriter, r *http.Request) bool {
	if f.DelayMS > 0 {
		t := time.NewTimer(time.Duration(f.DelayMS) * time.Millisecond)
		defer t.Stop()
		select {
		case <-t.C:
		case <-r.Context().Done():
			return true // the client went away
		}
	}
	if f.Status == 0 {
		return false
	}
	for k, v := range f.Headers {
		w.Header().Set(k, v)
	}
	if f.ContentType != "" {
		w.Header().Set("Content-Type", f.ContentType)
	}
	w.WriteHeader(f.Status)
	_, _ = io.WriteString(w, f.Body)
	return true
}

// controlRequest is the body of POST /_dev/control.
type controlRequest struct {
	Action   string `json:"action"` // approve, mfa-complete, deny, expire
	UserCode string `json:"user_code"`
	User     string `json:"user"` // email, default alice@acme.example
}

// Control runs one control action by name, as the HTTP endpoint and the
// control command do.
func (s *Server) Control(action, userCode, email string) error {
	switch action {
	case "approve":
		if email == "" {
			email = DefaultControlUser
		}
		return s.Approve(userCode, email)
	case "mfa-complete":
		return s.CompleteMFA(userCode)
	case "deny":
		return s.Deny(userCode)
	case "expire":
		return s.Expire(userCode)
	default:
		return fmt.Errorf("unknown action %q (want approve, mfa-complete, deny or expire)", action)
	}
}

func (s *Server) controlError(w http.ResponseWriter, err error) {
	e := badRequest(err.Error())
	switch {
	case errors.Is(err, ErrUnknownUserCode), errors.Is(err, ErrUnknownUser):
		e = notFound(err.Error())
	case errors.Is(err, ErrWrongState):
		e = &apiError{http.StatusConflict, "CONFLICT", err.Error()}
	}
	s.writeError(w, e)
}

func decodeControlBody(r *http.Request, v any) error {
	dec := json.NewDecoder(io.LimitReader(r.Body, maxBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("decoding the request body: %w", err)
	}
	return nil
}

// handleControl is POST /_dev/control.
func (s *Server) handleControl(w http.ResponseWriter, r *http.Request) {
	var req controlRequest
	if err := decodeControlBody(r, &req); err != nil {
		s.controlError(w, err)
		return
	}
	if err := s.Control(req.Action, req.UserCode, req.User); err != nil {
		s.controlError(w, err)
		return
	}
	s.mu.Lock()
	c := s.rowByUserCodeLocked(req.UserCode)
	var info CodeInfo
	if c != nil {
		info = s.infoLocked(c)
	}
	s.mu.Unlock()
	s.writeJSON(w, http.StatusOK, info)
}

type codesResponse struct {
	Codes              []CodeInfo `json:"codes"`
	DeviceCodeRequests int        `json:"device_code_requests"`
	TokenRequests      int        `json:"token_requests"`
}

// handleCodes is GET /_dev/codes.
func (s *Server) handleCodes(w http.ResponseWriter, r *http.Request) {
	s.writeJSON(w, http.StatusOK, codesResponse{s.Pending(), s.DeviceCodeRequests(), s.TokenRequests()})
}

// handleFaults is POST (queue one) and DELETE (clear all) /_dev/faults.
func (s *Server) handleFaults(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodDelete {
		s.ClearFaults()
		s.writeJSON(w, http.StatusOK, map[string]string{"message": "faults cleared"})
		return
	}
	var f Fault
	if err := decodeControlBody(r, &f); err != nil {
		s.controlError(w, err)
		return
	}
	if err := s.InjectFault(f); err != nil {
		s.controlError(w, err)
		return
	}
	if f.Count <= 0 {
		f.Count = 1
	}
	s.writeJSON(w, http.StatusOK, f)
}

// handleDeleteUser is POST /_dev/users/delete.
func (s *Server) handleDeleteUser(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Email string `json:"email"`
	}
	if err := decodeControlBody(r, &req); err != nil {
		s.controlError(w, err)
		return
	}
	if err := s.DeleteUser(req.Email); err != nil {
		s.controlError(w, err)
		return
	}
	s.writeJSON(w, http.StatusOK, map[string]string{"deleted": req.Email})
}
