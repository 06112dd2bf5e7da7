package devserver

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/authos/authos-credential-helper/internal/httpserve"
)

const usage = `usage:
  dev-server [--listen 127.0.0.1:8080] [--no-rate-limit] [--legacy-mfa] [--legacy-platform-prefix]
             [--interval N] [--expires-in N] [--token-lifetime 24h] [--rate-limit-period 5s]
             [--cleanup-interval 5m] [--dashboard-url URL] [--auto-approve EMAIL]
             [--resource-uri ORG/SERVICE=URI]... [--jwks-max-age 5m]
             [--no-metadata] [--device-authorization-status beta|unsupported|absent]
  dev-server control approve|mfa-complete|deny|expire USER_CODE [--user EMAIL] [--server URL]
  dev-server control rotate-key|drop-previous-keys [--server URL]
`

// Command runs the dev-server command line; args are the words after
// "dev-server". It returns the exit status: 0 success, 1 failure, 2 usage.
// newFlagSet makes its FlagSets: the command line's, whose tests check
// them against its help.
func Command(ctx context.Context, args []string, stdout, stderr io.Writer, newFlagSet func(name string) *flag.FlagSet) int {
	if len(args) > 0 && args[0] == "control" {
		return controlCommand(ctx, args[1:], stderr, newFlagSet)
	}
	fs := newFlagSet("dev-server")
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, usage) }
	listen := fs.String("listen", "127.0.0.1:8080", "address to listen on (host:port; port 0 picks a free one)")
	noRate := fs.Bool("no-rate-limit", false, "disable the device-route rate limiter")
	legacyMFA := fs.Bool("legacy-mfa", false, `emulate the intermediate server's "MFA verification required" answer`)
	legacyPrefix := fs.Bool("legacy-platform-prefix", false, "accept any platform-* client_id for the platform flow (older server)")
	interval := fs.Int("interval", defaultInterval, "poll interval sent with device codes, seconds")
	expiresIn := fs.Int("expires-in", defaultExpiresIn, "device code lifetime, seconds")
	lifetime := fs.Duration("token-lifetime", defaultTokenLifetime, "access token lifetime")
	ratePeriod := fs.Duration("rate-limit-period", defaultRatePeriod, "rate limiter refill period (older server: 60s)")
	cleanup := fs.Duration("cleanup-interval", defaultCleanup, "how often expired device codes are swept")
	dashboard := fs.String("dashboard-url", "", "PLATFORM_DASHBOARD_BASE_URL (default: the server's own URL)")
	autoApprove := fs.String("auto-approve", "", "demo mode: approve every new device code as this seeded user's email after 2 s")
	resources := resourceFlag{}
	fs.Var(resources, "resource-uri", "add a resource URI to a service's resource_uris (repeatable)")
	jwksMaxAge := fs.Duration("jwks-max-age", defaultJWKSMaxAge, "Cache-Control max-age of the JWKS")
	noMetadata := fs.Bool("no-metadata", false, "serve no /.well-known/authos-configuration (servers before AuthOS v0.8)")
	deviceStatus := fs.String("device-authorization-status", "beta", "oauth_device_authorization.status in the metadata document; \"absent\" leaves the section out")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "dev-server: unexpected argument %q\n", fs.Arg(0))
		fs.Usage()
		return 2
	}
	if *interval <= 0 || *expiresIn <= 0 || *lifetime <= 0 || *ratePeriod <= 0 || *cleanup <= 0 || *jwksMaxAge <= 0 {
		fmt.Fprintln(stderr, "dev-server: --interval, --expires-in, --token-lifetime, --rate-limit-period, --cleanup-interval and --jwks-max-age must be positive")
		return 2
	}

	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", *listen)
	if err != nil {
		fmt.Fprintf(stderr, "dev-server: listening on %s: %v\n", *listen, err)
		return 1
	}
	base := "http://" + displayAddr(ln.Addr())
	srv, err := New(Options{
		BaseURL: base, DashboardURL: *dashboard,
		Interval: *interval, ExpiresIn: *expiresIn, TokenLifetime: *lifetime,
		DisableRateLimit: *noRate, RateLimitPeriod: *ratePeriod, CleanupInterval: *cleanup,
		LegacyMFA: *legacyMFA, LegacyPlatformPrefix: *legacyPrefix,
		AutoApprove:  *autoApprove,
		ResourceURIs: resources, JWKSMaxAge: *jwksMaxAge,
		NoMetadata: *noMetadata, DeviceAuthorizationStatus: *deviceStatus,
	})
	if err != nil {
		ln.Close()
		fmt.Fprintf(stderr, "dev-server: %v\n", err)
		return 1
	}
	srv.PrintSeed(stderr)

	hs := &http.Server{
		Handler:           srv,
		ReadHeaderTimeout: 10 * time.Second,
		BaseContext:       func(net.Listener) context.Context { return ctx },
	}
	fmt.Fprintf(stdout, "authos dev server listening on %s\n", base)
	// Requests still running (a delayed fault) get a few seconds, and see
	// their context cancelled through BaseContext anyway.
	if err := httpserve.Until(ctx, hs, ln, httpserve.Grace); err != nil {
		fmt.Fprintf(stderr, "dev-server: %v\n", err)
		return 1
	}
	fmt.Fprintf(stderr, "dev-server: stopped (%v)\n", context.Cause(ctx))
	return 0
}

// displayAddr turns a listener address into a host:port a browser can
// reach: an unspecified host (":0", "0.0.0.0", "[::]") becomes 127.0.0.1.
func displayAddr(a net.Addr) string {
	tcp, ok := a.(*net.TCPAddr)
	if !ok {
		return a.String()
	}
	if tcp.IP == nil || tcp.IP.IsUnspecified() {
		return net.JoinHostPort("127.0.0.1", fmt.Sprint(tcp.Port))
	}
	return net.JoinHostPort(tcp.IP.String(), fmt.Sprint(tcp.Port))
}

// PrintSeed writes the seeded organisations, services, client ids and users.
func (s *Server) PrintSeed(w io.Writer) {
	kid := s.KeyID()
	s.mu.Lock()
	defer s.mu.Unlock()
	var b strings.Builder
	fmt.Fprintf(&b, "authos dev server: issuer %s, kid %s\n", s.baseURL, kid)
	orgs := make([]string, 0, len(s.orgs))
	for slug := range s.orgs {
		orgs = append(orgs, slug)
	}
	slices.Sort(orgs)
	for _, slug := range orgs {
		o := s.orgs[slug]
		state := "active"
		if !o.active {
			state = "inactive"
		}
		fmt.Fprintf(&b, "  org %s (%s), providers %s\n", slug, state, strings.Join(o.providers, ", "))
		for _, svc := range s.services {
			if svc.orgSlug != slug {
				continue
			}
			uri := svc.activationURI
			if uri == "" {
				uri = "(no device activation URI)"
			}
			fmt.Fprintf(&b, "    service %-10s client_id %-16s activation %s\n", svc.slug, svc.clientID, uri)
			if len(svc.resourceURIs) > 0 {
				fmt.Fprintf(&b, "      resource URIs %s\n", strings.Join(svc.resourceURIs, ", "))
			}
		}
	}
	fmt.Fprintf(&b, "  platform: org %s, service %s, client_id %s, activation %s/activate\n",
		PlatformOrg, PlatformService, PlatformClientID, s.dash)
	b.WriteString("  users:\n")
	for _, id := range []string{AliceID, BobID, OwnerID, EveID} {
		u := s.users[id]
		var notes []string
		var member []string
		for _, slug := range orgs {
			if s.orgs[slug].members[id] {
				member = append(member, slug)
			}
		}
		if len(member) > 0 {
			notes = append(notes, "member of "+strings.Join(member, ", "))
		} else {
			notes = append(notes, "no org membership")
		}
		if u.platformOwner {
			notes = append(notes, "platform owner")
		}
		if u.mfaEnabled {
			notes = append(notes, "MFA (TOTP secret "+u.totpSecret+")")
		}
		fmt.Fprintf(&b, "    %-20s %s  %s\n", u.email, u.id, strings.Join(notes, "; "))
	}
	fmt.Fprintf(&b, "  approve a code: dev-server control approve XXXX-XXXX --user %s --server %s\n", UserAlice, s.baseURL)
	fmt.Fprintf(&b, "  rotate the signing key: dev-server control rotate-key --server %s\n", s.baseURL)
	_, _ = io.WriteString(w, b.String())
}

// resourceFlag collects --resource-uri org/service=URI.
type resourceFlag map[string][]string

func (f resourceFlag) String() string { return "" }

func (f resourceFlag) Set(v string) error {
	svc, uri, ok := strings.Cut(v, "=")
	if !ok || !strings.Contains(svc, "/") || uri == "" {
		return fmt.Errorf("want org/service=URI, e.g. %s/%s=https://git.acme.example", OrgAcme, ServiceCLI)
	}
	f[svc] = append(f[svc], uri)
	return nil
}

// parseInterspersed parses flags that may come after positional arguments.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		if fs.NArg() == 0 {
			return pos, nil
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
}

func controlCommand(ctx context.Context, args []string, stderr io.Writer, newFlagSet func(name string) *flag.FlagSet) int {
	fs := newFlagSet("dev-server control")
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, usage) }
	email := fs.String("user", DefaultControlUser, "email of the user who approves")
	defServer := os.Getenv("AUTHOS_SERVER")
	if defServer == "" {
		defServer = "http://127.0.0.1:8080"
	}
	server := fs.String("server", defServer, "dev server base URL; $AUTHOS_SERVER when set")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if len(pos) == 1 {
		if action, ok := keyCommands[pos[0]]; ok {
			return keyCommand(ctx, strings.TrimRight(*server, "/"), pos[0], action, stderr)
		}
	}
	if len(pos) != 2 || !slices.Contains([]string{"approve", "mfa-complete", "deny", "expire"}, pos[0]) {
		fs.Usage()
		return 2
	}
	action, code := pos[0], pos[1]
	var info CodeInfo
	err = postJSON(ctx, strings.TrimRight(*server, "/")+"/_dev/control", controlRequest{Action: action, UserCode: code, User: *email}, &info)
	if err != nil {
		fmt.Fprintf(stderr, "dev-server control %s %s: %v\n", action, code, err)
		return 1
	}
	msg := fmt.Sprintf("%s: %s %s/%s, status %s", code, action, info.Org, info.Service, info.Status)
	if info.User != "" {
		msg += ", user " + info.User
		if info.Status == "pending" {
			msg += " (awaiting MFA: run mfa-complete)"
		}
	}
	fmt.Fprintln(stderr, msg)
	return 0
}

// keyCommands maps the control subcommands to /_dev/keys actions.
var keyCommands = map[string]string{"rotate-key": "rotate", "drop-previous-keys": "drop-previous"}

func keyCommand(ctx context.Context, server, name, action string, stderr io.Writer) int {
	var ring KeyRing
	if err := postJSON(ctx, server+"/_dev/keys", map[string]string{"action": action}, &ring); err != nil {
		fmt.Fprintf(stderr, "dev-server control %s: %v\n", name, err)
		return 1
	}
	prev := strings.Join(ring.Previous, ", ")
	if prev == "" {
		prev = "none"
	}
	fmt.Fprintf(stderr, "%s: active kid %s, previous kids %s\n", name, ring.Active, prev)
	return 0
}

// postJSON posts req to a dev server control endpoint and decodes the answer into out.
func postJSON(ctx context.Context, url string, req, out any) error {
	body, err := json.Marshal(req)
	if err != nil {
		return fmt.Errorf("encoding the request: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	hr, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("building the request: %w", err)
	}
	hr.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(hr)
	if err != nil {
		return fmt.Errorf("calling the dev server: %w", err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return fmt.Errorf("reading the answer: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		var e envelope
		if json.Unmarshal(data, &e) == nil && e.Error != "" {
			return errors.New(e.Error)
		}
		return fmt.Errorf("dev server answered %s", resp.Status)
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("decoding the answer: %w", err)
	}
	return nil
}
