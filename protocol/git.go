package protocol

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// maxGitLine is git's documented bound on one attribute line, newline
// included (git-credential.adoc, "INPUT/OUTPUT FORMAT").
const maxGitLine = 65535

// GitRequest is what git sends on stdin for get/store/erase.
type GitRequest struct {
	Protocol, Host, Path, Username, Password string
	PasswordExpiry                           int64    // password_expiry_utc, 0 if absent
	Capabilities                             []string // capability[] values, e.g. "authtype", "state"
	AuthType, Credential                     string   // git sends these only with the authtype capability (git >= 2.46)
	WWWAuth                                  []string // wwwauth[]: the 401's WWW-Authenticate headers
}

// gitKeys are the attribute names git documents. Only these are ever named
// in an error: an unknown "key" might be a pasted secret.
var gitKeys = map[string]bool{
	"protocol": true, "host": true, "path": true, "username": true,
	"password": true, "password_expiry_utc": true, "oauth_refresh_token": true,
	"url": true, "wwwauth[]": true, "capability[]": true, "authtype": true,
	"credential": true, "ephemeral": true, "state[]": true, "continue": true,
	"quit": true,
}

func gitKeyName(k string) string {
	if gitKeys[k] {
		return k
	}
	return "an unknown key"
}

// DecodeGit reads one attribute block: key=value lines up to a blank line or
// EOF. Whatever follows a blank line is ignored (though it may have been
// buffered from r).
//
// Framing follows git's credential_read. Like git's strbuf_getline, a CR
// right before the LF is dropped, so CRLF input (Windows tools) works. Any
// other CR is rejected, as git does by default since 2.47.1
// (credential.protectProtocol, CVE-2024-52006): a bare CR is how a crafted
// URL smuggles an extra attribute past a helper that splits on it.
//
// Where git only warns (a line without '='), we fail: answering a request we
// did not fully understand is never the safe choice for a credential helper.
// Unknown keys are ignored, so newer gits keep working.
func DecodeGit(r io.Reader) (GitRequest, error) {
	var req GitRequest
	var hasProtocol, hasHost bool
	br := bufio.NewReader(r)
	total := 0
	for n := 1; ; n++ {
		line, terminated, err := readGitLine(br, &total)
		if err != nil {
			return GitRequest{}, fmt.Errorf("git: line %d: %w", n, err)
		}
		if terminated {
			line = bytes.TrimSuffix(line, []byte{'\r'})
		}
		if len(line) == 0 {
			break // blank line or EOF ends the block
		}
		if bytes.IndexByte(line, 0) >= 0 {
			return GitRequest{}, fmt.Errorf("git: line %d contains a NUL byte", n)
		}
		k, v, ok := bytes.Cut(line, []byte{'='})
		if !ok {
			return GitRequest{}, fmt.Errorf("git: line %d is not key=value", n)
		}
		key, value := string(k), string(v)
		if strings.IndexByte(value, '\r') >= 0 {
			return GitRequest{}, fmt.Errorf("git: value of %s contains a carriage return (line %d)", gitKeyName(key), n)
		}
		switch key {
		case "protocol":
			req.Protocol, hasProtocol = value, true
		case "host":
			req.Host, hasHost = value, true
		case "path":
			req.Path = value
		case "username":
			req.Username = value
		case "password":
			req.Password = value
		case "password_expiry_utc":
			req.PasswordExpiry = parseGitExpiry(value)
		case "authtype":
			req.AuthType = value
		case "credential":
			req.Credential = value
		case "capability[]":
			req.Capabilities = appendGitList(req.Capabilities, value)
		case "wwwauth[]":
			req.WWWAuth = appendGitList(req.WWWAuth, value)
		}
		if !terminated {
			break
		}
	}
	if err := req.validate(hasProtocol, hasHost); err != nil {
		return GitRequest{}, err
	}
	return req, nil
}

// readGitLine returns the next line without its LF, and whether an LF ended
// it. It enforces the line and total size limits while reading, so an
// endless line is never buffered.
func readGitLine(br *bufio.Reader, total *int) (line []byte, terminated bool, err error) {
	for {
		chunk, err := br.ReadSlice('\n')
		*total += len(chunk)
		if *total > MaxInput {
			return nil, false, errTooLarge
		}
		line = append(line, chunk...)
		// Count the LF even when it is missing, so both forms share one bound.
		if l := len(bytes.TrimSuffix(line, []byte{'\n'})); l+1 > maxGitLine {
			return nil, false, errors.New("longer than 65535 bytes")
		}
		switch {
		case err == nil:
			return line[:len(line)-1], true, nil
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		case errors.Is(err, io.EOF):
			return line, false, nil
		default:
			return nil, false, errors.New("reading input failed")
		}
	}
}

// appendGitList applies git's multi-valued key rule: an empty value clears
// the list, anything else appends.
func appendGitList(list []string, v string) []string {
	if v == "" {
		return nil
	}
	return append(list, v)
}

// parseGitExpiry mirrors git: a value that is not a positive number of
// seconds, or overflows, means "never expires", which we report as 0.
func parseGitExpiry(v string) int64 {
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 {
		return 0
	}
	return n
}

func (r GitRequest) validate(hasProtocol, hasHost bool) error {
	if !hasProtocol || r.Protocol == "" {
		return errors.New("git: request has no protocol")
	}
	if !validScheme(r.Protocol) {
		return errors.New("git: request protocol is not a URL scheme")
	}
	// git always sends host; it is empty only for "cert" (client certificate
	// passphrases, cert:///path/to/file).
	if !hasHost || (r.Host == "" && r.Protocol != "cert") {
		return errors.New("git: request has no host")
	}
	for _, f := range []struct{ name, v string }{
		{"host", r.Host}, {"path", r.Path}, {"username", r.Username},
	} {
		if !utf8.ValidString(f.v) {
			return fmt.Errorf("git: %s is not valid UTF-8", f.name)
		}
	}
	// The host is matched against profile URL prefixes. git splits it off
	// at the first '/', '?' or '#' and then percent-decodes it, so a crafted
	// remote URL can put those characters back; refuse them rather than let
	// "trusted.example/x.evil.example" match a prefix for trusted.example.
	if strings.ContainsAny(r.Host, "/\\@?# ") || hasControl(r.Host) {
		return errors.New("git: host contains a character not allowed in a host name")
	}
	return nil
}

// validScheme reports whether s is an RFC 3986 scheme.
func validScheme(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z':
		case i > 0 && (c >= '0' && c <= '9' || c == '+' || c == '-' || c == '.'):
		default:
			return false
		}
	}
	return s != ""
}

// URL returns "protocol://host/path" (path may be empty, leaving the
// trailing slash), with protocol and host lowercased, for matching profiles
// by URL prefix: "https://git.example/" matches every repository there and
// never "https://git.example.evil/".
func (r GitRequest) URL() string {
	return LowerASCII(r.Protocol) + "://" + LowerASCII(r.Host) + "/" + strings.TrimLeft(r.Path, "/")
}

// Has reports whether git announced the capability (capability[]=...).
func (r GitRequest) Has(capability string) bool {
	for _, c := range r.Capabilities {
		if c == capability {
			return true
		}
	}
	return false
}

// GitAnswer is what the helper returns for a get.
type GitAnswer struct {
	Username, Password string
	Expiry             time.Time // zero: no password_expiry_utc line
}

// EncodeGit writes the answer to a get: username= (omitted if empty),
// password=, password_expiry_utc=<unix seconds> (omitted if Expiry is zero).
// When git announced the authtype capability it first writes
// capability[]=authtype, authtype=Bearer, credential=<Password>, ephemeral=1,
// so git sends "Authorization: Bearer <token>" rather than Basic auth; the
// capability echo must come first or git ignores authtype (git >= 2.46).
//
// It never writes url= (git would clear the whole credential) nor quit=.
// Nothing is written unless the whole answer is valid.
func EncodeGit(w io.Writer, req GitRequest, a GitAnswer) error {
	if a.Password == "" {
		return errors.New("git: answer has no password")
	}
	for _, f := range []struct{ name, v string }{
		{"username", a.Username}, {"password", a.Password},
	} {
		// git's line framing has no quoting; CR would also be stripped or
		// refused by git.
		if strings.ContainsAny(f.v, "\n\r\x00") {
			return fmt.Errorf("git: answer %s contains a line break or NUL", f.name)
		}
	}
	// git's line bound applies to what it reads from us too.
	secretKey := "password="
	if req.Has("authtype") {
		secretKey = "credential=" // the longer of the two lines carrying it
	}
	if len(secretKey)+len(a.Password)+1 > maxGitLine || len("username=")+len(a.Username)+1 > maxGitLine {
		return errors.New("git: answer line longer than 65535 bytes")
	}
	var b bytes.Buffer
	if req.Has("authtype") {
		b.WriteString("capability[]=authtype\nauthtype=Bearer\n")
		b.WriteString("credential=" + a.Password + "\n")
		b.WriteString("ephemeral=1\n")
	}
	if a.Username != "" {
		b.WriteString("username=" + a.Username + "\n")
	}
	b.WriteString("password=" + a.Password + "\n")
	if !a.Expiry.IsZero() {
		secs := a.Expiry.Unix()
		if secs <= 0 {
			// git reads 0 (or garbage) as "never expires".
			return errors.New("git: answer expiry is not after 1970")
		}
		b.WriteString("password_expiry_utc=" + strconv.FormatInt(secs, 10) + "\n")
	}
	_, err := w.Write(b.Bytes())
	return err
}
