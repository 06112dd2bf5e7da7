package setup

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSetupKubeBareCommandOnPath(t *testing.T) {
	for _, tc := range []struct {
		name   string
		path   func(w *world) string
		want   func(w *world) string
		reason string
	}{
		{"on PATH", func(w *world) string { return filepath.Dir(w.binary) }, func(*world) string { return "authos-credential-helper" }, "kubectl finds it; installHint shows when it is gone"},
		{"not on PATH", func(w *world) string { return filepath.Join(w.root, "empty") }, func(w *world) string { return w.binary }, "absolute"},
		{"another copy on PATH", func(w *world) string {
			other := filepath.Join(w.root, "other", "authos-credential-helper")
			write(t, other, "#!/bin/sh\n", 0o755)
			return filepath.Dir(other)
		}, func(w *world) string { return w.binary }, "the one on PATH is not this binary"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t)
			w.env["PATH"] = tc.path(w)
			w.mustRun("kube")
			got := read(t, filepath.Join(w.home, ".kube", "config"))
			if !strings.Contains(got, "      command: "+tc.want(w)+"\n") || !strings.Contains(got, "installHint: ") {
				t.Errorf("%s: want command %s:\n%s", tc.reason, tc.want(w), got)
			}
		})
	}
}

func TestSetupKubeWarnsPlainHTTP(t *testing.T) {
	const kc = "apiVersion: v1\nkind: Config\nclusters:\n- name: dev\n  cluster:\n    server: http://127.0.0.1:8080\n- name: prod\n  cluster:\n    server: https://k8s.acme.example\n" +
		"contexts:\n- name: dev\n  context:\n    cluster: dev\n    user: alice\n- name: prod\n  context:\n    cluster: prod\n    user: alice\nusers:\n- name: alice\n  user:\n    token: x\n"
	for _, tc := range []struct {
		context, want string
	}{
		{"dev", "kube: warning: context dev's cluster dev is http://127.0.0.1:8080: kubectl runs no exec plugin over plain http"},
		{"prod", ""},
	} {
		w := newWorld(t)
		write(t, filepath.Join(w.home, ".kube", "config"), kc, 0o600)
		out := w.mustRun("kube", func(o *Options) { o.Context = tc.context })
		if tc.want != "" && !strings.Contains(out, tc.want) || tc.want == "" && strings.Contains(out, "warning") {
			t.Errorf("--context %s: log:\n%s", tc.context, out)
		}
	}
}

func TestSetupKubercAllowlist(t *testing.T) {
	const head = "apiVersion: kubectl.config.k8s.io/v1beta1\nkind: Preference\n# mine\n"
	for _, tc := range []struct {
		name, orig string
		added      string // the file after setup; "" unchanged
		log        string
	}{
		{"list", head + "credentialPluginPolicy: Allowlist\ncredentialPluginAllowlist:\n  - name: /usr/bin/aws   # cloud\n",
			head + "credentialPluginPolicy: Allowlist\ncredentialPluginAllowlist:\n  - name: /usr/bin/aws   # cloud\n  - name: BIN\n", "kube: added BIN to the kuberc credentialPluginAllowlist (in ~/.kube/kuberc)"},
		{"no list", head + "credentialPluginPolicy: Allowlist\n",
			head + "credentialPluginPolicy: Allowlist\ncredentialPluginAllowlist:\n- name: BIN\n", "added BIN"},
		{"empty list", head + "credentialPluginPolicy: Allowlist\ncredentialPluginAllowlist: []\n",
			head + "credentialPluginPolicy: Allowlist\ncredentialPluginAllowlist:\n- name: BIN\n", "added BIN"},
		{"allow all", head + "credentialPluginPolicy: AllowAll\n", "", ""},
		{"no policy", head, "", ""},
		{"deny all", head + "credentialPluginPolicy: DenyAll\n", "", "kube: warning: kuberc ~/.kube/kuberc sets credentialPluginPolicy: DenyAll"},
		{"JSON, nothing to add", `{"apiVersion": "kubectl.config.k8s.io/v1beta1", "kind": "Preference", "credentialPluginPolicy": "AllowAll"}`, "", ""},
		{"already listed by the user", head + "credentialPluginPolicy: Allowlist\ncredentialPluginAllowlist:\n- name: BIN\n", "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t)
			path := filepath.Join(w.home, ".kube", "kuberc")
			orig := strings.ReplaceAll(tc.orig, "BIN", w.binary)
			write(t, path, orig, 0o600)
			out := w.mustRun("kube")
			want := strings.ReplaceAll(tc.added, "BIN", w.binary)
			if want == "" {
				want = orig
			}
			if got := read(t, path); got != want {
				t.Errorf("kuberc\n%s\nwant\n%s", got, want)
			}
			if l := strings.ReplaceAll(tc.log, "BIN", w.binary); !strings.Contains(out, l) {
				t.Errorf("log lacks %q:\n%s", l, out)
			}
			// A second profile needs the same entry: nothing is added, and
			// undoing one profile keeps it for the other.
			w.mustRun("kube", profile("work"))
			if got := read(t, path); got != want {
				t.Errorf("second profile changed it:\n%s", got)
			}
			w.mustRun("kube", undo)
			if got := read(t, path); got != want {
				t.Errorf("undo of one profile of two changed it:\n%s", got)
			}
			w.mustRun("kube", profile("work"), undo)
			if got := read(t, path); got != orig {
				t.Errorf("undo left\n%s\nwant\n%s", got, orig)
			}
		})
	}
}

func TestSetupKubercFlowStyleAllowlist(t *testing.T) {
	w := newWorld(t)
	write(t, filepath.Join(w.home, ".kube", "kuberc"), `{"kind": "Preference", "credentialPluginPolicy": "Allowlist", "credentialPluginAllowlist": []}`, 0o600)
	if err := w.run("kube"); err == nil || !strings.Contains(err.Error(), "flow style") {
		t.Fatalf("a JSON kuberc setup must edit: %v", err)
	}
}

func TestSetupKubercPathAndOff(t *testing.T) {
	w := newWorld(t)
	custom := filepath.Join(w.root, "rc.yaml")
	const rc = "apiVersion: kubectl.config.k8s.io/v1beta1\nkind: Preference\ncredentialPluginPolicy: Allowlist\n"
	write(t, custom, rc, 0o600)
	write(t, filepath.Join(w.home, ".kube", "kuberc"), rc, 0o600)
	w.env["KUBERC"] = custom
	w.mustRun("kube")
	if !strings.Contains(read(t, custom), "- name: "+w.binary) || read(t, filepath.Join(w.home, ".kube", "kuberc")) != rc {
		t.Errorf("KUBERC not honoured:\n%s", read(t, custom))
	}
	w.mustRun("kube", undo)
	w.env["KUBERC"] = "off"
	w.mustRun("kube")
	if read(t, custom) != rc || read(t, filepath.Join(w.home, ".kube", "kuberc")) != rc {
		t.Error("KUBERC=off: a kuberc was changed")
	}
}

func TestKubercAllows(t *testing.T) {
	lp := func(m map[string]string) func(string) (string, error) {
		return func(n string) (string, error) {
			if p, ok := m[n]; ok {
				return p, nil
			}
			return "", os.ErrNotExist
		}
	}
	path := lp(map[string]string{"authos-credential-helper": "/usr/local/bin/authos-credential-helper", "ach": "/usr/local/bin/authos-credential-helper"})
	for _, tc := range []struct {
		list    []string
		command string
		want    bool
	}{
		{[]string{"authos-credential-helper"}, "authos-credential-helper", true},
		{[]string{"/usr/local/bin/authos-credential-helper"}, "authos-credential-helper", true},
		{[]string{"ach"}, "authos-credential-helper", true}, // both resolve to the same path
		{[]string{"/opt/authos-credential-helper"}, "authos-credential-helper", false},
		{[]string{"/opt/x"}, "/opt/x", true},
		{[]string{"aws", ""}, "authos-credential-helper", false},
		{nil, "authos-credential-helper", false},
	} {
		if got := KubercAllows(tc.list, tc.command, path); got != tc.want {
			t.Errorf("%q allows %s: %v, want %v", tc.list, tc.command, got, tc.want)
		}
	}
}
