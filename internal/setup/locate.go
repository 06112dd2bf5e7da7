package setup

import (
	"path/filepath"
	"strings"
)

// Locations are the client files setup edits, found as setup finds them;
// doctor reads the same files.
type Locations struct {
	GitGlobal       string   // the file `git config --global` writes
	DockerConfig    string   // config.json
	Kubeconfigs     []string // $KUBECONFIG's files (kubectl merges them), else ~/.kube/config
	Kuberc          string   // "" when turned off
	TerraformConfig string   // the CLI config
	// TerraformPlugins are the helper links setup makes (Terraform's, then OpenTofu's).
	TerraformPlugins []string
	// TerraformCredentials is credentials.tfrc.json, which `terraform login`
	// writes when no helper is configured.
	TerraformCredentials string
}

// Locate finds the files for an environment; goos and goarch name
// Terraform's plugin folder.
func Locate(getenv func(string) string, home, goos, goarch string) Locations {
	r := &run{Options: Options{Getenv: getenv, GOOS: goos, GOARCH: goarch}, home: home}
	l := Locations{
		GitGlobal:       r.gitGlobalFile(),
		DockerConfig:    r.dockerConfigFile(),
		Kuberc:          KubercFile(getenv, home),
		TerraformConfig: r.terraformConfigFile(),
	}
	for _, p := range filepath.SplitList(getenv("KUBECONFIG")) {
		if p != "" {
			l.Kubeconfigs = append(l.Kubeconfigs, r.expand(p))
		}
	}
	if len(l.Kubeconfigs) == 0 {
		l.Kubeconfigs = []string{r.kubeconfigFile()}
	}
	link := tfLink
	if goos == "windows" {
		link += ".exe"
	}
	for _, d := range r.terraformPluginDirs() {
		l.TerraformPlugins = append(l.TerraformPlugins, filepath.Join(d, link))
	}
	tfd := filepath.Join(home, ".terraform.d")
	if goos == "windows" {
		if a := getenv("APPDATA"); a != "" {
			tfd = filepath.Join(a, "terraform.d")
		}
	}
	l.TerraformCredentials = filepath.Join(tfd, "credentials.tfrc.json")
	return l
}

// GitHelperProfile says whether a credential.<url>.helper value is one setup
// writes, and for which profile ("" for the default one).
func GitHelperProfile(v string) (profile string, ours bool) {
	if !oursLike(v) {
		return "", false
	}
	p := strings.TrimPrefix(v, HelperName+" --profile ")
	if p == v {
		return "", true
	}
	return strings.Trim(p, `'`), true
}

// KubeUserName is the kubeconfig user setup writes for a profile.
func KubeUserName(profile string) string { return kubeUserName(profile) }

// TerraformBlockProfile finds setup's marked credentials_helper block in a
// CLI config and the profile it names; found is false without one. other
// is the line (1-based) of a credentials_helper block outside it, or 0.
func TerraformBlockProfile(b []byte) (profile string, found bool, other int) {
	lines := strings.SplitAfter(string(b), "\n")
	begin, end, foreign, err := tfScan(lines)
	if err != nil {
		return "", false, 0
	}
	if len(foreign) > 0 {
		other = foreign[0] + 1
	}
	if begin < 0 {
		return "", false, other
	}
	for _, l := range lines[begin:end] {
		t := strings.TrimSpace(l)
		if rest, ok := strings.CutPrefix(t, `args = ["--profile", `); ok {
			profile = strings.TrimSuffix(strings.TrimSuffix(rest, "]"), `"`)
			profile = strings.TrimPrefix(profile, `"`)
		}
	}
	return profile, true, other
}
