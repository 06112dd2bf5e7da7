package e2e

import (
	"bufio"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/authos/authos-credential-helper/tokenplugin"
	"github.com/authos/authos-credential-helper/tokensource"
)

// built builds a main package once per test run (see goBuild).
var built sync.Map // package path -> func() (string, error)

func buildBinary(t *testing.T, pkg string) string {
	t.Helper()
	f, _ := built.LoadOrStore(pkg, sync.OnceValues(func() (string, error) {
		out, err := goBuild(pkg)
		if err != nil {
			return "", err
		}
		return out[0], nil
	}))
	path, err := f.(func() (string, error))()
	if err != nil {
		t.Fatal(err)
	}
	return path
}

func pluginBinary(t *testing.T) string {
	return buildBinary(t, rootModule+"/cmd/authos-credential-plugin")
}

// prompts records what a host was asked to show.
type prompts struct {
	mu   sync.Mutex
	list []tokensource.Prompt
}

func (p *prompts) add(x tokensource.Prompt) { p.mu.Lock(); p.list = append(p.list, x); p.mu.Unlock() }

func (p *prompts) snapshot() []tokensource.Prompt {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]tokensource.Prompt(nil), p.list...)
}

func (p *prompts) kinds() []tokenplugin.PromptKind {
	var out []tokenplugin.PromptKind
	for _, x := range p.snapshot() {
		out = append(out, x.Kind)
	}
	return out
}

// source starts a tokensource host in this test process, its plugin running
// in the sandbox's environment.
func (s *sandbox) source(t *testing.T, cfg tokensource.Config) *tokensource.Source {
	t.Helper()
	if cfg.Plugin == "" {
		cfg.Plugin = pluginBinary(t)
	}
	cfg.Env = s.environ()
	src, err := tokensource.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { src.Close() })
	return src
}

// pluginPIDs are the running plugin processes of this sandbox (found by
// their environment, so parallel tests do not see each other's).
func (s *sandbox) pluginPIDs(t *testing.T) []int {
	t.Helper()
	exe := pluginBinary(t)
	entries, _ := os.ReadDir("/proc")
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if path, _ := os.Readlink(filepath.Join("/proc", e.Name(), "exe")); path != exe {
			continue
		}
		env, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "environ"))
		if strings.Contains("\x00"+string(env)+"\x00", "\x00XDG_CACHE_HOME="+s.env["XDG_CACHE_HOME"]+"\x00") {
			pids = append(pids, pid)
		}
	}
	return pids
}

func TestPluginSignsInOnceThenServesFromTheCache(t *testing.T) {
	t.Parallel()
	d := startDevServer(t)
	s := newSandbox(t, d.URL)
	var seen prompts
	src := s.source(t, tokensource.Config{Prompt: func(p tokensource.Prompt) {
		seen.add(p)
		if p.Kind == tokensource.PromptCode {
			d.control(t, "approve", p.UserCode, "alice@acme.example")
		}
	}})

	tok, err := src.Token()
	if err != nil {
		t.Fatal(err)
	}
	claims, err := checkToken(d.URL, tok.AccessToken)
	if err != nil || claims.Email != "alice@acme.example" {
		t.Fatalf("token from the plugin: %+v, %v", claims, err)
	}
	got := seen.snapshot()
	if len(got) != 1 || got[0].Kind != tokensource.PromptCode {
		t.Fatalf("prompts = %+v, want one code prompt", got)
	}
	p := got[0]
	issued := d.codes(t).Codes[0]
	if p.UserCode != issued.UserCode || !strings.HasPrefix(p.VerificationURI, d.URL) || !p.ExpiresAt.After(time.Now()) ||
		p.Identity.Org != "acme" || p.Identity.Service != "cli" || p.Identity.Server != d.URL ||
		!strings.Contains(p.Message, p.UserCode) || !strings.Contains(p.Message, p.VerificationURI) {
		t.Fatalf("prompt %+v does not describe the issued code %+v", p, issued)
	}
	if tok.Extra("from_cache") != false || tok.Extra("email") != "alice@acme.example" || tok.Expiry.Before(time.Now().Add(time.Minute)) {
		t.Fatalf("first token: expiry %v, extras from_cache=%v email=%v", tok.Expiry, tok.Extra("from_cache"), tok.Extra("email"))
	}

	for range 3 {
		again, err := src.Token()
		if err != nil {
			t.Fatal(err)
		}
		if again.AccessToken != tok.AccessToken || again.Extra("from_cache") != true {
			t.Fatalf("later call: new token or not from the cache (from_cache=%v)", again.Extra("from_cache"))
		}
	}
	if r := d.codes(t); r.DeviceCodeRequests != 1 || r.TokenRequests == 0 {
		t.Fatalf("device-code requests = %d, want 1", r.DeviceCodeRequests)
	}
	if n := len(seen.snapshot()); n != 1 {
		t.Fatalf("cache hits prompted: %d prompts", n)
	}
	if pids := s.pluginPIDs(t); len(pids) != 1 {
		t.Fatalf("plugin processes = %v, want one reused for every call", pids)
	}

	// The CLI shares the cache: same token, no sign-in.
	if out, errOut, code := s.run(t, "token"); code != 0 || strings.TrimSpace(out) != tok.AccessToken {
		t.Fatalf("token after the plugin's sign-in: exit %d, %s", code, errOut)
	}

	st, err := src.Status(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !st.Cached || !st.Valid || st.Email != "alice@acme.example" || st.Subject != claims.Sub ||
		st.ExpiresAt.Sub(tok.Expiry) != 5*time.Minute { // Status: the real expiry; Token: 5 minutes (the margin) before
		t.Fatalf("status = %+v (token served until %v)", st, tok.Expiry)
	}

	r, err := src.Logout(context.Background())
	if err != nil || !r.Found || !r.Revoked {
		t.Fatalf("logout = %+v, %v", r, err)
	}
	if code := d.userStatus(t, tok.AccessToken); code != 401 {
		t.Fatalf("the server still accepts the token after logout: %d", code)
	}
	if st, err := src.Status(context.Background()); err != nil || st.Cached {
		t.Fatalf("status after logout = %+v, %v", st, err)
	}

	src.Close()
	waitFor(t, "the plugin to exit after Close", 5*time.Second, func() bool { return len(s.pluginPIDs(t)) == 0 })
}

func TestPluginWithoutPromptFailsNamingTheLoginCommand(t *testing.T) {
	t.Parallel()
	d := startDevServer(t)
	s := newSandbox(t, "")
	s.writeConfig(t, profileConfig(d.URL))
	src := s.source(t, tokensource.Config{Identity: tokensource.Identity{Profile: "acme"}})
	_, err := src.Token()
	if !errors.Is(err, tokensource.ErrLoginRequired) || !strings.Contains(err.Error(), "authos-credential-helper login --profile acme") {
		t.Fatalf("err = %v, want ErrLoginRequired naming the login command", err)
	}
	if n := d.codes(t).DeviceCodeRequests; n != 0 {
		t.Fatalf("a host with no prompt started %d sign-ins", n)
	}
	// An unknown profile is the host's mistake, said as such.
	bad := s.source(t, tokensource.Config{Identity: tokensource.Identity{Profile: "nope"}})
	if _, err := bad.Token(); err == nil || !strings.Contains(err.Error(), "nope") || errors.Is(err, tokensource.ErrPluginGone) {
		t.Fatalf("unknown profile: %v", err)
	}
}

func TestPluginHostsAndTheCLIShareOneSignIn(t *testing.T) {
	t.Parallel()
	d := startDevServer(t)
	s := newSandbox(t, d.URL)
	var seen [2]prompts
	type result struct {
		token string
		err   error
	}
	results := make(chan result, 2)
	for i := range seen {
		src := s.source(t, tokensource.Config{Prompt: seen[i].add})
		go func() {
			tok, err := src.Token()
			if err != nil {
				results <- result{err: err}
				return
			}
			results <- result{token: tok.AccessToken}
		}()
	}
	cli := s.start(t, "token")

	c := d.waitPendingCode(t, 1)
	// Everyone is in: one party signs in, the other two wait for it and
	// show the same code (so whoever sees any of them can approve).
	hasCode := func(p *prompts) bool { return slices.Contains(p.kinds(), tokenplugin.PromptCode) }
	waitFor(t, "every party to show the code", 20*time.Second, func() bool {
		return hasCode(&seen[0]) && hasCode(&seen[1]) && strings.Contains(cli.stderr.String(), c.UserCode)
	})
	d.control(t, "approve", c.UserCode, "alice@acme.example")

	if code := cli.wait(t); code != 0 {
		t.Fatalf("token exited %d: %s", code, cli.stderr.String())
	}
	want := strings.TrimSpace(cli.stdout.String())
	for range 2 {
		r := <-results
		if r.err != nil || r.token != want {
			t.Fatalf("host: %v (same token as the CLI: %v)", r.err, r.token == want)
		}
	}
	if n := d.codes(t).DeviceCodeRequests; n != 1 {
		t.Fatalf("device-code requests = %d, want 1 shared by two hosts and the CLI", n)
	}
	codes := strings.Count(cli.stderr.String(), c.UserCode)
	for i := range seen {
		for _, k := range seen[i].kinds() {
			if k == tokensource.PromptCode {
				codes++
			} else if k != tokensource.PromptWaiting {
				t.Fatalf("host %d got prompt kind %v", i, k)
			}
		}
	}
	if codes != 3 {
		t.Fatalf("the code was shown %d times, want once by each party", codes)
	}
	for i := range seen {
		for _, x := range seen[i].snapshot() {
			if x.Kind == tokenplugin.PromptCode && x.UserCode != c.UserCode {
				t.Fatalf("host %d was shown another code", i)
			}
		}
	}
}

func TestPluginKilledMidCallIsReplacedOnTheNextCall(t *testing.T) {
	t.Parallel()
	d := startDevServer(t)
	s := newSandbox(t, d.URL)
	codes := make(chan string, 2)
	src := s.source(t, tokensource.Config{Prompt: func(p tokensource.Prompt) {
		if p.Kind == tokensource.PromptCode {
			codes <- p.UserCode
		}
	}})
	errc := make(chan error, 1)
	go func() { _, err := src.Token(); errc <- err }()
	<-codes
	pids := s.pluginPIDs(t)
	if len(pids) != 1 {
		t.Fatalf("plugin processes = %v", pids)
	}
	syscall.Kill(pids[0], syscall.SIGKILL)
	select {
	case err := <-errc:
		if !errors.Is(err, tokensource.ErrPluginGone) || !strings.Contains(err.Error(), "stopped during the call") ||
			!strings.Contains(err.Error(), "next call starts it again") || strings.Count(err.Error(), "\n") > 0 {
			t.Fatalf("err = %q, want one clear line saying the plugin stopped", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the call did not end when its plugin was killed")
	}

	go func() {
		tok, err := src.Token()
		if err == nil && tok.AccessToken == "" {
			err = errors.New("empty token")
		}
		errc <- err
	}()
	code := <-codes
	d.control(t, "approve", code, "alice@acme.example")
	if err := <-errc; err != nil {
		t.Fatalf("the call after the kill: %v", err)
	}
	if now := s.pluginPIDs(t); len(now) != 1 || now[0] == pids[0] {
		t.Fatalf("plugin processes after the kill = %v (killed %d)", now, pids[0])
	}
}

func TestPluginOfAnotherProtocolVersionIsRefused(t *testing.T) {
	t.Parallel()
	s := newSandbox(t, "http://127.0.0.1:9")
	future := buildBinary(t, thisModule+"/testdata/futureplugin")
	src := s.source(t, tokensource.Config{Plugin: future})
	_, err := src.Token()
	if err == nil || !strings.Contains(err.Error(), "does not speak this program's token service protocol (version 1)") ||
		!strings.Contains(err.Error(), "Plugin version: 2") || !strings.Contains(err.Error(), "install matching versions") {
		t.Fatalf("err = %v", err)
	}
}

func TestPluginByHandAndItsHandshake(t *testing.T) {
	t.Parallel()
	s := newSandbox(t, "")
	plugin := pluginBinary(t)

	cmd := exec.Command(plugin)
	cmd.Env = s.environ()
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() == 0 || stdout.Len() != 0 ||
		!strings.Contains(stderr.String(), "not meant to be run by hand") || !strings.Contains(stderr.String(), "authos-credential-helper token") {
		t.Fatalf("run by hand: %v, stdout %q, stderr %q", err, stdout.String(), stderr.String())
	}

	// Started as go-plugin does, the first thing on stdout is the handshake.
	hs := tokenplugin.Handshake()
	cmd = exec.Command(plugin)
	cmd.Env = append(s.environ(), hs.MagicCookieKey+"="+hs.MagicCookieValue, "PLUGIN_PROTOCOL_VERSIONS=1")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil || !regexp.MustCompile(`^1\|1\|unix\|/[^|]+\|grpc\|\n$`).MatchString(line) {
		t.Fatalf("first stdout line = %q, %v; want the go-plugin handshake", line, err)
	}
	// The socket is in a folder only this user can enter.
	sock := strings.Split(line, "|")[3]
	if fi, err := os.Stat(filepath.Dir(sock)); err != nil || fi.Mode().Perm() != 0o700 {
		t.Fatalf("socket folder %s: %v %v", filepath.Dir(sock), fi.Mode(), err)
	}
}

func TestTokenhostExampleAndThePluginDyingWithItsHost(t *testing.T) {
	t.Parallel()
	d := startDevServer(t)
	s := newSandbox(t, d.URL)
	tokenhost := buildBinary(t, rootModule+"/examples/tokenhost")
	plugin := pluginBinary(t)

	// A host killed with -9 leaves no plugin behind.
	host := exec.Command(tokenhost, "--plugin", plugin)
	host.Env = s.environ()
	var hostErr syncBuffer
	host.Stderr = &hostErr
	if err := host.Start(); err != nil {
		t.Fatal(err)
	}
	d.waitPendingCode(t, 1)
	pids := s.pluginPIDs(t)
	if len(pids) != 1 {
		t.Fatalf("plugin processes = %v", pids)
	}
	host.Process.Kill()
	host.Wait()
	waitFor(t, "the orphaned plugin to exit", 5*time.Second, func() bool {
		return syscall.Kill(pids[0], 0) != nil || len(s.pluginPIDs(t)) == 0
	})

	// A person's quick check: whose token, never the token itself.
	host = exec.Command(tokenhost, "--plugin", plugin)
	host.Env = s.environ()
	var hostOut strings.Builder
	var hostErr2 syncBuffer
	host.Stdout, host.Stderr = &hostOut, &hostErr2
	if err := host.Start(); err != nil {
		t.Fatal(err)
	}
	c := d.waitPendingCode(t, 2)
	waitFor(t, "tokenhost to show the code", 10*time.Second, func() bool { return strings.Contains(hostErr2.String(), c.UserCode) })
	d.control(t, "approve", c.UserCode, "alice@acme.example")
	if err := host.Wait(); err != nil {
		t.Fatalf("tokenhost: %v: %s", err, hostErr2.String())
	}
	tok, _, _ := s.run(t, "token")
	tok = strings.TrimSpace(tok)
	if !strings.Contains(hostOut.String(), "alice@acme.example") || tok == "" ||
		strings.Contains(hostOut.String()+hostErr2.String(), tok) {
		t.Fatalf("tokenhost said %q (stderr %q)", hostOut.String(), hostErr2.String())
	}
}
