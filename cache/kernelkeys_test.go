package cache

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestKernelKeysIsAKeyStoreThatOnlyReads: the front door may hand
// KernelKeys to a Store; a Store that needs a new key is refused instead of
// writing one where the full helper would not look.
func TestKernelKeysIsAKeyStoreThatOnlyReads(t *testing.T) {
	var ks KeyStore = &KernelKeys{Backend: "file", Item: "x"}
	if err := ks.Save(make([]byte, 32)); err == nil {
		t.Fatal("Save succeeded")
	}
	s := &Store{Dir: t.TempDir(), Keys: ks}
	if err := s.Put("id1", entry("tok")); err == nil {
		t.Fatal("Put through KernelKeys succeeded")
	}
}

// TestKernelKeysName: the likely backend, as configured or remembered.
func TestKernelKeysName(t *testing.T) {
	tests := []struct{ backend, memo, want string }{
		{"file", "", "file"},
		{" KeyCtl", "file\n", "keyctl"},
		{"auto", "", ""},
		{"auto", " secret-service\n", "secret-service"},
		{"", "keyctl", "keyctl"},
	}
	for _, tc := range tests {
		dir := t.TempDir()
		if tc.memo != "" {
			if err := os.WriteFile(filepath.Join(dir, "backend"), []byte(tc.memo), 0o600); err != nil {
				t.Fatal(err)
			}
		}
		if got := (&KernelKeys{Backend: tc.backend, StateDir: dir}).Name(); got != tc.want {
			t.Errorf("Backend %q, remembered %q: Name = %q, want %q", tc.backend, tc.memo, got, tc.want)
		}
	}
}

// TestKernelKeysRemember: what Remember writes is what a later process's
// Likely reads; this process keeps what it read first.
func TestKernelKeysRemember(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state")
	k := &KernelKeys{Backend: "auto", StateDir: dir}
	if got := k.Likely(); got != "" {
		t.Fatalf("nothing remembered yet, Likely = %q", got)
	}
	if err := k.Remember("keyctl"); err != nil {
		t.Fatal(err)
	}
	if got := k.Likely(); got != "" {
		t.Fatalf("Likely changed within the process: %q", got)
	}
	if got := (&KernelKeys{Backend: "auto", StateDir: dir}).Likely(); got != "keyctl" {
		t.Fatalf("a new process: Likely = %q, want keyctl", got)
	}
	if err := (&KernelKeys{}).Remember("file"); err != nil {
		t.Fatalf("Remember without a StateDir: %v", err)
	}
}

// TestCopyForKeyctlIsOff: no copy is kept in front of the kernel keyring
// itself; any other backend gets the configured lifetime.
func TestCopyForKeyctlIsOff(t *testing.T) {
	k := &KernelKeys{Item: "item", CopyTTL: time.Minute}
	for backend, want := range map[string]time.Duration{"keyctl": 0, "file": time.Minute, "secret-service": time.Minute, "": time.Minute} {
		if c := k.CopyFor(backend); c.TTL != want || c.Desc != ServiceName+":item" {
			t.Errorf("CopyFor(%q) = %+v, want TTL %v", backend, c, want)
		}
	}
}

// TestCacheLinksNoKeyringLibrary: the front door links package cache to
// open entries; it must not drag in the keyring library, D-Bus, JOSE, a
// terminal library, or the network stack (each costs start-up time).
func TestCacheLinksNoKeyringLibrary(t *testing.T) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command is needed to list package cache's imports: %v", err)
	}
	banned := []string{"github.com/99designs/", "github.com/godbus/", "github.com/dvsekhvalnov/jose2go", "github.com/gsterjov/",
		"golang.org/x/term", "net/http", "crypto/tls", "crypto/x509", "github.com/goccy/go-yaml", "rsc.io/qr"}
	for _, goos := range []string{"linux", "darwin", "windows"} {
		cmd := exec.Command(goBin, "list", "-deps", ".")
		cmd.Env = append(os.Environ(), "GOOS="+goos)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("go list -deps (GOOS=%s): %v\n%s", goos, err, out)
		}
		for _, dep := range strings.Fields(string(out)) {
			for _, b := range banned {
				if strings.HasPrefix(dep, b) {
					t.Errorf("GOOS=%s: package cache links %s", goos, dep)
				}
			}
		}
	}
}
