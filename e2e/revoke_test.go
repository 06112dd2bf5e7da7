package e2e

// Issue 11, items 2 and 3 through the helper's own commands: status
// --check, revalidation's fail-fast message, and a waiting process that
// shows the code of the sign-in it waits for.

import (
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// status --check asks AuthOS now: alive, then, once the session is ended
// at the server, revoked, and the token is dropped (a dead token must not
// be served).
func TestStatusCheckShowsRevoked(t *testing.T) {
	t.Parallel()
	d := startDevServer(t)
	s := newSandbox(t, "")
	s.writeConfig(t, profileConfig(d.URL))
	tok := loginProfile(t, s, d, 1)

	session := func() (string, bool) {
		out, errOut, code := s.run(t, "status", "--check", "--json")
		var rep struct {
			Identities []struct {
				Session string `json:"session"`
				Valid   bool   `json:"valid"`
			} `json:"identities"`
		}
		if err := json.Unmarshal([]byte(out), &rep); code != 0 || err != nil || len(rep.Identities) != 1 {
			t.Fatalf("status --check --json: exit %d, %v\n%s%s", code, err, out, errOut)
		}
		return rep.Identities[0].Session, rep.Identities[0].Valid
	}
	if got, valid := session(); got != "alive" || !valid {
		t.Fatalf("before the revocation: session %q, valid %v", got, valid)
	}
	revokeAtServer(t, d, tok)
	if out, _, _ := s.run(t, "status"); !strings.Contains(out, "(in ") {
		t.Fatalf("plain status asked the server (it is offline until --check):\n%s", out)
	}
	out, _, code := s.run(t, "status", "--check")
	if code != 0 || !strings.Contains(out, "SESSION") || !strings.Contains(out, "revoked") {
		t.Fatalf("status --check after the revocation: exit %d\n%s", code, out)
	}
	if out, _, _ := s.run(t, "status", "--json"); strings.Contains(out, `"valid": true`) {
		t.Fatalf("the revoked token is still served:\n%s", out)
	}
}

// A revalidation that finds the session ended, with nobody to prompt:
// the token is dropped and the message names the cause and the fix.
func TestRevalidationRevokedFailsFast(t *testing.T) {
	t.Parallel()
	d := startDevServer(t)
	s := newSandbox(t, "")
	s.writeConfig(t, profileConfig(d.URL, `revalidate = "1ms"`))
	tok := loginProfile(t, s, d, 1)
	s.env["AUTHOS_NONINTERACTIVE"] = "1"
	if out, errOut, code := s.run(t, "token", "--profile", "acme"); code != 0 || strings.TrimSpace(out) != tok {
		t.Fatalf("token with a live session: exit %d %s", code, errOut)
	}
	revokeAtServer(t, d, tok)
	start := time.Now()
	out, errOut, code := s.run(t, "token", "--profile", "acme")
	if code != 1 || out != "" || !strings.Contains(errOut, "session has ended at the server") ||
		!strings.Contains(errOut, "run: authos-credential-helper login --profile acme") || strings.Count(errOut, "\n") != 1 {
		t.Fatalf("token after the revocation: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("took %v", took)
	}
	if _, _, code := s.run(t, "token", "--profile", "acme"); code != 1 {
		t.Fatal("the revoked token was served on the next call")
	}
	if n := d.codes(t).DeviceCodeRequests; n != 1 {
		t.Fatalf("%d device codes, want 1 (nobody to prompt)", n)
	}
}

// Two processes need a token at once: the second waits for the first's
// sign-in and shows the same address and user code, so a person who sees
// only the second (the first is an IDE's background fetch) can approve
// it. One device code; both get the token.
func TestWaiterShowsTheSignInInProgress(t *testing.T) {
	t.Parallel()
	d := startDevServer(t)
	s := newSandbox(t, "")
	s.writeConfig(t, profileConfig(d.URL))
	hidden := s.start(t, "token", "--profile", "acme")
	c := d.waitPendingCode(t, 1)
	seen := s.start(t, "token", "--profile", "acme")
	waitFor(t, "the waiting process to show the code", 15*time.Second, func() bool {
		return strings.Contains(seen.stderr.String(), c.UserCode)
	})
	if !strings.Contains(seen.stderr.String(), "already in progress in another process") {
		t.Errorf("the waiter does not say it waits:\n%s", seen.stderr.String())
	}
	// What is shared: a private file with the address and the user code.
	flows := flowFiles(t, s)
	if len(flows) != 1 {
		t.Fatalf("flow files while signing in: %v", flows)
	}
	st, err := os.Stat(flows[0])
	b, _ := os.ReadFile(flows[0])
	if err != nil || st.Mode().Perm() != 0o600 || strings.Contains(string(b), "device_code") || !strings.Contains(string(b), c.UserCode) {
		t.Fatalf("flow file %s (%v, %v): %s", flows[0], st.Mode(), err, b)
	}
	d.control(t, "approve", c.UserCode, binUser)
	for _, p := range []*proc{hidden, seen} {
		if code := p.wait(t); code != 0 {
			t.Fatalf("token exited %d: %s", code, p.stderr.String())
		}
	}
	if a, b := hidden.stdout.String(), seen.stdout.String(); a == "" || a != b {
		t.Fatal("the two processes got different tokens")
	}
	if n := d.codes(t).DeviceCodeRequests; n != 1 {
		t.Fatalf("%d device codes, want 1", n)
	}
	if flows := flowFiles(t, s); len(flows) != 0 {
		t.Fatalf("flow files left after the sign-in: %v", flows)
	}
}

// flowFiles lists the shared sign-ins in progress anywhere in the sandbox.
func flowFiles(t *testing.T, s *sandbox) []string {
	t.Helper()
	var out []string
	filepath.WalkDir(s.root, func(p string, de fs.DirEntry, err error) error {
		if err == nil && strings.HasSuffix(p, ".flow") {
			out = append(out, p)
		}
		return nil
	})
	return out
}

// A revalidation that gets no answer serves the cached token: a server
// that is gone (refused at once) or hangs (cut at the 2 s timeout).
func TestRevalidationWithoutAnAnswerServesTheCache(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		down func(t *testing.T, d *devServer)
	}{
		{"server gone", func(t *testing.T, d *devServer) { d.stop() }},
		{"server hangs", func(t *testing.T, d *devServer) {
			d.fault(t, fault{Route: "/api/user", Status: 200, Body: `{}`, ContentType: "application/json", DelayMS: 20000, Count: 5})
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			d := startDevServer(t)
			s := newSandbox(t, "")
			s.writeConfig(t, profileConfig(d.URL, `revalidate = "1ms"`))
			tok := loginProfile(t, s, d, 1)
			tc.down(t, d)
			start := time.Now()
			out, errOut, code := s.run(t, "token", "--profile", "acme")
			if code != 0 || strings.TrimSpace(out) != tok || errOut != "" {
				t.Fatalf("token with no answer from the server: exit %d, stderr %q", code, errOut)
			}
			if took := time.Since(start); took > 4*time.Second {
				t.Fatalf("a revalidation without an answer took %v, want at most the 2 s timeout", took)
			}
		})
	}
}

// startOnPTY runs the helper with a terminal of cols columns as its
// controlling terminal and stderr.
func startOnPTY(t *testing.T, s *sandbox, cols uint16, args ...string) (*proc, *syncBuffer) {
	t.Helper()
	master, slave := openPTY(t, cols)
	p := &proc{cmd: exec.Command(bin, args...), done: make(chan struct{})}
	p.cmd.Env = append(s.environ(), "TERM=xterm", "AUTHOS_NO_BROWSER=1", "AUTHOS_NO_QR=1")
	p.cmd.Stdin, p.cmd.Stderr, p.cmd.Stdout = slave, slave, &p.stdout
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	slave.Close()
	go func() {
		err := p.cmd.Wait()
		if ee, ok := err.(*exec.ExitError); ok {
			p.code = ee.ExitCode()
		}
		close(p.done)
	}()
	t.Cleanup(func() { p.cmd.Process.Kill(); <-p.done })
	screen := &syncBuffer{}
	go io.Copy(screen, master)
	return p, screen
}

// The live status line under the prompt is never as wide as the terminal:
// the "server trouble … retrying" line (125 characters here) used to wrap,
// and the wrapped rows piled up once a second at 80 and 120 columns.
func TestLiveLineFitsTheTerminal(t *testing.T) {
	t.Parallel()
	for _, cols := range []uint16{80, 120} {
		t.Run(fmt.Sprint(cols), func(t *testing.T) {
			t.Parallel()
			d := startDevServer(t)
			s := newSandbox(t, d.URL)
			p, screen := startOnPTY(t, s, cols, "login")
			c := d.waitPendingCode(t, 1)
			d.fault(t, fault{Route: "/auth/token", Status: 503, ContentType: "application/json", Count: 2,
				Body: `{"error":"the database behind this AuthOS server is being upgraded; please try again in a little while","error_code":"SERVICE_UNAVAILABLE"}`})
			waitFor(t, "two server trouble lines", 20*time.Second, func() bool { return strings.Count(screen.String(), "server trouble") >= 2 })
			d.control(t, "approve", c.UserCode, binUser)
			if code := p.wait(t); code != 0 {
				t.Fatalf("login exited %d\n%s", code, screen.String())
			}
			live := 0
			for _, seg := range strings.Split(screen.String(), "\r\033[K")[1:] {
				seg, _, _ = strings.Cut(seg, "\r")
				seg, _, _ = strings.Cut(seg, "\n")
				if seg == "" || strings.HasPrefix(seg, "authos:") {
					continue
				}
				live++
				if w := len([]rune(seg)); w >= int(cols) {
					t.Errorf("a live line of %d columns on a %d-column terminal: %q", w, cols, seg)
				}
				if strings.Contains(seg, "server trouble") && !strings.HasSuffix(seg, " left") {
					t.Errorf("the countdown was cut: %q", seg)
				}
			}
			if live == 0 || !strings.Contains(screen.String(), "server trouble (") {
				t.Fatalf("no live line drawn:\n%q", screen.String())
			}
		})
	}
}
