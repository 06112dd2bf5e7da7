package doctor

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/authos/authos-credential-helper/internal/authos"
	"github.com/authos/authos-credential-helper/internal/authos/jwks"
	"github.com/authos/authos-credential-helper/internal/config"
)

// ServerInfo is what one server said.
type ServerInfo struct {
	URL      string
	BadURL   error  // the profile's server is not a usable base URL
	CAFrom   string // which roots verify its certificate
	Err      error  // the server could not be reached (or answered an error)
	TLS      string // "TLS 1.3, certificate issued by …"; "" over http
	Date     time.Time
	Keys     int // keys in its JWKS
	KeysErr  error
	Proxy    string   // the proxy used, userinfo removed; "" direct
	ProxyEnv []string // the proxy variables that are set (names only)

	Discovery   authos.Discovery
	DiscoverErr error // *authos.NotOfferedError, or another failure
	// Routes are the device authorization and token endpoints as a GET
	// found them: AuthOS answers 405 on its POST routes, 404 where there
	// is no such route.
	Routes []Route
}

// Route is one endpoint's answer to a GET.
type Route struct {
	URL    string
	Status int
	Err    error
}

// Prober asks servers through authos.Client (its redirect rule and TLS
// settings): the metadata document, then the JWKS, whose answer also
// gives the Date header, then a GET of the device authorization and token
// endpoints, which AuthOS answers 405 (they are POST routes). It sends no
// token, and never POSTs to the device authorization endpoint, which would
// create a sign-in code.
type Prober struct {
	UserAgent string
	Getenv    func(string) string
	Timeout   time.Duration // per server; 0: 10 s
	// Transport replaces the client's (tests); nil keeps NewClient's.
	Transport http.RoundTripper
}

var proxyVars = []string{"HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy", "NO_PROXY", "no_proxy"}

// Probe implements ServerProber.
func (pr Prober) Probe(ctx context.Context, p config.Profile) ServerInfo {
	info := ServerInfo{URL: p.Server, CAFrom: caFrom(p.CABundle, pr.Getenv)}
	for _, v := range proxyVars {
		if pr.Getenv(v) != "" {
			info.ProxyEnv = append(info.ProxyEnv, v)
		}
	}
	c, err := authos.NewClient(p.Server, p.CABundle, pr.UserAgent)
	if err != nil {
		info.BadURL = err
		return info
	}
	info.URL = c.BaseURL
	if pr.Transport != nil {
		c.HTTP.Transport = pr.Transport
	}
	timeout := pr.Timeout
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	c.Timeout = timeout
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if tr, ok := c.HTTP.Transport.(*http.Transport); ok && tr.Proxy != nil {
		if req, err := http.NewRequest(http.MethodGet, c.BaseURL, nil); err == nil {
			if u, err := tr.Proxy(req); err == nil && u != nil {
				u.User = nil
				info.Proxy = u.String()
			}
		}
	}
	info.Discovery, info.DiscoverErr = c.Discover(ctx)
	var notOffered *authos.NotOfferedError
	if info.DiscoverErr != nil && !errors.As(info.DiscoverErr, &notOffered) {
		info.Err = info.DiscoverErr
		return info
	}
	// The JWKS: public keys, no secret in the request.
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, info.Discovery.Endpoints.JWKS, nil)
	if err != nil {
		info.KeysErr = err
		return info
	}
	req.Header.Set("User-Agent", pr.UserAgent)
	resp, err := authos.Guard(c.HTTP).Do(req)
	if err != nil {
		info.Err = err
		return info
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if d, err := http.ParseTime(resp.Header.Get("Date")); err == nil {
		info.Date = d
	}
	if s := resp.TLS; s != nil {
		info.TLS = tls.VersionName(s.Version)
		if len(s.PeerCertificates) > 0 {
			info.TLS += ", certificate issued by " + issuer(s.PeerCertificates[0].Issuer.CommonName, s.PeerCertificates[0].Issuer.Organization)
		}
	}
	if resp.StatusCode != http.StatusOK {
		info.KeysErr = fmt.Errorf("GET %s answered %s", pathOf(req.URL), resp.Status)
		return info
	}
	keys, err := jwks.Parse(body)
	info.Keys, info.KeysErr = len(keys), err
	if info.DiscoverErr == nil {
		for _, u := range []string{info.Discovery.Endpoints.DeviceAuthorization, info.Discovery.Endpoints.Token} {
			info.Routes = append(info.Routes, getRoute(ctx, authos.Guard(c.HTTP), u, pr.UserAgent))
		}
	}
	return info
}

// getRoute GETs a POST route: nothing is created, nothing secret is sent.
func getRoute(ctx context.Context, hc *http.Client, u, ua string) Route {
	r := Route{URL: u}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		r.Err = err
		return r
	}
	req.Header.Set("User-Agent", ua)
	resp, err := hc.Do(req)
	if err != nil {
		r.Err = err
		return r
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	r.Status = resp.StatusCode
	return r
}

func issuer(cn string, org []string) string {
	if cn != "" {
		return cn
	}
	if len(org) > 0 {
		return org[0]
	}
	return "an unnamed CA"
}

func pathOf(u *url.URL) string { return u.Path }

func caFrom(bundle string, getenv func(string) string) string {
	switch {
	case bundle != "":
		return "the system roots and " + bundle + " (ca_bundle in the profile)"
	case getenv("SSL_CERT_FILE") != "":
		return "SSL_CERT_FILE " + getenv("SSL_CERT_FILE")
	case getenv("SSL_CERT_DIR") != "":
		return "SSL_CERT_DIR " + getenv("SSL_CERT_DIR")
	}
	return "the system roots"
}

// maxSkew is how far this clock may be from the server's before expiry
// judgments go wrong.
const maxSkew = 60 * time.Second

// ServerChecks reports reachability, TLS, proxies, the clock and the
// device authorization endpoints.
func ServerChecks(s ServerInfo, getenv func(string) string, now time.Time) []Check {
	if s.BadURL != nil {
		return []Check{{Area: "server", Status: Fail, Summary: s.BadURL.Error(), Fix: "fix server in the profile in config.toml"}}
	}
	var out []Check
	if len(s.ProxyEnv) > 0 || s.Proxy != "" {
		via := "direct (not through a proxy)"
		if s.Proxy != "" {
			via = "through the proxy " + s.Proxy
		}
		out = append(out, Check{Area: "proxy", Status: Info, Summary: fmt.Sprintf("%s set; requests go %s", strings.Join(s.ProxyEnv, ", "), via)})
	}
	if s.Err != nil {
		fix := "check the network, the proxy variables and server in the profile; cached tokens are still served meanwhile"
		var ce *authos.CertificateError
		if errors.As(s.Err, &ce) {
			fix = `set ca_bundle = "/path/ca.pem" in the profile (or SSL_CERT_FILE) to the CA that signed the server's certificate`
		}
		return append(out, Check{Area: "server", Status: Fail, Summary: fmt.Sprintf("cannot reach %s: %v", s.URL, s.Err), Fix: fix})
	}
	switch {
	case s.KeysErr != nil:
		out = append(out, Check{Area: "server", Status: Fail, Summary: fmt.Sprintf("%s answers, but its signing keys do not: %v", s.URL, s.KeysErr),
			Fix: "check server in the profile: it must be the AuthOS base URL"})
	case s.Keys == 0:
		out = append(out, Check{Area: "server", Status: Warn, Summary: fmt.Sprintf("%s answers, but its JWKS lists no usable signing key, so no token from it can be verified", s.URL),
			Fix: "ask your AuthOS administrator to check the server's signing keys"})
	default:
		out = append(out, Check{Area: "server", Status: OK, Summary: fmt.Sprintf("%s answers (%d signing %s)", s.URL, s.Keys, map[bool]string{true: "key", false: "keys"}[s.Keys == 1])})
	}
	if s.TLS != "" {
		out = append(out, Check{Area: "tls", Status: OK, Summary: s.TLS + ", verified with " + s.CAFrom})
	} else {
		out = append(out, Check{Area: "tls", Status: Info, Summary: "plain http (allowed on loopback only)"})
	}
	if !s.Date.IsZero() {
		skew := now.Sub(s.Date).Round(time.Second)
		abs := skew
		if abs < 0 {
			abs = -abs
		}
		if abs > maxSkew {
			dir := "ahead of"
			if skew < 0 {
				dir = "behind"
			}
			out = append(out, Check{Area: "clock", Status: Warn,
				Summary: fmt.Sprintf("this clock is %s %s the server's: tokens are judged valid or expired by it", abs, dir),
				Fix:     "synchronise the clock (timedatectl set-ntp true, or your system's time settings)"})
		} else {
			out = append(out, Check{Area: "clock", Status: OK, Summary: fmt.Sprintf("within %s of the server's", max(abs, time.Second))})
		}
	}
	var notOffered *authos.NotOfferedError
	switch d := s.Discovery; {
	case errors.As(s.DiscoverErr, &notOffered):
		out = append(out, Check{Area: "device", Status: Fail, Summary: notOffered.Error(), Fix: "ask your AuthOS administrator to enable device authorization"})
	case d.Document:
		status := ""
		if d.DeviceStatus != "" {
			status = " (status " + d.DeviceStatus + ")"
		}
		out = append(out, Check{Area: "device", Status: OK, Summary: "the metadata document offers device authorization" + status})
	default:
		out = append(out, Check{Area: "device", Status: Info, Summary: "no metadata document (a server before AuthOS v0.8): using the fixed paths"})
	}
	for _, r := range s.Routes {
		switch {
		case r.Err != nil:
			out = append(out, Check{Area: "device", Status: Fail, Summary: fmt.Sprintf("%s does not answer: %v", r.URL, r.Err), Fix: "check the network and the proxy variables"})
		case r.Status == http.StatusNotFound:
			out = append(out, Check{Area: "device", Status: Fail, Summary: fmt.Sprintf("%s is not there (404): this server has no device flow at that path", r.URL),
				Fix: "check server in the profile: it must be the AuthOS base URL"})
		case r.Status == http.StatusMethodNotAllowed:
			out = append(out, Check{Area: "device", Status: OK, Summary: r.URL + " answers (405 to a GET, as a POST route should; no code was requested)"})
		default:
			out = append(out, Check{Area: "device", Status: Warn, Summary: fmt.Sprintf("%s answered a GET with %d, where AuthOS answers 405", r.URL, r.Status),
				Fix: "check server in the profile, and any proxy in between"})
		}
	}
	for _, w := range s.Discovery.Warnings {
		out = append(out, Check{Area: "device", Status: Warn, Summary: w})
	}
	return out
}
