package authos

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/authos/authos-credential-helper/internal/authos/jwks"
)

// Discovery is what GET {base}/.well-known/authos-configuration said.
type Discovery struct {
	// Document is true when the server served an AuthOS metadata document;
	// false for servers before v0.8, which have none (404).
	Document bool
	Issuer   string // the document's issuer; "" without a document
	// DeviceStatus is oauth_device_authorization.status ("beta" today).
	DeviceStatus string
	// Endpoints are always filled: from the document where it may be
	// trusted, else the fixed paths.
	Endpoints Endpoints
	// Warnings say what in the document was not used and why (an endpoint
	// on another origin, an issuer other than the base URL, …), for doctor.
	Warnings []string
}

// NotOfferedError is a metadata document saying this server does not offer
// the device authorization flow. It comes before any code is requested.
type NotOfferedError struct {
	Server string
	Status string // the advertised status; "" when the section is missing
	Why    string
}

func (e *NotOfferedError) Error() string {
	return fmt.Sprintf("%s does not offer device authorization (%s), so the helper cannot sign in there; ask your AuthOS administrator", e.Server, e.Why)
}

// noClientAuth is the token endpoint auth method a public CLI can use.
const noClientAuth = "none"

// notOfferedStatuses are the status words meaning "not available". AuthOS
// uses "unsupported" for OIDC in the same document; anything else
// ("beta", a later "stable", …) counts as offered.
var notOfferedStatuses = []string{"unsupported", "disabled", "unavailable"}

type metadataDoc struct {
	Service         string `json:"service"`
	MetadataVersion int    `json:"metadata_version"`
	Issuer          string `json:"issuer"`
	JWKSURI         string `json:"jwks_uri"`
	Device          *struct {
		Status                            string   `json:"status"`
		DeviceAuthorizationEndpoint       string   `json:"device_authorization_endpoint"`
		TokenEndpoint                     string   `json:"token_endpoint"`
		GrantTypesSupported               []string `json:"grant_types_supported"`
		TokenEndpointAuthMethodsSupported []string `json:"token_endpoint_auth_methods_supported"`
	} `json:"oauth_device_authorization"`
}

// Discover reads the server's metadata document and sets c.Endpoints from
// it. Without a document (404, 405, 410, or a 200 that is not AuthOS's
// document, such as a web client's HTML fallback) it returns the fixed
// paths. Endpoints are taken only from the base URL's origin; another origin
// is a warning and the fixed path is used instead, so a document can never
// send the device code or a token elsewhere. A document saying device
// authorization is not offered gives *NotOfferedError.
//
// On any other failure (network, 5xx, 429) the error is returned with
// Discovery holding the fixed paths and c.Endpoints unchanged: the caller
// may go on with them, as with an older server.
func (c *Client) Discover(ctx context.Context) (Discovery, error) {
	d := Discovery{Endpoints: c.fixedEndpoints()}
	a, err := c.send(ctx, request{method: http.MethodGet, route: metadataPath, ownOrigin: true,
		accept: []int{http.StatusNotFound, http.StatusMethodNotAllowed, http.StatusGone}})
	if err != nil {
		return d, err
	}
	if a.status != http.StatusOK {
		c.Endpoints = d.Endpoints
		return d, nil
	}
	var doc metadataDoc
	if json.Unmarshal(a.body, &doc) != nil || doc.Service != "AuthOS" {
		d.Warnings = append(d.Warnings, metadataPath+" is not an AuthOS metadata document ("+
			describeBody(a.header.Get("Content-Type"), a.body)+"); using the fixed paths")
		c.Endpoints = d.Endpoints
		return d, nil
	}
	d.Document, d.Issuer = true, doc.Issuer
	if strings.TrimRight(doc.Issuer, "/") != c.BaseURL {
		d.Warnings = append(d.Warnings, fmt.Sprintf("the document's issuer %q is not the configured server %s: tokens will carry that issuer", oneLine(doc.Issuer), c.BaseURL))
	}
	pick := func(name, raw string, fixed *string) {
		if raw == "" {
			return
		}
		if u, err := c.sameOrigin(raw); err != nil {
			d.Warnings = append(d.Warnings, fmt.Sprintf("ignoring %s %q: %v; using %s", name, oneLine(raw), err, *fixed))
		} else {
			*fixed = u
		}
	}
	pick("jwks_uri", doc.JWKSURI, &d.Endpoints.JWKS)
	c.Endpoints = d.Endpoints
	dev := doc.Device
	if dev == nil {
		if doc.MetadataVersion == 1 {
			// Version 1 lists exactly what the server implements.
			return d, &NotOfferedError{Server: c.BaseURL, Why: "its metadata document has no oauth_device_authorization section"}
		}
		d.Warnings = append(d.Warnings, fmt.Sprintf("metadata_version %d has no oauth_device_authorization section; using the fixed paths", doc.MetadataVersion))
		return d, nil
	}
	d.DeviceStatus = oneLine(dev.Status)
	switch {
	case slices.Contains(notOfferedStatuses, strings.ToLower(strings.TrimSpace(dev.Status))):
		return d, &NotOfferedError{Server: c.BaseURL, Status: d.DeviceStatus, Why: "its metadata document says status " + d.DeviceStatus}
	case len(dev.GrantTypesSupported) > 0 && !slices.Contains(dev.GrantTypesSupported, DeviceGrantType):
		return d, &NotOfferedError{Server: c.BaseURL, Status: d.DeviceStatus, Why: "its metadata document does not list the device_code grant"}
	case len(dev.TokenEndpointAuthMethodsSupported) > 0 && !slices.Contains(dev.TokenEndpointAuthMethodsSupported, noClientAuth):
		return d, &NotOfferedError{Server: c.BaseURL, Status: d.DeviceStatus, Why: "its token endpoint requires client authentication, which a public CLI cannot do"}
	}
	pick("device_authorization_endpoint", dev.DeviceAuthorizationEndpoint, &d.Endpoints.DeviceAuthorization)
	pick("token_endpoint", dev.TokenEndpoint, &d.Endpoints.Token)
	c.Endpoints = d.Endpoints
	return d, nil
}

func (c *Client) fixedEndpoints() Endpoints {
	return Endpoints{
		DeviceAuthorization: c.BaseURL + deviceCodePath,
		Token:               c.BaseURL + tokenPath,
		JWKS:                c.BaseURL + jwksPath,
	}
}

// sameOrigin accepts an absolute URL on the base URL's scheme, host and
// port, with no credentials, query or fragment. The base URL itself passed
// CheckBaseURL, so this also means https except on loopback.
func (c *Client) sameOrigin(raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil || !u.IsAbs() || u.Host == "" {
		return "", errors.New("not an absolute URL")
	}
	base, err := url.Parse(c.BaseURL)
	if err != nil {
		return "", err
	}
	if origin(u) != origin(base) {
		return "", errors.New("not on the server's origin " + showURL(base))
	}
	if u.User != nil || u.RawQuery != "" || u.Fragment != "" || strings.Contains(raw, "#") {
		return "", errors.New("it has credentials, a query or a fragment")
	}
	return u.String(), nil
}

// FetchJWKS returns the server's JWKS. A cached set for the same URL that
// is still fresh (Cache-Control max-age) is returned as is unless force;
// otherwise the request carries its ETag and a 304 keeps its keys.
// Callers: login, status, doctor, revalidation — never the hit path.
func (c *Client) FetchJWKS(ctx context.Context, cached *jwks.Set, force bool) (*jwks.Set, error) {
	target := c.endpoint(jwksPath)
	if cached != nil && cached.URL != target {
		cached = nil // another server's keys, or the document moved them
	}
	now := c.now()
	if cached != nil && !force && cached.Fresh(now) {
		return cached, nil
	}
	hdr := http.Header{}
	if cached != nil && cached.ETag != "" {
		hdr.Set("If-None-Match", cached.ETag)
	}
	a, err := c.send(ctx, request{method: http.MethodGet, route: jwksPath, header: hdr, ownOrigin: true,
		accept: []int{http.StatusNotModified}})
	if err != nil {
		return nil, err
	}
	set := &jwks.Set{URL: target, FetchedAt: now, MaxAge: jwks.CacheMaxAge(a.header), ETag: a.header.Get("ETag")}
	if a.status == http.StatusNotModified {
		if cached == nil {
			return nil, fmt.Errorf("%s answered 304 Not Modified to a request without If-None-Match", jwksPath)
		}
		set.Keys = cached.Keys
		if set.ETag == "" {
			set.ETag = cached.ETag
		}
		return set, nil
	}
	keys, err := jwks.Parse(a.body)
	if err != nil {
		return nil, &BadAnswerError{Route: jwksPath, Err: err}
	}
	set.Keys = keys
	return set, nil
}
