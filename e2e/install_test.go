package e2e

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// install.sh --from a release archive on Linux: the archive must hold the
// front door and the full helper, and both land in the same folder, the
// client names linked to the front door, which then works through the
// full helper. An archive without the full helper installs nothing.
func TestInstallFromArchive(t *testing.T) {
	t.Parallel()
	plugin := pluginBinary(t)
	for _, tc := range []struct {
		name    string
		files   map[string]string // archive name -> built binary
		wantErr string            // "": installs
	}{
		{"both helpers", map[string]string{"authos-credential-helper": bin, "authos-credential-helper-full": fullBin, "authos-credential-plugin": plugin}, ""},
		{"no full helper", map[string]string{"authos-credential-helper": bin, "authos-credential-plugin": plugin}, "has no authos-credential-helper-full"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			stage := filepath.Join(dir, "stage")
			for name, src := range tc.files {
				copyExecutable(t, src, filepath.Join(stage, name))
			}
			archive := filepath.Join(dir, "authos-credential-helper_0.0.0_linux_amd64.tar.gz")
			if out, err := exec.Command("tar", "-czf", archive, "-C", stage, ".").CombinedOutput(); err != nil {
				t.Fatalf("tar: %v %s", err, out)
			}
			b, err := os.ReadFile(archive)
			if err != nil {
				t.Fatal(err)
			}
			sum := sha256.Sum256(b)
			writeFile(t, filepath.Join(dir, "checksums.txt"), hex.EncodeToString(sum[:])+"  "+filepath.Base(archive)+"\n")
			prefix := filepath.Join(dir, "prefix")
			cmd := exec.Command("sh", filepath.Join(rootDir, "install.sh"), "--from", archive, "--prefix", prefix)
			cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir}
			out, err := cmd.CombinedOutput()
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(string(out), tc.wantErr) {
					t.Fatalf("install.sh: %v, want a failure saying %q:\n%s", err, tc.wantErr, out)
				}
				if _, err := os.Stat(filepath.Join(prefix, "bin", "authos-credential-helper")); err == nil {
					t.Fatal("the front door was installed anyway")
				}
				return
			}
			if err != nil {
				t.Fatalf("install.sh: %v\n%s", err, out)
			}
			bindir := filepath.Join(prefix, "bin")
			for _, name := range []string{"authos-credential-helper", "authos-credential-helper-full", "authos-credential-plugin"} {
				if fi, err := os.Lstat(filepath.Join(bindir, name)); err != nil || !fi.Mode().IsRegular() || fi.Mode().Perm()&0o111 == 0 {
					t.Errorf("%s: %v %v", name, fi, err)
				}
			}
			for _, name := range []string{"git-credential-authos", "docker-credential-authos", "terraform-credentials-authos"} {
				if target, err := os.Readlink(filepath.Join(bindir, name)); err != nil || target != "authos-credential-helper" {
					t.Errorf("%s -> %q (%v), want authos-credential-helper", name, target, err)
				}
			}
			// Through a client link, the front door reaches the full helper.
			s := newSandbox(t, "")
			r := runProgram(t, s, ptr(""), filepath.Join(bindir, "docker-credential-authos"), "version")
			if r.code != 0 || !strings.Contains(r.stdout, "authos") {
				t.Errorf("the installed docker-credential-authos version: %+v", r)
			}
		})
	}
}
