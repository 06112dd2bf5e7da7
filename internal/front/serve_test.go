package front

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/authos/authos-credential-helper/helper"
	"github.com/authos/authos-credential-helper/protocol"
)

func TestRecognise(t *testing.T) {
	tests := []struct {
		args []string
		want Request
		ok   bool
	}{
		{[]string{"authos-credential-helper", "git", "get"}, Request{Verb: "git"}, true},
		{[]string{"/usr/bin/authos-credential-helper", "git", "--profile", "work", "get"}, Request{Verb: "git", Profile: "work"}, true},
		{[]string{"authos-credential-helper", "git", "-profile=work", "get"}, Request{Verb: "git", Profile: "work"}, true},
		{[]string{"authos-credential-helper", "git", "--profile=a", "--profile", "b", "get"}, Request{Verb: "git", Profile: "b"}, true},
		{[]string{"git-credential-authos", "get"}, Request{Verb: "git"}, true},
		{[]string{"/home/u/bin/git-credential-authos", "--profile", "p", "get"}, Request{Verb: "git", Profile: "p"}, true},
		{[]string{"docker-credential-authos", "get"}, Request{Verb: "docker"}, true},
		{[]string{"authos-credential-helper", "docker", "get"}, Request{Verb: "docker"}, true},
		{[]string{"authos-credential-helper", "kube"}, Request{Verb: "kube"}, true},
		{[]string{"authos-credential-helper", "kube", "--profile", "k"}, Request{Verb: "kube", Profile: "k"}, true},
		{[]string{"authos-credential-helper", "token"}, Request{Verb: "token"}, true},
		{[]string{"authos-credential-helper", "terraform", "get", "app.terraform.io"}, Request{Verb: "terraform", Host: "app.terraform.io"}, true},
		{[]string{"terraform-credentials-authos", "get", "tf.example"}, Request{Verb: "terraform", Host: "tf.example"}, true},
		{[]string{"terraform-credentials-authos_v1.2.3", "get", "tf.example"}, Request{Verb: "terraform", Host: "tf.example"}, true},

		// Everything else is the full binary's.
		{[]string{"authos-credential-helper"}, Request{}, false},
		{[]string{}, Request{}, false},
		{[]string{"authos-credential-helper", "git", "store"}, Request{}, false},
		{[]string{"authos-credential-helper", "git", "erase"}, Request{}, false},
		{[]string{"authos-credential-helper", "git", "get", "--profile", "x"}, Request{}, false},
		{[]string{"authos-credential-helper", "git", "--server", "https://a", "get"}, Request{}, false},
		{[]string{"authos-credential-helper", "git", "--", "get"}, Request{}, false},
		{[]string{"authos-credential-helper", "git", "---profile", "x", "get"}, Request{}, false},
		{[]string{"authos-credential-helper", "git", "--profile"}, Request{}, false},
		{[]string{"authos-credential-helper", "git", "--help"}, Request{}, false},
		{[]string{"git-credential-authos", "--help"}, Request{}, false},
		{[]string{"docker-credential-authos", "--profile", "x", "get"}, Request{}, false},
		{[]string{"docker-credential-authos", "store"}, Request{}, false},
		{[]string{"docker-credential-authos", "get", "extra"}, Request{}, false},
		{[]string{"authos-credential-helper", "kube", "extra"}, Request{}, false},
		{[]string{"authos-credential-helper", "token", "--org", "acme"}, Request{}, false},
		{[]string{"authos-credential-helper", "terraform", "forget", "tf.example"}, Request{}, false},
		{[]string{"authos-credential-helper", "terraform", "get"}, Request{}, false},
		{[]string{"authos-credential-helper", "login"}, Request{}, false},
		{[]string{"authos-credential-helper", "version"}, Request{}, false},
		{[]string{"authos-credential-helper", "status"}, Request{}, false},
		{[]string{"authos-credential-helper", "terraform", "get", "--help"}, Request{}, false},
		{[]string{"authos-credential-helper", "git", "--profile", "--help", "get"}, Request{}, false},
		{[]string{"authos-credential-helper", "kube", "--profile", "-h"}, Request{}, false},
		{[]string{"authos-credential-helper", "git", "get", "--", "-h"}, Request{}, false},
		// Through a link the full binary shows help only for a lone --help.
		{[]string{"terraform-credentials-authos", "--profile", "-h", "get", "tf.example"}, Request{Verb: "terraform", Profile: "-h", Host: "tf.example"}, true},
	}
	for _, tt := range tests {
		got, ok := Recognise(tt.args)
		if ok != tt.ok || ok && got != tt.want {
			t.Errorf("Recognise(%q) = %+v, %v; want %+v, %v", tt.args, got, ok, tt.want, tt.ok)
		}
	}
}

// fakeCreds answers as the cache would; err, when set, is every answer.
type fakeCreds struct {
	err   error
	panic bool // Token panics, as reading a mapped file cut short does
}

func (f fakeCreds) GitGet(_ context.Context, _ helper.Selector, req protocol.GitRequest) (protocol.GitAnswer, bool, error) {
	if req.Host != "git.example" {
		return protocol.GitAnswer{}, false, f.err
	}
	return protocol.GitAnswer{Username: "oauth2", Password: "tok"}, f.err == nil, f.err
}

func (f fakeCreds) DockerGet(_ context.Context, url string) (protocol.DockerCredentials, error) {
	if f.err != nil {
		return protocol.DockerCredentials{}, f.err
	}
	if url != "registry.example" {
		return protocol.DockerCredentials{}, protocol.ErrDockerNotFound
	}
	return protocol.DockerCredentials{ServerURL: url, Username: "oauth2", Secret: "tok"}, nil
}

func (f fakeCreds) TerraformGet(_ context.Context, _ helper.Selector, host string) (helper.TerraformAnswer, error) {
	if host != "tf.example" {
		return helper.TerraformAnswer{}, f.err
	}
	return helper.TerraformAnswer{Token: "tok"}, f.err
}

func (f fakeCreds) Token(context.Context, helper.Selector) (helper.Credential, error) {
	if f.panic {
		panic("unexpected fault address")
	}
	return helper.Credential{Token: "tok", ExpiresAt: time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)}, f.err
}

type handed struct {
	called bool
	replay bool
	stdin  string
	stdout string // what was on stdout when it was handed over
}

// brokenStdin gives data, then a read error (a socket reset, say).
type brokenStdin struct{ data string }

func (b *brokenStdin) Read(p []byte) (int, error) {
	if b.data == "" {
		return 0, errors.New("connection reset by peer")
	}
	n := copy(p, b.data)
	b.data = b.data[n:]
	return n, nil
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errors.New("broken pipe") }

func TestServe(t *testing.T) {
	errCacheOnly := helper.ErrCacheOnly
	tests := []struct {
		name       string
		args       []string
		stdin      string
		stdinR     io.Reader // instead of stdin
		creds      fakeCreds
		stdout     io.Writer // nil: a buffer
		wantOut    string
		wantErr    string
		wantCode   int
		wantHanded *handed
	}{
		{name: "git hit", args: []string{"h", "git", "get"}, stdin: "protocol=https\nhost=git.example\n\n",
			wantOut: "username=oauth2\npassword=tok\n"},
		{name: "git not mine: nothing", args: []string{"h", "git", "get"}, stdin: "protocol=https\nhost=github.com\n\n"},
		{name: "git miss: handed over with what was read", args: []string{"h", "git", "get"}, stdin: "protocol=https\nhost=git.example\n\n",
			creds: fakeCreds{err: errCacheOnly}, wantHanded: &handed{true, true, "protocol=https\nhost=git.example\n\n", ""}},
		{name: "git bad input: the full binary says what is wrong", args: []string{"h", "git", "get"}, stdin: "garbage",
			wantHanded: &handed{true, true, "garbage", ""}},
		{name: "docker hit", args: []string{"docker-credential-authos", "get"}, stdin: "registry.example",
			wantOut: `{"ServerURL":"registry.example","Username":"oauth2","Secret":"tok"}` + "\n"},
		{name: "docker not mine: stdout, exit 1", args: []string{"docker-credential-authos", "get"}, stdin: "https://index.docker.io/v1/",
			wantOut: "credentials not found in native keychain\n", wantCode: 1},
		{name: "docker miss", args: []string{"docker-credential-authos", "get"}, stdin: "registry.example",
			creds: fakeCreds{err: errCacheOnly}, wantHanded: &handed{true, true, "registry.example", ""}},
		{name: "kube hit", args: []string{"h", "kube"},
			wantOut: `{"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1","status":{"token":"tok","expirationTimestamp":"2030-01-02T03:04:05Z"}}` + "\n"},
		{name: "kube miss: stdin untouched", args: []string{"h", "kube"}, creds: fakeCreds{err: errCacheOnly}, wantHanded: &handed{true, false, "", ""}},
		{name: "terraform hit", args: []string{"h", "terraform", "get", "tf.example"}, wantOut: `{"token":"tok"}` + "\n"},
		{name: "terraform not mine", args: []string{"h", "terraform", "get", "registry.terraform.io"}, wantOut: "{}\n"},
		{name: "token hit", args: []string{"h", "token"}, wantOut: "tok\n"},
		{name: "a panic (a fault in a mapped file): handed over", args: []string{"h", "token"}, creds: fakeCreds{panic: true},
			wantHanded: &handed{true, false, "", ""}},
		{name: "stdin broken mid-request: handed over, nothing replayed", args: []string{"h", "git", "get"},
			stdinR: &brokenStdin{"protocol=https\nhost=git.example\n"}, wantHanded: &handed{true, false, "protocol=https\nhost=git.example\n", ""}},
		{name: "help anywhere: the full binary's", args: []string{"h", "terraform", "get", "--help"}, wantHanded: &handed{true, false, "", ""}},
		{name: "help as a profile's name: the full binary's", args: []string{"h", "token", "--profile", "-h"}, wantHanded: &handed{true, false, "", ""}},
		{name: "anything else: handed over, stdin unread", args: []string{"h", "login"}, stdin: "x", wantHanded: &handed{true, false, "", ""}},
		{name: "stdout gone: one line, exit 1", args: []string{"h", "token"}, stdout: failWriter{},
			wantErr: "authos-credential-helper: writing the answer: broken pipe\n", wantCode: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			stdout := tt.stdout
			if stdout == nil {
				stdout = &out
			}
			var got handed
			stdin := tt.stdinR
			if stdin == nil {
				stdin = strings.NewReader(tt.stdin)
			}
			code := Serve(Env{
				Args: tt.args, Stdin: stdin, Stdout: stdout, Stderr: &errOut,
				Getenv: func(string) string { return "" }, Creds: tt.creds,
				Handoff: func(_ []string, replay bool, stdin []byte) error {
					got = handed{true, replay, string(stdin), out.String()}
					return errors.New("handed over") // a real hand-off does not return
				},
			})
			if tt.wantHanded != nil {
				if got != *tt.wantHanded {
					t.Fatalf("hand-off = %+v, want %+v (nothing on stdout before it)", got, *tt.wantHanded)
				}
				return
			}
			if got.called {
				t.Fatalf("handed over: %+v", got)
			}
			if code != tt.wantCode || out.String() != tt.wantOut || errOut.String() != tt.wantErr {
				t.Fatalf("code %d, stdout %q, stderr %q; want %d, %q, %q", code, out.String(), errOut.String(), tt.wantCode, tt.wantOut, tt.wantErr)
			}
		})
	}
}

// A hand-off that fails is one line, on stdout too where docker reads a
// helper's failure.
func TestHandoffFailed(t *testing.T) {
	for _, tt := range []struct {
		args      []string
		onStdout  bool
		readStdin string
	}{
		{args: []string{"h", "login"}},
		{args: []string{"docker-credential-authos", "store"}, onStdout: true},
		{args: []string{"h", "docker", "get"}, onStdout: true, readStdin: "registry.example"},
		{args: []string{"h", "git", "get"}, readStdin: "protocol=https\nhost=git.example\n\n"},
	} {
		var out, errOut bytes.Buffer
		code := Serve(Env{
			Args: tt.args, Stdin: strings.NewReader(tt.readStdin), Stdout: &out, Stderr: &errOut,
			Getenv: func(string) string { return "" }, Creds: fakeCreds{err: helper.ErrCacheOnly},
			Handoff: func([]string, bool, []byte) error { return errors.New("/x/authos-credential-helper-full is missing") },
		})
		line := "authos-credential-helper: /x/authos-credential-helper-full is missing\n"
		wantOut := ""
		if tt.onStdout {
			wantOut = line
		}
		if code != 1 || errOut.String() != line || out.String() != wantOut {
			t.Errorf("%q: code %d, stdout %q, stderr %q", tt.args, code, out.String(), errOut.String())
		}
	}
}
