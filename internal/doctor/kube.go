package doctor

import (
	"fmt"
	"net/url"
	"slices"
	"strings"

	"github.com/authos/authos-credential-helper/internal/setup"
)

// Kubeconfig is the merged view of the kubeconfig files (kubectl takes the
// first file's entry for a name).
type Kubeconfig struct {
	Users    map[string]string // user -> its exec command ("" without exec)
	UserFile map[string]string
	Contexts []KubeContext
	Clusters map[string]string // cluster -> server URL
}

type KubeContext struct{ Name, Cluster, User string }

// MergeKubeconfigs reads files (path -> content) in order.
func MergeKubeconfigs(paths []string, content map[string][]byte) (Kubeconfig, error) {
	k := Kubeconfig{Users: map[string]string{}, UserFile: map[string]string{}, Clusters: map[string]string{}}
	seenCtx := map[string]bool{}
	for _, p := range paths {
		b, ok := content[p]
		if !ok {
			continue
		}
		f, err := setup.ReadKubeFile(b)
		if err != nil {
			return k, fmt.Errorf("%s: %w", p, err)
		}
		for _, u := range f.Users {
			if _, dup := k.Users[u.Name]; dup {
				continue
			}
			cmd := ""
			if u.User.Exec != nil {
				cmd = u.User.Exec.Command
			}
			k.Users[u.Name], k.UserFile[u.Name] = cmd, p
		}
		for _, c := range f.Contexts {
			if !seenCtx[c.Name] {
				seenCtx[c.Name] = true
				k.Contexts = append(k.Contexts, KubeContext{c.Name, c.Context.Cluster, c.Context.User})
			}
		}
		for _, c := range f.Clusters {
			if _, dup := k.Clusters[c.Name]; !dup {
				k.Clusters[c.Name] = withoutUserinfo(c.Cluster.Server)
			}
		}
	}
	return k, nil
}

// withoutUserinfo drops a user and password from a URL before it is shown.
func withoutUserinfo(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.User == nil {
		return raw
	}
	u.User = nil
	return u.String()
}

// KubercInfo is the kuberc kubectl ≥ 1.35 reads.
type KubercInfo struct {
	Path   string // "" when KUBERC=off
	Exists bool
	Parsed setup.Kuberc
	Err    error
}

// KubeChecks checks the profile's kubeconfig user: that kubectl can run its
// command, that contexts use it over https, and that no kuberc policy
// blocks it.
func KubeChecks(name string, k Kubeconfig, rc KubercInfo, lookPath func(string) (string, error), pretty func(string) string) []Check {
	user := setup.KubeUserName(name)
	setupFix := "authos-credential-helper setup kube --profile " + name
	command, ok := k.Users[user]
	if !ok {
		return []Check{{Area: "kube", Status: Info, Summary: fmt.Sprintf("no kubeconfig user %s: kubectl is not set up for this profile", user),
			Fix: setupFix + " --context NAME"}}
	}
	file := pretty(k.UserFile[user])
	if command == "" {
		return []Check{{Area: "kube", Status: Fail, Summary: fmt.Sprintf("user %s in %s has no exec command", user, file), Fix: setupFix}}
	}
	var out []Check
	resolved, err := lookPath(command)
	if err != nil {
		out = append(out, Check{Area: "kube", Status: Fail,
			Summary: fmt.Sprintf("kubectl cannot run user %s's command %s (%v)", user, command, err),
			Fix:     setupFix + " (writes the helper's current path)"})
	} else {
		out = append(out, Check{Area: "kube", Status: OK, Summary: fmt.Sprintf("user %s runs %s (%s)", user, command, pretty(resolved))})
	}
	var used []string
	for _, c := range k.Contexts {
		if c.User != user {
			continue
		}
		used = append(used, c.Name)
		server := k.Clusters[c.Cluster]
		switch {
		case strings.HasPrefix(strings.ToLower(server), "http://"):
			out = append(out, Check{Area: "kube", Status: Fail,
				Summary: fmt.Sprintf("context %s: cluster %s is %s, and kubectl runs no exec plugin over plain http, so it never asks the helper", c.Name, c.Cluster, server),
				Fix:     fmt.Sprintf("use the cluster's https:// address as clusters[%s].cluster.server in the kubeconfig", c.Cluster)})
		case server == "":
			out = append(out, Check{Area: "kube", Status: Fail, Summary: fmt.Sprintf("context %s: no cluster %q in the kubeconfig", c.Name, c.Cluster),
				Fix: fmt.Sprintf("add cluster %s, or point context %s at an existing one", c.Cluster, c.Name)})
		default:
			out = append(out, Check{Area: "kube", Status: OK, Summary: fmt.Sprintf("context %s uses it for %s", c.Name, server)})
		}
	}
	if len(used) == 0 {
		out = append(out, Check{Area: "kube", Status: Warn, Summary: fmt.Sprintf("no context uses user %s, so kubectl never runs it", user),
			Fix: setupFix + " --context NAME"})
	}
	if c, ok := kubercCheck(rc, command, lookPath, pretty, setupFix); ok {
		out = append(out, c)
	}
	return out
}

func kubercCheck(rc KubercInfo, command string, lookPath func(string) (string, error), pretty func(string) string, setupFix string) (Check, bool) {
	if rc.Path == "" || !rc.Exists {
		return Check{}, false
	}
	file := pretty(rc.Path)
	if rc.Err != nil {
		return Check{Area: "kube", Status: Fail, Summary: fmt.Sprintf("kuberc %s cannot be read (%v); kubectl ≥ 1.35 fails on it", file, rc.Err), Fix: "repair " + file}, true
	}
	want := command
	if p, err := lookPath(command); err == nil {
		want = p
	}
	switch rc.Parsed.Policy {
	case "", setup.KubercAllowAll:
		return Check{Area: "kube", Status: OK, Summary: fmt.Sprintf("kuberc %s allows every credential plugin", file)}, true
	case setup.KubercDenyAll:
		return Check{Area: "kube", Status: Fail,
			Summary: fmt.Sprintf("kuberc %s sets credentialPluginPolicy: DenyAll, so kubectl ≥ 1.35 runs no credential plugin", file),
			Fix:     fmt.Sprintf("set credentialPluginPolicy: Allowlist in %s, then run %s", file, setupFix)}, true
	case setup.KubercAllowlist:
		if setup.KubercAllows(rc.Parsed.Allowlist, command, lookPath) {
			return Check{Area: "kube", Status: OK, Summary: fmt.Sprintf("kuberc %s allowlist lets kubectl run %s", file, command)}, true
		}
		listed := "it lists no plugin"
		if l := slices.DeleteFunc(slices.Clone(rc.Parsed.Allowlist), func(s string) bool { return s == "" }); len(l) > 0 {
			listed = "it lists " + strings.Join(l, ", ")
		}
		return Check{Area: "kube", Status: Fail,
			Summary: fmt.Sprintf("kuberc %s credentialPluginAllowlist does not allow %s (%s), so kubectl ≥ 1.35 refuses to run it", file, command, listed),
			Fix:     fmt.Sprintf("%s (adds it), or add \"- name: %s\" under credentialPluginAllowlist in %s", setupFix, want, file)}, true
	}
	return Check{Area: "kube", Status: Fail,
		Summary: fmt.Sprintf("kuberc %s has credentialPluginPolicy %q, which kubectl ≥ 1.35 rejects", file, rc.Parsed.Policy),
		Fix:     "use AllowAll, DenyAll or Allowlist in " + file}, true
}

func (d *Doctor) kubeChecks(name string) []Check {
	loc := d.Env.locations()
	content := map[string][]byte{}
	for _, p := range loc.Kubeconfigs {
		b, ok, err := d.Env.read(p)
		if err != nil {
			return []Check{{Area: "kube", Status: Fail, Summary: "reading " + p + ": " + err.Error()}}
		}
		if ok {
			content[p] = b
		}
	}
	k, err := MergeKubeconfigs(loc.Kubeconfigs, content)
	if err != nil {
		return []Check{{Area: "kube", Status: Fail, Summary: "the kubeconfig does not parse: " + err.Error()}}
	}
	rc := KubercInfo{Path: loc.Kuberc}
	if rc.Path != "" {
		var b []byte
		b, rc.Exists, rc.Err = d.Env.read(rc.Path)
		if rc.Exists && rc.Err == nil {
			rc.Parsed, rc.Err = setup.ParseKuberc(b)
		}
	}
	lp := d.Env.LookPath
	if lp == nil {
		lp = func(n string) (string, error) { return n, nil }
	}
	return KubeChecks(name, k, rc, lp, d.Env.pretty)
}
