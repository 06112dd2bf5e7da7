package cli

import (
	"context"
	"encoding/json"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/authos/authos-credential-helper/cache/keyring"
)

// notYetWired are definitions whose command another change adds to Main;
// once it is there, the checks below cover it like any other.
var notYetWired = map[string]string{"doctor": "issue 11 adds internal/cli/doctor.go"}

// paths is every command and subcommand in the definitions.
func paths() [][]string {
	var out [][]string
	for _, c := range commands {
		out = append(out, []string{c.name})
		for _, s := range c.subs {
			out = append(out, []string{c.name, s.name})
		}
	}
	return out
}

// TestDefinitionsMatchFlagSets runs each command with --help behind Main's
// own help handling, catches the FlagSet it parses, and checks it against
// its definition both ways: the same flags, bool or not, the same default
// and the same help text. So --help (and the completions and the man page)
// shows exactly what the command parses.
func TestDefinitionsMatchFlagSets(t *testing.T) {
	t.Setenv("AUTHOS_SERVER", "") // dev-server control's default
	for _, path := range paths() {
		t.Run(strings.Join(path, " "), func(t *testing.T) {
			var seen []*flag.FlagSet
			sawFlagSet = func(fs *flag.FlagSet) { seen = append(seen, fs) }
			t.Cleanup(func() { sawFlagSet = nil })
			w := newTestWorld(t, "")
			var out, errb strings.Builder
			env := Env{Args: []string{prog}, Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errb, Getenv: w.getenv, Paths: w.paths}
			code := run(context.Background(), env, path[0], append(slices.Clone(path[1:]), "--help"))
			if why, ok := notYetWired[path[0]]; ok && strings.Contains(errb.String(), "unknown command") {
				t.Logf("%s is not in Main yet (%s): its definition is checked once it is", path[0], why)
				return
			}
			if strings.Contains(errb.String(), "unknown command") {
				t.Fatalf("Main does not know %q, but it has a definition (exit %d)", path[0], code)
			}
			c := lookup(path...)
			want := map[string]flagDef{}
			for _, f := range c.allFlags() {
				if _, dup := want[f.name]; dup {
					t.Errorf("--%s is defined twice", f.name)
				}
				want[f.name] = f
			}
			got := map[string]*flag.Flag{}
			if len(seen) > 0 {
				seen[len(seen)-1].VisitAll(func(f *flag.Flag) { got[f.Name] = f })
			}
			for name, f := range got {
				d, ok := want[name]
				if !ok {
					t.Errorf("the command parses --%s, which its definition in commands.go lacks", name)
					continue
				}
				isBool := false
				if bf, ok := f.Value.(interface{ IsBoolFlag() bool }); ok {
					isBool = bf.IsBoolFlag()
				}
				if isBool != (d.arg == "") {
					t.Errorf("--%s: bool flag %v, but its definition has arg %q", name, isBool, d.arg)
				}
				def := d.def
				if isBool && def == "" {
					def = "false"
				}
				if f.DefValue != def {
					t.Errorf("--%s: default %q, definition says %q", name, f.DefValue, def)
				}
				if _, usage := flag.UnquoteUsage(f); usage != d.help {
					t.Errorf("--%s: help %q, definition says %q", name, usage, d.help)
				}
			}
			for name := range want {
				if got[name] == nil {
					t.Errorf("the definition has --%s, which the command does not parse", name)
				}
			}
		})
	}
}

// TestSynopsisNamesOnlyItsFlags: a --flag in a command's synopsis is one
// it shows.
func TestSynopsisNamesOnlyItsFlags(t *testing.T) {
	for _, path := range paths() {
		c := lookup(path...)
		for _, word := range strings.FieldsFunc(c.args, func(r rune) bool { return strings.ContainsRune(" []|.", r) }) {
			name, ok := strings.CutPrefix(word, "--")
			if !ok {
				continue
			}
			if !slices.ContainsFunc(c.shownFlags(), func(f flagDef) bool { return f.name == name }) {
				t.Errorf("%s: synopsis %q names --%s, which is not one of its flags", strings.Join(path, " "), c.args, name)
			}
		}
	}
}

func runMain(t *testing.T, w *testWorld, args ...string) (int, string, string) {
	t.Helper()
	return w.run(t, "", append([]string{prog}, args...)...)
}

// TestHelpForms: `help X`, `X --help` and `X -h` print the same text on
// stdout and exit 0, for every command and subcommand.
func TestHelpForms(t *testing.T) {
	w := newTestWorld(t, "")
	for _, path := range paths() {
		name := strings.Join(path, " ")
		code, want, stderr := runMain(t, w, append([]string{"help"}, path...)...)
		if code != ExitOK || stderr != "" || !strings.HasPrefix(want, "usage: "+prog+" "+name) {
			t.Errorf("help %s: exit %d, stderr %q, stdout %q", name, code, stderr, want)
			continue
		}
		for _, form := range []string{"--help", "-h", "-help"} {
			code, got, stderr := runMain(t, w, append(slices.Clone(path), form)...)
			if code != ExitOK || stderr != "" || got != want {
				t.Errorf("%s %s: exit %d, stderr %q, stdout differs from help %s:\n%s", name, form, code, stderr, name, got)
			}
		}
		c := lookup(path...)
		for _, f := range c.shownFlags() {
			if !strings.Contains(want, "--"+f.name) {
				t.Errorf("help %s does not show --%s", name, f.name)
			}
		}
		for _, v := range c.verbs {
			if !strings.Contains(want, "  "+v.name+" ") {
				t.Errorf("help %s does not show the verb %s", name, v.name)
			}
		}
	}
	// A help flag after other flags and words is help too.
	code, got, _ := runMain(t, w, "setup", "git", "--profile", "x", "--help")
	if _, want, _ := runMain(t, w, "help", "setup"); code != ExitOK || got != want {
		t.Errorf("setup git --profile x --help: exit %d, %q", code, got)
	}
}

func TestTopLevelUsage(t *testing.T) {
	w := newTestWorld(t, "")
	code, stdout, usage := runMain(t, w)
	if code != ExitUsage || stdout != "" {
		t.Fatalf("no arguments: exit %d, stdout %q", code, stdout)
	}
	for _, args := range [][]string{{"help"}, {"--help"}, {"-h"}} {
		code, got, stderr := runMain(t, w, args...)
		if code != ExitOK || stderr != "" || got != usage {
			t.Errorf("%v: exit %d, stderr %q, stdout %q; want the usage", args, code, stderr, got)
		}
	}
	for _, c := range commands {
		listed := strings.Contains(usage, "\n  "+c.name+" ")
		if listed == c.hidden {
			t.Errorf("usage lists %s: %v, hidden: %v", c.name, listed, c.hidden)
		}
	}
	for _, args := range [][]string{{"help", "nope"}, {"help", "status", "extra"}, {"help", "git", "get", "more"}} {
		if code, _, stderr := runMain(t, w, args...); code != ExitUsage || !strings.Contains(stderr, "no command") {
			t.Errorf("%v: exit %d, stderr %q; want a usage error", args, code, stderr)
		}
	}
}

// TestClientNameHelp: the client names print help for a sole -h/--help
// (docker as docker-credential-helpers' own helpers do), which no client
// ever sends; anything else is still the protocol.
func TestClientNameHelp(t *testing.T) {
	w := newTestWorld(t, "")
	_, gitHelp, _ := runMain(t, w, "help", "git")
	_, tfHelp, _ := runMain(t, w, "help", "terraform")
	for _, tc := range []struct {
		args   []string
		code   int
		stdout string
	}{
		{[]string{"git-credential-authos", "--help"}, ExitOK, gitHelp},
		{[]string{"git-credential-authos", "-h"}, ExitOK, gitHelp},
		{[]string{"terraform-credentials-authos", "--help"}, ExitOK, tfHelp},
		{[]string{"docker-credential-authos", "--help"}, ExitOK, dockerUsage + "\n"},
		{[]string{"docker-credential-authos", "-h"}, ExitOK, dockerUsage + "\n"},
		{[]string{"docker-credential-authos", "get", "--help"}, ExitUsage, ""},
		{[]string{"git-credential-authos", "capabilities"}, ExitOK, ""},
	} {
		code, stdout, _ := w.run(t, "", tc.args...)
		if code != tc.code || stdout != tc.stdout {
			t.Errorf("%v: exit %d, stdout %q; want %d, %q", tc.args, code, stdout, tc.code, tc.stdout)
		}
	}
}

func TestVersionJSON(t *testing.T) {
	w := newTestWorld(t, "")
	code, stdout, stderr := runMain(t, w, "version", "--json")
	if code != ExitOK || stderr != "" {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
	var v map[string]any
	if err := json.Unmarshal([]byte(stdout), &v); err != nil {
		t.Fatalf("%v: %s", err, stdout)
	}
	backends := keyring.CompiledBackends()
	want := map[string]any{
		"go_version": runtime.Version(), "platform": runtime.GOOS + "/" + runtime.GOARCH,
		"keychain": slices.Contains(backends, "keychain"),
	}
	for k, val := range want {
		if v[k] != val {
			t.Errorf("%s = %v, want %v", k, v[k], val)
		}
	}
	got, _ := json.Marshal(v["backends"])
	if exp, _ := json.Marshal(backends); string(got) != string(exp) {
		t.Errorf("backends = %s, want %s", got, exp)
	}
	for _, k := range []string{"version", "commit"} {
		if s, _ := v[k].(string); s == "" {
			t.Errorf("%s is empty: %s", k, stdout)
		}
	}
	if code, _, _ := runMain(t, w, "version", "--nope"); code != ExitUsage {
		t.Errorf("version --nope: exit %d", code)
	}
}

// TestBadFlagIsOneLine: a person's command with a bad flag writes one line.
func TestBadFlagIsOneLine(t *testing.T) {
	w := newTestWorld(t, "")
	for _, cmd := range []string{"status", "login", "setup", "version", "completion"} {
		code, _, stderr := runMain(t, w, cmd, "--nope")
		if code != ExitUsage || strings.Count(stderr, "\n") != 1 || !strings.Contains(stderr, "-nope") {
			t.Errorf("%s --nope: exit %d, stderr %q", cmd, code, stderr)
		}
	}
}

const profilesConfig = `default_profile = "acme"
[profiles.acme]
server = "https://sso.acme.example"
org = "acme"
service = "cli"
client_id = "acme-cli"
[profiles.platform]
server = "https://sso.acme.example"
org = "platform"
service = "admin-cli"
client_id = "platform-admin-cli"
`

func TestCompleteProfiles(t *testing.T) {
	w := newTestWorld(t, profilesConfig)
	if code, stdout, _ := runMain(t, w, "__complete", "profiles"); code != ExitOK || stdout != "acme\nplatform\n" {
		t.Errorf("exit %d, stdout %q", code, stdout)
	}
	broken := newTestWorld(t, "nonsense = [")
	if code, stdout, stderr := runMain(t, broken, "__complete", "profiles"); code != ExitOK || stdout != "" || stderr != "" {
		t.Errorf("broken config: exit %d, stdout %q, stderr %q; want nothing", code, stdout, stderr)
	}
}

// completionScript writes `completion SHELL` to a file, and a stand-in
// for the binary on PATH that answers `__complete profiles`.
func completionScript(t *testing.T, shell string) (script string, env []string) {
	t.Helper()
	w := newTestWorld(t, "")
	code, stdout, stderr := runMain(t, w, "completion", shell)
	if code != ExitOK || stderr != "" {
		t.Fatalf("completion %s: exit %d, stderr %q", shell, code, stderr)
	}
	dir := t.TempDir()
	script = filepath.Join(dir, "completion."+shell)
	if err := os.WriteFile(script, []byte(stdout), 0o600); err != nil {
		t.Fatal(err)
	}
	stub := "#!/bin/sh\n[ \"$1 $2\" = \"__complete profiles\" ] && printf 'acme\\nplatform\\n'\n"
	if err := os.WriteFile(filepath.Join(dir, prog), []byte(stub), 0o755); err != nil {
		t.Fatal(err)
	}
	return script, []string{"PATH=" + dir + ":" + os.Getenv("PATH"), "HOME=" + t.TempDir()}
}

func shellPath(t *testing.T, shell string) string {
	t.Helper()
	p, err := exec.LookPath(shell)
	if err != nil {
		t.Fatalf("%s is needed for this test (apt-get install %s): %v", shell, shell, err)
	}
	return p
}

func TestBashCompletion(t *testing.T) {
	bash := shellPath(t, "bash")
	script, env := completionScript(t, "bash")
	if out, err := exec.Command(bash, "-n", script).CombinedOutput(); err != nil {
		t.Fatalf("bash -n: %v\n%s", err, out)
	}
	for _, tc := range []struct{ line, want string }{
		{"lo", "login logout"},
		{"", strings.Join(visibleNames(), " ")},
		{"st", "status"},
		{"status --", "--json --check"},
		{"git --p", "--profile"},
		{"git ", "get store erase"},
		{"git get ", ""},
		{"git --profile ", "acme platform"},
		{"token --profile p", "platform"},
		{"token --server ", ""},
		{"setup d", "docker"},
		{"setup --dry-run t", "terraform tofu"},
		{"setup docker --c", "--creds-store --context"},
		{"dev-server co", "control"},
		{"dev-server control r", "rotate-key"},
		{"dev-server control --u", "--user"},
		{"completion ", "bash zsh fish"},
		{"help dev", "dev-server"},
		{"docker ", "get store erase list version"},
		{"man ", ""},
	} {
		words := append([]string{prog}, strings.Split(tc.line, " ")...)
		quoted := make([]string, len(words))
		for i, w := range words {
			quoted[i] = "'" + w + "'"
		}
		cmd := exec.Command(bash, "-c", `source "$0"; COMP_WORDS=(`+strings.Join(quoted, " ")+`); COMP_CWORD=$((${#COMP_WORDS[@]}-1)); _authos_credential_helper; echo "${COMPREPLY[*]}"`, script)
		cmd.Env = env
		out, err := cmd.CombinedOutput()
		if got := strings.TrimSpace(string(out)); err != nil || got != tc.want {
			t.Errorf("%q: got %q (%v), want %q", tc.line, got, err, tc.want)
		}
	}
}

// zshDriver types into an interactive zsh on a pty: `zsh -f DRIVER DIR
// PATTERN KEYS...` puts DIR on $fpath, types each KEYS once the answer to
// the one before has arrived, and exits 0 when PATTERN shows on the
// terminal (Ctrl-X prints BUF[the line]), 1 after 5 s.
const zshDriver = `zmodload zsh/zpty zsh/datetime zsh/zselect
local dir=$1 pat=$2; shift 2
zpty z zsh -f -i
zpty -w z "fpath=($dir \$fpath); autoload -Uz compinit; compinit -u -D; show() { zle -I; print -r -- \"BUF[\$BUFFER]\" }; zle -N show; bindkey '^X' show; PS1='READY>'"
local all= chunk deadline=$(( EPOCHREALTIME + 5 )) fresh=0
while (( EPOCHREALTIME < deadline )); do
  if zpty -r -t z chunk; then all+=$chunk; fresh=1; continue; fi
  if [[ $all == *${~pat}* ]]; then zpty -d z; exit 0; fi
  if (( fresh && $# )) && [[ $all == *READY\>* ]]; then zpty -n -w z "$1"; shift; fresh=0; fi
  zselect -t 1
done
print -r -- "$all"; zpty -d z; exit 1
`

func TestZshCompletion(t *testing.T) {
	zsh := shellPath(t, "zsh")
	script, env := completionScript(t, "zsh")
	if out, err := exec.Command(zsh, "-n", script).CombinedOutput(); err != nil {
		t.Fatalf("zsh -n: %v\n%s", err, out)
	}
	// Sourced, it registers itself for the command.
	cmd := exec.Command(zsh, "-f", "-c", `autoload -Uz compinit && compinit -u -D && source "$0" && print -r -- $_comps[`+prog+`]`, script)
	cmd.Env = env
	out, err := cmd.CombinedOutput()
	if got := strings.TrimSpace(string(out)); err != nil || got != "_"+prog {
		t.Errorf("loading under compinit: %q (%v)", got, err)
	}
	// Autoloaded from $fpath under its own name, as packages install it,
	// it completes in a real zsh: Tab twice lists, Tab once completes.
	fpath := t.TempDir()
	text, err := os.ReadFile(script)
	if err != nil {
		t.Fatal(err)
	}
	driver := filepath.Join(fpath, "driver.zsh")
	if err := os.WriteFile(filepath.Join(fpath, "_"+prog), text, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(driver, []byte(zshDriver), 0o600); err != nil {
		t.Fatal(err)
	}
	const ctrlX = "\x18"
	for _, tc := range []struct {
		pattern string
		keys    []string
	}{
		{"*login*logout*", []string{prog + " lo\t", "\t"}},
		{"*get*store*erase*", []string{prog + " git \t", "\t"}},
		{`BUF\[` + prog + ` setup docker \]`, []string{prog + " setup d\t", ctrlX}},
		{`BUF\[` + prog + ` docker list \]`, []string{prog + " docker l\t", ctrlX}},
		{`BUF\[` + prog + ` help dev-server \]`, []string{prog + " help dev\t", ctrlX}},
		{`BUF\[` + prog + ` status --json \]`, []string{prog + " status --j\t", ctrlX}},
		{`BUF\[` + prog + ` dev-server control rotate-key \]`, []string{prog + " dev-server control r\t", ctrlX}},
		{`BUF\[` + prog + ` token --profile platform \]`, []string{prog + " token --profile p\t", ctrlX}},
	} {
		cmd := exec.Command(zsh, append([]string{"-f", driver, fpath, tc.pattern}, tc.keys...)...)
		cmd.Env = env
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("%q: %s not seen (%v); the terminal showed:\n%q", tc.keys, tc.pattern, err, out)
		}
	}
}

func TestFishCompletion(t *testing.T) {
	fish := shellPath(t, "fish")
	script, env := completionScript(t, "fish")
	if out, err := exec.Command(fish, "-n", script).CombinedOutput(); err != nil {
		t.Fatalf("fish -n: %v\n%s", err, out)
	}
	for _, tc := range []struct{ line, want string }{
		{"lo", "login logout"},
		{"git ", "get store erase"},
		{"git get ", ""},
		{"status --", "--json --check"},
		{"token --profile ", "acme platform"},
		{"dev-server ", "control"},
		{"dev-server control ", "approve mfa-complete deny expire rotate-key drop-previous-keys"},
		{"setup ", "git docker kube terraform tofu"},
	} {
		cmd := exec.Command(fish, "--no-config", "-c", `source $argv[1]; complete -C $argv[2]`, script, prog+" "+tc.line)
		cmd.Env = env
		out, err := cmd.CombinedOutput()
		var got []string
		for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
			if f, _, _ := strings.Cut(l, "\t"); f != "" {
				got = append(got, f)
			}
		}
		want := strings.Fields(tc.want)
		slices.Sort(got)
		slices.Sort(want)
		if err != nil || !slices.Equal(got, want) {
			t.Errorf("%q: got %q (%v), want %q", tc.line, got, err, want)
		}
	}
}

// TestManPage renders the page with man and groff: no warnings, every
// section, every command with its flags.
func TestManPage(t *testing.T) {
	groff := shellPath(t, "groff")
	man := shellPath(t, "man")
	w := newTestWorld(t, "")
	code, page, stderr := runMain(t, w, "man")
	if code != ExitOK || stderr != "" {
		t.Fatalf("man: exit %d, stderr %q", code, stderr)
	}
	file := filepath.Join(t.TempDir(), prog+".1")
	if err := os.WriteFile(file, []byte(page), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(groff, "-man", "-Tutf8", "-ww", "-z", file).CombinedOutput(); err != nil || len(out) > 0 {
		t.Errorf("groff warns: %v\n%s", err, out)
	}
	cmd := exec.Command(man, "-l", file)
	cmd.Env = []string{"MANWIDTH=200", "MANPAGER=cat", "PAGER=cat", "PATH=" + os.Getenv("PATH")}
	out, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	text := string(out)
	for _, s := range []string{"NAME", "SYNOPSIS", "DESCRIPTION", "COMMANDS", "IDENTITY FLAGS", "ENVIRONMENT", "FILES", "EXIT STATUS", "SEE ALSO"} {
		if !strings.Contains(text, "\n"+s+"\n") {
			t.Errorf("no section %s", s)
		}
	}
	for _, path := range paths() {
		c := lookup(path...)
		name := strings.Join(path, " ")
		if c.hidden != !strings.Contains(text, "   "+name+" ") {
			t.Errorf("command %q: shown %v, hidden %v", name, !c.hidden, c.hidden)
		}
		if c.hidden {
			continue
		}
		for _, f := range c.shownFlags() {
			if !strings.Contains(text, "--"+f.name) {
				t.Errorf("%s: no --%s", name, f.name)
			}
		}
	}
	for _, e := range environment {
		if !strings.Contains(text, e.name) {
			t.Errorf("no %s in ENVIRONMENT", e.name)
		}
	}
}
