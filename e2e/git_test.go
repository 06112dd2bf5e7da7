package e2e

// The git credential helper protocol with the real git CLI: a smart-HTTP
// server (git http-backend through net/http/cgi) that accepts Basic auth
// only with a live AuthOS token as the password, and git configured with
// credential.<url>.helper = authos.

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"net/http/cgi"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// gitServer is a smart-HTTP git server with one repository, /repo.git.
type gitServer struct {
	URL  string // http://127.0.0.1:PORT, no trailing slash
	root string // GIT_PROJECT_ROOT
	log  tokenLog
}

// seedEnv is the environment for git commands that set up the server side:
// no user or system config, fixed identity.
func seedEnv(home string) []string {
	return []string{
		"PATH=" + os.Getenv("PATH"), "HOME=" + home, "LC_ALL=C",
		"GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null", "GIT_TERMINAL_PROMPT=0",
		"GIT_AUTHOR_NAME=Seed", "GIT_AUTHOR_EMAIL=seed@example.com",
		"GIT_COMMITTER_NAME=Seed", "GIT_COMMITTER_EMAIL=seed@example.com",
	}
}

func mustGit(t *testing.T, env []string, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Env, cmd.Dir = env, dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

// startGitServer creates a bare repository with one commit and serves it.
// A request passes only with Basic credentials whose password passes
// checkToken against authosURL; otherwise 401 with WWW-Authenticate: Basic.
func startGitServer(t *testing.T, authosURL string) *gitServer {
	t.Helper()
	gitPath, err := exec.LookPath("git")
	if err != nil {
		t.Fatal("git is missing: test.sh installs it (Debian package git)")
	}
	root := t.TempDir()
	home := t.TempDir()
	env := seedEnv(home)
	bare := filepath.Join(root, "repo.git")
	mustGit(t, env, root, "init", "--quiet", "--bare", "-b", "main", bare)
	mustGit(t, env, bare, "config", "http.receivepack", "true")
	seed := filepath.Join(t.TempDir(), "seed")
	mustGit(t, env, "", "init", "--quiet", "-b", "main", seed)
	if err := os.WriteFile(filepath.Join(seed, "README"), []byte("hello from the seed commit\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	mustGit(t, env, seed, "add", "README")
	mustGit(t, env, seed, "commit", "--quiet", "-m", "seed")
	mustGit(t, env, seed, "push", "--quiet", bare, "main")

	g := &gitServer{root: root}
	var backendErr syncBuffer
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		g.log.seen()
		user, pass, ok := r.BasicAuth()
		if !ok {
			g.log.reject()
			w.Header().Set("WWW-Authenticate", `Basic realm="git"`)
			http.Error(w, "authentication required", http.StatusUnauthorized)
			return
		}
		if _, err := checkToken(authosURL, pass); err != nil {
			g.log.reject()
			w.Header().Set("WWW-Authenticate", `Basic realm="git"`)
			http.Error(w, "bad credentials: "+err.Error(), http.StatusUnauthorized)
			return
		}
		g.log.accept(pass)
		h := &cgi.Handler{
			Path: gitPath,
			Args: []string{"http-backend"},
			Dir:  root,
			Env: []string{
				"GIT_PROJECT_ROOT=" + root, "GIT_HTTP_EXPORT_ALL=1", "REMOTE_USER=" + user,
				"PATH=" + os.Getenv("PATH"), "HOME=" + home,
				"GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null",
			},
			Stderr: &backendErr,
		}
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(func() {
		srv.Close()
		if t.Failed() && backendErr.String() != "" {
			t.Logf("git http-backend stderr:\n%s", backendErr.String())
		}
	})
	g.URL = srv.URL
	return g
}

// gitSandbox is a sandbox whose git uses the helper for g (and only g):
// a profile "acme" naming g's URL, a global gitconfig with
// credential.<g.URL>.helper = authos, and git-credential-authos on PATH.
type gitSandbox struct {
	*sandbox
	link string // the git-credential-authos symlink
}

func newGitSandbox(t *testing.T, d *devServer, gitURL string) *gitSandbox {
	t.Helper()
	s := newSandbox(t, "") // identity from the profile only: AUTHOS_* would not make a host match anyway
	s.writeConfig(t, profileConfig(d.URL, `git = [`+strconv.Quote(gitURL+"/")+`]`, `username = "oauth2"`))
	binDir := filepath.Join(s.root, "bin")
	if err := os.MkdirAll(binDir, 0o755); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(binDir, "git-credential-authos")
	if err := os.Symlink(bin, link); err != nil {
		t.Fatal(err)
	}
	gitconfig := filepath.Join(s.env["HOME"], ".gitconfig")
	conf := "[credential \"" + gitURL + "\"]\n\thelper = authos\n" +
		"[user]\n\tname = Alice\n\temail = alice@acme.example\n" +
		"[init]\n\tdefaultBranch = main\n" +
		"[advice]\n\tdetachedHead = false\n"
	if err := os.WriteFile(gitconfig, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	s.env["PATH"] = binDir + string(os.PathListSeparator) + os.Getenv("PATH")
	s.env["GIT_CONFIG_GLOBAL"] = gitconfig
	s.env["GIT_CONFIG_NOSYSTEM"] = "1"
	s.env["LC_ALL"] = "C"
	return &gitSandbox{sandbox: s, link: link}
}

// startGit runs git in dir with the sandbox's environment, in a session of
// its own (no controlling terminal: git cannot prompt, /dev/tty fails).
func (s *gitSandbox) startGit(t *testing.T, dir string, args ...string) *proc {
	t.Helper()
	p := &proc{cmd: exec.Command("git", args...), done: make(chan struct{})}
	p.cmd.Env, p.cmd.Dir = s.environ(), dir
	p.cmd.Stdout, p.cmd.Stderr = &p.stdout, &p.stderr
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	// git runs the helper as a grandchild that shares git's stdout and
	// stderr pipes: if git dies, do not wait for it forever.
	p.cmd.WaitDelay = 5 * time.Second
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		err := p.cmd.Wait()
		if ee, ok := err.(*exec.ExitError); ok {
			p.code = ee.ExitCode()
		}
		close(p.done)
	}()
	// The session (and process group) git leads holds git-remote-http, the
	// shell and the helper: end them all.
	t.Cleanup(func() { syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL); <-p.done })
	return p
}

func (s *gitSandbox) git(t *testing.T, dir string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	p := s.startGit(t, dir, args...)
	code = p.wait(t)
	return p.stdout.String(), p.stderr.String(), code
}

// helperIO runs argv (the binary or the symlink, then arguments) with stdin,
// in the sandbox, bounded to 20 s.
func (s *gitSandbox) helperIO(t *testing.T, stdin string, argv ...string) (stdout, stderr string, code int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Env = s.environ()
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb syncBuffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	cmd.WaitDelay = 5 * time.Second
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("%v did not finish in 20 s; stderr: %s", argv, errb.String())
	}
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return out.String(), errb.String(), code
}

// validIdentities counts identities `status --json` reports as valid.
func validIdentities(t *testing.T, s *sandbox) int {
	t.Helper()
	out, errOut, code := s.run(t, "status", "--json")
	if code != 0 {
		t.Fatalf("status --json exited %d: %s", code, errOut)
	}
	var st struct {
		Identities []struct {
			Valid bool `json:"valid"`
		} `json:"identities"`
	}
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		t.Fatalf("status --json: %v\n%s", err, out)
	}
	n := 0
	for _, id := range st.Identities {
		if id.Valid {
			n++
		}
	}
	return n
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// cloneWithSignIn runs git clone, approves the n-th device code while it
// runs, and checks that the helper's prompt reached git's stderr.
func cloneWithSignIn(t *testing.T, s *gitSandbox, d *devServer, g *gitServer, work, dest string, n int) {
	t.Helper()
	p := s.startGit(t, work, "clone", g.URL+"/repo.git", dest)
	c := d.waitPendingCode(t, n)
	// git passes the helper's stderr through: the person sees the code.
	waitFor(t, "the sign-in prompt on git's stderr", 10*time.Second, func() bool {
		return strings.Contains(p.stderr.String(), c.UserCode)
	})
	d.control(t, "approve", c.UserCode, "alice@acme.example")
	if code := p.wait(t); code != 0 {
		t.Fatalf("clone #%d exited %d:\n%s", n, code, p.stderr.String())
	}
	if got := readFile(t, filepath.Join(work, dest, "README")); got != "hello from the seed commit\n" {
		t.Fatalf("cloned README = %q", got)
	}
}

func TestGitCloneFetchPushRevoke(t *testing.T) {
	t.Parallel()
	d := startDevServer(t)
	g := startGitServer(t, d.URL)
	s := newGitSandbox(t, d, g.URL)
	work := t.TempDir()

	// (a) The first clone: one device flow, and git gets in.
	cloneWithSignIn(t, s, d, g, work, "c1", 1)
	if n := d.codes(t).DeviceCodeRequests; n != 1 {
		t.Fatalf("first clone: %d device-code requests, want 1", n)
	}
	_, rejected, distinct := g.log.snapshot()
	if len(distinct) != 1 || rejected == 0 {
		t.Fatalf("first clone: server accepted %d distinct tokens (want 1) after %d 401s (want ≥ 1)", len(distinct), rejected)
	}
	tok1 := distinct[0]
	if c, err := checkToken(d.URL, tok1); err != nil || c.Email != "alice@acme.example" {
		t.Fatalf("token git sent: %v (email %q)", err, c.Email)
	}
	// The token git used is the cached one.
	out, errOut, code := s.run(t, "token", "--profile", "acme")
	if code != 0 || strings.TrimSpace(out) != tok1 {
		t.Fatalf("token --profile acme after clone: %d %q; want the token git sent", code, errOut)
	}

	// (b) A second clone, a commit pushed and a fetch: no sign-in.
	if _, errOut, code := s.git(t, work, "clone", g.URL+"/repo.git", "c2"); code != 0 {
		t.Fatalf("second clone exited %d:\n%s", code, errOut)
	}
	if err := os.WriteFile(filepath.Join(work, "c2", "NEW"), []byte("pushed\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, errOut, code := s.git(t, filepath.Join(work, "c2"), "add", "NEW"); code != 0 {
		t.Fatal(errOut)
	}
	if _, errOut, code := s.git(t, filepath.Join(work, "c2"), "commit", "-q", "-m", "second"); code != 0 {
		t.Fatal(errOut)
	}
	if _, errOut, code := s.git(t, filepath.Join(work, "c2"), "push", "origin", "main"); code != 0 {
		t.Fatalf("push exited %d:\n%s", code, errOut)
	}
	if got := mustGit(t, seedEnv(t.TempDir()), "", "--git-dir", filepath.Join(g.root, "repo.git"), "log", "-1", "--format=%s", "main"); got != "second" {
		t.Fatalf("server's main is at %q after the push, want the pushed commit", got)
	}
	if _, errOut, code := s.git(t, filepath.Join(work, "c1"), "pull", "-q", "--ff-only"); code != 0 {
		t.Fatalf("pull exited %d:\n%s", code, errOut)
	}
	if got := readFile(t, filepath.Join(work, "c1", "NEW")); got != "pushed\n" {
		t.Fatalf("pulled NEW = %q", got)
	}
	if n := d.codes(t).DeviceCodeRequests; n != 1 {
		t.Fatalf("clone/push/pull with a cached token made %d device-code requests in all, want 1", n)
	}
	if _, _, distinct := g.log.snapshot(); len(distinct) != 1 {
		t.Fatalf("server saw %d distinct tokens, want the one cached token", len(distinct))
	}

	// (c) Revocation: the session ends at the server; git's next request
	// gets a 401 with the cached token, git calls erase, the helper evicts.
	req, _ := http.NewRequest(http.MethodPost, d.URL+"/api/auth/logout", nil)
	req.Header.Set("Authorization", "Bearer "+tok1)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || d.userStatus(t, tok1) != http.StatusUnauthorized {
		t.Fatalf("logout at the server: %d; session still alive?", resp.StatusCode)
	}
	if validIdentities(t, s.sandbox) != 1 {
		t.Fatal("before the failing fetch the helper should still hold the (revoked) token")
	}
	_, errOut, code = s.git(t, filepath.Join(work, "c1"), "fetch")
	t.Logf("fetch with the revoked token:\n%s", errOut)
	if code == 0 || !strings.Contains(errOut, "Authentication failed") {
		t.Fatalf("fetch with a revoked token: exit %d, want git's authentication error:\n%s", code, errOut)
	}
	if strings.Contains(errOut, tok1) {
		t.Fatal("the token appears on git's stderr")
	}
	if n := d.codes(t).DeviceCodeRequests; n != 1 {
		t.Fatalf("the failing fetch made a device-code request (%d in all)", n)
	}
	if n := validIdentities(t, s.sandbox); n != 0 {
		t.Fatalf("after git's erase, status --json shows %d valid identities, want 0 (revoked token evicted)", n)
	}
	cloneWithSignIn(t, s, d, g, work, "c3", 2)
	if n := d.codes(t).DeviceCodeRequests; n != 2 {
		t.Fatalf("clone after revocation: %d device-code requests in all, want 2", n)
	}
	if last := g.log.last(); last == tok1 || last == "" {
		t.Fatal("clone after revocation did not use a new token")
	}
}

func TestGitNoPromptFailsFast(t *testing.T) {
	t.Parallel()
	d := startDevServer(t)
	g := startGitServer(t, d.URL)
	s := newGitSandbox(t, d, g.URL)
	s.env["GIT_TERMINAL_PROMPT"] = "0" // an IDE: nobody sees stderr live
	work := t.TempDir()

	start := time.Now()
	p := s.startGit(t, work, "clone", g.URL+"/repo.git", "c")
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		t.Fatalf("clone with prompts disabled still running after 10 s (a device flow nobody can see?); stderr:\n%s", p.stderr.String())
	}
	elapsed := time.Since(start)
	errOut, code := p.stderr.String(), p.code
	t.Logf("clone failed after %v:\n%s", elapsed.Round(time.Millisecond), errOut)
	if code == 0 {
		t.Fatal("clone succeeded with an empty cache and prompts disabled")
	}
	if elapsed > 10*time.Second {
		t.Fatalf("clone took %v to fail; want a fast failure", elapsed)
	}
	var helperLines []string
	for _, l := range strings.Split(errOut, "\n") {
		if strings.HasPrefix(l, "authos-credential-helper:") {
			helperLines = append(helperLines, l)
		}
	}
	// git may run get more than once per clone (one per failed attempt);
	// each run says one line, and the line names the command to run.
	if len(helperLines) == 0 || !strings.Contains(helperLines[0], "authos-credential-helper login --profile acme") {
		t.Fatalf("git's stderr lacks the helper's one-line message naming the login command:\n%s", errOut)
	}
	if r := d.codes(t); r.DeviceCodeRequests != 0 || r.TokenRequests != 0 {
		t.Fatalf("prompts disabled, yet the helper contacted the server: %+v", r)
	}
	if _, _, distinct := g.log.snapshot(); len(distinct) != 0 {
		t.Fatal("the git server accepted a token")
	}
	if _, err := os.Stat(filepath.Join(work, "c")); !os.IsNotExist(err) {
		t.Fatalf("failed clone left its directory behind: %v", err)
	}
}

// parseGitAnswer splits a helper's answer into key=value lines in order.
func parseGitAnswer(t *testing.T, out string) (lines []string, kv map[string][]string) {
	t.Helper()
	kv = map[string][]string{}
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		l := sc.Text()
		k, v, ok := strings.Cut(l, "=")
		if !ok {
			t.Fatalf("answer line without '=': %q", l)
		}
		lines = append(lines, l)
		kv[k] = append(kv[k], v)
	}
	return lines, kv
}

func TestGitHelperDirect(t *testing.T) {
	t.Parallel()
	d := startDevServer(t)
	g := startGitServer(t, d.URL)
	s := newGitSandbox(t, d, g.URL)
	host := strings.TrimPrefix(g.URL, "http://")
	tok := loginProfile(t, s.sandbox, d, 1)
	claims, err := checkToken(d.URL, tok)
	if err != nil {
		t.Fatal(err)
	}
	jwtExp := time.Unix(claims.Exp, 0)
	before := d.codes(t)

	// (e) git ≥ 2.46 announces capability[]=authtype; git 2.39 does not, so
	// feed the helper what a newer git would send.
	out, errOut, code := s.helperIO(t, "capability[]=authtype\nprotocol=http\nhost="+host+"\n\n", bin, "git", "get")
	if code != 0 || errOut != "" {
		t.Fatalf("git get with authtype: exit %d, stderr %q", code, errOut)
	}
	lines, kv := parseGitAnswer(t, out)
	if len(lines) == 0 || lines[0] != "capability[]=authtype" {
		t.Fatalf("capability[]=authtype must come first in the answer:\n%s", out)
	}
	want := map[string]string{"authtype": "Bearer", "credential": tok, "ephemeral": "1", "username": "oauth2", "password": tok}
	for k, v := range want {
		if len(kv[k]) != 1 || kv[k][0] != v {
			t.Errorf("answer %s = %q, want one %q", k, kv[k], v)
		}
	}
	for _, k := range []string{"url", "quit"} {
		if _, ok := kv[k]; ok {
			t.Errorf("answer has %s=, which git must never get from this helper", k)
		}
	}
	if len(kv["password_expiry_utc"]) != 1 {
		t.Fatalf("answer lacks password_expiry_utc:\n%s", out)
	}
	secs, err := strconv.ParseInt(kv["password_expiry_utc"][0], 10, 64)
	if err != nil {
		t.Fatalf("password_expiry_utc %q: %v", kv["password_expiry_utc"][0], err)
	}
	expiry := time.Unix(secs, 0)
	if !expiry.After(time.Now()) || !expiry.Before(jwtExp) {
		t.Fatalf("password_expiry_utc %v: want in the future and before the JWT's exp %v", expiry, jwtExp)
	}
	// The default margin is 5 minutes; clients are told the real expiry
	// minus the margin.
	if gap := jwtExp.Sub(expiry); gap < 5*time.Minute-2*time.Second || gap > 5*time.Minute+2*time.Second {
		t.Errorf("password_expiry_utc is %v before the JWT's exp, want the 5-minute margin", gap)
	}

	// git 2.39's request (no capability): a classic username/password.
	out, errOut, code = s.helperIO(t, "protocol=http\nhost="+host+"\n\n", s.link, "get")
	if code != 0 || errOut != "" {
		t.Fatalf("git-credential-authos get: exit %d, stderr %q", code, errOut)
	}
	_, kv = parseGitAnswer(t, out)
	for _, k := range []string{"capability[]", "authtype", "credential", "ephemeral"} {
		if _, ok := kv[k]; ok {
			t.Errorf("answer to a git without the authtype capability has %s:\n%s", k, out)
		}
	}
	if len(kv["password"]) != 1 || kv["password"][0] != tok || len(kv["username"]) != 1 || kv["username"][0] != "oauth2" {
		t.Errorf("classic answer:\n%s", out)
	}

	// (f) A host no profile names: nothing, exit 0, no server contact, for
	// every verb; also an unknown verb.
	for _, argv := range [][]string{{s.link, "get"}, {bin, "git", "get"}, {s.link, "store"}, {s.link, "erase"}, {s.link, "capability"}} {
		out, errOut, code := s.helperIO(t, "protocol=https\nhost=github.com\nusername=oauth2\npassword="+tok+"\n\n", argv...)
		if code != 0 || out != "" || errOut != "" {
			t.Errorf("%v for github.com: exit %d, stdout %q, stderr %q; want nothing and 0", argv[1:], code, out, errOut)
		}
	}
	// Same host, other scheme: not the configured prefix either.
	if out, _, code := s.helperIO(t, "protocol=https\nhost="+host+"\n\n", s.link, "get"); code != 0 || out != "" {
		t.Errorf("https://%s (profile names http://): exit %d, stdout %q", host, code, out)
	}
	if after := d.codes(t); after.DeviceCodeRequests != before.DeviceCodeRequests || after.TokenRequests != before.TokenRequests {
		t.Fatalf("requests for our host (cache hit) or unknown hosts contacted the server: %+v -> %+v", before, after)
	}
	if validIdentities(t, s.sandbox) != 1 {
		t.Fatal("an erase for another host touched our cached token")
	}

	// erase: a password that is not the cached token evicts nothing; the
	// cached token evicts it.
	if _, _, code := s.helperIO(t, "protocol=http\nhost="+host+"\nusername=oauth2\npassword=not-our-token\n\n", s.link, "erase"); code != 0 {
		t.Fatalf("erase with a foreign password exited %d", code)
	}
	if validIdentities(t, s.sandbox) != 1 {
		t.Fatal("erase with a password we never served evicted the cached token")
	}
	if _, errOut, code := s.helperIO(t, "protocol=http\nhost="+host+"\nusername=oauth2\npassword="+tok+"\n\n", s.link, "erase"); code != 0 ||
		!strings.Contains(errOut, "rejected; dropped it, so the next command signs in again") || strings.Count(errOut, "\n") != 1 || strings.Contains(errOut, tok) {
		t.Fatalf("erase with our token: exit %d, stderr %q; want the one line saying the next command signs in again", code, errOut)
	}
	if validIdentities(t, s.sandbox) != 0 {
		t.Fatal("erase with the served token did not evict it")
	}
}

// A fresh sandbox with an empty cache: an unknown host must not start a
// device flow (the bound in helperIO would catch a wait).
func TestGitUnknownHostEmptyCache(t *testing.T) {
	t.Parallel()
	d := startDevServer(t)
	s := newGitSandbox(t, d, "http://127.0.0.1:1") // a profile for another host only
	s.env["AUTHOS_SERVER"] = d.URL                 // the environment names a server: still no host match
	s.env["AUTHOS_ORG"], s.env["AUTHOS_SERVICE"], s.env["AUTHOS_CLIENT_ID"] = "acme", "cli", "acme-cli"
	for _, argv := range [][]string{{s.link, "get"}, {bin, "git", "get"}} {
		out, errOut, code := s.helperIO(t, "protocol=https\nhost=github.com\n\n", argv...)
		if code != 0 || out != "" || errOut != "" {
			t.Errorf("%v for github.com: exit %d, stdout %q, stderr %q; want nothing and 0", argv[1:], code, out, errOut)
		}
	}
	if r := d.codes(t); r.DeviceCodeRequests != 0 || r.TokenRequests != 0 {
		t.Fatalf("an unknown host contacted the server: %+v", r)
	}
}
