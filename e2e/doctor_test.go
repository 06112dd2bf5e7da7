package e2e

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// newDoctorSandbox is a sandbox with all four clients set up for profile
// acme: git, docker and terraform by their patterns, kubectl for context
// dev (an https cluster) with a kuberc whose Allowlist setup extends.
func newDoctorSandbox(t *testing.T, d *devServer) *binSandbox {
	t.Helper()
	s := newBinSandbox(t, d, `git = ["https://git.acme.example/", "https://code.acme.example/team/"]`, `docker = ["registry.acme.example"]`, `terraform = ["tf.acme.example"]`)
	s.env["GIT_CONFIG_NOSYSTEM"] = "1"
	writeFile(t, s.env["KUBECONFIG"], "apiVersion: v1\nkind: Config\nclusters:\n- name: dev\n  cluster:\n    server: https://k8s.acme.example:6443\n"+
		"contexts:\n- name: dev\n  context:\n    cluster: dev\n    user: nobody\ncurrent-context: dev\nusers:\n- name: nobody\n  user:\n    token: x\n")
	writeFile(t, s.kuberc(), kubercAllowlist("/usr/bin/aws"))
	for _, args := range [][]string{{"git"}, {"docker"}, {"kube", "--context", "dev"}, {"terraform"}} {
		s.setup(t, append(args, "--profile", "acme")...)
	}
	return s
}

func (s *binSandbox) kuberc() string { return filepath.Join(s.env["HOME"], ".kube", "kuberc") }

func kubercAllowlist(names ...string) string {
	b := "apiVersion: kubectl.config.k8s.io/v1beta1\nkind: Preference\ncredentialPluginPolicy: Allowlist\ncredentialPluginAllowlist:\n"
	for _, n := range names {
		b += "- name: " + n + "\n"
	}
	return b
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

// doctor runs `doctor args...` and returns stdout and the exit code; stderr
// is one line when something is broken, empty otherwise.
func (s *binSandbox) doctor(t *testing.T, args ...string) (string, int) {
	t.Helper()
	out, errOut, code := s.run(t, append([]string{"doctor"}, args...)...)
	switch {
	case code == 0 && errOut != "":
		t.Errorf("doctor passed but printed on stderr:\n%s", errOut)
	case code == 1 && (strings.Count(errOut, "\n") != 1 || !strings.Contains(errOut, "problem(s) found")):
		t.Errorf("doctor failed; stderr should be one line:\n%s", errOut)
	case code != 0 && code != 1:
		t.Fatalf("doctor exited %d: %s", code, errOut)
	}
	return out, code
}

// checkLine finds the line `  MARK AREA: …SUMMARY…`; a fix, if given, must
// be on the next line.
func checkLine(t *testing.T, out, mark, area, summary, fix string) {
	t.Helper()
	lines := strings.Split(out, "\n")
	for i, l := range lines {
		if strings.HasPrefix(l, "  "+mark+" "+area+": ") && strings.Contains(l, summary) {
			if fix == "" {
				return
			}
			if i+1 < len(lines) && strings.HasPrefix(lines[i+1], "      fix: ") && strings.Contains(lines[i+1], fix) {
				return
			}
			t.Errorf("%q has no fix line with %q:\n%s", l, fix, out)
			return
		}
	}
	t.Errorf("no line %q for %s with %q:\n%s", mark, area, summary, out)
}

// Set up for all four clients and signed in: every check passes, exit 0,
// and --json says the same.
func TestDoctorAllClear(t *testing.T) {
	t.Parallel()
	d := startDevServer(t)
	s := newDoctorSandbox(t, d)
	tok := s.login(t, 1)

	out, code := s.doctor(t)
	if code != 0 || strings.Contains(out, "✗") {
		t.Fatalf("doctor exited %d:\n%s", code, out)
	}
	for _, c := range []struct{ area, summary string }{
		{"git", "https://git.acme.example/: git asks authos first"},
		{"git", "https://code.acme.example/team/: git asks authos first"},
		{"git", "git-credential-authos is on PATH"},
		{"docker", "registry.acme.example: docker asks authos (credHelpers"},
		{"docker", "docker-credential-authos is on PATH"},
		{"kube", "user authos-acme runs authos-credential-helper"},
		{"kube", "context dev uses it for https://k8s.acme.example:6443"},
		{"kube", "allowlist lets kubectl run authos-credential-helper"},
		{"terraform", `credentials_helper "authos"`},
		{"terraform", "plugin ~/.terraform.d/plugins/"},
		{"token", "valid token for " + binUser},
		{"server", d.URL + " answers"},
		{"clock", "within"},
		{"device", "the metadata document offers device authorization"},
		{"device", d.URL + "/auth/device/code answers (405 to a GET"},
		{"device", d.URL + "/auth/token answers (405 to a GET"},
		{"install", "the full helper is beside the front door " + bin + " (this helper)"},
	} {
		checkLine(t, out, "✓", c.area, c.summary, "")
	}
	if !strings.Contains(out, "\nno problems found\n") {
		t.Errorf("no summary line:\n%s", out)
	}
	if strings.Contains(out, tok) {
		t.Fatal("doctor printed the token")
	}

	js, code := s.doctor(t, "--json")
	var rep struct {
		OK     bool `json:"ok"`
		Checks []struct {
			Section, Area, Status, Summary, Fix string
		} `json:"checks"`
	}
	if err := json.Unmarshal([]byte(js), &rep); err != nil || code != 0 || !rep.OK || len(rep.Checks) < 15 {
		t.Fatalf("--json: exit %d, %v:\n%s", code, err, js)
	}
	for _, c := range rep.Checks {
		if c.Status == "fail" || c.Section == "" || c.Area == "" || c.Summary == "" {
			t.Errorf("--json check %+v", c)
		}
	}
}

// Each planted problem gives its ✗ line with the fix, and exit status 1.
func TestDoctorPlantedProblems(t *testing.T) {
	t.Parallel()
	d := startDevServer(t)
	for _, tc := range []struct {
		name       string
		plant      func(t *testing.T, s *binSandbox)
		area, line string
		fix        string
		// then, when set, runs the fix and checks the line is gone
		apply func(t *testing.T, s *binSandbox)
	}{
		{"docker credsStore ahead", func(t *testing.T, s *binSandbox) {
			writeFile(t, filepath.Join(s.env["DOCKER_CONFIG"], "config.json"), `{"credsStore": "desktop"}`)
		}, "docker", `registry.acme.example: docker asks credsStore "desktop"`, "authos-credential-helper setup docker --profile acme",
			func(t *testing.T, s *binSandbox) { s.setup(t, "docker", "--profile", "acme") }},
		{"docker auths entry ahead", func(t *testing.T, s *binSandbox) {
			writeFile(t, filepath.Join(s.env["DOCKER_CONFIG"], "config.json"), `{"auths": {"registry.acme.example": {"auth": "b2F1dGgyOnN0YWxl"}}}`)
		}, "docker", `docker uses the login stored under auths["registry.acme.example"]`, "setup docker --profile acme", nil},
		{"TF_TOKEN_ variable", func(t *testing.T, s *binSandbox) { s.env["TF_TOKEN_tf_acme_example"] = "tf-static-secret" },
			"terraform", "TF_TOKEN_tf_acme_example is set: Terraform sends that token to tf.acme.example and never asks the helper", "unset TF_TOKEN_tf_acme_example",
			func(t *testing.T, s *binSandbox) { delete(s.env, "TF_TOKEN_tf_acme_example") }},
		{"terraform credentials block", func(t *testing.T, s *binSandbox) {
			f, err := os.OpenFile(s.env["TF_CLI_CONFIG_FILE"], os.O_APPEND|os.O_WRONLY, 0)
			if err != nil {
				t.Fatal(err)
			}
			f.WriteString("credentials \"tf.acme.example\" {\n  token = \"tf-static-secret\"\n}\n")
			f.Close()
		}, "terraform", `has a credentials "tf.acme.example" block`, `remove the credentials "tf.acme.example" block`, nil},
		{"terraform credentials.tfrc.json", func(t *testing.T, s *binSandbox) {
			writeFile(t, filepath.Join(s.env["HOME"], ".terraform.d", "credentials.tfrc.json"), `{"credentials": {"tf.acme.example": {"token": "tf-static-secret"}}}`)
		}, "terraform", "credentials.tfrc.json holds a token for tf.acme.example", `remove "tf.acme.example" from ~/.terraform.d/credentials.tfrc.json`, nil},
		{"git store helper earlier in the chain", func(t *testing.T, s *binSandbox) {
			const sec = "[credential \"https://git.acme.example/\"]\n\thelper = \n"
			replaceInFile(t, filepath.Join(s.env["HOME"], ".gitconfig"), sec, sec+"\thelper = store\n")
		}, "git", `https://git.acme.example/: git asks helper "store"`, "git config --file ",
			func(t *testing.T, s *binSandbox) { s.runFix(t, "git") }},
		{"git useHttpPath off for a path prefix", func(t *testing.T, s *binSandbox) {
			cmd := exec.Command("git", "config", "--global", "--unset", "credential.https://code.acme.example/team/.useHttpPath")
			cmd.Env = s.environ()
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("%v %s", err, out)
			}
		}, "git", "https://code.acme.example/team/: git passes the helper no path (useHttpPath is off)", "git config --global credential.https://code.acme.example/team/.useHttpPath true",
			func(t *testing.T, s *binSandbox) { s.runFix(t, "git") }},
		{"http:// kube cluster", func(t *testing.T, s *binSandbox) {
			replaceInFile(t, s.env["KUBECONFIG"], "server: https://k8s.acme.example:6443", "server: http://127.0.0.1:8080")
		}, "kube", "context dev: cluster dev is http://127.0.0.1:8080, and kubectl runs no exec plugin over plain http", "use the cluster's https:// address", nil},
		{"kuberc allowlist without the helper", func(t *testing.T, s *binSandbox) {
			writeFile(t, s.kuberc(), kubercAllowlist("/usr/bin/aws"))
		}, "kube", "credentialPluginAllowlist does not allow authos-credential-helper (it lists /usr/bin/aws)", "authos-credential-helper setup kube --profile acme",
			func(t *testing.T, s *binSandbox) { s.setup(t, "kube", "--profile", "acme") }},
		{"kuberc DenyAll", func(t *testing.T, s *binSandbox) {
			writeFile(t, s.kuberc(), "apiVersion: kubectl.config.k8s.io/v1beta1\nkind: Preference\ncredentialPluginPolicy: DenyAll\n")
		}, "kube", "credentialPluginPolicy: DenyAll", "set credentialPluginPolicy: Allowlist", nil},
		{"front door on PATH without the full helper", func(t *testing.T, s *binSandbox) {
			dir := filepath.Join(s.root, "old")
			copyExecutable(t, bin, filepath.Join(dir, "authos-credential-helper"))
			link := filepath.Join(s.root, "bin", "docker-credential-authos")
			os.Remove(link)
			if err := os.Symlink(filepath.Join(dir, "authos-credential-helper"), link); err != nil {
				t.Fatal(err)
			}
		}, "install", "old/authos-credential-helper-full is missing beside the front door", "copy authos-credential-helper-full of the same release into",
			func(t *testing.T, s *binSandbox) {
				copyExecutable(t, fullBin, filepath.Join(s.root, "old", "authos-credential-helper-full"))
			}},
		{"docker-credential-authos not on PATH", func(t *testing.T, s *binSandbox) {
			os.Remove(filepath.Join(s.root, "bin", "docker-credential-authos"))
		}, "docker", "docker-credential-authos is not on PATH", "ln -s", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := newDoctorSandbox(t, d)
			if out, code := s.doctor(t, "--offline"); code != 0 {
				t.Fatalf("before planting: exit %d\n%s", code, out)
			}
			tc.plant(t, s)
			out, code := s.doctor(t, "--offline")
			if code != 1 {
				t.Fatalf("exit %d, want 1:\n%s", code, out)
			}
			checkLine(t, out, "✗", tc.area, tc.line, tc.fix)
			if strings.Contains(out, "tf-static-secret") || strings.Contains(out, "b2F1dGgyOnN0YWxl") {
				t.Errorf("doctor printed a secret:\n%s", out)
			}
			if tc.apply == nil {
				return
			}
			tc.apply(t, s)
			if out, code := s.doctor(t, "--offline"); code != 0 || strings.Contains(out, tc.line) {
				t.Errorf("after the fix: exit %d\n%s", code, out)
			}
		})
	}
}

// runFix runs the fix doctor gives for the first ✗ line of area, as a
// person would paste it into a shell.
func (s *binSandbox) runFix(t *testing.T, area string) {
	t.Helper()
	js, _ := s.doctor(t, "--offline", "--json")
	var rep struct {
		Checks []struct{ Area, Status, Fix string } `json:"checks"`
	}
	if err := json.Unmarshal([]byte(js), &rep); err != nil {
		t.Fatal(err)
	}
	for _, c := range rep.Checks {
		if c.Area == area && c.Status == "fail" {
			cmd := exec.Command("sh", "-c", c.Fix)
			cmd.Env = s.environ()
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("the fix %q: %v\n%s", c.Fix, err, out)
			}
			return
		}
	}
	t.Fatalf("no failed %s check:\n%s", area, js)
}

// The server down: its ✗ line, exit 1; the client checks still run.
func TestDoctorServerDown(t *testing.T) {
	t.Parallel()
	d := startDevServer(t)
	s := newDoctorSandbox(t, d)
	d.stop()
	out, code := s.doctor(t)
	if code != 1 {
		t.Fatalf("exit %d:\n%s", code, out)
	}
	checkLine(t, out, "✗", "server", "cannot reach "+d.URL, "check the network")
	checkLine(t, out, "✓", "git", "git asks authos first", "")
	js, code := s.doctor(t, "--json")
	var rep struct {
		OK bool `json:"ok"`
	}
	if err := json.Unmarshal([]byte(js), &rep); err != nil || code != 1 || rep.OK {
		t.Fatalf("--json: exit %d %v:\n%s", code, err, js)
	}
}

// copyExecutable copies the program src to dst (a new folder is made).
func copyExecutable(t *testing.T, src, dst string) {
	t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, b, 0o755); err != nil {
		t.Fatal(err)
	}
}
