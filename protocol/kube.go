package protocol

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"
	"unicode/utf8"
)

// The two ExecCredential versions client-go accepts from a plugin today.
// v1alpha1 is gone from client-go; the shapes of these two are identical.
const (
	KubeAPIVersionV1      = "client.authentication.k8s.io/v1"
	KubeAPIVersionV1beta1 = "client.authentication.k8s.io/v1beta1"
)

// ExecInfo is the part of KUBERNETES_EXEC_INFO the helper uses.
type ExecInfo struct {
	APIVersion  string       // the answer must carry the same one
	Interactive bool         // spec.interactive: stdin is the user's terminal
	Cluster     *ExecCluster // spec.cluster, only with provideClusterInfo: true
}

// ExecCluster is spec.cluster, reduced to what can choose an identity.
type ExecCluster struct {
	Server                   string          `json:"server"`
	TLSServerName            string          `json:"tls-server-name,omitempty"`
	CertificateAuthorityData []byte          `json:"certificate-authority-data,omitempty"` // base64 in JSON
	Config                   json.RawMessage `json:"config,omitempty"`                     // the cluster's client.authentication.k8s.io/exec extension
}

// Declared here so the helper needs no Kubernetes module.
type execCredentialIn struct {
	Kind       string `json:"kind"`
	APIVersion string `json:"apiVersion"`
	Spec       struct {
		Interactive bool         `json:"interactive"`
		Cluster     *ExecCluster `json:"cluster"`
	} `json:"spec"`
}

// DecodeExecInfo parses the KUBERNETES_EXEC_INFO environment variable,
// which client-go always sets. Empty means we were not started by client-go;
// that is an error, and the caller decides whether a default applies.
func DecodeExecInfo(env string) (ExecInfo, error) {
	if env == "" {
		return ExecInfo{}, errors.New("kube: KUBERNETES_EXEC_INFO is not set; this command must be run by kubectl or client-go (users[].user.exec in a kubeconfig)")
	}
	if len(env) > MaxInput {
		return ExecInfo{}, fmt.Errorf("kube: KUBERNETES_EXEC_INFO %w", errTooLarge)
	}
	if !utf8.ValidString(env) {
		return ExecInfo{}, errors.New("kube: KUBERNETES_EXEC_INFO is not valid UTF-8")
	}
	var in execCredentialIn
	if err := decodeJSONObject([]byte(env), &in); err != nil {
		return ExecInfo{}, fmt.Errorf("kube: KUBERNETES_EXEC_INFO %w", err)
	}
	if in.Kind != "ExecCredential" {
		return ExecInfo{}, errors.New("kube: KUBERNETES_EXEC_INFO kind is not ExecCredential")
	}
	if !validKubeAPIVersion(in.APIVersion) {
		return ExecInfo{}, errors.New("kube: KUBERNETES_EXEC_INFO apiVersion is not " + KubeAPIVersionV1 + " or " + KubeAPIVersionV1beta1)
	}
	if c := in.Spec.Cluster; c != nil && bytes.Equal(bytes.TrimSpace(c.Config), []byte("null")) {
		c.Config = nil
	}
	return ExecInfo{APIVersion: in.APIVersion, Interactive: in.Spec.Interactive, Cluster: in.Spec.Cluster}, nil
}

func validKubeAPIVersion(v string) bool {
	return v == KubeAPIVersionV1 || v == KubeAPIVersionV1beta1
}

type execCredentialOut struct {
	Kind       string           `json:"kind"`
	APIVersion string           `json:"apiVersion"`
	Status     execStatusOutput `json:"status"`
}

type execStatusOutput struct {
	Token               string `json:"token"`
	ExpirationTimestamp string `json:"expirationTimestamp,omitempty"`
}

// EncodeExecCredential writes the ExecCredential answer:
//
//	{"kind":"ExecCredential","apiVersion":...,"status":{"token":...,"expirationTimestamp":...}}
//
// apiVersion must be the one client-go asked with (a mismatch is an error on
// its side). expirationTimestamp is RFC 3339 in UTC, omitted when expiry is
// zero; client-go applies no skew, so the caller passes a time slightly
// before the real expiry, and never a past one.
func EncodeExecCredential(w io.Writer, apiVersion, token string, expiry time.Time) error {
	if !validKubeAPIVersion(apiVersion) {
		return errors.New("kube: unsupported apiVersion for ExecCredential")
	}
	if err := checkBearerToken(token); err != nil {
		return fmt.Errorf("kube: %w", err)
	}
	out := execCredentialOut{Kind: "ExecCredential", APIVersion: apiVersion}
	out.Status.Token = token
	if !expiry.IsZero() {
		out.Status.ExpirationTimestamp = expiry.UTC().Format(time.RFC3339)
	}
	return encodeJSONLine(w, out)
}

// checkBearerToken refuses tokens that cannot travel in an
// "Authorization: Bearer" header unchanged.
func checkBearerToken(token string) error {
	switch {
	case token == "":
		return errors.New("token is empty")
	case !utf8.ValidString(token):
		return errors.New("token is not valid UTF-8")
	case hasControl(token):
		return errors.New("token contains a control character")
	}
	return nil
}
