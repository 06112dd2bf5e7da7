package setup

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestSetupTerraformCoversOpenTofu: `setup terraform` (or `setup tofu`)
// writes the block where each tool reads it, following OpenTofu's own
// choice of CLI config, and --undo removes it from each.
func TestSetupTerraformCoversOpenTofu(t *testing.T) {
	const block = "credentials_helper \"authos\" {\n  args = [\"--profile\", \"acme\"]\n}\n"
	tests := []struct {
		name    string
		client  string
		env     map[string]string // "" deletes
		before  map[string]string // path relative to root → content
		want    []string          // files (relative to root) holding our block afterwards
		wantNot []string          // files that must not exist or hold it
		wantErr string
	}{
		{name: "fresh install with XDG: one ~/.terraformrc serves both (OpenTofu reads it once it exists)",
			client: "tofu", want: []string{"home/.terraformrc"}, wantNot: []string{"home/.tofurc", "config/opentofu/tofurc"}},
		{name: "fresh install without XDG_CONFIG_HOME: ~/.terraformrc and ~/.tofurc",
			client: "terraform", env: map[string]string{"XDG_CONFIG_HOME": ""}, want: []string{"home/.terraformrc", "home/.tofurc"}},
		{name: "an existing ~/.tofurc is OpenTofu's",
			client: "terraform", before: map[string]string{"home/.tofurc": "plugin_cache_dir = \"/c\"\n"}, want: []string{"home/.terraformrc", "home/.tofurc"}},
		{name: "only ~/.terraformrc: OpenTofu reads it too",
			client: "tofu", before: map[string]string{"home/.terraformrc": "# mine\n"}, want: []string{"home/.terraformrc"}, wantNot: []string{"home/.tofurc"}},
		{name: "TF_CLI_CONFIG_FILE is the one file both read",
			client: "tofu", env: map[string]string{"TF_CLI_CONFIG_FILE": "ROOT/cli.tfrc"}, before: map[string]string{"home/.tofurc": ""},
			want: []string{"cli.tfrc"}, wantNot: []string{"home/.terraformrc"}},
		{name: "an XDG tofurc OpenTofu reads today would be shadowed by a new ~/.terraformrc",
			client: "terraform", before: map[string]string{"config/opentofu/tofurc": "# tofu only\n"},
			wantErr: "would make OpenTofu stop reading"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t)
			for k, v := range tc.env {
				if v == "" {
					delete(w.env, k)
				} else {
					w.env[k] = strings.ReplaceAll(v, "ROOT", w.root)
				}
			}
			for p, c := range tc.before {
				write(t, filepath.Join(w.root, p), c, 0o600)
			}
			err := w.run(tc.client)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("setup %s: %v\n%s", tc.client, err, w.log.String())
			}
			for _, p := range tc.want {
				if got := read(t, filepath.Join(w.root, p)); !strings.Contains(got, block) {
					t.Errorf("%s lacks the block:\n%s", p, got)
				}
			}
			for _, p := range tc.wantNot {
				if path := filepath.Join(w.root, p); exists(path) && strings.Contains(read(t, path), block) {
					t.Errorf("%s holds the block", p)
				}
			}
			w.mustRun(tc.client, undo)
			for _, p := range tc.want {
				path := filepath.Join(w.root, p)
				if exists(path) && strings.Contains(read(t, path), "authos") {
					t.Errorf("after --undo %s still holds the block:\n%s", p, read(t, path))
				}
				if orig, had := tc.before[p]; had && read(t, path) != orig {
					t.Errorf("after --undo %s = %q, want %q", p, read(t, path), orig)
				}
				if _, had := tc.before[p]; !had && exists(path) {
					t.Errorf("after --undo %s, which setup created, is still there", p)
				}
			}
		})
	}
}
