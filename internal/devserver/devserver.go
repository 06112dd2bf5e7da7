// Package devserver is an in-memory, AuthOS-compatible development server.
//
// It speaks the wire format of AuthOS's device authorization flow exactly as
// described in docs/authos-wire.md (newest server unless an
// Option selects older behaviour): the device routes, the {error, error_code,
// timestamp} envelope, axum's plain-text rejections, the shared rate limiter,
// single-use device codes and RS256 access tokens published through a JWKS.
//
// The browser and OAuth leg of the flow is replaced by a control API
// (Approve, CompleteMFA, Deny, Expire) that is also reachable over HTTP under
// /_dev/, so that people and end-to-end tests can drive the flow without a
// browser.
package devserver

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/authos/authos-credential-helper/internal/activation"
)

// Seeded identifiers. They are stable so that tests and people can rely on them.
const (
	OrgAcme              = "acme"
	OrgDormant           = "dormant"
	ServiceCLI           = "cli"
	ServiceNoActivate    = "noactivate"
	ClientIDAcmeCLI      = "acme-cli"
	ClientIDNoActivate   = "acme-noactivate"
	ClientIDDormantCLI   = "dormant-cli"
	PlatformOrg          = "platform"
	PlatformService      = "admin-cli"
	PlatformClientID     = "platform-admin-cli"
	AcmeResourceURI      = "https://api.acme.example"
	AcmeGitURI           = "https://git.acme.example"
	AcmeRegistryURI      = "https://registry.acme.example"
	UserAlice            = "alice@acme.example"
	UserBob              = "bob@acme.example"
	UserOwner            = "owner@acme.example"
	UserEve              = "eve@acme.example"
	BobTOTPSecret        = "JBSWY3DPEHPK3PXP"
	DefaultControlUser   = UserAlice
	deviceCodeGrantType  = "urn:ietf:params:oauth:grant-type:device_code"
	defaultBaseURL       = "http://127.0.0.1:8080"
	defaultInterval      = 5
	defaultExpiresIn     = 900
	defaultTokenLifetime = 24 * time.Hour
	defaultRatePeriod    = 5 * time.Second
	defaultRateBurst     = 10
	defaultCleanup       = 5 * time.Minute
)

// Options configures a Server. The zero value gives the newest AuthOS
// behaviour with AuthOS's defaults.
type Options struct {
	// BaseURL is AuthOS's BASE_URL: the JWT issuer (trailing "/" trimmed).
	// Command sets it once the listener is up. Default http://127.0.0.1:8080.
	BaseURL string
	// DashboardURL is PLATFORM_DASHBOARD_BASE_URL; the platform flow and the
	// seeded services send people to DashboardURL + "/activate".
	// Default: BaseURL.
	DashboardURL string
	// Now is the clock; default time.Now. Tests inject a fake one.
	Now func() time.Time
	// Interval and ExpiresIn are the device-code answer's interval and
	// expires_in, in seconds (defaults 5 and 900).
	Interval, ExpiresIn int
	// TokenLifetime is JWT_EXPIRATION_HOURS; default 24h.
	TokenLifetime time.Duration
	// DisableRateLimit turns off the limiter shared by the three device routes.
	DisableRateLimit bool
	// RateLimitPeriod is the refill period of one token (default 5s, the
	// newest server; the older one used 60s). RateLimitBurst defaults to 10.
	RateLimitPeriod time.Duration
	RateLimitBurst  int
	// CleanupInterval emulates AuthOS's cleanup job: expired device codes are
	// deleted at the first sweep (every CleanupInterval since start, default
	// 5m) after their expiry. Polls then get "Invalid device code".
	CleanupInterval time.Duration
	// LegacyMFA emulates the intermediate server: once an MFA user's code is
	// authorized, every poll answers 400 "MFA verification required…".
	LegacyMFA bool
	// LegacyPlatformPrefix emulates the older server, which took the platform
	// branch for any client_id starting with "platform-".
	LegacyPlatformPrefix bool
	// Key signs access tokens; default a fresh RSA 2048 key.
	Key *rsa.PrivateKey
	// KeyGen draws the new key of each rotation; default a fresh RSA 2048
	// key. Tests set it: RSA generation is slow.
	KeyGen func() (*rsa.PrivateKey, error)
	// JWKSMaxAge is the JWKS's Cache-Control max-age (default 5m).
	JWKSMaxAge time.Duration
	// ResourceURIs adds resource URIs to services' resource_uris, keyed
	// "org/service". Each must be absolute and have no fragment, as AuthOS
	// checks when a service is configured.
	ResourceURIs map[string][]string
	// NoMetadata serves no /.well-known/authos-configuration (404), as
	// servers older than AuthOS v0.8 do.
	NoMetadata bool
	// DeviceAuthorizationStatus is the metadata document's
	// oauth_device_authorization.status: default "beta" (what AuthOS
	// sends); "absent" leaves the section out. The device routes keep
	// working whatever it says: the document only advertises.
	DeviceAuthorizationStatus string
	// AutoApprove, a seeded user's email, makes the server approve every new
	// device code as that user after AutoApproveDelay (default 2 s): a demo
	// mode standing in for the person at the browser.
	AutoApprove      string
	AutoApproveDelay time.Duration
}

// Server is the development server. It implements http.Handler and is safe
// for concurrent use.
type Server struct {
	opts    Options
	baseURL string // trimmed issuer
	dash    string // trimmed dashboard URL
	start   time.Time
	limiter *rateLimiter
	routes  map[string]route
	pages   http.Handler // the activation pages

	// keyMu guards the signing key and the previous-key ring; it is never
	// held with mu.
	keyMu    sync.RWMutex
	key      *rsa.PrivateKey
	kid      string
	retired  []verifyKey // previous keys, oldest first
	previous []verifyKey // the same, in kid order as published

	mu       sync.Mutex
	orgs     map[string]*org
	services []*service
	users    map[string]*user // by id
	codes    map[string]*deviceCode
	sessions map[string]*session // by hex SHA-256 of the token
	faults   map[string][]*fault // by route path
	// Counters of received requests, for tests asserting single-flight.
	deviceCodeRequests, tokenRequests int
	nextSeq                           int
}

type org struct {
	id        string
	slug      string
	active    bool
	members   map[string]bool // user ids
	providers []string
}

type service struct {
	id            string
	orgSlug       string
	slug          string
	clientID      string
	activationURI string // empty: not configured
	resourceURIs  []string
}

type user struct {
	id            string
	email         string
	platformOwner bool
	mfaEnabled    bool
	totpSecret    string
	deleted       bool
}

type deviceCode struct {
	id         string // the row id AuthOS puts in the MFA redirect (device_code_id)
	deviceCode string
	userCode   string
	clientID   string
	orgSlug    string
	service    string
	status     string // pending, authorized, consumed, denied
	userID     string // empty until bound
	expiresAt  time.Time
	seq        int // creation order; the clock may be frozen in tests
}

type session struct {
	userID    string
	expiresAt time.Time
	org       string
	service   string
}

// New builds a server with the seeded data. It generates an RSA 2048 key
// unless opts.Key is set.
func New(opts Options) (*Server, error) {
	if opts.BaseURL == "" {
		opts.BaseURL = defaultBaseURL
	}
	if opts.DashboardURL == "" {
		opts.DashboardURL = opts.BaseURL
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Interval <= 0 {
		opts.Interval = defaultInterval
	}
	if opts.ExpiresIn <= 0 {
		opts.ExpiresIn = defaultExpiresIn
	}
	if opts.TokenLifetime <= 0 {
		opts.TokenLifetime = defaultTokenLifetime
	}
	if opts.RateLimitPeriod <= 0 {
		opts.RateLimitPeriod = defaultRatePeriod
	}
	if opts.RateLimitBurst <= 0 {
		opts.RateLimitBurst = defaultRateBurst
	}
	if opts.CleanupInterval <= 0 {
		opts.CleanupInterval = defaultCleanup
	}
	if opts.JWKSMaxAge <= 0 {
		opts.JWKSMaxAge = defaultJWKSMaxAge
	}
	switch opts.DeviceAuthorizationStatus {
	case "":
		opts.DeviceAuthorizationStatus = "beta"
	case "absent":
	default:
		if !validSlugChars(opts.DeviceAuthorizationStatus) {
			return nil, fmt.Errorf("device authorization status %q: use a word such as beta, unsupported or absent", opts.DeviceAuthorizationStatus)
		}
	}
	key := opts.Key
	if key == nil {
		var err error
		if key, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
			return nil, fmt.Errorf("generating the RSA signing key: %w", err)
		}
	}
	if err := key.Validate(); err != nil {
		return nil, fmt.Errorf("checking the RSA signing key: %w", err)
	}
	s := &Server{
		opts:     opts,
		baseURL:  strings.TrimRight(opts.BaseURL, "/"),
		dash:     strings.TrimRight(opts.DashboardURL, "/"),
		key:      key,
		kid:      keyID(&key.PublicKey),
		start:    opts.Now(),
		limiter:  newRateLimiter(opts.RateLimitBurst, opts.RateLimitPeriod),
		orgs:     map[string]*org{},
		users:    map[string]*user{},
		codes:    map[string]*deviceCode{},
		sessions: map[string]*session{},
		faults:   map[string][]*fault{},
	}
	s.routes = s.routeTable()
	pages, err := activation.New(s.baseURL, nil)
	if err != nil {
		return nil, err
	}
	s.pages = pages
	s.seed()
	if err := s.addResourceURIs(opts.ResourceURIs); err != nil {
		return nil, err
	}
	if opts.AutoApprove != "" && s.userByEmail(opts.AutoApprove) == nil {
		return nil, fmt.Errorf("--auto-approve: no seeded user %q", opts.AutoApprove)
	}
	return s, nil
}

// Fixed ids of the seeded users.
const (
	AliceID = "a11ce000-0000-4000-8000-000000000001"
	BobID   = "b0b00000-0000-4000-8000-000000000002"
	OwnerID = "0a0e7000-0000-4000-8000-000000000003"
	EveID   = "e0e00000-0000-4000-8000-000000000004"
)

func (s *Server) seed() {
	activate := s.dash + "/activate"
	s.users[AliceID] = &user{id: AliceID, email: UserAlice}
	s.users[BobID] = &user{id: BobID, email: UserBob, mfaEnabled: true, totpSecret: BobTOTPSecret}
	s.users[OwnerID] = &user{id: OwnerID, email: UserOwner, platformOwner: true}
	s.users[EveID] = &user{id: EveID, email: UserEve}
	s.orgs[OrgAcme] = &org{
		id: "0c0ac3e0-0000-4000-8000-00000000a001", slug: OrgAcme, active: true,
		members:   map[string]bool{AliceID: true, BobID: true, OwnerID: true},
		providers: []string{"github", "google"},
	}
	s.orgs[OrgDormant] = &org{
		id: "0c0d0e00-0000-4000-8000-00000000a002", slug: OrgDormant, active: false,
		members:   map[string]bool{AliceID: true},
		providers: []string{"github"},
	}
	s.services = []*service{
		{id: "5e0c1100-0000-4000-8000-00000000b001", orgSlug: OrgAcme, slug: ServiceCLI,
			clientID: ClientIDAcmeCLI, activationURI: activate, resourceURIs: []string{AcmeResourceURI, AcmeGitURI, AcmeRegistryURI}},
		{id: "5e0c1100-0000-4000-8000-00000000b002", orgSlug: OrgAcme, slug: ServiceNoActivate,
			clientID: ClientIDNoActivate},
		{id: "5e0c1100-0000-4000-8000-00000000b003", orgSlug: OrgDormant, slug: ServiceCLI,
			clientID: ClientIDDormantCLI, activationURI: activate},
	}
}

// BaseURL is the issuer (BASE_URL without a trailing "/").
func (s *Server) BaseURL() string { return s.baseURL }

// KeyID is the kid of the active signing key.
func (s *Server) KeyID() string {
	_, kid := s.activeKey()
	return kid
}

// addResourceURIs appends to services' resource_uris, checking each URI as
// AuthOS's validate_resource_uri does.
func (s *Server) addResourceURIs(add map[string][]string) error {
	for key, uris := range add {
		orgSlug, slug, ok := strings.Cut(key, "/")
		svc := s.serviceBySlugs(orgSlug, slug)
		if !ok || svc == nil {
			return fmt.Errorf("resource URIs for %q: no such service (want org/service, e.g. %s/%s)", key, OrgAcme, ServiceCLI)
		}
		for _, uri := range uris {
			if e := checkResourceURI(uri); e != nil {
				return fmt.Errorf("resource URI %q for %s: %s", uri, key, e.message)
			}
			if !slices.Contains(svc.resourceURIs, uri) {
				svc.resourceURIs = append(svc.resourceURIs, uri)
			}
		}
	}
	return nil
}

func (s *Server) now() time.Time { return s.opts.Now() }

// route describes one known path: the methods it answers and its handler.
type route struct {
	methods []string
	handler http.HandlerFunc
	limited bool // behind the shared device-route rate limiter
}

func (s *Server) routeTable() map[string]route {
	return map[string]route{
		"/auth/device/code":                       {[]string{http.MethodPost}, s.handleDeviceCode, true},
		"/auth/device/verify":                     {[]string{http.MethodPost}, s.handleDeviceVerify, true},
		"/auth/token":                             {[]string{http.MethodPost}, s.handleToken, true},
		"/auth/revoke":                            {[]string{http.MethodPost}, s.handleRevoke, false},
		"/.well-known/jwks.json":                  {[]string{http.MethodGet, http.MethodHead}, s.handleJWKS, false},
		"/.well-known/authos-configuration":       {[]string{http.MethodGet, http.MethodHead}, s.handleMetadata, false},
		"/.well-known/openid-configuration":       {[]string{http.MethodGet, http.MethodHead}, notFoundHandler, false},
		"/.well-known/oauth-authorization-server": {[]string{http.MethodGet, http.MethodHead}, notFoundHandler, false},
		"/_dev/keys":                              {[]string{http.MethodGet, http.MethodHead, http.MethodPost}, s.handleKeys, false},
		"/api/user":                               {[]string{http.MethodGet, http.MethodHead}, s.handleUser, false},
		"/api/auth/logout":                        {[]string{http.MethodPost}, s.handleLogout, false},
		"/health":                                 {[]string{http.MethodGet, http.MethodHead}, s.handleHealth, false},
		"/_dev/control":                           {[]string{http.MethodPost}, s.handleControl, false},
		"/_dev/codes":                             {[]string{http.MethodGet, http.MethodHead}, s.handleCodes, false},
		"/_dev/faults":                            {[]string{http.MethodPost, http.MethodDelete}, s.handleFaults, false},
		"/_dev/users/delete":                      {[]string{http.MethodPost}, s.handleDeleteUser, false},
		"/api/auth/mfa/verify":                    {[]string{http.MethodPost}, s.handleMFAVerify, false},
		"/activate":                               {pageMethods, s.servePages, false},
		"/activate/":                              {pageMethods, s.servePages, false},
		"/activate/success":                       {pageMethods, s.servePages, false},
		"/activate/mfa-challenge":                 {pageMethods, s.servePages, false},
		"/activate/style.css":                     {pageMethods, s.servePages, false},
	}
}

// ServeHTTP routes like AuthOS's axum router: unknown paths get an empty 404
// and a wrong method an empty 405 with Allow.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	path := r.URL.Path
	if r.Method == http.MethodPost {
		s.mu.Lock()
		switch path {
		case "/auth/device/code":
			s.deviceCodeRequests++
		case "/auth/token":
			s.tokenRequests++
		}
		s.mu.Unlock()
	}
	// Injected faults come first: they stand for a broken proxy or server in
	// front of everything else.
	if !strings.HasPrefix(path, "/_dev/") {
		if f := s.takeFault(path); f != nil {
			if done := f.serve(w, r); done {
				return
			}
		}
	}
	rt, ok := s.routes[path]
	if !ok {
		if provider, admin, callback, ok := providerPath(path); ok {
			s.handleProvider(w, r, provider, admin, callback)
			return
		}
		w.WriteHeader(http.StatusNotFound)
		return
	}
	allowed := false
	for _, m := range rt.methods {
		if r.Method == m {
			allowed = true
			break
		}
	}
	if !allowed {
		w.Header().Set("Allow", strings.Join(rt.methods, ","))
		w.WriteHeader(http.StatusMethodNotAllowed)
		return
	}
	if rt.limited && !s.opts.DisableRateLimit {
		if wait, ok := s.limiter.allow(clientIP(r), s.now()); !ok {
			writeTooManyRequests(w, wait)
			return
		}
	}
	rt.handler(w, r)
}

var pageMethods = []string{http.MethodGet, http.MethodHead, http.MethodPost}

func (s *Server) servePages(w http.ResponseWriter, r *http.Request) { s.pages.ServeHTTP(w, r) }

func (s *Server) handleHealth(w http.ResponseWriter, r *http.Request) {
	s.writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// cleanupLocked emulates the periodic cleanup job: rows that expired before
// the most recent sweep tick are gone. Callers hold s.mu.
func (s *Server) cleanupLocked(now time.Time) {
	elapsed := now.Sub(s.start)
	if elapsed < s.opts.CleanupInterval {
		return // the first sweep runs one interval after start
	}
	lastSweep := s.start.Add(elapsed / s.opts.CleanupInterval * s.opts.CleanupInterval)
	for k, c := range s.codes {
		if c.expiresAt.Before(lastSweep) {
			delete(s.codes, k)
		}
	}
}

func (s *Server) findService(clientID, orgSlug, slug string) *service {
	for _, svc := range s.services {
		if svc.clientID == clientID && svc.orgSlug == orgSlug && svc.slug == slug {
			return svc
		}
	}
	return nil
}

func (s *Server) serviceBySlugs(orgSlug, slug string) *service {
	for _, svc := range s.services {
		if svc.orgSlug == orgSlug && svc.slug == slug {
			return svc
		}
	}
	return nil
}

func (s *Server) userByEmail(email string) *user {
	for _, u := range s.users {
		if strings.EqualFold(u.email, email) {
			return u
		}
	}
	return nil
}

func hashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}
