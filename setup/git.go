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

func (r *run) git(ctx context.Context) error {
	if _, err := exec.LookPath(r.Git); err != nil {
		return fmt.Errorf("setup git: git not found: %w", err)
	}
	file := r.gitGlobalFile()
	where := "(in " + r.pretty(file) + ")"
	existed := fileExists(file)
	hv := r.gitHelperValue()
	want := []string{"", hv}
	fileKey := "git|" + file
	var fst gitFileState
	r.state.get(fileKey, &fst)

	prefixes := nonEmpty(r.prof.Git)
	if r.Undo {
		return r.gitUndo(ctx, file, where, prefixes, hv, fileKey, fst)
	}

	// Plan first, so that a refusal changes nothing.
	type step struct {
		url         string
		helper      bool
		httpPath    bool
		prevUseHTTP *string
	}
	var steps []step
	for _, u := range prefixes {
		key := "credential." + u + ".helper"
		vals, err := r.gitGetAll(ctx, key)
		if err != nil {
			return err
		}
		s := step{url: u}
		done := len(vals) >= 2 && slices.Equal(vals[len(vals)-2:], want) &&
			!slices.ContainsFunc(vals[:len(vals)-2], func(v string) bool { return v == "" || oursLike(v) })
		if !done {
			var foreign []string
			for _, v := range vals {
				if v != "" && !oursLike(v) {
					foreign = append(foreign, fmt.Sprintf("%q", v))
				}
			}
			if len(foreign) > 0 && !r.Force {
				return fmt.Errorf("setup git: %s already has %s %s; our entries would reset it: remove it, or pass --force to add ours after it",
					key, strings.Join(foreign, ", "), where)
			}
			s.helper = true
		}
		if needsHTTPPath(u) {
			cur, code, err := r.gitConfig(ctx, "--type=bool", "--get", "credential."+u+".useHttpPath")
			if err != nil {
				return err
			}
			if code != 0 || cur != "true" {
				s.httpPath = true
				if code == 0 {
					raw, _, err := r.gitConfig(ctx, "--get", "credential."+u+".useHttpPath")
					if err != nil {
						return err
					}
					s.prevUseHTTP = &raw
				}
			}
		}
		steps = append(steps, s)
	}

	for _, s := range steps {
		key := "credential." + s.url + ".helper"
		if s.helper {
			// Drop our own entries (any profile's) and append the pair at
			// the end, so that the reset comes after anything else here.
			if err := r.gitSet(ctx, file, "--unset-all", key, `^(authos( --profile .*)?)?$`); err != nil {
				return err
			}
			if err := r.gitSet(ctx, file, "--add", key, ""); err != nil {
				return err
			}
			if err := r.gitSet(ctx, file, "--add", key, hv); err != nil {
				return err
			}
			r.change("set", "%s = %s, after an empty value that resets helpers configured elsewhere %s", key, hv, where)
		}
		if s.httpPath {
			if err := r.gitSet(ctx, file, "credential."+s.url+".useHttpPath", "true"); err != nil {
				return err
			}
			if !r.DryRun {
				urlKey := "git|" + file + "|" + s.url
				var ust gitURLState
				if !r.state.get(urlKey, &ust) || !ust.UseHTTPPathSet {
					r.state.put(urlKey, gitURLState{UseHTTPPathSet: true, PrevUseHTTPPath: s.prevUseHTTP})
				}
			}
			r.change("set", "credential.%s.useHttpPath = true %s", s.url, where)
		}
	}
	if !r.DryRun && r.changed > 0 && !existed && fileExists(file) {
		if err := os.Chmod(file, 0o600); err != nil {
			return err
		}
		r.state.put(fileKey, gitFileState{Created: true})
	}
	return nil
}

func (r *run) gitUndo(ctx context.Context, file, where string, prefixes []string, hv, fileKey string, fst gitFileState) error {
	for _, u := range prefixes {
		before := r.changed
		key := "credential." + u + ".helper"
		vals, err := r.gitGetAll(ctx, key)
		if err != nil {
			return err
		}
		if slices.Contains(vals, hv) {
			if err := r.gitSet(ctx, file, "--unset-all", key, "^("+quoteERE(hv)+")?$"); err != nil {
				return err
			}
			r.change("removed", "%s = %s and its empty reset value %s", key, hv, where)
		}
		urlKey := "git|" + file + "|" + u
		var ust gitURLState
		if r.state.get(urlKey, &ust) && ust.UseHTTPPathSet {
			cur, code, err := r.gitConfig(ctx, "--type=bool", "--get", "credential."+u+".useHttpPath")
			if err != nil {
				return err
			}
			if code == 0 && cur == "true" {
				if ust.PrevUseHTTPPath == nil {
					err = r.gitSet(ctx, file, "--unset-all", "credential."+u+".useHttpPath")
					r.change("removed", "credential.%s.useHttpPath %s", u, where)
				} else {
					err = r.gitSet(ctx, file, "credential."+u+".useHttpPath", *ust.PrevUseHTTPPath)
					r.change("restored", "credential.%s.useHttpPath = %s %s", u, *ust.PrevUseHTTPPath, where)
				}
				if err != nil {
					return err
				}
			}
			if !r.DryRun {
				r.state.del(urlKey)
			}
		}
		if r.DryRun || r.changed == before {
			continue
		}
		// A section left with no keys at all was ours alone.
		_, code, err := r.gitConfig(ctx, "--get-regexp", `^credential\.`+quoteERE(u)+`\.`)
		if err != nil {
			return err
		}
		if code == 1 {
			// Recent gits drop a section with its last key themselves.
			if _, _, err := r.gitConfig(ctx, "--remove-section", "credential."+u); err != nil && !strings.Contains(err.Error(), "no such section") {
				return err
			}
		}
	}
	if !r.DryRun && fst.Created {
		if b, ok, err := readFile(file); err == nil && ok && len(bytes.TrimSpace(b)) == 0 {
			if err := r.remove(file); err != nil {
				return err
			}
			r.change("removed", "%s, which setup created and is now empty", r.pretty(file))
		}
		r.state.del(fileKey)
	}
	return nil
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
