package e2e

// The real git wired by `setup git` (git_test.go writes its gitconfig by
// hand): credential.<url>.helper = authos in ~/.gitconfig, the helper found
// as git-credential-authos on PATH, against the smart-HTTP server of
// git_test.go that accepts only live AuthOS tokens: a miss, a hit, and a
// session revoked at the server.

import (
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

func TestGitBinaryWiredBySetup(t *testing.T) {
	t.Parallel()
	requireClient(t, "git")
	d := startDevServer(t)
	g := startGitServer(t, d.URL)
	s := newBinSandbox(t, d, `git = [`+strconv.Quote(g.URL+"/")+`]`)
	s.env["GIT_CONFIG_NOSYSTEM"] = "1"
	errOut := s.setup(t, "git", "--profile", "acme")
	if !strings.Contains(errOut, "git: set credential."+g.URL+"/.helper = authos") {
		t.Fatalf("setup git said:\n%s", errOut)
	}
	work := t.TempDir()

	// A miss: git passes the helper's stderr through, so the prompt is on
	// git's stderr; the clone succeeds after the approval.
	c := s.client(t, nil, "git", "-C", work, "clone", "-q", g.URL+"/repo.git", "first")
	s.approveOnScreen(t, 1, "git's stderr", c.stderr.String)
	if code := c.wait(t); code != 0 {
		t.Fatalf("git clone exited %d\n%s", code, c.output())
	}
	if got := readFile(t, filepath.Join(work, "first", "README")); got != "hello from the seed commit\n" {
		t.Fatalf("cloned README = %q", got)
	}

	// A hit: the next clone gets the cached token, no device flow.
	tok := s.cachedToken(t)
	c, code := s.runClient(t, nil, "git", "-C", work, "clone", "-q", g.URL+"/repo.git", "second")
	if code != 0 || c.stderr.String() != "" {
		t.Fatalf("second git clone, a cache hit: exit %d\n%s", code, c.output())
	}
	s.assertDeviceCodes(t, 1, "two clones")
	if _, _, distinct := g.log.snapshot(); len(distinct) != 1 || distinct[0] != tok {
		t.Fatalf("the git server accepted %d distinct tokens, want the cached one", len(distinct))
	}

	// The session ends at AuthOS: git's fetch gets a 401 with the cached
	// token and fails, git calls erase, which evicts it, and the next
	// command signs in again.
	revokeAtServer(t, d, tok)
	c, code = s.runClient(t, nil, "git", "-C", filepath.Join(work, "second"), "fetch", "-q")
	if code == 0 || !strings.Contains(c.stderr.String(), "Authentication failed") {
		t.Fatalf("git fetch with a revoked token: exit %d, want git's authentication error\n%s", code, c.output())
	}
	if s.cachedToken(t) != "" {
		t.Fatal("after git's erase the revoked token is still cached")
	}
	c = s.client(t, nil, "git", "-C", filepath.Join(work, "second"), "fetch", "-q")
	s.approveOnScreen(t, 2, "git's stderr", c.stderr.String)
	if code := c.wait(t); code != 0 {
		t.Fatalf("git fetch after signing in again exited %d\n%s", code, c.output())
	}
	if tok2 := s.cachedToken(t); tok2 == "" || tok2 == tok {
		t.Fatal("the fetch after the revocation did not cache a new token")
	}
}
