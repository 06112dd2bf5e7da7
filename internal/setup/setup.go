// Package setup configures git, docker, kubectl and Terraform to use the
// helper for one profile (`authos-credential-helper setup <client>`), and
// undoes exactly that.
//
// Every client follows the same rules: running twice changes nothing the
// second time; before a file is first changed a copy is kept next to it
// (<file>.authos-backup-<UTC timestamp>, same mode); files are replaced
// atomically (temp file in the same folder, then rename) keeping their mode
// (new files 0600, new folders 0700); each change is one line on Log;
// --undo removes only what setup added; --dry-run writes nothing.
//
// Edits are textual, guided by a parser where the format needs one, so that
// comments, key order and formatting of everything else survive byte for
// byte. What undo must know and the file cannot hold (a value that was
// replaced, a file that setup created) is kept in a small state file.
package setup

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/authos/authos-credential-helper/internal/atomicfile"
	"github.com/authos/authos-credential-helper/internal/config"
)

// Clients are the clients setup knows, in the order the usage lists them.
var Clients = []string{"git", "docker", "kube", "terraform"}

// HelperName is the suffix each client's helper lookup appends to its
// prefix (git-credential-, docker-credential-, terraform-credentials-).
const HelperName = "authos"

// Options is one `setup` run.
type Options struct {
	Client  string // git, docker, kube or terraform
	Profile string // profile name; empty: the config's default_profile
	Config  *config.Config

	Undo       bool
	DryRun     bool
	Force      bool   // replace another helper's docker credHelpers entry, git helper or plugin file
	CredsStore bool   // docker: also set the global credsStore
	Context    string // kube: also point this context at the user

	// Binary is the helper's own absolute path (symlinks resolved).
	Binary string
	// Getenv reads the environment (HOME, GIT_CONFIG_GLOBAL, DOCKER_CONFIG,
	// KUBECONFIG, TF_CLI_CONFIG_FILE, XDG_*).
	Getenv func(string) string
	// Environ is the environment git runs with; nil: this process's.
	Environ []string
	// StateDir holds what undo needs to know (config.Paths.State).
	StateDir string
	// Log gets one line per change.
	Log io.Writer
	// Now stamps backups; nil: time.Now.
	Now func() time.Time
	// Git is the git executable; empty: "git" on PATH.
	Git string
	// GOOS and GOARCH name Terraform's plugin folder; empty: this binary's.
	GOOS, GOARCH string
	// LookPath finds a command as kubectl would; nil: a search of
	// Getenv("PATH").
	LookPath func(string) (string, error)
}

// UsageError is a mistake on the command line or in the config that the
// person must fix (exit status 2).
type UsageError struct{ Msg string }

func (e UsageError) Error() string { return e.Msg }

func usagef(format string, a ...any) error { return UsageError{fmt.Sprintf(format, a...)} }

// run is the state of one invocation.
type run struct {
	Options
	name    string
	prof    config.Profile
	isDef   bool
	home    string
	state   *stateFile
	changed int
	backups map[string]bool // files already backed up in this run
}

// Run carries out o.
func Run(ctx context.Context, o Options) error {
	if o.Client == "tofu" || o.Client == "opentofu" {
		o.Client = "terraform" // one setup covers both: same protocol, both configs
	}
	if !slices.Contains(Clients, o.Client) {
		return usagef("setup: unknown client %q (want one of %s)", o.Client, strings.Join(Clients, ", "))
	}
	if o.Config == nil {
		o.Config = &config.Config{}
	}
	if o.Getenv == nil {
		o.Getenv = os.Getenv
	}
	if o.Log == nil {
		o.Log = io.Discard
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Git == "" {
		o.Git = "git"
	}
	if o.GOOS == "" {
		o.GOOS = runtime.GOOS
	}
	if o.GOARCH == "" {
		o.GOARCH = runtime.GOARCH
	}
	if o.LookPath == nil {
		o.LookPath = func(name string) (string, error) { return LookPathIn(o.Getenv("PATH"), name) }
	}
	name := o.Profile
	if name == "" {
		name = o.Config.DefaultProfile
	}
	if name == "" {
		return usagef("setup %s: no profile: pass --profile NAME or set default_profile in config.toml", o.Client)
	}
	prof, ok := o.Config.Profiles[name]
	if !ok {
		return usagef("setup %s: no profile %q in config.toml (have: %s)", o.Client, name, strings.Join(o.Config.ProfileNames(), ", "))
	}
	if o.Context != "" && o.Client != "kube" {
		return usagef("setup %s: --context is for kube only", o.Client)
	}
	if o.CredsStore && o.Client != "docker" {
		return usagef("setup %s: --creds-store is for docker only", o.Client)
	}
	if !o.Undo {
		if key, empty := patternsFor(o.Client, prof); empty {
			return usagef("setup %s: profile %q has no %s patterns: add %s = [...] to [profiles.%s] in config.toml", o.Client, name, o.Client, key, name)
		}
	}
	if o.Client != "git" && (o.Binary == "" || !filepath.IsAbs(o.Binary)) {
		return fmt.Errorf("setup %s: the helper's own absolute path is unknown (%q)", o.Client, o.Binary)
	}
	home := o.Getenv("HOME")
	if home == "" {
		h, err := os.UserHomeDir()
		if err != nil {
			return fmt.Errorf("setup %s: no home folder: %w", o.Client, err)
		}
		home = h
	}
	st, err := loadState(o.StateDir)
	if err != nil {
		return err
	}
	r := &run{Options: o, name: name, prof: prof, isDef: name == o.Config.DefaultProfile, home: home, state: st, backups: map[string]bool{}}
	var pl plan
	switch o.Client {
	case "git":
		pl, err = r.gitPlan(ctx)
	case "docker":
		pl, err = r.dockerPlan()
	case "kube":
		pl, err = r.kubePlan()
	case "terraform":
		pl, err = r.terraformPlan()
	}
	if err == nil {
		err = r.apply(ctx, pl)
	}
	if err != nil {
		return err
	}
	if r.changed == 0 {
		what := "already set up"
		if o.Undo {
			what = "nothing of ours to remove"
		}
		r.logf("%s for profile %s; nothing changed", what, name)
	}
	if !o.DryRun {
		return st.save()
	}
	return nil
}

// patternsFor says which config key a client needs and whether it is empty.
func patternsFor(client string, p config.Profile) (key string, empty bool) {
	switch client {
	case "git":
		return "git", len(nonEmpty(p.Git)) == 0
	case "docker":
		return "docker", len(nonEmpty(p.Docker)) == 0
	case "terraform":
		return "terraform", len(nonEmpty(p.Terraform)) == 0
	}
	return "", false
}

// nonEmpty trims patterns and drops empty and repeated ones.
func nonEmpty(in []string) []string {
	var out []string
	for _, s := range in {
		s = strings.TrimSpace(s)
		if s != "" && !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

// logf prints one line about the client.
func (r *run) logf(format string, a ...any) {
	fmt.Fprintf(r.Log, "%s: %s\n", r.Client, fmt.Sprintf(format, a...))
}

// change reports one change: "set x" or, in a dry run, "would set x".
func (r *run) change(verb, format string, a ...any) {
	r.changed++
	if r.DryRun {
		verb = "would " + wouldVerb[verb]
	}
	r.logf("%s %s", verb, fmt.Sprintf(format, a...))
}

var wouldVerb = map[string]string{"set": "set", "added": "add", "removed": "remove", "replaced": "replace", "restored": "restore", "linked": "link"}

// pretty shows a path with the home folder as ~.
func (r *run) pretty(path string) string { return prettyPath(r.home, path) }

func prettyPath(home, path string) string {
	if rel, err := filepath.Rel(home, path); err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		if rel == "." {
			return "~"
		}
		return "~" + string(filepath.Separator) + rel
	}
	return path
}

// backup copies path (if it exists) next to itself, once per run, keeping its
// mode. It is called right before the first change to path.
func (r *run) backup(path string) error {
	if r.DryRun || r.backups[path] {
		return nil
	}
	r.backups[path] = true
	src, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("backing up %s: %w", path, err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		return err
	}
	stamp := r.Now().UTC().Format("20060102T150405Z")
	dst := path + ".authos-backup-" + stamp
	for i := 2; ; i++ {
		if _, err := os.Lstat(dst); errors.Is(err, os.ErrNotExist) {
			break
		}
		dst = fmt.Sprintf("%s.authos-backup-%s-%d", path, stamp, i)
	}
	f, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, fi.Mode().Perm())
	if err != nil {
		return fmt.Errorf("backing up %s: %w", path, err)
	}
	_, err = f.Write(src)
	if err == nil {
		err = f.Chmod(fi.Mode().Perm()) // the umask may have narrowed it
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(dst)
		return fmt.Errorf("backing up %s: %w", path, err)
	}
	r.logf("backed up %s to %s", r.pretty(path), r.pretty(dst))
	return nil
}

// readFile reads path; a missing file is (nil, false, nil).
func readFile(path string) ([]byte, bool, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	return b, true, nil
}

// writeFile replaces path's content atomically, keeping its mode; a new
// file gets 0600 and missing folders 0700.
func writeFile(path string, data []byte) error {
	mode := os.FileMode(0o600)
	if fi, err := os.Stat(path); err == nil {
		mode = fi.Mode().Perm()
	} else if !errors.Is(err, os.ErrNotExist) {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	return atomicfile.WriteFile(path, data, mode)
}

// commit writes data to path after a backup, unless this is a dry run.
func (r *run) commit(path string, data []byte) error {
	if r.DryRun {
		return nil
	}
	if err := r.backup(path); err != nil {
		return err
	}
	return writeFile(path, data)
}

// remove deletes a file setup created once it holds nothing of anyone's
// (no backup: nothing in it was anyone else's).
func (r *run) remove(path string) error {
	if r.DryRun {
		return nil
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return nil
}

// expand resolves a leading ~ in a path taken from the environment.
func (r *run) expand(p string) string {
	if p == "~" {
		return r.home
	}
	if strings.HasPrefix(p, "~/") {
		return filepath.Join(r.home, p[2:])
	}
	return p
}

// dataHome is $XDG_DATA_HOME or ~/.local/share.
func (r *run) dataHome() string {
	if d := r.Getenv("XDG_DATA_HOME"); d != "" && filepath.IsAbs(d) {
		return d
	}
	return filepath.Join(r.home, ".local", "share")
}

// A change is one step of a client's plan: an action on the disk, then the
// line that reports it (verb and what; no verb, no line), then, unless this
// is a dry run, an update of the state file. The plans are computed from
// what was read, without I/O; apply carries them out for all four clients.
type change struct {
	verb, what string
	act        action
	path       string    // the file or link acted on
	data       []byte    // actWrite: the new content
	args       []string  // actGit: what follows `git config --global`
	target     string    // actLink: what the link points at
	dirs       *[]string // actLink, actRemoveDirs: the folders setup created, in the state

	// stateKey's entry becomes state (nil: none; with dropEmpty, none when
	// it is empty). A pointer is read only then, so that the actions before
	// can add to it (the folders actLink creates).
	stateKey  string
	state     any
	dropEmpty bool

	warn string // a warning line instead of a change (nothing else is set)
}

type action int

// The actions after actIfDone look at what the earlier ones left on the
// disk, so a dry run, which leaves nothing, skips them with their line.
const (
	actNone   action = iota
	actWrite         // replace path with data, after a backup
	actRemove        // delete path (setup created it, nothing to back up)
	actGit           // run git config --global args, after a backup of path
	actLink          // make path a link to target (a file in the way is moved to a backup); folders created go to *dirs
	actUnlink        // delete the link path

	actIfDone
	actGitDropSection // remove the section credential.<args[0]> if no key is left in it
	actRemoveIfBlank  // delete path if it holds only white space
	actAdoptNew       // git created path: make it 0600 (skipped, with its state, when it does not exist)
	actRemoveDirs     // remove the empty folders among *dirs, keeping the others in *dirs
)

// apply carries out a plan in order.
func (r *run) apply(ctx context.Context, pl plan) error {
	for _, c := range pl {
		if c.warn != "" {
			r.logf("warning: %s", c.warn)
			continue
		}
		if r.DryRun && c.act > actIfDone {
			continue
		}
		done, err := r.do(ctx, c)
		if err != nil {
			return err
		}
		if !done {
			continue
		}
		if c.verb != "" {
			r.change(c.verb, "%s", c.what)
		}
		if c.stateKey != "" && !r.DryRun {
			if e, ok := c.state.(interface{ empty() bool }); c.state == nil || ok && c.dropEmpty && e.empty() {
				r.state.del(c.stateKey)
			} else {
				r.state.put(c.stateKey, c.state)
			}
		}
	}
	return nil
}

// do carries out one action; false: it did not apply and is not reported.
func (r *run) do(ctx context.Context, c change) (bool, error) {
	if r.DryRun {
		return true, nil
	}
	switch c.act {
	case actWrite:
		return true, r.commit(c.path, c.data)
	case actRemove:
		return true, r.remove(c.path)
	case actGit:
		return true, r.gitSet(ctx, c.path, c.args...)
	case actLink:
		created, err := mkdirAllTracked(filepath.Dir(c.path))
		if err != nil {
			return false, err
		}
		for _, d := range created {
			if !slices.Contains(*c.dirs, d) {
				*c.dirs = append(*c.dirs, d)
			}
		}
		if _, err := os.Lstat(c.path); err == nil {
			if err := r.backupMove(c.path); err != nil {
				return false, err
			}
		}
		return true, os.Symlink(c.target, c.path)
	case actUnlink:
		return true, os.Remove(c.path)
	case actGitDropSection:
		// Recent gits drop a section with its last key themselves.
		u := c.args[0]
		_, code, err := r.gitConfig(ctx, "--get-regexp", `^credential\.`+quoteERE(u)+`\.`)
		if err != nil || code != 1 {
			return false, err
		}
		if _, _, err := r.gitConfig(ctx, "--remove-section", "credential."+u); err != nil && !strings.Contains(err.Error(), "no such section") {
			return false, err
		}
		return true, nil
	case actRemoveIfBlank:
		if b, ok, err := readFile(c.path); err != nil || !ok || len(bytes.TrimSpace(b)) != 0 {
			return false, nil
		}
		return true, r.remove(c.path)
	case actAdoptNew:
		if !fileExists(c.path) {
			return false, nil
		}
		return true, os.Chmod(c.path, 0o600)
	case actRemoveDirs:
		var kept []string
		for _, d := range *c.dirs {
			if err := os.Remove(d); err != nil && !errors.Is(err, os.ErrNotExist) {
				kept = append(kept, d) // not empty: someone else's files are in it now
			}
		}
		*c.dirs = kept
	}
	return true, nil
}

// planOpts is what every client's plan needs to know about the run.
type planOpts struct {
	undo, force bool
	profile     string // its name
	binary      string
	home        string // paths under it are shown as ~/...
	kubeCmd     string // kube: the exec command ("": binary)
	kubeFound   string // kube: the path kubectl resolves it to ("": binary)
}

func (r *run) planOpts() planOpts {
	p := planOpts{undo: r.Undo, force: r.Force, profile: r.name, binary: r.Binary, home: r.home}
	if r.Client == "kube" {
		p.kubeCmd, p.kubeFound = KubeCommand(r.Binary, r.LookPath)
	}
	return p
}

// where is " (in ~/file)", how each change line names the file.
func (p planOpts) where(path string) string { return "(in " + prettyPath(p.home, path) + ")" }

// A plan is the changes one run makes to one client's files.
type plan []change

// say adds a change line with no action of its own: the one that writes the
// file comes after all of them.
func (pl *plan) say(verb, format string, a ...any) {
	*pl = append(*pl, change{verb: verb, what: fmt.Sprintf(format, a...)})
}

// finishUndo ends an undo plan for a file: nothing when nothing changed;
// the file removed when setup created it and leftEmpty, else written back;
// and the state entry st (with its Created cleared in the first case) kept
// or dropped.
func (pl *plan) finishUndo(home, path string, b, orig []byte, leftEmpty bool, created *bool, stKey string, st interface{ empty() bool }) {
	if bytes.Equal(b, orig) {
		return
	}
	if *created && leftEmpty {
		*created = false
		*pl = append(*pl, change{act: actRemove, path: path, verb: "removed", what: prettyPath(home, path) + ", which setup created and is now empty",
			stateKey: stKey, state: st, dropEmpty: true})
		return
	}
	*pl = append(*pl, change{act: actWrite, path: path, data: b, stateKey: stKey, state: st, dropEmpty: true})
}
