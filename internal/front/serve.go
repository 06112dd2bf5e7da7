package front

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"runtime/debug"
	"strings"

	"github.com/authos/authos-credential-helper/helper"
	"github.com/authos/authos-credential-helper/protocol"
)

// Env is the process's outside world, injected so tests can run the front
// door in process.
type Env struct {
	Args   []string
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	Getenv func(string) string
	// Creds answers from the cache alone (helper.Credentials on
	// cacheonly.Source, with CacheOnly set).
	Creds Creds
	// Handoff replaces the process with the full binary, giving it
	// stdin (what the front door read of the real one) when replay; it
	// returns only on failure.
	Handoff func(args []string, replay bool, stdin []byte) error
}

// Creds are the verbs whose answer a hit is.
type Creds interface {
	GitGet(ctx context.Context, flags helper.Selector, req protocol.GitRequest) (protocol.GitAnswer, bool, error)
	DockerGet(ctx context.Context, serverURL string) (protocol.DockerCredentials, error)
	TerraformGet(ctx context.Context, flags helper.Selector, host string) (helper.TerraformAnswer, error)
	Token(ctx context.Context, flags helper.Selector) (helper.Credential, error)
}

// Request is an invocation the front door may answer.
type Request struct {
	Verb    string // "git", "docker", "kube", "terraform" or "token"
	Profile string // --profile
	Host    string // terraform's host
}

// Serve answers env's request from the cache when it can, exactly as the
// full binary would, and hands it over otherwise.
func Serve(env Env) int {
	req, ok := Recognise(env.Args)
	if !ok {
		return handoffFailed(env, env.Handoff(env.Args, false, nil))
	}
	stdin := &recording{r: env.Stdin}
	var out bytes.Buffer
	code, err := guarded(func() (int, error) { return answer(env, req, stdin, &out) })
	if err != nil {
		// What was read goes on as stdin, unless reading failed: those
		// bytes are no whole request, and the full binary must meet the
		// failure itself on what is left.
		replay := req.readsStdin() && stdin.err == nil
		return handoffFailed(env, env.Handoff(env.Args, replay, stdin.read.Bytes()))
	}
	// One write, and only of a whole answer: nothing on stdout before a
	// hand-off, so the full binary's answer is the only one.
	if _, err := env.Stdout.Write(out.Bytes()); err != nil {
		fmt.Fprintf(env.Stderr, "authos-credential-helper: writing the answer: %v\n", err)
		return 1
	}
	return code
}

// guarded runs f with memory faults (a mapped config.toml cut short while
// it is read) turned into panics, and any panic into an error: the full
// binary, which reads the file anew, then answers.
func guarded(f func() (int, error)) (code int, err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if r := recover(); r != nil {
			code, err = 0, fmt.Errorf("front door: %v", r)
		}
	}()
	return f()
}

// recording keeps what is read through it, and the first read error.
type recording struct {
	r    io.Reader
	read bytes.Buffer
	err  error // other than io.EOF
}

func (r *recording) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	r.read.Write(p[:n])
	if err != nil && err != io.EOF && r.err == nil {
		r.err = err
	}
	return n, err
}

func (r Request) readsStdin() bool { return r.Verb == "git" || r.Verb == "docker" }

// answer is the full binary's answer when it needs nothing but the cache;
// any error means "hand it over" (the full binary then says what is wrong).
func answer(env Env, req Request, stdin io.Reader, out *bytes.Buffer) (code int, err error) {
	ctx := context.Background()
	sel := helper.Selector{Profile: req.Profile}
	switch req.Verb {
	case "git":
		r, err := protocol.DecodeGit(stdin)
		if err != nil {
			return 0, err
		}
		a, ok, err := env.Creds.GitGet(ctx, sel, r)
		if !ok || err != nil {
			return 0, err // not mine: no output at all
		}
		return 0, protocol.EncodeGit(out, r, a)
	case "docker":
		url, err := protocol.DecodeDockerServerURL(stdin)
		if err != nil {
			return 0, err
		}
		c, err := env.Creds.DockerGet(ctx, url)
		if errors.Is(err, protocol.ErrDockerNotFound) {
			return 1, protocol.EncodeDockerError(out, err) // docker's "not mine": stdout, exit 1
		}
		if err != nil {
			return 0, err
		}
		return 0, protocol.EncodeDockerCredentials(out, c)
	case "kube":
		apiVersion := protocol.KubeAPIVersionV1
		if raw := env.Getenv("KUBERNETES_EXEC_INFO"); raw != "" {
			info, err := protocol.DecodeExecInfo(raw)
			if err != nil {
				return 0, err
			}
			apiVersion = info.APIVersion
		}
		c, err := env.Creds.Token(ctx, sel)
		if err != nil {
			return 0, err
		}
		return 0, protocol.EncodeExecCredential(out, apiVersion, c.Token, c.ExpiresAt)
	case "terraform":
		a, err := env.Creds.TerraformGet(ctx, sel, req.Host)
		switch {
		case err != nil:
			return 0, err
		case a.Token != "":
			return 0, protocol.EncodeTerraformToken(out, a.Token)
		case a.Stored != nil:
			return 0, protocol.EncodeTerraformStored(out, *a.Stored)
		}
		return 0, protocol.EncodeTerraformNone(out)
	case "token":
		c, err := env.Creds.Token(ctx, sel)
		if err != nil {
			return 0, err
		}
		out.WriteString(c.Token + "\n")
		return 0, nil
	}
	return 0, errors.New("unknown verb")
}

func handoffFailed(env Env, err error) int {
	msg := fmt.Sprintf("authos-credential-helper: %v", err)
	if InvokedAs(env.Args[0]) == "docker-credential-authos" || len(env.Args) > 1 && env.Args[1] == "docker" {
		fmt.Fprintln(env.Stdout, msg) // docker shows a helper's stdout as the error
	}
	fmt.Fprintln(env.Stderr, msg)
	return 1
}

// Recognise is the invocations the front door may answer, in the exact
// spellings setup writes and clients send: a protocol's get (by command
// or through a client's link), kube and token, with at most --profile.
// Anything else, help and every other flag included, is the full
// binary's to parse.
func Recognise(args []string) (Request, bool) {
	if len(args) == 0 {
		return Request{}, false
	}
	var verb string
	rest := args[1:]
	switch InvokedAs(args[0]) {
	case "git-credential-authos":
		verb = "git"
	case "docker-credential-authos":
		verb = "docker"
	case "terraform-credentials-authos":
		verb = "terraform"
	default:
		if len(rest) == 0 || HelpAsked(rest[1:]) { // the full binary prints help
			return Request{}, false
		}
		verb, rest = rest[0], rest[1:]
	}
	req := Request{Verb: verb}
	if verb != "docker" { // docker-credential-authos takes no flags
		var ok bool
		if req.Profile, rest, ok = profileFlag(rest); !ok {
			return Request{}, false
		}
	}
	switch verb {
	case "git":
		return req, len(rest) == 1 && rest[0] == "get"
	case "docker":
		return req, len(rest) == 1 && rest[0] == "get"
	case "kube", "token":
		return req, len(rest) == 0
	case "terraform":
		if len(rest) != 2 || rest[0] != protocol.TerraformGet {
			return Request{}, false
		}
		v, host, err := protocol.DecodeTerraformArgs(rest)
		req.Host = host
		return req, err == nil && v == protocol.TerraformGet
	}
	return Request{}, false
}

// profileFlag reads the leading flags as Go's flag package does, allowing
// only --profile (also -profile, and either with =VALUE): it returns the
// profile, the arguments after the flags, and false for anything else,
// "--" included.
func profileFlag(args []string) (profile string, rest []string, ok bool) {
	for len(args) > 0 {
		a := args[0]
		if len(a) < 2 || a[0] != '-' {
			break // a non-flag ("-" too) ends the flags
		}
		name := strings.TrimPrefix(a[1:], "-")
		name, value, hasValue := strings.Cut(name, "=")
		if name != "profile" {
			return "", nil, false
		}
		args = args[1:]
		if !hasValue {
			if len(args) == 0 {
				return "", nil, false
			}
			value, args = args[0], args[1:]
		}
		profile = value
	}
	return profile, args, true
}

// InvokedAs is the program name without directory, ".exe" and a
// Terraform-style "_vX.Y.Z" suffix: the name a client's link gives (the
// full binary reads it through this too).
func InvokedAs(arg0 string) string {
	name := strings.TrimSuffix(filepath.Base(arg0), ".exe")
	if i := strings.LastIndex(name, "_v"); i > 0 && strings.IndexFunc(name[i+2:], func(r rune) bool { return (r < '0' || r > '9') && r != '.' }) < 0 {
		name = name[:i]
	}
	return name
}

// HelpAsked reports whether args ask a command for its help: a help flag
// anywhere before "--" (the full binary's rule, and so the front door's
// reason to leave such a command to it).
func HelpAsked(args []string) bool {
	for _, a := range args {
		switch a {
		case "--":
			return false
		case "-h", "-help", "--h", "--help":
			return true
		}
	}
	return false
}
