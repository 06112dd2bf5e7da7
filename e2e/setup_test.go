package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

const setupConfig = `default_profile = "acme"

[profiles.acme]
server    = "https://sso.acme.example"
org       = "acme"
service   = "cli"
client_id = "acme-cli"
git       = ["https://git.acme.example/", "https://code.acme.example/team/"]
docker    = ["registry.acme.example"]
terraform = ["tf.acme.example"]

[profiles.bare]
server    = "https://sso.acme.example"
org       = "acme"
service   = "cli"
client_id = "acme-cli"
`

// setupRun runs `setup args...` and checks the exit code and that stdout
// stays empty.
func setupRun(t *testing.T, s *sandbox, want int, args ...string) string {
	t.Helper()
	out, errOut, code := s.run(t, append([]string{"setup"}, args...)...)
	if code != want || out != "" {
		t.Fatalf("setup %v: exit %d (want %d), stdout %q, stderr:\n%s", args, code, want, out, errOut)
	}
	return errOut
}

func setupRead(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func setupExists(path string) bool { _, err := os.Lstat(path); return err == nil }

func TestSetupClients(t *testing.T) {
	t.Parallel()
	self, err := filepath.EvalSymlinks(bin)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		client string
		file   func(s *sandbox) string
		want   []string // in the file after setup
		log    string   // in stderr after setup
	}{
		{"git", func(s *sandbox) string { return filepath.Join(s.env["HOME"], ".gitconfig") },
			[]string{"[credential \"https://git.acme.example/\"]\n\thelper = \n\thelper = authos\n", "useHttpPath = true"},
			"git: set credential.https://git.acme.example/.helper = authos"},
		{"docker", func(s *sandbox) string { return filepath.Join(s.env["HOME"], ".docker", "config.json") },
			[]string{`"credHelpers": {`, `"registry.acme.example": "authos"`},
			`docker: set credHelpers["registry.acme.example"] = "authos" (in ~/.docker/config.json)`},
		{"kube", func(s *sandbox) string { return filepath.Join(s.env["HOME"], ".kube", "config") },
			[]string{"- name: authos-acme\n", "command: " + self + "\n", "args: [kube, --profile, acme]", "interactiveMode: IfAvailable"},
			"kube: added user authos-acme"},
		{"terraform", func(s *sandbox) string { return filepath.Join(s.env["HOME"], ".terraformrc") },
			[]string{"credentials_helper \"authos\" {\n  args = [\"--profile\", \"acme\"]\n}\n"},
			`terraform: added credentials_helper "authos"`},
	} {
		t.Run(tc.client, func(t *testing.T) {
			t.Parallel()
			s := newSandbox(t, "")
			s.env["GIT_CONFIG_NOSYSTEM"] = "1"
			s.writeConfig(t, setupConfig)
			file := tc.file(s)

			errOut := setupRun(t, s, 0, tc.client, "--dry-run")
			if !strings.Contains(errOut, "would") || setupExists(file) {
				t.Fatalf("dry run: %s", errOut)
			}
			errOut = setupRun(t, s, 0, tc.client)
			if !strings.Contains(errOut, tc.log) {
				t.Errorf("stderr lacks %q:\n%s", tc.log, errOut)
			}
			got := setupRead(t, file)
			for _, w := range tc.want {
				if !strings.Contains(got, w) {
					t.Errorf("%s lacks %q:\n%s", file, w, got)
				}
			}
			if fi, err := os.Stat(file); err != nil || fi.Mode().Perm() != 0o600 {
				t.Errorf("mode of %s: %v %v", file, fi.Mode(), err)
			}
			if tc.client == "terraform" {
				arch := runtime.GOOS + "_" + runtime.GOARCH
				for _, l := range []string{
					filepath.Join(s.env["HOME"], ".terraform.d", "plugins", arch, "terraform-credentials-authos"),
					filepath.Join(s.env["XDG_DATA_HOME"], "opentofu", "plugins", arch, "terraform-credentials-authos"),
				} {
					if target, err := os.Readlink(l); err != nil || target != self {
						t.Errorf("plugin link %s: %q %v", l, target, err)
					}
				}
			}
			if tc.client == "git" {
				cmd := exec.Command("git", "config", "--global", "--get-all", "credential.https://git.acme.example/.helper")
				cmd.Env = s.environ()
				if out, err := cmd.Output(); err != nil || string(out) != "\nauthos\n" {
					t.Errorf("git sees %q %v", out, err)
				}
			}

			errOut = setupRun(t, s, 0, tc.client, "--profile", "acme")
			if !strings.Contains(errOut, "nothing changed") || setupRead(t, file) != got {
				t.Errorf("second run changed something:\n%s", errOut)
			}

			setupRun(t, s, 0, tc.client, "--undo")
			if setupExists(file) {
				t.Errorf("undo left %s:\n%s", file, setupRead(t, file))
			}
			if tc.client == "terraform" && setupExists(filepath.Join(s.env["HOME"], ".terraform.d")) {
				t.Error("undo left the plugin folders")
			}
		})
	}
}

func TestSetupUndoKeepsOthers(t *testing.T) {
	t.Parallel()
	s := newSandbox(t, "")
	s.writeConfig(t, setupConfig)
	path := filepath.Join(s.env["HOME"], ".docker", "config.json")
	original := "{\n\t\"auths\": {},\n\t\"credsStore\": \"desktop\",\n\t\"credHelpers\": {\n\t\t\"gcr.io\": \"gcloud\"\n\t}\n}\n"
	os.MkdirAll(filepath.Dir(path), 0o700)
	os.WriteFile(path, []byte(original), 0o644)

	setupRun(t, s, 0, "docker")
	if got := setupRead(t, path); !strings.Contains(got, "\"gcr.io\": \"gcloud\",\n\t\t\"registry.acme.example\": \"authos\"") || !strings.Contains(got, `"credsStore": "desktop"`) {
		t.Errorf("config:\n%s", got)
	}
	backups, _ := filepath.Glob(path + ".authos-backup-*")
	if len(backups) != 1 || setupRead(t, backups[0]) != original {
		t.Errorf("backups %v", backups)
	}
	setupRun(t, s, 0, "docker", "--undo")
	if got := setupRead(t, path); got != original {
		t.Errorf("undo left\n%s", got)
	}
}

func TestSetupUsage(t *testing.T) {
	t.Parallel()
	s := newSandbox(t, "")
	s.writeConfig(t, setupConfig)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"git", "--profile", "bare"}, "add git = [...] to [profiles.bare]"},
		{[]string{"docker", "--profile", "nope"}, `no profile "nope"`},
		{[]string{"svn"}, "unknown client"},
		{nil, "usage: authos-credential-helper setup"},
		{[]string{"git", "extra"}, "usage"},
	} {
		errOut := setupRun(t, s, 2, tc.args...)
		if !strings.Contains(errOut, tc.want) {
			t.Errorf("setup %v: stderr %q lacks %q", tc.args, errOut, tc.want)
		}
	}
	if entries, _ := os.ReadDir(s.env["HOME"]); len(entries) != 0 {
		t.Errorf("usage errors wrote into HOME: %v", entries)
	}
}
