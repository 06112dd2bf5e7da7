package doctor

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"

	"github.com/authos/authos-credential-helper/helper"
	"github.com/authos/authos-credential-helper/internal/config"
	"github.com/authos/authos-credential-helper/internal/setup"
)

// TerraformInput is what Terraform reads before it asks a helper.
type TerraformInput struct {
	ConfigFile   string
	Config       []byte // the CLI config ("" when missing)
	CredsFile    string
	Creds        []byte   // credentials.tfrc.json
	TokenVars    []string // names of TF_TOKEN_ variables that are set
	PluginLinks  []string // setup's links
	PluginExists []bool   // each one resolves to an executable
}

var tfCredBlock = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`(?m)^[ \t]*credentials[ \t]+"([^"]+)"[ \t]*\{`)
})

// TFTokenHost is the host a TF_TOKEN_ variable names: Terraform encodes
// "." as "_" and "-" as "__".
func TFTokenHost(name string) string {
	h := strings.TrimPrefix(name, "TF_TOKEN_")
	h = strings.ReplaceAll(h, "__", "\x00")
	h = strings.ReplaceAll(h, "_", ".")
	return strings.ToLower(strings.ReplaceAll(h, "\x00", "-"))
}

// TFTokenVar is the variable Terraform reads for host.
func TFTokenVar(host string) string {
	return "TF_TOKEN_" + strings.ReplaceAll(strings.ReplaceAll(host, "-", "__"), ".", "_")
}

// TerraformChecks checks the CLI config's credentials_helper, the plugin
// links, and everything Terraform prefers over any helper: TF_TOKEN_
// variables, credentials blocks and credentials.tfrc.json entries.
func TerraformChecks(cfg *config.Config, name string, in TerraformInput, pretty func(string) string) []Check {
	p := cfg.Profiles[name]
	hosts := nonEmpty(p.Terraform)
	if len(hosts) == 0 {
		return nil
	}
	setupFix := "authos-credential-helper setup terraform --profile " + name
	serves := func(host string) bool {
		_, ok, _ := helper.MatchHost(cfg, helper.Selector{Profile: name}, func(string) string { return "" }, "terraform", host, nil)
		return ok
	}
	var out []Check
	cf := pretty(in.ConfigFile)
	prof, found, other := setup.TerraformBlockProfile(in.Config)
	switch {
	case found && (prof == name || prof == "" && name == cfg.DefaultProfile):
		out = append(out, Check{Area: "terraform", Status: OK, Summary: fmt.Sprintf("credentials_helper \"authos\" in %s", cf)})
	case found:
		out = append(out, Check{Area: "terraform", Status: Fail,
			Summary: fmt.Sprintf("the credentials_helper in %s is set up for profile %s, which narrows Terraform's requests to that profile's hosts", cf, prof),
			Fix:     setupFix})
	case other > 0:
		out = append(out, Check{Area: "terraform", Status: Fail,
			Summary: fmt.Sprintf("%s line %d names another credentials_helper, and Terraform runs only one", cf, other),
			Fix:     "remove that block, then run " + setupFix})
	default:
		out = append(out, Check{Area: "terraform", Status: Fail, Summary: fmt.Sprintf("no credentials_helper \"authos\" in %s", cf), Fix: setupFix})
	}
	for i, l := range in.PluginLinks {
		if i < len(in.PluginExists) && in.PluginExists[i] {
			out = append(out, Check{Area: "terraform", Status: OK, Summary: "plugin " + pretty(l)})
		} else if i == 0 {
			out = append(out, Check{Area: "terraform", Status: Fail,
				Summary: fmt.Sprintf("no helper at %s, where Terraform looks for terraform-credentials-authos", pretty(l)), Fix: setupFix})
		} else {
			out = append(out, Check{Area: "terraform", Status: Warn,
				Summary: fmt.Sprintf("no helper at %s, where OpenTofu looks for it", pretty(l)), Fix: setupFix})
		}
	}
	for _, v := range in.TokenVars {
		if h := TFTokenHost(v); serves(h) {
			out = append(out, Check{Area: "terraform", Status: Fail,
				Summary: fmt.Sprintf("%s is set: Terraform sends that token to %s and never asks the helper", v, h),
				Fix:     "unset " + v})
		}
	}
	for _, m := range tfCredBlock().FindAllSubmatch(in.Config, -1) {
		if h := string(m[1]); serves(strings.ToLower(h)) {
			out = append(out, Check{Area: "terraform", Status: Fail,
				Summary: fmt.Sprintf("%s has a credentials %q block: Terraform uses it and never asks the helper", cf, h),
				Fix:     fmt.Sprintf("remove the credentials %q block from %s", h, cf)})
		}
	}
	if len(in.Creds) > 0 {
		var f struct {
			Credentials map[string]json.RawMessage `json:"credentials"`
		}
		if json.Unmarshal(in.Creds, &f) == nil {
			keys := make([]string, 0, len(f.Credentials))
			for h := range f.Credentials {
				keys = append(keys, h)
			}
			slices.Sort(keys)
			for _, h := range keys {
				if serves(strings.ToLower(h)) {
					out = append(out, Check{Area: "terraform", Status: Fail,
						Summary: fmt.Sprintf("%s holds a token for %s: Terraform uses it and never asks the helper", pretty(in.CredsFile), h),
						Fix:     fmt.Sprintf("remove %q from %s", h, pretty(in.CredsFile))})
				}
			}
		}
	}
	return out
}

func (d *Doctor) terraformChecks(name string, p config.Profile) []Check {
	if len(nonEmpty(p.Terraform)) == 0 {
		return nil
	}
	loc := d.Env.locations()
	in := TerraformInput{ConfigFile: loc.TerraformConfig, CredsFile: loc.TerraformCredentials, PluginLinks: loc.TerraformPlugins}
	var err error
	if in.Config, _, err = d.Env.read(loc.TerraformConfig); err != nil {
		return []Check{{Area: "terraform", Status: Fail, Summary: "reading " + loc.TerraformConfig + ": " + err.Error()}}
	}
	in.Creds, _, _ = d.Env.read(loc.TerraformCredentials)
	for _, l := range loc.TerraformPlugins {
		fi, err := d.Env.stat(l)
		in.PluginExists = append(in.PluginExists, err == nil && fi.Mode().IsRegular() && fi.Mode().Perm()&0o111 != 0)
	}
	seen := map[string]bool{}
	add := func(v string) {
		if !seen[v] && d.Env.Getenv(v) != "" {
			seen[v] = true
			in.TokenVars = append(in.TokenVars, v)
		}
	}
	for _, kv := range d.Env.Environ {
		if k, _, _ := strings.Cut(kv, "="); strings.HasPrefix(k, "TF_TOKEN_") {
			add(k)
		}
	}
	for _, h := range nonEmpty(p.Terraform) {
		if !strings.Contains(h, "*") {
			add(TFTokenVar(h))
		}
	}
	slices.Sort(in.TokenVars)
	return TerraformChecks(d.Config, name, in, d.Env.pretty)
}
