package e2e

// Malformed input for every protocol: each client's failure convention, a
// one-line reason on stderr that quotes no secret, and a cache left
// byte-for-byte as it was.

import (
	"bytes"
	"context"
	"errors"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// malformedCase is one run of the binary with bad input.
type malformedCase struct {
	name  string
	proto string // git, docker, kube, terraform: decides the convention checked
	argv0 string // the name the binary is started as
	args  []string
	stdin string
	env   map[string]string // added to the sandbox's environment
	code  int               // expected exit code; -1: any non-zero
	// docker: the exact stdout line expected ("" = any one line, which must
	// then not be the not-found text: that would mean "carry on anonymously").
	stdout string
	reason string // a substring the stderr line must contain
	// quiet: the protocol wants no answer at all (git's unknown verb): exit
	// 0, nothing on stdout or stderr.
	quiet bool
}

const malSecret = "MALFORMED-SECRET-9f3a"

// runWithStdin runs the binary as argv0 in the sandbox, with stdin, in a
// session of its own.
func runWithStdin(t *testing.T, s *sandbox, links, argv0 string, args []string, stdin string, env map[string]string) (stdout, stderr string, code int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	path := bin
	if argv0 != "authos-credential-helper" {
		path = filepath.Join(links, argv0)
	}
	cmd := exec.CommandContext(ctx, path, args...)
	cmd.Args[0] = argv0
	cmd.Env = s.environ()
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	cmd.Stdin = strings.NewReader(stdin)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee) && ee.Exited():
		code = ee.ExitCode()
	default:
		t.Fatalf("%s %v: %v (stderr %q)", argv0, args, err, errOut.String())
	}
	return out.String(), errOut.String(), code
}

func malformedCases() []malformedCase {
	const (
		git  = "git-credential-authos"
		dock = "docker-credential-authos"
		tf   = "terraform-credentials-authos"
		main = "authos-credential-helper"
	)
	long := strings.Repeat("a", 70000)
	overMiB := strings.Repeat("A", 1<<20+64)
	kube := func(name, info, reason string) malformedCase {
		return malformedCase{name: name, proto: "kube", argv0: main, args: []string{"kube"},
			env: map[string]string{"KUBERNETES_EXEC_INFO": info}, code: 1, reason: reason}
	}
	var manyLines strings.Builder // under 65535 per line, over 1 MiB in all
	for manyLines.Len() <= 1<<20 {
		manyLines.WriteString("x-filler=" + strings.Repeat("b", 60000) + "\n")
	}
	return []malformedCase{
		// git: nothing on stdout, one line on stderr (exit status ignored by git).
		{name: "git get without host", proto: "git", argv0: git, args: []string{"get"}, stdin: "protocol=https\n\n", reason: "no host"},
		{name: "git get with empty host", proto: "git", argv0: git, args: []string{"get"}, stdin: "protocol=https\nhost=\n\n", reason: "no host"},
		{name: "git get without protocol", proto: "git", argv0: git, args: []string{"get"}, stdin: "host=git.acme.example\n\n", reason: "no protocol"},
		{name: "git erase without host", proto: "git", argv0: git, args: []string{"erase"}, stdin: "protocol=https\npassword=" + malSecret + "\n\n", reason: "no host"},
		{name: "git line over 65535 bytes", proto: "git", argv0: git, args: []string{"get"}, stdin: "protocol=https\nhost=git.acme.example\npath=" + long + "\n\n", reason: "65535"},
		{name: "git unterminated line over 65535 bytes", proto: "git", argv0: git, args: []string{"get"}, stdin: "protocol=https\nhost=git.acme.example\npassword=" + malSecret + long, reason: "65535"},
		{name: "git input over 1 MiB", proto: "git", argv0: git, args: []string{"get"}, stdin: "protocol=https\nhost=git.acme.example\n" + manyLines.String(), reason: "1 MiB"},
		{name: "git line without =", proto: "git", argv0: git, args: []string{"get"}, stdin: "protocol=https\nhost=git.acme.example\n" + malSecret + "\n\n", reason: "key=value"},
		{name: "git invalid UTF-8 host", proto: "git", argv0: git, args: []string{"get"}, stdin: "protocol=https\nhost=git.\xff\xfe.example\n\n", reason: "UTF-8"},
		{name: "git NUL byte", proto: "git", argv0: git, args: []string{"get"}, stdin: "protocol=https\nhost=git.acme.example\x00evil\n\n", reason: "NUL"},
		{name: "git bare CR smuggling", proto: "git", argv0: git, args: []string{"get"}, stdin: "protocol=https\nhost=git.acme.example\rhost=evil.example\n\n", reason: "carriage return"},
		{name: "git host with a slash", proto: "git", argv0: git, args: []string{"get"}, stdin: "protocol=https\nhost=git.acme.example/x.evil.example\n\n", reason: "host"},
		{name: "git unknown verb", proto: "git", argv0: git, args: []string{"capability"}, stdin: "protocol=https\nhost=git.acme.example\n\n", quiet: true},
		{name: "git unknown verb with garbage", proto: "git", argv0: git, args: []string{"frobnicate"}, stdin: "\x00\xff garbage", quiet: true},
		{name: "git subcommand without host", proto: "git", argv0: main, args: []string{"git", "get"}, stdin: "protocol=https\n\n", reason: "no host"},

		// docker: the error text on stdout, exit 1, a line on stderr.
		{name: "docker store without ServerURL", proto: "docker", argv0: dock, args: []string{"store"}, stdin: `{"Username":"u","Secret":"` + malSecret + `"}`, code: 1, stdout: "no credentials server URL", reason: "server URL"},
		{name: "docker store without Username", proto: "docker", argv0: dock, args: []string{"store"}, stdin: `{"ServerURL":"other.example:5000","Secret":"` + malSecret + `"}`, code: 1, stdout: "no credentials username", reason: "username"},
		{name: "docker store invalid JSON", proto: "docker", argv0: dock, args: []string{"store"}, stdin: `{"ServerURL":"other.example:5000","Username":"u","Secret":"` + malSecret, code: 1, reason: "JSON"},
		{name: "docker store not an object", proto: "docker", argv0: dock, args: []string{"store"}, stdin: `["other.example:5000","u","` + malSecret + `"]`, code: 1, reason: "object"},
		{name: "docker store empty", proto: "docker", argv0: dock, args: []string{"store"}, stdin: "", code: 1, reason: "empty"},
		{name: "docker store wrong field type", proto: "docker", argv0: dock, args: []string{"store"}, stdin: `{"ServerURL":"other.example:5000","Username":"u","Secret":42}`, code: 1, reason: "type"},
		{name: "docker store invalid UTF-8", proto: "docker", argv0: dock, args: []string{"store"}, stdin: `{"ServerURL":"other.example:5000","Username":"u","Secret":"` + malSecret + "\xff\xfe" + `"}`, code: 1, reason: "UTF-8"},
		{name: "docker store NUL byte", proto: "docker", argv0: dock, args: []string{"store"}, stdin: `{"ServerURL":"other.example:5000","Username":"u","Secret":"` + malSecret + "\x00" + `"}`, code: 1, reason: "NUL"},
		{name: "docker store escaped NUL", proto: "docker", argv0: dock, args: []string{"store"}, stdin: `{"ServerURL":"other.example:5000","Username":"u","Secret":"` + malSecret + `\u0000x"}`, code: 1, reason: "NUL"},
		{name: "docker store over 1 MiB", proto: "docker", argv0: dock, args: []string{"store"}, stdin: `{"ServerURL":"other.example:5000","Username":"u","Secret":"` + malSecret + overMiB + `"}`, code: 1, reason: "1 MiB"},
		{name: "docker get over 1 MiB", proto: "docker", argv0: dock, args: []string{"get"}, stdin: "127.0.0.1:5999" + overMiB, code: 1, reason: "1 MiB"},
		{name: "docker get empty", proto: "docker", argv0: dock, args: []string{"get"}, stdin: "", code: 1, stdout: "no credentials server URL", reason: "server URL"},
		{name: "docker get invalid UTF-8", proto: "docker", argv0: dock, args: []string{"get"}, stdin: "127.0.0.1:5999\xff", code: 1, reason: "UTF-8"},
		{name: "docker get NUL byte", proto: "docker", argv0: dock, args: []string{"get"}, stdin: "127.0.0.1:5999\x00other.example:5000", code: 1, reason: "control"},
		{name: "docker erase NUL byte", proto: "docker", argv0: dock, args: []string{"erase"}, stdin: "other.example:5000\x00", code: 1, reason: "control"},
		{name: "docker erase over 1 MiB", proto: "docker", argv0: dock, args: []string{"erase"}, stdin: "other.example:5000" + overMiB, code: 1, reason: "1 MiB"},
		{name: "docker subcommand store without Username", proto: "docker", argv0: main, args: []string{"docker", "store"}, stdin: `{"ServerURL":"other.example:5000"}`, code: 1, stdout: "no credentials username", reason: "username"},

		// kube: exit 1, nothing on stdout, a line on stderr.
		kube("kube invalid JSON", `{"kind":"ExecCredential","apiVersion":`, "JSON"),
		kube("kube not an object", `["ExecCredential"]`, "object"),
		kube("kube missing fields", `{}`, "kind"),
		kube("kube missing apiVersion", `{"kind":"ExecCredential","spec":{"interactive":false}}`, "apiVersion"),
		kube("kube unsupported apiVersion", `{"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1alpha1","spec":{}}`, "apiVersion"),
		kube("kube wrong field type", `{"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1","spec":{"interactive":"yes"}}`, "type"),
		kube("kube invalid UTF-8", "{\"kind\":\"ExecCredential\",\"apiVersion\":\"client.authentication.k8s.io/v1\",\"spec\":{\"cluster\":{\"server\":\"https://k8s.\xff.example\"}}}", "UTF-8"),
		kube("kube wrong kind", `{"kind":"Pod","apiVersion":"client.authentication.k8s.io/v1","spec":{}}`, "kind"),

		// terraform: non-zero exit, nothing on stdout, a line on stderr.
		{name: "terraform store not an object (string)", proto: "terraform", argv0: tf, args: []string{"store", "other.example.com"}, stdin: `"` + malSecret + `"`, code: 1, reason: "object"},
		{name: "terraform store not an object (array)", proto: "terraform", argv0: tf, args: []string{"store", "other.example.com"}, stdin: `[{"token":"` + malSecret + `"}]`, code: 1, reason: "object"},
		{name: "terraform store not an object (null)", proto: "terraform", argv0: tf, args: []string{"store", "tf.acme.example"}, stdin: `null`, code: 1, reason: "object"},
		{name: "terraform store invalid JSON", proto: "terraform", argv0: tf, args: []string{"store", "other.example.com"}, stdin: `{"token":"` + malSecret, code: 1, reason: "JSON"},
		{name: "terraform store empty", proto: "terraform", argv0: tf, args: []string{"store", "other.example.com"}, stdin: "", code: 1, reason: "empty"},
		{name: "terraform store token not a string", proto: "terraform", argv0: tf, args: []string{"store", "other.example.com"}, stdin: `{"token":{"value":"` + malSecret + `"}}`, code: 1, reason: "token"},
		{name: "terraform store invalid UTF-8", proto: "terraform", argv0: tf, args: []string{"store", "other.example.com"}, stdin: `{"token":"` + malSecret + "\xff" + `"}`, code: 1, reason: "UTF-8"},
		{name: "terraform store NUL byte", proto: "terraform", argv0: tf, args: []string{"store", "other.example.com"}, stdin: `{"token":"` + malSecret + "\x00" + `"}`, code: 1, reason: "NUL"},
		{name: "terraform store escaped NUL", proto: "terraform", argv0: tf, args: []string{"store", "other.example.com"}, stdin: `{"token":"` + malSecret + `\u0000"}`, code: 1, reason: "NUL"},
		{name: "terraform store over 1 MiB", proto: "terraform", argv0: tf, args: []string{"store", "other.example.com"}, stdin: `{"token":"` + malSecret + overMiB + `"}`, code: 1, reason: "1 MiB"},
		{name: "terraform wrong verb", proto: "terraform", argv0: tf, args: []string{"erase", "other.example.com"}, code: -1, reason: "unknown verb"},
		{name: "terraform missing host", proto: "terraform", argv0: tf, args: []string{"get"}, code: -1, reason: "usage"},
		{name: "terraform missing verb and host", proto: "terraform", argv0: tf, code: -1, reason: "usage"},
		{name: "terraform extra argument", proto: "terraform", argv0: tf, args: []string{"forget", "other.example.com", "extra"}, code: -1, reason: "usage"},
		{name: "terraform empty host", proto: "terraform", argv0: tf, args: []string{"forget", ""}, code: -1, reason: "empty"},
		{name: "terraform host with a slash", proto: "terraform", argv0: tf, args: []string{"get", "tf.acme.example/evil"}, code: -1, reason: "host"},
		{name: "terraform host invalid UTF-8", proto: "terraform", argv0: tf, args: []string{"forget", "other.\xff.example"}, code: -1, reason: "UTF-8"},
		{name: "terraform host with a control character", proto: "terraform", argv0: tf, args: []string{"get", "tf.acme.example\rx"}, code: -1, reason: "host"},
		{name: "terraform host bad port", proto: "terraform", argv0: tf, args: []string{"get", "tf.acme.example:99999"}, code: -1, reason: "port"},
		{name: "terraform subcommand wrong verb", proto: "terraform", argv0: main, args: []string{"terraform", "list", "other.example.com"}, code: -1, reason: "unknown verb"},
	}
}

func TestMalformedInput(t *testing.T) {
	t.Parallel()
	d := startDevServer(t)
	s := newSandbox(t, "")
	s.writeConfig(t, protoConfig(d.URL, []string{"127.0.0.1:5999"}, []string{"tf.acme.example"}))
	links := helperLinks(t, "git-credential-authos", "docker-credential-authos", "terraform-credentials-authos")
	s.env["AUTHOS_PROFILE"] = "acme"
	tok := s.login(t, d, 1, "alice@acme.example")
	// Something of every kind to protect: the token, a docker record, a
	// Terraform record.
	if out, errOut, code := runWithStdin(t, s, links, "docker-credential-authos", []string{"store"}, `{"ServerURL":"other.example:5000","Username":"u","Secret":"kept"}`, nil); code != 0 {
		t.Fatalf("docker store: %d %q %q", code, out, errOut)
	}
	if out, errOut, code := runWithStdin(t, s, links, "terraform-credentials-authos", []string{"store", "other.example.com"}, `{"token":"kept"}`, nil); code != 0 {
		t.Fatalf("terraform store: %d %q %q", code, out, errOut)
	}
	before := d.codes(t)
	initial := snapshot(t, s.root)

	for _, tc := range malformedCases() {
		t.Run(tc.name, func(t *testing.T) {
			snap := snapshot(t, s.root)
			start := time.Now()
			stdout, stderr, code := runWithStdin(t, s, links, tc.argv0, tc.args, tc.stdin, tc.env)
			if el := time.Since(start); el > 10*time.Second {
				t.Errorf("took %v", el)
			}
			t.Logf("exit %d, stdout %.100q, stderr %.200q", code, stdout, stderr)
			for _, leaked := range []string{malSecret, tok} {
				if strings.Contains(stdout, leaked) || strings.Contains(stderr, leaked) {
					t.Errorf("output quotes a secret from the input or the cache: stdout %.200q stderr %.200q", stdout, stderr)
				}
			}
			if after := snapshot(t, s.root); after != snap {
				t.Errorf("the cache changed:\n%s---\n%s", snap, after)
			}
			if tc.quiet {
				if code != 0 || stdout != "" || stderr != "" {
					t.Fatalf("want exit 0 and no output, got %d stdout %.200q stderr %.200q", code, stdout, stderr)
				}
				return
			}
			line, ok := strings.CutSuffix(stderr, "\n")
			if !ok || strings.TrimSpace(line) == "" || strings.Contains(line, "\n") {
				t.Errorf("stderr is not one line: %.300q", stderr)
			}
			if !strings.Contains(line, tc.reason) {
				t.Errorf("stderr %.300q does not give the reason (%q)", stderr, tc.reason)
			}
			switch tc.proto {
			case "git":
				if stdout != "" {
					t.Errorf("git: stdout %.200q, want nothing", stdout)
				}
				if code != 0 && code != 1 {
					t.Errorf("git: exit %d, want 0 or 1", code)
				}
			case "docker":
				out, ok := strings.CutSuffix(stdout, "\n")
				if code != 1 || !ok || out == "" || strings.Contains(out, "\n") {
					t.Errorf("docker: exit %d stdout %.200q; want exit 1 and the error on one stdout line", code, stdout)
				}
				if tc.stdout != "" && out != tc.stdout {
					t.Errorf("docker: stdout %q, want %q", out, tc.stdout)
				}
				if tc.stdout == "" && strings.Contains(out, "credentials not found") {
					t.Errorf("docker: bad input answered as not found (docker would carry on anonymously): %q", out)
				}
			case "kube", "terraform":
				if stdout != "" {
					t.Errorf("%s: stdout %.200q, want nothing", tc.proto, stdout)
				}
			}
			if tc.code == -1 && code == 0 || tc.code > 0 && code != tc.code {
				t.Errorf("exit %d, want %d (-1: non-zero)", code, tc.code)
			}
		})
	}

	if after := snapshot(t, s.root); after != initial {
		t.Fatalf("malformed input changed the cache")
	}
	if after := d.codes(t); after.DeviceCodeRequests != before.DeviceCodeRequests || after.TokenRequests != before.TokenRequests {
		t.Fatalf("malformed input reached AuthOS: %+v -> %+v", before, after)
	}
	// What was protected still works.
	if out, _, code := runWithStdin(t, s, links, "terraform-credentials-authos", []string{"get", "other.example.com"}, "", nil); code != 0 || strings.TrimSpace(out) != `{"token":"kept"}` {
		t.Fatalf("stored Terraform record after the malformed runs: %d %q", code, out)
	}
	if out, _, code := runWithStdin(t, s, links, "docker-credential-authos", []string{"get"}, "other.example:5000", nil); code != 0 || !strings.Contains(out, `"Secret":"kept"`) {
		t.Fatalf("stored docker record after the malformed runs: %d %q", code, out)
	}
	if out, _, code := runWithStdin(t, s, links, "terraform-credentials-authos", []string{"get", "tf.acme.example"}, "", nil); code != 0 || !strings.Contains(out, tok) {
		t.Fatalf("cached token after the malformed runs: %d", code)
	}
}
