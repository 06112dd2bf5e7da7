package e2e

import (
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestFileBackend runs the cache on the passphrase-protected file backend:
// the data key is a JWE file, entries are sealed files, a wrong or missing
// passphrase is a clear one-line error that leaves the cache alone.
func TestFileBackend(t *testing.T) {
	t.Parallel()
	d := startDevServer(t)
	s := newSandbox(t, d.URL)
	s.env["AUTHOS_CACHE_BACKEND"] = "file"
	s.env["AUTHOS_CACHE_PASSPHRASE"] = "correct horse"
	tok := s.login(t, d, 1, "alice@acme.example")
	if out, _, code := s.run(t, "token"); code != 0 || strings.TrimSpace(out) != tok {
		t.Fatalf("hit on the file backend: %d", code)
	}
	if out, _, _ := s.run(t, "status"); !strings.Contains(out, "cache backend: file") {
		t.Fatalf("status:\n%s", out)
	}
	ring, _ := filepath.Glob(filepath.Join(s.env["XDG_DATA_HOME"], "authos-credential-helper", "keyring", "*"))
	if len(ring) != 1 {
		t.Fatalf("file keyring holds %v, want one data key item", ring)
	}
	// The data key is now also in the kernel keyring for a while (like an
	// ssh-agent): the next process needs no passphrase.
	s.env["AUTHOS_CACHE_PASSPHRASE"] = ""
	if out, errOut, code := s.run(t, "token"); code != 0 || strings.TrimSpace(out) != tok {
		t.Fatalf("hit with the key in the kernel cache and no passphrase: %d %q", code, errOut)
	}

	// With the kernel copy turned off, the passphrase is needed every time.
	s.writeConfig(t, "[cache]\nkernel_cache = \"0s\"\n")
	before := snapshot(t, s.root)
	s.env["AUTHOS_CACHE_PASSPHRASE"] = "wrong"
	out, errOut, code := s.run(t, "token")
	if code != 1 || out != "" || !strings.Contains(errOut, "file keyring") || strings.Count(strings.TrimSpace(errOut), "\n") != 0 {
		t.Fatalf("wrong passphrase: %d %q %q", code, out, errOut)
	}
	s.env["AUTHOS_CACHE_PASSPHRASE"] = ""
	_, errOut, code = s.run(t, "token")
	if code != 1 || !strings.Contains(errOut, "AUTHOS_CACHE_PASSPHRASE") {
		t.Fatalf("no passphrase and no terminal: %d %q", code, errOut)
	}
	if after := snapshot(t, s.root); after != before {
		t.Fatalf("failed reads changed the cache:\n%s\n---\n%s", before, after)
	}
	if n := d.codes(t).DeviceCodeRequests; n != 1 {
		t.Fatalf("%d device flows: a keyring error must not start a login", n)
	}
}

// TestUnusableBackendFailsBeforePrompting: an explicitly chosen backend that
// cannot work here fails at once, naming the fix, without a device flow.
func TestUnusableBackendFailsBeforePrompting(t *testing.T) {
	t.Parallel()
	d := startDevServer(t)
	for _, tc := range []struct{ backend, want string }{
		{"secret-service", "fix: run a Secret Service"},
		{"plaintext", "not available in this build"},
	} {
		s := newSandbox(t, d.URL)
		s.env["AUTHOS_CACHE_BACKEND"] = tc.backend
		_, errOut, code := s.run(t, "token")
		if code != 1 || !strings.Contains(errOut, tc.want) || strings.Count(strings.TrimSpace(errOut), "\n") != 0 {
			t.Fatalf("%s: %d %q", tc.backend, code, errOut)
		}
	}
	if n := d.codes(t).DeviceCodeRequests; n != 0 {
		t.Fatalf("%d device flows started with no usable cache", n)
	}
}

func TestLogoutAll(t *testing.T) {
	t.Parallel()
	d := startDevServer(t)
	s := newSandbox(t, d.URL)
	first := s.login(t, d, 1, "alice@acme.example")
	s.env["AUTHOS_ORG"], s.env["AUTHOS_SERVICE"], s.env["AUTHOS_CLIENT_ID"] = "platform", "admin-cli", "platform-admin-cli"
	second := s.login(t, d, 2, "owner@acme.example")
	_, errOut, code := s.run(t, "logout", "--all")
	if code != 0 || strings.Count(errOut, "logged out of") != 2 {
		t.Fatalf("logout --all: %d %s", code, errOut)
	}
	for _, tok := range []string{first, second} {
		if d.userStatus(t, tok) != 401 {
			t.Fatal("a session survived logout --all")
		}
	}
	if out, _, _ := s.run(t, "status"); !strings.Contains(out, "no cached identities") {
		t.Fatalf("status:\n%s", out)
	}
}

// snapshot lists every file under root with its size and content hash.
func snapshot(t *testing.T, root string) string {
	t.Helper()
	var b strings.Builder
	filepath.WalkDir(root, func(path string, de os.DirEntry, err error) error {
		if err != nil || de.IsDir() || strings.HasSuffix(path, ".lock") {
			return nil
		}
		data, _ := os.ReadFile(path)
		fmt.Fprintf(&b, "%s %x\n", path, sha256.Sum256(data))
		return nil
	})
	return b.String()
}
