package setup

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
)

// gitFileState is what undo needs to know about the global config file.
type gitFileState struct {
	Created bool `json:"created,omitempty"` // setup created it
}

// gitURLState is what setup did to one URL's section besides the helper.
type gitURLState struct {
	UseHTTPPathSet  bool    `json:"use_http_path_set,omitempty"`
	PrevUseHTTPPath *string `json:"prev_use_http_path,omitempty"` // nil: there was none
}

// gitHelperValue is the credential.<url>.helper value: git runs
// `git credential-<value>`, i.e. the git-credential-authos symlink, through
// the shell; a profile other than the default one is named.
func (r *run) gitHelperValue() string {
	if r.isDef {
		return HelperName
	}
	return HelperName + " --profile " + shellQuote(r.name)
}

// oursLike matches any helper value setup writes, for any profile.
func oursLike(v string) bool {
	return v == "authos" || strings.HasPrefix(v, "authos --profile ")
}

// gitGlobalFile is the file `git config --global` writes: GIT_CONFIG_GLOBAL,
// else ~/.gitconfig, else $XDG_CONFIG_HOME/git/config when only that exists.
func (r *run) gitGlobalFile() string {
	if p := r.Getenv("GIT_CONFIG_GLOBAL"); p != "" {
		return r.expand(p)
	}
	home := filepath.Join(r.home, ".gitconfig")
	if _, err := os.Stat(home); err == nil {
		return home
	}
	xdg := r.Getenv("XDG_CONFIG_HOME")
	if xdg == "" {
		xdg = filepath.Join(r.home, ".config")
	}
	if p := filepath.Join(xdg, "git", "config"); fileExists(p) {
		return p
	}
	return home
}

func fileExists(p string) bool { _, err := os.Stat(p); return err == nil }

// gitConfig runs `git config --global args...` and returns its stdout
// without the final newline and its exit code; exit codes other than 0 are
// not errors (1: no such key), failures to run git are.
func (r *run) gitConfig(ctx context.Context, args ...string) (string, int, error) {
	cmd := exec.CommandContext(ctx, r.Git, append([]string{"config", "--global"}, args...)...)
	cmd.Env = r.Environ
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code := ee.ExitCode()
		if code == 1 || code == 5 {
			return strings.TrimSuffix(out.String(), "\n"), code, nil
		}
		return "", code, fmt.Errorf("git config --global %s: %s", strings.Join(args, " "), strings.TrimSpace(errOut.String()))
	}
	if err != nil {
		return "", 0, fmt.Errorf("running git: %w", err)
	}
	return strings.TrimSuffix(out.String(), "\n"), 0, nil
}

// gitGetAll lists a multi-valued key's values (nil when unset).
func (r *run) gitGetAll(ctx context.Context, key string) ([]string, error) {
	out, code, err := r.gitConfig(ctx, "--get-all", key)
	if err != nil || code != 0 {
		return nil, err
	}
	return strings.Split(out, "\n"), nil
}

// gitSet runs a modifying `git config --global`, after a backup.
func (r *run) gitSet(ctx context.Context, file string, args ...string) error {
	if r.DryRun {
		return nil
	}
	if err := r.backup(file); err != nil {
		return err
	}
	out, code, err := r.gitConfig(ctx, args...)
	if err == nil && code != 0 && args[0] != "--unset-all" && args[0] != "--unset" {
		err = fmt.Errorf("git config --global %s: exit status %d %s", strings.Join(args, " "), code, out)
	}
	return err
}

// needsHTTPPath says whether a URL prefix has a path beyond "/", so that
// git must pass the path on for the right profile to answer.
func needsHTTPPath(prefix string) bool {
	u, err := url.Parse(prefix)
	return err == nil && strings.Trim(u.Path, "/") != ""
}

// gitIn is what the git plan is made from: the global file and, for each
// URL prefix, what `git config --global` says now.
type gitIn struct {
	file     string
	existed  bool
	helper   string // the helper value for this profile
	prefixes []string
	fileSt   gitFileState
	urls     map[string]gitURLNow
}

// gitURLNow is one prefix's settings; useHTTPPath is read when setup may
// set it or undo may restore it, raw when setup would replace it.
type gitURLNow struct {
	helpers        []string // credential.<url>.helper, in order
	useHTTPPath    string   // --type=bool --get credential.<url>.useHttpPath
	useHTTPPathSet bool     // that key is set
	raw            string   // its value as written
	st             gitURLState
	hasSt          bool
}

func (r *run) gitPlan(ctx context.Context) (plan, error) {
	if _, err := exec.LookPath(r.Git); err != nil {
		return nil, fmt.Errorf("setup git: git not found: %w", err)
	}
	file := r.gitGlobalFile()
	in := gitIn{file: file, existed: fileExists(file), helper: r.gitHelperValue(), prefixes: nonEmpty(r.prof.Git), urls: map[string]gitURLNow{}}
	r.state.get("git|"+file, &in.fileSt)
	for _, u := range in.prefixes {
		var now gitURLNow
		var err error
		if now.helpers, err = r.gitGetAll(ctx, "credential."+u+".helper"); err != nil {
			return nil, err
		}
		now.hasSt = r.state.get("git|"+file+"|"+u, &now.st)
		if r.Undo && now.hasSt && now.st.UseHTTPPathSet || !r.Undo && needsHTTPPath(u) {
			cur, code, err := r.gitConfig(ctx, "--type=bool", "--get", "credential."+u+".useHttpPath")
			if err != nil {
				return nil, err
			}
			now.useHTTPPath, now.useHTTPPathSet = cur, code == 0
			if !r.Undo && code == 0 && cur != "true" {
				if now.raw, _, err = r.gitConfig(ctx, "--get", "credential."+u+".useHttpPath"); err != nil {
					return nil, err
				}
			}
		}
		in.urls[u] = now
	}
	return planGit(r.planOpts(), in)
}

// planGit sets up or undoes git for in.prefixes.
func planGit(p planOpts, in gitIn) (plan, error) {
	if p.undo {
		return undoGit(p, in), nil
	}
	return setGit(p, in)
}

// gitCmd is one `git config --global` run on file.
func gitCmd(file string, args ...string) change { return change{act: actGit, path: file, args: args} }

// undoGit removes our helper pair, puts back useHttpPath, drops a section
// left empty and the file if setup created it and it is now blank.
func undoGit(p planOpts, in gitIn) plan {
	file, hv, where, fileKey := in.file, in.helper, p.where(in.file), "git|"+in.file
	git := func(args ...string) change { return gitCmd(file, args...) }
	var pl plan
	for _, u := range in.prefixes {
		now := in.urls[u]
		before := len(pl)
		key := "credential." + u + ".helper"
		if slices.Contains(now.helpers, hv) {
			c := git("--unset-all", key, "^("+quoteERE(hv)+")?$")
			c.verb, c.what = "removed", fmt.Sprintf("%s = %s and its empty reset value %s", key, hv, where)
			pl = append(pl, c)
		}
		if now.hasSt && now.st.UseHTTPPathSet {
			if now.useHTTPPathSet && now.useHTTPPath == "true" {
				var c change
				if now.st.PrevUseHTTPPath == nil {
					c = git("--unset-all", "credential."+u+".useHttpPath")
					c.verb, c.what = "removed", fmt.Sprintf("credential.%s.useHttpPath %s", u, where)
				} else {
					c = git("credential."+u+".useHttpPath", *now.st.PrevUseHTTPPath)
					c.verb, c.what = "restored", fmt.Sprintf("credential.%s.useHttpPath = %s %s", u, *now.st.PrevUseHTTPPath, where)
				}
				pl = append(pl, c)
			}
			pl = append(pl, change{stateKey: fileKey + "|" + u})
		}
		if slices.ContainsFunc(pl[before:], func(c change) bool { return c.verb != "" }) {
			// A section left with no keys at all was ours alone.
			pl = append(pl, change{act: actGitDropSection, args: []string{u}})
		}
	}
	if in.fileSt.Created {
		pl = append(pl, change{act: actRemoveIfBlank, path: file, verb: "removed", what: prettyPath(p.home, file) + ", which setup created and is now empty"},
			change{stateKey: fileKey})
	}
	return pl
}

// setGit adds, for each prefix, an empty helper (which resets those
// configured elsewhere) and then ours, and sets useHttpPath where the
// prefix has a path; another helper stays, before ours, only with --force.
func setGit(p planOpts, in gitIn) (plan, error) {
	file, hv, where, fileKey := in.file, in.helper, p.where(in.file), "git|"+in.file
	git := func(args ...string) change { return gitCmd(file, args...) }
	var pl plan
	want := []string{"", hv}
	for _, u := range in.prefixes {
		now := in.urls[u]
		key := "credential." + u + ".helper"
		vals := now.helpers
		done := len(vals) >= 2 && slices.Equal(vals[len(vals)-2:], want) &&
			!slices.ContainsFunc(vals[:len(vals)-2], func(v string) bool { return v == "" || oursLike(v) })
		if !done {
			var foreign []string
			for _, v := range vals {
				if v != "" && !oursLike(v) {
					foreign = append(foreign, fmt.Sprintf("%q", v))
				}
			}
			if len(foreign) > 0 && !p.force {
				return nil, fmt.Errorf("setup git: %s already has %s %s; our entries would reset it: remove it, or pass --force to add ours after it",
					key, strings.Join(foreign, ", "), where)
			}
			// Drop our own entries (any profile's) and append the pair at
			// the end, so that the reset comes after anything else here.
			set := git("--add", key, hv)
			set.verb, set.what = "set", fmt.Sprintf("%s = %s, after an empty value that resets helpers configured elsewhere %s", key, hv, where)
			pl = append(pl, git("--unset-all", key, `^(authos( --profile .*)?)?$`), git("--add", key, ""), set)
		}
		if needsHTTPPath(u) && (!now.useHTTPPathSet || now.useHTTPPath != "true") {
			c := git("credential."+u+".useHttpPath", "true")
			c.verb, c.what = "set", fmt.Sprintf("credential.%s.useHttpPath = true %s", u, where)
			if !now.hasSt || !now.st.UseHTTPPathSet {
				var prev *string
				if now.useHTTPPathSet {
					prev = &now.raw
				}
				c.stateKey, c.state = fileKey+"|"+u, gitURLState{UseHTTPPathSet: true, PrevUseHTTPPath: prev}
			}
			pl = append(pl, c)
		}
	}
	if len(pl) > 0 && !in.existed {
		pl = append(pl, change{act: actAdoptNew, path: file, stateKey: fileKey, state: gitFileState{Created: true}})
	}
	return pl, nil
}

// quoteERE escapes s for a POSIX extended regular expression.
func quoteERE(s string) string {
	var b strings.Builder
	for _, c := range s {
		if strings.ContainsRune(`\.[]()*+?{}|^$`, c) {
			b.WriteByte('\\')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// shellQuote quotes s for sh when it needs it.
func shellQuote(s string) string {
	if s != "" && strings.IndexFunc(s, func(c rune) bool {
		return !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.ContainsRune("-_.,:/@+=", c))
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
