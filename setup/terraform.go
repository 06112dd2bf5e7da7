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

func (r *run) terraformBlock() string {
	p := strings.ReplaceAll(jsonString(r.name), "${", "$${")
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

func (r *run) terraform() error {
	path := r.terraformConfigFile()
	where := "(in " + r.pretty(path) + ")"
	if strings.HasSuffix(path, ".json") {
		return fmt.Errorf("setup terraform: %s is JSON syntax; add the credentials_helper by hand", path)
	}
	orig, existed, err := readFile(path)
	if err != nil {
		return err
	}
	stKey := "terraform|" + path
	var st terraformState
	r.state.get(stKey, &st)
	lines := strings.SplitAfter(string(orig), "\n")
	if n := len(lines); lines[n-1] == "" {
		lines = lines[:n-1]
	}
	begin, end, foreign, err := tfScan(lines)
	if err != nil {
		return fmt.Errorf("setup terraform: %s: %w", path, err)
	}
	block := r.terraformBlock()
	links := r.terraformPluginDirs()
	for i := range links {
		links[i] = filepath.Join(links[i], tfLink)
		if r.GOOS == "windows" {
			links[i] += ".exe"
		}
	}

	if r.Undo {
		b := orig
		if begin >= 0 {
			b = []byte(strings.Join(lines[:begin], "") + strings.Join(lines[end+1:], ""))
			if st.AddedNewline && end == len(lines)-1 && bytes.HasSuffix(b, []byte("\n")) {
				b = b[:len(b)-1]
			}
			st.AddedNewline = false
			r.change("removed", "the credentials_helper %q block %s", HelperName, where)
			if st.Created && len(bytes.TrimSpace(b)) == 0 {
				if err := r.remove(path); err != nil {
					return err
				}
				r.change("removed", "%s, which setup created and is now empty", r.pretty(path))
				st.Created = false
			} else if err := r.commit(path, b); err != nil {
				return err
			}
		}
		for _, l := range links {
			if t, err := os.Readlink(l); err == nil && t == r.Binary {
				if !r.DryRun {
					if err := os.Remove(l); err != nil {
						return err
					}
				}
				r.change("removed", "the link %s", r.pretty(l))
			}
		}
		if !r.DryRun {
			var kept []string
			for _, d := range st.CreatedDirs {
				if err := os.Remove(d); err != nil && !errors.Is(err, os.ErrNotExist) {
					kept = append(kept, d) // not empty: someone else's files are in it now
				}
			}
			st.CreatedDirs = kept
			if st.empty() {
				r.state.del(stKey)
			} else {
				r.state.put(stKey, st)
			}
		}
		return nil
	}

	// Refuse before changing anything.
	if len(foreign) > 0 {
		return fmt.Errorf("setup terraform: %s already has a credentials_helper block (line %d) and Terraform allows only one: remove it first", path, foreign[0]+1)
	}
	var toLink []string
	for _, l := range links {
		t, err := os.Readlink(l)
		switch {
		case err == nil && t == r.Binary:
			continue
		case errors.Is(err, os.ErrNotExist):
		case !r.Force:
			return fmt.Errorf("setup terraform: %s already exists and is not a link to %s: pass --force to replace it (a backup is kept)", l, r.Binary)
		}
		toLink = append(toLink, l)
	}

	b := orig
	switch {
	case begin >= 0:
		if strings.Join(lines[begin:end+1], "") != block {
			b = []byte(strings.Join(lines[:begin], "") + block + strings.Join(lines[end+1:], ""))
			r.change("replaced", "the credentials_helper %q block, now for profile %s %s", HelperName, r.name, where)
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
		if !existed {
			st.Created = true
		}
		r.change("added", "credentials_helper %q { args = [\"--profile\", %q] } %s", HelperName, r.name, where)
	}
	if !bytes.Equal(b, orig) {
		if err := r.commit(path, b); err != nil {
			return err
		}
	}
	for _, l := range toLink {
		r.change("linked", "%s -> %s", r.pretty(l), r.Binary)
		if r.DryRun {
			continue
		}
		created, err := mkdirAllTracked(filepath.Dir(l))
		if err != nil {
			return err
		}
		for _, d := range created {
			if !slices.Contains(st.CreatedDirs, d) {
				st.CreatedDirs = append(st.CreatedDirs, d)
			}
		}
		if _, err := os.Lstat(l); err == nil {
			if err := r.backupMove(l); err != nil {
				return err
			}
		}
		if err := os.Symlink(r.Binary, l); err != nil {
			return err
		}
	}
	if !r.DryRun && !st.empty() {
		r.state.put(stKey, st)
	}
	return nil
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
