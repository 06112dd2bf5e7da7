// Package protocol holds the wire formats of the four clients the helper
// serves: git's credential helper protocol, docker-credential-helpers,
// client-go's ExecCredential (kubectl) and Terraform/OpenTofu's credentials
// helper protocol.
//
// Everything here is a pure codec: decoders turn what a client sends into a
// value or an error, encoders write exactly the bytes the client expects.
// Nothing here knows about keyrings, HTTP, files or profiles.
//
// Errors are one line and safe to print: they never quote input values
// (a value may be a password or token), at most the name of a known key.
// The rules follow docs/client-protocols.md.
//
// What an importer may rely on: the Decode*/Encode* functions and their
// request and answer types keep their meaning (the bytes each client
// accepts); the "not mine" answers stay each client's own convention.
package protocol

import (
	"errors"
	"io"
	"strings"
)

// MaxInput bounds what any decoder reads. Real requests are a few hundred
// bytes; the bound only stops a runaway or hostile writer from making the
// helper buffer without limit.
const MaxInput = 1 << 20

var errTooLarge = errors.New("input larger than 1 MiB")

// readAll reads r to EOF, failing once more than MaxInput bytes arrive.
func readAll(r io.Reader) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, MaxInput+1))
	if err != nil {
		return nil, errors.New("reading input failed")
	}
	if len(b) > MaxInput {
		return nil, errTooLarge
	}
	return b, nil
}

// LowerASCII lowercases A-Z only. Host names compare ASCII
// case-insensitively; strings.ToLower would also fold non-ASCII look-alikes
// (the Kelvin sign to k), making a host match that config.Mentions, which
// folds ASCII only, cannot see.
func LowerASCII(s string) string {
	for i := 0; i < len(s); i++ {
		if 'A' <= s[i] && s[i] <= 'Z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				if 'A' <= b[j] && b[j] <= 'Z' {
					b[j] += 'a' - 'A'
				}
			}
			return string(b)
		}
	}
	return s
}

// hasControl reports whether s holds an ASCII control character (including
// NUL, CR, LF and DEL). Hosts, URLs and tokens never legitimately do, and in
// a token one would smuggle a header line into an HTTP request.
func hasControl(s string) bool {
	return strings.IndexFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f }) >= 0
}
