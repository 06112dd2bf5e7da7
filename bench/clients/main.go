// Command clients measures what the helper adds to each real client
// command on a warm cache: kubectl, git, docker and terraform, each run
// against a local fake server with the helper (wired by `setup`, a cache
// hit), with a do-nothing helper wired the same way (bench/clients/
// nullhelper: what the client's own protocol costs), and with the same
// token given statically, interleaved; medians and p95s, and the added
// time split into the client's own part (do-nothing helper − static) and
// ours (helper − do-nothing helper). It also counts how many times each
// client runs the helper per command (an untimed pass through a counting
// wrapper).
//
//	go run ./bench/clients -bin PATH -null PATH [-runs 30]
//
// The clients are the ones on PATH (kubectl, git, docker, terraform); the
// dev server is stopped before measuring, so a hit that touched the
// network would fail.
package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/base64"
	"encoding/pem"
	"flag"
	"fmt"
	"net/http"
	"net/http/cgi"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"time"

	"github.com/authos/authos-credential-helper/bench/internal/signedin"
)

func main() {
	bin := flag.String("bin", "", "authos-credential-helper binary")
	null := flag.String("null", "", "bench/clients/nullhelper binary")
	runs := flag.Int("runs", 30, "runs per client and variant")
	flag.Parse()
	if *bin == "" || *null == "" {
		flag.Usage()
		os.Exit(2)
	}
	if err := run(*bin, *null, *runs); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// token is the signed-in token every fake accepts (set once signed in).
var token atomic.Value

func tokenIs(s string) bool { t, _ := token.Load().(string); return t != "" && s == t }

// variant is one way of giving a client its token.
type variant struct {
	name string
	env  []string // added to the world's environment
}

// bench is one client command, measured under each variant: variants[0]
// is the helper, [1] the do-nothing helper, [2] the static token, any
// others further static ways, shown in the detail table only.
type bench struct {
	name     string
	args     []string
	dir      string
	prep     func() error // before every run, untimed
	variants []variant
	count    []string // the environment of the counting pass
	// countPrep, if set, readies the counting pass and returns the undo.
	countPrep func() (undo func(), err error)
	samples   [][]time.Duration
}

func run(bin, null string, runs int) error {
	for _, c := range []string{"kubectl", "git", "docker", "terraform"} {
		if _, err := exec.LookPath(c); err != nil {
			return fmt.Errorf("%s is not on PATH: %v", c, err)
		}
	}
	kube132 := httptest.NewTLSServer(apiServer("32"))
	defer kube132.Close()
	kube131 := httptest.NewTLSServer(apiServer("31"))
	defer kube131.Close()
	registry := httptest.NewTLSServer(registryServer())
	defer registry.Close()
	modules := httptest.NewUnstartedServer(nil)
	modules.Config.Handler = moduleServer(func() string { return modules.URL })
	modules.StartTLS()
	defer modules.Close()
	scratch, err := os.MkdirTemp("", "authos-bench-clients-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(scratch)
	git, err := gitServer(scratch)
	if err != nil {
		return err
	}
	defer git.Close()
	regHost := strings.TrimPrefix(registry.URL, "https://")

	w, err := signedin.Setup(bin, `default_profile = "bench"
[profiles.bench]
server = %[1]q
org = "acme"
service = "cli"
client_id = "acme-cli"
username = "oauth2"
git = [`+fmt.Sprintf("%q", git.URL+"/")+`]
docker = [`+fmt.Sprintf("%q", regHost)+`]
terraform = ["tf.bench.test"]
`)
	if err != nil {
		return err
	}
	defer w.Close()
	root := w.Root
	tok, err := output(w.Env, bin, "token")
	if err != nil {
		return err
	}
	token.Store(strings.TrimSpace(tok))
	basic := base64.StdEncoding.EncodeToString([]byte("oauth2:" + strings.TrimSpace(tok)))

	// The one certificate of every httptest TLS server, for every client.
	ca := filepath.Join(root, "ca.pem")
	if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: kube132.Certificate().Raw}), 0o644); err != nil {
		return err
	}
	links := filepath.Join(root, "bin")
	counting := filepath.Join(root, "counting")
	countLog := filepath.Join(root, "helper-runs")
	for _, d := range []string{links, counting} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
	}
	for _, n := range []string{"git-credential-benchnull", "docker-credential-benchnull"} {
		if err := os.Symlink(null, filepath.Join(links, n)); err != nil {
			return err
		}
	}
	for _, n := range []string{"git-credential-authos", "docker-credential-authos", "terraform-credentials-authos"} {
		if err := os.Symlink(bin, filepath.Join(links, n)); err != nil {
			return err
		}
		// The counting wrapper execs the link, whose name picks the protocol.
		script := "#!/bin/sh\necho \"$*\" >> '" + countLog + "'\nexec '" + filepath.Join(links, n) + "' \"$@\"\n"
		if err := os.WriteFile(filepath.Join(counting, n), []byte(script), 0o755); err != nil {
			return err
		}
	}
	countingKube := filepath.Join(counting, "authos-credential-helper")
	if err := os.WriteFile(countingKube, []byte("#!/bin/sh\necho \"$*\" >> '"+countLog+"'\nexec '"+bin+"' \"$@\"\n"), 0o755); err != nil {
		return err
	}
	pathEnv := "PATH=" + links + string(os.PathListSeparator) + os.Getenv("PATH")
	countPath := "PATH=" + counting + string(os.PathListSeparator) + links + string(os.PathListSeparator) + os.Getenv("PATH")
	env := append(slicesWithout(w.Env, "PATH="), pathEnv, "BENCH_TOKEN="+strings.TrimSpace(tok), "SSL_CERT_FILE="+ca, "GIT_SSL_CAINFO="+ca,
		"GIT_CONFIG_NOSYSTEM=1", "GIT_TERMINAL_PROMPT=0", "CHECKPOINT_DISABLE=1", "TF_IN_AUTOMATION=1", "LC_ALL=C")
	file := func(name, content string) (string, error) {
		p := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			return "", err
		}
		return p, os.WriteFile(p, []byte(content), 0o600)
	}
	setup := func(extra []string, args ...string) error {
		_, err := output(append(env, extra...), bin, append([]string{"setup"}, args...)...)
		return err
	}
	countRuns := func() (int, error) {
		b, err := os.ReadFile(countLog)
		os.Remove(countLog)
		if os.IsNotExist(err) {
			return 0, nil
		}
		return strings.Count(string(b), "\n"), err
	}

	// kubectl: the stanza `setup kube` writes, against a static `token:`.
	var benches []*bench
	for _, srv := range []struct {
		minor string
		url   string
	}{{"32", kube132.URL}, {"31", kube131.URL}} {
		cluster := "apiVersion: v1\nkind: Config\nclusters:\n- name: fake\n  cluster:\n    server: " + srv.url +
			"\n    certificate-authority: " + ca + "\ncontexts:\n- name: fake\n  context:\n    cluster: fake\n    user: static\n" +
			"current-context: fake\nusers:\n- name: static\n  user:\n    token: " + strings.TrimSpace(tok) + "\n"
		static, err := file("kube-"+srv.minor+"/static", cluster)
		if err != nil {
			return err
		}
		helper, err := file("kube-"+srv.minor+"/helper", cluster)
		if err != nil {
			return err
		}
		if err := setup([]string{"KUBECONFIG=" + helper}, "kube", "--context", "fake"); err != nil {
			return err
		}
		b, _ := os.ReadFile(helper)
		count, err := file("kube-"+srv.minor+"/count", strings.Replace(string(b), "command: "+bin+"\n", "command: "+countingKube+"\n", 1))
		if err != nil {
			return err
		}
		nothing, err := file("kube-"+srv.minor+"/null", strings.Replace(string(b), "command: "+bin+"\n", "command: "+null+"\n", 1))
		if err != nil {
			return err
		}
		benches = append(benches, &bench{
			name: "kubectl get --raw /version (server 1." + srv.minor + ")",
			args: []string{"kubectl", "get", "--raw", "/version"},
			variants: []variant{{"helper", []string{"KUBECONFIG=" + helper}}, {"do-nothing helper", []string{"KUBECONFIG=" + nothing}},
				{"static `token:`", []string{"KUBECONFIG=" + static}}},
			count: []string{"KUBECONFIG=" + count},
		})
	}

	// git: credential.<url>.helper from `setup git`, against the store
	// helper holding the same token (the same 401 round trip and helper
	// calls) and an http.extraHeader (no round trip, no helper).
	gitHelper := filepath.Join(root, "git", "helper")
	if err := os.MkdirAll(filepath.Dir(gitHelper), 0o700); err != nil {
		return err
	}
	if err := setup([]string{"GIT_CONFIG_GLOBAL=" + gitHelper}, "git"); err != nil {
		return err
	}
	store, err := file("git/credentials", strings.Replace(git.URL, "http://", "http://oauth2:"+strings.TrimSpace(tok)+"@", 1)+"\n")
	if err != nil {
		return err
	}
	gitStore, err := file("git/store", "[credential]\n\thelper = store --file="+store+"\n")
	if err != nil {
		return err
	}
	gitHeader, err := file("git/header", "[http]\n\textraHeader = Authorization: Basic "+basic+"\n")
	if err != nil {
		return err
	}
	b, err := os.ReadFile(gitHelper)
	if err != nil {
		return err
	}
	gitNull, err := file("git/null", strings.ReplaceAll(string(b), "helper = authos", "helper = benchnull"))
	if err != nil {
		return err
	}
	benches = append(benches, &bench{
		name: "git ls-remote",
		args: []string{"git", "ls-remote", git.URL + "/repo.git"},
		variants: []variant{{"helper", []string{"GIT_CONFIG_GLOBAL=" + gitHelper}},
			{"do-nothing helper", []string{"GIT_CONFIG_GLOBAL=" + gitNull}},
			{"static http.extraHeader", []string{"GIT_CONFIG_GLOBAL=" + gitHeader}},
			{"credential.helper store", []string{"GIT_CONFIG_GLOBAL=" + gitStore}}},
		count: []string{"GIT_CONFIG_GLOBAL=" + gitHelper, countPath},
	})

	// docker: credHelpers from `setup docker`, against an `auths` entry.
	dockerHelper := filepath.Join(root, "docker", "helper")
	if err := setup([]string{"DOCKER_CONFIG=" + dockerHelper}, "docker"); err != nil {
		return err
	}
	if _, err := file("docker/static/config.json", `{"auths":{"`+regHost+`":{"auth":"`+basic+`"}}}`); err != nil {
		return err
	}
	if _, err := file("docker/null/config.json", `{"credHelpers":{"`+regHost+`":"benchnull"}}`); err != nil {
		return err
	}
	benches = append(benches, &bench{
		name: "docker manifest inspect",
		args: []string{"docker", "manifest", "inspect", regHost + "/acme/app:v1"},
		variants: []variant{{"helper", []string{"DOCKER_CONFIG=" + dockerHelper}},
			{"do-nothing helper", []string{"DOCKER_CONFIG=" + filepath.Join(root, "docker", "null")}},
			{"static `auths`", []string{"DOCKER_CONFIG=" + filepath.Join(root, "docker", "static")}}},
		count: []string{"DOCKER_CONFIG=" + dockerHelper, countPath},
	})

	// terraform: credentials_helper from `setup terraform`, against a
	// credentials block; init of one module from the private registry.
	host := "host \"tf.bench.test\" {\n  services = {\n    \"modules.v1\" = \"" + modules.URL + "/v1/modules/\"\n  }\n}\n"
	tfHelper, err := file("terraform/helper.rc", host)
	if err != nil {
		return err
	}
	if err := setup([]string{"TF_CLI_CONFIG_FILE=" + tfHelper}, "terraform"); err != nil {
		return err
	}
	tfStatic, err := file("terraform/static.rc", host+"credentials \"tf.bench.test\" {\n  token = \""+strings.TrimSpace(tok)+"\"\n}\n")
	if err != nil {
		return err
	}
	tfNull, err := file("terraform/null.rc", host+"credentials_helper \"benchnull\" {\n}\n")
	if err != nil {
		return err
	}
	pluginDir := filepath.Join(root, ".terraform.d", "plugins", runtime.GOOS+"_"+runtime.GOARCH)
	if err := os.Symlink(null, filepath.Join(pluginDir, "terraform-credentials-benchnull")); err != nil {
		return err
	}
	tfWork, err := file("terraform/work/main.tf", "module \"net\" {\n  source  = \"tf.bench.test/acme/net/aws\"\n  version = \"1.0.0\"\n}\n")
	if err != nil {
		return err
	}
	tfDir := filepath.Dir(tfWork)
	pluginLink := filepath.Join(pluginDir, "terraform-credentials-authos")
	benches = append(benches, &bench{
		name: "terraform init (one registry module)",
		args: []string{"terraform", "init", "-input=false", "-no-color"},
		dir:  tfDir,
		prep: func() error { return os.RemoveAll(filepath.Join(tfDir, ".terraform")) },
		variants: []variant{{"helper", []string{"TF_CLI_CONFIG_FILE=" + tfHelper}},
			{"do-nothing helper", []string{"TF_CLI_CONFIG_FILE=" + tfNull}},
			{"static `credentials` block", []string{"TF_CLI_CONFIG_FILE=" + tfStatic}}},
		count: []string{"TF_CLI_CONFIG_FILE=" + tfHelper},
		countPrep: func() (func(), error) {
			// terraform finds the helper only in its plugin folder: put
			// the counting wrapper there for this one run.
			if err := os.Remove(pluginLink); err != nil {
				return nil, err
			}
			undo := func() { os.Remove(pluginLink); os.Symlink(bin, pluginLink) }
			if err := os.Symlink(filepath.Join(counting, "terraform-credentials-authos"), pluginLink); err != nil {
				undo()
				return nil, err
			}
			return undo, nil
		},
	})

	// Helper runs per command, untimed.
	perCall := make([]int, len(benches))
	for i, b := range benches {
		if b.prep != nil {
			if err := b.prep(); err != nil {
				return err
			}
		}
		undo := func() {}
		if b.countPrep != nil {
			if undo, err = b.countPrep(); err != nil {
				return err
			}
		}
		os.Remove(countLog)
		_, err := timeOne(b, append(env, b.count...))
		undo()
		if err != nil {
			return fmt.Errorf("%s (counting): %w", b.name, err)
		}
		if perCall[i], err = countRuns(); err != nil {
			return err
		}
	}

	// The measurement: round-robin over clients and variants, after two
	// untimed rounds (page cache, kubectl's discovery and HTTP caches).
	for _, b := range benches {
		b.samples = make([][]time.Duration, len(b.variants))
	}
	for i := 0; i < runs+2; i++ {
		for _, b := range benches {
			for j, v := range b.variants {
				if b.prep != nil {
					if err := b.prep(); err != nil {
						return err
					}
				}
				d, err := timeOne(b, append(env, v.env...))
				if err != nil {
					return fmt.Errorf("%s with %s: %w", b.name, v.name, err)
				}
				if i >= 2 {
					b.samples[j] = append(b.samples[j], d)
				}
			}
		}
	}

	// `token` alone, the helper's own share (the start-up benchmark's row).
	var tokenRuns []time.Duration
	for i := 0; i < runs; i++ {
		start := time.Now()
		if _, err := output(env, bin, "token"); err != nil {
			return err
		}
		tokenRuns = append(tokenRuns, time.Since(start))
	}
	tokMed, _ := signedin.Quantiles(tokenRuns)

	fmt.Printf("%d runs per client and variant, interleaved; cache hits, the dev server stopped; `token` alone: %s median\n\n", runs, signedin.MS(tokMed))
	ms := func(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d)/1e6) }
	delta := func(d time.Duration) string { return fmt.Sprintf("%+.1f ms", float64(d)/1e6) }
	fmt.Println("| client command | helper runs per command | static token | do-nothing helper | authos helper | added in all | the client's own | ours |")
	fmt.Println("|---|---|---|---|---|---|---|---|")
	for i, b := range benches {
		var med [3]time.Duration
		for j := range med {
			med[j], _ = signedin.Quantiles(b.samples[j])
		}
		fmt.Printf("| %s | %d | %s | %s | %s | %s | %s | %s |\n", b.name, perCall[i], ms(med[2]), ms(med[1]), ms(med[0]),
			delta(med[0]-med[2]), delta(med[1]-med[2]), delta(med[0]-med[1]))
	}
	fmt.Println("\nmedians; \"the client's own\" is do-nothing helper − static, \"ours\" is authos helper − do-nothing helper")
	fmt.Println("\n| client command | token given by | median | p95 |")
	fmt.Println("|---|---|---|---|")
	for _, b := range benches {
		for j, v := range b.variants {
			med, p95 := signedin.Quantiles(b.samples[j])
			fmt.Printf("| %s | %s | %s | %s |\n", b.name, v.name, signedin.MS(med), signedin.MS(p95))
		}
	}
	return nil
}

func slicesWithout(env []string, prefix string) []string {
	var out []string
	for _, e := range env {
		if !strings.HasPrefix(e, prefix) {
			out = append(out, e)
		}
	}
	return out
}

func output(env []string, name string, args ...string) (string, error) {
	cmd := exec.Command(name, args...)
	cmd.Env = env
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("%s %s: %v: %s", name, strings.Join(args, " "), err, errOut.String())
	}
	return out.String(), nil
}

// timeOne runs the client command once; it must succeed.
func timeOne(b *bench, env []string) (time.Duration, error) {
	cmd := exec.Command(b.args[0], b.args[1:]...)
	cmd.Env, cmd.Dir = env, b.dir
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	err := cmd.Run()
	d := time.Since(start)
	if err != nil {
		return 0, fmt.Errorf("%v: %s", err, out.String())
	}
	return d, nil
}

// authorised: Bearer or Basic (any user) with the signed-in token.
func authorised(r *http.Request) bool {
	if t, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok {
		return tokenIs(t)
	}
	_, p, ok := r.BasicAuth()
	return ok && tokenIs(p)
}

// apiServer is the part of a Kubernetes API server kubectl get --raw
// /version needs, reporting version 1.minor.
func apiServer(minor string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if !authorised(r) {
			w.WriteHeader(http.StatusUnauthorized)
			w.Write([]byte(`{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","reason":"Unauthorized","code":401}`))
			return
		}
		switch r.URL.Path {
		case "/version":
			w.Write([]byte(`{"major":"1","minor":"` + minor + `","gitVersion":"v1.` + minor + `.4","platform":"linux/amd64"}`))
		default:
			w.WriteHeader(http.StatusNotFound)
			w.Write([]byte(`{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","reason":"NotFound","code":404}`))
		}
	})
}

// registryServer serves one image manifest, acme/app:v1, behind Basic auth.
func registryServer() http.Handler {
	config := []byte(`{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}`)
	cd := digest(config)
	manifest := []byte(`{"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.v2+json","config":{"mediaType":"application/vnd.docker.container.image.v1+json","size":` +
		fmt.Sprint(len(config)) + `,"digest":"` + cd + `"},"layers":[]}`)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Docker-Distribution-API-Version", "registry/2.0")
		if !authorised(r) {
			w.Header().Set("WWW-Authenticate", `Basic realm="bench"`)
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		var body []byte
		switch r.URL.Path {
		case "/v2/":
			body = []byte("{}")
		case "/v2/acme/app/manifests/v1", "/v2/acme/app/manifests/" + digest(manifest):
			body = manifest
			w.Header().Set("Content-Type", "application/vnd.docker.distribution.manifest.v2+json")
		case "/v2/acme/app/blobs/" + cd:
			body = config
		default:
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Docker-Content-Digest", digest(body))
		w.Header().Set("Content-Length", fmt.Sprint(len(body)))
		if r.Method != http.MethodHead {
			w.Write(body)
		}
	})
}

// moduleServer is a module registry with acme/net/aws 1.0.0.
func moduleServer(base func() string) http.Handler {
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	body := "output \"greeting\" {\n  value = \"hello\"\n}\n"
	tw.WriteHeader(&tar.Header{Name: "main.tf", Mode: 0o644, Size: int64(len(body))})
	tw.Write([]byte(body))
	tw.Close()
	gz.Close()
	archive := buf.Bytes()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/archive/net.tar.gz" {
			w.Write(archive)
			return
		}
		if !authorised(r) {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		switch r.URL.Path {
		case "/v1/modules/acme/net/aws/versions":
			w.Header().Set("Content-Type", "application/json")
			w.Write([]byte(`{"modules":[{"versions":[{"version":"1.0.0"}]}]}`))
		case "/v1/modules/acme/net/aws/1.0.0/download":
			w.Header().Set("X-Terraform-Get", base()+"/archive/net.tar.gz")
			w.WriteHeader(http.StatusNoContent)
		default:
			http.NotFound(w, r)
		}
	})
}

// gitServer serves a bare repository with one commit through git
// http-backend, behind Basic auth with the token as the password.
func gitServer(dir string) (*httptest.Server, error) {
	gitPath, err := exec.LookPath("git")
	if err != nil {
		return nil, err
	}
	home := filepath.Join(dir, "git-home")
	os.MkdirAll(home, 0o700)
	env := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + home, "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null",
		"GIT_AUTHOR_NAME=Bench", "GIT_AUTHOR_EMAIL=bench@example.com", "GIT_COMMITTER_NAME=Bench", "GIT_COMMITTER_EMAIL=bench@example.com"}
	repos := filepath.Join(dir, "repos")
	seed := filepath.Join(dir, "seed")
	for _, args := range [][]string{
		{"init", "-q", "--bare", "-b", "main", filepath.Join(repos, "repo.git")},
		{"init", "-q", "-b", "main", seed},
		{"-C", seed, "commit", "-q", "--allow-empty", "-m", "seed"},
		{"-C", seed, "push", "-q", filepath.Join(repos, "repo.git"), "main"},
	} {
		if _, err := output(env, "git", args...); err != nil {
			return nil, err
		}
	}
	h := &cgi.Handler{Path: gitPath, Args: []string{"http-backend"}, Dir: repos,
		Env: append(env, "GIT_PROJECT_ROOT="+repos, "GIT_HTTP_EXPORT_ALL=1")}
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !authorised(r) {
			w.Header().Set("WWW-Authenticate", `Basic realm="git"`)
			http.Error(w, "authentication required", http.StatusUnauthorized)
			return
		}
		h.ServeHTTP(w, r)
	})), nil
}

func digest(b []byte) string { return fmt.Sprintf("sha256:%x", sha256.Sum256(b)) }
