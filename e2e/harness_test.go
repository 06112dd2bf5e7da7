// Package e2e drives the built binary against its own dev server, as a user
// and the four clients would: real processes, real files, real kernel locks.
package e2e

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// The product's programs are built in the root module, with its go.mod and
// go.sum (the build install.sh makes, whatever versions this module's test
// clients pull in); the programs under testdata/ are built in this module.
const (
	rootModule = "github.com/authos/authos-credential-helper"
	thisModule = rootModule + "/e2e"
	// fullName is the full helper's file name, which the front door looks
	// for beside itself: spelled here, as installs and packages spell it.
	fullName = "authos-credential-helper-full"
)

var (
	bin     string // the front door under test (every test goes through it), built once by TestMain
	fullBin string // the full helper beside it (bin hands it what it does not answer)
	binDir  string // what TestMain and buildBinary build; removed after the run
	rootDir string // the root module's folder (this module's replace target)
)

func TestMain(m *testing.M) { os.Exit(runTests(m)) }

// runTests is TestMain's body, so that its deferred removal runs before
// os.Exit.
func runTests(m *testing.M) int {
	var err error
	if binDir, err = os.MkdirTemp("", "authos-e2e-bin-"); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(binDir)
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", rootModule).Output()
	if err != nil {
		fmt.Fprintf(os.Stderr, "finding the root module: %v\n", err)
		return 1
	}
	rootDir = strings.TrimSpace(string(out))
	// Both into one folder, as install.sh installs them: the front door
	// finds the full helper beside itself.
	outs, err := goBuild(rootModule, rootModule+"/cmd/"+fullName)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	bin, fullBin = outs[0], outs[1]
	return m.Run()
}

// goBuild builds the main packages pkgs (of one module) into binDir, in the
// module they belong to, and returns their paths.
func goBuild(pkgs ...string) ([]string, error) {
	build := exec.Command("go", append([]string{"build", "-o", binDir + string(filepath.Separator)}, pkgs...)...)
	build.Dir = rootDir
	if pkgs[0] == thisModule || strings.HasPrefix(pkgs[0], thisModule+"/") {
		build.Dir = "."
	}
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if msg, err := build.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("building %s: %v\n%s", strings.Join(pkgs, " "), err, msg)
	}
	var out []string
	for _, pkg := range pkgs {
		out = append(out, filepath.Join(binDir, filepath.Base(pkg)))
	}
	return out, nil
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// devServer is a running `authos-credential-helper dev-server`.
type devServer struct {
	URL string
	cmd *exec.Cmd
}

// startDevServer runs the dev server on a free port with a 1 s poll interval
// (the helper honours whatever interval the server sends) and, since every
// test shares 127.0.0.1, without its per-IP rate limiter unless args say
// "rate-limit".
func startDevServer(t *testing.T, args ...string) *devServer {
	t.Helper()
	base := []string{"dev-server", "--listen", "127.0.0.1:0", "--interval", "1"}
	if !slices.ContainsFunc(args, func(a string) bool { return strings.Contains(a, "rate-limit") }) {
		base = append(base, "--no-rate-limit")
	}
	args = append(base, args...)
	cmd := exec.Command(bin, args...)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(), "TMPDIR=" + t.TempDir()}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr syncBuffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	lines := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		if sc.Scan() {
			lines <- sc.Text()
		}
		io.Copy(io.Discard, stdout)
	}()
	select {
	case line := <-lines:
		const prefix = "authos dev server listening on "
		if !strings.HasPrefix(line, prefix) {
			t.Fatalf("dev server said %q", line)
		}
		return &devServer{URL: strings.TrimPrefix(line, prefix), cmd: cmd}
	case <-time.After(15 * time.Second):
		t.Fatalf("dev server did not start: %s", stderr.String())
	}
	return nil
}

func (d *devServer) stop() { d.cmd.Process.Kill(); d.cmd.Wait() }

type codeInfo struct {
	UserCode  string    `json:"user_code"`
	Org       string    `json:"org"`
	Service   string    `json:"service"`
	ClientID  string    `json:"client_id"`
	Status    string    `json:"status"`
	User      string    `json:"user"`
	ExpiresAt time.Time `json:"expires_at"`
}

type codesReport struct {
	Codes              []codeInfo `json:"codes"`
	DeviceCodeRequests int        `json:"device_code_requests"`
	TokenRequests      int        `json:"token_requests"`
}

func (d *devServer) codes(t *testing.T) codesReport {
	t.Helper()
	resp, err := http.Get(d.URL + "/_dev/codes")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var r codesReport
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
		t.Fatal(err)
	}
	return r
}

// waitPendingCode waits for the n-th device code (1-based) to be issued and
// returns the newest unapproved one.
func (d *devServer) waitPendingCode(t *testing.T, n int) codeInfo {
	t.Helper()
	var found codeInfo
	waitFor(t, fmt.Sprintf("device code #%d", n), 20*time.Second, func() bool {
		r := d.codes(t)
		if r.DeviceCodeRequests < n {
			return false
		}
		found = codeInfo{}
		for _, c := range r.Codes {
			if c.Status == "pending" && c.User == "" && !c.ExpiresAt.Before(found.ExpiresAt) {
				found = c
			}
		}
		return found.UserCode != ""
	})
	return found
}

func (d *devServer) post(t *testing.T, path string, body any) {
	t.Helper()
	b, _ := json.Marshal(body)
	resp, err := http.Post(d.URL+path, "application/json", bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		msg, _ := io.ReadAll(resp.Body)
		t.Fatalf("POST %s: %d %s", path, resp.StatusCode, msg)
	}
}

func (d *devServer) control(t *testing.T, action, userCode, user string) {
	t.Helper()
	d.post(t, "/_dev/control", map[string]string{"action": action, "user_code": userCode, "user": user})
}

type fault struct {
	Route       string            `json:"route"`
	Status      int               `json:"status"`
	Body        string            `json:"body"`
	ContentType string            `json:"content_type"`
	Headers     map[string]string `json:"headers,omitempty"`
	DelayMS     int               `json:"delay_ms,omitempty"`
	Count       int               `json:"count"`
}

func (d *devServer) fault(t *testing.T, f fault) { t.Helper(); d.post(t, "/_dev/faults", f) }

// userStatus asks the server whether token's session is alive (GET /api/user).
func (d *devServer) userStatus(t *testing.T, token string) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, d.URL+"/api/user", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// sandbox is one user's isolated world: XDG dirs, HOME and TMPDIR in a
// temporary folder, and a minimal environment.
type sandbox struct {
	root string
	env  map[string]string
}

func newSandbox(t *testing.T, server string) *sandbox {
	t.Helper()
	// A short root, not t.TempDir (which holds the test's name): the
	// plugin's Unix socket lives under TMPDIR, and socket paths stop at
	// 108 bytes.
	root, err := os.MkdirTemp("", "sb")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(root) })
	s := &sandbox{root: root, env: map[string]string{
		"PATH":            os.Getenv("PATH"),
		"HOME":            filepath.Join(root, "home"),
		"TMPDIR":          filepath.Join(root, "tmp"),
		"XDG_CONFIG_HOME": filepath.Join(root, "config"),
		"XDG_CACHE_HOME":  filepath.Join(root, "cache"),
		"XDG_STATE_HOME":  filepath.Join(root, "state"),
		"XDG_DATA_HOME":   filepath.Join(root, "data"),
		"XDG_RUNTIME_DIR": filepath.Join(root, "run"),
	}}
	for _, k := range []string{"HOME", "TMPDIR", "XDG_RUNTIME_DIR"} {
		if err := os.MkdirAll(s.env[k], 0o700); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() { forgetKernelKeys(s.env["XDG_CACHE_HOME"]) })
	if server != "" {
		s.env["AUTHOS_SERVER"] = server
		s.env["AUTHOS_ORG"] = "acme"
		s.env["AUTHOS_SERVICE"] = "cli"
		s.env["AUTHOS_CLIENT_ID"] = "acme-cli"
	}
	return s
}

func (s *sandbox) environ() []string {
	var out []string
	for k, v := range s.env {
		if v != "" {
			out = append(out, k+"="+v)
		}
	}
	return out
}

// writeConfig writes config.toml.
func (s *sandbox) writeConfig(t *testing.T, toml string) {
	t.Helper()
	dir := filepath.Join(s.env["XDG_CONFIG_HOME"], "authos-credential-helper")
	os.MkdirAll(dir, 0o700)
	if err := os.WriteFile(filepath.Join(dir, "config.toml"), []byte(toml), 0o600); err != nil {
		t.Fatal(err)
	}
}

func (s *sandbox) tokensDir() string {
	return filepath.Join(s.env["XDG_CACHE_HOME"], "authos-credential-helper", "tokens")
}

// proc is a started helper process.
type proc struct {
	cmd            *exec.Cmd
	stdout, stderr syncBuffer
	done           chan struct{}
	code           int
}

func (s *sandbox) start(t *testing.T, args ...string) *proc {
	t.Helper()
	p := &proc{cmd: exec.Command(bin, args...), done: make(chan struct{})}
	p.cmd.Env = s.environ()
	p.cmd.Stdout, p.cmd.Stderr = &p.stdout, &p.stderr
	// A session of its own: no controlling terminal, whatever runs the
	// tests, as for a credential helper started by an IDE or CI.
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		err := p.cmd.Wait()
		p.code = 0
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

// wait waits for the process to exit and returns its exit code.
func (p *proc) wait(t *testing.T) int {
	t.Helper()
	select {
	case <-p.done:
		return p.code
	case <-time.After(60 * time.Second):
		t.Fatalf("%v did not exit; stderr: %s", p.cmd.Args, p.stderr.String())
	}
	return 0
}

// run runs the helper to completion.
func (s *sandbox) run(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	p := s.start(t, args...)
	code = p.wait(t)
	return p.stdout.String(), p.stderr.String(), code
}

// login runs `token` and approves its device code as user; it returns the token.
func (s *sandbox) login(t *testing.T, d *devServer, n int, user string) string {
	t.Helper()
	p := s.start(t, "token")
	c := d.waitPendingCode(t, n)
	d.control(t, "approve", c.UserCode, user)
	if code := p.wait(t); code != 0 {
		t.Fatalf("token exited %d: %s", code, p.stderr.String())
	}
	return strings.TrimSuffix(p.stdout.String(), "\n")
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}
func (b *syncBuffer) String() string { b.mu.Lock(); defer b.mu.Unlock(); return b.b.String() }

// forgetKernelKeys removes what a sandbox left in the user's kernel keyring:
// its data key (keyctl backend) and the data key's kernel cache copy. A
// non-root user's key quota (200 by default) would otherwise fill up after a
// few test runs. The names follow cli.shortHash and cache.ServiceName.
func forgetKernelKeys(cacheHome string) {
	sum := sha256.Sum256([]byte(filepath.Join(cacheHome, "authos-credential-helper", "tokens")))
	item := "cache-key-" + hex.EncodeToString(sum[:8])
	if ring, err := unix.KeyctlSearch(unix.KEY_SPEC_USER_KEYRING, "keyring", "authos-credential-helper", 0); err == nil {
		if id, err := unix.KeyctlSearch(ring, "user", item, 0); err == nil {
			unix.KeyctlInt(unix.KEYCTL_UNLINK, id, ring, 0, 0)
		}
	}
	if id, err := unix.KeyctlSearch(unix.KEY_SPEC_USER_KEYRING, "user", "authos-credential-helper:"+item, 0); err == nil {
		unix.KeyctlInt(unix.KEYCTL_UNLINK, id, unix.KEY_SPEC_USER_KEYRING, 0, 0)
	}
}

// assertNotOnDisk fails if any regular file under roots contains one of
// forms (name → secret text), and if the walk read no file at all (a scan
// of nothing proves nothing).
func assertNotOnDisk(t *testing.T, forms map[string]string, roots ...string) {
	t.Helper()
	files := 0
	for _, root := range roots {
		filepath.WalkDir(root, func(path string, de os.DirEntry, err error) error {
			if err != nil || !de.Type().IsRegular() {
				return nil
			}
			b, err := os.ReadFile(path)
			if err != nil {
				return nil
			}
			files++
			for name, form := range forms {
				if strings.Contains(string(b), form) {
					t.Errorf("%s found in plaintext in %s", name, path)
				}
			}
			return nil
		})
	}
	if files == 0 {
		t.Fatal("no files under the roots: the scan proves nothing")
	}
}
