package doctor

import (
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"

	"github.com/authos/authos-credential-helper/internal/front"
)

// frontDoorName is what clients run; on Linux it is the front door, which
// hands every request it does not answer to front.FullName beside it.
const frontDoorName = "authos-credential-helper"

// FileState is what a path holds.
type FileState int

const (
	Missing       FileState = iota
	NotExecutable           // there, but not a regular file with an x bit
	Executable
)

// Door is one front door clients reach, and the full helper beside it.
type Door struct {
	Path string    // the front door, symlinks resolved
	Via  string    // how it is reached: "this helper", "docker-credential-authos on PATH", …
	Self FileState // of Path
	Full FileState // of front.FullName in Path's folder
}

// InstallChecks says, for each front door, whether the full helper is
// beside it: without it every command but a cache hit fails there.
func InstallChecks(doors []Door, pretty func(string) string) []Check {
	const reinstall = "run ./install.sh (or install.sh --from the release archive) to install both, or copy %s of the same release into %s"
	var out []Check
	for _, d := range doors {
		dir := filepath.Dir(d.Path)
		full := filepath.Join(dir, front.FullName)
		switch {
		case d.Self == Missing:
			out = append(out, Check{Area: "install", Status: Fail,
				Summary: fmt.Sprintf("the front door %s (%s) is missing: client configuration written by setup runs it", pretty(d.Path), d.Via),
				Fix:     fmt.Sprintf(reinstall, frontDoorName, pretty(dir))})
		case d.Full == Missing:
			out = append(out, Check{Area: "install", Status: Fail,
				Summary: fmt.Sprintf("%s is missing beside the front door %s (%s): every command there but a cache hit (sign-in, status, a miss) fails", pretty(full), pretty(d.Path), d.Via),
				Fix:     fmt.Sprintf(reinstall, front.FullName, pretty(dir))})
		case d.Full == NotExecutable:
			out = append(out, Check{Area: "install", Status: Fail,
				Summary: fmt.Sprintf("%s beside the front door %s (%s) is not an executable file", pretty(full), pretty(d.Path), d.Via),
				Fix:     "chmod 755 " + shellWord(full)})
		default:
			out = append(out, Check{Area: "install", Status: OK,
				Summary: fmt.Sprintf("the full helper is beside the front door %s (%s)", pretty(d.Path), d.Via)})
		}
	}
	return out
}

// installChecks finds the front doors (Linux only): the one this helper
// was started through, and those the names clients run on PATH lead to.
func (d *Doctor) installChecks() []Check {
	e := d.Env
	if e.GOOS != "linux" {
		return nil
	}
	var doors []Door
	seen := map[string]bool{}
	if e.FrontDoor != "" {
		doors = append(doors, Door{Path: e.FrontDoor, Via: "this helper"})
		seen[filepath.Dir(e.FrontDoor)] = true
	}
	for _, name := range []string{frontDoorName, "git-credential-authos", "docker-credential-authos"} {
		if e.LookPath == nil {
			break
		}
		p, err := e.LookPath(name)
		if err != nil {
			continue
		}
		if p, err = e.resolve(p); err != nil || filepath.Base(p) != frontDoorName || seen[filepath.Dir(p)] {
			continue
		}
		seen[filepath.Dir(p)] = true
		doors = append(doors, Door{Path: p, Via: name + " on PATH"})
	}
	for i := range doors {
		doors[i].Self = e.fileState(doors[i].Path)
		doors[i].Full = e.fileState(filepath.Join(filepath.Dir(doors[i].Path), front.FullName))
	}
	return InstallChecks(doors, e.pretty)
}

func (e Env) fileState(p string) FileState {
	fi, err := e.stat(p)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return Missing
	case err != nil || !fi.Mode().IsRegular() || fi.Mode().Perm()&0o111 == 0:
		return NotExecutable
	}
	return Executable
}
