package e2e

// The use case's guarantees from issue 9, seen from outside: tokens checked
// before they are served, nothing secret in the failure marker, logout
// never leaving a revoked token being served, the store checked before a
// sign-in and an approved token never lost, a corrupt entry explained.

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// fakeJWT is an unsigned JWT-shaped token with the given JSON claims.
func fakeJWT(claims string) string {
	b := base64.RawURLEncoding.EncodeToString
	return b([]byte(`{"alg":"RS256","typ":"JWT"}`)) + "." + b([]byte(claims)) + "." + b([]byte("not-a-signature"))
}

// tokenAnswer is a 200 from /auth/token carrying tok, as JSON.
func tokenAnswer(tok string, headers map[string]string) fault {
	body, _ := json.Marshal(map[string]any{"access_token": tok, "token_type": "Bearer", "expires_in": 3600})
	return fault{Route: "/auth/token", Status: 200, Body: string(body), ContentType: "application/json", Headers: headers}
}

// startIn is sandbox.start with stdin.
func (s *sandbox) startIn(t *testing.T, stdin string, args ...string) *proc {
	t.Helper()
	p := &proc{cmd: exec.Command(bin, args...), done: make(chan struct{})}
	p.cmd.Env = s.environ()
	p.cmd.Stdin = strings.NewReader(stdin)
	p.cmd.Stdout, p.cmd.Stderr = &p.stdout, &p.stderr
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		err := p.cmd.Wait()
		if ee, ok := err.(*exec.ExitError); ok {
			p.code = ee.ExitCode()
			if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
				p.code = -int(ws.Signal())
			}
		}
		close(p.done)
	}()
	t.Cleanup(func() { p.cmd.Process.Kill(); <-p.done })
	return p
}

// profileSandbox is a sandbox whose one profile "acme" serves git, docker
// and Terraform hosts, chosen for token/login/kube by AUTHOS_PROFILE.
func profileSandbox(t *testing.T, d *devServer) *sandbox {
	t.Helper()
	s := newSandbox(t, "")
	s.writeConfig(t, protoConfig(d.URL, []string{"registry.acme.example"}, []string{"tf.acme.example"}))
	s.env["AUTHOS_PROFILE"] = "acme"
	return s
}

// cacheFiles lists every file under the helper's cache folder.
func cacheFiles(t *testing.T, s *sandbox) []string {
	t.Helper()
	var out []string
	filepath.WalkDir(filepath.Dir(s.tokensDir()), func(path string, de os.DirEntry, err error) error {
		if err == nil && de.IsDir() && de.Name() == "jwks" {
			return filepath.SkipDir // the servers' public keys, kept after a sign-in: no token
		}
		if err == nil && !de.IsDir() {
			out = append(out, path)
		}
		return nil
	})
	return out
}

// fsImmutable is FS_IMMUTABLE_FL (linux/fs.h): chattr +i.
const fsImmutable = 0x10

func setImmutable(path string, on bool) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	flags, err := unix.IoctlGetUint32(int(f.Fd()), unix.FS_IOC_GETFLAGS)
	if err != nil {
		return err
	}
	if on {
		flags |= fsImmutable
	} else {
		flags &^= fsImmutable
	}
	return unix.IoctlSetPointerInt(int(f.Fd()), unix.FS_IOC_SETFLAGS, int(flags))
}

// freeze makes dir's entries impossible to add or remove, until the test
// ends. Root ignores permission bits, so as root (these tests' usual user)
// it sets the immutable attribute; otherwise it takes the write bit away.
func freeze(t *testing.T, dir string) {
	t.Helper()
	if os.Geteuid() == 0 {
		if err := setImmutable(dir, true); err != nil {
			t.Fatalf("chattr +i %s (the test needs a file system with the immutable attribute, e.g. ext4): %v", dir, err)
		}
		t.Cleanup(func() { setImmutable(dir, false) })
	} else {
		if err := os.Chmod(dir, 0o500); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.Chmod(dir, 0o700) })
	}
	if err := os.WriteFile(filepath.Join(dir, "probe"), nil, 0o600); err == nil {
		t.Fatalf("%s is still writable", dir)
	}
}

// oneLineWith fails unless exactly one line of stderr contains want.
func oneLineWith(t *testing.T, stderr, want string) string {
	t.Helper()
	var found []string
	for _, l := range strings.Split(stderr, "\n") {
		if strings.Contains(l, want) {
			found = append(found, l)
		}
	}
	if len(found) != 1 {
		t.Fatalf("want one stderr line with %q, got %d:\n%s", want, len(found), stderr)
	}
	return found[0]
}

// TestUnusableServerTokenIsRefused: an expired token, or one carrying CR,
// LF or an escape sequence, fails the login of every front end (token and
// docker get here) with a clear line; nothing reaches stdout or the cache.
func TestUnusableServerTokenIsRefused(t *testing.T) {
	t.Parallel()
	now := time.Now()
	expired := fakeJWT(fmt.Sprintf(`{"sub":"u1","email":"alice@acme.example","exp":%d}`, now.Add(-time.Hour).Unix()))
	good := fakeJWT(fmt.Sprintf(`{"sub":"u1","exp":%d}`, now.Add(time.Hour).Unix()))
	tests := []struct {
		name, token string
		args        []string
		stdin       string
		want        string
	}{
		{name: "token: expired an hour ago", token: expired, args: []string{"token"}, want: "it expired at"},
		{name: "token: CR LF appended", token: good + "\r\n", args: []string{"token"}, want: "is 0x0d, not base64url"},
		{name: "docker get: escape sequence", token: good + "\x1b]0;owned\x07", args: []string{"docker", "get"}, stdin: "registry.acme.example\n", want: "is 0x1b, not base64url"},
		{name: "docker get: expired", token: expired, args: []string{"docker", "get"}, stdin: "registry.acme.example\n", want: "it expired at"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			d := startDevServer(t)
			s := profileSandbox(t, d)
			d.fault(t, tokenAnswer(tc.token, nil))
			p := s.startIn(t, tc.stdin, tc.args...)
			if code := p.wait(t); code != 1 {
				t.Fatalf("exit %d, want 1; stdout %q; stderr:\n%s", code, p.stdout.String(), p.stderr.String())
			}
			line := oneLineWith(t, p.stderr.String(), "returned an unusable access token")
			if !strings.Contains(line, tc.want) || !strings.Contains(line, "nothing was stored") || !strings.HasPrefix(line, "authos-credential-helper: ") {
				t.Errorf("error line %q, want %q", line, tc.want)
			}
			payload := strings.Split(tc.token, ".")[1]
			for name, out := range map[string]string{"stdout": p.stdout.String(), "stderr": p.stderr.String()} {
				if strings.Contains(out, payload) || strings.ContainsAny(out, "\r\x1b") {
					t.Errorf("%s carries the token or its control bytes: %q", name, out)
				}
			}
			if f := cacheFiles(t, s); len(f) != 0 {
				t.Errorf("cache holds %v after a refused token", f)
			}
		})
	}
}

// TestClockSkewIsNamed: when the server's Date header is hours off, the
// refusal of its expired token blames the clock. (Needs authos.Token's
// ServerDate filled from the Date header, added on the HTTP side.)
func TestClockSkewIsNamed(t *testing.T) {
	t.Parallel()
	d := startDevServer(t)
	s := newSandbox(t, d.URL)
	serverNow := time.Now().Add(-2 * time.Hour)
	// The server issued a one-hour token by its clock: expired by ours.
	tok := fakeJWT(fmt.Sprintf(`{"sub":"u1","exp":%d}`, serverNow.Add(time.Hour).Unix()))
	d.fault(t, tokenAnswer(tok, map[string]string{"Date": serverNow.UTC().Format(http.TimeFormat)}))
	out, errOut, code := s.run(t, "token")
	if code != 1 || out != "" {
		t.Fatalf("exit %d, stdout %q", code, out)
	}
	oneLineWith(t, errOut, "the server's clock is 2h behind this machine's; fix the clock")
}

// TestApprovedTokenHandedOverWhenCachingFails: the cache becomes unusable
// while the person approves (after the store's check passed); every front
// end still hands the approved token to its caller, says once on stderr
// that it could not be cached, and leaves no file behind. login, which
// exists to cache, fails.
func TestApprovedTokenHandedOverWhenCachingFails(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		args     []string
		stdin    string
		wantCode int
		token    func(t *testing.T, stdout string) string // "" when stdout must be empty
	}{
		{name: "token", args: []string{"token"}, token: func(t *testing.T, out string) string { return strings.TrimSuffix(out, "\n") }},
		{name: "git get", args: []string{"git", "get"}, stdin: "protocol=https\nhost=git.acme.example\n\n", token: func(t *testing.T, out string) string {
			for _, l := range strings.Split(out, "\n") {
				if v, ok := strings.CutPrefix(l, "password="); ok {
					return v
				}
			}
			return ""
		}},
		{name: "docker get", args: []string{"docker", "get"}, stdin: "registry.acme.example\n", token: func(t *testing.T, out string) string {
			var c struct{ Secret string }
			json.Unmarshal([]byte(out), &c)
			return c.Secret
		}},
		{name: "kube", args: []string{"kube"}, token: func(t *testing.T, out string) string {
			var c struct {
				Status struct{ Token string } `json:"status"`
			}
			json.Unmarshal([]byte(out), &c)
			return c.Status.Token
		}},
		{name: "login", args: []string{"login"}, wantCode: 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			d := startDevServer(t)
			s := profileSandbox(t, d)
			if err := os.MkdirAll(s.tokensDir(), 0o700); err != nil {
				t.Fatal(err)
			}
			p := s.startIn(t, tc.stdin, tc.args...)
			c := d.waitPendingCode(t, 1)
			// The disk goes away under the flow: the tokens folder becomes a file.
			if err := os.Remove(s.tokensDir()); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(s.tokensDir(), []byte("in the way\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			d.control(t, "approve", c.UserCode, "alice@acme.example")
			code := p.wait(t)
			stdout, stderr := p.stdout.String(), p.stderr.String()
			if code != tc.wantCode {
				t.Fatalf("exit %d, want %d; stderr:\n%s", code, tc.wantCode, stderr)
			}
			line := oneLineWith(t, stderr, "could not be cached")
			if !strings.Contains(line, s.tokensDir()) || !strings.Contains(line, "not a directory") {
				t.Errorf("warning %q does not give the reason", line)
			}
			if tc.token == nil {
				if stdout != "" {
					t.Errorf("login wrote %q on stdout", stdout)
				}
				oneLineWith(t, stderr, "but nothing was stored (see the warning above)")
			} else if tok := tc.token(t, stdout); tok == "" || d.userStatus(t, tok) != http.StatusOK {
				t.Errorf("no working token handed over; stdout %q", stdout)
			}
			if f := cacheFiles(t, s); len(f) != 1 || f[0] != s.tokensDir() {
				t.Errorf("cache folder holds %v, want only the file we put there", f)
			}
		})
	}
}

// TestUnusableStoreIsFoundBeforeAnySignIn: with a tokens folder that cannot
// be written, token fails at once with one line naming it, and no device
// code is requested. (The read-only case needs the store's write probe in
// cache.Store.Ready.)
func TestUnusableStoreIsFoundBeforeAnySignIn(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		spoil func(t *testing.T, tokens string)
	}{
		{name: "tokens folder is a file", spoil: func(t *testing.T, tokens string) {
			if err := os.WriteFile(tokens, []byte("in the way\n"), 0o600); err != nil {
				t.Fatal(err)
			}
		}},
		{name: "tokens folder is read-only", spoil: func(t *testing.T, tokens string) {
			if err := os.Mkdir(tokens, 0o700); err != nil {
				t.Fatal(err)
			}
			freeze(t, tokens)
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			d := startDevServer(t)
			s := newSandbox(t, d.URL)
			if err := os.MkdirAll(filepath.Dir(s.tokensDir()), 0o700); err != nil {
				t.Fatal(err)
			}
			tc.spoil(t, s.tokensDir())
			p := s.start(t, "token")
			waitFor(t, "token to fail or a device code to be requested", 20*time.Second, func() bool {
				select {
				case <-p.done:
					return true
				default:
					return d.codes(t).DeviceCodeRequests > 0
				}
			})
			if n := d.codes(t).DeviceCodeRequests; n != 0 {
				t.Fatalf("%d device codes requested although the store cannot keep the token", n)
			}
			if code := p.wait(t); code != 1 || p.stdout.String() != "" {
				t.Fatalf("exit %d, stdout %q", code, p.stdout.String())
			}
			oneLineWith(t, p.stderr.String(), s.tokensDir())
		})
	}
}

// blockingProxy forwards to the dev server but holds every logout request
// until the client goes away, reporting its arrival on arrived.
type blockingProxy struct {
	URL     string
	arrived chan struct{}
}

func startBlockingProxy(t *testing.T, target string) *blockingProxy {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	rp := httputil.NewSingleHostReverseProxy(u)
	bp := &blockingProxy{arrived: make(chan struct{}, 1)}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/api/auth/logout" || r.URL.Path == "/auth/revoke" {
			select {
			case bp.arrived <- struct{}{}:
			default:
			}
			<-r.Context().Done()
			return
		}
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	bp.URL = srv.URL
	return bp
}

// TestLogoutNeverLeavesARevokedTokenServed: logout forgets the token
// locally before it ends the session at the server. Killed in between, the
// token is no longer served; with a cache that cannot be changed, logout
// fails without revoking, so the token it keeps serving still works.
func TestLogoutNeverLeavesARevokedTokenServed(t *testing.T) {
	t.Parallel()
	t.Run("cache cannot be changed", func(t *testing.T) {
		t.Parallel()
		d := startDevServer(t)
		s := newSandbox(t, d.URL)
		tok := s.login(t, d, 1, "alice@acme.example")
		freeze(t, s.tokensDir())
		_, errOut, code := s.run(t, "logout")
		if code != 1 {
			t.Fatalf("logout exited %d with an unchangeable cache:\n%s", code, errOut)
		}
		line := oneLineWith(t, errOut, "could not forget the cached token")
		if !strings.Contains(line, "the session was not ended, so that token still works") {
			t.Errorf("logout said %q", line)
		}
		s.env["AUTHOS_NONINTERACTIVE"] = "1"
		out, errOut, code := s.run(t, "token")
		if code != 0 || strings.TrimSpace(out) != tok {
			t.Fatalf("token after the failed logout: %d %s", code, errOut)
		}
		if st := d.userStatus(t, tok); st != http.StatusOK {
			t.Fatalf("the token still served answers %d at the server: a revoked token is being served", st)
		}
	})
	t.Run("killed between forgetting and revoking", func(t *testing.T) {
		t.Parallel()
		d := startDevServer(t)
		px := startBlockingProxy(t, d.URL)
		s := newSandbox(t, px.URL)
		tok := s.login(t, d, 1, "alice@acme.example")
		p := s.start(t, "logout")
		select {
		case <-px.arrived:
		case <-p.done:
			t.Fatalf("logout ended before reaching the server: %d %s", p.code, p.stderr.String())
		case <-time.After(20 * time.Second):
			t.Fatal("logout never reached the server")
		}
		p.cmd.Process.Kill()
		p.wait(t)
		s.env["AUTHOS_NONINTERACTIVE"] = "1"
		if out, errOut, code := s.run(t, "token"); code == 0 || strings.Contains(out, tok) {
			t.Fatalf("after a logout killed mid-way the token is still served (exit %d): %s", code, errOut)
		}
		if n := validIdentities(t, s); n != 0 {
			t.Fatalf("status reports %d valid identities after the logout", n)
		}
	})
}

// TestFailureMarkerHoldsNoToken: a failed sign-in's marker, plain text on
// disk for the processes that waited, is redacted like stderr.
func TestFailureMarkerHoldsNoToken(t *testing.T) {
	t.Parallel()
	d := startDevServer(t)
	s := newSandbox(t, d.URL)
	secret := fakeJWT(`{"sub":"leaked","exp":4000000000}`)
	d.fault(t, fault{Route: "/auth/token", Status: 403, ContentType: "application/json",
		Body: fmt.Sprintf(`{"error":"refused: token %s is not yours","error_code":"FORBIDDEN","timestamp":"2026-12-01T12:00:00Z"}`, secret)})
	_, errOut, code := s.run(t, "token")
	if code != 1 || strings.Contains(errOut, secret) {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
	markers, _ := filepath.Glob(filepath.Join(s.env["XDG_RUNTIME_DIR"], "authos-credential-helper", "locks", "*.failed"))
	if len(markers) != 1 || !strings.Contains(readFile(t, markers[0]), "[token sha256:") {
		t.Fatalf("failure markers %v: want one, with the token's fingerprint", markers)
	}
	parts := strings.Split(secret, ".")
	assertNotOnDisk(t, map[string]string{"token": secret, "token payload": parts[1]}, s.root)
}

// TestCorruptEntrySignInSaysWhy: a sign-in that replaces an unreadable
// entry says why, once, before the prompt.
func TestCorruptEntrySignInSaysWhy(t *testing.T) {
	t.Parallel()
	d := startDevServer(t)
	s := newSandbox(t, d.URL)
	s.login(t, d, 1, "alice@acme.example")
	entries, _ := filepath.Glob(filepath.Join(s.tokensDir(), "*.entry"))
	if len(entries) != 1 {
		t.Fatalf("entries: %v", entries)
	}
	if err := os.WriteFile(entries[0], []byte(`{"v":1,"kid":"00","nonce":"AAAA","data":"garbage"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	p := s.start(t, "token")
	c := d.waitPendingCode(t, 2)
	waitFor(t, "the prompt", 10*time.Second, func() bool { return strings.Contains(p.stderr.String(), c.UserCode) })
	d.control(t, "approve", c.UserCode, "alice@acme.example")
	if code := p.wait(t); code != 0 {
		t.Fatalf("token exited %d: %s", code, p.stderr.String())
	}
	stderr := p.stderr.String()
	line := oneLineWith(t, stderr, "could not be read (")
	if !strings.HasPrefix(line, "authos: the cached token for acme/cli at ") || !strings.HasSuffix(line, "; signing in again") {
		t.Errorf("reason line %q", line)
	}
	if strings.Index(stderr, line) > strings.Index(stderr, "sign in to") {
		t.Errorf("the reason comes after the prompt:\n%s", stderr)
	}
}
