package protocol

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"unicode/utf8"
)

// The fixed strings of docker-credential-helpers' credentials/error.go. The
// docker client compares the helper's trimmed stdout with them, so they must
// match byte for byte.
const (
	DockerNotFound        = "credentials not found in native keychain"
	DockerMissingURL      = "no credentials server URL"
	DockerMissingUsername = "no credentials username"
)

// Errors carrying the fixed texts, for errors.Is and EncodeDockerError.
var (
	ErrDockerNotFound        = errors.New(DockerNotFound)
	ErrDockerMissingURL      = errors.New(DockerMissingURL)
	ErrDockerMissingUsername = errors.New(DockerMissingUsername)
)

// DockerCredentials is the JSON docker exchanges with the helper on store
// and get. The client uses encoding/json, so keys match case-insensitively
// on input; output uses these exact names.
type DockerCredentials struct {
	ServerURL string `json:"ServerURL"`
	Username  string `json:"Username"`
	Secret    string `json:"Secret"`
}

// DecodeDockerServerURL reads the stdin of get and erase: the server URL,
// without a trailing newline, which (like the reference helper) we trim.
// Empty input is ErrDockerMissingURL.
func DecodeDockerServerURL(r io.Reader) (string, error) {
	b, err := readAll(r)
	if err != nil {
		return "", fmt.Errorf("docker: %w", err)
	}
	if !utf8.Valid(b) {
		return "", errors.New("docker: server URL is not valid UTF-8")
	}
	s := strings.TrimSpace(string(b))
	if s == "" {
		return "", ErrDockerMissingURL
	}
	if hasControl(s) {
		return "", errors.New("docker: server URL contains a control character")
	}
	return s, nil
}

// DecodeDockerStore reads the stdin of store: one JSON object. Like the
// reference helper it requires ServerURL and Username; the Secret may be
// empty. Raw NUL bytes and invalid UTF-8 are refused up front because
// encoding/json would silently turn the latter into U+FFFD, storing a
// secret other than the one docker sent.
func DecodeDockerStore(r io.Reader) (DockerCredentials, error) {
	b, err := readAll(r)
	if err != nil {
		return DockerCredentials{}, fmt.Errorf("docker: %w", err)
	}
	if bytes.IndexByte(b, 0) >= 0 {
		return DockerCredentials{}, errors.New("docker: store input contains a NUL byte")
	}
	if !utf8.Valid(b) {
		return DockerCredentials{}, errors.New("docker: store input is not valid UTF-8")
	}
	var c DockerCredentials
	if err := decodeJSONObject(b, &c); err != nil {
		return DockerCredentials{}, fmt.Errorf("docker: store input %w", err)
	}
	if c.ServerURL == "" {
		return DockerCredentials{}, ErrDockerMissingURL
	}
	if c.Username == "" {
		return DockerCredentials{}, ErrDockerMissingUsername
	}
	for _, f := range []struct{ name, v string }{
		{"ServerURL", c.ServerURL}, {"Username", c.Username}, {"Secret", c.Secret},
	} {
		// A \u0000 escape decodes to NUL, which C-string keyrings truncate at.
		if strings.IndexByte(f.v, 0) >= 0 {
			return DockerCredentials{}, fmt.Errorf("docker: store input %s contains NUL", f.name)
		}
	}
	if hasControl(c.ServerURL) {
		return DockerCredentials{}, errors.New("docker: server URL contains a control character")
	}
	return c, nil
}

// decodeJSONObject decodes b, which must hold exactly one JSON object, into
// v. Its errors describe the problem without quoting the input: the
// encoding/json messages quote the offending character, which may belong to
// a secret. They read as a predicate ("is not ...") for the caller's prefix.
func decodeJSONObject(b []byte, v any) error {
	t := bytes.TrimSpace(b)
	if len(t) == 0 {
		return errors.New("is empty")
	}
	if !json.Valid(t) {
		return errors.New("is not valid JSON")
	}
	if t[0] != '{' {
		return errors.New("is not a JSON object")
	}
	if err := json.Unmarshal(t, v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return errors.New("has a field of the wrong type")
		}
		return errors.New("cannot be decoded")
	}
	return nil
}

// EncodeDockerCredentials writes the answer to get, byte for byte what the
// reference helper writes (json.Encoder: compact, HTML-escaped, newline).
func EncodeDockerCredentials(w io.Writer, c DockerCredentials) error {
	for _, f := range []struct{ name, v string }{
		{"ServerURL", c.ServerURL}, {"Username", c.Username}, {"Secret", c.Secret},
	} {
		// encoding/json would replace invalid bytes with U+FFFD, handing
		// docker a secret that differs from the stored one.
		if !utf8.ValidString(f.v) {
			return fmt.Errorf("docker: %s is not valid UTF-8", f.name)
		}
	}
	return encodeJSONLine(w, c)
}

// EncodeDockerList writes the answer to list: {"<serverURL>":"<username>"}.
// A nil map is written as {} (the reference would write null).
func EncodeDockerList(w io.Writer, byServer map[string]string) error {
	if byServer == nil {
		byServer = map[string]string{}
	}
	for k, v := range byServer {
		if !utf8.ValidString(k) || !utf8.ValidString(v) {
			return errors.New("docker: list entry is not valid UTF-8")
		}
	}
	return encodeJSONLine(w, byServer)
}

// EncodeDockerError follows the reference convention: the error text and a
// newline on STDOUT; the caller then exits 1. The client matches the text
// against DockerNotFound and friends, so it is written unchanged apart from
// folding line breaks, which keeps the answer one line.
func EncodeDockerError(w io.Writer, err error) error {
	if err == nil {
		return errors.New("docker: no error to report")
	}
	msg := strings.NewReplacer("\r\n", " ", "\n", " ", "\r", " ").Replace(err.Error())
	_, werr := io.WriteString(w, msg+"\n")
	return werr
}

func encodeJSONLine(w io.Writer, v any) error {
	var b bytes.Buffer
	if err := json.NewEncoder(&b).Encode(v); err != nil {
		return errors.New("encoding JSON failed")
	}
	_, err := w.Write(b.Bytes())
	return err
}

// DockerHubHost is the name every alias of Docker Hub is matched as.
const DockerHubHost = "index.docker.io"

// DockerHubAliases are the names of Docker Hub; DockerRegistryHost turns
// each into DockerHubHost, so a pattern naming Hub contains one of them.
var DockerHubAliases = []string{"docker.io", DockerHubHost, "registry-1.docker.io", "registry.hub.docker.com"}

// DecodeDockerList reads (and ignores) the stdin of list, up to MaxInput.
func DecodeDockerList(r io.Reader) {
	io.Copy(io.Discard, io.LimitReader(r, MaxInput))
}

// DockerRegistryHost reduces what docker sends as a server URL to the
// host[:port] used for matching, lowercased: "registry.example:5000",
// "https://registry.example/v2/" and the like. All names of Docker Hub
// (docker sends "https://index.docker.io/v1/") become "index.docker.io".
// It returns "" when nothing host-like is left.
func DockerRegistryHost(serverURL string) string {
	s := strings.TrimSpace(serverURL)
	if i := strings.Index(s, "://"); i >= 0 {
		switch LowerASCII(s[:i]) {
		case "http", "https":
			s = s[i+3:]
		default:
			return ""
		}
	}
	if i := strings.IndexAny(s, "/?#"); i >= 0 {
		s = s[:i]
	}
	if i := strings.LastIndexByte(s, '@'); i >= 0 {
		s = s[i+1:] // userinfo is never part of the registry key
	}
	s = LowerASCII(s)
	if s == "" || strings.ContainsAny(s, " \\") || hasControl(s) || !utf8.ValidString(s) {
		return ""
	}
	if slices.Contains(DockerHubAliases, s) {
		return DockerHubHost
	}
	return s
}
