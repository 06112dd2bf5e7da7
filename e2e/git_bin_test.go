package e2e

// The real git wired by `setup git` (git_test.go writes its gitconfig by
// hand): credential.<url>.helper = authos in ~/.gitconfig, the helper found
// as git-credential-authos on PATH, against the smart-HTTP server of
// git_test.go that accepts only live AuthOS tokens.

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
}
