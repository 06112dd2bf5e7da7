package doctor

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/authos/authos-credential-helper/helper"
	"github.com/authos/authos-credential-helper/internal/config"
	"github.com/authos/authos-credential-helper/internal/setup"
)

// find returns the checks whose summary contains s.
func find(cs []Check, s string) []Check {
	var out []Check
	for _, c := range cs {
		if strings.Contains(c.Summary, s) {
			out = append(out, c)
		}
	}
	return out
}

// want asserts exactly one check contains summary, with status and a fix
// containing fix.
func want(t *testing.T, cs []Check, summary string, st Status, fix string) {
	t.Helper()
	got := find(cs, summary)
	if len(got) != 1 || got[0].Status != st || !strings.Contains(got[0].Fix, fix) {
		t.Errorf("want one %s check %q (fix %q); got %+v\nall: %+v", st, summary, fix, got, cs)
	}
}

func noFail(t *testing.T, cs []Check) {
	t.Helper()
	for _, c := range cs {
		if c.Status == Fail {
			t.Errorf("unexpected failure: %+v", c)
		}
	}
}

const gc = "file:/h/.gitconfig"

func TestGitChecks(t *testing.T) {
	prof := config.Profile{Git: []string{"https://git.acme.example/"}}
	const sec = "credential.https://git.acme.example/.helper"
	for _, tc := range []struct {
		name    string
		entries []GitEntry
		summary string
		st      Status
		fix     string
	}{
		{"as setup writes it, after a global store", []GitEntry{{gc, "credential.helper", "store"}, {gc, sec, ""}, {gc, sec, "authos"}},
			"git asks authos first", OK, ""},
		{"store before ours in the section", []GitEntry{{gc, sec, ""}, {gc, sec, "store"}, {gc, sec, "authos"}},
			`git asks helper "store"`, Fail, "git config --file /h/.gitconfig --unset " + sec + " '^store$'"},
		{"a wildcard section before ours, no reset", []GitEntry{{gc, "credential.https://*.acme.example.helper", "cache --timeout 900"}, {gc, sec, "authos"}},
			`git asks helper "cache"`, Fail, `'^cache --timeout 900$'`},
		{"a storing helper after ours", []GitEntry{{gc, sec, ""}, {gc, sec, "authos"}, {"file:.git/config", "credential.helper", "store"}},
			`hands every token from authos to helper "store" too`, Warn, "--unset credential.helper '^store$'"},
		{"not set up", []GitEntry{{gc, "credential.helper", "osxkeychain"}}, "git does not ask the helper", Fail, "authos-credential-helper setup git --profile acme"},
		{"another host's section", []GitEntry{{gc, "credential.https://git.other.example/.helper", "authos"}}, "git does not ask the helper", Fail, "setup git"},
		{"a shell command before ours, never shown", []GitEntry{{gc, "credential.helper", "!f() { echo password=hunter2; }; f"}, {gc, sec, "authos"}},
			"git asks helper \"a shell command\"", Fail, "remove the shell-command credential.helper from /h/.gitconfig"},
		{"another profile's helper", []GitEntry{{gc, sec, ""}, {gc, sec, "authos --profile work"}}, "not for this profile", Fail, "--force"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cs := GitChecks("acme", prof, tc.entries, true, nil)
			want(t, cs, tc.summary, tc.st, tc.fix)
			for _, c := range cs {
				if strings.Contains(c.Summary+c.Fix, "hunter2") {
					t.Errorf("a shell helper's text was shown: %+v", c)
				}
			}
		})
	}
}

func TestParseGitEntries(t *testing.T) {
	out := "file:/h/.gitconfig\x00credential.helper\nstore\x00file:/h/.gitconfig\x00credential.https://x/.helper\n\x00"
	got := ParseGitEntries(out)
	if len(got) != 2 || got[0].Value != "store" || got[1].Key != "credential.https://x/.helper" || got[1].Value != "" {
		t.Errorf("%+v", got)
	}
}

func TestURLMatch(t *testing.T) {
	for _, tc := range []struct {
		pattern, target string
		want            bool
	}{
		{"https://git.acme.example", "https://git.acme.example/", true},
		{"https://git.acme.example/team", "https://git.acme.example/team/repo", true},
		{"https://git.acme.example/team", "https://git.acme.example/teams", false},
		{"https://*.acme.example", "https://git.acme.example/", true},
		{"https://*.acme.example", "https://acme.example/", false},
		{"http://git.acme.example", "https://git.acme.example/", false},
		{"https://git.acme.example:443", "https://git.acme.example/", true},
		{"https://bob@git.acme.example", "https://git.acme.example/", false},
	} {
		if got := urlMatch(tc.pattern, tc.target); got != tc.want {
			t.Errorf("%s vs %s: %v", tc.pattern, tc.target, got)
		}
	}
}

func TestDockerChecks(t *testing.T) {
	prof := config.Profile{Docker: []string{"registry.acme.example"}}
	for _, tc := range []struct {
		name, file string
		summary    string
		st         Status
		fix        string
	}{
		{"credHelpers", `{"credHelpers": {"registry.acme.example": "authos"}}`, "docker asks authos (credHelpers", OK, ""},
		{"our credsStore", `{"credsStore": "authos"}`, "docker asks authos (credsStore", OK, ""},
		{"credsStore ahead", `{"credsStore": "desktop"}`, `docker asks credsStore "desktop"`, Fail, "setup docker --profile acme"},
		{"credHelpers beats credsStore", `{"credsStore": "desktop", "credHelpers": {"registry.acme.example": "authos"}}`, "docker asks authos", OK, ""},
		{"auths entry ahead", `{"auths": {"https://registry.acme.example/v1/": {"auth": "dTpw"}}}`, "docker uses the login stored under auths", Fail, `remove auths["https://registry.acme.example/v1/"]`},
		{"another helper", `{"credHelpers": {"registry.acme.example": "ecr-login"}}`, "docker-credential-ecr-login, not authos", Fail, "--force"},
		{"nothing", `{}`, "docker does not ask authos", Fail, "setup docker --profile acme"},
		{"bad JSON", `{`, "not valid JSON", Fail, "repair"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			want(t, DockerChecks("acme", prof, "~/.docker/config.json", []byte(tc.file), true), tc.summary, tc.st, tc.fix)
		})
	}
	// A stale inline login under our helper: a warning, not a failure.
	cs := DockerChecks("acme", prof, "c.json", []byte(`{"credHelpers": {"registry.acme.example": "authos"}, "auths": {"registry.acme.example": {"auth": "dTpw"}}}`), true)
	want(t, cs, "still holds a stored login", Warn, `remove auths["registry.acme.example"]`)
	noFail(t, cs)
}

func lookIn(m map[string]string) func(string) (string, error) {
	return func(n string) (string, error) {
		if p, ok := m[n]; ok {
			return p, nil
		}
		return "", errors.New("not found")
	}
}

func TestKubeChecks(t *testing.T) {
	const user = "- name: authos-acme\n  user:\n    exec:\n      command: authos-credential-helper\n"
	kc := func(server string) string {
		return "clusters:\n- name: c\n  cluster:\n    server: " + server + "\ncontexts:\n- name: dev\n  context:\n    cluster: c\n    user: authos-acme\nusers:\n" + user
	}
	path := lookIn(map[string]string{"authos-credential-helper": "/usr/bin/authos-credential-helper"})
	rc := func(policy string, list ...string) KubercInfo {
		return KubercInfo{Path: "/h/.kube/kuberc", Exists: true, Parsed: setup.Kuberc{Policy: policy, Allowlist: list}}
	}
	for _, tc := range []struct {
		name, kubeconfig string
		rc               KubercInfo
		lookPath         func(string) (string, error)
		summary          string
		st               Status
		fix              string
	}{
		{"https", kc("https://k8s.acme.example"), KubercInfo{}, path, "context dev uses it for https://k8s.acme.example", OK, ""},
		{"http cluster, its userinfo not shown", kc("http://bob:pw@127.0.0.1:8080"), KubercInfo{}, path, "cluster c is http://127.0.0.1:8080, and kubectl runs no exec plugin over plain http", Fail, "https://"},
		{"command gone", kc("https://k"), KubercInfo{}, lookIn(nil), "kubectl cannot run user authos-acme's command", Fail, "setup kube --profile acme"},
		{"no context", "users:\n" + user, KubercInfo{}, path, "no context uses user authos-acme", Warn, "--context NAME"},
		{"not set up", "users: []\n", KubercInfo{}, path, "no kubeconfig user authos-acme", Info, ""},
		{"kuberc deny all", kc("https://k"), rc("DenyAll"), path, "DenyAll", Fail, "credentialPluginPolicy: Allowlist"},
		{"kuberc allowlist without us", kc("https://k"), rc("Allowlist", "/usr/bin/aws"), path, "does not allow authos-credential-helper (it lists /usr/bin/aws)", Fail,
			`add "- name: /usr/bin/authos-credential-helper" under credentialPluginAllowlist`},
		{"kuberc allowlist with our path", kc("https://k"), rc("Allowlist", "/usr/bin/authos-credential-helper"), path, "allowlist lets kubectl run", OK, ""},
		{"kuberc allowlist with our name", kc("https://k"), rc("Allowlist", "authos-credential-helper"), path, "allowlist lets kubectl run", OK, ""},
		{"kuberc bad policy", kc("https://k"), rc("Sometimes"), path, `credentialPluginPolicy "Sometimes"`, Fail, "AllowAll, DenyAll or Allowlist"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			k, err := MergeKubeconfigs([]string{"/h/.kube/config"}, map[string][]byte{"/h/.kube/config": []byte(tc.kubeconfig)})
			if err != nil {
				t.Fatal(err)
			}
			want(t, KubeChecks("acme", k, tc.rc, tc.lookPath, func(s string) string { return s }), tc.summary, tc.st, tc.fix)
		})
	}
}

func TestMergeKubeconfigsFirstWins(t *testing.T) {
	a := "users:\n- name: authos-acme\n  user:\n    exec:\n      command: /a\n"
	b := "users:\n- name: authos-acme\n  user:\n    exec:\n      command: /b\n"
	k, err := MergeKubeconfigs([]string{"a", "b"}, map[string][]byte{"a": []byte(a), "b": []byte(b)})
	if err != nil || k.Users["authos-acme"] != "/a" || k.UserFile["authos-acme"] != "a" {
		t.Errorf("%+v %v", k, err)
	}
}

func TestTerraformChecks(t *testing.T) {
	cfg := &config.Config{DefaultProfile: "acme", Profiles: map[string]config.Profile{
		"acme": {Server: "https://sso.acme.example", Org: "acme", Service: "cli", ClientID: "c", Terraform: []string{"tf.acme-corp.example"}},
	}}
	ours := "# BEGIN authos-credential-helper (managed)\ncredentials_helper \"authos\" {\n  args = [\"--profile\", \"acme\"]\n}\n# END authos-credential-helper\n"
	base := TerraformInput{ConfigFile: "/h/.terraformrc", Config: []byte(ours), CredsFile: "/h/.terraform.d/credentials.tfrc.json",
		PluginLinks: []string{"/h/tf/terraform-credentials-authos", "/h/tofu/terraform-credentials-authos"}, PluginExists: []bool{true, true}}
	for _, tc := range []struct {
		name    string
		mod     func(*TerraformInput)
		summary string
		st      Status
		fix     string
	}{
		{"set up", func(*TerraformInput) {}, `credentials_helper "authos"`, OK, ""},
		{"TF_TOKEN_ for the host", func(in *TerraformInput) { in.TokenVars = []string{"TF_TOKEN_tf_acme__corp_example"} },
			"TF_TOKEN_tf_acme__corp_example is set: Terraform sends that token to tf.acme-corp.example", Fail, "unset TF_TOKEN_tf_acme__corp_example"},
		{"credentials block", func(in *TerraformInput) {
			in.Config = append(in.Config, "credentials \"tf.acme-corp.example\" {\n  token = \"x\"\n}\n"...)
		},
			`has a credentials "tf.acme-corp.example" block`, Fail, `remove the credentials "tf.acme-corp.example" block`},
		{"credentials.tfrc.json", func(in *TerraformInput) {
			in.Creds = []byte(`{"credentials": {"tf.acme-corp.example": {"token": "x"}, "app.terraform.io": {"token": "y"}}}`)
		}, "holds a token for tf.acme-corp.example", Fail, `remove "tf.acme-corp.example" from`},
		{"no helper", func(in *TerraformInput) { in.Config = nil }, `no credentials_helper "authos"`, Fail, "setup terraform --profile acme"},
		{"plugin missing", func(in *TerraformInput) { in.PluginExists = []bool{false, true} }, "no helper at /h/tf/terraform-credentials-authos", Fail, "setup terraform"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := base
			in.Config = append([]byte(nil), base.Config...)
			tc.mod(&in)
			cs := TerraformChecks(cfg, "acme", in, func(s string) string { return s })
			want(t, cs, tc.summary, tc.st, tc.fix)
			if tc.st == OK {
				noFail(t, cs)
			}
			if len(find(cs, "app.terraform.io")) > 0 {
				t.Error("a host no profile serves was reported")
			}
		})
	}
	if TFTokenVar("tf.acme-corp.example") != "TF_TOKEN_tf_acme__corp_example" || TFTokenHost("TF_TOKEN_tf_acme__corp_example") != "tf.acme-corp.example" {
		t.Error("TF_TOKEN_ encoding")
	}
}

func TestTokenChecks(t *testing.T) {
	now := time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)
	entry := func(valid bool, served, expires time.Duration) *helper.EntryStatus {
		return &helper.EntryStatus{Email: "a@acme.example", Valid: valid, ObtainedAt: now.Add(-time.Hour), ServedUntil: now.Add(served), ExpiresAt: now.Add(expires)}
	}
	yes := true
	for _, tc := range []struct {
		name    string
		info    TokenInfo
		summary string
		st      Status
	}{
		{"valid", TokenInfo{Entry: entry(true, time.Hour, 2*time.Hour)}, "valid token for a@acme.example", OK},
		{"expiring", TokenInfo{Entry: entry(true, 5*time.Minute, 10*time.Minute)}, "in under 10m0s", Warn},
		{"in the margin", TokenInfo{Entry: entry(false, -time.Minute, time.Minute)}, "inside the expiry margin", Warn},
		{"expired", TokenInfo{Entry: entry(false, -2*time.Hour, -time.Hour)}, "expired", Warn},
		{"none", TokenInfo{}, "no token cached", Warn},
		{"unreadable", TokenInfo{Entry: &helper.EntryStatus{Unreadable: errors.New("sealed under another key")}}, "cannot be read", Fail},
		{"revoked (hook)", TokenInfo{Entry: entry(true, time.Hour, 2*time.Hour), Revoked: &yes}, "(revoked)", Fail},
		{"verification failed (hook)", TokenInfo{Entry: entry(true, time.Hour, 2*time.Hour), Verified: "signature unknown after key rotation"}, "signature unknown", Fail},
		{"miss with no terminal (hook)", TokenInfo{LastMiss: &Miss{Client: "terraform", Host: "tf.acme.example", At: now}}, "sign-in needed: terraform asked for tf.acme.example at", Fail},
		{"environment token", TokenInfo{Env: &EnvToken{Variable: "AUTHOS_TOKEN", ExpiresAt: now.Add(time.Hour)}}, "served from $AUTHOS_TOKEN (the environment; not cached", OK},
		{"environment token expired", TokenInfo{Env: &EnvToken{Variable: "CI_TOKEN", ExpiresAt: now.Add(-time.Minute)}}, "$CI_TOKEN holds a token that expired", Fail},
		{"environment token for another identity", TokenInfo{Env: &EnvToken{Variable: "CI_TOKEN", Err: errors.New("the token in CI_TOKEN is not for acme/cli")}}, "$CI_TOKEN is set but not used", Fail},
	} {
		t.Run(tc.name, func(t *testing.T) {
			want(t, TokenChecks("acme", tc.info, now), tc.summary, tc.st, "")
		})
	}
	// A miss before the cached token was obtained is over.
	cs := TokenChecks("acme", TokenInfo{Entry: entry(true, time.Hour, 2*time.Hour), LastMiss: &Miss{Client: "git", Host: "h", At: now.Add(-2 * time.Hour)}}, now)
	noFail(t, cs)
}

func TestCacheChecks(t *testing.T) {
	for _, tc := range []struct {
		name    string
		info    CacheInfo
		summary string
		st      Status
	}{
		{"secret service", CacheInfo{Backend: "secret-service", Linux: true, DBus: "unix:path=/run/bus", KernelCacheTTL: time.Hour}, "backend secret-service: usable and persistent", OK},
		{"keyctl", CacheInfo{Backend: "keyctl", Linux: true}, "a reboot or the end of the session loses the cache key", Warn},
		{"none", CacheInfo{BackendErr: errors.New("no usable keyring"), Linux: true}, "no usable keyring", Fail},
		{"unreadable", CacheInfo{Backend: "file", Unreadable: []string{"tok-x (token entry): sealed under another key"}}, "unreadable record tok-x", Fail},
		{"kernel copy", CacheInfo{Backend: "secret-service", Linux: true, DBus: "x", KernelCacheTTL: 12 * time.Hour}, "kernel keyring copy of the cache key: kept 12h0m0s", OK},
	} {
		t.Run(tc.name, func(t *testing.T) { want(t, CacheChecks(tc.info), tc.summary, tc.st, "") })
	}
}

func TestTerminalChecks(t *testing.T) {
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	for _, tc := range []struct {
		name    string
		tty     Terminal
		env     map[string]string
		summary string
		st      Status
	}{
		{"terminal", Terminal{StderrTTY: true, TTYOpens: true}, nil, "terraform: the prompt shows on the terminal", OK},
		{"nothing", Terminal{}, nil, "no terminal here", Warn},
		{"AUTHOS_NONINTERACTIVE", Terminal{StderrTTY: true, TTYOpens: true}, map[string]string{"AUTHOS_NONINTERACTIVE": "1"}, "AUTHOS_NONINTERACTIVE=1", Warn},
		{"GIT_TERMINAL_PROMPT=0", Terminal{StderrTTY: true, TTYOpens: true}, map[string]string{"GIT_TERMINAL_PROMPT": "0"}, "GIT_TERMINAL_PROMPT=0", Warn},
		{"stderr captured, tty there", Terminal{TTYOpens: true}, nil, "docker, kubectl: stderr is not a terminal", Warn},
	} {
		t.Run(tc.name, func(t *testing.T) { want(t, TerminalChecks(tc.tty, env(tc.env)), tc.summary, tc.st, "") })
	}
}

// fakeAuthOS records every request; it serves the metadata document and
// the JWKS with a Date header skew away from now.
func fakeAuthOS(t *testing.T, skew time.Duration) (*httptest.Server, func() []string) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	n := base64.RawURLEncoding.EncodeToString(key.N.Bytes())
	var mu sync.Mutex
	var seen []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.Method+" "+r.URL.Path+" auth="+r.Header.Get("Authorization"))
		mu.Unlock()
		w.Header().Set("Date", time.Now().Add(skew).UTC().Format(http.TimeFormat))
		switch r.URL.Path {
		case "/.well-known/authos-configuration":
			base := "http://" + r.Host
			json.NewEncoder(w).Encode(map[string]any{"service": "AuthOS", "metadata_version": 1, "issuer": base, "jwks_uri": base + "/.well-known/jwks.json",
				"oauth_device_authorization": map[string]any{"status": "beta", "device_authorization_endpoint": base + "/auth/device/code", "token_endpoint": base + "/auth/token"}})
		case "/auth/device/code", "/auth/token":
			if r.Method != http.MethodPost {
				w.WriteHeader(http.StatusMethodNotAllowed)
				return
			}
			http.Error(w, "doctor must not POST here", http.StatusTeapot)
		case "/.well-known/jwks.json":
			w.Write([]byte(`{"keys":[{"kty":"RSA","kid":"k1","use":"sig","alg":"RS256","n":"` + n + `","e":"AQAB"}]}`))
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	return srv, func() []string { mu.Lock(); defer mu.Unlock(); return append([]string(nil), seen...) }
}

func TestProbeAndServerChecks(t *testing.T) {
	getenv := func(k string) string {
		return map[string]string{"HTTPS_PROXY": "http://user:secret@proxy.example:3128", "NO_PROXY": "127.0.0.1"}[k]
	}
	for _, tc := range []struct {
		name    string
		skew    time.Duration
		summary string
		st      Status
	}{
		{"in sync", 0, "within", OK},
		{"clock behind the server", 5 * time.Minute, "behind the server's", Warn},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv, seen := fakeAuthOS(t, tc.skew)
			info := Prober{UserAgent: "test", Getenv: getenv}.Probe(context.Background(), config.Profile{Server: srv.URL})
			cs := ServerChecks(info, getenv, time.Now())
			want(t, cs, tc.summary, tc.st, "")
			want(t, cs, "answers (1 signing key)", OK, "")
			want(t, cs, "offers device authorization (status beta)", OK, "")
			want(t, cs, "/auth/device/code answers (405 to a GET", OK, "")
			want(t, cs, "/auth/token answers (405 to a GET", OK, "")
			want(t, cs, "HTTPS_PROXY, NO_PROXY set", Info, "")
			for _, c := range cs {
				if strings.Contains(c.Summary, "secret") {
					t.Errorf("proxy credentials shown: %s", c.Summary)
				}
			}
			for _, r := range seen() {
				if !strings.HasPrefix(r, "GET /") || !strings.HasSuffix(r, "auth=") {
					t.Errorf("doctor sent %s: only GETs, never a token or a device code request", r)
				}
			}
			if len(seen()) != 4 {
				t.Errorf("requests: %q", seen())
			}
		})
	}
	srv, _ := fakeAuthOS(t, 0)
	srv.Close()
	cs := ServerChecks(Prober{Getenv: getenv}.Probe(context.Background(), config.Profile{Server: srv.URL}), getenv, time.Now())
	want(t, cs, "cannot reach", Fail, "check the network")
	cs = ServerChecks(Prober{Getenv: getenv}.Probe(context.Background(), config.Profile{Server: "http://sso.acme.example"}), getenv, time.Now())
	want(t, cs, "", Fail, "fix server in the profile")
}

func TestWriteTextAndJSON(t *testing.T) {
	jwt := "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJlc2lnbmF0dXJl"
	r := Report{Checks: []Check{
		{Section: "profile acme", Area: "git", Status: OK, Summary: "fine", Fix: "never shown"},
		{Section: "profile acme", Area: "docker", Status: Fail, Summary: "server said \x1b[31m" + jwt, Fix: "do this"},
		{Section: "cache", Area: "cache", Status: Warn, Summary: "meh"},
	}}
	var b bytes.Buffer
	WriteText(&b, r)
	out := b.String()
	for _, w := range []string{"profile acme\n  ✓ git: fine\n  ✗ docker: server said", "      fix: do this\n", "\ncache\n  ! cache: meh\n", "1 problem found"} {
		if !strings.Contains(out, w) {
			t.Errorf("text lacks %q:\n%s", w, out)
		}
	}
	if strings.Contains(out, "never shown") || strings.Contains(out, jwt) || strings.Contains(out, "\x1b") {
		t.Errorf("text:\n%s", out)
	}
	b.Reset()
	if err := WriteJSON(&b, r); err != nil {
		t.Fatal(err)
	}
	var back Report
	if err := json.Unmarshal(b.Bytes(), &back); err != nil || len(back.Checks) != 3 || back.Checks[1].Status != Fail || strings.Contains(b.String(), jwt) {
		t.Errorf("JSON %v:\n%s", err, b.String())
	}
}

func TestRunSkipsClientsAProfileDoesNotUse(t *testing.T) {
	home := t.TempDir()
	cfg := &config.Config{DefaultProfile: "acme", Profiles: map[string]config.Profile{"acme": {Server: "https://sso.acme.example", Org: "a", Service: "s", ClientID: "c"}}}
	d := Doctor{Config: cfg, Sources: Sources{Env: Env{Getenv: func(k string) string { return map[string]string{"HOME": home}[k] }, Home: home, GOOS: "linux", GOARCH: "amd64",
		ReadFile: os.ReadFile}}}
	rep := d.Run(context.Background())
	for _, c := range rep.Checks {
		if c.Area == "git" || c.Area == "docker" || c.Area == "terraform" {
			t.Errorf("checked a client with no patterns: %+v", c)
		}
	}
	if !rep.OK {
		t.Errorf("%+v", rep)
	}
}

func TestGitUseHTTPPath(t *testing.T) {
	prof := config.Profile{Git: []string{"https://code.acme.example/team/"}}
	const sec = "credential.https://code.acme.example/team/."
	chain := []GitEntry{{gc, sec + "helper", ""}, {gc, sec + "helper", "authos"}}
	for _, tc := range []struct {
		name  string
		extra []GitEntry
		fail  bool
	}{
		{"set as setup does", []GitEntry{{gc, sec + "usehttppath", "true"}}, false},
		{"for the whole host", []GitEntry{{gc, "credential.https://code.acme.example.usehttppath", "yes"}}, false},
		{"missing", nil, true},
		{"turned off later", []GitEntry{{gc, sec + "usehttppath", "true"}, {gc, "credential.usehttppath", "false"}}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cs := GitChecks("acme", prof, append(chain, tc.extra...), true, nil)
			got := find(cs, "useHttpPath is off")
			if tc.fail != (len(got) == 1) || tc.fail && !strings.Contains(got[0].Fix, "git config --global credential.https://code.acme.example/team/.useHttpPath true") {
				t.Errorf("%+v", cs)
			}
		})
	}
}
