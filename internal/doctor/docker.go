package doctor

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/authos/authos-credential-helper/internal/config"
)

// dockerConfig is the part of config.json docker's credential lookup reads.
type dockerConfig struct {
	CredsStore  string            `json:"credsStore"`
	CredHelpers map[string]string `json:"credHelpers"`
	Auths       map[string]struct {
		Auth          string `json:"auth"`
		IdentityToken string `json:"identitytoken"`
		RegistryToken string `json:"registrytoken"`
	} `json:"auths"`
}

// registryHost is an auths key as docker compares it: no scheme, no path.
func registryHost(k string) string {
	k = strings.TrimPrefix(strings.TrimPrefix(k, "https://"), "http://")
	h, _, _ := strings.Cut(k, "/")
	return strings.ToLower(h)
}

// DockerChecks applies docker's lookup for each registry: credHelpers[reg],
// else credsStore, else the inline auths entry.
func DockerChecks(name string, p config.Profile, file string, b []byte, exists bool) []Check {
	regs := nonEmpty(p.Docker)
	if len(regs) == 0 {
		return nil
	}
	setupFix := "authos-credential-helper setup docker --profile " + name
	var cfg dockerConfig
	if exists {
		if err := json.Unmarshal(b, &cfg); err != nil {
			return []Check{{Area: "docker", Status: Fail, Summary: fmt.Sprintf("%s is not valid JSON (%v); docker ignores it", file, err), Fix: "repair " + file}}
		}
	}
	var out []Check
	for _, reg := range regs {
		inline := ""
		for k, a := range cfg.Auths {
			if registryHost(k) == strings.ToLower(reg) && (a.Auth != "" || a.IdentityToken != "" || a.RegistryToken != "") {
				inline = k
			}
		}
		h := cfg.CredHelpers[reg]
		switch {
		case h == "authos" || h == "" && cfg.CredsStore == "authos":
			via := "credHelpers"
			if h == "" {
				via = "credsStore"
			}
			out = append(out, Check{Area: "docker", Status: OK, Summary: fmt.Sprintf("%s: docker asks authos (%s in %s)", reg, via, file)})
			if inline != "" {
				out = append(out, Check{Area: "docker", Status: Warn,
					Summary: fmt.Sprintf("%s: %s still holds a stored login for it under auths[%q] (plain text; unused while authos answers)", reg, file, inline),
					Fix:     fmt.Sprintf("remove auths[%q] from %s", inline, file)})
			}
		case h != "":
			out = append(out, Check{Area: "docker", Status: Fail,
				Summary: fmt.Sprintf("%s: credHelpers sends it to docker-credential-%s, not authos (%s)", reg, h, file),
				Fix:     setupFix + " --force"})
		case cfg.CredsStore != "":
			out = append(out, Check{Area: "docker", Status: Fail,
				Summary: fmt.Sprintf("%s: docker asks credsStore %q, which comes before any helper not named in credHelpers (%s)", reg, cfg.CredsStore, file),
				Fix:     setupFix + " (a credHelpers entry wins over credsStore)"})
		case inline != "":
			out = append(out, Check{Area: "docker", Status: Fail,
				Summary: fmt.Sprintf("%s: docker uses the login stored under auths[%q] in %s, not authos", reg, inline, file),
				Fix:     setupFix + fmt.Sprintf(", then remove auths[%q] from %s", inline, file)})
		default:
			out = append(out, Check{Area: "docker", Status: Fail,
				Summary: fmt.Sprintf("%s: docker does not ask authos (no credHelpers entry in %s)", reg, file),
				Fix:     setupFix})
		}
	}
	return out
}

func (d *Doctor) dockerChecks(name string, p config.Profile) []Check {
	if len(nonEmpty(p.Docker)) == 0 {
		return nil
	}
	path := d.Env.locations().DockerConfig
	b, ok, err := d.Env.read(path)
	if err != nil {
		return []Check{{Area: "docker", Status: Fail, Summary: "reading " + path + ": " + err.Error()}}
	}
	cs := DockerChecks(name, p, d.Env.pretty(path), b, ok)
	return append(cs, binaryCheck(d.Env, "docker", "docker-credential-authos", "docker runs docker-credential-authos"))
}
