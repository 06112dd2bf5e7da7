// Package authos speaks AuthOS's HTTP API: the JSON device authorization flow
// (POST /auth/device/code, POST /auth/token) and logout. It knows
// nothing of caches or credential clients.
package authos

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/authos/authos-credential-helper/internal/termsafe"
)

// DeviceGrantType is the grant_type AuthOS expects at /auth/token.
const DeviceGrantType = "urn:ietf:params:oauth:grant-type:device_code"

// maxBody bounds how much of any answer is read; AuthOS answers are tiny.
const maxBody = 1 << 20

// DeviceCode is the answer of POST /auth/device/code.
type DeviceCode struct {
	DeviceCode      string `json:"device_code"`
	UserCode        string `json:"user_code"`
	VerificationURI string `json:"verification_uri"`
	ExpiresIn       int    `json:"expires_in"`
	Interval        int    `json:"interval"`
}

// Client calls one AuthOS server. Every request goes through do, which
// applies the redirect rule (CheckRedirect) whatever HTTP client is set.
type Client struct {
	BaseURL   string       // AuthOS BASE_URL, trailing "/" trimmed
	HTTP      *http.Client // transport, proxies, TLS
	UserAgent string
	// CABundle is the profile's ca_bundle, named in certificate errors.
	CABundle string
	// Timeout bounds each request; 0 means 15 s.
	Timeout time.Duration
	// Endpoints are where the device flow and the JWKS live: set by
	// Discover (or the caller); empty fields mean the fixed paths.
	Endpoints Endpoints
	// Now is the clock for JWKS freshness; default time.Now.
	Now func() time.Time
}

// Endpoints are absolute URLs on the base URL's origin. An empty field
// means the fixed path under BaseURL (docs/authos-wire.md §2).
type Endpoints struct {
	DeviceAuthorization string // POST, default {base}/auth/device/code
	Token               string // POST, default {base}/auth/token
	JWKS                string // GET, default {base}/.well-known/jwks.json
}

// Fixed paths of servers without a metadata document.
const (
	deviceCodePath = "/auth/device/code"
	tokenPath      = "/auth/token"
	jwksPath       = "/.well-known/jwks.json"
	metadataPath   = "/.well-known/authos-configuration"
)

// endpoint is the URL for route: the discovered one, else BaseURL+route.
func (c *Client) endpoint(route string) string {
	var u string
	switch route {
	case deviceCodePath:
		u = c.Endpoints.DeviceAuthorization
	case tokenPath:
		u = c.Endpoints.Token
	case jwksPath:
		u = c.Endpoints.JWKS
	}
	if u == "" {
		u = c.BaseURL + route
	}
	return u
}

func (c *Client) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

// NewClient checks the base URL (https, or http only on loopback) and builds
// a client whose transport takes proxies from the environment, always
// verifies TLS and trusts caBundle (a PEM file) in addition to the system roots.
func NewClient(baseURL, caBundle, userAgent string) (*Client, error) {
	base, err := CheckBaseURL(baseURL)
	if err != nil {
		return nil, err
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.Proxy = http.ProxyFromEnvironment
	if caBundle != "" {
		pool, err := x509.SystemCertPool()
		if err != nil || pool == nil {
			pool = x509.NewCertPool()
		}
		pem, err := os.ReadFile(caBundle)
		if err != nil {
			return nil, fmt.Errorf("reading CA bundle: %w", err)
		}
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("CA bundle %s holds no PEM certificate", caBundle)
		}
		tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	hc := &http.Client{Transport: tr, CheckRedirect: CheckRedirect}
	return &Client{BaseURL: base, HTTP: hc, UserAgent: userAgent, CABundle: caBundle}, nil
}

// APIError is any non-200 answer. Message holds the envelope's "error" or a
// one-line excerpt of a plain-text body.
type APIError struct {
	Route      string
	Status     int
	Code       string // AuthOS error_code; empty for plain-text answers
	Message    string
	RetryAfter time.Duration // from retry-after / x-ratelimit-after, if any
}

func (e *APIError) Error() string {
	msg := e.Message
	if msg == "" {
		msg = http.StatusText(e.Status)
	}
	if e.Code != "" {
		return fmt.Sprintf("%s answered %d %s: %s", e.Route, e.Status, e.Code, msg)
	}
	return fmt.Sprintf("%s answered %d: %s", e.Route, e.Status, msg)
}

// BadAnswerError is a 200 whose body is not what AuthOS sends.
type BadAnswerError struct {
	Route string
	Err   error
}

func (e *BadAnswerError) Error() string {
	return fmt.Sprintf("%s answered 200 with an unreadable body: %v", e.Route, e.Err)
}
func (e *BadAnswerError) Unwrap() error { return e.Err }

// StartDeviceFlow asks for a device code, sending exactly the configured values.
func (c *Client) StartDeviceFlow(ctx context.Context, clientID, org, service string) (DeviceCode, error) {
	var dc DeviceCode
	body := map[string]string{"client_id": clientID, "org": org, "service": service}
	if _, err := c.post(ctx, deviceCodePath, body, "", &dc); err != nil {
		return DeviceCode{}, err
	}
	if dc.DeviceCode == "" || dc.UserCode == "" || dc.VerificationURI == "" {
		return DeviceCode{}, &BadAnswerError{Route: "/auth/device/code", Err: errors.New("device_code, user_code or verification_uri missing")}
	}
	return dc, nil
}

// ExchangeDeviceCode makes one poll of /auth/token for a management token.
func (c *Client) ExchangeDeviceCode(ctx context.Context, deviceCode, clientID string) (Token, error) {
	return c.ExchangeDeviceCodeFor(ctx, deviceCode, clientID, "")
}

// ExchangeDeviceCodeFor makes one poll of /auth/token; a non-empty resource
// (RFC 8707, one of the service's resource_uris) asks for a token bound to
// it. Only then is the field sent: older servers never see it.
func (c *Client) ExchangeDeviceCodeFor(ctx context.Context, deviceCode, clientID, resource string) (Token, error) {
	var tok Token
	body := map[string]string{"grant_type": DeviceGrantType, "device_code": deviceCode, "client_id": clientID}
	if resource != "" {
		body["resource"] = resource
	}
	h, err := c.post(ctx, tokenPath, body, "", &tok)
	if err != nil {
		return Token{}, err
	}
	if tok.AccessToken == "" {
		return Token{}, &BadAnswerError{Route: "/auth/token", Err: errors.New("access_token missing")}
	}
	if d, err := http.ParseTime(h.Get("Date")); err == nil {
		tok.ServerDate = d
	}
	return tok, nil
}

// Logout ends the token's session at the server (POST /api/auth/logout).
func (c *Client) Logout(ctx context.Context, accessToken string) error {
	_, err := c.post(ctx, "/api/auth/logout", nil, accessToken, nil)
	return err
}

// User is what GET /api/user says about a token's session.
type User struct {
	ID      string `json:"id"`
	Email   string `json:"email"`
	Org     string `json:"org"`
	Service string `json:"service"`
}

// User asks whether accessToken's session is alive (GET /api/user): an
// *APIError with Status 401 means it has ended.
func (c *Client) User(ctx context.Context, accessToken string) (User, error) {
	var u User
	_, err := c.do(ctx, http.MethodGet, "/api/user", nil, accessToken, &u)
	return u, err
}

func (c *Client) post(ctx context.Context, route string, in any, bearer string, out any) (http.Header, error) {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return nil, err
		}
		body = bytes.NewReader(b)
	}
	return c.do(ctx, http.MethodPost, route, body, bearer, out)
}

// do makes one request and decodes a 200 into out; it returns the answer's
// headers.
func (c *Client) do(ctx context.Context, method, route string, body io.Reader, bearer string, out any) (http.Header, error) {
	a, err := c.send(ctx, request{method: method, route: route, body: body, bearer: bearer})
	if err != nil {
		return nil, err
	}
	if out == nil {
		return a.header, nil
	}
	if err := json.Unmarshal(a.body, out); err != nil {
		return nil, &BadAnswerError{Route: route, Err: fmt.Errorf("%s", describeBody(a.header.Get("Content-Type"), a.body))}
	}
	return a.header, nil
}

// request is one call to the server. route names it in errors and picks the
// URL (endpoint); accept lists statuses besides 200 that are answers, not
// errors (304 for the JWKS).
type request struct {
	method, route string
	body          io.Reader
	bearer        string
	header        http.Header
	accept        []int
	// ownOrigin refuses redirects to another origin even without a body
	// or credentials: the JWKS and the metadata document are trust
	// anchors, and another server's answer must not stand in for them.
	ownOrigin bool
}

type response struct {
	status int
	header http.Header
	body   []byte
}

// send is the one place requests leave: every call to AuthOS goes through
// it, under the redirect rule and the timeout.
func (c *Client) send(ctx context.Context, r request) (*response, error) {
	timeout := c.Timeout
	if timeout == 0 {
		timeout = 15 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	target := c.endpoint(r.route)
	req, err := http.NewRequestWithContext(ctx, r.method, target, r.body)
	if err != nil {
		return nil, err
	}
	for k, v := range r.header {
		req.Header[k] = v
	}
	if r.body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	if c.UserAgent != "" {
		req.Header.Set("User-Agent", c.UserAgent)
	}
	if r.bearer != "" {
		req.Header.Set("Authorization", "Bearer "+r.bearer)
	}
	hc := c.httpClient()
	if r.ownOrigin {
		hc = ownOriginOnly(hc)
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, c.transportError(r.method, target, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return nil, fmt.Errorf("reading answer of %s: %w", r.route, err)
	}
	if resp.StatusCode != http.StatusOK && !slices.Contains(r.accept, resp.StatusCode) {
		return nil, parseError(r.route, resp, raw)
	}
	return &response{status: resp.StatusCode, header: resp.Header, body: raw}, nil
}

// httpClient is c.HTTP (or the default client) under the redirect rule.
func (c *Client) httpClient() *http.Client { return Guard(c.HTTP) }

// Guard returns a copy of hc (nil: http.DefaultClient) with the redirect
// rule in front of its own CheckRedirect, so the rule holds however a client
// was built. Everything that talks to AuthOS sends its requests through it.
func Guard(hc *http.Client) *http.Client {
	if hc == nil {
		hc = http.DefaultClient
	}
	own := *hc
	next := hc.CheckRedirect
	own.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if err := CheckRedirect(req, via); err != nil {
			return err
		}
		if next != nil {
			return next(req, via)
		}
		return nil
	}
	return &own
}

// ownOriginOnly adds to hc's redirect rule: no hop off the first request's
// origin.
func ownOriginOnly(hc *http.Client) *http.Client {
	own := *hc
	next := hc.CheckRedirect
	own.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if origin(req.URL) != origin(via[0].URL) {
			status := 0
			if req.Response != nil {
				status = req.Response.StatusCode
			}
			return &RedirectError{From: showURL(via[len(via)-1].URL), To: showURL(req.URL), Status: status,
				Reason: "the server's keys and metadata are taken only from its own origin"}
		}
		if next != nil {
			return next(req, via)
		}
		return nil
	}
	return &own
}

// transportError says what failed without a status: a refused redirect or an
// unverifiable certificate as themselves (both final), anything else with
// the request it ended.
func (c *Client) transportError(method, target string, err error) error {
	var re *RedirectError
	if errors.As(err, &re) {
		return re
	}
	if ce := certificateError(c.CABundle, err); ce != nil {
		return ce
	}
	// url.Error repeats the URL, which is fine: it never holds a secret.
	return fmt.Errorf("%s %s: %w", method, target, unwrapURLError(err))
}

func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// parseError decides on the status first, then reads the AuthOS envelope if
// the body is one, or a one-line excerpt of whatever else came (plain-text
// 429/415/422, a proxy's HTML page).
func parseError(route string, resp *http.Response, raw []byte) *APIError {
	e := &APIError{Route: route, Status: resp.StatusCode}
	var env struct {
		Error     json.RawMessage `json:"error"`
		ErrorCode string          `json:"error_code"`
	}
	if json.Unmarshal(raw, &env) == nil && len(env.Error) > 0 {
		var msg string
		if json.Unmarshal(env.Error, &msg) == nil {
			e.Message = oneLine(msg)
		} else {
			e.Message = oneLine(string(env.Error))
		}
		e.Code = oneLine(env.ErrorCode) // shown in every error line, like the message
	} else {
		e.Message = describeBody(resp.Header.Get("Content-Type"), raw)
	}
	e.RetryAfter = retryAfter(resp.Header)
	return e
}

func describeBody(contentType string, raw []byte) string {
	s := strings.TrimSpace(string(raw))
	switch {
	case s == "":
		return "empty body"
	case strings.Contains(contentType, "html") || strings.HasPrefix(strings.ToLower(s), "<!doctype") || strings.HasPrefix(strings.ToLower(s), "<html"):
		return "an HTML page instead of JSON (a proxy or captive portal in the way?)"
	}
	return oneLine(s)
}

// oneLine keeps error text to one printable line of bounded length. Whole
// escape sequences go (termsafe.Strip), not just their ESC, so the text
// stays readable.
func oneLine(s string) string {
	s = strings.TrimSpace(termsafe.Strip(s))
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}

func retryAfter(h http.Header) time.Duration {
	for _, name := range []string{"Retry-After", "X-Ratelimit-After"} {
		v := strings.TrimSpace(h.Get(name))
		if v == "" {
			continue
		}
		if n, err := strconv.Atoi(v); err == nil && n >= 0 {
			return time.Duration(n) * time.Second
		}
		if t, err := http.ParseTime(v); err == nil {
			if d := time.Until(t); d > 0 {
				return d
			}
		}
	}
	return 0
}
