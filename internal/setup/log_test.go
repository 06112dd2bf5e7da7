package setup

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestSetupLog pins every line setup prints, in order, for each client's
// common runs (set up over an existing file, again, dry-run undo, undo).
func TestSetupLog(t *testing.T) {
	cases := []struct {
		name   string
		client string
		file   func(w *world) string // the file to start from
		start  string
		prep   func(w *world) // more to set up, if any
		mods   []func(*Options)
	}{
		{
			name: "git", client: "git",
			file:  func(w *world) string { return w.env["GIT_CONFIG_GLOBAL"] },
			start: "[user]\n\tname = A\n[credential \"https://code.acme.example/team/\"]\n\tuseHttpPath = false\n",
		},
		{
			name: "git fresh", client: "git",
			file: func(w *world) string { return w.env["GIT_CONFIG_GLOBAL"] },
		},
		{
			name: "docker", client: "docker",
			file:  func(w *world) string { return filepath.Join(w.home, ".docker", "config.json") },
			start: "{\n\t\"credsStore\": \"pass\",\n\t\"credHelpers\": {\"registry.acme.example\": \"ecr-login\"}\n}\n",
			mods:  []func(*Options){force, func(o *Options) { o.CredsStore = true }},
		},
		{
			name: "docker fresh", client: "docker",
			file: func(w *world) string { return filepath.Join(w.home, ".docker", "config.json") },
		},
		{
			name: "kube", client: "kube",
			file:  func(w *world) string { return filepath.Join(w.home, ".kube", "config") },
			start: kubeExisting,
			mods:  []func(*Options){func(o *Options) { o.Context = "prod" }},
		},
		{
			name: "kube fresh", client: "kube",
			file: func(w *world) string { return filepath.Join(w.home, ".kube", "config") },
		},
		{
			name: "terraform", client: "terraform",
			file:  func(w *world) string { return filepath.Join(w.home, ".terraformrc") },
			start: "disable_checkpoint = true",
		},
		{
			name: "terraform over a plugin file", client: "terraform",
			file: func(w *world) string { return filepath.Join(w.home, ".terraformrc") },
			prep: func(w *world) {
				write(w.t, filepath.Join(w.home, ".terraform.d", "plugins", runtimeArch(), tfLink), "x", 0o755)
			},
			mods: []func(*Options){force},
		},
		{
			name: "terraform fresh", client: "terraform",
			file: func(w *world) string { return filepath.Join(w.home, ".terraformrc") },
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if c.client == "git" {
				needGit(t)
			}
			w := newWorld(t)
			if c.start != "" {
				write(t, c.file(w), c.start, 0o600)
			}
			if c.prep != nil {
				c.prep(w)
			}
			var got []string
			for _, m := range [][]func(*Options){{dryRun}, nil, nil, {undo, dryRun}, {undo}} {
				got = append(got, w.mustRun(c.client, append(append([]func(*Options){}, c.mods...), m...)...))
				st, _ := os.ReadFile(filepath.Join(w.root, "state", stateName))
				got = append(got, "state: "+strings.Join(strings.Fields(string(st)), " ")+"\n")
			}
			norm := strings.NewReplacer(w.binary, "BIN", w.home, "HOME", w.root, "ROOT", runtimeArch(), "ARCH")
			text := norm.Replace(strings.Join(got, "----\n"))
			want := strings.Join(logWant[c.name], "\n") + "\n"
			if os.Getenv("SETUP_LOG_DUMP") != "" {
				fmt.Printf("%q: {\n", c.name)
				for _, l := range strings.Split(strings.TrimSuffix(text, "\n"), "\n") {
					fmt.Printf("\t%q,\n", l)
				}
				fmt.Printf("},\n")
			}
			if text != want {
				t.Errorf("log:\n%s\nwant:\n%s", text, want)
			}
			if c.start != "" {
				if after := read(t, c.file(w)); after != c.start {
					t.Errorf("undo left %q", after)
				}
			} else if exists(c.file(w)) {
				t.Errorf("undo left %s", c.file(w))
			}
		})
	}
}

var logWant = map[string][]string{
	"git": {
		"git: would set credential.https://git.acme.example/.helper = authos, after an empty value that resets helpers configured elsewhere (in ~/.gitconfig)",
		"git: would set credential.https://code.acme.example/team/.helper = authos, after an empty value that resets helpers configured elsewhere (in ~/.gitconfig)",
		"git: would set credential.https://code.acme.example/team/.useHttpPath = true (in ~/.gitconfig)",
		"----",
		"state: ",
		"----",
		"git: backed up ~/.gitconfig to ~/.gitconfig.authos-backup-20260304T050608Z",
		"git: set credential.https://git.acme.example/.helper = authos, after an empty value that resets helpers configured elsewhere (in ~/.gitconfig)",
		"git: set credential.https://code.acme.example/team/.helper = authos, after an empty value that resets helpers configured elsewhere (in ~/.gitconfig)",
		"git: set credential.https://code.acme.example/team/.useHttpPath = true (in ~/.gitconfig)",
		"----",
		"state: { \"git|HOME/.gitconfig|https://code.acme.example/team/\": { \"use_http_path_set\": true, \"prev_use_http_path\": \"false\" } }",
		"----",
		"git: already set up for profile acme; nothing changed",
		"----",
		"state: { \"git|HOME/.gitconfig|https://code.acme.example/team/\": { \"use_http_path_set\": true, \"prev_use_http_path\": \"false\" } }",
		"----",
		"git: would remove credential.https://git.acme.example/.helper = authos and its empty reset value (in ~/.gitconfig)",
		"git: would remove credential.https://code.acme.example/team/.helper = authos and its empty reset value (in ~/.gitconfig)",
		"git: would restore credential.https://code.acme.example/team/.useHttpPath = false (in ~/.gitconfig)",
		"----",
		"state: { \"git|HOME/.gitconfig|https://code.acme.example/team/\": { \"use_http_path_set\": true, \"prev_use_http_path\": \"false\" } }",
		"----",
		"git: backed up ~/.gitconfig to ~/.gitconfig.authos-backup-20260304T050609Z",
		"git: removed credential.https://git.acme.example/.helper = authos and its empty reset value (in ~/.gitconfig)",
		"git: removed credential.https://code.acme.example/team/.helper = authos and its empty reset value (in ~/.gitconfig)",
		"git: restored credential.https://code.acme.example/team/.useHttpPath = false (in ~/.gitconfig)",
		"----",
		"state: ",
	},
	"git fresh": {
		"git: would set credential.https://git.acme.example/.helper = authos, after an empty value that resets helpers configured elsewhere (in ~/.gitconfig)",
		"git: would set credential.https://code.acme.example/team/.helper = authos, after an empty value that resets helpers configured elsewhere (in ~/.gitconfig)",
		"git: would set credential.https://code.acme.example/team/.useHttpPath = true (in ~/.gitconfig)",
		"----",
		"state: ",
		"----",
		"git: set credential.https://git.acme.example/.helper = authos, after an empty value that resets helpers configured elsewhere (in ~/.gitconfig)",
		"git: set credential.https://code.acme.example/team/.helper = authos, after an empty value that resets helpers configured elsewhere (in ~/.gitconfig)",
		"git: set credential.https://code.acme.example/team/.useHttpPath = true (in ~/.gitconfig)",
		"----",
		"state: { \"git|HOME/.gitconfig\": { \"created\": true }, \"git|HOME/.gitconfig|https://code.acme.example/team/\": { \"use_http_path_set\": true } }",
		"----",
		"git: already set up for profile acme; nothing changed",
		"----",
		"state: { \"git|HOME/.gitconfig\": { \"created\": true }, \"git|HOME/.gitconfig|https://code.acme.example/team/\": { \"use_http_path_set\": true } }",
		"----",
		"git: would remove credential.https://git.acme.example/.helper = authos and its empty reset value (in ~/.gitconfig)",
		"git: would remove credential.https://code.acme.example/team/.helper = authos and its empty reset value (in ~/.gitconfig)",
		"git: would remove credential.https://code.acme.example/team/.useHttpPath (in ~/.gitconfig)",
		"----",
		"state: { \"git|HOME/.gitconfig\": { \"created\": true }, \"git|HOME/.gitconfig|https://code.acme.example/team/\": { \"use_http_path_set\": true } }",
		"----",
		"git: backed up ~/.gitconfig to ~/.gitconfig.authos-backup-20260304T050608Z",
		"git: removed credential.https://git.acme.example/.helper = authos and its empty reset value (in ~/.gitconfig)",
		"git: removed credential.https://code.acme.example/team/.helper = authos and its empty reset value (in ~/.gitconfig)",
		"git: removed credential.https://code.acme.example/team/.useHttpPath (in ~/.gitconfig)",
		"git: removed ~/.gitconfig, which setup created and is now empty",
		"----",
		"state: ",
	},
	"docker": {
		"docker: would replace credHelpers[\"registry.acme.example\"] = \"authos\" (was \"ecr-login\") (in ~/.docker/config.json)",
		"docker: would set credHelpers[\"ghcr.acme.example:5000\"] = \"authos\" (in ~/.docker/config.json)",
		"docker: would replace credsStore = \"authos\" (was \"pass\"), the default for every registry (in ~/.docker/config.json)",
		"----",
		"state: ",
		"----",
		"docker: replaced credHelpers[\"registry.acme.example\"] = \"authos\" (was \"ecr-login\") (in ~/.docker/config.json)",
		"docker: set credHelpers[\"ghcr.acme.example:5000\"] = \"authos\" (in ~/.docker/config.json)",
		"docker: replaced credsStore = \"authos\" (was \"pass\"), the default for every registry (in ~/.docker/config.json)",
		"docker: backed up ~/.docker/config.json to ~/.docker/config.json.authos-backup-20260304T050608Z",
		"----",
		"state: { \"docker|HOME/.docker/config.json\": { \"prev\": { \"registry.acme.example\": \"ecr-login\" }, \"creds_store_set\": true, \"prev_creds_store\": \"pass\" } }",
		"----",
		"docker: already set up for profile acme; nothing changed",
		"----",
		"state: { \"docker|HOME/.docker/config.json\": { \"prev\": { \"registry.acme.example\": \"ecr-login\" }, \"creds_store_set\": true, \"prev_creds_store\": \"pass\" } }",
		"----",
		"docker: would restore credHelpers[\"registry.acme.example\"] = \"ecr-login\" (in ~/.docker/config.json)",
		"docker: would remove credHelpers[\"ghcr.acme.example:5000\"] = \"authos\" (in ~/.docker/config.json)",
		"docker: would restore credsStore = \"pass\" (in ~/.docker/config.json)",
		"----",
		"state: { \"docker|HOME/.docker/config.json\": { \"prev\": { \"registry.acme.example\": \"ecr-login\" }, \"creds_store_set\": true, \"prev_creds_store\": \"pass\" } }",
		"----",
		"docker: restored credHelpers[\"registry.acme.example\"] = \"ecr-login\" (in ~/.docker/config.json)",
		"docker: removed credHelpers[\"ghcr.acme.example:5000\"] = \"authos\" (in ~/.docker/config.json)",
		"docker: restored credsStore = \"pass\" (in ~/.docker/config.json)",
		"docker: backed up ~/.docker/config.json to ~/.docker/config.json.authos-backup-20260304T050609Z",
		"----",
		"state: ",
	},
	"docker fresh": {
		"docker: would set credHelpers[\"registry.acme.example\"] = \"authos\" (in ~/.docker/config.json)",
		"docker: would set credHelpers[\"ghcr.acme.example:5000\"] = \"authos\" (in ~/.docker/config.json)",
		"----",
		"state: ",
		"----",
		"docker: set credHelpers[\"registry.acme.example\"] = \"authos\" (in ~/.docker/config.json)",
		"docker: set credHelpers[\"ghcr.acme.example:5000\"] = \"authos\" (in ~/.docker/config.json)",
		"----",
		"state: { \"docker|HOME/.docker/config.json\": { \"created\": true, \"created_cred_helpers\": true } }",
		"----",
		"docker: already set up for profile acme; nothing changed",
		"----",
		"state: { \"docker|HOME/.docker/config.json\": { \"created\": true, \"created_cred_helpers\": true } }",
		"----",
		"docker: would remove credHelpers[\"registry.acme.example\"] = \"authos\" (in ~/.docker/config.json)",
		"docker: would remove credHelpers[\"ghcr.acme.example:5000\"] = \"authos\" (in ~/.docker/config.json)",
		"docker: would remove ~/.docker/config.json, which setup created and is now empty",
		"----",
		"state: { \"docker|HOME/.docker/config.json\": { \"created\": true, \"created_cred_helpers\": true } }",
		"----",
		"docker: removed credHelpers[\"registry.acme.example\"] = \"authos\" (in ~/.docker/config.json)",
		"docker: removed credHelpers[\"ghcr.acme.example:5000\"] = \"authos\" (in ~/.docker/config.json)",
		"docker: removed ~/.docker/config.json, which setup created and is now empty",
		"----",
		"state: ",
	},
	"kube": {
		"kube: would add user authos-acme running BIN (in ~/.kube/config)",
		"kube: would set context prod's user to authos-acme (was \"alice\") (in ~/.kube/config)",
		"----",
		"state: ",
		"----",
		"kube: added user authos-acme running BIN (in ~/.kube/config)",
		"kube: set context prod's user to authos-acme (was \"alice\") (in ~/.kube/config)",
		"kube: backed up ~/.kube/config to ~/.kube/config.authos-backup-20260304T050608Z",
		"----",
		"state: { \"kube|HOME/.kube/config\": { \"prev_user\": { \"prod\": \"\\\"alice\\\"\" } } }",
		"----",
		"kube: already set up for profile acme; nothing changed",
		"----",
		"state: { \"kube|HOME/.kube/config\": { \"prev_user\": { \"prod\": \"\\\"alice\\\"\" } } }",
		"----",
		"kube: would remove user authos-acme (in ~/.kube/config)",
		"kube: would restore context prod's user to \"alice\" (in ~/.kube/config)",
		"----",
		"state: { \"kube|HOME/.kube/config\": { \"prev_user\": { \"prod\": \"\\\"alice\\\"\" } } }",
		"----",
		"kube: removed user authos-acme (in ~/.kube/config)",
		"kube: restored context prod's user to \"alice\" (in ~/.kube/config)",
		"kube: backed up ~/.kube/config to ~/.kube/config.authos-backup-20260304T050609Z",
		"----",
		"state: ",
	},
	"kube fresh": {
		"kube: would add user authos-acme running BIN (in ~/.kube/config)",
		"----",
		"state: ",
		"----",
		"kube: added user authos-acme running BIN (in ~/.kube/config)",
		"----",
		"state: { \"kube|HOME/.kube/config\": { \"created\": true, \"added_users_key\": true } }",
		"----",
		"kube: already set up for profile acme; nothing changed",
		"----",
		"state: { \"kube|HOME/.kube/config\": { \"created\": true, \"added_users_key\": true } }",
		"----",
		"kube: would remove user authos-acme (in ~/.kube/config)",
		"kube: would remove ~/.kube/config, which setup created and is now empty",
		"----",
		"state: { \"kube|HOME/.kube/config\": { \"created\": true, \"added_users_key\": true } }",
		"----",
		"kube: removed user authos-acme (in ~/.kube/config)",
		"kube: removed ~/.kube/config, which setup created and is now empty",
		"----",
		"state: ",
	},
	"terraform": {
		"terraform: would add credentials_helper \"authos\" { args = [\"--profile\", \"acme\"] } (in ~/.terraformrc)",
		"terraform: would link ~/.terraform.d/plugins/ARCH/terraform-credentials-authos -> BIN",
		"terraform: would link ROOT/data/opentofu/plugins/ARCH/terraform-credentials-authos -> BIN",
		"----",
		"state: ",
		"----",
		"terraform: added credentials_helper \"authos\" { args = [\"--profile\", \"acme\"] } (in ~/.terraformrc)",
		"terraform: backed up ~/.terraformrc to ~/.terraformrc.authos-backup-20260304T050608Z",
		"terraform: linked ~/.terraform.d/plugins/ARCH/terraform-credentials-authos -> BIN",
		"terraform: linked ROOT/data/opentofu/plugins/ARCH/terraform-credentials-authos -> BIN",
		"----",
		"state: { \"terraform|HOME/.terraformrc\": { \"added_newline\": true, \"created_dirs\": [ \"HOME/.terraform.d/plugins/ARCH\", \"HOME/.terraform.d/plugins\", \"HOME/.terraform.d\", \"ROOT/data/opentofu/plugins/ARCH\", \"ROOT/data/opentofu/plugins\", \"ROOT/data/opentofu\", \"ROOT/data\" ] } }",
		"----",
		"terraform: already set up for profile acme; nothing changed",
		"----",
		"state: { \"terraform|HOME/.terraformrc\": { \"added_newline\": true, \"created_dirs\": [ \"HOME/.terraform.d/plugins/ARCH\", \"HOME/.terraform.d/plugins\", \"HOME/.terraform.d\", \"ROOT/data/opentofu/plugins/ARCH\", \"ROOT/data/opentofu/plugins\", \"ROOT/data/opentofu\", \"ROOT/data\" ] } }",
		"----",
		"terraform: would remove the credentials_helper \"authos\" block (in ~/.terraformrc)",
		"terraform: would remove the link ~/.terraform.d/plugins/ARCH/terraform-credentials-authos",
		"terraform: would remove the link ROOT/data/opentofu/plugins/ARCH/terraform-credentials-authos",
		"----",
		"state: { \"terraform|HOME/.terraformrc\": { \"added_newline\": true, \"created_dirs\": [ \"HOME/.terraform.d/plugins/ARCH\", \"HOME/.terraform.d/plugins\", \"HOME/.terraform.d\", \"ROOT/data/opentofu/plugins/ARCH\", \"ROOT/data/opentofu/plugins\", \"ROOT/data/opentofu\", \"ROOT/data\" ] } }",
		"----",
		"terraform: removed the credentials_helper \"authos\" block (in ~/.terraformrc)",
		"terraform: backed up ~/.terraformrc to ~/.terraformrc.authos-backup-20260304T050609Z",
		"terraform: removed the link ~/.terraform.d/plugins/ARCH/terraform-credentials-authos",
		"terraform: removed the link ROOT/data/opentofu/plugins/ARCH/terraform-credentials-authos",
		"----",
		"state: ",
	},
	"terraform over a plugin file": {
		"terraform: would add credentials_helper \"authos\" { args = [\"--profile\", \"acme\"] } (in ~/.terraformrc)",
		"terraform: would link ~/.terraform.d/plugins/ARCH/terraform-credentials-authos -> BIN",
		"terraform: would link ROOT/data/opentofu/plugins/ARCH/terraform-credentials-authos -> BIN",
		"----",
		"state: ",
		"----",
		"terraform: added credentials_helper \"authos\" { args = [\"--profile\", \"acme\"] } (in ~/.terraformrc)",
		"terraform: linked ~/.terraform.d/plugins/ARCH/terraform-credentials-authos -> BIN",
		"terraform: moved ~/.terraform.d/plugins/ARCH/terraform-credentials-authos to ~/.terraform.d/plugins/ARCH/terraform-credentials-authos.authos-backup-20260304T050608Z",
		"terraform: linked ROOT/data/opentofu/plugins/ARCH/terraform-credentials-authos -> BIN",
		"----",
		"state: { \"terraform|HOME/.terraformrc\": { \"created\": true, \"created_dirs\": [ \"ROOT/data/opentofu/plugins/ARCH\", \"ROOT/data/opentofu/plugins\", \"ROOT/data/opentofu\", \"ROOT/data\" ] } }",
		"----",
		"terraform: already set up for profile acme; nothing changed",
		"----",
		"state: { \"terraform|HOME/.terraformrc\": { \"created\": true, \"created_dirs\": [ \"ROOT/data/opentofu/plugins/ARCH\", \"ROOT/data/opentofu/plugins\", \"ROOT/data/opentofu\", \"ROOT/data\" ] } }",
		"----",
		"terraform: would remove the credentials_helper \"authos\" block (in ~/.terraformrc)",
		"terraform: would remove ~/.terraformrc, which setup created and is now empty",
		"terraform: would remove the link ~/.terraform.d/plugins/ARCH/terraform-credentials-authos",
		"terraform: would remove the link ROOT/data/opentofu/plugins/ARCH/terraform-credentials-authos",
		"----",
		"state: { \"terraform|HOME/.terraformrc\": { \"created\": true, \"created_dirs\": [ \"ROOT/data/opentofu/plugins/ARCH\", \"ROOT/data/opentofu/plugins\", \"ROOT/data/opentofu\", \"ROOT/data\" ] } }",
		"----",
		"terraform: removed the credentials_helper \"authos\" block (in ~/.terraformrc)",
		"terraform: removed ~/.terraformrc, which setup created and is now empty",
		"terraform: removed the link ~/.terraform.d/plugins/ARCH/terraform-credentials-authos",
		"terraform: removed the link ROOT/data/opentofu/plugins/ARCH/terraform-credentials-authos",
		"----",
		"state: ",
	},
	"terraform fresh": {
		"terraform: would add credentials_helper \"authos\" { args = [\"--profile\", \"acme\"] } (in ~/.terraformrc)",
		"terraform: would link ~/.terraform.d/plugins/ARCH/terraform-credentials-authos -> BIN",
		"terraform: would link ROOT/data/opentofu/plugins/ARCH/terraform-credentials-authos -> BIN",
		"----",
		"state: ",
		"----",
		"terraform: added credentials_helper \"authos\" { args = [\"--profile\", \"acme\"] } (in ~/.terraformrc)",
		"terraform: linked ~/.terraform.d/plugins/ARCH/terraform-credentials-authos -> BIN",
		"terraform: linked ROOT/data/opentofu/plugins/ARCH/terraform-credentials-authos -> BIN",
		"----",
		"state: { \"terraform|HOME/.terraformrc\": { \"created\": true, \"created_dirs\": [ \"HOME/.terraform.d/plugins/ARCH\", \"HOME/.terraform.d/plugins\", \"HOME/.terraform.d\", \"ROOT/data/opentofu/plugins/ARCH\", \"ROOT/data/opentofu/plugins\", \"ROOT/data/opentofu\", \"ROOT/data\" ] } }",
		"----",
		"terraform: already set up for profile acme; nothing changed",
		"----",
		"state: { \"terraform|HOME/.terraformrc\": { \"created\": true, \"created_dirs\": [ \"HOME/.terraform.d/plugins/ARCH\", \"HOME/.terraform.d/plugins\", \"HOME/.terraform.d\", \"ROOT/data/opentofu/plugins/ARCH\", \"ROOT/data/opentofu/plugins\", \"ROOT/data/opentofu\", \"ROOT/data\" ] } }",
		"----",
		"terraform: would remove the credentials_helper \"authos\" block (in ~/.terraformrc)",
		"terraform: would remove ~/.terraformrc, which setup created and is now empty",
		"terraform: would remove the link ~/.terraform.d/plugins/ARCH/terraform-credentials-authos",
		"terraform: would remove the link ROOT/data/opentofu/plugins/ARCH/terraform-credentials-authos",
		"----",
		"state: { \"terraform|HOME/.terraformrc\": { \"created\": true, \"created_dirs\": [ \"HOME/.terraform.d/plugins/ARCH\", \"HOME/.terraform.d/plugins\", \"HOME/.terraform.d\", \"ROOT/data/opentofu/plugins/ARCH\", \"ROOT/data/opentofu/plugins\", \"ROOT/data/opentofu\", \"ROOT/data\" ] } }",
		"----",
		"terraform: removed the credentials_helper \"authos\" block (in ~/.terraformrc)",
		"terraform: removed ~/.terraformrc, which setup created and is now empty",
		"terraform: removed the link ~/.terraform.d/plugins/ARCH/terraform-credentials-authos",
		"terraform: removed the link ROOT/data/opentofu/plugins/ARCH/terraform-credentials-authos",
		"----",
		"state: ",
	},
}
