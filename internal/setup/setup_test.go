package setup

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/authos/authos-credential-helper/internal/config"
)

// world is a temporary home with an environment and a config.
type world struct {
	t      *testing.T
	root   string
	home   string
	env    map[string]string
	cfg    *config.Config
	binary string
	log    bytes.Buffer
	now    time.Time
}

func newWorld(t *testing.T) *world {
	t.Helper()
	root := t.TempDir()
	w := &world{t: t, root: root, home: filepath.Join(root, "home"), now: time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)}
	if err := os.MkdirAll(w.home, 0o700); err != nil {
		t.Fatal(err)
	}
	w.binary = filepath.Join(root, "bin", "authos-credential-helper")
	os.MkdirAll(filepath.Dir(w.binary), 0o755)
	os.WriteFile(w.binary, []byte("#!/bin/sh\n"), 0o755)
	w.env = map[string]string{
		"HOME":                w.home,
		"PATH":                os.Getenv("PATH"),
		"XDG_CONFIG_HOME":     filepath.Join(root, "config"),
		"XDG_DATA_HOME":       filepath.Join(root, "data"),
		"GIT_CONFIG_NOSYSTEM": "1",
		"GIT_CONFIG_GLOBAL":   filepath.Join(w.home, ".gitconfig"),
	}
	w.cfg = &config.Config{
		DefaultProfile: "acme",
		Profiles: map[string]config.Profile{
			"acme": {
				Server: "https://sso.acme.example", Org: "acme", Service: "cli", ClientID: "acme-cli",
				Git:       []string{"https://git.acme.example/", "https://code.acme.example/team/"},
				Docker:    []string{"registry.acme.example", "ghcr.acme.example:5000"},
				Terraform: []string{"tf.acme.example"},
			},
			"work": {
				Server: "https://sso.work.example", Org: "work", Service: "cli", ClientID: "work-cli",
				Git:    []string{"https://git.work.example/"},
				Docker: []string{"registry.work.example"},
			},
			"bare": {Server: "https://sso.acme.example", Org: "acme", Service: "cli", ClientID: "acme-cli"},
		},
	}
	return w
}

func (w *world) environ() []string {
	var out []string
	for k, v := range w.env {
		out = append(out, k+"="+v)
	}
	return out
}

// run runs setup for client with flags applied by the mutators.
func (w *world) run(client string, mods ...func(*Options)) error {
	w.t.Helper()
	w.log.Reset()
	o := Options{
		Client:   client,
		Config:   w.cfg,
		Binary:   w.binary,
		Getenv:   func(k string) string { return w.env[k] },
		Environ:  w.environ(),
		StateDir: filepath.Join(w.root, "state"),
		Log:      &w.log,
		Now:      func() time.Time { w.now = w.now.Add(time.Second); return w.now },
	}
	for _, m := range mods {
		m(&o)
	}
	return Run(context.Background(), o)
}

func (w *world) mustRun(client string, mods ...func(*Options)) string {
	w.t.Helper()
	if err := w.run(client, mods...); err != nil {
		w.t.Fatalf("setup %s: %v\nlog:\n%s", client, err, w.log.String())
	}
	return w.log.String()
}

var (
	undo   = func(o *Options) { o.Undo = true }
	dryRun = func(o *Options) { o.DryRun = true }
	force  = func(o *Options) { o.Force = true }
)

func profile(p string) func(*Options) { return func(o *Options) { o.Profile = p } }

func write(t *testing.T, path, content string, mode os.FileMode) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
	os.Chmod(path, mode)
}

func read(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func mode(t *testing.T, path string) os.FileMode {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Mode().Perm()
}

func backups(t *testing.T, path string) []string {
	t.Helper()
	m, _ := filepath.Glob(path + ".authos-backup-*")
	return m
}

func exists(path string) bool { _, err := os.Lstat(path); return err == nil }

// checkBackup says there is exactly one backup of path, holding want with
// the original mode.
func checkBackup(t *testing.T, path, want string, wantMode os.FileMode) {
	t.Helper()
	b := backups(t, path)
	if len(b) != 1 {
		t.Fatalf("backups of %s: %v, want one", path, b)
	}
	if got := read(t, b[0]); got != want {
		t.Fatalf("backup holds %q, want %q", got, want)
	}
	if m := mode(t, b[0]); m != wantMode {
		t.Fatalf("backup mode %v, want %v", m, wantMode)
	}
}

func TestSetupUsageErrors(t *testing.T) {
	w := newWorld(t)
	cases := []struct {
		client string
		mods   []func(*Options)
		want   string
	}{
		{"git", []func(*Options){profile("bare")}, "add git = [...] to [profiles.bare]"},
		{"docker", []func(*Options){profile("bare")}, "add docker = [...]"},
		{"terraform", []func(*Options){profile("work")}, "add terraform = [...] to [profiles.work]"},
		{"git", []func(*Options){profile("nope")}, `no profile "nope"`},
		{"svn", nil, "unknown client"},
		{"git", []func(*Options){func(o *Options) { o.Context = "x" }}, "--context is for kube only"},
	}
	for _, c := range cases {
		err := w.run(c.client, c.mods...)
		var ue UsageError
		if !errors.As(err, &ue) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("setup %s: %v, want a usage error with %q", c.client, err, c.want)
		}
	}
	w.cfg.DefaultProfile = ""
	if err := w.run("kube"); !errors.As(err, new(UsageError)) {
		t.Errorf("no profile at all: %v", err)
	}
	if entries, _ := os.ReadDir(w.home); len(entries) != 0 {
		t.Errorf("usage errors wrote files: %v", entries)
	}
}

// ---- git ----

func (w *world) git(args ...string) (string, error) {
	w.t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Env = w.environ()
	cmd.Dir = w.root
	out, err := cmd.Output()
	return strings.TrimSuffix(string(out), "\n"), err
}

func (w *world) gitValues(key string) []string {
	w.t.Helper()
	out, err := w.git("config", "--global", "--get-all", key)
	if err != nil {
		return nil
	}
	return strings.Split(out, "\n")
}

func needGit(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Fatal("git is missing: test.sh installs it (Debian package git)")
	}
}

func TestSetupGit(t *testing.T) {
	needGit(t)
	const existing = "# my settings\n[user]\n\tname = Alice\n\temail = alice@acme.example\n[credential]\n\thelper = cache --timeout=3600\n; another comment\n[alias]\n\tco = checkout\n"
	for _, tc := range []struct {
		name     string
		original string // "" = no file
		mode     os.FileMode
	}{
		{"fresh", "", 0},
		{"existing", existing, 0o640},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t)
			gc := w.env["GIT_CONFIG_GLOBAL"]
			if tc.original != "" {
				write(t, gc, tc.original, tc.mode)
			}

			// dry run: says what, writes nothing
			out := w.mustRun("git", dryRun)
			if !strings.Contains(out, "git: would set credential.https://git.acme.example/.helper = authos") {
				t.Fatalf("dry run said:\n%s", out)
			}
			if exists(gc) != (tc.original != "") || backups(t, gc) != nil {
				t.Fatal("dry run wrote")
			}

			out = w.mustRun("git")
			for _, want := range []string{
				"git: set credential.https://git.acme.example/.helper = authos",
				"git: set credential.https://code.acme.example/team/.helper = authos",
				"git: set credential.https://code.acme.example/team/.useHttpPath = true",
				"(in ~/.gitconfig)",
			} {
				if !strings.Contains(out, want) {
					t.Errorf("log lacks %q:\n%s", want, out)
				}
			}
			if strings.Contains(out, "git.acme.example/.useHttpPath") {
				t.Errorf("useHttpPath set for a host-only prefix:\n%s", out)
			}
			for _, u := range []string{"https://git.acme.example/", "https://code.acme.example/team/"} {
				if got := w.gitValues("credential." + u + ".helper"); len(got) != 2 || got[0] != "" || got[1] != "authos" {
					t.Errorf("%s helpers: %q", u, got)
				}
			}
			if got := w.gitValues("credential.https://code.acme.example/team/.usehttppath"); len(got) != 1 || got[0] != "true" {
				t.Errorf("useHttpPath: %q", got)
			}
			if got := w.gitValues("credential.https://git.acme.example/.usehttppath"); got != nil {
				t.Errorf("useHttpPath on host prefix: %q", got)
			}
			// git's own view for a request: our reset, then us; the global
			// cache helper no longer answers for this host.
			if out, err := w.git("config", "--get-urlmatch", "credential.helper", "https://git.acme.example/org/repo.git"); err != nil || out != "authos" {
				t.Errorf("urlmatch: %q %v", out, err)
			}
			// git itself runs git-credential-authos (a stand-in here) and not
			// the globally configured cache helper.
			fake := filepath.Join(w.root, "fakebin")
			write(t, filepath.Join(fake, "git-credential-authos"), "#!/bin/sh\ncat >/dev/null\n[ \"$1\" = get ] && printf 'username=oauth2\\npassword=tok-%s\\n' \"$#\"\nexit 0\n", 0o755)
			w.env["PATH"] = fake + string(os.PathListSeparator) + os.Getenv("PATH")
			w.env["GIT_TERMINAL_PROMPT"] = "0"
			fill := exec.Command("git", "credential", "fill")
			fill.Env, fill.Dir = w.environ(), w.root
			fill.Stdin = strings.NewReader("protocol=https\nhost=git.acme.example\npath=org/repo.git\n\n")
			if out, err := fill.Output(); err != nil || !strings.Contains(string(out), "password=tok-1\n") {
				t.Errorf("git credential fill: %q %v", out, err)
			}
			delete(w.env, "GIT_TERMINAL_PROMPT")
			w.env["PATH"] = os.Getenv("PATH")
			if tc.original != "" {
				checkBackup(t, gc, tc.original, tc.mode)
				if m := mode(t, gc); m != tc.mode {
					t.Errorf("mode changed to %v", m)
				}
				if !strings.HasPrefix(read(t, gc), tc.original) {
					t.Errorf("existing content changed:\n%s", read(t, gc))
				}
			} else if m := mode(t, gc); m != 0o600 {
				t.Errorf("new file mode %v", m)
			}
			after := read(t, gc)

			// idempotent
			out = w.mustRun("git")
			if !strings.Contains(out, "nothing changed") || strings.Contains(out, "git: set") {
				t.Errorf("second run said:\n%s", out)
			}
			if read(t, gc) != after || len(backups(t, gc)) > 1 || (tc.original == "" && backups(t, gc) != nil) {
				t.Error("second run changed the file or backed it up again")
			}

			// undo dry run, then undo
			w.mustRun("git", undo, dryRun)
			if read(t, gc) != after {
				t.Error("undo dry run wrote")
			}
			out = w.mustRun("git", undo)
			if !strings.Contains(out, "git: removed credential.https://git.acme.example/.helper = authos") {
				t.Errorf("undo said:\n%s", out)
			}
			if tc.original == "" {
				if exists(gc) {
					t.Errorf("undo left the file setup created: %q", read(t, gc))
				}
			} else if got := read(t, gc); got != tc.original {
				t.Errorf("undo left\n%q\nwant\n%q", got, tc.original)
			}
			out = w.mustRun("git", undo)
			if !strings.Contains(out, "nothing of ours to remove") {
				t.Errorf("second undo said:\n%s", out)
			}
		})
	}
}

func TestSetupGitProfileAndForeign(t *testing.T) {
	needGit(t)
	w := newWorld(t)
	gc := w.env["GIT_CONFIG_GLOBAL"]
	original := "[credential \"https://git.work.example/\"]\n\tusername = bob\n\thelper = store\n"
	write(t, gc, original, 0o600)

	err := w.run("git", profile("work"))
	if err == nil || !strings.Contains(err.Error(), `already has "store"`) || !strings.Contains(err.Error(), "--force") {
		t.Fatalf("foreign helper: %v", err)
	}
	if read(t, gc) != original || backups(t, gc) != nil {
		t.Fatal("refusal changed something")
	}

	w.mustRun("git", profile("work"), force)
	want := []string{"store", "", "authos --profile work"}
	if got := w.gitValues("credential.https://git.work.example/.helper"); strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("helpers %q, want %q", got, want)
	}
	if out := w.mustRun("git", profile("work"), force); !strings.Contains(out, "nothing changed") {
		t.Errorf("second forced run: %s", out)
	}
	w.mustRun("git", profile("work"), undo)
	if got := read(t, gc); got != original {
		t.Errorf("undo left %q", got)
	}
}

// ---- docker ----

func TestSetupDocker(t *testing.T) {
	const existing = "{\n\t\"auths\": {\n\t\t\"https://index.docker.io/v1/\": {}\n\t},\n\t\"credsStore\": \"desktop\",\n\t\"credHelpers\": {\n\t\t\"gcr.io\": \"gcloud\"\n\t},\n\t\"currentContext\": \"default\",\n\t\"plugins\": {\"x\": {\"a\": 1.50}}\n}\n"
	const noHelpers = "{\n  \"auths\": {},\n  \"psFormat\": \"table {{.ID}}\\t{{.Names}}\"\n}"
	for _, tc := range []struct {
		name, original string
		mode           os.FileMode
	}{
		{"fresh", "", 0},
		{"existing", existing, 0o644},
		{"existing without credHelpers, two-space indent, no final newline", noHelpers, 0o600},
		{"empty object", "{}", 0o600},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t)
			path := filepath.Join(w.home, ".docker", "config.json")
			if tc.original != "" {
				write(t, path, tc.original, tc.mode)
			}
			w.mustRun("docker", dryRun)
			if exists(path) != (tc.original != "") {
				t.Fatal("dry run wrote")
			}
			out := w.mustRun("docker")
			if !strings.Contains(out, `docker: set credHelpers["registry.acme.example"] = "authos" (in ~/.docker/config.json)`) {
				t.Errorf("log:\n%s", out)
			}
			got := read(t, path)
			if !strings.Contains(got, `"registry.acme.example": "authos"`) || !strings.Contains(got, `"ghcr.acme.example:5000": "authos"`) {
				t.Errorf("config:\n%s", got)
			}
			if tc.original == existing {
				// everything else kept, byte for byte
				want := strings.Replace(existing, "\"gcr.io\": \"gcloud\"", "\"gcr.io\": \"gcloud\",\n\t\t\"registry.acme.example\": \"authos\",\n\t\t\"ghcr.acme.example:5000\": \"authos\"", 1)
				if got != want {
					t.Errorf("got\n%s\nwant\n%s", got, want)
				}
			}
			if tc.original == "" {
				if want := "{\n\t\"credHelpers\": {\n\t\t\"registry.acme.example\": \"authos\",\n\t\t\"ghcr.acme.example:5000\": \"authos\"\n\t}\n}\n"; got != want {
					t.Errorf("new file\n%s\nwant\n%s", got, want)
				}
				if mode(t, path) != 0o600 || mode(t, filepath.Dir(path)) != 0o700 {
					t.Errorf("modes %v %v", mode(t, path), mode(t, filepath.Dir(path)))
				}
			} else {
				checkBackup(t, path, tc.original, tc.mode)
				if mode(t, path) != tc.mode {
					t.Errorf("mode %v", mode(t, path))
				}
			}
			if strings.Contains(got, `"credsStore": "authos"`) {
				t.Error("set a global credsStore without --creds-store")
			}
			out = w.mustRun("docker")
			if !strings.Contains(out, "nothing changed") || read(t, path) != got || len(backups(t, path)) > 1 {
				t.Errorf("second run: %s", out)
			}
			w.mustRun("docker", undo)
			if tc.original == "" {
				if exists(path) {
					t.Errorf("undo left %q", read(t, path))
				}
			} else if after := read(t, path); after != tc.original {
				t.Errorf("undo left\n%s\nwant\n%s", after, tc.original)
			}
		})
	}
}

func TestSetupDockerForeignAndCredsStore(t *testing.T) {
	w := newWorld(t)
	path := filepath.Join(w.home, ".docker", "config.json")
	original := "{\n\t\"credHelpers\": {\n\t\t\"registry.acme.example\": \"ecr-login\"\n\t},\n\t\"credsStore\": \"pass\"\n}\n"
	write(t, path, original, 0o600)
	err := w.run("docker")
	if err == nil || !strings.Contains(err.Error(), `"registry.acme.example" uses "ecr-login"`) || !strings.Contains(err.Error(), "--force") {
		t.Fatalf("foreign helper: %v", err)
	}
	if read(t, path) != original || backups(t, path) != nil {
		t.Fatal("refusal wrote")
	}
	out := w.mustRun("docker", force, func(o *Options) { o.CredsStore = true })
	if !strings.Contains(out, `was "ecr-login"`) || !strings.Contains(out, `credsStore = "authos" (was "pass")`) {
		t.Errorf("log:\n%s", out)
	}
	got := read(t, path)
	if !strings.Contains(got, "\"registry.acme.example\": \"authos\"") || !strings.Contains(got, "\"credsStore\": \"authos\"") {
		t.Errorf("config:\n%s", got)
	}
	w.mustRun("docker", undo)
	if after := read(t, path); after != original {
		t.Errorf("undo left\n%s\nwant\n%s", after, original)
	}
}

func TestSetupDockerBadJSON(t *testing.T) {
	w := newWorld(t)
	path := filepath.Join(w.root, "dc", "config.json")
	w.env["DOCKER_CONFIG"] = filepath.Dir(path)
	write(t, path, "{\"auths\": ", 0o600)
	if err := w.run("docker"); err == nil || !strings.Contains(err.Error(), "not valid JSON") {
		t.Fatalf("bad JSON: %v", err)
	}
}

// ---- kube ----

const kubeExisting = `# managed by hand
apiVersion: v1
kind: Config
clusters:
- cluster:
    certificate-authority-data: LS0tLS1CRUdJTi==
    server: https://k8s.acme.example:6443   # prod
  name: prod
contexts:
  - context:
      cluster: prod
      user: "alice"   # who I am
    name: prod
current-context: prod
preferences: {}
users:
# humans
- name: alice
  user:
    token: "abc"   # inline
    note: |
      line one
      line two
- name: bob
  user:
    exec:
      apiVersion: client.authentication.k8s.io/v1beta1
      command: aws
      args: ["eks", 'get-token']
# trailing comment

`

func TestSetupKube(t *testing.T) {
	for _, tc := range []struct {
		name, original string
		mode           os.FileMode
	}{
		{"fresh", "", 0},
		{"existing", kubeExisting, 0o600},
		{"empty users", "apiVersion: v1\nkind: Config\nusers: []   # none yet\ncontexts: []\n", 0o640},
		{"no users key, no final newline", "apiVersion: v1\nkind: Config", 0o600},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t)
			path := filepath.Join(w.home, ".kube", "config")
			if tc.original != "" {
				write(t, path, tc.original, tc.mode)
			}
			w.mustRun("kube", dryRun)
			if exists(path) != (tc.original != "") {
				t.Fatal("dry run wrote")
			}
			out := w.mustRun("kube")
			if !strings.Contains(out, "kube: added user authos-acme running "+w.binary+" (in ~/.kube/config)") {
				t.Errorf("log:\n%s", out)
			}
			got := read(t, path)
			entry := "- name: authos-acme\n  user:\n    exec:\n      apiVersion: client.authentication.k8s.io/v1\n      command: " + w.binary +
				"\n      args: [kube, --profile, acme]\n      interactiveMode: IfAvailable\n      provideClusterInfo: false\n" +
				"      installHint: \"Install authos-credential-helper (./install.sh) and run: authos-credential-helper login --profile acme\"\n"
			switch tc.original {
			case "":
				if want := kubeSkeleton + "users:\n" + entry; got != want {
					t.Errorf("new file\n%s\nwant\n%s", got, want)
				}
				if mode(t, path) != 0o600 || mode(t, filepath.Dir(path)) != 0o700 {
					t.Error("modes")
				}
			case kubeExisting:
				// byte-identical apart from the added user, after bob
				want := strings.Replace(kubeExisting, "# trailing comment", entry+"# trailing comment", 1)
				if got != want {
					t.Errorf("got\n%s\nwant\n%s", got, want)
				}
			}
			if tc.original != "" {
				checkBackup(t, path, tc.original, tc.mode)
				if mode(t, path) != tc.mode {
					t.Errorf("mode %v", mode(t, path))
				}
			}
			if err := validateKube([]byte(got), "authos-acme", w.binary, ""); err != nil {
				t.Errorf("result does not read back: %v\n%s", err, got)
			}
			out = w.mustRun("kube")
			if !strings.Contains(out, "nothing changed") || read(t, path) != got || len(backups(t, path)) > 1 {
				t.Errorf("second run: %s", out)
			}
			w.mustRun("kube", undo)
			if tc.original == "" {
				if exists(path) {
					t.Errorf("undo left %q", read(t, path))
				}
			} else if after := read(t, path); after != tc.original && !(strings.HasPrefix(tc.name, "no users key") && after == tc.original+"\n") {
				t.Errorf("undo left\n%q\nwant\n%q", after, tc.original)
			}
		})
	}
}

func TestSetupKubeContextAndReplace(t *testing.T) {
	w := newWorld(t)
	path := filepath.Join(w.root, "kc", "config")
	w.env["KUBECONFIG"] = path + string(os.PathListSeparator) + filepath.Join(w.root, "other")
	write(t, path, kubeExisting, 0o600)

	if err := w.run("kube", func(o *Options) { o.Context = "staging" }); err == nil || !strings.Contains(err.Error(), `no context "staging"`) {
		t.Fatalf("missing context: %v", err)
	}
	if read(t, path) != kubeExisting {
		t.Fatal("refusal wrote")
	}
	out := w.mustRun("kube", profile("work"), func(o *Options) { o.Context = "prod" })
	if !strings.Contains(out, `kube: set context prod's user to authos-work (was "alice")`) {
		t.Errorf("log:\n%s", out)
	}
	got := read(t, path)
	if !strings.Contains(got, "      user: authos-work   # who I am\n") {
		t.Errorf("context line:\n%s", got)
	}
	if err := validateKube([]byte(got), "authos-work", w.binary, "prod"); err != nil {
		t.Error(err)
	}
	// The binary moved: the entry is replaced in place, the context kept.
	w.binary = filepath.Join(w.root, "elsewhere", "authos-credential-helper")
	out = w.mustRun("kube", profile("work"), func(o *Options) { o.Context = "prod" })
	if !strings.Contains(out, "replaced user authos-work") || strings.Contains(out, "context") {
		t.Errorf("log:\n%s", out)
	}
	if strings.Count(read(t, path), "name: authos-work\n") != 1 || !strings.Contains(read(t, path), w.binary) {
		t.Errorf("replaced:\n%s", read(t, path))
	}
	w.mustRun("kube", profile("work"), undo)
	if after := read(t, path); after != kubeExisting {
		t.Errorf("undo left\n%s", after)
	}
}

func TestSetupKubeRefusesFlowStyle(t *testing.T) {
	w := newWorld(t)
	path := filepath.Join(w.home, ".kube", "config")
	write(t, path, `{"apiVersion": "v1", "users": []}`, 0o600)
	if err := w.run("kube"); err == nil || !strings.Contains(err.Error(), "flow style") {
		t.Fatalf("JSON kubeconfig: %v", err)
	}
}

// ---- terraform ----

func TestSetupTerraform(t *testing.T) {
	const existing = "# my CLI config\nplugin_cache_dir = \"$HOME/.terraform.d/plugin-cache\"\n\n/* credentials_helper \"old\" {} */\ncredentials \"app.terraform.io\" {\n  token = \"xyz\"\n}\n"
	for _, tc := range []struct {
		name, original string
		mode           os.FileMode
	}{
		{"fresh", "", 0},
		{"existing", existing, 0o644},
		{"no final newline", "disable_checkpoint = true", 0o600},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t)
			path := filepath.Join(w.home, ".terraformrc")
			if tc.original != "" {
				write(t, path, tc.original, tc.mode)
			}
			tfLinkPath := filepath.Join(w.home, ".terraform.d", "plugins", runtimeArch(), tfLink)
			tofuLinkPath := filepath.Join(w.env["XDG_DATA_HOME"], "opentofu", "plugins", runtimeArch(), tfLink)

			w.mustRun("terraform", dryRun)
			if exists(path) != (tc.original != "") || exists(tfLinkPath) || exists(filepath.Join(w.home, ".terraform.d")) {
				t.Fatal("dry run wrote")
			}
			out := w.mustRun("terraform")
			for _, want := range []string{`terraform: added credentials_helper "authos"`, "terraform: linked ~/.terraform.d/plugins/" + runtimeArch() + "/terraform-credentials-authos -> " + w.binary} {
				if !strings.Contains(out, want) {
					t.Errorf("log lacks %q:\n%s", want, out)
				}
			}
			block := "# BEGIN authos-credential-helper (managed by `authos-credential-helper setup terraform`)\ncredentials_helper \"authos\" {\n  args = [\"--profile\", \"acme\"]\n}\n# END authos-credential-helper\n"
			got := read(t, path)
			want := tc.original
			if want != "" && !strings.HasSuffix(want, "\n") {
				want += "\n"
			}
			if want += block; got != want {
				t.Errorf("got\n%s\nwant\n%s", got, want)
			}
			for _, l := range []string{tfLinkPath, tofuLinkPath} {
				if target, err := os.Readlink(l); err != nil || target != w.binary {
					t.Errorf("link %s: %q %v", l, target, err)
				}
			}
			if tc.original != "" {
				checkBackup(t, path, tc.original, tc.mode)
			} else if mode(t, path) != 0o600 {
				t.Error("new file mode")
			}
			out = w.mustRun("terraform")
			if !strings.Contains(out, "nothing changed") || read(t, path) != got || len(backups(t, path)) > 1 {
				t.Errorf("second run: %s", out)
			}
			// another profile replaces our block, no second block
			w.cfg.Profiles["work"] = config.Profile{Terraform: []string{"tf.work.example"}}
			w.mustRun("terraform", profile("work"))
			if c := read(t, path); strings.Count(c, "credentials_helper") != strings.Count(got, "credentials_helper") || !strings.Contains(c, `"--profile", "work"`) {
				t.Errorf("profile switch:\n%s", c)
			}

			w.mustRun("terraform", undo)
			if tc.original == "" {
				if exists(path) {
					t.Errorf("undo left %q", read(t, path))
				}
			} else if after := read(t, path); after != tc.original {
				t.Errorf("undo left\n%q\nwant\n%q", after, tc.original)
			}
			if exists(tfLinkPath) || exists(tofuLinkPath) || exists(filepath.Join(w.home, ".terraform.d")) {
				t.Error("undo left links or the folders it created")
			}
		})
	}
}

func runtimeArch() string { return runtime.GOOS + "_" + runtime.GOARCH }

func TestSetupTerraformRefusals(t *testing.T) {
	w := newWorld(t)
	path := filepath.Join(w.root, "tf.rc")
	w.env["TF_CLI_CONFIG_FILE"] = path
	foreign := "credentials_helper \"keychain\" {\n  args = []\n}\n"
	write(t, path, foreign, 0o600)
	if err := w.run("terraform"); err == nil || !strings.Contains(err.Error(), "allows only one") {
		t.Fatalf("foreign block: %v", err)
	}
	if read(t, path) != foreign || backups(t, path) != nil {
		t.Fatal("refusal wrote")
	}

	// a plugin file that is not our link
	os.Remove(path)
	link := filepath.Join(w.home, ".terraform.d", "plugins", runtimeArch(), tfLink)
	write(t, link, "someone else's", 0o755)
	if err := w.run("terraform"); err == nil || !strings.Contains(err.Error(), "--force") {
		t.Fatalf("foreign plugin: %v", err)
	}
	if exists(path) {
		t.Fatal("refusal wrote the config")
	}
	w.mustRun("terraform", force)
	if target, _ := os.Readlink(link); target != w.binary {
		t.Error("not replaced")
	}
	if b := backups(t, link); len(b) != 1 || read(t, b[0]) != "someone else's" {
		t.Errorf("no backup of the replaced plugin: %v", b)
	}
	// undo leaves a link that no longer points at us
	os.Remove(link)
	os.Symlink("/elsewhere", link)
	w.mustRun("terraform", undo)
	if target, _ := os.Readlink(link); target != "/elsewhere" {
		t.Error("undo removed a link that is not ours")
	}
}

func TestSetupJSONEdit(t *testing.T) {
	for _, src := range []string{`{}`, `{"a":1}`, "{\n  \"a\": [1, 2],\n  \"b\": {\"c\": null}\n}", `{"a":{"x":"y"},"b":2}`} {
		b := []byte(src)
		o, err := parseTopObject(b)
		if err != nil {
			t.Fatal(err)
		}
		added := insertMember(b, o, "k\"ey", `"v"`, 0, jsonUnit(b, o))
		o2, err := parseTopObject(added)
		if err != nil {
			t.Fatalf("%s -> %s: %v", src, added, err)
		}
		back := removeMember(added, o2, o2.find("k\"ey"))
		if string(back) != src && !(src == "{}" && string(back) == "{}") {
			t.Errorf("%q -> %q -> %q", src, added, back)
		}
	}
}
