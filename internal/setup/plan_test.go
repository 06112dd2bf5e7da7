package setup

import (
	"encoding/json"
	"errors"
	"io/fs"
	"strings"
	"testing"
)

// render shows a plan one line per change: the action, then its change
// line, then its state update.
func render(pl plan) []string {
	names := map[action]string{actWrite: "write", actRemove: "remove", actGit: "git", actLink: "link", actUnlink: "unlink",
		actGitDropSection: "drop-section", actRemoveIfBlank: "remove-if-blank", actAdoptNew: "adopt", actRemoveDirs: "rmdirs"}
	var out []string
	for _, c := range pl {
		var parts []string
		if n := names[c.act]; n != "" {
			parts = append(parts, n)
			if c.path != "" {
				parts = append(parts, c.path)
			}
			for _, a := range c.args {
				if a == "" {
					a = `""` // the empty helper value
				}
				parts = append(parts, a)
			}
		}
		if c.act == actLink {
			parts = append(parts, "-> "+c.target)
		}
		if c.verb != "" {
			parts = append(parts, "| "+c.verb+" "+c.what)
		}
		if c.stateKey != "" {
			b, _ := json.Marshal(c.state)
			parts = append(parts, "| state "+c.stateKey+" "+string(b))
		}
		out = append(out, strings.Join(parts, " "))
	}
	return out
}

// lastWrite is the data of the plan's last actWrite.
func lastWrite(pl plan) string {
	for i := len(pl) - 1; i >= 0; i-- {
		if pl[i].act == actWrite {
			return string(pl[i].data)
		}
	}
	return ""
}

type planCase struct {
	name    string
	plan    func() (plan, error)
	want    []string
	data    string // the last write, when not ""
	wantErr string
}

func checkPlans(t *testing.T, cases []planCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			pl, err := c.plan()
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("error %v, want one with %q", err, c.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := render(pl)
			if strings.Join(got, "\n") != strings.Join(c.want, "\n") {
				t.Errorf("plan:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(c.want, "\n"))
			}
			if c.data != "" && lastWrite(pl) != c.data {
				t.Errorf("writes\n%s\nwant\n%s", lastWrite(pl), c.data)
			}
		})
	}
}

var testOpts = planOpts{profile: "acme", binary: "/bin/ach", home: "/h"}

func undoOpts() planOpts  { p := testOpts; p.undo = true; return p }
func forceOpts() planOpts { p := testOpts; p.force = true; return p }

func TestPlanDocker(t *testing.T) {
	const path = "/h/.docker/config.json"
	regs := []string{"r.example"}
	in := func(content string, st dockerState) dockerIn {
		return dockerIn{path: path, orig: []byte(content), existed: content != "", st: st, regs: regs}
	}
	checkPlans(t, []planCase{
		{name: "no file", plan: func() (plan, error) { return planDocker(testOpts, in("", dockerState{})) },
			want: []string{
				`| set credHelpers["r.example"] = "authos" (in ~/.docker/config.json)`,
				`write /h/.docker/config.json | state docker|/h/.docker/config.json {"created":true,"created_cred_helpers":true}`,
			},
			data: "{\n\t\"credHelpers\": {\n\t\t\"r.example\": \"authos\"\n\t}\n}\n"},
		{name: "already ours", plan: func() (plan, error) {
			return planDocker(testOpts, in(`{"credHelpers":{"r.example":"authos"}}`, dockerState{}))
		}},
		{name: "another helper", plan: func() (plan, error) {
			return planDocker(testOpts, in(`{"credHelpers":{"r.example":"ecr"}}`, dockerState{}))
		},
			wantErr: `"r.example" uses "ecr"`},
		{name: "another helper, forced", plan: func() (plan, error) {
			return planDocker(forceOpts(), in(`{"credHelpers":{"r.example":"ecr"}}`, dockerState{}))
		},
			want: []string{
				`| replaced credHelpers["r.example"] = "authos" (was "ecr") (in ~/.docker/config.json)`,
				`write /h/.docker/config.json | state docker|/h/.docker/config.json {"prev":{"r.example":"ecr"}}`,
			},
			data: `{"credHelpers":{"r.example":"authos"}}`},
		{name: "credHelpers null", plan: func() (plan, error) { return planDocker(testOpts, in(`{"credHelpers":null}`, dockerState{})) },
			wantErr: "credHelpers is null"},
		{name: "not JSON", plan: func() (plan, error) { return planDocker(testOpts, in(`{"a":`, dockerState{})) },
			wantErr: "not valid JSON"},
		{name: "undo, no file", plan: func() (plan, error) { return planDocker(undoOpts(), in("", dockerState{})) }},
		{name: "undo restores", plan: func() (plan, error) {
			return planDocker(undoOpts(), in(`{"credHelpers":{"r.example":"authos"}}`, dockerState{Prev: map[string]string{"r.example": "ecr"}}))
		},
			want: []string{
				`| restored credHelpers["r.example"] = "ecr" (in ~/.docker/config.json)`,
				`write /h/.docker/config.json | state docker|/h/.docker/config.json {}`,
			},
			data: `{"credHelpers":{"r.example":"ecr"}}`},
		{name: "undo removes the file it created", plan: func() (plan, error) {
			return planDocker(undoOpts(), in("{\n\t\"credHelpers\": {\n\t\t\"r.example\": \"authos\"\n\t}\n}\n", dockerState{Created: true, CreatedCredHelpers: true}))
		},
			want: []string{
				`| removed credHelpers["r.example"] = "authos" (in ~/.docker/config.json)`,
				`remove /h/.docker/config.json | removed ~/.docker/config.json, which setup created and is now empty | state docker|/h/.docker/config.json {}`,
			}},
	})
}

func TestPlanKube(t *testing.T) {
	const path = "/h/.kube/config"
	entry := "- name: authos-acme\n  user:\n    exec:\n      apiVersion: client.authentication.k8s.io/v1\n      command: /bin/ach\n" +
		"      args: [kube, --profile, acme]\n      interactiveMode: IfAvailable\n      provideClusterInfo: false\n" +
		"      installHint: \"Install authos-credential-helper (./install.sh) and run: authos-credential-helper login --profile acme\"\n"
	in := func(content, context string) kubeIn {
		return kubeIn{path: path, orig: []byte(content), existed: content != "", context: context}
	}
	const withCtx = "apiVersion: v1\ncontexts:\n- name: prod\n  context:\n    user: alice\n"
	checkPlans(t, []planCase{
		{name: "no file", plan: func() (plan, error) { return planKube(testOpts, in("", "")) },
			want: []string{
				"| added user authos-acme running /bin/ach (in ~/.kube/config)",
				`write /h/.kube/config | state kube|/h/.kube/config {"created":true,"added_users_key":true}`,
			},
			data: kubeSkeleton + "users:\n" + entry},
		{name: "already there", plan: func() (plan, error) { return planKube(testOpts, in(kubeSkeleton+"users:\n"+entry, "")) }},
		{name: "context", plan: func() (plan, error) { return planKube(testOpts, in(withCtx, "prod")) },
			want: []string{
				"| added user authos-acme running /bin/ach (in ~/.kube/config)",
				"| set context prod's user to authos-acme (was alice) (in ~/.kube/config)",
				`write /h/.kube/config | state kube|/h/.kube/config {"added_users_key":true,"prev_user":{"prod":"alice"}}`,
			},
			data: "apiVersion: v1\ncontexts:\n- name: prod\n  context:\n    user: authos-acme\nusers:\n" + entry},
		{name: "no such context", plan: func() (plan, error) { return planKube(testOpts, in(withCtx, "dev")) }, wantErr: `no context "dev"`},
		{name: "flow style", plan: func() (plan, error) { return planKube(testOpts, in(`{"users": []}`, "")) }, wantErr: "flow style"},
		{name: "two documents", plan: func() (plan, error) { return planKube(testOpts, in("a: 1\n---\nb: 2\n", "")) }, wantErr: "2 YAML documents"},
		{name: "a lone tag", plan: func() (plan, error) { return planKube(testOpts, in("!\n", "")) }, wantErr: "not a mapping"},
		{name: "only comments", plan: func() (plan, error) { return planKube(testOpts, in("# x\n", "")) },
			want: []string{
				"| added user authos-acme running /bin/ach (in ~/.kube/config)",
				`write /h/.kube/config | state kube|/h/.kube/config {"added_users_key":true}`,
			},
			data: "# x\nusers:\n" + entry},
		{name: "undo, no file", plan: func() (plan, error) { return planKube(undoOpts(), in("", "")) }},
		{name: "undo", plan: func() (plan, error) {
			i := in(kubeSkeleton+"users:\n"+entry, "")
			i.st = kubeState{Created: true, AddedUsersKey: true}
			return planKube(undoOpts(), i)
		},
			want: []string{
				"| removed user authos-acme (in ~/.kube/config)",
				"remove /h/.kube/config | removed ~/.kube/config, which setup created and is now empty | state kube|/h/.kube/config {}",
			}},
	})
}

func TestPlanTerraform(t *testing.T) {
	const path = "/h/.terraformrc"
	missing := []tfLinkNow{{path: "/h/p/terraform-credentials-authos", err: fs.ErrNotExist}}
	ours := []tfLinkNow{{path: "/h/p/terraform-credentials-authos", target: "/bin/ach"}}
	file := []tfLinkNow{{path: "/h/p/terraform-credentials-authos", err: errors.New("invalid argument")}}
	block := terraformBlock("acme")
	in := func(content string, links []tfLinkNow, st terraformState) terraformIn {
		return terraformIn{path: path, orig: []byte(content), existed: content != "", links: links, st: st}
	}
	checkPlans(t, []planCase{
		{name: "no file", plan: func() (plan, error) { return planTerraform(testOpts, in("", missing, terraformState{})) },
			want: []string{
				`| added credentials_helper "authos" { args = ["--profile", "acme"] } (in ~/.terraformrc)`,
				"write /h/.terraformrc",
				"| linked ~/p/terraform-credentials-authos -> /bin/ach",
				"link /h/p/terraform-credentials-authos -> /bin/ach",
				`| state terraform|/h/.terraformrc {"created":true}`,
			},
			data: block},
		{name: "no final newline", plan: func() (plan, error) { return planTerraform(testOpts, in("x = 1", ours, terraformState{})) },
			want: []string{
				`| added credentials_helper "authos" { args = ["--profile", "acme"] } (in ~/.terraformrc)`,
				"write /h/.terraformrc",
				`| state terraform|/h/.terraformrc {"added_newline":true}`,
			},
			data: "x = 1\n" + block},
		{name: "already set up", plan: func() (plan, error) { return planTerraform(testOpts, in(block, ours, terraformState{Created: true})) },
			want: []string{`| state terraform|/h/.terraformrc {"created":true}`}},
		{name: "another block", plan: func() (plan, error) {
			return planTerraform(testOpts, in("credentials_helper \"x\" {}\n", missing, terraformState{}))
		},
			wantErr: "allows only one"},
		{name: "a file in the way", plan: func() (plan, error) { return planTerraform(testOpts, in("", file, terraformState{})) },
			wantErr: "--force"},
		{name: "unterminated block", plan: func() (plan, error) { return planTerraform(testOpts, in(tfBegin+"\n", missing, terraformState{})) },
			wantErr: "has no"},
		{name: "undo", plan: func() (plan, error) {
			return planTerraform(undoOpts(), in(block, ours, terraformState{Created: true, CreatedDirs: []string{"/h/p"}}))
		},
			want: []string{
				`| removed the credentials_helper "authos" block (in ~/.terraformrc)`,
				"remove /h/.terraformrc | removed ~/.terraformrc, which setup created and is now empty",
				"unlink /h/p/terraform-credentials-authos | removed the link ~/p/terraform-credentials-authos",
				`rmdirs | state terraform|/h/.terraformrc {"created_dirs":["/h/p"]}`,
			}},
	})
}

func TestPlanGit(t *testing.T) {
	const file = "/h/.gitconfig"
	in := func(existed bool, urls map[string]gitURLNow, fst gitFileState) gitIn {
		var prefixes []string
		for _, u := range []string{"https://g.example/", "https://c.example/team/"} {
			if _, ok := urls[u]; ok {
				prefixes = append(prefixes, u)
			}
		}
		return gitIn{file: file, existed: existed, helper: "authos", prefixes: prefixes, urls: urls, fileSt: fst}
	}
	const where = " (in ~/.gitconfig)"
	setLine := func(u string) string {
		return "git " + file + " --add credential." + u + ".helper authos | set credential." + u + ".helper = authos, after an empty value that resets helpers configured elsewhere" + where
	}
	prev := "false"
	checkPlans(t, []planCase{
		{name: "new file", plan: func() (plan, error) {
			return planGit(testOpts, in(false, map[string]gitURLNow{"https://g.example/": {}, "https://c.example/team/": {}}, gitFileState{}))
		},
			want: []string{
				"git " + file + " --unset-all credential.https://g.example/.helper ^(authos( --profile .*)?)?$",
				"git " + file + " --add credential.https://g.example/.helper \"\"",
				setLine("https://g.example/"),
				"git " + file + " --unset-all credential.https://c.example/team/.helper ^(authos( --profile .*)?)?$",
				"git " + file + " --add credential.https://c.example/team/.helper \"\"",
				setLine("https://c.example/team/"),
				"git " + file + " credential.https://c.example/team/.useHttpPath true | set credential.https://c.example/team/.useHttpPath = true" + where +
					` | state git|/h/.gitconfig|https://c.example/team/ {"use_http_path_set":true}`,
				`adopt /h/.gitconfig | state git|/h/.gitconfig {"created":true}`,
			}},
		{name: "done", plan: func() (plan, error) {
			return planGit(testOpts, in(true, map[string]gitURLNow{
				"https://g.example/":      {helpers: []string{"", "authos"}},
				"https://c.example/team/": {helpers: []string{"", "authos"}, useHTTPPath: "true", useHTTPPathSet: true},
			}, gitFileState{}))
		}},
		{name: "useHttpPath was false", plan: func() (plan, error) {
			return planGit(testOpts, in(true, map[string]gitURLNow{
				"https://c.example/team/": {helpers: []string{"", "authos"}, useHTTPPath: "false", useHTTPPathSet: true, raw: "no"},
			}, gitFileState{}))
		},
			want: []string{"git " + file + " credential.https://c.example/team/.useHttpPath true | set credential.https://c.example/team/.useHttpPath = true" + where +
				` | state git|/h/.gitconfig|https://c.example/team/ {"use_http_path_set":true,"prev_use_http_path":"no"}`}},
		{name: "another helper", plan: func() (plan, error) {
			return planGit(testOpts, in(true, map[string]gitURLNow{"https://g.example/": {helpers: []string{"store"}}}, gitFileState{}))
		}, wantErr: `already has "store"`},
		{name: "another helper, forced", plan: func() (plan, error) {
			return planGit(forceOpts(), in(true, map[string]gitURLNow{"https://g.example/": {helpers: []string{"store"}}}, gitFileState{}))
		},
			want: []string{
				"git " + file + " --unset-all credential.https://g.example/.helper ^(authos( --profile .*)?)?$",
				"git " + file + " --add credential.https://g.example/.helper \"\"",
				setLine("https://g.example/"),
			}},
		{name: "undo", plan: func() (plan, error) {
			return planGit(undoOpts(), in(true, map[string]gitURLNow{
				"https://g.example/": {helpers: []string{"", "authos"}},
				"https://c.example/team/": {helpers: []string{"", "authos"}, useHTTPPath: "true", useHTTPPathSet: true,
					st: gitURLState{UseHTTPPathSet: true, PrevUseHTTPPath: &prev}, hasSt: true},
			}, gitFileState{Created: true}))
		},
			want: []string{
				"git " + file + " --unset-all credential.https://g.example/.helper ^(authos)?$ | removed credential.https://g.example/.helper = authos and its empty reset value" + where,
				"drop-section https://g.example/",
				"git " + file + " --unset-all credential.https://c.example/team/.helper ^(authos)?$ | removed credential.https://c.example/team/.helper = authos and its empty reset value" + where,
				"git " + file + " credential.https://c.example/team/.useHttpPath false | restored credential.https://c.example/team/.useHttpPath = false" + where,
				"| state git|/h/.gitconfig|https://c.example/team/ null",
				"drop-section https://c.example/team/",
				"remove-if-blank /h/.gitconfig | removed ~/.gitconfig, which setup created and is now empty",
				"| state git|/h/.gitconfig null",
			}},
		{name: "undo, nothing of ours", plan: func() (plan, error) {
			return planGit(undoOpts(), in(true, map[string]gitURLNow{"https://g.example/": {helpers: []string{"store"}}}, gitFileState{}))
		}},
	})
}
