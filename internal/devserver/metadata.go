package devserver

import "net/http"

// The metadata document of AuthOS v0.8 (its runtime capability metadata
// routes), field for field and in its order. Every endpoint is absolute,
// built from BASE_URL.
type authosConfiguration struct {
	Service                        string                  `json:"service"`
	MetadataVersion                int                     `json:"metadata_version"`
	Issuer                         string                  `json:"issuer"`
	JWKSURI                        string                  `json:"jwks_uri"`
	OpenIDConnect                  openIDConnectSupport    `json:"openid_connect"`
	OAuthDeviceAuthorization       *deviceAuthMetadata     `json:"oauth_device_authorization,omitempty"`
	EnterpriseManagedAuthorization enterpriseAuthorization `json:"enterprise_managed_authorization"`
}

type openIDConnectSupport struct {
	Status                    string `json:"status"`
	AuthorizationCodeProvider bool   `json:"authorization_code_provider"`
	IDTokenIssuance           bool   `json:"id_token_issuance"`
}

type deviceAuthMetadata struct {
	Status                            string   `json:"status"`
	DeviceAuthorizationEndpoint       string   `json:"device_authorization_endpoint"`
	TokenEndpoint                     string   `json:"token_endpoint"`
	GrantTypesSupported               []string `json:"grant_types_supported"`
	TokenEndpointAuthMethodsSupported []string `json:"token_endpoint_auth_methods_supported"`
}

type enterpriseAuthorization struct {
	Status                              string   `json:"status"`
	TokenEndpoint                       string   `json:"token_endpoint"`
	TokenEndpointAliases                []string `json:"token_endpoint_aliases"`
	GrantTypesSupported                 []string `json:"grant_types_supported"`
	AuthorizationGrantProfilesSupported []string `json:"authorization_grant_profiles_supported"`
	RequestedTokenTypesSupported        []string `json:"requested_token_types_supported"`
	ClientAuthentication                string   `json:"client_authentication"`
}

func (s *Server) metadata() authosConfiguration {
	base := s.baseURL
	doc := authosConfiguration{
		Service: "AuthOS", MetadataVersion: 1, Issuer: base,
		JWKSURI:       base + "/.well-known/jwks.json",
		OpenIDConnect: openIDConnectSupport{Status: "unsupported"},
		EnterpriseManagedAuthorization: enterpriseAuthorization{
			Status:               "beta",
			TokenEndpoint:        base + "/oauth/token",
			TokenEndpointAliases: []string{base + "/oauth2/token"},
			GrantTypesSupported: []string{
				"urn:ietf:params:oauth:grant-type:token-exchange",
				"urn:ietf:params:oauth:grant-type:jwt-bearer",
			},
			AuthorizationGrantProfilesSupported: []string{"urn:ietf:params:oauth:grant-profile:id-jag"},
			RequestedTokenTypesSupported:        []string{"urn:ietf:params:oauth:token-type:id-jag"},
			ClientAuthentication:                "grant-specific: token exchange accepts an authenticated subject token; JWT bearer exchange also requires the service client secret",
		},
	}
	if st := s.opts.DeviceAuthorizationStatus; st != "absent" {
		doc.OAuthDeviceAuthorization = &deviceAuthMetadata{
			Status:                            st,
			DeviceAuthorizationEndpoint:       base + "/auth/device/code",
			TokenEndpoint:                     base + "/auth/token",
			GrantTypesSupported:               []string{deviceCodeGrantType},
			TokenEndpointAuthMethodsSupported: []string{"none"},
		}
	}
	return doc
}

// handleMetadata is GET /.well-known/authos-configuration; with NoMetadata
// it is the bare 404 of a server that predates the document.
func (s *Server) handleMetadata(w http.ResponseWriter, r *http.Request) {
	if s.opts.NoMetadata {
		w.WriteHeader(http.StatusNotFound)
		return
	}
	s.writeJSON(w, http.StatusOK, s.metadata())
}
