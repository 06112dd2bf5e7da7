package setup

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// The CLI config is HCL; it is handled as text: setup owns exactly the lines
// between its BEGIN and END markers.

const (
	tfBegin = "# BEGIN authos-credential-helper"
	tfEnd   = "# END authos-credential-helper"
	tfLink  = "terraform-credentials-" + HelperName
)

// terraformState is what undo needs to know about the CLI config and the
// plugin folders.
type terraformState struct {
	Created      bool     `json:"created,omitempty"`       // setup created the file
	AddedNewline bool     `json:"added_newline,omitempty"` // the file lacked a final newline
	CreatedDirs  []string `json:"created_dirs,omitempty"`  // plugin folders setup created, deepest first
}

func (s terraformState) empty() bool {
	return !s.Created && !s.AddedNewline && len(s.CreatedDirs) == 0
}

// terraformConfigFile is $TF_CLI_CONFIG_FILE, else ~/.terraformrc
// (%APPDATA%/terraform.rc on Windows).
func (r *run) terraformConfigFile() string {
	if p := r.Getenv("TF_CLI_CONFIG_FILE"); p != "" {
		return r.expand(p)
	}
	if r.GOOS == "windows" {
		if a := r.Getenv("APPDATA"); a != "" {
			return filepath.Join(a, "terraform.rc")
		}
	}
	return filepath.Join(r.home, ".terraformrc")
}

// tofuConfigFile is the CLI config OpenTofu reads without
// TF_CLI_CONFIG_FILE (opentofu internal/command/cliconfig config_unix.go,
// config_windows.go): ~/.tofurc, or ~/.terraformrc when only that exists;
// on a fresh install with XDG_CONFIG_HOME set,
// $XDG_CONFIG_HOME/opentofu/tofurc. Windows: %APPDATA%/tofu.rc, or
// terraform.rc when only that exists.
func (r *run) tofuConfigFile() string {
	newer, legacy := filepath.Join(r.home, ".tofurc"), filepath.Join(r.home, ".terraformrc")
	if r.GOOS == "windows" {
		a := r.Getenv("APPDATA")
		if a == "" {
			return ""
		}
		newer, legacy = filepath.Join(a, "tofu.rc"), filepath.Join(a, "terraform.rc")
	} else if x := r.Getenv("XDG_CONFIG_HOME"); x != "" && !pathExists(newer) && !pathExists(legacy) {
		return filepath.Join(x, "opentofu", "tofurc")
	}
	if pathExists(legacy) && !pathExists(newer) {
		return legacy
	}
	return newer
}

func pathExists(path string) bool { _, err := os.Lstat(path); return err == nil }

// terraformConfigFiles are the CLI configs setup edits so that both
// Terraform and OpenTofu find the helper: TF_CLI_CONFIG_FILE alone when
// set (both read it), else Terraform's file and OpenTofu's, once each.
// OpenTofu's choice depends on which files exist, and setup may create
// ~/.terraformrc: where that would make OpenTofu drop an XDG tofurc it
// reads today, setup refuses rather than change what OpenTofu reads.
func (r *run) terraformConfigFiles() ([]string, error) {
	tf := r.terraformConfigFile()
	if r.Getenv("TF_CLI_CONFIG_FILE") != "" {
		return []string{tf}, nil
	}
	tofu := r.tofuConfigFile()
	switch {
	case tofu == "" || tofu == tf:
		return []string{tf}, nil
	case r.GOOS != "windows" && tofu == filepath.Join(r.Getenv("XDG_CONFIG_HOME"), "opentofu", "tofurc"):
		if !r.Undo && !pathExists(tf) && pathExists(tofu) {
			return nil, fmt.Errorf("setup terraform: creating %s would make OpenTofu stop reading %s (it prefers ~/.terraformrc once that exists): set TF_CLI_CONFIG_FILE to one file for both tools, or move %s to ~/.tofurc first",
				r.pretty(tf), r.pretty(tofu), r.pretty(tofu))
		}
		// Once ~/.terraformrc exists OpenTofu reads it: one file serves both.
		return []string{tf}, nil
	}
	return []string{tf, tofu}, nil
}

// tofuUndoFiles are OpenTofu's possible CLI configs, which undo also
// clears of our block: what OpenTofu reads changes as files come and go.
func (r *run) tofuUndoFiles() []string {
	if r.Getenv("TF_CLI_CONFIG_FILE") != "" {
		return nil
	}
	if r.GOOS == "windows" {
		if a := r.Getenv("APPDATA"); a != "" {
			return []string{filepath.Join(a, "tofu.rc")}
		}
		return nil
	}
	out := []string{filepath.Join(r.home, ".tofurc")}
	if x := r.Getenv("XDG_CONFIG_HOME"); x != "" {
		out = append(out, filepath.Join(x, "opentofu", "tofurc"))
	}
	return out
}

// terraformPluginDirs are the folders Terraform and OpenTofu search for
// credentials helpers in which setup installs its link.
func (r *run) terraformPluginDirs() []string {
	arch := r.GOOS + "_" + r.GOARCH
	tf := filepath.Join(r.home, ".terraform.d", "plugins", arch)
	if r.GOOS == "windows" {
		if a := r.Getenv("APPDATA"); a != "" {
			tf = filepath.Join(a, "terraform.d", "plugins", arch)
		}
	}
	return []string{tf, filepath.Join(r.dataHome(), "opentofu", "plugins", arch)}
}

func terraformBlock(profile string) string {
	p := strings.ReplaceAll(jsonString(profile), "${", "$${")
	p = strings.ReplaceAll(p, "%{", "%%{")
	return tfBegin + " (managed by `authos-credential-helper setup terraform`)\n" +
		`credentials_helper "` + HelperName + `" {` + "\n" +
		`  args = ["--profile", ` + p + "]\n" +
		"}\n" +
		tfEnd + "\n"
}

// tfScan finds our marked block (0-based line indexes, -1 if none) and the
// lines of credentials_helper blocks outside it.
func tfScan(lines []string) (begin, end int, foreign []int, err error) {
	begin, end = -1, -1
	inComment := false
	for i, l := range lines {
		t := strings.TrimSpace(l)
		switch {
		case begin >= 0 && end < 0:
			if strings.HasPrefix(t, tfEnd) {
				end = i
			}
			continue
		case strings.HasPrefix(t, tfBegin):
			if begin >= 0 {
				return 0, 0, nil, errors.New("it has two blocks marked as ours; remove one")
			}
			begin = i
			continue
		}
		if inComment {
			if strings.Contains(t, "*/") {
				inComment = false
			}
			continue
		}
		if strings.HasPrefix(t, "/*") && !strings.Contains(t, "*/") {
			inComment = true
			continue
		}
		if t == "credentials_helper" || strings.HasPrefix(t, "credentials_helper ") || strings.HasPrefix(t, "credentials_helper\"") ||
			strings.HasPrefix(t, "credentials_helper{") || strings.HasPrefix(t, "credentials_helper\t") {
			foreign = append(foreign, i)
		}
	}
	if begin >= 0 && end < 0 {
		return 0, 0, nil, fmt.Errorf("the block marked as ours at line %d has no %q line; repair or remove it", begin+1, tfEnd)
	}
	return begin, end, foreign, nil
}

// tfLinkNow is one plugin link's path and what os.Readlink says of it.
type tfLinkNow struct {
	path, target string
	err          error
}

// terraformIn is what the terraform plan is made from.
type terraformIn struct {
	path    string
	orig    []byte
	existed bool
	st      terraformState
	links   []tfLinkNow
}

// terraformPlan edits Terraform's and OpenTofu's CLI configs (one plan
// each; the plugin links go with the first).
func (r *run) terraformPlan() (plan, error) {
	paths, err := r.terraformConfigFiles()
	if err != nil {
		return nil, err
	}
	if r.Undo {
		for _, p := range r.tofuUndoFiles() {
			if !slices.Contains(paths, p) && pathExists(p) {
				paths = append(paths, p)
			}
		}
	}
	var all plan
	for i, path := range paths {
		in := terraformIn{path: path}
		if strings.HasSuffix(in.path, ".json") {
			return nil, fmt.Errorf("setup terraform: %s is JSON syntax; add the credentials_helper by hand", in.path)
		}
		if in.orig, in.existed, err = readFile(in.path); err != nil {
			return nil, err
		}
		r.state.get("terraform|"+in.path, &in.st)
		if i == 0 {
			for _, d := range r.terraformPluginDirs() {
				l := filepath.Join(d, tfLink)
				if r.GOOS == "windows" {
					l += ".exe"
				}
				t, err := os.Readlink(l)
				in.links = append(in.links, tfLinkNow{path: l, target: t, err: err})
			}
		}
		pl, err := planTerraform(r.planOpts(), in)
		if err != nil {
			return nil, err
		}
		all = append(all, pl...)
	}
	return all, nil
}

// planTerraform adds or replaces our credentials_helper block and links the
// binary into the plugin folders, or removes both.
func planTerraform(p planOpts, in terraformIn) (plan, error) {
	path, st := in.path, in.st
	st.CreatedDirs = slices.Clone(st.CreatedDirs) // apply adds to it
	lines := strings.SplitAfter(string(in.orig), "\n")
	if n := len(lines); lines[n-1] == "" {
		lines = lines[:n-1]
	}
	begin, end, foreign, err := tfScan(lines)
	if err != nil {
		return nil, fmt.Errorf("setup terraform: %s: %w", path, err)
	}
	if p.undo {
		return undoTerraform(p, in, lines, begin, end, st), nil
	}
	if len(foreign) > 0 {
		return nil, fmt.Errorf("setup terraform: %s already has a credentials_helper block (line %d) and Terraform allows only one: remove it first", path, foreign[0]+1)
	}
	return setTerraform(p, in, lines, begin, end, st)
}

// undoTerraform removes our block (and the file if setup created it and
// nothing else is left), our links, and the folders setup created for them
// once they are empty.
func undoTerraform(p planOpts, in terraformIn, lines []string, begin, end int, st terraformState) plan {
	path, where, stKey := in.path, p.where(in.path), "terraform|"+in.path
	var pl plan
	if begin >= 0 {
		b := []byte(strings.Join(lines[:begin], "") + strings.Join(lines[end+1:], ""))
		if st.AddedNewline && end == len(lines)-1 && bytes.HasSuffix(b, []byte("\n")) {
			b = b[:len(b)-1]
		}
		st.AddedNewline = false
		pl.say("removed", "the credentials_helper %q block %s", HelperName, where)
		if st.Created && len(bytes.TrimSpace(b)) == 0 {
			pl = append(pl, change{act: actRemove, path: path, verb: "removed", what: prettyPath(p.home, path) + ", which setup created and is now empty"})
			st.Created = false
		} else {
			pl = append(pl, change{act: actWrite, path: path, data: b})
		}
	}
	for _, l := range in.links {
		if l.err == nil && l.target == p.binary {
			pl = append(pl, change{act: actUnlink, path: l.path, verb: "removed", what: "the link " + prettyPath(p.home, l.path)})
		}
	}
	return append(pl, change{act: actRemoveDirs, dirs: &st.CreatedDirs, stateKey: stKey, state: &st, dropEmpty: true})
}

// setTerraform adds our block, or replaces it for another profile, and
// links the binary into the plugin folders (replacing a file only with
// --force).
func setTerraform(p planOpts, in terraformIn, lines []string, begin, end int, st terraformState) (plan, error) {
	path, orig, where, stKey := in.path, in.orig, p.where(in.path), "terraform|"+in.path
	block := terraformBlock(p.profile)
	var pl plan

	// Refuse before changing anything.
	var toLink []string
	for _, l := range in.links {
		switch {
		case l.err == nil && l.target == p.binary:
			continue
		case errors.Is(l.err, os.ErrNotExist):
		case !p.force:
			return nil, fmt.Errorf("setup terraform: %s already exists and is not a link to %s: pass --force to replace it (a backup is kept)", l.path, p.binary)
		}
		toLink = append(toLink, l.path)
	}

	b := orig
	switch {
	case begin >= 0:
		if strings.Join(lines[begin:end+1], "") != block {
			b = []byte(strings.Join(lines[:begin], "") + block + strings.Join(lines[end+1:], ""))
			pl.say("replaced", "the credentials_helper %q block, now for profile %s %s", HelperName, p.profile, where)
		}
	default:
		var buf bytes.Buffer
		buf.Write(orig)
		if len(orig) > 0 && !bytes.HasSuffix(orig, []byte("\n")) {
			buf.WriteByte('\n')
			st.AddedNewline = true
		}
		buf.WriteString(block)
		b = buf.Bytes()
		if !in.existed {
			st.Created = true
		}
		pl.say("added", "credentials_helper %q { args = [\"--profile\", %q] } %s", HelperName, p.profile, where)
	}
	if !bytes.Equal(b, orig) {
		pl = append(pl, change{act: actWrite, path: path, data: b})
	}
	for _, l := range toLink {
		pl.say("linked", "%s -> %s", prettyPath(p.home, l), p.binary)
		pl = append(pl, change{act: actLink, path: l, target: p.binary, dirs: &st.CreatedDirs})
	}
	return append(pl, change{stateKey: stKey, state: &st, dropEmpty: true}), nil
}

// mkdirAllTracked creates dir and its missing parents (0700) and returns the
// ones it created, deepest first.
func mkdirAllTracked(dir string) ([]string, error) {
	var missing []string
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Stat(d); err == nil {
			break
		}
		missing = append(missing, d)
		if filepath.Dir(d) == d {
			break
		}
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	return missing, nil
}

// backupMove moves a file out of the way to a backup name.
func (r *run) backupMove(path string) error {
	dst := path + ".authos-backup-" + r.Now().UTC().Format("20060102T150405Z")
	if err := os.Rename(path, dst); err != nil {
		return err
	}
	r.logf("moved %s to %s", r.pretty(path), r.pretty(dst))
	return nil
}
