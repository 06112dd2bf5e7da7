package protocol

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"
)

// The verbs of the Terraform/OpenTofu credentials helper protocol.
const (
	TerraformGet    = "get"
	TerraformStore  = "store"
	TerraformForget = "forget"
)

// DecodeTerraformArgs takes the words after the helper's own arguments:
// <verb> <host>. Terraform sends the host in svchost's comparison form
// (punycode, lowercase, :port kept except the default :443); we apply the
// same normalisation that is possible without IDNA tables (lowercase, drop
// :443, canonical port digits) and refuse anything that is not a host name.
func DecodeTerraformArgs(args []string) (verb, host string, err error) {
	if len(args) != 2 {
		return "", "", errors.New("terraform: usage: get|store|forget <host>")
	}
	switch args[0] {
	case TerraformGet, TerraformStore, TerraformForget:
	default:
		// The protocol says: error on stderr, exit non-zero.
		return "", "", errors.New("terraform: unknown verb; want get, store or forget")
	}
	host, err = normalizeTerraformHost(args[1])
	if err != nil {
		return "", "", fmt.Errorf("terraform: host %w", err)
	}
	return args[0], host, nil
}

// TerraformHost normalises a host the way Terraform compares them (as
// DecodeTerraformArgs does), or returns "" if it is not a valid host; for
// putting configured patterns in the form requests arrive in.
func TerraformHost(h string) string {
	n, err := normalizeTerraformHost(h)
	if err != nil {
		return ""
	}
	return n
}

func normalizeTerraformHost(h string) (string, error) {
	if h == "" {
		return "", errors.New("is empty")
	}
	if len(h) > 260 {
		return "", errors.New("is too long")
	}
	if !utf8.ValidString(h) {
		return "", errors.New("is not valid UTF-8")
	}
	if strings.ContainsAny(h, " /\\@?#[]") || hasControl(h) || strings.ContainsFunc(h, isSpaceRune) {
		return "", errors.New("contains a character not allowed in a host name")
	}
	name, port, hasPort := strings.Cut(h, ":")
	if name == "" || strings.HasPrefix(name, ".") || strings.Contains(name, "..") {
		return "", errors.New("has an invalid name")
	}
	name = LowerASCII(name)
	if !hasPort {
		return name, nil
	}
	// svchost: ":443" is the default and is dropped; the port is otherwise
	// reformatted from its number, so ":0080" compares equal to ":80".
	if port == "" || strings.Trim(port, "0123456789") != "" || len(port) > 5 {
		return "", errors.New("has an invalid port")
	}
	n, _ := strconv.Atoi(port)
	switch {
	case n == 0 || n > 65535:
		return "", errors.New("has an invalid port")
	case n == 443:
		return name, nil
	}
	return name + ":" + strconv.Itoa(n), nil
}

func isSpaceRune(r rune) bool {
	switch r {
	case '\u0085', '\u00a0', '\u1680', '\u2028', '\u2029', '\u202f', '\u205f', '\u3000', '\ufeff':
		return true
	}
	return r >= '\u2000' && r <= '\u200a'
}

// TerraformCredentials is the object `terraform login` hands to store.
type TerraformCredentials struct {
	Token string          // "token", empty if absent
	Raw   json.RawMessage // the whole object as received, so unknown properties are never dropped
}

// DecodeTerraformStore reads the stdin of store: a JSON object. The
// protocol defines only "token" and forbids dropping other properties, so
// the object is kept whole in Raw. "token" is optional (the spec does not
// require it) but must be a string when present; the key is matched
// case-sensitively because Terraform reads it back that way on get.
func DecodeTerraformStore(r io.Reader) (TerraformCredentials, error) {
	b, err := readAll(r)
	if err != nil {
		return TerraformCredentials{}, fmt.Errorf("terraform: %w", err)
	}
	if bytes.IndexByte(b, 0) >= 0 {
		return TerraformCredentials{}, errors.New("terraform: store input contains a NUL byte")
	}
	if !utf8.Valid(b) {
		return TerraformCredentials{}, errors.New("terraform: store input is not valid UTF-8")
	}
	var obj map[string]json.RawMessage
	if err := decodeJSONObject(b, &obj); err != nil {
		return TerraformCredentials{}, fmt.Errorf("terraform: store input %w", err)
	}
	c := TerraformCredentials{Raw: json.RawMessage(bytes.TrimSpace(b))}
	if raw, ok := obj["token"]; ok {
		if err := json.Unmarshal(raw, &c.Token); err != nil || bytes.Equal(raw, []byte("null")) {
			return TerraformCredentials{}, errors.New("terraform: store input token is not a string")
		}
		if strings.IndexByte(c.Token, 0) >= 0 {
			return TerraformCredentials{}, errors.New("terraform: store input token contains NUL")
		}
	}
	return c, nil
}

// EncodeTerraformToken writes the answer to get for a bearer token.
func EncodeTerraformToken(w io.Writer, token string) error {
	if err := checkBearerToken(token); err != nil {
		return fmt.Errorf("terraform: %w", err)
	}
	return encodeJSONLine(w, struct {
		Token string `json:"token"`
	}{token})
}

// EncodeTerraformNone writes "no credentials": {}. Terraform then proceeds
// unauthenticated and caches the answer for the rest of the process.
func EncodeTerraformNone(w io.Writer) error {
	_, err := io.WriteString(w, "{}\n")
	return err
}

// EncodeTerraformStored writes a stored object back as the answer to get,
// every property included, compacted onto one line. Without Raw it falls
// back to the token alone, or {} when there is none.
func EncodeTerraformStored(w io.Writer, c TerraformCredentials) error {
	if len(c.Raw) == 0 {
		if c.Token == "" {
			return EncodeTerraformNone(w)
		}
		return EncodeTerraformToken(w, c.Token)
	}
	var obj map[string]json.RawMessage
	if err := decodeJSONObject(c.Raw, &obj); err != nil {
		return fmt.Errorf("terraform: stored credentials %w", err)
	}
	var b bytes.Buffer
	if err := json.Compact(&b, c.Raw); err != nil {
		return errors.New("terraform: stored credentials cannot be compacted")
	}
	b.WriteByte('\n')
	_, err := w.Write(b.Bytes())
	return err
}
