package authos

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// maxRedirects is as many hops as net/http follows by default.
const maxRedirects = 10

// RedirectError is a redirect the client refused to follow. It is final:
// retrying gets the same redirect.
type RedirectError struct {
	From, To string // the URLs, without query or credentials
	Status   int    // the redirect's status code
	Reason   string
}

func (e *RedirectError) Error() string {
	return fmt.Sprintf("AuthOS server %s redirected (%d) to %s; refusing to follow it: %s", e.From, e.Status, e.To, e.Reason)
}

// CheckRedirect is the one redirect rule for every request to AuthOS (an
// http.Client's CheckRedirect; Client applies it to each request): never
// from https to http, plain http only to loopback or within the first
// request's origin, and nothing that carries a body or an Authorization
// header leaves that origin. net/http alone would re-send the body on
// 307/308 and keep Authorization for the same host name on another port or
// scheme and for subdomains; on 301/302/303 it drops the body, but the other
// origin's answer would be taken as the server's.
func CheckRedirect(req *http.Request, via []*http.Request) error {
	first, last := via[0], via[len(via)-1]
	refuse := func(reason string) error {
		status := 0
		if req.Response != nil {
			status = req.Response.StatusCode
		}
		return &RedirectError{From: showURL(last.URL), To: showURL(req.URL), Status: status, Reason: reason}
	}
	if len(via) >= maxRedirects {
		return refuse(fmt.Sprintf("stopped after %d redirects", len(via)))
	}
	switch to := req.URL; {
	case to.Scheme == "https":
	case to.Scheme != "http":
		return refuse("only https is allowed")
	case last.URL.Scheme == "https":
		return refuse("it leaves https for plain http")
	case !IsLoopback(to.Hostname()) && origin(to) != origin(first.URL):
		return refuse("plain http is allowed only on loopback")
	}
	if origin(req.URL) != origin(first.URL) && carriesSecret(first) {
		return refuse("the request's body or credentials would go to another server")
	}
	return nil
}

// carriesSecret reports whether r has a body or an Authorization header.
func carriesSecret(r *http.Request) bool {
	hasBody := r.ContentLength != 0 || r.GetBody != nil || (r.Body != nil && r.Body != http.NoBody)
	return hasBody || r.Header.Get("Authorization") != ""
}

// origin is scheme://host:port with the default port spelled out.
func origin(u *url.URL) string {
	scheme := strings.ToLower(u.Scheme)
	port := u.Port()
	if port == "" {
		port = map[string]string{"https": "443", "http": "80"}[scheme]
	}
	return scheme + "://" + strings.ToLower(u.Hostname()) + ":" + port
}

// showURL is u for a message: no user info, query or fragment (a server
// could put anything there).
func showURL(u *url.URL) string {
	v := *u
	v.User, v.RawQuery, v.ForceQuery, v.Fragment, v.RawFragment = nil, "", false, "", ""
	return oneLine(v.String())
}

// CertificateError is a TLS certificate the client could not verify. It is
// final: retrying meets the same certificate.
type CertificateError struct {
	Host     string // host[:port] of the server that presented it
	CABundle string // the profile's ca_bundle, "" if none
	Err      error  // the x509 (or tls) verification error
}

func (e *CertificateError) Error() string {
	var hint string
	var host x509.HostnameError
	var invalid x509.CertificateInvalidError
	switch {
	case errors.As(e.Err, &host):
		hint = "the certificate is for another host name; check server in the profile"
	case errors.As(e.Err, &invalid) && invalid.Reason == x509.Expired:
		hint = "check the server's certificate and this machine's clock"
	case e.CABundle != "":
		hint = fmt.Sprintf("the CA bundle %s (ca_bundle in the profile) does not hold the CA that signed it", e.CABundle)
	default:
		hint = `if the server uses a private CA, set ca_bundle = "/path/ca.pem" in the profile`
	}
	return fmt.Sprintf("TLS certificate of %s could not be verified (%s); %s", e.Host, oneLine(e.Err.Error()), hint)
}

func (e *CertificateError) Unwrap() error { return e.Err }

// certificateError returns a *CertificateError if err is a failed
// certificate verification, else nil.
func certificateError(caBundle string, err error) *CertificateError {
	var (
		host    x509.HostnameError
		invalid x509.CertificateInvalidError
		unknown x509.UnknownAuthorityError
		roots   x509.SystemRootsError
		verify  *tls.CertificateVerificationError
		cause   error
	)
	switch {
	case errors.As(err, &host):
		cause = host
	case errors.As(err, &invalid):
		cause = invalid
	case errors.As(err, &unknown):
		cause = unknown
	case errors.As(err, &roots):
		cause = roots
	case errors.As(err, &verify):
		cause = verify
	default:
		return nil
	}
	ce := &CertificateError{CABundle: caBundle, Err: cause}
	var ue *url.Error
	if errors.As(err, &ue) {
		if u, perr := url.Parse(ue.URL); perr == nil {
			ce.Host = u.Host
		}
	}
	if ce.Host == "" {
		ce.Host = "the server"
	}
	return ce
}

// Permanent reports whether err is a failure that asking again cannot fix
// (a refused redirect, an unverifiable certificate), so callers that retry
// network errors stop at once.
func Permanent(err error) bool {
	var re *RedirectError
	var ce *CertificateError
	return errors.As(err, &re) || errors.As(err, &ce)
}
