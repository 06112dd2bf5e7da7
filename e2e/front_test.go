package e2e

// The Linux layout: the front door (bin, authos-credential-helper) and the
// full helper (fullBin) in one folder. The front door answers what it can
// and hands the rest to the full helper with argv and stdin unchanged;
// these tests hold whatever it answers itself, since each compares it with
// the full helper run directly.

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// result is what one run of a program gave.
type result struct {
	stdout, stderr string
	code           int
}

// runProgram runs path with args in the sandbox, in a session of its own
// (no terminal), with stdin holding *stdin through a pipe, or, when stdin
// is nil, with fd 0 closed (as some clients leave it).
func runProgram(t *testing.T, s *sandbox, stdin *string, path string, args ...string) result {
	t.Helper()
	cmd := exec.Command(path, args...)
	if stdin == nil {
		cmd = exec.Command("sh", append([]string{"-c", `exec "$0" "$@" <&-`, path}, args...)...)
	} else {
		cmd.Stdin = strings.NewReader(*stdin) // exec copies it through a pipe
	}
	cmd.Env = s.environ()
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	err := cmd.Run()
	r := result{stdout: out.String(), stderr: errb.String()}
	if ee, ok := err.(*exec.ExitError); ok {
		r.code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return r
}

func ptr(s string) *string { return &s }

// linksTo makes a folder of symlinks named names to target.
func linksTo(t *testing.T, target string, names ...string) string {
	t.Helper()
	dir := t.TempDir()
	for _, n := range names {
		if err := os.Symlink(target, filepath.Join(dir, n)); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

const gitMissRequest = "protocol=https\nhost=git.acme.example\npath=team/repo.git\n\n"

// Without the full helper beside it, the front door says so in one line
// naming the missing file for everything it cannot answer itself: a
// sign-in, status, a git get that misses. Exit 1, nothing on stdout.
func TestFrontFullHelperMissing(t *testing.T) {
	t.Parallel()
	s := newSandbox(t, "")
	s.writeConfig(t, protoConfig("https://127.0.0.1:9", []string{"registry.acme.example"}, []string{"tf.acme.example"}))
	s.env["AUTHOS_NONINTERACTIVE"] = "1"
	dir := filepath.Join(s.root, "lonely")
	door := filepath.Join(dir, "authos-credential-helper")
	copyExecutable(t, bin, door)
	missing := filepath.Join(dir, "authos-credential-helper-full")
	for _, tc := range []struct {
		name  string
		stdin string
		args  []string
	}{
		{"login", "", []string{"login", "--profile", "acme"}},
		{"status", "", []string{"status"}},
		{"git get miss", gitMissRequest, []string{"git", "get"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := runProgram(t, s, ptr(tc.stdin), door, tc.args...)
			if r.code != 1 || r.stdout != "" || strings.Count(r.stderr, "\n") != 1 || !strings.HasSuffix(r.stderr, "\n") || !strings.Contains(r.stderr, missing) {
				t.Fatalf("exit %d, stdout %q, stderr %q; want exit 1, no stdout, one line naming %s", r.code, r.stdout, r.stderr, missing)
			}
		})
	}
}

// Started under a client's name (a symlink to the front door, as
// install.sh and the packages make them), a request gets what the full
// helper started under that name gives: argv[0] reaches it intact.
func TestFrontClientLinks(t *testing.T) {
	t.Parallel()
	d := startDevServer(t)
	s := newSandbox(t, "")
	s.writeConfig(t, protoConfig(d.URL, []string{"registry.acme.example"}, []string{"tf.acme.example"}))
	tok := loginProfile(t, s, d, 1)
	s.env["AUTHOS_NONINTERACTIVE"] = "1"
	names := []string{"git-credential-authos", "docker-credential-authos", "terraform-credentials-authos", "terraform-credentials-authos_v1.2.3"}
	viaDoor, viaFull := linksTo(t, bin, names...), linksTo(t, fullBin, names...)
	for _, tc := range []struct {
		name, link, stdin string
		args              []string
		want              string // in stdout ("" : stdout empty)
	}{
		{"git get hit", "git-credential-authos", "protocol=https\nhost=git.acme.example\n\n", []string{"get"}, "password=" + tok + "\n"},
		{"git get, not my host", "git-credential-authos", "protocol=https\nhost=example.org\n\n", []string{"get"}, ""},
		{"git help", "git-credential-authos", "", []string{"--help"}, "git-credential-authos"},
		{"docker get hit", "docker-credential-authos", "registry.acme.example\n", []string{"get"}, `"Secret":"` + tok + `"`},
		{"docker list", "docker-credential-authos", "", []string{"list"}, "{"},
		{"docker version", "docker-credential-authos", "", []string{"version"}, "authos"},
		{"terraform get hit", "terraform-credentials-authos", "", []string{"get", "tf.acme.example"}, `"token":"` + tok + `"`},
		{"terraform versioned name", "terraform-credentials-authos_v1.2.3", "", []string{"get", "tf.acme.example"}, `"token":"` + tok + `"`},
		{"terraform help", "terraform-credentials-authos", "", []string{"--help"}, "terraform-credentials-authos"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := runProgram(t, s, ptr(tc.stdin), filepath.Join(viaDoor, tc.link), tc.args...)
			want := runProgram(t, s, ptr(tc.stdin), filepath.Join(viaFull, tc.link), tc.args...)
			if got != want {
				t.Fatalf("through the front door: %+v\nthe full helper: %+v", got, want)
			}
			if got.code != 0 || (tc.want == "") != (got.stdout == "") || !strings.Contains(got.stdout, tc.want) {
				t.Fatalf("exit %d, stdout %q (want %q), stderr %q", got.code, got.stdout, tc.want, got.stderr)
			}
		})
	}
}

// A git get that misses, with the request on a pipe and with stdin closed:
// what the front door read of stdin, the full helper reads again, so the
// answer is the full helper's own.
func TestFrontStdinReplay(t *testing.T) {
	t.Parallel()
	s := newSandbox(t, "")
	s.writeConfig(t, protoConfig("https://127.0.0.1:9", nil, nil))
	s.env["AUTHOS_NONINTERACTIVE"] = "1"
	for _, tc := range []struct {
		name  string
		stdin *string
		want  string // in stderr
	}{
		{"request on a pipe", ptr(gitMissRequest), "no valid AuthOS token for acme/cli"},
		{"request and more on a pipe", ptr(gitMissRequest + "protocol=https\nhost=other.example\n\n"), "no valid AuthOS token for acme/cli"},
		{"stdin closed", nil, "request has no protocol"},
		{"stdin empty", ptr(""), "request has no protocol"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := runProgram(t, s, tc.stdin, bin, "git", "get")
			want := runProgram(t, s, tc.stdin, fullBin, "git", "get")
			if got != want {
				t.Fatalf("through the front door: %+v\nthe full helper: %+v", got, want)
			}
			if got.code != 1 || got.stdout != "" || strings.Count(got.stderr, "\n") != 1 || !strings.Contains(got.stderr, tc.want) {
				t.Fatalf("exit %d, stdout %q, stderr %q; want exit 1 and one line with %q", got.code, got.stdout, got.stderr, tc.want)
			}
		})
	}
}
