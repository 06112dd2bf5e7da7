package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// The built binary's help, completions and man page, as a person (or a
// package's post-install) meets them.

// listedCommands is the command column of the usage text.
func listedCommands(t *testing.T, usage string) []string {
	t.Helper()
	_, list, ok := strings.Cut(usage, "\ncommands:\n")
	if !ok {
		t.Fatalf("no command list in the usage:\n%s", usage)
	}
	list, _, _ = strings.Cut(list, "\n\n")
	var names []string
	for _, l := range strings.Split(list, "\n") {
		if strings.HasPrefix(l, "  ") && !strings.HasPrefix(l, "   ") {
			names = append(names, strings.Fields(l)[0])
		}
	}
	return names
}

func TestHelpOfEveryCommand(t *testing.T) {
	t.Parallel()
	s := newSandbox(t, "")
	usage, stderr, code := s.run(t, "help")
	if code != 0 || stderr != "" {
		t.Fatalf("help: exit %d, stderr %q", code, stderr)
	}
	names := listedCommands(t, usage)
	if len(names) < 10 {
		t.Fatalf("usage lists only %v", names)
	}
	for _, name := range names {
		want, _, code := s.run(t, "help", name)
		if code != 0 || !strings.HasPrefix(want, "usage: authos-credential-helper "+name) {
			t.Errorf("help %s: exit %d, %q", name, code, want)
			continue
		}
		for _, form := range []string{"--help", "-h"} {
			if got, stderr, code := s.run(t, name, form); code != 0 || stderr != "" || got != want {
				t.Errorf("%s %s: exit %d, stderr %q, stdout %q; want the text of help %s", name, form, code, stderr, got, name)
			}
		}
	}
	// The client names keep their protocols; a sole --help is help.
	dir := t.TempDir()
	for _, n := range []string{"docker-credential-authos", "git-credential-authos"} {
		if err := os.Symlink(bin, filepath.Join(dir, n)); err != nil {
			t.Fatal(err)
		}
	}
	out, err := exec.Command(filepath.Join(dir, "docker-credential-authos"), "--help").Output()
	if err != nil || string(out) != "Usage: docker-credential-authos <store|get|erase|list|version>\n" {
		t.Errorf("docker-credential-authos --help: %q (%v)", out, err)
	}
	gitHelp, _, _ := s.run(t, "help", "git")
	out, err = exec.Command(filepath.Join(dir, "git-credential-authos"), "--help").Output()
	if err != nil || string(out) != gitHelp {
		t.Errorf("git-credential-authos --help: %q (%v)", out, err)
	}
}

// TestBashCompletionOfTheBinary sources `completion bash` with the binary
// on PATH under its own name: commands, and the profile names the binary
// reads from the sandbox's config.toml.
func TestBashCompletionOfTheBinary(t *testing.T) {
	t.Parallel()
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Fatalf("bash is needed: %v", err)
	}
	s := newSandbox(t, "")
	s.writeConfig(t, `[profiles.acme]
server = "https://sso.acme.example"
org = "acme"
service = "cli"
client_id = "acme-cli"
[profiles.platform]
server = "https://sso.acme.example"
org = "platform"
service = "admin-cli"
client_id = "platform-admin-cli"
`)
	dir := t.TempDir()
	if err := os.Symlink(bin, filepath.Join(dir, "authos-credential-helper")); err != nil {
		t.Fatal(err)
	}
	s.env["PATH"] = dir + ":" + s.env["PATH"]
	for _, tc := range []struct{ words, want string }{
		{"lo", "login logout"},
		{"token --profile ''", "acme platform"},
		{"setup git --", "--undo --dry-run --force --creds-store --profile --context"},
	} {
		script := `source <(authos-credential-helper completion bash); COMP_WORDS=(authos-credential-helper ` + tc.words +
			`); COMP_CWORD=$((${#COMP_WORDS[@]}-1)); _authos_credential_helper; echo "${COMPREPLY[*]}"`
		cmd := exec.Command(bash, "-c", script)
		cmd.Env = s.environ()
		out, err := cmd.CombinedOutput()
		if got := strings.TrimSpace(string(out)); err != nil || got != tc.want {
			t.Errorf("%s: %q (%v), want %q", tc.words, got, err, tc.want)
		}
	}
}

// TestManPageRenders: `man` is a page man(1) renders, with every command
// the usage lists.
func TestManPageRenders(t *testing.T) {
	t.Parallel()
	s := newSandbox(t, "")
	page, stderr, code := s.run(t, "man")
	if code != 0 || stderr != "" {
		t.Fatalf("man: exit %d, stderr %q", code, stderr)
	}
	file := filepath.Join(t.TempDir(), "authos-credential-helper.1")
	if err := os.WriteFile(file, []byte(page), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("man", "-l", file)
	cmd.Env = []string{"MANWIDTH=200", "MANPAGER=cat", "PATH=" + os.Getenv("PATH")}
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("man -l: %v", err)
	}
	usage, _, _ := s.run(t, "help")
	for _, name := range listedCommands(t, usage) {
		if !strings.Contains(string(out), "\n   "+name+" ") {
			t.Errorf("the man page has no section for %s", name)
		}
	}
}
